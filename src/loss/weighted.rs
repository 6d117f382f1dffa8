//! Per-sample weights on any loss with an unreduced form.

use super::{LossFn, Reduction};
use crate::{Error, Result, Scalar, Tensor};

/// A loss over a batch whose samples carry weights `w` (shape `[n]`, one
/// per row of `pred`), from the loss's [`LossFn::unreduced`] form and
/// reduced as the loss reduces ([`LossFn::reduction`]):
///
/// ```text
/// Mean: Σ_i w_i·Σ_j ℓ_ij / (m·Σ_i w_i)       Sum: Σ_i w_i·Σ_j ℓ_ij
/// ```
///
/// where `ℓ_ij` are sample `i`'s `m` unreduced losses (one for
/// cross-entropy, one per output for the element-wise losses). With equal
/// weights this is the loss itself; the mean is PyTorch's weighted mean (as
/// `CrossEntropyLoss(weight=…)` divides by the weights' sum). A batch whose
/// weights sum to 0 has loss 0 and a zero gradient under `Mean`. `losses` is
/// scratch memory the caller keeps.
///
/// ```
/// use weightwise::{loss::{Loss, weighted_loss_and_grad}, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let pred = Tensor::from_rows(&[[1.0], [3.0]])?;
/// let target = Tensor::from_slice(&[0.0, 0.0]);
/// let w = Tensor::from_slice(&[3.0, 1.0]);
/// let (mut losses, mut grad) = (Tensor::default(), Tensor::default());
/// let l = weighted_loss_and_grad(&Loss::mse(), &pred, &target, &w, &mut losses, &mut grad)?;
/// assert_eq!(l, (3.0 * 1.0 + 1.0 * 9.0) / 4.0);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As for [`LossFn::unreduced`]; [`Error::ShapeMismatch`] when `w` is not
/// `[n]` or the unreduced losses do not have `n` rows.
pub fn weighted_loss_and_grad<T: Scalar>(
    loss: &dyn LossFn<T>,
    pred: &Tensor<T>,
    target: &Tensor<T>,
    weights: &Tensor<T>,
    losses: &mut Tensor<T>,
    grad: &mut Tensor<T>,
) -> Result<T> {
    const OP: &str = "weighted loss";
    let n = pred.shape().first().copied().unwrap_or(0);
    if weights.shape() != [n] {
        return Err(Error::shape_mismatch(
            OP,
            pred.shape(),
            weights.shape(),
            "one sample weight per row of the prediction: weights [n]",
        ));
    }
    loss.unreduced(pred, target, losses, grad)?;
    if losses.shape().first() != Some(&n) || grad.shape() != pred.shape() {
        return Err(Error::shape_mismatch(
            OP,
            pred.shape(),
            losses.shape(),
            "LossFn::unreduced must give n rows of losses and a gradient of the prediction's shape",
        ));
    }
    let per_loss = losses.len() / n.max(1);
    let per_grad = grad.len() / n.max(1);
    let mut total = 0.0f64;
    for (row, &w) in losses
        .as_slice()
        .chunks(per_loss.max(1))
        .zip(weights.as_slice())
    {
        total += w.as_f64() * row.iter().map(|v| v.as_f64()).sum::<f64>();
    }
    let (value, scale) = match loss.reduction() {
        Reduction::Sum => (total, 1.0),
        Reduction::Mean => {
            let w_sum: f64 = weights.as_slice().iter().map(|w| w.as_f64()).sum();
            if w_sum == 0.0 {
                grad.fill(T::zero());
                return Ok(T::zero());
            }
            let denom = w_sum * per_loss as f64;
            (total / denom, 1.0 / denom)
        }
    };
    for (row, &w) in grad
        .as_mut_slice()
        .chunks_mut(per_grad.max(1))
        .zip(weights.as_slice())
    {
        let s = w * T::from_f64(scale);
        row.iter_mut().for_each(|g| *g *= s);
    }
    Ok(T::from_f64(value))
}
