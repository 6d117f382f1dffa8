//! Pictures of convolutional layers: the filters ([`filter_tiles`],
//! [`conv_filters`]) and the feature maps of one input ([`feature_map_tiles`],
//! [`feature_maps`]).
//!
//! A convolutional layer is recognised by its parameters, not its name: a
//! layer whose `"weight"` is 4-D, `[out_c, in_c/groups, kh, kw]` (PyTorch's
//! layout, which a user's own convolution will share).

use super::heatmap::{TileGrid, TileScale, TilesOptions};
use super::{Svg, grid};
use crate::error::shape_str;
use crate::{Error, Mode, Network, Result, Scalar, Tensor};

/// The 4-D weight of layer `layer`, or why there is none.
fn conv_weight<'a, T: Scalar>(
    net: &'a Network<T>,
    layer: usize,
    op: &'static str,
) -> Result<&'a Tensor<T>> {
    let n = net.layers().len();
    let l = net.layers().get(layer).ok_or_else(|| {
        Error::invalid_arg(
            "layer index",
            layer,
            format!("{op}: the network has {n} layers"),
        )
    })?;
    let mut weight = None;
    l.visit_params(&mut |p| {
        if p.name == "weight" && p.value.ndim() == 4 {
            weight = Some(&p.value);
        }
    });
    weight.ok_or_else(|| {
        Error::invalid_arg(
            "layer index",
            layer,
            format!(
                "{op}: layer {layer} is a {} without a 4-D weight [out_c, in_c, kh, kw]",
                l.kind()
            ),
        )
    })
}

/// Each filter of a convolution weight `[out_c, in_c, kh, kw]` as a
/// `kh × kw` tile: one tile per output channel *and* input channel, laid out
/// one row per output channel (one column per input channel) when there are
/// several input channels, else in a near-square grid. Tiles are captioned
/// `o` (one input channel) or `o,c`. Colours are the diverging map centred on
/// zero, with one scale per tile or one shared by all ([`TileScale`]); the
/// legend states which, and each per-tile limit is printed under its tile.
///
/// ```
/// use weightwise::{Tensor, svg::{self, TileScale, TilesOptions}};
/// # fn main() -> weightwise::Result<()> {
/// let w = Tensor::<f32>::from_vec((0..4 * 2 * 9).map(|k| (k as f32).sin()).collect(), &[4, 2, 3, 3])?;
/// let opts = TilesOptions { scale: TileScale::Shared };
/// let s = svg::filter_tiles(&w, "filters", &opts)?.to_string();
/// assert_eq!(s.matches("<rect class=\"cell\"").count(), 4 * 2 * 9);
/// assert!(s.contains("one colour scale for all tiles"));
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidShape`] unless the weight is 4-D with no zero dimension.
pub fn filter_tiles<T: Scalar>(
    weight: &Tensor<T>,
    title: &str,
    options: &TilesOptions,
) -> Result<Svg> {
    let [oc, ic, kh, kw] = match *weight.shape() {
        [a, b, c, d] if a * b * c * d > 0 => [a, b, c, d],
        _ => {
            return Err(Error::invalid_shape(
                "filter_tiles",
                weight.shape(),
                "expected a non-empty convolution weight [out_c, in_c, kh, kw]",
            ));
        }
    };
    let values: Vec<f64> = weight.as_slice().iter().map(|v| v.as_f64()).collect();
    let columns = if ic > 1 {
        ic
    } else {
        (oc as f64).sqrt().ceil() as usize
    };
    let grid = TileGrid {
        image: (kh, kw),
        columns,
        shared: options.scale == TileScale::Shared,
    };
    let caption = |i: usize| {
        if ic > 1 {
            format!("{},{}", i / ic, i % ic)
        } else {
            i.to_string()
        }
    };
    Ok(grid.draw(&values, title, &caption))
}

/// [`filter_tiles`] of the convolutional layer `layer` of `net`, titled with
/// the layer's index, kind, channels and kernel.
///
/// # Errors
/// [`Error::InvalidArgument`] if `layer` is out of range or has no 4-D `"weight"`.
pub fn conv_filters<T: Scalar>(
    net: &Network<T>,
    layer: usize,
    options: &TilesOptions,
) -> Result<Svg> {
    let w = conv_weight(net, layer, "conv_filters")?;
    let s = w.shape();
    let kind = net.layers()[layer].kind();
    let title = format!(
        "layer {layer} ({kind} {}→{}, {}×{}): each filter{}",
        s[1],
        s[0],
        s[2],
        s[3],
        if s[1] > 1 {
            " (tile o,c: output channel o, input channel c)"
        } else {
            " (tile o: output channel o)"
        }
    );
    filter_tiles(w, &title, options)
}

/// The feature maps of one sample, `[channels, h, w]` (or `[1, channels, h, w]`),
/// one `h × w` tile per channel, each on its own colour scale (printed under
/// it and stated in the legend): where in the image each channel responds.
///
/// # Errors
/// [`Error::InvalidShape`] for any other shape or an empty map.
pub fn feature_map_tiles<T: Scalar>(maps: &Tensor<T>, title: &str) -> Result<Svg> {
    let (c, h, w) = match *maps.shape() {
        [1, c, h, w] | [c, h, w] if c * h * w > 0 => (c, h, w),
        _ => {
            return Err(Error::invalid_shape(
                "feature_map_tiles",
                maps.shape(),
                "expected the maps of one sample, [channels, h, w] or [1, channels, h, w]",
            ));
        }
    };
    let values: Vec<f64> = maps.as_slice().iter().map(|v| v.as_f64()).collect();
    let grid = TileGrid {
        image: (h, w),
        columns: (c as f64).sqrt().ceil() as usize,
        shared: false,
    };
    Ok(grid.draw(&values, title, &|i| i.to_string()))
}

/// Runs one sample `x` (`[1, …]`, in inference mode) through `net` and draws
/// the input and, after every convolutional layer (a layer with a 4-D
/// `"weight"`), its feature maps ([`feature_map_tiles`]), side by side.
/// With `after_activation`, each convolution's maps are taken after the
/// element-wise layer that directly follows it (e.g. its ReLU), if any.
///
/// # Errors
/// [`Error::InvalidShape`] unless `x` holds one sample; any error of the
/// forward pass; [`Error::InvalidArgument`] if the network has no
/// convolutional layer.
pub fn feature_maps<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    after_activation: bool,
) -> Result<Svg> {
    if x.shape().first() != Some(&1) {
        return Err(Error::invalid_shape(
            "feature_maps",
            x.shape(),
            "expected one sample (batch dimension 1)",
        ));
    }
    let mut charts = Vec::new();
    if x.ndim() == 4 {
        let title = format!("input, {}", shape_str(&x.shape()[1..]));
        charts.push(feature_map_tiles(x, &title)?);
    }
    let is_conv: Vec<bool> = net
        .layers()
        .iter()
        .map(|l| {
            let mut c = false;
            l.visit_params(&mut |p| c |= p.name == "weight" && p.value.ndim() == 4);
            c
        })
        .collect();
    let is_act: Vec<bool> = net
        .layers()
        .iter()
        .map(|l| l.activation().is_some())
        .collect();
    let kinds: Vec<&'static str> = net.layers().iter().map(|l| l.kind()).collect();
    let mut y = x.clone();
    for i in 0..kinds.len() {
        y = net.layers_mut()[i].forward(&y, Mode::Eval)?.clone();
        let activation_follows = after_activation && is_act.get(i + 1) == Some(&true);
        let title = if is_conv[i] && !activation_follows {
            format!("layer {i} ({}), {}", kinds[i], shape_str(&y.shape()[1..]))
        } else if after_activation && is_act[i] && i > 0 && is_conv[i - 1] {
            let (c, a) = (kinds[i - 1], kinds[i]);
            format!(
                "layers {}–{i} ({c} → {a}), {}",
                i - 1,
                shape_str(&y.shape()[1..])
            )
        } else {
            continue;
        };
        charts.push(feature_map_tiles(&y, &title)?);
    }
    if charts.len() <= usize::from(x.ndim() == 4) {
        return Err(Error::invalid_arg(
            "feature_maps",
            "network",
            "the network has no convolutional layer (a layer with a 4-D weight)",
        ));
    }
    let columns = charts.len();
    Ok(grid(charts, columns))
}

#[cfg(test)]
mod tests {
    use super::super::wellformed::check;
    use super::*;

    fn ramp(shape: &[usize]) -> Tensor<f64> {
        let n: usize = shape.iter().product();
        Tensor::from_vec((0..n).map(|k| (k as f64 * 0.7).sin()).collect(), shape).unwrap()
    }

    #[test]
    fn one_tile_per_output_and_input_channel() {
        let per_tile = filter_tiles(&ramp(&[3, 2, 3, 2]), "f", &TilesOptions::default())
            .unwrap()
            .to_string();
        check(&per_tile).unwrap();
        assert_eq!(
            per_tile.matches("<rect class=\"cell\"").count(),
            3 * 2 * 3 * 2
        );
        // Captions name output,input channel and each tile's own limit.
        assert!(per_tile.contains(">2,1 ±"), "{per_tile}");
        assert!(per_tile.contains("each tile on its own scale"));
        let shared = TilesOptions {
            scale: TileScale::Shared,
        };
        let one_in = filter_tiles(&ramp(&[5, 1, 3, 3]), "f", &shared)
            .unwrap()
            .to_string();
        assert!(one_in.contains(">4</text>"));
        assert!(one_in.contains("one colour scale for all tiles"));
        for bad in [&[3, 3, 3][..], &[0, 1, 3, 3], &[2, 1, 3, 3, 1]] {
            assert!(filter_tiles(&Tensor::<f64>::zeros(bad).unwrap(), "f", &shared).is_err());
        }
    }

    #[test]
    fn feature_map_tiles_take_one_sample() {
        let s = feature_map_tiles(&ramp(&[1, 4, 5, 6]), "maps")
            .unwrap()
            .to_string();
        check(&s).unwrap();
        assert_eq!(s.matches("<rect class=\"cell\"").count(), 4 * 5 * 6);
        assert_eq!(
            feature_map_tiles(&ramp(&[4, 5, 6]), "maps")
                .unwrap()
                .to_string(),
            s
        );
        assert!(feature_map_tiles(&ramp(&[2, 4, 5, 6]), "maps").is_err());
        assert!(feature_map_tiles(&ramp(&[5, 6]), "maps").is_err());
    }
}
