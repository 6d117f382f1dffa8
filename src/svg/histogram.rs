//! Small-multiple histograms, one panel per named set of values.

use super::axis::{
    GRID, LABEL_FONT, TICK_FONT, Ticks, axis_label, x_axis, x_ticks, y_axis, y_ticks,
};
use super::color::sequential;
use super::scale::{Scale, format_sig, format_tick};
use super::{Anchor, Svg, text_width};
use crate::{Error, Result};

const PLOT_W: f64 = 220.0;
const PLOT_H: f64 = 150.0;
/// Panel header: name, statistics line, optional "skipped" line.
const HEAD: f64 = 62.0;
/// Below the plot: tick labels.
const FOOT: f64 = 34.0;
/// Panels per row.
const PER_ROW: usize = 4;

/// One panel's numbers, ready to draw.
struct Panel {
    counts: Vec<usize>,
    /// Range covered by the bins.
    lo: f64,
    hi: f64,
    x: Scale,
    y: Scale,
    x_ticks: Ticks,
    y_ticks: Ticks,
    stats: String,
    skipped: usize,
    /// Finite values outside a fixed range, left out of the bins.
    outside: usize,
}

/// Bins the finite values of `data` over exactly `range` when given, else
/// over their own range widened to cover `span` when given; `None` when there
/// are no finite values.
fn bin(
    data: &[f64],
    bins: usize,
    span: Option<(f64, f64)>,
    range: Option<(f64, f64)>,
) -> Option<Panel> {
    let finite: Vec<f64> = data.iter().copied().filter(|v| v.is_finite()).collect();
    let skipped = data.len() - finite.len();
    let mut lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if finite.is_empty() {
        return None;
    }
    if let Some((a, b)) = span {
        (lo, hi) = (lo.min(a), hi.max(b));
    }
    if let Some(r) = range {
        (lo, hi) = r;
    }
    if lo == hi {
        let d = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        (lo, hi) = (lo - d, hi + d);
    }
    // numpy.histogram: equal-width bins on [lo, hi], the last one closed;
    // values outside a given range are not counted.
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    let mut outside = 0;
    for &v in &finite {
        if !(lo..=hi).contains(&v) {
            outside += 1;
            continue;
        }
        let k = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        counts[k] += 1;
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let std = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    let max_count = counts.iter().copied().max().unwrap_or(0) as f64;
    let x = Scale::linear((lo, hi), (0.0, PLOT_W)).nice(5);
    let y = Scale::linear((0.0, max_count), (PLOT_H, 0.0)).nice(4);
    // Counts are whole numbers: drop fractional ticks, label without decimals.
    let (values, labels) = y_ticks(&y)
        .values
        .into_iter()
        .filter(|v| v.fract() == 0.0)
        .map(|v| (v, format_tick(v, 1.0)))
        .unzip();
    Some(Panel {
        counts,
        lo,
        hi,
        x,
        y,
        x_ticks: x_ticks(&x),
        y_ticks: Ticks { values, labels },
        stats: format!(
            "n {}, mean {}, std {}",
            finite.len(),
            format_sig(mean),
            format_sig(std)
        ),
        skipped,
        outside,
    })
}

/// Options for [`histograms_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HistogramOptions {
    /// One bin range `(lo, hi)` for every panel, as `numpy.histogram`'s
    /// `range`: equal-width bins on `[lo, hi]`, values outside it left out of
    /// the bars and counted in the header (the mean and standard deviation
    /// still cover every finite value). Panels with a common range can be
    /// compared by eye, as in *Deep Learning from Scratch*'s activation
    /// histograms (`range=(0, 1)`). Defaults to `None`: each panel spans its
    /// own values.
    pub range: Option<(f64, f64)>,
    /// Panels per row; 0 (the default) means 4.
    pub columns: usize,
}

/// [`histograms_with`] with each panel over its own range, four to a row.
///
/// ```
/// use weightwise::svg;
/// # fn main() -> weightwise::Result<()> {
/// let panels = vec![
///     ("layer 0".to_string(), vec![-0.2, 0.1, 0.05, 0.3]),
///     ("layer 1".to_string(), vec![f64::NAN]),
/// ];
/// let s = svg::histograms(&panels, 10, "weights")?.to_string();
/// assert!(s.contains("no finite values"));
/// assert!(svg::histograms(&panels, 0, "weights").is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// As [`histograms_with`].
pub fn histograms(panels: &[(String, Vec<f64>)], bins: usize, title: &str) -> Result<Svg> {
    histograms_with(panels, bins, title, &HistogramOptions::default())
}

/// Histograms side by side, one panel per `(name, values)` (for example one
/// per layer's weights), `options.columns` panels to a row (default 4). Each
/// panel has `bins` equal-width bins over the range of its finite values, or
/// over `options.range` when given (as `numpy.histogram`, the last bin
/// closed), its own value axis and count axis, and a header with the name,
/// the count, mean and (population) standard deviation. Non-finite values
/// are left out and counted in the header, as are values outside a given
/// range; a panel with no finite values says so instead of drawing bars.
/// Panel colours run along the [`sequential`] map, first panel darkest.
///
/// ```
/// use weightwise::svg::{self, HistogramOptions};
/// # fn main() -> weightwise::Result<()> {
/// let panels = vec![("sigmoid".to_string(), vec![0.2, 0.5, 0.5, 1.5])];
/// let opts = HistogramOptions { range: Some((0.0, 1.0)), columns: 5 };
/// let s = svg::histograms_with(&panels, 10, "activations", &opts)?.to_string();
/// assert!(s.contains("1 outside [0, 1]"));
/// let bad = HistogramOptions { range: Some((1.0, 0.0)), columns: 0 };
/// assert!(svg::histograms_with(&panels, 10, "activations", &bad).is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if `bins` is 0, `panels` is empty, or the
/// range is not finite with `lo < hi`.
pub fn histograms_with(
    panels: &[(String, Vec<f64>)],
    bins: usize,
    title: &str,
    options: &HistogramOptions,
) -> Result<Svg> {
    if let Some((lo, hi)) = options.range
        && !(lo.is_finite() && hi.is_finite() && lo < hi)
    {
        return Err(Error::invalid_arg(
            "histogram range",
            format!("({lo}, {hi})"),
            "must be finite with lo < hi",
        ));
    }
    draw(panels, &[], bins, title, options)
}

/// [`histograms`] where panel `i`'s value axis covers at least `spans[i]`
/// when it is given (e.g. `[0, 1]` for sigmoid outputs, so a collapse onto
/// 0.5 shows as one narrow bar); missing entries mean "the data's range".
pub(crate) fn histograms_spanning(
    panels: &[(String, Vec<f64>)],
    spans: &[Option<(f64, f64)>],
    bins: usize,
    title: &str,
) -> Result<Svg> {
    draw(panels, spans, bins, title, &HistogramOptions::default())
}

/// The drawing behind [`histograms_with`] and `histograms_spanning`.
fn draw(
    panels: &[(String, Vec<f64>)],
    spans: &[Option<(f64, f64)>],
    bins: usize,
    title: &str,
    options: &HistogramOptions,
) -> Result<Svg> {
    if bins == 0 {
        return Err(Error::invalid_arg(
            "histogram bins",
            bins,
            "must be at least 1",
        ));
    }
    if panels.is_empty() {
        return Err(Error::invalid_arg(
            "histogram panels",
            0,
            "need at least one panel",
        ));
    }
    let binned: Vec<Option<Panel>> = panels
        .iter()
        .enumerate()
        .map(|(i, (_, d))| bin(d, bins, spans.get(i).copied().flatten(), options.range))
        .collect();
    let tick_w = binned
        .iter()
        .flatten()
        .map(|p| p.y_ticks.max_width())
        .fold(0.0, f64::max);
    let left = 12.0 + LABEL_FONT + 10.0 + tick_w + 8.0;
    let name_w = panels
        .iter()
        .map(|(n, _)| text_width(n, LABEL_FONT))
        .fold(0.0, f64::max);
    let stats_w = binned
        .iter()
        .flatten()
        .map(|p| text_width(&p.stats, TICK_FONT))
        .fold(0.0, f64::max);
    let panel_w = left + PLOT_W.max(name_w).max(stats_w) + 24.0;
    let panel_h = HEAD + PLOT_H + FOOT;
    let per_row = if options.columns == 0 {
        PER_ROW
    } else {
        options.columns
    };
    let cols = panels.len().min(per_row);
    let rows = panels.len().div_ceil(cols);
    let width = (cols as f64 * panel_w + 8.0).max(text_width(title, 16.0) + 32.0);
    let mut svg = Svg::new(width, 40.0 + rows as f64 * panel_h + 8.0, title);
    svg.title_text(title);

    for (i, ((name, _), p)) in panels.iter().zip(&binned).enumerate() {
        let x0 = (i % cols) as f64 * panel_w + left;
        let top = 40.0 + (i / cols) as f64 * panel_h;
        let y0 = top + HEAD;
        svg.text(
            x0,
            top + 18.0,
            name,
            LABEL_FONT,
            Anchor::Start,
            " font-weight=\"bold\"",
        );
        let Some(p) = p else {
            svg.rect(
                x0,
                y0,
                PLOT_W,
                PLOT_H,
                "none",
                &format!(" stroke=\"{GRID}\""),
            );
            let (cx, cy) = (x0 + PLOT_W / 2.0, y0 + PLOT_H / 2.0);
            svg.text(cx, cy, "no finite values", LABEL_FONT, Anchor::Middle, "");
            continue;
        };
        svg.text(x0, top + 36.0, &p.stats, TICK_FONT, Anchor::Start, "");
        let mut notes = Vec::new();
        if p.skipped > 0 {
            notes.push(format!("{} non-finite skipped", p.skipped));
        }
        if p.outside > 0 {
            notes.push(format!(
                "{} outside [{}, {}]",
                p.outside,
                format_sig(p.lo),
                format_sig(p.hi)
            ));
        }
        if !notes.is_empty() {
            let note = notes.join(", ");
            svg.text(
                x0,
                top + 52.0,
                &note,
                TICK_FONT,
                Anchor::Start,
                " fill=\"#b2182b\"",
            );
        }
        // Shift the panel's scales into place.
        let x = Scale::linear(p.x.domain(), (x0, x0 + PLOT_W));
        let y = Scale::linear(p.y.domain(), (y0 + PLOT_H, y0));
        for v in &p.y_ticks.values {
            svg.line((x0, y.map(*v)), (x0 + PLOT_W, y.map(*v)), GRID);
        }
        let t = if panels.len() > 1 {
            i as f64 / (panels.len() - 1) as f64
        } else {
            0.0
        };
        let fill = sequential(0.15 + 0.6 * t).to_string();
        let width = (p.hi - p.lo) / bins as f64;
        svg.push("<g shape-rendering=\"crispEdges\">");
        for (k, &c) in p.counts.iter().enumerate().filter(|(_, c)| **c > 0) {
            let left_x = x.map(p.lo + k as f64 * width);
            let w = x.map(p.lo + (k + 1) as f64 * width) - left_x;
            let gap = if w > 4.0 { 1.0 } else { 0.0 };
            let top_y = y.map(c as f64);
            svg.rect(
                left_x,
                top_y,
                w - gap,
                y0 + PLOT_H - top_y,
                &fill,
                " class=\"bar\"",
            );
        }
        svg.push("</g>");
        x_axis(&mut svg, &x, &p.x_ticks, y0 + PLOT_H);
        y_axis(&mut svg, &y, &p.y_ticks, x0);
        axis_label(
            &mut svg,
            x0 - left + 12.0 + LABEL_FONT / 2.0,
            y0 + PLOT_H / 2.0,
            "count",
            true,
        );
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::super::wellformed::check;
    use super::*;

    #[test]
    fn panels_bars_and_labels() {
        // 0..10 in 5 bins of width 1.8 on [0, 9]: 0,1 | 2,3 | 4,5 | 6,7 | 8,9
        // (each bin gets two values; 9 lands in the closed last bin).
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        // Constant values → one bar (range widened to 3 ± 0.3).
        let b = vec![3.0; 4];
        let panels = vec![("layer <0>".to_string(), a), ("layer 1".to_string(), b)];
        let s = histograms(&panels, 5, "Weights & biases")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_eq!(s.matches("class=\"bar\"").count(), 5 + 1);
        assert!(s.contains(">Weights &amp; biases</text>"));
        assert!(s.contains(">layer &lt;0&gt;</text>") && s.contains(">layer 1</text>"));
        assert_eq!(s.matches(">count</text>").count(), 2);
        // mean 4.5, population std √8.25 = 2.872…
        assert!(s.contains(">n 10, mean 4.5, std 2.87</text>"));
        // Two values per bin → the count axis tops out at 2, in whole numbers
        // (the 0.5 step d3 picks for 0..2 leaves 0, 1, 2).
        assert!(s.contains(">2</text>") && s.contains(">1</text>"));
        assert!(!s.contains(">0.5</text>") && !s.contains(">2.0</text>"));
    }

    #[test]
    fn non_finite_values() {
        let panels = vec![
            ("mixed".to_string(), vec![1.0, f64::NAN, 2.0, f64::INFINITY]),
            ("none".to_string(), vec![f64::NAN, f64::NEG_INFINITY]),
            ("empty".to_string(), vec![]),
        ];
        let s = histograms(&panels, 4, "t").unwrap().to_string();
        check(&s).unwrap();
        assert!(s.contains(">2 non-finite skipped</text>"));
        assert_eq!(s.matches(">no finite values</text>").count(), 2);
        // [1, 2] in 4 bins: 1 → bin 0, 2 → closed last bin.
        assert_eq!(s.matches("class=\"bar\"").count(), 2);
    }

    #[test]
    fn spans_widen_the_value_axis() {
        // [0.5, 0.5, 0.75] over at least [0, 1] in 4 bins: 0.5 → bin 2, 0.75 → bin 3.
        let panels = vec![("s".to_string(), vec![0.5, 0.5, 0.75])];
        let s = histograms_spanning(&panels, &[Some((0.0, 1.0))], 4, "t")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("class=\"bar\"").count(), 2);
        // The value axis runs 0.0, 0.5, 1.0 rather than over [0.5, 0.75].
        assert!(s.contains(">0.0</text>") && s.contains(">1.0</text>"));
        assert_ne!(s, histograms(&panels, 4, "t").unwrap().to_string());
        // A span inside the data's range changes nothing.
        let narrow = histograms_spanning(&panels, &[Some((0.6, 0.7))], 4, "t").unwrap();
        assert_eq!(narrow, histograms(&panels, 4, "t").unwrap());
    }

    #[test]
    fn many_panels_wrap() {
        let panels: Vec<(String, Vec<f64>)> = (0..6)
            .map(|i| (format!("p{i}"), vec![f64::from(i)]))
            .collect();
        let one = histograms(&panels[..1], 3, "t").unwrap();
        let six = histograms(&panels, 3, "t").unwrap();
        check(&six.to_string()).unwrap();
        // Four panels to a row, so two rows.
        assert!(six.height() > 1.9 * (one.height() - 48.0));
        assert!(six.width() > 3.9 * (one.width() - 8.0));
    }

    #[test]
    fn shared_range_counts_what_falls_outside() {
        // On [0, 1] in 4 bins of 0.25: 0 and 0.2 → bin 0, 0.5 → bin 2,
        // 1 → the closed last bin; −0.5 and 2 are outside. Mean of all six
        // finite values = (−0.5 + 0 + 0.2 + 0.5 + 1 + 2)/6 = 0.533….
        let v = vec![-0.5, 0.0, 0.2, 0.5, 1.0, 2.0, f64::NAN];
        let panels = vec![("a".to_string(), v)];
        let opts = HistogramOptions {
            range: Some((0.0, 1.0)),
            columns: 0,
        };
        let s = histograms_with(&panels, 4, "t", &opts).unwrap().to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("class=\"bar\"").count(), 3);
        assert!(s.contains(">1 non-finite skipped, 2 outside [0, 1]</text>"));
        assert!(s.contains(">n 6, mean 0.533, std"));
        // The default options reproduce `histograms`.
        let p = vec![("b".to_string(), vec![1.0, 2.0, 4.0])];
        assert_eq!(
            histograms(&p, 3, "t").unwrap(),
            histograms_with(&p, 3, "t", &HistogramOptions::default()).unwrap()
        );
    }

    #[test]
    fn columns_set_panels_per_row() {
        let panels: Vec<(String, Vec<f64>)> = (0..5)
            .map(|i| (format!("p{i}"), vec![f64::from(i), 1.0 + f64::from(i)]))
            .collect();
        let four = histograms(&panels, 3, "t").unwrap();
        let opts = HistogramOptions {
            range: None,
            columns: 5,
        };
        let five = histograms_with(&panels, 3, "t", &opts).unwrap();
        // One row of five instead of rows of four and one.
        assert!(five.height() < four.height());
        assert!(five.width() > four.width());
    }

    #[test]
    fn errors() {
        let p = vec![("a".to_string(), vec![1.0])];
        for range in [
            (1.0, 1.0),
            (2.0, 1.0),
            (0.0, f64::INFINITY),
            (f64::NAN, 1.0),
        ] {
            let opts = HistogramOptions {
                range: Some(range),
                columns: 0,
            };
            let e = histograms_with(&p, 4, "t", &opts).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument { .. }));
            assert!(e.to_string().contains("histogram range"), "{e}");
        }
        let p = vec![("a".to_string(), vec![1.0])];
        let e = histograms(&p, 0, "t").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid histogram bins = 0: must be at least 1"
        );
        assert!(matches!(
            histograms(&[], 5, "t"),
            Err(Error::InvalidArgument { .. })
        ));
    }
}
