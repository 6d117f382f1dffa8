//! Pictures of a network: its weights, their histograms, the activations of
//! a batch and the importance of its inputs, drawn with the charts of this
//! module ([`tiles`], [`heatmap`], [`histograms`]).
//!
//! Titles name the layer, its kind and its shape, so a saved file says what
//! it shows.

use super::attribution::wrap;
use super::axis::{LABEL_FONT, TICK_FONT, colorbar, diverging_bar, index_axes};
use super::color::{diverging, scaled, sequential};
use super::histogram::histograms_spanning;
use super::scale::format_sig;
use super::{Anchor, Svg, heatmap, histograms, num, text_width, tiles, widest};
use crate::error::shape_str;
use crate::inspect::ActivationReport;
use crate::layer::activation::ActivationKind;
use crate::{Error, Network, Result, Scalar, Tensor};

/// The weight matrix `[units, inputs]` of the layer at index `layer`
/// ([`Layer::weight_matrix`](crate::Layer::weight_matrix)), with the layer's kind.
fn dense_weight<'a, T: Scalar>(
    net: &'a Network<T>,
    layer: usize,
    op: &'static str,
) -> Result<(&'a Tensor<T>, &'static str)> {
    let n = net.layers().len();
    let l = net.layers().get(layer).ok_or_else(|| {
        Error::invalid_arg(
            "layer index",
            layer,
            format!("{op}: the network has {}", crate::error::count(n, "layer")),
        )
    })?;
    match l.weight_matrix() {
        Some(p) if p.value.ndim() == 2 => Ok((&p.value, l.kind())),
        _ => Err(Error::invalid_arg(
            "layer index",
            layer,
            format!(
                "{op}: layer {layer} ({}) has no weight matrix [out, in] (Layer::weight_matrix)",
                l.kind()
            ),
        )),
    }
}

/// `"layer 0 (Dense 64→32)"`.
fn layer_name<T: Scalar>(w: &Tensor<T>, kind: &str, layer: usize) -> String {
    let s = w.shape();
    format!("layer {layer} ({kind} {}→{})", s[1], s[0])
}

/// Each unit's incoming weights (a row of the dense layer's `[units,
/// inputs]` weight) reshaped row-major to an `image = (height, width)`
/// picture, one tile per unit: the classic view of what each unit of a first
/// layer looks for in, say, 8×8 digits. Each tile has its own colour limits
/// `±max│w│` (printed under it), blue negative, red positive; see [`tiles`].
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use weightwise::{prelude::*, svg};
/// # fn main() -> weightwise::Result<()> {
/// let net = Network::<f32>::builder(64)
///     .dense(16, Init::he_normal()).relu()
///     .dense(10, Init::xavier_uniform())
///     .build(&mut StdRng::seed_from_u64(0))?;
/// let s = svg::unit_tiles(&net, 0, (8, 8))?.to_string();
/// assert!(s.contains("layer 0 (Dense 64→16)"));
/// assert!(svg::unit_tiles(&net, 1, (8, 8)).is_err()); // a ReLU
/// assert!(svg::unit_tiles(&net, 0, (7, 9)).is_err()); // 63 ≠ 64 inputs
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if `layer` is out of range, is not a dense
/// layer, or an image side is 0; [`Error::ShapeMismatch`] if `height · width`
/// differs from the layer's inputs.
pub fn unit_tiles<T: Scalar>(net: &Network<T>, layer: usize, image: (usize, usize)) -> Result<Svg> {
    let (w, kind) = dense_weight(net, layer, "unit_tiles")?;
    let (h, wd) = image;
    if h == 0 || wd == 0 {
        return Err(Error::invalid_arg(
            "unit_tiles image size",
            format!("{h}×{wd}"),
            "both sides must be ≥ 1",
        ));
    }
    if h * wd != w.shape()[1] {
        return Err(Error::shape_mismatch(
            "unit_tiles",
            w.shape(),
            &[h, wd],
            "the image must have as many pixels as the layer has inputs",
        ));
    }
    let title = format!(
        "{}: each unit's incoming weights as {h}×{wd} images",
        layer_name(w, kind, layer)
    );
    tiles(w, image, &title)
}

/// The dense layer's weight `[units, inputs]` as a heatmap: one row per unit,
/// one column per input, on a diverging colour scale centred on zero (blue
/// negative, white zero, red positive) with a colour bar; see [`heatmap`].
///
/// # Errors
/// [`Error::InvalidArgument`] if `layer` is out of range or not a dense layer.
pub fn weight_heatmap<T: Scalar>(net: &Network<T>, layer: usize) -> Result<Svg> {
    let (w, kind) = dense_weight(net, layer, "weight_heatmap")?;
    let title = format!(
        "{} weight, {} (unit × input)",
        layer_name(w, kind, layer),
        shape_str(w.shape())
    );
    heatmap(w, &title, "input", "unit")
}

/// One histogram panel per parameter (`0.weight`, `0.bias`, …), side by
/// side, each titled with the parameter's name, layer kind and shape and
/// showing its count, mean and (population) std; `bins` equal-width bins.
///
/// # Errors
/// [`Error::InvalidState`] if the network has no parameters;
/// [`Error::InvalidArgument`] if `bins` is 0.
pub fn weight_histograms<T: Scalar>(net: &Network<T>, bins: usize) -> Result<Svg> {
    let mut panels = Vec::new();
    net.visit_params(&mut |i, p| {
        let kind = net.layers()[i].kind();
        panels.push((
            format!("{i}.{} ({kind}, {})", p.name, shape_str(p.value.shape())),
            p.value.as_slice().iter().map(|v| v.as_f64()).collect(),
        ));
    });
    if panels.is_empty() {
        return Err(Error::invalid_state(
            "weight_histograms",
            "the network has no parameters",
        ));
    }
    histograms(&panels, bins, "Weights of every parameter")
}

/// One histogram panel per layer of an [`ActivationReport`] (the outputs for
/// its batch), titled with the layer's index, kind and output shape. Sigmoid
/// panels always span `[0, 1]` and tanh panels `[−1, 1]`, the functions'
/// whole ranges, so saturation shows as bars at the ends and a collapse as
/// one narrow spike in the middle (the pictures of Deep Learning from
/// Scratch, ch. 6); other panels span their data. To show
/// only the activation layers, filter a copy first:
/// `report.layers.retain(|l| l.activation.is_some())`.
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use rand_distr::StandardNormal;
/// use weightwise::{prelude::*, svg};
/// # fn main() -> weightwise::Result<()> {
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut net = Network::<f64>::builder(20)
///     .dense(20, Init::normal(0.0, 1.0)).sigmoid()
///     .dense(20, Init::normal(0.0, 1.0)).sigmoid()
///     .build(&mut rng)?;
/// let x = Tensor::random(&[100, 20], &StandardNormal, &mut rng)?;
/// let mut report = net.activation_report(&x, 20)?;
/// report.layers.retain(|l| l.activation.is_some());
/// let s = svg::activation_histograms(&report, 20)?.to_string();
/// assert!(s.contains("layer 1 Sigmoid (100×20)"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if the report has no layers or `bins` is 0.
pub fn activation_histograms(report: &ActivationReport, bins: usize) -> Result<Svg> {
    if report.layers.is_empty() {
        return Err(Error::invalid_arg(
            "activation report layers",
            0,
            "activation_histograms needs at least one layer",
        ));
    }
    let panels: Vec<(String, Vec<f64>)> = report
        .layers
        .iter()
        .map(|l| {
            (
                format!(
                    "layer {} {} ({})",
                    l.layer,
                    l.layer_kind,
                    shape_str(&l.shape)
                ),
                l.values.clone(),
            )
        })
        .collect();
    let spans: Vec<Option<(f64, f64)>> = report
        .layers
        .iter()
        .map(|l| match l.activation {
            Some(ActivationKind::Sigmoid) => Some((0.0, 1.0)),
            Some(ActivationKind::Tanh) => Some((-1.0, 1.0)),
            _ => None,
        })
        .collect();
    let title = format!(
        "Activations for a batch of {} ({:?} mode)",
        report.batch, report.mode
    );
    histograms_spanning(&panels, &spans, bins, &title)
}

/// One value per input pixel (e.g. from
/// [`weight_path_importance`](crate::inspect::weight_path_importance) or
/// [`first_layer_norms`](crate::inspect::first_layer_norms)) drawn as an
/// `image = (height, width)` picture, row-major, with row and column indices,
/// a colour bar and, under the picture, `legend`: what the values mean (a
/// bare range of numbers says nothing). Non-negative values, as importances
/// are, use the [`sequential`](super::sequential) map (viridis) from 0,
/// dark, to the largest value, bright; if any value is negative the
/// [`diverging`](super::diverging) map centred on zero is used instead, with
/// limits `±max|v|`. Non-finite values are grey; each pixel carries its value
/// as a tooltip.
///
/// ```
/// use weightwise::svg;
/// # fn main() -> weightwise::Result<()> {
/// let legend = "share of all |W| paths from the pixel";
/// let s = svg::importance_image(&[0.1, 0.4, 0.2, 0.3], (2, 2), "importance", legend)?.to_string();
/// assert_eq!(s.matches("<rect class=\"cell\"").count(), 4);
/// assert!(s.contains(legend));
/// assert!(svg::importance_image(&[0.1, 0.4, 0.2], (2, 2), "importance", legend).is_err());
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if an image side is 0; [`Error::ShapeMismatch`]
/// if `values` does not have `height · width` entries.
pub fn importance_image(
    values: &[f64],
    image: (usize, usize),
    title: &str,
    legend: &str,
) -> Result<Svg> {
    let (h, w) = image;
    if h == 0 || w == 0 {
        return Err(Error::invalid_arg(
            "importance_image size",
            format!("{h}×{w}"),
            "both sides must be ≥ 1",
        ));
    }
    if values.len() != h * w {
        return Err(Error::shape_mismatch(
            "importance_image",
            &[values.len()],
            &[h, w],
            "one value per pixel is needed",
        ));
    }
    Ok(value_image(values, image, title, legend))
}

/// The picture of [`importance_image`].
fn value_image(values: &[f64], (h, w): (usize, usize), title: &str, legend: &str) -> Svg {
    let signed = values.iter().any(|v| *v < 0.0);
    let max = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(if signed { v.abs() } else { *v }));
    let map = if signed { diverging } else { sequential };
    let side = (320.0 / h.max(w) as f64).clamp(2.0, 40.0);
    let (pw, ph) = (side * w as f64, side * h as f64);
    let row_label_w = text_width(&(h - 1).to_string(), TICK_FONT);
    let (px, py) = (16.0 + LABEL_FONT + 10.0 + row_label_w + 8.0, 48.0);
    let bar_x = px + pw + 24.0;
    let bar_len = ph.max(120.0);
    let labels = if signed {
        [format_sig(-max), "0".to_string(), format_sig(max)]
    } else {
        ["0".to_string(), format_sig(max / 2.0), format_sig(max)]
    };
    let label_w = widest(&labels, TICK_FONT);
    let width = (bar_x + 14.0 + 7.0 + label_w + 16.0)
        .max(text_width(title, 16.0) + 32.0)
        .max(360.0);
    let lines = wrap(legend, width - 32.0);
    let legend_y = (py + ph + 60.0).max(py + bar_len + 16.0);
    let height = legend_y + 18.0 * lines.len() as f64 + 8.0;
    let mut svg = Svg::new(width, height, title);
    svg.title_text(title);

    svg.push("<g shape-rendering=\"crispEdges\">");
    for (k, &v) in values.iter().enumerate() {
        let (i, j) = (k / w, k % w);
        svg.push(&format!(
            "<rect class=\"cell\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>[{i}, {j}] = {v}</title></rect>",
            num(px + j as f64 * side),
            num(py + i as f64 * side),
            num(side),
            num(side),
            scaled(v, max, map)
        ));
    }
    svg.push("</g>");
    svg.rect(px, py, pw, ph, "none", " stroke=\"#999999\"");
    let bar_map = if signed { diverging_bar } else { sequential };
    colorbar(&mut svg, (bar_x, py), bar_len, true, &labels, bar_map);
    index_axes(
        &mut svg,
        (px, py, pw, ph),
        (h, w),
        (side, side),
        "column",
        "row",
    );
    for (k, line) in lines.iter().enumerate() {
        svg.text(
            16.0,
            legend_y + 18.0 * k as f64,
            line,
            TICK_FONT,
            Anchor::Start,
            "",
        );
    }
    svg
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::StandardNormal;

    use super::super::wellformed::check;
    use super::*;
    use crate::inspect::weight_path_importance;
    use crate::layer::dense::Dense;
    use crate::{Activation, Init};

    fn net() -> Network<f64> {
        Network::<f64>::builder(12)
            .dense(5, Init::he_normal())
            .relu()
            .dense(3, Init::xavier_normal())
            .build(&mut StdRng::seed_from_u64(3))
            .unwrap()
    }

    #[test]
    fn unit_tiles_one_tile_per_unit() {
        let s = unit_tiles(&net(), 0, (3, 4)).unwrap().to_string();
        check(&s).unwrap();
        // 5 units of 12 pixels.
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 5 * 12);
        assert!(s.contains(
            "<title>layer 0 (Dense 12→5): each unit&apos;s incoming weights as 3×4 images</title>"
        ));
        // The second dense layer has 5 inputs: a 1×5 strip per unit.
        let s = unit_tiles(&net(), 2, (1, 5)).unwrap().to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 3 * 5);
        assert!(s.contains("layer 2 (Dense 5→3)"));
    }

    #[test]
    fn heatmap_names_layer_shape_and_axes() {
        let s = weight_heatmap(&net(), 2).unwrap().to_string();
        check(&s).unwrap();
        assert!(s.contains("layer 2 (Dense 5→3) weight, 3×5 (unit × input)"));
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 15);
        assert!(s.contains(">input</text>") && s.contains(">unit</text>"));
    }

    #[test]
    fn weight_histograms_one_panel_per_parameter() {
        let s = weight_histograms(&net(), 10).unwrap().to_string();
        check(&s).unwrap();
        for name in [
            "0.weight (Dense, 5×12)",
            "0.bias (Dense, 5)",
            "2.weight (Dense, 3×5)",
            "2.bias (Dense, 3)",
        ] {
            assert!(s.contains(name), "{name}");
        }
        assert!(s.contains("Weights of every parameter"));
    }

    #[test]
    fn activation_histograms_one_panel_per_layer() {
        let mut n = net();
        let x = Tensor::random(&[30, 12], &StandardNormal, &mut StdRng::seed_from_u64(4)).unwrap();
        let report = n.activation_report(&x, 10).unwrap();
        let s = activation_histograms(&report, 10).unwrap().to_string();
        check(&s).unwrap();
        assert!(s.contains("Activations for a batch of 30 (Eval mode)"));
        for name in [
            "layer 0 Dense (30×5)",
            "layer 1 ReLU (30×5)",
            "layer 2 Dense (30×3)",
        ] {
            assert!(s.contains(name), "{name}");
        }
        // The audit's forward pass draws the same way.
        let audit = n.audit_init(&x).unwrap();
        let s = activation_histograms(&audit.activations, 10)
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert!(s.contains("(Train mode)"));
    }

    #[test]
    fn sigmoid_panels_span_zero_to_one() {
        // Tiny weights: every sigmoid output is within 0.01 of ½, yet the axis
        // still runs 0.0, 0.5, 1.0 (its ticks are labelled with one decimal).
        let mut n = Network::<f64>::builder(10)
            .dense(10, Init::normal(0.0, 0.001))
            .sigmoid()
            .build(&mut StdRng::seed_from_u64(5))
            .unwrap();
        let x = Tensor::random(&[20, 10], &StandardNormal, &mut StdRng::seed_from_u64(6)).unwrap();
        let mut r = n.activation_report(&x, 10).unwrap();
        r.layers.retain(|l| l.activation.is_some());
        assert!(r.layers[0].stats.max - r.layers[0].stats.min < 0.02);
        let s = activation_histograms(&r, 10).unwrap().to_string();
        check(&s).unwrap();
        assert!(
            s.contains(">0.0</text>") && s.contains(">1.0</text>"),
            "{s}"
        );
    }

    #[test]
    fn importance_image_draws_one_cell_per_pixel() {
        let mut n = Network::<f64>::new(4).unwrap();
        let w = Tensor::from_rows(&[[1.0, 0.0, 2.0, 1.0]]).unwrap();
        n.push(Box::new(Dense::from_weights(w, None).unwrap()))
            .unwrap();
        n.push(Box::new(Activation::sigmoid())).unwrap();
        let v = weight_path_importance(&n).unwrap();
        let s = importance_image(&v, (2, 2), "input importance", "share of |W| paths")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 4);
        // [1, 0, 2, 1]/4: the tooltip of pixel (1, 0) reads 0.5, drawn in the
        // brightest viridis colour (#fde725); pixel (0, 1), 0, in the darkest (#440154).
        assert!(
            s.contains("fill=\"#fde725\"><title>[1, 0] = 0.5</title>"),
            "{s}"
        );
        assert!(
            s.contains("fill=\"#440154\"><title>[0, 1] = 0</title>"),
            "{s}"
        );
        assert!(s.contains("<title>input importance</title>"));
        // The colour bar is labelled 0, 0.25 and 0.5; the axes row and column.
        assert!(s.contains(">0.25</text>") && s.contains(">0.5</text>"));
        assert!(s.contains(">row</text>") && s.contains(">column</text>"));
        // Negative values fall back to the diverging heatmap; NaN is grey.
        let s = importance_image(&[-1.0, 1.0], (1, 2), "signed", "")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert!(s.contains("fill=\"#053061\""), "{s}"); // dark blue for −1
        let s = importance_image(&[f64::NAN, 0.0], (1, 2), "nan", "")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert!(
            s.contains("fill=\"#b0b0b0\"><title>[0, 0] = NaN</title>"),
            "{s}"
        );
    }

    #[test]
    fn errors() {
        let n = net();
        let e = unit_tiles(&n, 1, (3, 4)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid layer index = 1: unit_tiles: layer 1 (ReLU) has no weight matrix [out, in] (Layer::weight_matrix)"
        );
        let e = unit_tiles(&n, 7, (3, 4)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid layer index = 7: unit_tiles: the network has 3 layers"
        );
        let e = unit_tiles(&n, 0, (3, 3)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unit_tiles: left is 5×12, right is 3×3 (the image must have as many pixels as the layer has inputs)"
        );
        assert!(matches!(
            unit_tiles(&n, 0, (0, 12)).unwrap_err(),
            Error::InvalidArgument { .. }
        ));
        assert!(weight_heatmap(&n, 1).is_err());
        assert!(weight_heatmap(&n, 3).is_err());
        assert!(matches!(
            weight_histograms(&n, 0).unwrap_err(),
            Error::InvalidArgument { .. }
        ));
        let mut bare = Network::<f64>::new(2).unwrap();
        bare.push(Box::new(Activation::relu())).unwrap();
        assert!(matches!(
            weight_histograms(&bare, 5).unwrap_err(),
            Error::InvalidState { .. }
        ));
        let x = Tensor::from_rows(&[[1.0, 2.0]]).unwrap();
        let mut report = bare.activation_report(&x, 5).unwrap();
        assert!(activation_histograms(&report, 0).is_err());
        report.layers.clear();
        assert!(activation_histograms(&report, 5).is_err());
        assert!(importance_image(&[1.0, 2.0], (0, 2), "", "").is_err());
        let e = importance_image(&[1.0, 2.0, 3.0], (2, 2), "", "").unwrap_err();
        assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    }
}
