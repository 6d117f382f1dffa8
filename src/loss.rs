//! Losses: how wrong a prediction is, and which way to move.
//!
//! A [`LossFn`] returns the loss (a mean, see each variant) and its gradient
//! with respect to the prediction.

use crate::{Result, Scalar, Tensor};

/// A loss function with its hand-written gradient.
pub trait LossFn<T: Scalar>: std::fmt::Debug {
    /// The loss, and `∂loss/∂pred` written into `grad` (which is resized, its
    /// memory reused).
    ///
    /// # Errors
    /// A shape error when `target` does not fit `pred`, an invalid argument
    /// for bad targets (a class index out of range), an empty batch.
    fn loss_and_grad(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        grad: &mut Tensor<T>,
    ) -> Result<T>;

    /// The loss alone.
    ///
    /// # Errors
    /// As for [`LossFn::loss_and_grad`].
    fn loss(&self, pred: &Tensor<T>, target: &Tensor<T>) -> Result<T> {
        let mut grad = Tensor::default();
        self.loss_and_grad(pred, target, &mut grad)
    }
}
