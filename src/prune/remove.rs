//! Physically removing pruned units: a smaller network that computes the
//! same function.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use crate::inspect::importance::dense_weights;
use crate::layer::Mode;
use crate::layer::dense::Dense;
use crate::{Error, Layer, Network, Result, Scalar, Tensor};

/// What [`remove_pruned_units`] did.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitRemoval {
    /// For each dense layer that lost units: its index and the removed
    /// units (rows of its weight, in the old numbering).
    pub removed: Vec<(usize, Vec<usize>)>,
    /// Trainable scalars before.
    pub params_before: usize,
    /// Trainable scalars after.
    pub params_after: usize,
    /// The largest `|y_new − y_old|` over a probe batch of 16 inputs drawn
    /// uniformly from `[−1, 1]` (seeded): rounding only.
    pub max_output_change: f64,
}

/// A linear layer's weight and bias, copied.
struct DenseParts<T> {
    layer: usize,
    weight: Tensor<T>,
    bias: Option<Tensor<T>>,
    /// Whether the layer is exactly `y = x·Wᵀ (+ b)`: its parameters are its
    /// weight matrix and at most a `"bias"` of one entry per row, so a
    /// [`Dense`] can take its place.
    rebuildable: bool,
}

fn parts<T: Scalar>(net: &Network<T>) -> Vec<DenseParts<T>> {
    dense_weights(net)
        .into_iter()
        .map(|(layer, w)| {
            let (mut bias, mut others) = (None, 0);
            net.layers()[layer].visit_params(&mut |p| {
                if p.name == "bias" && p.value.shape() == [w.shape()[0]] {
                    bias = Some(p.value.clone());
                } else if !std::ptr::eq(&p.value, w) {
                    others += 1;
                }
            });
            DenseParts {
                layer,
                weight: w.clone(),
                bias,
                rebuildable: others == 0,
            }
        })
        .collect()
}

/// The rows `rows` and columns `cols` of a `[r, c]` matrix.
fn select<T: Scalar>(m: &Tensor<T>, rows: &[usize], cols: &[usize]) -> Result<Tensor<T>> {
    let c = m.shape()[1];
    let data = rows
        .iter()
        .flat_map(|&r| cols.iter().map(move |&j| m.as_slice()[r * c + j]))
        .collect();
    Tensor::from_vec(data, &[rows.len(), cols.len()])
}

fn pick<T: Scalar>(v: &Tensor<T>, idx: &[usize]) -> Tensor<T> {
    Tensor::from_slice(&idx.iter().map(|&i| v.as_slice()[i]).collect::<Vec<_>>())
}

/// Removes the units of every linear layer (one that declares its
/// [`weight_matrix`](crate::Layer::weight_matrix), such as [`Dense`]; all
/// but the last) that cannot
/// influence the output, and returns what changed: a unit whose incoming
/// weights (its row) are all zero, as [`ln_structured`](super::ln_structured)
/// with `dim = 0` leaves it, or whose outgoing weights (its column in the
/// next dense layer) are all zero. The layers shrink, the output does not
/// change.
///
/// A unit with zero incoming weights still outputs a constant: its bias,
/// passed through the layers between it and the next dense layer. That
/// constant times the unit's outgoing weights is added to the next layer's
/// bias (a bias is created if it had none), so the outputs stay the same.
/// Those in-between layers must therefore be element-wise and parameter-free
/// (activations, dropout); a layer with per-unit parameters or state, such
/// as batch norm, between two dense layers stops the removal with an error.
/// At least one unit of every layer is kept. Masks shrink with their
/// parameters, so pruned weights stay pruned.
///
/// The result is verified: the old and new networks are run on a probe batch
/// and, should they differ beyond rounding (a custom layer in between that
/// is not element-wise), the old layers are put back and an error returned.
/// The optimizer's state no longer fits the smaller parameters: start a new
/// optimizer (or `reset` it) before training on.
///
/// ```
/// use weightwise::{Activation, Network, Tensor, layer::dense::Dense, prune};
/// # fn main() -> weightwise::Result<()> {
/// let mut net = Network::<f64>::new(2)?;
/// // Unit 1 has no incoming weights: it always outputs relu(0.5) = 0.5.
/// let w1 = Tensor::from_rows(&[[1.0, 2.0], [0.0, 0.0], [-1.0, 1.0]])?;
/// net.push(Box::new(Dense::from_weights(w1, Some(Tensor::from_slice(&[0.0, 0.5, 0.0])))?))?;
/// net.push(Box::new(Activation::relu()))?;
/// let w2 = Tensor::from_rows(&[[1.0, 4.0, -1.0]])?;
/// net.push(Box::new(Dense::from_weights(w2, Some(Tensor::from_slice(&[1.0])))?))?;
/// let x = Tensor::from_rows(&[[0.3, -0.2], [1.0, 2.0]])?;
/// let before = net.predict(&x)?;
/// let done = prune::remove_pruned_units(&mut net)?;
/// assert_eq!(done.removed, vec![(0, vec![1])]);
/// assert_eq!((done.params_before, done.params_after), (13, 9));
/// assert_eq!(net.tensor("2.bias")?.as_slice(), &[3.0]); // 1 + 4·0.5
/// assert_eq!(net.predict(&x)?, before);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidState`] if a layer with parameters or buffers, or one
/// that changes the width, sits between two dense layers where units would
/// be removed, or if the verification fails. Nothing changes on error.
pub fn remove_pruned_units<T: Scalar>(net: &mut Network<T>) -> Result<UnitRemoval> {
    const OP: &str = "remove_pruned_units";
    let dense = parts(net);
    let params_before = net.num_params();
    let count = dense.len();
    // keep[a]: the rows of dense layer a that stay; fold[a]: added to its bias.
    let mut keep: Vec<Vec<usize>> = dense
        .iter()
        .map(|d| (0..d.weight.shape()[0]).collect())
        .collect();
    let mut fold: Vec<Option<Vec<f64>>> = vec![None; count];
    let mut removed = Vec::new();
    for a in 0..count.saturating_sub(1) {
        let (units, inputs) = dense[a].weight.dims2(OP)?;
        let next = &dense[a + 1].weight;
        let (outs, next_in) = next.dims2(OP)?;
        let w = dense[a].weight.as_slice();
        let dead_in = |j: usize| {
            w[j * inputs..(j + 1) * inputs]
                .iter()
                .all(|v| *v == T::zero())
        };
        let dead_out = |j: usize| {
            next_in == units && (0..outs).all(|r| next.as_slice()[r * next_in + j] == T::zero())
        };
        let mut gone: Vec<usize> = (0..units).filter(|&j| dead_in(j) || dead_out(j)).collect();
        if gone.len() == units {
            gone.remove(0);
        }
        if gone.is_empty() {
            continue;
        }
        if let Some(d) = [&dense[a], &dense[a + 1]]
            .into_iter()
            .find(|d| !d.rebuildable)
        {
            return Err(Error::invalid_state(
                OP,
                format!(
                    "layer {} ({}) has parameters besides its weight matrix and bias: it cannot \
                     be rebuilt with fewer units",
                    d.layer,
                    net.layers()[d.layer].kind()
                ),
            ));
        }
        let between = dense[a].layer + 1..dense[a + 1].layer;
        for i in between.clone() {
            let l = &net.layers()[i];
            let mut buffers = 0;
            l.visit_buffers(&mut |_, _| buffers += 1);
            let same_width = l.output_shape(&[1, units]).ok().as_deref() == Some(&[1, units][..]);
            if l.num_params() > 0 || buffers > 0 || !same_width {
                return Err(Error::invalid_state(
                    OP,
                    format!(
                        "layer {i} ({}) between dense layers {} and {} has per-unit parameters or \
                         state, or changes the width: its units cannot be removed",
                        l.kind(),
                        dense[a].layer,
                        dense[a + 1].layer
                    ),
                ));
            }
        }
        if next_in != units {
            return Err(Error::invalid_state(
                OP,
                format!(
                    "dense layer {} takes {next_in} inputs, layer {} gives {units}",
                    dense[a + 1].layer,
                    dense[a].layer
                ),
            ));
        }
        // The constant output of each unit with no incoming weights.
        let mut c = dense[a]
            .bias
            .clone()
            .unwrap_or(Tensor::zeros(&[units])?)
            .reshape(&[1, units])?;
        for i in between {
            c = net.layers_mut()[i].forward(&c, Mode::Eval)?.clone();
        }
        let mut add = vec![0.0f64; outs];
        for &j in gone.iter().filter(|&&j| dead_in(j)) {
            let cj = c.as_slice()[j].as_f64();
            for (r, s) in add.iter_mut().enumerate() {
                let wv = next.as_slice()[r * next_in + j].as_f64();
                if wv != 0.0 {
                    *s += wv * cj;
                }
            }
        }
        if add.iter().any(|v| *v != 0.0) {
            fold[a + 1] = Some(add);
        }
        keep[a].retain(|j| !gone.contains(j));
        removed.push((dense[a].layer, gone));
    }
    if removed.is_empty() {
        return Ok(UnitRemoval {
            removed,
            params_before,
            params_after: params_before,
            max_output_change: 0.0,
        });
    }

    // New layers and masks, built before anything changes.
    let mut new_layers: Vec<(usize, Box<dyn Layer<T>>)> = Vec::new();
    let mut masks = net.masks_ref().clone();
    for (a, d) in dense.iter().enumerate() {
        let all_cols: Vec<usize> = (0..d.weight.shape()[1]).collect();
        let cols = if a == 0 { &all_cols } else { &keep[a - 1] };
        let rows = &keep[a];
        if rows.len() == d.weight.shape()[0] && cols.len() == all_cols.len() && fold[a].is_none() {
            continue;
        }
        let weight = select(&d.weight, rows, cols)?;
        let mut bias = d.bias.as_ref().map(|b| pick(b, rows));
        if let Some(add) = &fold[a] {
            let b = bias.get_or_insert(Tensor::zeros(&[rows.len()])?);
            for (v, &r) in b.as_mut_slice().iter_mut().zip(rows) {
                *v = T::from_f64(v.as_f64() + add[r]);
            }
        }
        if let Some(m) = net.masks_ref().get(d.layer, "weight") {
            masks.set(d.layer, "weight", select(m, rows, cols)?);
        }
        if let Some(m) = net.masks_ref().get(d.layer, "bias") {
            masks.set(d.layer, "bias", pick(m, rows));
        }
        new_layers.push((d.layer, Box::new(Dense::from_weights(weight, bias)?)));
    }

    let dist = Uniform::new(-1.0, 1.0).map_err(|e| Error::invalid_state(OP, e.to_string()))?;
    let mut shape = vec![16];
    shape.extend_from_slice(net.input_shape());
    let probe: Tensor<f64> = Tensor::random(&shape, &dist, &mut StdRng::seed_from_u64(0x7072))?;
    let probe: Tensor<T> = probe.cast();
    let before = net.predict(&probe)?;
    let old_masks = net.replace_masks(masks);
    let mut old_layers = Vec::new();
    for (i, layer) in new_layers {
        old_layers.push((i, std::mem::replace(&mut net.layers_mut()[i], layer)));
    }
    let after = net.predict(&probe);
    let change = after.as_ref().map(|a| {
        a.as_slice()
            .iter()
            .zip(before.as_slice())
            .map(|(x, y)| (x.as_f64() - y.as_f64()).abs())
            .fold(0.0, f64::max)
    });
    let scale = 1.0 + before.max_abs().as_f64();
    let tolerance = T::epsilon().as_f64().sqrt() * 1e-2 * scale;
    match change {
        Ok(c) if c <= tolerance => Ok(UnitRemoval {
            removed,
            params_before,
            params_after: net.num_params(),
            max_output_change: c,
        }),
        other => {
            for (i, layer) in old_layers {
                net.layers_mut()[i] = layer;
            }
            net.replace_masks(old_masks);
            Err(Error::invalid_state(
                OP,
                match other {
                    Ok(c) => format!(
                        "the smaller network's outputs differ by {c:.3e} on a probe batch \
                         (a layer between dense layers is not element-wise); nothing was removed"
                    ),
                    Err(e) => format!("the smaller network failed on a probe batch: {e}"),
                },
            ))
        }
    }
}
