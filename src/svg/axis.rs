//! Axes, tick labels and colour bars shared by the charts.

use super::color::{Rgb, diverging};
use super::scale::{Scale, format_tick};
use super::{Anchor, Svg, text_width, widest};

/// Tick label size in pixels.
pub(crate) const TICK_FONT: f64 = 12.0;
/// Axis label and legend size in pixels.
pub(crate) const LABEL_FONT: f64 = 13.0;
/// Colour of axis lines, ticks and text.
pub(crate) const INK: &str = "#333333";
/// Colour of grid lines.
pub(crate) const GRID: &str = "#e3e3e3";

/// Tick values with their labels.
pub(crate) struct Ticks {
    pub values: Vec<f64>,
    pub labels: Vec<String>,
}

impl Ticks {
    /// Drops the ticks that are not whole numbers (an axis of epochs or
    /// layers has no "layer 1.5").
    pub fn keep_integers(&mut self) {
        let keep: Vec<bool> = self.values.iter().map(|v| v.fract() == 0.0).collect();
        let mut k = keep.iter();
        self.values.retain(|_| *k.next().unwrap_or(&false));
        let mut k = keep.iter();
        self.labels.retain(|_| *k.next().unwrap_or(&false));
    }

    /// Widest label in pixels.
    pub fn max_width(&self) -> f64 {
        widest(&self.labels, TICK_FONT)
    }
}

/// About `count` ticks of `scale`, labelled with the precision they need.
fn ticks(scale: &Scale, count: usize) -> Ticks {
    let values = scale.ticks(count);
    let step = match values.as_slice() {
        [a, b, ..] => b - a,
        _ => 0.0,
    };
    let labels = values
        .iter()
        .map(|&v| format_tick(v, if scale.is_log() { v } else { step }))
        .collect();
    Ticks { values, labels }
}

/// Ticks for a horizontal axis: as many as fit without labels touching.
pub(crate) fn x_ticks(scale: &Scale) -> Ticks {
    let (r0, r1) = scale.range();
    let len = (r1 - r0).abs();
    let mut count = ((len / 60.0) as usize).clamp(2, 10);
    loop {
        let t = ticks(scale, count);
        let spacing = len / (t.values.len().max(2) - 1) as f64;
        if count <= 2 || t.max_width() + 10.0 <= spacing {
            return t;
        }
        count -= 1;
    }
}

/// Ticks for a vertical axis: about one per 45 pixels.
pub(crate) fn y_ticks(scale: &Scale) -> Ticks {
    let (r0, r1) = scale.range();
    ticks(scale, (((r1 - r0).abs() / 45.0) as usize).clamp(2, 8))
}

/// A horizontal axis line at height `y` across the scale's range, with tick
/// marks and labels below it.
pub(crate) fn x_axis(svg: &mut Svg, scale: &Scale, t: &Ticks, y: f64) {
    let (r0, r1) = scale.range();
    svg.line((r0, y), (r1, y), INK);
    for (v, label) in t.values.iter().zip(&t.labels) {
        let x = scale.map(*v);
        svg.line((x, y), (x, y + 5.0), INK);
        svg.text(x, y + 18.0, label, TICK_FONT, Anchor::Middle, "");
    }
}

/// A vertical axis line at `x` along the scale's range, with tick marks and
/// right-aligned labels to its left.
pub(crate) fn y_axis(svg: &mut Svg, scale: &Scale, t: &Ticks, x: f64) {
    let (r0, r1) = scale.range();
    svg.line((x, r0), (x, r1), INK);
    for (v, label) in t.values.iter().zip(&t.labels) {
        let y = scale.map(*v);
        svg.line((x - 5.0, y), (x, y), INK);
        svg.text(x - 8.0, y + 4.0, label, TICK_FONT, Anchor::End, "");
    }
}

/// An axis title centred at `(x, y)`, rotated to read bottom-to-top when
/// `vertical`.
pub(crate) fn axis_label(svg: &mut Svg, x: f64, y: f64, text: &str, vertical: bool) {
    let extra = if vertical {
        format!(
            " transform=\"rotate(-90 {} {})\"",
            super::num(x),
            super::num(y)
        )
    } else {
        String::new()
    };
    svg.text(x, y, text, LABEL_FONT, Anchor::Middle, &extra);
}

/// Number of stripes a colour bar is drawn with.
const STRIPES: usize = 64;

/// The [`diverging`] map over a colour bar's `t ∈ [0, 1]`: blue at 0, white
/// at ½, red at 1.
pub(crate) fn diverging_bar(t: f64) -> Rgb {
    diverging(2.0 * t - 1.0)
}

/// A colour bar at `(x, y)`, `len` pixels long and 14 thick, striped with
/// `map(t)` for `t` from 0 (low end) to 1 (high end), labelled `labels =
/// [low end, centre, high end]`. Vertical bars run from the high end (top)
/// to the low end (bottom), labels on the right; horizontal ones from the
/// low end (left) to the high end, labels below.
pub(crate) fn colorbar(
    svg: &mut Svg,
    (x, y): (f64, f64),
    len: f64,
    vertical: bool,
    labels: &[String; 3],
    map: impl Fn(f64) -> Rgb,
) {
    const THICK: f64 = 14.0;
    let seg = len / STRIPES as f64;
    svg.push("<g shape-rendering=\"crispEdges\">");
    for i in 0..STRIPES {
        // Stripe centre in (0, 1), low end first.
        let fill = map((i as f64 + 0.5) / STRIPES as f64).to_string();
        if vertical {
            let sy = y + len - (i + 1) as f64 * seg;
            svg.rect(x, sy, THICK, seg + 0.5, &fill, "");
        } else {
            svg.rect(x + i as f64 * seg, y, seg + 0.5, THICK, &fill, "");
        }
    }
    svg.push("</g>");
    let (w, h) = if vertical { (THICK, len) } else { (len, THICK) };
    svg.rect(x, y, w, h, "none", " stroke=\"#999999\"");
    for (k, label) in labels.iter().enumerate() {
        let f = k as f64 / 2.0;
        if vertical {
            let ty = y + len * (1.0 - f);
            svg.line((x + THICK, ty), (x + THICK + 4.0, ty), INK);
            svg.text(
                x + THICK + 7.0,
                ty + 4.0,
                label,
                TICK_FONT,
                Anchor::Start,
                "",
            );
        } else {
            let tx = x + len * f;
            svg.line((tx, y + THICK), (tx, y + THICK + 4.0), INK);
            svg.text(tx, y + THICK + 17.0, label, TICK_FONT, Anchor::Middle, "");
        }
    }
}

/// The axes of a grid of cells at `(px, py)` sized `pw × ph`, each cell
/// `cw × ch`: row indices on the left, column indices below (thinned so the
/// labels never overlap), and the two axis labels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn index_axes(
    svg: &mut Svg,
    (px, py, pw, ph): (f64, f64, f64, f64),
    (rows, cols): (usize, usize),
    (cw, ch): (f64, f64),
    x_label: &str,
    y_label: &str,
) {
    for i in index_ticks(rows, ph, 16.0) {
        let y = py + (i as f64 + 0.5) * ch;
        svg.line((px - 4.0, y), (px, y), INK);
        svg.text(
            px - 7.0,
            y + 4.0,
            &i.to_string(),
            TICK_FONT,
            Anchor::End,
            "",
        );
    }
    let col_need = text_width(&cols.saturating_sub(1).to_string(), TICK_FONT) + 10.0;
    for j in index_ticks(cols, pw, col_need) {
        let x = px + (j as f64 + 0.5) * cw;
        svg.line((x, py + ph), (x, py + ph + 4.0), INK);
        svg.text(
            x,
            py + ph + 17.0,
            &j.to_string(),
            TICK_FONT,
            Anchor::Middle,
            "",
        );
    }
    axis_label(svg, px + pw / 2.0, py + ph + 40.0, x_label, false);
    axis_label(svg, 16.0 + LABEL_FONT / 2.0, py + ph / 2.0, y_label, true);
}

/// Which of `n` indices to label on an axis `len` pixels long when each label
/// needs `need` pixels: every `s`-th, with `s` the smallest of 1, 2, 5, 10,
/// 20, 50, … that fits.
pub(crate) fn index_ticks(n: usize, len: f64, need: f64) -> Vec<usize> {
    let mut step = 1usize;
    let mut k = 1;
    while step < n && (n.div_ceil(step) as f64) * need > len {
        step = [1, 2, 5][k % 3] * 10usize.pow((k / 3) as u32);
        k += 1;
    }
    (0..n).step_by(step.max(1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_ticks_thin_out() {
        assert_eq!(index_ticks(5, 500.0, 16.0), [0, 1, 2, 3, 4]);
        // 100 labels of 16 px in 400 px: step 5 gives 20·16 = 320 ≤ 400.
        let t = index_ticks(100, 400.0, 16.0);
        assert_eq!(t.len(), 20);
        assert_eq!(t[1], 5);
        // 784 labels in 200 px: step 100 gives 8·16 = 128 ≤ 200; 50 gives 256.
        assert_eq!(index_ticks(784, 200.0, 16.0)[1], 100);
        assert!(index_ticks(0, 10.0, 16.0).is_empty());
    }

    #[test]
    fn x_ticks_do_not_overlap() {
        let s = Scale::linear((0.0, 1.0), (0.0, 120.0));
        let t = x_ticks(&s);
        let spacing = 120.0 / (t.values.len() - 1) as f64;
        assert!(t.max_width() + 10.0 <= spacing, "{:?}", t.labels);
        assert!(t.values.len() >= 2);
    }
}
