//! Softmax over the classes of each sample, and the row-wise helpers the
//! losses share.
//!
//! For a batch `x` of shape `[batch, classes]`, row by row (PyTorch
//! `nn.Softmax(dim=1)`):
//!
//! ```text
//! yᵢⱼ = e^(xᵢⱼ − mᵢ) / Σₖ e^(xᵢₖ − mᵢ),   mᵢ = maxₖ xᵢₖ
//! ∂L/∂xᵢⱼ = yᵢⱼ·(dyᵢⱼ − Σₖ dyᵢₖ·yᵢₖ)
//! ```
//!
//! Subtracting the row maximum changes nothing mathematically (softmax is
//! invariant to adding a constant to a row) but keeps every exponent ≤ 0, so
//! nothing overflows and the largest term is exactly 1. The backward formula
//! is the Jacobian `diag(y) − y·yᵀ` applied to `dy` without forming it.
//!
//! **For classification, do not end the network with this layer.** Feed the
//! logits to the fused softmax cross-entropy loss (`Loss::softmax_cross_entropy`
//! in [`crate::loss`]), which computes `log_softmax` directly (no `ln` of a
//! rounded-to-zero probability) and whose gradient is simply `y − onehot`.
//! This layer is for when probabilities are needed in the middle of a network
//! (attention-like weighting, mixtures) or at prediction time.
//!
//! A row containing `+∞`, or only `−∞`, gives NaN, as in PyTorch.

use crate::layer::{Layer, Mode, check_backward};
use crate::{Error, Result, Scalar, Tensor};

/// The row maximum, ignoring nothing: a NaN anywhere makes the row's result
/// NaN later through `exp(NaN − m)`.
fn row_max<T: Scalar>(row: &[T]) -> T {
    row.iter().fold(T::neg_infinity(), |m, &v| m.max(v))
}

/// Checks that `x` is a 2-D batch and shapes `out` like it (reusing memory).
fn prepare<T: Scalar>(op: &'static str, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<usize> {
    let (_, c) = x.dims2(op)?;
    out.assign(x);
    Ok(c)
}

/// Row-wise softmax of a 2-D tensor into `out` (resized to `x`'s shape, its
/// memory reused): `out[i, j] = e^(x[i, j] − mᵢ) / Σₖ e^(x[i, k] − mᵢ)` with
/// `mᵢ` the row maximum. Every row of the result sums to 1.
///
/// ```
/// use weightwise::{layer::softmax::softmax_rows_into, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let x = Tensor::from_rows(&[[1.0f64, 1.0], [0.0, 1000.0]])?;
/// let mut p = Tensor::default();
/// softmax_rows_into(&x, &mut p)?;
/// assert_eq!(p.as_slice(), &[0.5, 0.5, 0.0, 1.0]); // no overflow at 1000
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidShape`] if `x` is not 2-D.
pub fn softmax_rows_into<T: Scalar>(x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
    let c = prepare("softmax", x, out)?;
    if c == 0 {
        return Ok(());
    }
    for row in out.as_mut_slice().chunks_exact_mut(c) {
        let m = row_max(row);
        let mut sum = T::zero();
        for v in row.iter_mut() {
            *v = (*v - m).exp();
            sum += *v;
        }
        let inv = T::one() / sum;
        row.iter_mut().for_each(|v| *v *= inv);
    }
    Ok(())
}

/// Row-wise log-softmax of a 2-D tensor into `out` (PyTorch
/// `log_softmax(dim=1)`): `out[i, j] = x[i, j] − mᵢ − ln Σₖ e^(x[i, k] − mᵢ)`,
/// i.e. `x − logsumexp(x)` per row, exact even where the probability
/// underflows (`log_softmax([0, 1000]) = [−1000, 0]`).
///
/// ```
/// use weightwise::{layer::softmax::log_softmax_rows_into, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let x = Tensor::from_rows(&[[0.0f64, 1000.0]])?;
/// let mut lp = Tensor::default();
/// log_softmax_rows_into(&x, &mut lp)?;
/// assert_eq!(lp.as_slice(), &[-1000.0, 0.0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidShape`] if `x` is not 2-D.
pub fn log_softmax_rows_into<T: Scalar>(x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
    let c = prepare("log_softmax", x, out)?;
    if c == 0 {
        return Ok(());
    }
    for row in out.as_mut_slice().chunks_exact_mut(c) {
        let m = row_max(row);
        let sum: T = row.iter().map(|&v| (v - m).exp()).sum();
        let shift = m + sum.ln();
        row.iter_mut().for_each(|v| *v -= shift);
    }
    Ok(())
}

/// Softmax over the last axis of a `[batch, classes]` batch (`nn.Softmax(dim=1)`).
///
/// See the [module docs](self) for the formulas, and for why classifiers
/// should use the fused softmax cross-entropy loss on logits instead.
///
/// ```
/// use weightwise::{gradcheck, layer::softmax::Softmax, Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut softmax = Softmax::new();
/// let x = Tensor::from_rows(&[[0.0f64, 0.0], [1.0, 3.0]])?;
/// let y = softmax.forward(&x, Mode::Eval)?;
/// assert_eq!(y.row(0)?, &[0.5, 0.5]);
/// // dx = y ⊙ (dy − Σ dy ⊙ y): for y = [½, ½], dy = [1, 0]: Σ = ½, dx = [¼, −¼].
/// let dx = softmax.backward(&Tensor::from_rows(&[[1.0, 0.0], [0.0, 0.0]])?)?;
/// assert_eq!(dx.row(0)?, &[0.25, -0.25]);
/// assert!(gradcheck::layer(&mut softmax, &x)?.max_rel_error < 1e-6);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Softmax<T> {
    output: Tensor<T>,
    grad_input: Tensor<T>,
    ready: bool,
}

impl<T: Scalar> Softmax<T> {
    /// A softmax layer (it has no parameters).
    pub fn new() -> Self {
        Softmax {
            output: Tensor::default(),
            grad_input: Tensor::default(),
            ready: false,
        }
    }
}

impl<T: Scalar> Layer<T> for Softmax<T> {
    fn kind(&self) -> &'static str {
        "Softmax"
    }

    /// The input's shape, which must be `[batch, classes]`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for an input that is not 2-D.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        if input.len() == 2 {
            Ok(input.to_vec())
        } else {
            Err(Error::invalid_shape(
                "Softmax",
                input,
                "expected a 2-D batch [batch, classes]",
            ))
        }
    }

    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        self.output_shape(x.shape())?;
        softmax_rows_into(x, &mut self.output)?;
        self.ready = true;
        Ok(&self.output)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        check_backward("Softmax", self.ready.then_some(&self.output), dy)?;
        let (_, c) = self.output.dims2("Softmax")?;
        self.grad_input.assign(dy);
        if c == 0 {
            return Ok(&self.grad_input);
        }
        let rows = self
            .grad_input
            .as_mut_slice()
            .chunks_exact_mut(c)
            .zip(self.output.as_slice().chunks_exact(c));
        for (g, y) in rows {
            let s: T = g.iter().zip(y).map(|(&d, &p)| d * p).sum();
            for (d, &p) in g.iter_mut().zip(y) {
                *d = p * (*d - s);
            }
        }
        Ok(&self.grad_input)
    }
}
