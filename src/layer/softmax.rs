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

use crate::layer::{Layer, LayerConfig, Mode, check_backward};
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

impl<T: Scalar> Softmax<T> {
    /// Rebuilds the layer from its model-file description `Softmax(dim=1)`
    /// (`-1` is the same axis for a 2-D batch).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for another `dim`.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        match config.get("dim") {
            Some(&crate::layer::ConfigValue::Int(1 | -1)) => Ok(Box::new(Softmax::new())),
            _ => Err(config.unsupported("dim", "1 (softmax over each row)")),
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

    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        softmax_rows_into(x, out)
    }

    /// `Softmax(dim=1)`: over each row's classes.
    fn config(&self) -> Option<LayerConfig> {
        Some(LayerConfig::new("Softmax").with("dim", 1i64))
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

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::Uniform;

    use super::*;
    use crate::gradcheck;

    macro_rules! typed_tests {
        ($name:ident, $t:ty, $tol:expr) => {
            mod $name {
                use super::*;
                type T = $t;

                fn t(rows: &[&[f64]]) -> Tensor<T> {
                    let rows: Vec<Vec<T>> = rows
                        .iter()
                        .map(|r| r.iter().map(|&v| T::from_f64(v)).collect())
                        .collect();
                    Tensor::from_rows(&rows).unwrap()
                }

                fn close(got: &Tensor<T>, want: &[f64]) {
                    assert_eq!(got.len(), want.len());
                    for (g, w) in got.as_slice().iter().zip(want) {
                        assert!(
                            (g.as_f64() - w).abs() <= $tol * w.abs().max(1.0),
                            "got {got:?}, want {want:?}"
                        );
                    }
                }

                #[test]
                fn forward_values_and_stability() {
                    // softmax(1, 2, 3) = eᵏ/(e + e² + e³), k = 1, 2, 3; adding 1000 to the
                    // row changes nothing; [−1000, 0, 1000] gives e⁻²⁰⁰⁰, e⁻¹⁰⁰⁰ → 0 and 1.
                    let x = t(&[
                        &[1.0, 2.0, 3.0],
                        &[1001.0, 1002.0, 1003.0],
                        &[-1000.0, 0.0, 1000.0],
                    ]);
                    let mut layer = Softmax::<T>::new();
                    let y = layer.forward(&x, Mode::Train).unwrap();
                    let p = [
                        0.090_030_573_170_380_46,
                        0.244_728_471_054_797_64,
                        0.665_240_955_774_821_9,
                    ];
                    close(y, &[p[0], p[1], p[2], p[0], p[1], p[2], 0.0, 0.0, 1.0]);
                    for row in y.iter_rows().unwrap() {
                        let s: f64 = row.iter().map(|v| v.as_f64()).sum();
                        assert!((s - 1.0).abs() < $tol);
                    }
                }

                #[test]
                fn log_softmax_values() {
                    // logsumexp(1, 2, 3) = 3 + ln(1 + e⁻¹ + e⁻²) = 3.40760596444438, so
                    // log_softmax = x − 3.40760596444438; the third row is exact: x − 1000.
                    let x = t(&[&[1.0, 2.0, 3.0], &[-1000.0, 0.0, 1000.0]]);
                    let mut out = Tensor::default();
                    log_softmax_rows_into(&x, &mut out).unwrap();
                    let l = 3.407_605_964_444_38;
                    close(&out, &[1.0 - l, 2.0 - l, 3.0 - l, -2000.0, -1000.0, 0.0]);
                    // exp(log_softmax) = softmax.
                    let mut p = Tensor::default();
                    softmax_rows_into(&x, &mut p).unwrap();
                    close(
                        &out.map(|v| v.exp()),
                        &p.as_slice().iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
                    );
                }

                #[test]
                fn backward_by_hand() {
                    // y = softmax(0, 0) = [½, ½], dy = [1, 0]: Σ dy⊙y = ½, dx = y⊙(dy − ½) = [¼, −¼].
                    // A constant dy has zero gradient: dx = y⊙(c − c) = 0.
                    let mut layer = Softmax::<T>::new();
                    layer
                        .forward(&t(&[&[0.0, 0.0], &[0.3, -2.0]]), Mode::Train)
                        .unwrap();
                    let dx = layer.backward(&t(&[&[1.0, 0.0], &[5.0, 5.0]])).unwrap();
                    close(dx, &[0.25, -0.25, 0.0, 0.0]);
                }

                #[test]
                fn errors_empty_and_buffer_reuse() {
                    let mut layer = Softmax::<T>::new();
                    let dy = Tensor::<T>::ones(&[2, 3]).unwrap();
                    assert!(matches!(
                        layer.backward(&dy),
                        Err(Error::InvalidState { op: "Softmax", .. })
                    ));
                    let x = Tensor::<T>::zeros(&[2, 3]).unwrap();
                    let p1 = layer.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let p2 = layer.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    assert_eq!(p1, p2, "output buffer reused");
                    let g1 = layer.backward(&dy).unwrap().as_slice().as_ptr();
                    let g2 = layer.backward(&dy).unwrap().as_slice().as_ptr();
                    assert_eq!(g1, g2, "input-gradient buffer reused");
                    let err = layer
                        .backward(&Tensor::<T>::ones(&[2, 2]).unwrap())
                        .unwrap_err();
                    assert!(
                        matches!(err, Error::ShapeMismatch { op: "Softmax", .. }),
                        "{err}"
                    );
                    let err = layer
                        .forward(&Tensor::<T>::ones(&[3]).unwrap(), Mode::Train)
                        .unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "Softmax: shape 3 is invalid: expected a 2-D batch [batch, classes]"
                    );
                    assert!(layer.output_shape(&[2, 3, 4]).is_err());
                    assert_eq!(layer.output_shape(&[5, 10]).unwrap(), vec![5, 10]);
                    let mut out = Tensor::default();
                    let err = softmax_rows_into(&Tensor::<T>::ones(&[2, 2, 2]).unwrap(), &mut out)
                        .unwrap_err();
                    assert!(matches!(err, Error::InvalidShape { op: "softmax", .. }));
                    assert!(
                        log_softmax_rows_into(&Tensor::<T>::ones(&[4]).unwrap(), &mut out).is_err()
                    );
                    // Empty batches and empty rows pass through.
                    for shape in [[0usize, 3], [2, 0]] {
                        let e = Tensor::<T>::zeros(&shape).unwrap();
                        assert_eq!(layer.forward(&e, Mode::Train).unwrap().shape(), &shape);
                        assert_eq!(layer.backward(&e).unwrap().shape(), &shape);
                        log_softmax_rows_into(&e, &mut out).unwrap();
                        assert_eq!(out.shape(), &shape);
                    }
                }

                #[test]
                fn non_finite_rows() {
                    // A row of −∞ only, or one holding +∞ or NaN, gives NaN (as PyTorch);
                    // a −∞ among finite values is just probability 0.
                    let inf = f64::INFINITY;
                    let x = t(&[&[-inf, -inf], &[inf, 0.0], &[f64::NAN, 0.0], &[-inf, 0.0]]);
                    let mut p = Tensor::default();
                    softmax_rows_into(&x, &mut p).unwrap();
                    assert!(p.as_slice()[..6].iter().all(|v| v.is_nan()));
                    assert_eq!(&p.as_slice()[6..], &[0.0, 1.0]);
                }
            }
        };
    }

    typed_tests!(f64_tests, f64, 1e-15);
    typed_tests!(f32_tests, f32, 1e-6);

    #[test]
    fn gradcheck_softmax() {
        let mut rng = StdRng::seed_from_u64(5);
        let x: Tensor<f64> =
            Tensor::random(&[4, 6], &Uniform::new(-3.0, 3.0).unwrap(), &mut rng).unwrap();
        let mut layer = Softmax::new();
        let report = gradcheck::layer(&mut layer, &x).unwrap();
        assert!(report.max_rel_error < 1e-6, "{report}");
        assert_eq!(report.checked, 24);
        assert_eq!(Layer::<f64>::kind(&layer), "Softmax");
        assert_eq!(Layer::<f64>::num_params(&layer), 0);
    }

    #[test]
    fn f32_agrees_with_f64() {
        let mut rng = StdRng::seed_from_u64(9);
        let x: Tensor<f64> =
            Tensor::random(&[3, 5], &Uniform::new(-10.0, 10.0).unwrap(), &mut rng).unwrap();
        let dy: Tensor<f64> =
            Tensor::random(&[3, 5], &Uniform::new(-1.0, 1.0).unwrap(), &mut rng).unwrap();
        let (mut l64, mut l32) = (Softmax::<f64>::new(), Softmax::<f32>::new());
        let x32: Tensor<f32> = x.cast();
        let y64 = l64.forward(&x32.cast(), Mode::Train).unwrap().clone();
        let y32 = l32.forward(&x32, Mode::Train).unwrap().cast::<f64>();
        let dx64 = l64.backward(&dy.cast::<f32>().cast()).unwrap().clone();
        let dx32 = l32.backward(&dy.cast()).unwrap().cast::<f64>();
        for (a, b) in y64.as_slice().iter().zip(y32.as_slice()) {
            assert!((a - b).abs() < 1e-6);
        }
        for (a, b) in dx64.as_slice().iter().zip(dx32.as_slice()) {
            assert!((a - b).abs() < 1e-6);
        }
    }
}
