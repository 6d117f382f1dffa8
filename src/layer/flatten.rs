//! [`Flatten`]: `[n, d1, d2, …]` → `[n, d1·d2·…]`, PyTorch's `nn.Flatten()`
//! (`start_dim=1`). The elements keep their row-major order, so an NCHW
//! feature map becomes a row ordered by channel, then row, then column, as in
//! PyTorch: a `Dense` layer after it has PyTorch's weight layout.

use crate::layer::{Layer, LayerConfig, Mode, check_backward};
use crate::{Error, Result, Scalar, Tensor};

/// `[n, d1·…]` for `[n, d1, …]` (no allocation: training calls it every step).
fn flat_shape(input: &[usize]) -> Result<[usize; 2]> {
    match input {
        [n, rest @ ..] if !rest.is_empty() => {
            let width = rest
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .ok_or_else(|| {
                    Error::invalid_shape("Flatten", input, "the row width overflows usize")
                })?;
            Ok([*n, width])
        }
        _ => Err(Error::invalid_shape(
            "Flatten",
            input,
            "expected a batch dimension and at least one more",
        )),
    }
}

/// Flattens every dimension after the batch one; see the [module docs](self).
///
/// ```
/// use weightwise::layer::flatten::Flatten;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut flat = Flatten::<f32>::new();
/// let x = Tensor::zeros(&[8, 32, 7, 7])?;
/// assert_eq!(flat.forward(&x, Mode::Eval)?.shape(), &[8, 1568]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Flatten<T> {
    /// The input shape of the last forward pass; empty before one.
    in_shape: Vec<usize>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Scalar> Flatten<T> {
    /// A flatten layer.
    pub fn new() -> Self {
        Flatten {
            in_shape: Vec::new(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// Rebuilds the layer from its model-file description
    /// `Flatten(start_dim=1, end_dim=-1)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for other dimensions.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        if config.usize("start_dim")? != 1 {
            return Err(config.unsupported("start_dim", "1"));
        }
        match config.get("end_dim") {
            Some(&crate::layer::ConfigValue::Int(-1)) => Ok(Box::new(Self::new())),
            _ => Err(config.unsupported("end_dim", "-1")),
        }
    }
}

impl<T: Scalar> Layer<T> for Flatten<T> {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    /// `[n, d1, …]` → `[n, d1·…]`; the input needs a batch dimension and at least one more.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        flat_shape(input).map(Vec::from)
    }

    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        let shape = flat_shape(x.shape())?;
        out.assign_from(x.as_slice(), &shape);
        Ok(())
    }

    /// `Flatten(start_dim=1, end_dim=-1)`.
    fn config(&self) -> Option<LayerConfig> {
        Some(
            LayerConfig::new("Flatten")
                .with("start_dim", 1usize)
                .with("end_dim", -1i64),
        )
    }

    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        let shape = flat_shape(x.shape())?;
        self.output.assign_from(x.as_slice(), &shape);
        self.in_shape.clear();
        self.in_shape.extend_from_slice(x.shape());
        Ok(&self.output)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        let has_forward = !self.in_shape.is_empty();
        check_backward("Flatten backward", has_forward.then_some(&self.output), dy)?;
        self.grad_input.assign_from(dy.as_slice(), &self.in_shape);
        Ok(&self.grad_input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck;

    #[test]
    fn keeps_row_major_order_and_restores_the_shape() {
        let mut flat = Flatten::<f64>::new();
        let x = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 2, 2]).unwrap();
        let y = flat.forward(&x, Mode::Train).unwrap();
        assert_eq!(y.shape(), &[2, 12]);
        assert_eq!(y.as_slice(), x.as_slice());
        let dy = Tensor::from_vec((0..24).map(|i| f64::from(i) * 0.5).collect(), &[2, 12]).unwrap();
        let dx = flat.backward(&dy).unwrap();
        assert_eq!(dx.shape(), &[2, 3, 2, 2]);
        assert_eq!(dx.as_slice(), dy.as_slice());
        let r = gradcheck::layer(&mut flat, &x).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
        assert_eq!(flat.output_shape(&[5, 7]).unwrap(), vec![5, 7]);
    }

    #[test]
    fn errors() {
        let mut flat = Flatten::<f64>::new();
        assert!(flat.backward(&Tensor::ones(&[1, 1]).unwrap()).is_err());
        assert!(
            flat.forward(&Tensor::ones(&[3]).unwrap(), Mode::Train)
                .is_err()
        );
        assert!(flat.output_shape(&[]).is_err());
        assert!(flat.output_shape(&[2, usize::MAX, 2]).is_err());
        flat.forward(&Tensor::ones(&[2, 2, 2]).unwrap(), Mode::Train)
            .unwrap();
        let before = flat.clone();
        assert!(flat.backward(&Tensor::ones(&[2, 3]).unwrap()).is_err());
        assert!(
            flat.forward(&Tensor::ones(&[3]).unwrap(), Mode::Train)
                .is_err()
        );
        assert_eq!(flat, before);
        assert_eq!(flat.kind(), "Flatten");
    }
}
