//! Weight matrices as coloured cells: [`heatmap`] and [`tiles`].

use std::fmt::Write as _;

use super::axis::{LABEL_FONT, TICK_FONT, colorbar, diverging_bar, index_axes};
use super::color::{MISSING, diverging};
use super::scale::format_sig;
use super::{Anchor, Svg, escape, num, text_width, widest};
use crate::{Error, Result, Scalar, Tensor};

/// Cells up to this count get a hover tooltip with their value.
const TOOLTIP_CELLS: usize = 10_000;

/// The largest finite `|v|`, or 0.
fn max_abs(values: &[f64]) -> f64 {
    values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0, |m, v| m.max(v.abs()))
}

/// Fill colour of `v` on the symmetric scale `±limit` (white when the limit
/// is 0, i.e. every value is zero; grey for non-finite values).
fn cell_color(v: f64, limit: f64) -> String {
    if !v.is_finite() {
        MISSING.to_string()
    } else if limit > 0.0 {
        diverging(v / limit).to_string()
    } else {
        diverging(0.0).to_string()
    }
}

/// One `<rect class="cell">`, with a `<title>` tooltip if given.
fn cell(svg: &mut Svg, (x, y, w, h): (f64, f64, f64, f64), fill: &str, tip: Option<String>) {
    let mut s = format!(
        "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"",
        num(x),
        num(y),
        num(w),
        num(h)
    );
    match tip {
        Some(t) => {
            let _ = write!(s, "><title>{}</title></rect>", escape(&t));
        }
        None => s.push_str("/>"),
    }
    svg.push(&s);
}

/// The colour-bar labels `[−limit, 0, +limit]`.
fn limit_labels(limit: f64) -> [String; 3] {
    [format_sig(-limit), "0".into(), format_sig(limit)]
}

/// A 2-D matrix (e.g. a dense layer's weights, `out × in`) as a grid of
/// coloured cells: row `i` drawn top to bottom, column `j` left to right, as
/// matplotlib's `imshow`. Colours come from the [`diverging`] map with
/// symmetric limits `±max|w|` (over the finite entries), so zero is white,
/// negative blue and positive red; non-finite entries are grey. Row and
/// column indices label the axes (every 1st, 2nd, 5th, 10th, … when there are
/// many) and a colour bar shows the numeric range. Up to 10 000 cells carry
/// their value as a hover tooltip.
///
/// Cells are square, 1 to 32 pixels, so that the longer side is about 480
/// pixels (a single row or column is stretched to stay visible).
///
/// ```
/// use weightwise::{Tensor, svg};
/// # fn main() -> weightwise::Result<()> {
/// let w = Tensor::from_rows(&[[0.5f64, -1.0], [0.0, 2.0], [1.5, -0.5]])?;
/// let s = svg::heatmap(&w, "weights", "input j", "unit i")?.to_string();
/// assert_eq!(s.matches("<rect class=\"cell\"").count(), 6);
/// assert!(svg::heatmap(&Tensor::<f64>::zeros(&[3])?, "", "", "").is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidShape`] if the tensor is not 2-D or has no elements.
pub fn heatmap<T: Scalar>(
    matrix: &Tensor<T>,
    title: &str,
    x_label: &str,
    y_label: &str,
) -> Result<Svg> {
    let (rows, cols) = matrix.dims2("heatmap")?;
    if rows == 0 || cols == 0 {
        return Err(Error::invalid_shape(
            "heatmap",
            matrix.shape(),
            "the matrix is empty",
        ));
    }
    let values: Vec<f64> = matrix.as_slice().iter().map(|v| v.as_f64()).collect();
    let limit = max_abs(&values);
    let side = (480.0 / rows.max(cols) as f64).clamp(1.0, 32.0);
    let (cw, ch) = (side.max(40.0 / cols as f64), side.max(40.0 / rows as f64));
    let (pw, ph) = (cw * cols as f64, ch * rows as f64);

    let row_label_w = text_width(&(rows - 1).to_string(), TICK_FONT);
    let (px, py) = (16.0 + LABEL_FONT + 10.0 + row_label_w + 8.0, 48.0);
    let bar_x = px + pw + 24.0;
    let bar_len = ph.max(120.0);
    let labels = limit_labels(limit);
    let label_w = widest(&labels, TICK_FONT);
    let has_missing = values.iter().any(|v| !v.is_finite());
    let note = "grey: non-finite";
    let mut width = bar_x + 14.0 + 7.0 + label_w + 16.0;
    if has_missing {
        width = width.max(bar_x + text_width(note, TICK_FONT) + 16.0);
    }
    let width = width
        .max(text_width(title, 16.0) + 32.0)
        .max(px + pw / 2.0 + text_width(x_label, LABEL_FONT) / 2.0 + 16.0);
    let bottom = (py + ph + 18.0 + 28.0).max(py + bar_len + if has_missing { 28.0 } else { 0.0 });
    let mut svg = Svg::new(width, bottom + 14.0, title);
    svg.title_text(title);

    svg.push("<g shape-rendering=\"crispEdges\">");
    for (k, &v) in values.iter().enumerate() {
        let (i, j) = (k / cols, k % cols);
        let tip = (values.len() <= TOOLTIP_CELLS).then(|| format!("[{i}, {j}] = {v}"));
        let rect = (px + j as f64 * cw, py + i as f64 * ch, cw, ch);
        cell(&mut svg, rect, &cell_color(v, limit), tip);
    }
    svg.push("</g>");
    svg.rect(px, py, pw, ph, "none", " stroke=\"#999999\"");

    index_axes(
        &mut svg,
        (px, py, pw, ph),
        (rows, cols),
        (cw, ch),
        x_label,
        y_label,
    );
    colorbar(&mut svg, (bar_x, py), bar_len, true, &labels, diverging_bar);
    if has_missing {
        svg.text(
            bar_x,
            py + bar_len + 22.0,
            note,
            TICK_FONT,
            Anchor::Start,
            "",
        );
    }
    Ok(svg)
}

/// A tile whose largest `|w|` is below this fraction of the largest tile's
/// is drawn grey on per-tile scales: a unit with (almost) no input.
pub const DEAD_TILE: f64 = 0.01;

/// How [`tiles`] maps each tile's values to colours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TileScale {
    /// Each tile has its own symmetric limits `±max|w|` of that tile, printed
    /// under it: best for seeing each unit's pattern, even a weak one.
    /// A tile whose `max|w|` is under [`DEAD_TILE`] of the largest is drawn
    /// grey and captioned "dead", rather than blown up to full colour.
    #[default]
    PerTile,
    /// One limit `±max|w|` over all tiles: best for comparing units' strength.
    Shared,
}

/// Options for [`tiles_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TilesOptions {
    /// Colour limits per tile (the default) or shared by all.
    pub scale: TileScale,
}

/// [`tiles_with`] with the default options (a colour scale per tile).
///
/// # Errors
/// As [`tiles_with`].
pub fn tiles<T: Scalar>(
    rows_as_images: &Tensor<T>,
    image: (usize, usize),
    title: &str,
) -> Result<Svg> {
    tiles_with(rows_as_images, image, title, &TilesOptions::default())
}

/// Each row of a 2-D tensor reshaped (row-major) to an image of
/// `image = (height, width)` pixels and drawn as a small tile, the tiles laid
/// out in a near-square grid (`⌈√n⌉` columns) with the row index under each.
/// For a first dense layer on 8×8 inputs, each tile is what one unit "looks
/// for". Colours follow the [`diverging`] map, symmetric around zero, with
/// limits per tile or shared ([`TileScale`]); a colour bar explains them.
///
/// ```
/// use weightwise::{Tensor, svg::{self, TileScale, TilesOptions}};
/// # fn main() -> weightwise::Result<()> {
/// let w = Tensor::<f32>::from_vec((0..5 * 12).map(|k| (k as f32).sin()).collect(), &[5, 12])?;
/// let opts = TilesOptions { scale: TileScale::Shared };
/// let s = svg::tiles_with(&w, (3, 4), "units", &opts)?.to_string();
/// assert_eq!(s.matches("<rect class=\"cell\"").count(), 5 * 12);
/// assert!(svg::tiles(&w, (3, 3), "units").is_err()); // 12 ≠ 3·3
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidShape`] if the tensor is not 2-D, has no rows, or its row
/// length is not `height · width`; [`Error::InvalidArgument`] if either image
/// dimension is 0.
pub fn tiles_with<T: Scalar>(
    rows_as_images: &Tensor<T>,
    image: (usize, usize),
    title: &str,
    options: &TilesOptions,
) -> Result<Svg> {
    let (n, len) = rows_as_images.dims2("tiles")?;
    let (h, w) = image;
    if h == 0 || w == 0 {
        return Err(Error::invalid_arg(
            "tiles image size",
            format!("{h}×{w}"),
            "both dimensions must be ≥ 1",
        ));
    }
    if n == 0 {
        return Err(Error::invalid_shape(
            "tiles",
            rows_as_images.shape(),
            "there are no rows to draw",
        ));
    }
    if len != h * w {
        return Err(Error::invalid_shape(
            "tiles",
            rows_as_images.shape(),
            format!("each row has {len} values, a {h}×{w} image needs {}", h * w),
        ));
    }
    let values: Vec<f64> = rows_as_images
        .as_slice()
        .iter()
        .map(|v| v.as_f64())
        .collect();
    let columns = (n as f64).sqrt().ceil() as usize;
    let grid = TileGrid {
        image,
        columns,
        shared: options.scale == TileScale::Shared,
    };
    Ok(grid.draw(&values, title, &|i| i.to_string()))
}

/// The layout of a grid of image tiles: see [`tiles_with`].
pub(crate) struct TileGrid {
    /// `(height, width)` of one tile, in values.
    pub image: (usize, usize),
    /// Tiles per row of the grid.
    pub columns: usize,
    /// One colour scale for all tiles, else one per tile.
    pub shared: bool,
}

impl TileGrid {
    /// Draws `values` (whole tiles of `h·w` values, row-major, at least one)
    /// as tiles captioned `caption(index)` (with the tile's limit appended
    /// when each tile has its own scale), with a colour bar and a legend
    /// stating the scale.
    pub(crate) fn draw(
        &self,
        values: &[f64],
        title: &str,
        caption: &dyn Fn(usize) -> String,
    ) -> Svg {
        let (h, w) = self.image;
        let len = h * w;
        let n = values.len() / len;
        let shared = self.shared;
        let global = max_abs(values);
        let limits: Vec<f64> = values
            .chunks(len)
            .map(|r| if shared { global } else { max_abs(r) })
            .collect();
        // On per-tile scales a unit whose weights are all near zero would be
        // blown up to full colour: it is drawn grey, as the dead unit it is.
        let dead: Vec<bool> = limits
            .iter()
            .map(|&l| !shared && l < DEAD_TILE * global)
            .collect();
        let captions: Vec<String> = limits
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if shared {
                    caption(i)
                } else if dead[i] {
                    format!("{} dead ±{}", caption(i), format_sig(*l))
                } else {
                    format!("{} ±{}", caption(i), format_sig(*l))
                }
            })
            .collect();

        let px = (96.0 / h.max(w) as f64).clamp(1.0, 16.0);
        let (tw, th) = (w as f64 * px, h as f64 * px);
        let caption_w = widest(&captions, TICK_FONT);
        let (cell_w, cell_h) = (tw.max(caption_w) + 12.0, th + 26.0);
        let gcols = self.columns.clamp(1, n.max(1));
        let grows = n.div_ceil(gcols);
        let (x0, y0) = (16.0, 48.0);
        let grid_w = gcols as f64 * cell_w;

        let legend_y = y0 + grows as f64 * cell_h + 8.0;
        let bar_len = 200.0;
        let (labels, note) = if shared {
            (
                limit_labels(global),
                "one colour scale for all tiles: ±max|w|".to_string(),
            )
        } else {
            (
                ["-max|w|".into(), "0".into(), "+max|w|".into()],
                "each tile on its own scale ±max|w| (printed under it); \
                 grey: max|w| under 1% of the largest tile's (a dead unit)"
                    .to_string(),
            )
        };
        let width = (x0 + grid_w + 16.0)
            .max(x0 + 30.0 + bar_len + 40.0)
            .max(x0 + 30.0 + text_width(&note, TICK_FONT) + 16.0)
            .max(text_width(title, 16.0) + 32.0);
        let mut svg = Svg::new(width, legend_y + 14.0 + 17.0 + 26.0 + 12.0, title);
        svg.title_text(title);

        for (t, row) in values.chunks(len).enumerate() {
            let cx = x0 + (t % gcols) as f64 * cell_w + (cell_w - tw) / 2.0;
            let cy = y0 + (t / gcols) as f64 * cell_h;
            svg.push("<g shape-rendering=\"crispEdges\">");
            for (k, &v) in row.iter().enumerate() {
                let rect = (cx + (k % w) as f64 * px, cy + (k / w) as f64 * px, px, px);
                let color = if dead[t] {
                    MISSING.to_string()
                } else {
                    cell_color(v, limits[t])
                };
                cell(&mut svg, rect, &color, None);
            }
            svg.push("</g>");
            svg.rect(
                cx,
                cy,
                tw,
                th,
                "none",
                " class=\"frame\" stroke=\"#999999\"",
            );
            let mid = x0 + (t % gcols) as f64 * cell_w + cell_w / 2.0;
            svg.text(
                mid,
                cy + th + 15.0,
                &captions[t],
                TICK_FONT,
                Anchor::Middle,
                "",
            );
        }
        colorbar(
            &mut svg,
            (x0 + 30.0, legend_y),
            bar_len,
            false,
            &labels,
            diverging_bar,
        );
        svg.text(
            x0 + 30.0,
            legend_y + 14.0 + 17.0 + 20.0,
            &note,
            TICK_FONT,
            Anchor::Start,
            "",
        );
        svg
    }
}

#[cfg(test)]
mod tests {
    use super::super::wellformed::check;
    use super::*;

    macro_rules! for_scalars {
        ($($m:ident: $t:ty),*) => {$(
            mod $m {
                use super::*;

                #[test]
                fn heatmap_cells_labels_and_colours() {
                    // 3×4 with entries w[i][j] = i - j·0.5, max|w| = 2 at (2, 0).
                    let data: Vec<$t> = (0..12).map(|k| ((k / 4) as $t) - ((k % 4) as $t) * 0.5).collect();
                    let w = Tensor::from_vec(data, &[3, 4]).unwrap();
                    let s = heatmap(&w, "W <&> 'x'", "input", "unit").unwrap().to_string();
                    check(&s).unwrap();
                    assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
                    assert_eq!(s.matches("<rect class=\"cell\"").count(), 12);
                    assert!(s.contains(">W &lt;&amp;&gt; &apos;x&apos;</text>"));
                    for t in [">input</text>", ">unit</text>", ">-2</text>", ">2</text>", ">0</text>"] {
                        assert!(s.contains(t), "missing {t}");
                    }
                    // (0, 0) is zero → white; (2, 0) = +2 = +max → darkest red.
                    assert!(s.contains("fill=\"#ffffff\"><title>[0, 0] = 0</title>"));
                    assert!(s.contains("fill=\"#67001f\"><title>[2, 0] = 2</title>"));
                    // (0, 3) = -1.5 = -0.75·max → between the 2nd and 3rd blue anchors.
                    assert!(s.contains(&format!("fill=\"{}\"><title>[0, 3] = -1.5</title>", diverging(-0.75))));
                }

                #[test]
                fn tiles_count_cells_and_captions() {
                    let data: Vec<$t> = (0..7 * 6).map(|k| (k as $t) - 20.0).collect();
                    let w = Tensor::from_vec(data, &[7, 6]).unwrap();
                    let s = tiles(&w, (2, 3), "first layer").unwrap().to_string();
                    check(&s).unwrap();
                    assert_eq!(s.matches("<rect class=\"cell\"").count(), 42);
                    assert_eq!(s.matches("class=\"frame\"").count(), 7);
                    // Tile 0 is -20..-15 → its own limit 20; tile 6 is 16..21 → 21.
                    assert!(s.contains(">0 ±20</text>") && s.contains(">6 ±21</text>"));
                    assert!(s.contains("each tile on its own scale"));
                    let shared = TilesOptions { scale: TileScale::Shared };
                    let s = tiles_with(&w, (3, 2), "first layer", &shared).unwrap().to_string();
                    check(&s).unwrap();
                    // Shared limit = max|w| = 21; captions are bare indices.
                    assert!(s.contains(">-21</text>") && s.contains(">6</text>"));
                    assert!(s.contains("one colour scale"));
                }
            }
        )*};
    }
    for_scalars!(f32_tests: f32, f64_tests: f64);

    #[test]
    fn non_finite_and_all_zero() {
        let w = Tensor::from_rows(&[[0.0f64, f64::NAN], [f64::INFINITY, 1.0]]).unwrap();
        let s = heatmap(&w, "t", "x", "y").unwrap().to_string();
        check(&s).unwrap();
        assert_eq!(s.matches(&format!("fill=\"{MISSING}\"")).count(), 2);
        assert!(s.contains("grey: non-finite"));
        let z = Tensor::<f32>::zeros(&[2, 2]).unwrap();
        let s = heatmap(&z, "t", "x", "y").unwrap().to_string();
        assert_eq!(s.matches("fill=\"#ffffff\"").count(), 4);
    }

    #[test]
    fn many_rows_thin_the_labels() {
        let w = Tensor::<f32>::zeros(&[200, 3]).unwrap();
        let s = heatmap(&w, "t", "x", "y").unwrap().to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 600);
        // 200 rows over 480 px: step 10 gives 20 labels of 16 px = 320 ≤ 480.
        assert!(s.contains(">190</text>") && !s.contains(">195</text>"));
    }

    #[test]
    fn errors() {
        let e = heatmap(&Tensor::<f64>::zeros(&[2, 2, 2]).unwrap(), "", "", "").unwrap_err();
        assert!(e.to_string().contains("heatmap") && e.to_string().contains("2×2×2"));
        let e = heatmap(&Tensor::<f64>::zeros(&[0, 3]).unwrap(), "", "", "").unwrap_err();
        assert!(e.to_string().contains("empty"));
        let w = Tensor::<f64>::zeros(&[4, 6]).unwrap();
        let e = tiles(&w, (2, 2), "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "tiles: shape 4×6 is invalid: each row has 6 values, a 2×2 image needs 4"
        );
        assert!(matches!(
            tiles(&w, (0, 6), ""),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(tiles(&Tensor::<f64>::zeros(&[0, 4]).unwrap(), (2, 2), "").is_err());
        assert!(tiles(&Tensor::<f64>::zeros(&[6]).unwrap(), (2, 3), "").is_err());
    }
}
