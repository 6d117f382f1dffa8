//! Pictures of weights and training runs as standalone SVG files.
//!
//! A small SVG writer of our own (no plotting dependency) and four charts
//! drawn from plain data, each returning an [`Svg`] document that opens in any
//! browser:
//!
//! - [`heatmap`]: a 2-D weight matrix as coloured cells on a diverging scale
//!   centred on zero (blue < 0 < red, like matplotlib's `RdBu_r`), with row and
//!   column tick labels and a colour bar;
//! - [`tiles`]: each row of a matrix reshaped to a small image (a unit's
//!   incoming weights, e.g. 8×8 pixels), in a near-square grid;
//! - [`histograms`], [`histograms_with`]: small multiples, one weight histogram
//!   per panel, each on its own range or all on one shared range;
//! - [`line_chart`]: several series with a legend and optional log axes
//!   (training curves, optimizer comparisons, capacity curves).
//!
//! [`grid`] puts several charts side by side in one file, and the pictures
//! of a network ([`unit_tiles`], [`weight_heatmap`], [`weight_histograms`],
//! [`activation_histograms`], [`importance_image`]) draw these charts from a
//! [`Network`](crate::Network) or an [inspect](crate::inspect) report, and
//! [`attribution_maps`] and [`magnitude_tiles`] draw what
//! [attribution](crate::inspect::attribution) says about inputs.
//!
//! ```
//! use weightwise::{Tensor, svg};
//! # fn main() -> weightwise::Result<()> {
//! let w = Tensor::from_rows(&[[0.5f32, -1.0, 0.0], [0.25, 2.0, -0.75]])?;
//! let chart = svg::heatmap(&w, "Dense 0 weights", "input", "unit")?;
//! let text = chart.to_string();
//! assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
//! assert!(text.contains("Dense 0 weights"));
//! // chart.save("out/dense0.svg")?; // creates `out/` if needed
//! # Ok(()) }
//! ```
//!
//! Every piece of text is XML-escaped, so titles and names may contain `<`, `&`
//! or quotes.

mod attribution;
mod axis;
mod color;
mod conv;
mod curves;
mod heatmap;
mod histogram;
mod line;
mod model;
mod scale;
mod timeline;
#[cfg(test)]
pub(crate) mod wellformed;

use std::fmt::{self, Write as _};
use std::path::Path;

use crate::{Error, Result};

pub use attribution::{attribution_maps, magnitude_tiles};
pub use color::{Rgb, TABLEAU10, categorical, diverging, sequential};
pub use conv::{conv_filters, feature_map_tiles, feature_maps, filter_tiles};
pub use curves::{compare_runs, training_curves};
pub use heatmap::{DEAD_TILE, TileScale, TilesOptions, heatmap, tiles, tiles_with};
pub use histogram::{HistogramOptions, histograms, histograms_with};
pub use line::{LineChartOptions, Series, line_chart, line_chart_with};
pub use model::{
    activation_histograms, importance_image, unit_tiles, weight_heatmap, weight_histograms,
};
pub use scale::{Scale, format_tick, nice_ticks};
pub use timeline::{activation_health, learning_rate, update_ratios, weight_bands, weight_ridges};

/// Font stack used for all text.
const FONT_FAMILY: &str = "Helvetica, Arial, sans-serif";

/// An SVG document: a fixed-size canvas with a white background and a list of
/// elements. Build one with a chart function; write it with [`Svg::save`] or
/// [`ToString::to_string`].
#[derive(Clone, Debug, PartialEq)]
pub struct Svg {
    width: f64,
    height: f64,
    title: String,
    body: String,
}

/// Horizontal alignment of a text element (`text-anchor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
    End,
}

impl Svg {
    /// An empty white canvas of `width × height` pixels whose `<title>` (shown
    /// as the browser tab's name) is `title`.
    pub fn new(width: f64, height: f64, title: &str) -> Self {
        Svg {
            width: width.max(0.0).ceil(),
            height: height.max(0.0).ceil(),
            title: title.to_string(),
            body: String::new(),
        }
    }

    /// Width in pixels.
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> f64 {
        self.height
    }

    /// Writes the document to `path`, creating missing parent directories.
    ///
    /// # Errors
    /// [`Error::Io`] carrying the path if a directory or the file cannot be
    /// written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, self.to_string()).map_err(io)
    }

    /// The document as an element placed at `(x, y)` inside another one.
    fn nested(&self, x: f64, y: f64) -> String {
        let mut s = String::new();
        let _ = write!(s, "<svg x=\"{}\" y=\"{}\"", num(x), num(y));
        self.write_inner(&mut s);
        s
    }

    /// The document as an `<svg>` element for an HTML page: no XML
    /// namespace (HTML5 implies it) and scaled to its container by CSS.
    pub(crate) fn inline(&self) -> String {
        let mut s = String::from("<svg role=\"img\"");
        self.write_inner(&mut s);
        s
    }

    /// Everything after `<svg` plus optional leading attributes.
    fn write_inner(&self, s: &mut String) {
        let (w, h) = (num(self.width), num(self.height));
        let _ = write!(
            s,
            " width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             font-family=\"{FONT_FAMILY}\"><title>{}</title>\
             <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n{}</svg>",
            escape(&self.title),
            self.body
        );
    }

    /// Appends a raw element. `element` must be well-formed with every piece
    /// of user text already escaped.
    pub(crate) fn push(&mut self, element: &str) {
        self.body.push_str(element);
        self.body.push('\n');
    }

    /// A filled rectangle; `extra` holds further (crate-written) attributes.
    pub(crate) fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, extra: &str) {
        let (x, y, w, h) = (num(x), num(y), num(w.max(0.0)), num(h.max(0.0)));
        self.push(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{fill}\"{extra}/>"
        ));
    }

    /// A straight line segment.
    pub(crate) fn line(&mut self, (x1, y1): (f64, f64), (x2, y2): (f64, f64), stroke: &str) {
        let (x1, y1, x2, y2) = (num(x1), num(y1), num(x2), num(y2));
        self.push(&format!(
            "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{stroke}\"/>"
        ));
    }

    /// A text element (escaped) of `size` pixels; `extra` holds further
    /// (crate-written) attributes such as `font-weight`.
    pub(crate) fn text(
        &mut self,
        x: f64,
        y: f64,
        text: &str,
        size: f64,
        anchor: Anchor,
        extra: &str,
    ) {
        let anchor = match anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let (x, y, size) = (num(x), num(y), num(size));
        self.push(&format!(
            "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" text-anchor=\"{anchor}\"{extra}>{}</text>",
            escape(text)
        ));
    }

    /// A chart title: bold, centred at the top of the canvas.
    pub(crate) fn title_text(&mut self, text: &str) {
        let x = self.width / 2.0;
        self.text(x, 24.0, text, 16.0, Anchor::Middle, " font-weight=\"bold\"");
    }
}

/// The whole document, starting `<svg xmlns="http://www.w3.org/2000/svg" …>`.
impl fmt::Display for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::from("<svg xmlns=\"http://www.w3.org/2000/svg\"");
        self.write_inner(&mut s);
        s.push('\n');
        f.write_str(&s)
    }
}

/// Puts several charts in one document, `columns` per row (at least 1), each
/// cell as large as the widest chart of its column and tallest of its row.
/// The charts keep their own coordinates as nested `<svg>` elements.
///
/// ```
/// use weightwise::svg::{self, Series};
/// # fn main() -> weightwise::Result<()> {
/// let s = vec![Series { name: "loss".into(), points: vec![(0.0, 1.0), (1.0, 0.5)], dashed: false }];
/// let a = svg::line_chart(&s, "run A", "epoch", "loss")?;
/// let b = svg::line_chart(&s, "run B", "epoch", "loss")?;
/// let both = svg::grid(vec![a.clone(), b], 2);
/// assert_eq!(both.width(), 2.0 * a.width());
/// # Ok(()) }
/// ```
pub fn grid(charts: Vec<Svg>, columns: usize) -> Svg {
    let columns = columns.max(1);
    let rows = charts.len().div_ceil(columns);
    let mut col_w = vec![0.0f64; columns];
    let mut row_h = vec![0.0f64; rows];
    for (i, c) in charts.iter().enumerate() {
        col_w[i % columns] = col_w[i % columns].max(c.width);
        row_h[i / columns] = row_h[i / columns].max(c.height);
    }
    let title = charts
        .iter()
        .map(|c| c.title.as_str())
        .collect::<Vec<_>>()
        .join(" | ");
    let mut out = Svg::new(col_w.iter().sum(), row_h.iter().sum(), &title);
    for (i, c) in charts.iter().enumerate() {
        let x: f64 = col_w[..i % columns].iter().sum();
        let y: f64 = row_h[..i / columns].iter().sum();
        out.push(&c.nested(x, y));
    }
    out
}

/// Escapes the five XML special characters: `&` `<` `>` `"` `'`.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0 text.
            c if c.is_control() && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A coordinate with at most two decimals and no trailing zeros.
pub(crate) fn num(v: f64) -> String {
    let v = if v.is_finite() { v } else { 0.0 };
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.into() }
}

/// Approximate rendered width of `s` at `size` pixels in a sans-serif font
/// (0.6 em per character, generous for digits and lower case).
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    s.chars().count() as f64 * size * 0.6
}

/// The widest of `texts` at `size` pixels, by [`text_width`] (0 for none).
pub(crate) fn widest<S: AsRef<str>>(texts: &[S], size: f64) -> f64 {
    texts
        .iter()
        .map(|t| text_width(t.as_ref(), size))
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::wellformed::check;
    use super::*;

    #[test]
    fn escaping_covers_the_five_specials() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        let s = Svg::new(10.0, 10.0, "<&>");
        let text = s.to_string();
        check(&text).unwrap();
        assert!(text.contains("<title>&lt;&amp;&gt;</title>"));
    }

    #[test]
    fn numbers_are_short() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(1.256), "1.26");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(12.5), "12.5");
    }

    #[test]
    fn document_has_root_viewbox_and_background() {
        let text = Svg::new(120.0, 80.5, "t").to_string();
        check(&text).unwrap();
        assert!(text.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"120\" height=\"81\" viewBox=\"0 0 120 81\""));
        assert!(text.contains("fill=\"white\""));
    }

    #[test]
    fn save_creates_directories_and_reports_the_path() {
        let dir = std::env::temp_dir().join(format!("weightwise-svg-{}", std::process::id()));
        let path = dir.join("a/b/chart.svg");
        let s = Svg::new(10.0, 10.0, "saved");
        s.save(&path).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), s.to_string());
        // A path below a regular file cannot be created.
        let bad = path.join("below-a-file.svg");
        let err = s.save(&bad).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
        assert!(err.to_string().contains("below-a-file.svg"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn grid_nests_charts_at_offsets() {
        let a = Svg::new(100.0, 50.0, "a");
        let b = Svg::new(80.0, 70.0, "b");
        let c = Svg::new(30.0, 20.0, "c");
        let g = grid(vec![a, b, c], 2);
        assert_eq!((g.width(), g.height()), (180.0, 90.0));
        let text = g.to_string();
        check(&text).unwrap();
        assert!(text.contains("<svg x=\"100\" y=\"0\" width=\"80\""));
        assert!(text.contains("<svg x=\"0\" y=\"70\" width=\"30\""));
        assert_eq!(text.matches("<svg").count(), 4);
        // columns = 0 behaves as 1; no charts gives an empty canvas.
        assert_eq!(grid(vec![Svg::new(5.0, 5.0, "")], 0).width(), 5.0);
        check(&grid(Vec::new(), 3).to_string()).unwrap();
    }
}
