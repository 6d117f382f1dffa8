//! `Network::compute_gradients`: one forward pass, a loss and the backward pass,
//! for hand-written training loops.

use crate::layer::Mode;
use crate::loss::LossFn;
use crate::{Network, Result, Scalar, Tensor};

impl<T: Scalar> Network<T> {
    /// One forward pass in training mode, the loss, and the backward pass:
    /// afterwards every parameter's gradient holds `∂loss/∂param` (gradients
    /// are zeroed first), except that pruned weights get a zero gradient
    /// ([`Network::mask_gradients`]). Returns the loss.
    ///
    /// The loss gradient `∂loss/∂output` is computed into a tensor allocated
    /// per call; [`Network::train_on_batch`] is the allocation-free step.
    ///
    /// # Errors
    /// Shape errors from the layers or the loss.
    pub fn compute_gradients(
        &mut self,
        x: &Tensor<T>,
        target: &Tensor<T>,
        loss: &dyn LossFn<T>,
    ) -> Result<T> {
        self.zero_grad();
        let mut g = Tensor::default();
        let value = {
            let y = self.forward(x, Mode::Train)?;
            loss.loss_and_grad(y, target, &mut g)?
        };
        self.backward_params(&g)?;
        self.mask_gradients();
        Ok(value)
    }
}
