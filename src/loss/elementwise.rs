//! The driver shared by the element-wise losses, and the helpers of their
//! messages.

use crate::{Error, Result, Scalar, Tensor};

/// Multi-index of flat offset `i` in `shape`, for messages: `[1, 0]`.
pub(crate) fn position(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            idx[d] = i % n;
            i /= n;
        }
    }
    format!("{idx:?}")
}

/// The `[n]`-element mean an empty prediction cannot have.
pub(crate) fn empty_batch(name: &'static str, shape: &[usize]) -> Error {
    Error::invalid_shape(
        name,
        shape,
        "empty batch: a mean over zero elements is undefined",
    )
}

/// Where a built-in loss puts its result: reduced by mean or sum, or
/// unreduced into a tensor (the returned value is then the sum).
pub(crate) enum Out<'a, T> {
    Mean,
    Sum,
    None(&'a mut Tensor<T>),
}

/// Whether `target` holds exactly `pred`'s elements in order: the same
/// shape, or `[n, 1]` against `[n]` (a one-output network's column).
pub(crate) fn same_elements(pred: &[usize], target: &[usize]) -> bool {
    pred == target || matches!((pred, target), ([n, 1], [m]) | ([m], [n, 1]) if n == m)
}

/// The message for a target that does not fit an element-wise loss.
fn target_hint(pred: &[usize]) -> &'static str {
    match pred {
        [_, 1] => {
            "the target must have the prediction's shape, or be a plain column [n] for a one-output network"
        }
        [_, _] => {
            "the target must have the prediction's shape: one column per network output \
             (Dataset::from_csv_targets reads several target columns)"
        }
        _ => "the target must have the prediction's shape",
    }
}

/// The driver of every element-wise loss: checks that `pred` and `target`
/// hold the same non-empty elements, resizes `grad`, and for each element
/// calls `f(pred_i, target_i, i)`, which returns `(ℓ_i, ∂ℓ_i/∂pred_i)`.
/// Returns the mean (or sum) of `ℓ` (summed in `f64`) and writes `∂ℓ_i/∂pred_i`
/// (divided by `N` for the mean) into `grad`; unreduced, writes `ℓ` into the
/// output tensor (the prediction's shape) and returns the sum.
pub(crate) fn elementwise<T: Scalar>(
    name: &'static str,
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
    mut f: impl FnMut(T, T, usize) -> Result<(T, T)>,
) -> Result<T> {
    if !same_elements(pred.shape(), target.shape()) {
        return Err(Error::shape_mismatch(
            name,
            pred.shape(),
            target.shape(),
            target_hint(pred.shape()),
        ));
    }
    let n = pred.len();
    if n == 0 {
        return Err(empty_batch(name, pred.shape()));
    }
    grad.resize_zeroed(pred.shape());
    let mean = matches!(out, Out::Mean);
    let scale = if mean {
        T::one() / T::from_usize(n)
    } else {
        T::one()
    };
    let mut losses = match out {
        Out::None(l) => {
            l.resize_zeroed(pred.shape());
            Some(l)
        }
        _ => None,
    };
    let mut total = 0.0f64;
    let pairs = pred.as_slice().iter().zip(target.as_slice());
    for (i, (g, (&x, &y))) in grad.as_mut_slice().iter_mut().zip(pairs).enumerate() {
        let (value, d) = f(x, y, i)?;
        total += value.as_f64();
        *g = d * scale;
        if let Some(l) = losses.as_deref_mut() {
            l.as_mut_slice()[i] = value;
        }
    }
    Ok(T::from_f64(if mean { total / n as f64 } else { total }))
}
