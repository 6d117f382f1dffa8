//! Attribution pictures: signed maps beside their images, and mean
//! magnitudes per class.

use super::axis::{INK, TICK_FONT, colorbar, diverging_bar};
use super::color::{MISSING, Rgb, diverging, scaled, sequential};
use super::scale::format_sig;
use super::{Anchor, Svg, num, text_width, widest};
use crate::{Error, Result, Scalar, Tensor};

/// Pixels per image pixel in the tiles (an 8×8 digit is 96 px wide).
fn pixel_size(h: usize, w: usize) -> f64 {
    (96.0 / h.max(w) as f64).clamp(1.0, 16.0)
}

/// Checks `[n, h·w]` and returns `n`.
fn check_tiles<T: Scalar>(
    op: &'static str,
    t: &Tensor<T>,
    (h, w): (usize, usize),
) -> Result<usize> {
    if h == 0 || w == 0 {
        return Err(Error::invalid_arg(
            "image size",
            format!("{h}×{w}"),
            format!("{op}: both sides must be ≥ 1"),
        ));
    }
    let (n, len) = t.dims2(op)?;
    if n == 0 || len != h * w {
        return Err(Error::invalid_shape(
            op,
            t.shape(),
            format!("need at least one row of {h}·{w} = {} values", h * w),
        ));
    }
    Ok(n)
}

/// Splits `text` into lines of at most `width` pixels (at `TICK_FONT`).
pub(crate) fn wrap(text: &str, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if !line.is_empty() && text_width(&candidate, TICK_FONT) > width {
            lines.push(std::mem::replace(&mut line, word.to_string()));
        } else {
            line = candidate;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// One image as cells of `px` pixels at `(x, y)`, coloured by `color`.
fn draw_tile(
    svg: &mut Svg,
    (x, y): (f64, f64),
    values: &[f64],
    w: usize,
    px: f64,
    color: impl Fn(f64) -> Rgb,
) {
    svg.push("<g shape-rendering=\"crispEdges\">");
    for (k, &v) in values.iter().enumerate() {
        svg.push(&format!(
            "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
            num(x + (k % w) as f64 * px),
            num(y + (k / w) as f64 * px),
            num(px),
            num(px),
            color(v)
        ));
    }
    svg.push("</g>");
    let h = values.len() / w;
    svg.rect(
        x,
        y,
        w as f64 * px,
        h as f64 * px,
        "none",
        " class=\"frame\" stroke=\"#999999\"",
    );
}

/// The largest finite `|v|`.
fn max_abs(values: &[f64]) -> f64 {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// Grey for an input pixel: white at the smallest value, black at the
/// largest (ink on paper for digits).
fn grey(v: f64, lo: f64, hi: f64) -> Rgb {
    if !v.is_finite() {
        return MISSING;
    }
    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
    let g = (255.0 * (1.0 - t.clamp(0.0, 1.0))).round() as u8;
    Rgb(g, g, g)
}

/// Left and top margins of a tile picture, and the length of its colour bar.
const X0: f64 = 16.0;
const Y0: f64 = 48.0;
const BAR_LEN: f64 = 240.0;

/// The layout both tile pictures share: `n` cells of `cell = (width,
/// height)`, five to a row (or fewer) under the title, then a horizontal
/// colour bar and the legend lines under it.
struct Grid {
    cols: usize,
    cell: (f64, f64),
    legend_y: f64,
    lines: Vec<String>,
}

impl Grid {
    /// Lays out `n ≥ 1` cells and starts the picture, titled, wide enough
    /// for the cells, the colour bar and the title, and tall enough for
    /// `legend` then `note` wrapped to its width.
    fn start(n: usize, cell: (f64, f64), title: &str, legend: &str, note: &str) -> (Self, Svg) {
        let cols = n.min(5);
        let rows = n.div_ceil(cols);
        let legend_y = Y0 + rows as f64 * cell.1 + 10.0;
        let width = (X0 + cols as f64 * cell.0 + 16.0)
            .max(X0 + BAR_LEN + 80.0)
            .max(text_width(title, 16.0) + 32.0)
            .max(440.0);
        let text_w = width - 2.0 * X0;
        let lines: Vec<String> = wrap(legend, text_w)
            .into_iter()
            .chain(wrap(note, text_w))
            .collect();
        let height = legend_y + 14.0 + 24.0 + 18.0 * lines.len() as f64 + 12.0;
        let mut svg = Svg::new(width, height, title);
        svg.title_text(title);
        let grid = Self {
            cols,
            cell,
            legend_y,
            lines,
        };
        (grid, svg)
    }

    /// The top-left corner of cell `i`.
    fn origin(&self, i: usize) -> (f64, f64) {
        let (col, row) = ((i % self.cols) as f64, (i / self.cols) as f64);
        (X0 + col * self.cell.0, Y0 + row * self.cell.1)
    }

    /// `caption` centred under the tiles (`tile_h` high) of cell `i`.
    fn caption(&self, svg: &mut Svg, i: usize, tile_h: f64, caption: &str) {
        let (x, y) = self.origin(i);
        let (x, y) = (x + self.cell.0 / 2.0, y + tile_h + 16.0);
        svg.text(x, y, caption, TICK_FONT, Anchor::Middle, "");
    }

    /// The colour bar of `map` labelled `labels` (low end, middle, high
    /// end), then the legend lines.
    fn finish(self, svg: &mut Svg, labels: &[String; 3], map: impl Fn(f64) -> Rgb) {
        colorbar(svg, (X0 + 30.0, self.legend_y), BAR_LEN, false, labels, map);
        let mut y = self.legend_y + 14.0 + 24.0 + 14.0;
        for line in &self.lines {
            let fill = format!(" fill=\"{INK}\"");
            svg.text(X0, y, line, TICK_FONT, Anchor::Start, &fill);
            y += 18.0;
        }
    }
}

/// Attribution maps beside the images they explain: for each sample `i`,
/// row `i` of `inputs` drawn as a grey `image = (height, width)` picture
/// (white = smallest value, black = largest) with row `i` of `maps` to its
/// right on the [`diverging`] scale centred on zero (red: the pixel raises the
/// explained output, blue: lowers it, white: no effect), `captions[i]`
/// under the pair. One colour scale `±max|attribution|` over all maps, so
/// maps compare; a colour bar with those limits and `legend` (what the
/// values are, e.g. "integrated gradients of the class logit from a black
/// image") explain it. Pairs are laid out five to a row (or fewer).
///
/// ```
/// use weightwise::{Tensor, svg};
/// # fn main() -> weightwise::Result<()> {
/// let x = Tensor::from_rows(&[[0.0f64, 1.0, 1.0, 0.0], [1.0, 0.0, 0.0, 1.0]])?;
/// let a = Tensor::from_rows(&[[0.0f64, 0.5, -0.2, 0.0], [0.3, 0.0, 0.0, -0.1]])?;
/// let s = svg::attribution_maps(&x, &a, (2, 2), &["a".into(), "b".into()], "maps",
///     "gradient × input of the class score")?.to_string();
/// assert_eq!(s.matches("<rect class=\"cell\"").count(), 16);
/// assert!(s.contains("gradient × input of the class score"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidShape`] unless both tensors are `[n, height·width]` with
/// `n ≥ 1`; [`Error::ShapeMismatch`] if they differ or `captions` does not
/// have `n` entries; [`Error::InvalidArgument`] for an image side of 0.
pub fn attribution_maps<T: Scalar>(
    inputs: &Tensor<T>,
    maps: &Tensor<T>,
    image: (usize, usize),
    captions: &[String],
    title: &str,
    legend: &str,
) -> Result<Svg> {
    const OP: &str = "attribution_maps";
    let n = check_tiles(OP, maps, image)?;
    if inputs.shape() != maps.shape() {
        return Err(Error::shape_mismatch(
            OP,
            inputs.shape(),
            maps.shape(),
            "one map per image, of the image's size",
        ));
    }
    if captions.len() != n {
        return Err(Error::shape_mismatch(
            OP,
            &[n],
            &[captions.len()],
            "one caption per map",
        ));
    }
    let (h, w) = image;
    let len = h * w;
    let xs: Vec<f64> = inputs.as_slice().iter().map(|v| v.as_f64()).collect();
    let ms: Vec<f64> = maps.as_slice().iter().map(|v| v.as_f64()).collect();
    let limit = max_abs(&ms);
    let px = pixel_size(h, w);
    let (tw, th) = (w as f64 * px, h as f64 * px);
    let pair_w = (2.0 * tw + 6.0).max(widest(captions, TICK_FONT)) + 20.0;
    let note = format!(
        "Each digit (dark = ink) is left of its map. Red: the pixel raises the output, blue: \
         lowers it, white: no effect. One scale for all maps: ±{} = the largest |value|.",
        format_sig(limit)
    );
    let (grid, mut svg) = Grid::start(n, (pair_w, th + 30.0), title, legend, &note);
    for i in 0..n {
        let (x, cy) = grid.origin(i);
        let cx = x + (pair_w - (2.0 * tw + 6.0)) / 2.0;
        let row = &xs[i * len..(i + 1) * len];
        let (lo, hi) = row
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, u), v| {
                (l.min(*v), u.max(*v))
            });
        draw_tile(&mut svg, (cx, cy), row, w, px, |v| grey(v, lo, hi));
        let map = &ms[i * len..(i + 1) * len];
        draw_tile(&mut svg, (cx + tw + 6.0, cy), map, w, px, |v| {
            scaled(v, limit, diverging)
        });
        grid.caption(&mut svg, i, th, &captions[i]);
    }
    let labels = [format_sig(-limit), "0".to_string(), format_sig(limit)];
    grid.finish(&mut svg, &labels, diverging_bar);
    Ok(svg)
}

/// Non-negative per-pixel values, one `image = (height, width)` tile per row
/// of `values` (e.g. the mean `|attribution|` of each pixel over the samples
/// of each class), on one [`sequential`] scale (viridis) from 0 (dark) to the
/// largest value (bright), with `captions[i]` under tile `i`, a colour bar
/// and `legend` saying what the values are.
///
/// # Errors
/// As for [`attribution_maps`]; [`Error::InvalidArgument`] for a negative
/// value.
pub fn magnitude_tiles<T: Scalar>(
    values: &Tensor<T>,
    image: (usize, usize),
    captions: &[String],
    title: &str,
    legend: &str,
) -> Result<Svg> {
    const OP: &str = "magnitude_tiles";
    let n = check_tiles(OP, values, image)?;
    if captions.len() != n {
        return Err(Error::shape_mismatch(
            OP,
            &[n],
            &[captions.len()],
            "one caption per tile",
        ));
    }
    let vs: Vec<f64> = values.as_slice().iter().map(|v| v.as_f64()).collect();
    if let Some(v) = vs.iter().find(|v| **v < 0.0) {
        return Err(Error::invalid_arg(
            "magnitude_tiles value",
            v,
            "magnitudes must be ≥ 0 (draw signed values with attribution_maps)",
        ));
    }
    let (h, w) = image;
    let len = h * w;
    let max = max_abs(&vs);
    let px = pixel_size(h, w);
    let (tw, th) = (w as f64 * px, h as f64 * px);
    let cell_w = tw.max(widest(captions, TICK_FONT)) + 16.0;
    let note = format!(
        "One scale for all tiles: dark = 0, bright = {} (the largest value).",
        format_sig(max)
    );
    let (grid, mut svg) = Grid::start(n, (cell_w, th + 28.0), title, legend, &note);
    for i in 0..n {
        let (x, cy) = grid.origin(i);
        let tile = &vs[i * len..(i + 1) * len];
        draw_tile(&mut svg, (x + (cell_w - tw) / 2.0, cy), tile, w, px, |v| {
            scaled(v, max, sequential)
        });
        grid.caption(&mut svg, i, th, &captions[i]);
    }
    let labels = ["0".to_string(), format_sig(max / 2.0), format_sig(max)];
    grid.finish(&mut svg, &labels, sequential);
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::super::wellformed::check;
    use super::*;

    #[test]
    fn maps_pair_each_image_with_its_map_on_one_scale() {
        let x = Tensor::from_rows(&[[0.0f64, 1.0, 0.5, 0.0], [1.0, 0.0, 0.0, 1.0]]).unwrap();
        let a = Tensor::from_rows(&[[0.0f64, 2.0, -1.0, 0.0], [0.5, 0.0, 0.0, -2.0]]).unwrap();
        let caps = vec!["digit 0 <a>".to_string(), "digit 1".to_string()];
        let s = attribution_maps(&x, &a, (2, 2), &caps, "IG", "IG of the logit")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 16);
        assert_eq!(s.matches("class=\"frame\"").count(), 4);
        // Ink: 1 → black, 0 → white; 0.5 → mid grey.
        assert!(s.contains("fill=\"#000000\"") && s.contains("fill=\"#808080\""));
        // Shared limit 2: +2 darkest red, −2 darkest blue, −1 half-way blue.
        assert!(s.contains("fill=\"#67001f\"") && s.contains("fill=\"#053061\""));
        assert!(s.contains(&format!("fill=\"{}\"", diverging(-0.5))));
        assert!(s.contains(">-2</text>") && s.contains(">2</text>"));
        assert!(s.contains("digit 0 &lt;a&gt;") && s.contains("IG of the logit"));
        assert!(s.contains("Red:") && s.contains("raises") && s.contains("lowers"));
        let z = Tensor::<f64>::zeros(&[1, 4]).unwrap();
        let s = attribution_maps(&z, &z, (2, 2), &["z".into()], "t", "")
            .unwrap()
            .to_string();
        check(&s).unwrap();
    }

    #[test]
    fn magnitude_tiles_on_one_sequential_scale() {
        let v = Tensor::from_rows(&[[0.0f32, 1.0, 2.0, 4.0]]).unwrap();
        let s = magnitude_tiles(
            &v,
            (2, 2),
            &["class 0".into()],
            "mean |IG|",
            "mean |IG| per pixel",
        )
        .unwrap()
        .to_string();
        check(&s).unwrap();
        assert!(s.contains("fill=\"#440154\"") && s.contains("fill=\"#fde725\""));
        assert!(s.contains(">4</text>") && s.contains(">2</text>"));
        assert!(s.contains("mean |IG| per pixel"));
    }

    #[test]
    fn errors() {
        let x = Tensor::<f64>::zeros(&[2, 4]).unwrap();
        let caps = vec!["a".to_string(), "b".to_string()];
        assert!(attribution_maps(&x, &x, (2, 3), &caps, "", "").is_err());
        assert!(attribution_maps(&x, &x, (0, 4), &caps, "", "").is_err());
        assert!(attribution_maps(&x, &x, (2, 2), &caps[..1], "", "").is_err());
        let y = Tensor::<f64>::zeros(&[1, 4]).unwrap();
        assert!(attribution_maps(&x, &y, (2, 2), &caps[..1], "", "").is_err());
        assert!(
            attribution_maps(
                &Tensor::<f64>::zeros(&[0, 4]).unwrap(),
                &Tensor::zeros(&[0, 4]).unwrap(),
                (2, 2),
                &[],
                "",
                ""
            )
            .is_err()
        );
        let neg = Tensor::from_rows(&[[0.0f64, -1.0, 0.0, 0.0]]).unwrap();
        let e = magnitude_tiles(&neg, (2, 2), &["a".into()], "", "").unwrap_err();
        assert!(e.to_string().contains("≥ 0"), "{e}");
        assert!(magnitude_tiles(&y, (2, 2), &caps, "", "").is_err());
    }

    #[test]
    fn wrapping_keeps_words_whole() {
        let lines = wrap("one two three four five six", 60.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), "one two three four five six");
        assert!(wrap("", 100.0).is_empty());
    }
}
