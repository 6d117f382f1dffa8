//! Line charts: training curves, optimizer comparisons, capacity curves.

use std::fmt::Write as _;

use super::axis::{GRID, LABEL_FONT, TICK_FONT, axis_label, x_axis, x_ticks, y_axis, y_ticks};
use super::color::{Rgb, categorical};
use super::scale::{Scale, format_sig};
use super::{Anchor, Svg, num, text_width};
use crate::{Error, Result};

const PLOT_W: f64 = 560.0;
const PLOT_H: f64 = 340.0;
/// Series with at most this many points get a marker on every point.
const MARKERS_UP_TO: usize = 30;

/// One line of a [`line_chart`]: `(x, y)` points joined in the order given.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The points; non-finite ones (and ones ≤ 0 on a log axis) break the line.
    pub points: Vec<(f64, f64)>,
    /// Draw dashed (e.g. validation against a solid training curve).
    pub dashed: bool,
}

impl Series {
    /// A solid series from explicit points.
    pub fn new(name: impl Into<String>, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.into(),
            points,
            dashed: false,
        }
    }

    /// A solid series of `ys` at `x = 1, 2, …, n` (epochs counted from 1).
    pub fn from_ys(name: impl Into<String>, ys: &[f64]) -> Self {
        Series::new(
            name,
            ys.iter()
                .enumerate()
                .map(|(i, &y)| ((i + 1) as f64, y))
                .collect(),
        )
    }

    /// The same series, dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
}

/// Colour of the reference lines.
const MARK_COLOR: &str = "#555555";
/// Dash patterns of the reference lines, one per line in turn, so the
/// legend tells them apart.
const MARK_DASHES: [&str; 3] = ["3 3", "9 4", "1 3"];

/// Options for [`line_chart_with`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LineChartOptions {
    /// Base-10 logarithmic x axis (e.g. layer width in a capacity curve).
    pub log_x: bool,
    /// Base-10 logarithmic y axis (e.g. a loss falling over decades).
    pub log_y: bool,
    /// Colour of series `i` is `colors[i]` when given, otherwise
    /// [`TABLEAU10`](super::TABLEAU10)`[i % 10]`. Give a train curve and its
    /// dashed validation curve the same colour to show them as a pair.
    pub colors: Vec<Rgb>,
    /// Vertical reference lines `(x, label)` (e.g. the best epoch, where
    /// training stopped), drawn grey, each with its own dash pattern, and
    /// labelled in the legend, so no label covers a line.
    pub x_marks: Vec<(f64, String)>,
    /// Horizontal reference lines `(y, label)` (e.g. a 1e-3 rule of thumb),
    /// drawn and labelled as the `x_marks` are.
    pub y_marks: Vec<(f64, String)>,
    /// Largest y shown: points above it are left out (their lines break)
    /// and the axis says so, so that one divergent series does not flatten
    /// the others. None: the data's maximum.
    pub y_max: Option<f64>,
}

/// [`line_chart_with`] with linear axes and the default colours.
///
/// # Errors
/// As [`line_chart_with`].
pub fn line_chart(series: &[Series], title: &str, x_label: &str, y_label: &str) -> Result<Svg> {
    line_chart_with(
        series,
        title,
        x_label,
        y_label,
        &LineChartOptions::default(),
    )
}

/// Several series as lines on shared axes with "nice" ticks, light grid lines
/// and a legend to the right of the plot (so it never hides a line). Axis
/// domains cover every drawable point, widened to round tick values. A point
/// that is not finite, or is ≤ 0 on a logarithmic axis, is skipped and the
/// line breaks there; a series of at most 30 points gets a marker on each.
///
/// ```
/// use weightwise::svg::{self, LineChartOptions, Series};
/// # fn main() -> weightwise::Result<()> {
/// let train = Series::from_ys("train", &[2.3, 0.9, 0.4, 0.2, 0.1]);
/// let val = Series::from_ys("validation", &[2.3, 1.0, 0.7, 0.75, 0.9]).dashed();
/// let opts = LineChartOptions { log_y: true, ..Default::default() };
/// let chart = svg::line_chart_with(&[train, val], "Overfitting", "epoch", "loss", &opts)?;
/// assert_eq!(chart.to_string().matches("<path class=\"series\"").count(), 2);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if `series` is empty.
pub fn line_chart_with(
    series: &[Series],
    title: &str,
    x_label: &str,
    y_label: &str,
    options: &LineChartOptions,
) -> Result<Svg> {
    if series.is_empty() {
        return Err(Error::invalid_arg(
            "line chart series",
            0,
            "need at least one series",
        ));
    }
    let ok = |v: f64, log: bool| v.is_finite() && (!log || v > 0.0);
    let cap = options.y_max.unwrap_or(f64::INFINITY);
    let drawable = |&(x, y): &(f64, f64)| ok(x, options.log_x) && ok(y, options.log_y) && y <= cap;
    let capped = series
        .iter()
        .flat_map(|s| &s.points)
        .any(|&(x, y)| ok(x, options.log_x) && y > cap);
    let all: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .filter(drawable)
        .collect();
    let x_dom = domain(all.iter().map(|p| p.0), options.log_x);
    let marks_y = options.y_marks.iter().map(|m| m.0);
    let y_dom = domain(
        all.iter()
            .map(|p| p.1)
            .chain(marks_y.filter(|&v| ok(v, options.log_y))),
        options.log_y,
    );
    let make = |dom, range, log| {
        if log {
            Scale::log(dom, range)
        } else {
            Scale::linear(dom, range)
        }
    };
    // The x axis ends at the data (no overshoot); the y axis on round values.
    // First pass at the origin to size the margins from the tick labels.
    let y0 = make(y_dom, (PLOT_H, 0.0), options.log_y).nice(5);
    let ticks_y = y_ticks(&y0);
    let (px, py) = (16.0 + LABEL_FONT + 10.0 + ticks_y.max_width() + 8.0, 48.0);
    let x = make(x_dom, (px, px + PLOT_W), options.log_x);
    let y = make(y_dom, (py + PLOT_H, py), options.log_y).nice(5);
    let mut ticks_x = x_ticks(&x);
    // Whole-number data (epochs, layers) gets whole-number ticks only.
    if !all.is_empty() && all.iter().all(|p| p.0.fract() == 0.0) {
        ticks_x.keep_integers();
    }

    let legend_x = px + PLOT_W + 20.0;
    // The reference lines shown, each with its dash pattern, listed in the
    // legend after the series.
    let xd = x.domain();
    let inside = |v: f64, (d0, d1): (f64, f64)| v >= d0.min(d1) && v <= d0.max(d1);
    let marks: Vec<(bool, f64, &str, &str)> = options
        .x_marks
        .iter()
        .filter(|(v, _)| ok(*v, options.log_x) && inside(*v, xd))
        .map(|(v, l)| (true, *v, l.as_str()))
        .chain(
            options
                .y_marks
                .iter()
                .filter(|(v, _)| ok(*v, options.log_y))
                .map(|(v, l)| (false, *v, l.as_str())),
        )
        .enumerate()
        .map(|(k, (vertical, v, l))| (vertical, v, l, MARK_DASHES[k % MARK_DASHES.len()]))
        .collect();
    let name_w = series
        .iter()
        .map(|s| s.name.as_str())
        .chain(marks.iter().map(|m| m.2))
        .map(|n| text_width(n, LABEL_FONT))
        .fold(0.0, f64::max);
    let width = (legend_x + 34.0 + name_w + 16.0).max(text_width(title, 16.0) + 32.0);
    let legend_h = 20.0 * (series.len() + marks.len()) as f64 + 8.0;
    let height = (py + PLOT_H + 18.0 + 34.0).max(py + legend_h) + 8.0;
    let mut svg = Svg::new(width, height, title);
    svg.title_text(title);

    for v in &ticks_y.values {
        svg.line((px, y.map(*v)), (px + PLOT_W, y.map(*v)), GRID);
    }
    for v in &ticks_x.values {
        svg.line((x.map(*v), py), (x.map(*v), py + PLOT_H), GRID);
    }
    if all.is_empty() {
        let (cx, cy) = (px + PLOT_W / 2.0, py + PLOT_H / 2.0);
        svg.text(cx, cy, "no finite points", LABEL_FONT, Anchor::Middle, "");
    }
    for (i, s) in series.iter().enumerate() {
        let color = options
            .colors
            .get(i)
            .copied()
            .unwrap_or_else(|| categorical(i))
            .to_string();
        let dash = if s.dashed {
            " stroke-dasharray=\"7 4\""
        } else {
            ""
        };
        draw_series(&mut svg, s, &x, &y, &drawable, &color, dash);
        // Legend entry.
        let ly = py + 8.0 + 20.0 * i as f64;
        svg.push(&format!(
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"2.5\"{dash}/>",
            num(legend_x),
            num(ly),
            num(legend_x + 28.0),
            num(ly)
        ));
        svg.text(
            legend_x + 34.0,
            ly + 4.5,
            &s.name,
            LABEL_FONT,
            Anchor::Start,
            "",
        );
    }
    for (k, &(vertical, v, label, dash)) in marks.iter().enumerate() {
        let ((x1, y1), (x2, y2)) = if vertical {
            ((x.map(v), py), (x.map(v), py + PLOT_H))
        } else {
            ((px, y.map(v)), (px + PLOT_W, y.map(v)))
        };
        let line = |x1: f64, y1: f64, x2: f64, y2: f64| {
            format!(
                "<line class=\"mark\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" \
                 stroke=\"{MARK_COLOR}\" stroke-width=\"1.2\" stroke-dasharray=\"{dash}\"/>",
                num(x1),
                num(y1),
                num(x2),
                num(y2)
            )
        };
        svg.push(&line(x1, y1, x2, y2));
        let ly = py + 8.0 + 20.0 * (series.len() + k) as f64;
        svg.push(&line(legend_x, ly, legend_x + 28.0, ly));
        svg.text(
            legend_x + 34.0,
            ly + 4.5,
            label,
            LABEL_FONT,
            Anchor::Start,
            "",
        );
    }
    if capped {
        let note = format!("points above {} not shown", format_sig(cap));
        svg.text(px + 4.0, py - 6.0, &note, TICK_FONT, Anchor::Start, "");
    }
    x_axis(&mut svg, &x, &ticks_x, py + PLOT_H);
    y_axis(&mut svg, &y, &ticks_y, px);
    axis_label(
        &mut svg,
        px + PLOT_W / 2.0,
        py + PLOT_H + 42.0,
        x_label,
        false,
    );
    axis_label(
        &mut svg,
        16.0 + LABEL_FONT / 2.0,
        py + PLOT_H / 2.0,
        y_label,
        true,
    );
    Ok(svg)
}

/// The data range of `values`, widened when it is a single value, or a
/// default when there are none.
fn domain(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    match (lo <= hi, lo == hi, log) {
        (false, _, false) => (0.0, 1.0),
        (false, _, true) => (1.0, 10.0),
        (true, true, true) => (lo / 2.0, hi * 2.0),
        (true, true, false) => {
            let d = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
            (lo - d, hi + d)
        }
        (true, false, _) => (lo, hi),
    }
}

/// One `<path class="series">` (segments broken at undrawable points) plus
/// markers: on every point of a short series, and on isolated points always
/// (a one-point segment draws nothing).
fn draw_series(
    svg: &mut Svg,
    s: &Series,
    x: &Scale,
    y: &Scale,
    drawable: &dyn Fn(&(f64, f64)) -> bool,
    color: &str,
    dash: &str,
) {
    let pts: Vec<Option<(f64, f64)>> = s
        .points
        .iter()
        .map(|p| drawable(p).then(|| (x.map(p.0), y.map(p.1))))
        .collect();
    let count = pts.iter().flatten().count();
    if count == 0 {
        return;
    }
    let mut d = String::new();
    let mut markers = Vec::new();
    for (k, p) in pts.iter().enumerate() {
        let Some((px, py)) = *p else { continue };
        let starts = k == 0 || pts[k - 1].is_none();
        let isolated = starts && pts.get(k + 1).is_none_or(|q| q.is_none());
        let _ = write!(
            d,
            "{}{} {}",
            if starts { "M" } else { " L" },
            num(px),
            num(py)
        );
        if count <= MARKERS_UP_TO || isolated {
            markers.push((px, py));
        }
    }
    svg.push(&format!(
        "<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" \
         stroke-linejoin=\"round\" stroke-linecap=\"round\"{dash}/>"
    ));
    for (mx, my) in markers {
        svg.push(&format!(
            "<circle class=\"marker\" cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{color}\"/>",
            num(mx),
            num(my)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::wellformed::check;
    use super::*;

    #[test]
    fn lines_legend_and_ticks() {
        let train = Series::from_ys("train", &[1.0, 0.6, 0.4, 0.3, 0.2]);
        let val = Series::from_ys("validation <set>", &[1.0, 0.7, 0.6, 0.65, 0.8]).dashed();
        let s = line_chart(&[train, val], "Loss & accuracy", "epoch", "loss")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert_eq!(s.matches("<path class=\"series\"").count(), 2);
        assert_eq!(s.matches("stroke-dasharray").count(), 2); // path + legend sample
        assert_eq!(s.matches("class=\"marker\"").count(), 10);
        for t in [
            ">Loss &amp; accuracy</text>",
            ">epoch</text>",
            ">loss</text>",
            ">train</text>",
            ">validation &lt;set&gt;</text>",
        ] {
            assert!(s.contains(t), "missing {t}");
        }
        // y data 0.2..1 → nice ticks 0.2, 0.3, …, 1.0 (step 0.1 for a 340 px axis).
        assert!(s.contains(">0.2</text>") && s.contains(">1.0</text>"));
        // Colours: Tableau blue then orange.
        assert!(
            s.contains("stroke=\"#4e79a7\" stroke-width=\"2\"")
                && s.contains("stroke=\"#f28e2b\" stroke-width=\"2\"")
        );
    }

    #[test]
    fn non_finite_points_break_the_line() {
        let s = Series::new(
            "a",
            vec![(0.0, 1.0), (1.0, f64::NAN), (2.0, 2.0), (3.0, 3.0)],
        );
        let svg = line_chart(&[s], "t", "x", "y").unwrap().to_string();
        check(&svg).unwrap();
        let path = svg.split("<path class=\"series\" d=\"").nth(1).unwrap();
        let d = &path[..path.find('"').unwrap()];
        // Two segments: the lone first point, then 2 → 3.
        assert_eq!(d.matches('M').count(), 2);
        assert_eq!(d.matches('L').count(), 1);
    }

    #[test]
    fn log_axes_and_long_series() {
        let pts: Vec<(f64, f64)> = (1..=100)
            .map(|i| (f64::from(i), 1.5 * 10f64.powf(-f64::from(i) / 25.0)))
            .collect();
        let mut with_zero = pts.clone();
        with_zero[50].1 = 0.0; // dropped on a log axis, breaking the line
        let opts = LineChartOptions {
            log_y: true,
            log_x: true,
            colors: vec![Rgb(1, 2, 3)],
            ..Default::default()
        };
        let s = line_chart_with(
            &[Series::new("decay", with_zero)],
            "t",
            "step",
            "loss",
            &opts,
        )
        .unwrap()
        .to_string();
        check(&s).unwrap();
        assert!(s.contains("stroke=\"#010203\""));
        // 100 points: no markers; y from 1.5e-4 to 1.37, niced to 1e-4..2, spans
        // more than 4 decades → powers of ten only; x 1..100 (2 decades) → 1/2/5.
        assert_eq!(s.matches("class=\"marker\"").count(), 0);
        assert!(
            s.contains(">0.0001</text>")
                && s.contains(">0.001</text>")
                && !s.contains(">0.0005</text>")
        );
        assert!(s.contains(">50</text>") && s.contains(">100</text>"));
        let d = s.split("d=\"").nth(1).unwrap();
        assert_eq!(d[..d.find('"').unwrap()].matches('M').count(), 2);
    }

    #[test]
    fn degenerate_inputs() {
        // No drawable point at all: axes and a message, no path.
        let s = line_chart(&[Series::new("nan", vec![(0.0, f64::NAN)])], "t", "x", "y")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert!(s.contains(">no finite points</text>"));
        assert_eq!(s.matches("<path").count(), 0);
        // One point: a marker, and a widened domain.
        let s = line_chart(&[Series::new("one", vec![(2.0, 5.0)])], "t", "x", "y")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("class=\"marker\"").count(), 1);
        assert_eq!(domain([5.0].into_iter(), false), (4.5, 5.5));
        assert_eq!(domain([5.0].into_iter(), true), (2.5, 10.0));
        assert_eq!(domain(std::iter::empty(), false), (0.0, 1.0));
    }

    #[test]
    fn errors() {
        let e = line_chart(&[], "t", "x", "y").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid line chart series = 0: need at least one series"
        );
    }
}
