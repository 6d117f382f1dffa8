//! Element-wise activation layers: ReLU, LeakyReLU, ELU, SELU, GELU, sigmoid,
//! tanh, softplus and the identity.
//!
//! An [`Activation`] applies one scalar function `f` to every element,
//! `y = f(x)`, and its backward pass is `dx = dy ⊙ f'(x)`. Which function is
//! an [`ActivationKind`], which also exposes the formulas on their own
//! ([`ActivationKind::apply`], [`ActivationKind::derivative`]) for code that
//! needs them without a layer.
//!
//! | kind | `f(x)` | `f'(x)` | PyTorch |
//! |---|---|---|---|
//! | ReLU | `max(0, x)` | `1` if `x > 0`, else `0` (so `f'(0) = 0`) | `nn.ReLU()` |
//! | LeakyReLU(a) | `x` if `x > 0`, else `a·x` | `1` if `x > 0`, else `a` | `nn.LeakyReLU(0.01)` |
//! | ELU(α) | `x` if `x > 0`, else `α(eˣ − 1)` | `1` if `x > 0`, else `α·eˣ` | `nn.ELU(1.0)` |
//! | SELU | `λ·ELU_α(x)`, α ≈ 1.6733, λ ≈ 1.0507 | `λ` if `x > 0`, else `λα·eˣ` | `nn.SELU()` |
//! | GELU | `x·Φ(x) = ½x(1 + erf(x/√2))` | `Φ(x) + x·φ(x)` | `nn.GELU()` |
//! | GELU (tanh) | `½x(1 + tanh u)`, `u = √(2/π)(x + 0.044715x³)` | see [`ActivationKind::GeluTanh`] | `nn.GELU(approximate='tanh')` |
//! | Sigmoid | `σ(x) = 1/(1 + e⁻ˣ)` | `σ(x)(1 − σ(x)) = y(1 − y)` | `nn.Sigmoid()` |
//! | Tanh | `tanh x` | `1 − tanh²x = 1 − y²` | `nn.Tanh()` |
//! | Identity | `x` | `1` | `nn.Identity()` |
//! | Softplus(β, t) | `ln(1 + e^(βx))/β`, or `x` once `βx > t` | `σ(βx)`, or `1` once `βx > t` | `nn.Softplus(1, 20)` |
//!
//! Here `Φ` and `φ` are the standard normal CDF and density. At the kinks the
//! derivative is PyTorch's: `ReLU'(0) = 0`, `LeakyReLU'(0) = a`, `ELU'(0) = α`
//! (the `x ≤ 0` branch).
//!
//! The layer keeps what its derivative needs and nothing more, in buffers
//! reused from batch to batch: the output for ReLU, LeakyReLU, sigmoid, tanh
//! and the identity (whose derivatives are functions of `y`, as in dfdx), the
//! input for the others.
//!
//! ```
//! use weightwise::{layer::activation::Activation, Layer, Mode, Tensor};
//! # fn main() -> weightwise::Result<()> {
//! let mut relu = Activation::relu();
//! let x = Tensor::from_rows(&[[-1.0f32, 0.0, 2.0]])?;
//! assert_eq!(relu.forward(&x, Mode::Train)?.as_slice(), &[0.0, 0.0, 2.0]);
//! let dx = relu.backward(&Tensor::from_rows(&[[5.0, 5.0, 5.0]])?)?;
//! assert_eq!(dx.as_slice(), &[0.0, 0.0, 5.0]); // ReLU'(0) = 0, as in PyTorch
//! # Ok(()) }
//! ```

pub use kind::{ActivationKind, SELU_ALPHA, SELU_SCALE, SIGMOID_SATURATION, TANH_SATURATION};
use kind::{relu, relu_slope};

use crate::elementwise;
use crate::init::Nonlinearity;
use crate::layer::window::resize_for_overwrite;
use crate::layer::{Layer, LayerConfig, Mode, check_backward};
use crate::{Result, Scalar, Tensor};

mod kind;

/// An element-wise activation layer `y = f(x)`, `dx = dy ⊙ f'(x)`.
///
/// Takes a tensor of any shape and returns one of the same shape. The mode
/// is ignored. Build one with the constructors named after PyTorch's modules;
/// those with parameters check them and return a [`Result`].
///
/// ```
/// use weightwise::{gradcheck, layer::activation::Activation, Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut gelu = Activation::gelu();
/// let x = Tensor::from_rows(&[[1.0, -1.0]])?;
/// let y = gelu.forward(&x, Mode::Train)?;
/// // GELU(1) = 1·Φ(1), GELU(−1) = −Φ(−1)
/// assert!((y[[0, 0]] - 0.8413447460685429f64).abs() < 1e-15);
/// assert!((y[[0, 1]] + 0.15865525393145705f64).abs() < 1e-15);
/// assert!(gradcheck::layer(&mut gelu, &x)?.max_rel_error < 1e-6);
/// assert!(Activation::<f64>::elu(-1.0).is_err());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Activation<T> {
    kind: ActivationKind,
    /// The input, kept only for kinds whose derivative needs `x`.
    input: Tensor<T>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
    ready: bool,
}

impl<T: Scalar> Activation<T> {
    /// A layer applying `kind`.
    pub fn new(kind: ActivationKind) -> Self {
        Activation {
            kind,
            input: Tensor::default(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
            ready: false,
        }
    }

    /// ReLU, `max(0, x)` (`nn.ReLU()`).
    pub fn relu() -> Self {
        Self::new(ActivationKind::Relu)
    }

    /// LeakyReLU with the given negative slope (`nn.LeakyReLU(negative_slope)`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if the slope is negative or not finite.
    pub fn leaky_relu(negative_slope: f64) -> Result<Self> {
        ActivationKind::leaky_relu(negative_slope).map(Self::new)
    }

    /// LeakyReLU with PyTorch's default slope 0.01 (Keras' `LeakyReLU`
    /// defaults to 0.3; pass it to [`Activation::leaky_relu`] to match Keras).
    pub fn leaky_relu_default() -> Self {
        Self::new(ActivationKind::LeakyRelu {
            negative_slope: 0.01,
        })
    }

    /// ELU with the given `α` (`nn.ELU(alpha)`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `alpha` is negative or not finite.
    pub fn elu(alpha: f64) -> Result<Self> {
        ActivationKind::elu(alpha).map(Self::new)
    }

    /// ELU with PyTorch's default `α = 1`.
    pub fn elu_default() -> Self {
        Self::new(ActivationKind::Elu { alpha: 1.0 })
    }

    /// SELU (`nn.SELU()`); pair it with LeCun-normal initialization.
    pub fn selu() -> Self {
        Self::new(ActivationKind::Selu)
    }

    /// Exact, erf-based GELU `x·Φ(x)` (`nn.GELU()`, `approximate='none'`;
    /// Keras' `gelu` also defaults to the exact form, `approximate=False`).
    pub fn gelu() -> Self {
        Self::new(ActivationKind::Gelu)
    }

    /// The tanh approximation of GELU (`nn.GELU(approximate='tanh')`).
    pub fn gelu_tanh() -> Self {
        Self::new(ActivationKind::GeluTanh)
    }

    /// The logistic sigmoid (`nn.Sigmoid()`), computed without overflow for any `x`.
    pub fn sigmoid() -> Self {
        Self::new(ActivationKind::Sigmoid)
    }

    /// The hyperbolic tangent (`nn.Tanh()`).
    pub fn tanh() -> Self {
        Self::new(ActivationKind::Tanh)
    }

    /// The identity (`nn.Identity()`): `y = x`, `dx = dy`.
    pub fn identity() -> Self {
        Self::new(ActivationKind::Identity)
    }

    /// Softplus with PyTorch's defaults `β = 1`, threshold 20 (`nn.Softplus()`).
    /// Keras' `softplus` has no threshold; above `x = 20` the two differ by
    /// less than `e⁻²⁰ ≈ 2e-9`.
    pub fn softplus() -> Self {
        Self::new(ActivationKind::Softplus {
            beta: 1.0,
            threshold: 20.0,
        })
    }

    /// Softplus with the given `β` and threshold (`nn.Softplus(beta, threshold)`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `beta` is not positive and finite or
    /// `threshold` is not finite.
    pub fn softplus_with(beta: f64, threshold: f64) -> Result<Self> {
        ActivationKind::softplus(beta, threshold).map(Self::new)
    }

    /// The function this layer applies.
    pub fn activation(&self) -> ActivationKind {
        self.kind
    }

    /// The output of the last forward pass, for activation statistics
    /// (dead or saturated fractions); `None` before the first.
    pub fn last_output(&self) -> Option<&Tensor<T>> {
        self.ready.then_some(&self.output)
    }

    /// Shorthand for [`ActivationKind::nonlinearity`].
    pub fn nonlinearity(&self) -> Option<Nonlinearity> {
        self.kind.nonlinearity()
    }
}

impl<T: Scalar> Layer<T> for Activation<T> {
    fn kind(&self) -> &'static str {
        self.kind.name()
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    fn activation(&self) -> Option<ActivationKind> {
        Some(self.kind)
    }

    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        let kind = self.kind;
        resize_for_overwrite(out, x.shape())?;
        // As `forward`: ReLU's own loop, which the compiler vectorizes.
        if kind == ActivationKind::Relu {
            elementwise::map(out.as_mut_slice(), x.as_slice(), relu);
        } else {
            elementwise::map(out.as_mut_slice(), x.as_slice(), |v| kind.apply(v));
        }
        Ok(())
    }

    /// PyTorch's class and arguments (see [`ActivationKind::config`]).
    fn config(&self) -> Option<LayerConfig> {
        Some(self.kind.config())
    }

    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        let kind = self.kind;
        resize_for_overwrite(&mut self.output, x.shape())?;
        let out = self.output.as_mut_slice();
        if kind == ActivationKind::Relu {
            elementwise::map(out, x.as_slice(), relu);
        } else {
            elementwise::map(out, x.as_slice(), |v| kind.apply(v));
        }
        if !kind.derivative_uses_output() {
            self.input.assign(x);
        }
        self.ready = true;
        Ok(&self.output)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        let kind = self.kind;
        check_backward(kind.name(), self.last_output(), dy)?;
        let cached = if kind.derivative_uses_output() {
            &self.output
        } else {
            &self.input
        };
        resize_for_overwrite(&mut self.grad_input, dy.shape())?;
        let (dx, dy, cached) = (
            self.grad_input.as_mut_slice(),
            dy.as_slice(),
            cached.as_slice(),
        );
        if kind == ActivationKind::Relu {
            elementwise::zip(dx, dy, cached, |g, c| g * relu_slope(c));
        } else {
            elementwise::zip(dx, dy, cached, |g, c| g * kind.derivative_from_cache(c));
        }
        Ok(&self.grad_input)
    }
}

#[cfg(test)]
mod tests;
