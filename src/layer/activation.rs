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

use std::fmt;

use crate::init::Nonlinearity;
use crate::layer::window::resize_for_overwrite;
use crate::layer::{Layer, LayerConfig, Mode, check_backward, elementwise};
use crate::special::{normal_cdf, normal_pdf};
use crate::{Error, Result, Scalar, Tensor};

/// SELU's α (Klambauer et al. 2017), PyTorch's value.
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's scale λ (Klambauer et al. 2017), PyTorch's value.
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;
/// `√(2/π)`, the tanh-GELU's inner scale.
const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
/// The tanh-GELU's cubic coefficient.
const GELU_TANH_CUBIC: f64 = 0.044_715;

/// Below this a sigmoid output counts as saturated, and above `1 −` it.
pub const SIGMOID_SATURATION: f64 = 0.01;
/// Above this `|tanh x|` counts as saturated.
pub const TANH_SATURATION: f64 = 0.99;

/// One element-wise activation function, with its parameters.
///
/// Build parameterised kinds with the checked constructors
/// ([`ActivationKind::leaky_relu`], [`ActivationKind::elu`],
/// [`ActivationKind::softplus`]); those variants cannot be written literally
/// outside the crate, so their parameters are always valid.
///
/// With the `serde` feature, a stored kind is read through the same checked
/// constructors, so `{"LeakyRelu": {"negative_slope": -1.0}}` is the same
/// error as `ActivationKind::leaky_relu(-1.0)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "crate::serde_validated::ActivationKindFields")
)]
pub enum ActivationKind {
    /// `max(0, x)`.
    Relu,
    /// `x` for `x > 0`, `negative_slope·x` otherwise.
    #[non_exhaustive]
    LeakyRelu {
        /// Slope for negative inputs, finite and ≥ 0 (PyTorch's default 0.01).
        negative_slope: f64,
    },
    /// `x` for `x > 0`, `α(eˣ − 1)` otherwise.
    #[non_exhaustive]
    Elu {
        /// The negative saturation value is `−α`; finite and ≥ 0 (PyTorch's default 1).
        alpha: f64,
    },
    /// `λ·ELU_α(x)` with [`SELU_ALPHA`] and [`SELU_SCALE`].
    Selu,
    /// Exact GELU, `x·Φ(x)` with `Φ` the standard normal CDF (PyTorch's
    /// `approximate='none'`, the default).
    Gelu,
    /// Tanh-approximated GELU, `½x(1 + tanh u)` with `u = √(2/π)(x + 0.044715x³)`
    /// (PyTorch's `approximate='tanh'`). Its derivative is
    /// `½(1 + tanh u) + ½x(1 − tanh²u)·√(2/π)(1 + 3·0.044715x²)`.
    GeluTanh,
    /// The logistic function `σ(x) = 1/(1 + e⁻ˣ)`.
    Sigmoid,
    /// The hyperbolic tangent.
    Tanh,
    /// `x`: no nonlinearity.
    Identity,
    /// `ln(1 + e^(βx))/β`, switching to `x` once `βx > threshold`.
    #[non_exhaustive]
    Softplus {
        /// Sharpness β, finite and > 0 (PyTorch's default 1).
        beta: f64,
        /// Where the function becomes linear, finite (PyTorch's default 20).
        threshold: f64,
    },
}

fn check_param(name: &'static str, v: f64, positive: bool) -> Result<()> {
    if !v.is_finite() {
        return Err(Error::invalid_arg(name, v, "must be finite"));
    }
    if positive && v <= 0.0 {
        return Err(Error::invalid_arg(name, v, "must be > 0"));
    }
    if v < 0.0 {
        return Err(Error::invalid_arg(name, v, "must be ≥ 0"));
    }
    Ok(())
}

/// Numerically stable `σ(x)`: `1/(1 + e⁻ˣ)` for `x ≥ 0`, `eˣ/(1 + eˣ)` below,
/// so `e^(|x|)` is never formed and nothing overflows.
fn sigmoid<T: Scalar>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

impl ActivationKind {
    /// LeakyReLU with the given slope for negative inputs.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `negative_slope` is negative or not finite.
    pub fn leaky_relu(negative_slope: f64) -> Result<Self> {
        check_param("LeakyReLU negative_slope", negative_slope, false)?;
        Ok(ActivationKind::LeakyRelu { negative_slope })
    }

    /// ELU with the given `α`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `alpha` is negative or not finite.
    pub fn elu(alpha: f64) -> Result<Self> {
        check_param("ELU alpha", alpha, false)?;
        Ok(ActivationKind::Elu { alpha })
    }

    /// Softplus with sharpness `beta` and linear `threshold`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `beta` is not positive and finite, or
    /// `threshold` is not finite.
    pub fn softplus(beta: f64, threshold: f64) -> Result<Self> {
        check_param("Softplus beta", beta, true)?;
        if !threshold.is_finite() {
            return Err(Error::invalid_arg(
                "Softplus threshold",
                threshold,
                "must be finite",
            ));
        }
        Ok(ActivationKind::Softplus { beta, threshold })
    }

    /// The short name used in summaries, PyTorch's class name: `"ReLU"`,
    /// `"LeakyReLU"`, `"ELU"`, `"SELU"`, `"GELU"` (both GELUs), `"Sigmoid"`,
    /// `"Tanh"`, `"Identity"`, `"Softplus"`.
    pub fn name(self) -> &'static str {
        match self {
            ActivationKind::Relu => "ReLU",
            ActivationKind::LeakyRelu { .. } => "LeakyReLU",
            ActivationKind::Elu { .. } => "ELU",
            ActivationKind::Selu => "SELU",
            ActivationKind::Gelu | ActivationKind::GeluTanh => "GELU",
            ActivationKind::Sigmoid => "Sigmoid",
            ActivationKind::Tanh => "Tanh",
            ActivationKind::Identity => "Identity",
            ActivationKind::Softplus { .. } => "Softplus",
        }
    }

    /// True when the derivative is computed from the output `y` (ReLU,
    /// LeakyReLU, sigmoid, tanh, identity), false when from the input `x`.
    fn derivative_uses_output(self) -> bool {
        matches!(
            self,
            ActivationKind::Relu
                | ActivationKind::LeakyRelu { .. }
                | ActivationKind::Sigmoid
                | ActivationKind::Tanh
                | ActivationKind::Identity
        )
    }

    /// `f(x)`, the formula in the [module table](self). NaN propagates.
    ///
    /// ```
    /// use weightwise::layer::activation::ActivationKind;
    /// assert_eq!(ActivationKind::Sigmoid.apply(0.0), 0.5);
    /// assert_eq!(ActivationKind::Relu.apply(-3.0f32), 0.0);
    /// ```
    pub fn apply<T: Scalar>(self, x: T) -> T {
        let zero = T::zero();
        match self {
            ActivationKind::Relu => relu(x),
            ActivationKind::LeakyRelu { negative_slope } => {
                if x > zero {
                    x
                } else {
                    x * T::from_f64(negative_slope)
                }
            }
            ActivationKind::Elu { alpha } => {
                if x <= zero {
                    T::from_f64(alpha) * x.exp_m1()
                } else {
                    x
                }
            }
            ActivationKind::Selu => {
                let e = if x <= zero {
                    T::from_f64(SELU_ALPHA) * x.exp_m1()
                } else {
                    x
                };
                T::from_f64(SELU_SCALE) * e
            }
            ActivationKind::Gelu => {
                let v = x.as_f64();
                T::from_f64(v * normal_cdf(v))
            }
            ActivationKind::GeluTanh => {
                let half = T::from_f64(0.5);
                let u =
                    T::from_f64(SQRT_2_OVER_PI) * (x + T::from_f64(GELU_TANH_CUBIC) * x * x * x);
                half * x * (T::one() + u.tanh())
            }
            ActivationKind::Sigmoid => sigmoid(x),
            ActivationKind::Tanh => x.tanh(),
            ActivationKind::Identity => x,
            ActivationKind::Softplus { beta, threshold } => {
                let b = T::from_f64(beta);
                let bx = b * x;
                if bx > T::from_f64(threshold) {
                    x
                } else {
                    // ln(1 + e^z) = max(z, 0) + ln(1 + e^(−|z|)): no overflow.
                    (bx.max(zero) + (-bx.abs()).exp().ln_1p()) / b
                }
            }
        }
    }

    /// `f'` from what the layer cached: `y` when
    /// [`derivative_uses_output`](Self::derivative_uses_output), else `x`.
    fn derivative_from_cache<T: Scalar>(self, c: T) -> T {
        let zero = T::zero();
        let one = T::one();
        match self {
            // y = max(0, x): y > 0 exactly when x > 0.
            ActivationKind::Relu => relu_slope(c),
            // With slope ≥ 0, y > 0 exactly when x > 0.
            ActivationKind::LeakyRelu { negative_slope } => {
                if c > zero {
                    one
                } else {
                    T::from_f64(negative_slope)
                }
            }
            ActivationKind::Elu { alpha } => {
                if c <= zero {
                    T::from_f64(alpha) * c.exp()
                } else {
                    one
                }
            }
            ActivationKind::Selu => {
                if c <= zero {
                    T::from_f64(SELU_SCALE * SELU_ALPHA) * c.exp()
                } else {
                    T::from_f64(SELU_SCALE)
                }
            }
            ActivationKind::Gelu => {
                let v = c.as_f64();
                T::from_f64(normal_cdf(v) + v * normal_pdf(v))
            }
            ActivationKind::GeluTanh => {
                let half = T::from_f64(0.5);
                let k = T::from_f64(SQRT_2_OVER_PI);
                let a = T::from_f64(GELU_TANH_CUBIC);
                let th = (k * (c + a * c * c * c)).tanh();
                let sech2 = one - th * th;
                // sech² is exactly 0 far out; skip the product so a huge x² cannot make 0·∞.
                let right = if sech2 == zero {
                    zero
                } else {
                    half * c * sech2 * k * (one + T::from_f64(3.0) * a * c * c)
                };
                half * (one + th) + right
            }
            ActivationKind::Sigmoid => c * (one - c),
            ActivationKind::Tanh => one - c * c,
            ActivationKind::Identity => one,
            ActivationKind::Softplus { beta, threshold } => {
                let bx = T::from_f64(beta) * c;
                if bx > T::from_f64(threshold) {
                    one
                } else {
                    sigmoid(bx)
                }
            }
        }
    }

    /// `f'(x)`, the formula in the [module table](self), with PyTorch's values
    /// at the kinks (`ReLU'(0) = 0`, `LeakyReLU'(0) = a`, `ELU'(0) = α`).
    ///
    /// ```
    /// use weightwise::layer::activation::ActivationKind;
    /// assert_eq!(ActivationKind::Sigmoid.derivative(0.0), 0.25); // σ(0)(1 − σ(0))
    /// assert_eq!(ActivationKind::Relu.derivative(0.0), 0.0);
    /// ```
    pub fn derivative<T: Scalar>(self, x: T) -> T {
        if self.derivative_uses_output() {
            self.derivative_from_cache(self.apply(x))
        } else {
            self.derivative_from_cache(x)
        }
    }

    /// Whether an *output* `y` lies where the function is flat and gradients
    /// vanish: for sigmoid `y < 0.01` or `y > 0.99` ([`SIGMOID_SATURATION`],
    /// i.e. `|x| > ln 99 ≈ 4.6`, where `σ' < 0.0099`), for tanh `|y| > 0.99`
    /// ([`TANH_SATURATION`], i.e. `|x| > 2.65`, where `tanh' < 0.0199`).
    /// Always false for the other kinds.
    pub fn is_saturated<T: Scalar>(self, y: T) -> bool {
        let y = y.as_f64();
        match self {
            // NaN compares false: a NaN output is not counted as saturated.
            ActivationKind::Sigmoid => (y - 0.5).abs() > 0.5 - SIGMOID_SATURATION,
            ActivationKind::Tanh => y.abs() > TANH_SATURATION,
            _ => false,
        }
    }

    /// Whether an *output* `y` is "dead": exactly zero from a ReLU (or a
    /// LeakyReLU with slope 0), so the unit passes no gradient for that
    /// input. Always false for the other kinds.
    pub fn is_dead<T: Scalar>(self, y: T) -> bool {
        match self {
            ActivationKind::Relu => y == T::zero(),
            ActivationKind::LeakyRelu {
                negative_slope: 0.0,
            } => y == T::zero(),
            _ => false,
        }
    }

    /// The entry of the initialization gain table ([`crate::init::gain`]) for
    /// this function: ReLU, LeakyReLU(a), tanh, sigmoid, SELU and identity
    /// (`Linear`); `None` for ELU, GELU and softplus, which PyTorch's
    /// `calculate_gain` does not list.
    pub fn nonlinearity(self) -> Option<Nonlinearity> {
        match self {
            ActivationKind::Relu => Some(Nonlinearity::Relu),
            ActivationKind::LeakyRelu { negative_slope } => {
                Some(Nonlinearity::LeakyRelu(negative_slope))
            }
            ActivationKind::Tanh => Some(Nonlinearity::Tanh),
            ActivationKind::Sigmoid => Some(Nonlinearity::Sigmoid),
            ActivationKind::Selu => Some(Nonlinearity::Selu),
            ActivationKind::Identity => Some(Nonlinearity::Linear),
            ActivationKind::Elu { .. }
            | ActivationKind::Gelu
            | ActivationKind::GeluTanh
            | ActivationKind::Softplus { .. } => None,
        }
    }
}

/// PyTorch's `repr`, e.g. `LeakyReLU(negative_slope=0.01)` or `GELU(approximate='tanh')`.
impl fmt::Display for ActivationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ActivationKind::LeakyRelu { negative_slope } => {
                write!(f, "LeakyReLU(negative_slope={negative_slope:?})")
            }
            ActivationKind::Elu { alpha } => write!(f, "ELU(alpha={alpha:?})"),
            ActivationKind::Gelu => write!(f, "GELU(approximate='none')"),
            ActivationKind::GeluTanh => write!(f, "GELU(approximate='tanh')"),
            ActivationKind::Softplus { beta, threshold } => {
                write!(f, "Softplus(beta={beta:?}, threshold={threshold:?})")
            }
            other => write!(f, "{}()", other.name()),
        }
    }
}

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
    /// [`Error::InvalidArgument`] if the slope is negative or not finite.
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
    /// [`Error::InvalidArgument`] if `alpha` is negative or not finite.
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
    /// [`Error::InvalidArgument`] if `beta` is not positive and finite or
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

/// ReLU, `max(0, x)` with NaN propagated: the formula of [`ActivationKind::apply`]
/// for [`ActivationKind::Relu`], a separate function so the layer's ReLU loops
/// are vectorised instead of matching on the kind for every element.
#[inline(always)]
fn relu<T: Scalar>(x: T) -> T {
    if x <= T::zero() { T::zero() } else { x }
}

/// ReLU's slope from its cached output: 0 where `y ≤ 0`, else 1 (the
/// formula of `derivative_from_cache` for [`ActivationKind::Relu`]).
#[inline(always)]
fn relu_slope<T: Scalar>(y: T) -> T {
    if y <= T::zero() { T::zero() } else { T::one() }
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
mod tests {
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::Uniform;

    use super::*;
    use crate::gradcheck;

    /// Every kind, with non-default parameters where they exist.
    fn all_kinds() -> Vec<ActivationKind> {
        vec![
            ActivationKind::Relu,
            ActivationKind::leaky_relu(0.01).unwrap(),
            ActivationKind::leaky_relu(0.2).unwrap(),
            ActivationKind::elu(1.0).unwrap(),
            ActivationKind::elu(0.5).unwrap(),
            ActivationKind::Selu,
            ActivationKind::Gelu,
            ActivationKind::GeluTanh,
            ActivationKind::Sigmoid,
            ActivationKind::Tanh,
            ActivationKind::Identity,
            ActivationKind::softplus(1.0, 20.0).unwrap(),
            ActivationKind::softplus(2.0, 3.0).unwrap(),
        ]
    }

    /// Uniform(−3, 3) inputs with |x| > 0.01 (away from the kinks at 0) and,
    /// for softplus(β=2, t=3), away from its switch at x = 1.5.
    fn random_input(shape: &[usize], seed: u64) -> Tensor<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut x: Tensor<f64> =
            Tensor::random(shape, &Uniform::new(-3.0, 3.0).unwrap(), &mut rng).unwrap();
        x.map_in_place(|v: f64| {
            let v = if v.abs() < 0.01 { v.signum() * 0.5 } else { v };
            if (v - 1.5).abs() < 0.01 { 1.7 } else { v }
        });
        x
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty, $tol:expr) => {
            mod $name {
                use super::*;
                type T = $t;

                fn forward(kind: ActivationKind, xs: &[f64]) -> Vec<f64> {
                    let x: Tensor<T> = Tensor::from_slice(xs).cast();
                    let mut layer = Activation::<T>::new(kind);
                    let y = layer.forward(&x, Mode::Train).unwrap();
                    y.as_slice().iter().map(|v| v.as_f64()).collect()
                }

                /// The derivative through the layer: backward with dy = 1.
                fn slope(kind: ActivationKind, xs: &[f64]) -> Vec<f64> {
                    let x: Tensor<T> = Tensor::from_slice(xs).cast();
                    let mut layer = Activation::<T>::new(kind);
                    layer.forward(&x, Mode::Train).unwrap();
                    let ones = Tensor::<T>::ones(x.shape()).unwrap();
                    let dx = layer.backward(&ones).unwrap();
                    dx.as_slice().iter().map(|v| v.as_f64()).collect()
                }

                fn close(got: &[f64], want: &[f64]) {
                    assert_eq!(got.len(), want.len());
                    for (g, w) in got.iter().zip(want) {
                        assert!(
                            (g - w).abs() <= $tol * w.abs().max(1.0),
                            "got {got:?}, want {want:?}"
                        );
                    }
                }

                #[test]
                fn forward_values() {
                    close(
                        &forward(ActivationKind::Relu, &[-2.0, 0.0, 0.5, 3.0]),
                        &[0.0, 0.0, 0.5, 3.0],
                    );
                    // LeakyReLU(0.01): −2 → −0.02.
                    let leaky = ActivationKind::leaky_relu(0.01).unwrap();
                    close(&forward(leaky, &[-2.0, 3.0]), &[-0.02, 3.0]);
                    // ELU(−1) = e⁻¹ − 1 = −0.6321205588285577; ELU_0.5(−1) = half that.
                    let elu = ActivationKind::elu(1.0).unwrap();
                    close(
                        &forward(elu, &[-1.0, 2.0]),
                        &[-0.632_120_558_828_557_7, 2.0],
                    );
                    let elu_half = ActivationKind::elu(0.5).unwrap();
                    close(&forward(elu_half, &[-1.0]), &[-0.316_060_279_414_278_85]);
                    // SELU(1) = λ; SELU(−1) = λα(e⁻¹ − 1)
                    //   = 1.0507009873554805·1.6732632423543772·(−0.6321205588285577).
                    close(
                        &forward(ActivationKind::Selu, &[1.0, -1.0]),
                        &[SELU_SCALE, -1.111_330_737_812_562_8],
                    );
                    // GELU(1) = Φ(1) = 0.8413447460685429; GELU(−1) = −Φ(−1); GELU(2) = 2Φ(2);
                    // GELU(−3) = −3Φ(−3) (Φ from mpmath.ncdf, 50 digits).
                    close(
                        &forward(ActivationKind::Gelu, &[1.0, -1.0, 0.0, 2.0, -3.0]),
                        &[
                            0.841_344_746_068_542_9,
                            -0.158_655_253_931_457_05,
                            0.0,
                            1.954_499_736_103_641_6,
                            -0.004_049_694_094_890_283_5,
                        ],
                    );
                    // tanh-GELU(±1) = ±½(1 + tanh(±√(2/π)·1.044715)) (mpmath, 50 digits).
                    close(
                        &forward(ActivationKind::GeluTanh, &[1.0, -1.0]),
                        &[0.841_191_990_608_276_7, -0.158_808_009_391_723_3],
                    );
                    // σ(0) = ½; σ(2) = 1/(1 + e⁻²); σ(−2) = 1 − σ(2).
                    close(
                        &forward(ActivationKind::Sigmoid, &[0.0, 2.0, -2.0]),
                        &[0.5, 0.880_797_077_977_882_4, 0.119_202_922_022_117_56],
                    );
                    // tanh(0.5) = (e − 1)/(e + 1).
                    close(
                        &forward(ActivationKind::Tanh, &[0.5, 0.0]),
                        &[0.462_117_157_260_009_74, 0.0],
                    );
                    close(
                        &forward(ActivationKind::Identity, &[-7.5, 2.0]),
                        &[-7.5, 2.0],
                    );
                    // softplus(0) = ln 2, softplus(1) = ln(1 + e); above the threshold 20 it is x.
                    close(
                        &forward(Activation::<T>::softplus().activation(), &[0.0, 1.0, 30.0]),
                        &[std::f64::consts::LN_2, 1.313_261_687_518_222_8, 30.0],
                    );
                    // softplus with β = 2 at 0: ln 2 / 2.
                    let sp2 = ActivationKind::softplus(2.0, 20.0).unwrap();
                    close(&forward(sp2, &[0.0]), &[std::f64::consts::LN_2 / 2.0]);
                }

                #[test]
                fn derivatives_at_kinks_follow_pytorch() {
                    close(
                        &slope(ActivationKind::Relu, &[0.0, -1.0, 1.0]),
                        &[0.0, 0.0, 1.0],
                    );
                    let leaky = ActivationKind::leaky_relu(0.2).unwrap();
                    close(&slope(leaky, &[0.0, -1.0, 1.0]), &[0.2, 0.2, 1.0]);
                    let elu = ActivationKind::elu(0.5).unwrap();
                    close(&slope(elu, &[0.0, 1.0]), &[0.5, 1.0]);
                    // SELU'(0) = λα, GELU'(0) = Φ(0) = ½, σ'(0) = ¼, tanh'(0) = 1,
                    // softplus'(0) = σ(0) = ½.
                    close(
                        &slope(ActivationKind::Selu, &[0.0]),
                        &[SELU_SCALE * SELU_ALPHA],
                    );
                    close(&slope(ActivationKind::Gelu, &[0.0]), &[0.5]);
                    close(&slope(ActivationKind::GeluTanh, &[0.0]), &[0.5]);
                    close(&slope(ActivationKind::Sigmoid, &[0.0]), &[0.25]);
                    close(&slope(ActivationKind::Tanh, &[0.0]), &[1.0]);
                    close(&slope(ActivationKind::Identity, &[3.0]), &[1.0]);
                    let sp = ActivationKind::softplus(1.0, 20.0).unwrap();
                    close(&slope(sp, &[0.0, 25.0]), &[0.5, 1.0]);
                }

                #[test]
                fn layer_matches_the_f64_formulas() {
                    // The typed layer agrees, forward and backward, with ActivationKind's
                    // f64 formulas evaluated at the same (rounded-to-T) inputs.
                    let xs: Tensor<T> = random_input(&[4, 5], 11).cast();
                    let xs: Vec<f64> = xs.as_slice().iter().map(|v| v.as_f64()).collect();
                    for kind in all_kinds() {
                        let want_y: Vec<f64> = xs.iter().map(|&v| kind.apply(v)).collect();
                        let want_d: Vec<f64> = xs.iter().map(|&v| kind.derivative(v)).collect();
                        close(&forward(kind, &xs), &want_y);
                        close(&slope(kind, &xs), &want_d);
                    }
                }

                #[test]
                fn stable_at_extremes() {
                    let xs = [-1000.0, 1000.0];
                    // σ(−1000) = e⁻¹⁰⁰⁰/(1 + e⁻¹⁰⁰⁰) underflows to 0; σ(1000) = 1; σ' = 0 at both.
                    close(&forward(ActivationKind::Sigmoid, &xs), &[0.0, 1.0]);
                    close(&slope(ActivationKind::Sigmoid, &xs), &[0.0, 0.0]);
                    // softplus(−1000) = ln(1 + e⁻¹⁰⁰⁰) → 0; softplus(1000) = 1000 (threshold).
                    let sp = ActivationKind::softplus(1.0, 20.0).unwrap();
                    close(&forward(sp, &xs), &[0.0, 1000.0]);
                    close(&slope(sp, &xs), &[0.0, 1.0]);
                    // Even with a threshold that never triggers, no overflow.
                    let sp_no_threshold = ActivationKind::softplus(1.0, 1e6).unwrap();
                    close(&forward(sp_no_threshold, &xs), &[0.0, 1000.0]);
                    close(&forward(ActivationKind::Tanh, &xs), &[-1.0, 1.0]);
                    close(&slope(ActivationKind::Tanh, &xs), &[0.0, 0.0]);
                    close(&forward(ActivationKind::Gelu, &xs), &[0.0, 1000.0]);
                    close(&slope(ActivationKind::Gelu, &xs), &[0.0, 1.0]);
                    close(&forward(ActivationKind::GeluTanh, &xs), &[0.0, 1000.0]);
                    close(&slope(ActivationKind::GeluTanh, &xs), &[0.0, 1.0]);
                    let elu = ActivationKind::elu(1.0).unwrap();
                    close(&forward(elu, &xs), &[-1.0, 1000.0]);
                    close(
                        &forward(ActivationKind::Selu, &xs),
                        &[-SELU_SCALE * SELU_ALPHA, SELU_SCALE * 1000.0],
                    );
                    // At the largest finite inputs nothing becomes NaN or infinite
                    // (x³ and x² overflow inside the tanh-GELU).
                    let big = [<T>::MAX.as_f64(), <T>::MIN.as_f64()];
                    for kind in all_kinds() {
                        assert!(slope(kind, &big).iter().all(|d| d.is_finite()), "{kind}");
                        assert!(forward(kind, &xs).iter().all(|y| y.is_finite()), "{kind}");
                    }
                }

                #[test]
                fn nan_propagates() {
                    for kind in all_kinds() {
                        assert!(forward(kind, &[f64::NAN])[0].is_nan(), "{kind}");
                    }
                }

                #[test]
                fn errors_and_buffer_reuse() {
                    let mut layer = Activation::<T>::tanh();
                    let dy = Tensor::<T>::ones(&[2, 3]).unwrap();
                    let err = layer.backward(&dy).unwrap_err();
                    assert!(
                        matches!(err, Error::InvalidState { op: "Tanh", .. }),
                        "{err}"
                    );
                    let x = Tensor::<T>::zeros(&[2, 3]).unwrap();
                    let p1 = layer.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let p2 = layer.forward(&x, Mode::Eval).unwrap().as_slice().as_ptr();
                    assert_eq!(p1, p2, "output buffer reused");
                    let g1 = layer.backward(&dy).unwrap().as_slice().as_ptr();
                    let g2 = layer.backward(&dy).unwrap().as_slice().as_ptr();
                    assert_eq!(g1, g2, "input-gradient buffer reused");
                    let bad = Tensor::<T>::ones(&[3, 2]).unwrap();
                    let err = layer.backward(&bad).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "Tanh: left is 2×3, right is 3×2 \
                         (the output gradient must have the output's shape)"
                    );
                    // An input-caching kind reuses its input copy too.
                    let mut gelu = Activation::<T>::gelu();
                    gelu.forward(&x, Mode::Train).unwrap();
                    let q1 = gelu.input.as_slice().as_ptr();
                    gelu.forward(&x, Mode::Train).unwrap();
                    assert_eq!(q1, gelu.input.as_slice().as_ptr());
                }
            }
        };
    }

    typed_tests!(f64_tests, f64, 1e-14);
    typed_tests!(f32_tests, f32, 1e-6);

    #[test]
    fn gradcheck_every_kind() {
        for (i, kind) in all_kinds().into_iter().enumerate() {
            let x = random_input(&[3, 7], 100 + i as u64);
            let mut layer = Activation::<f64>::new(kind);
            let report = gradcheck::layer(&mut layer, &x).unwrap();
            assert!(report.max_rel_error < 1e-6, "{kind}: {report}");
            assert_eq!(report.checked, 21);
        }
    }

    #[test]
    fn derivative_matches_central_differences() {
        // For every kind, f' (the public formula) against (f(x+h) − f(x−h))/2h,
        // on a grid avoiding the kinks.
        let h = 1e-6;
        for kind in all_kinds() {
            for i in -40..=40 {
                let x = f64::from(i) * 0.1 + 0.037;
                let numeric = (kind.apply(x + h) - kind.apply(x - h)) / (2.0 * h);
                let analytic = kind.derivative(x);
                assert!(
                    (numeric - analytic).abs() < 1e-8 * analytic.abs().max(1.0),
                    "{kind} at {x}: {numeric} vs {analytic}"
                );
            }
        }
    }

    #[test]
    fn invalid_parameters_are_errors() {
        for bad in [-0.1, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Activation::<f64>::elu(bad),
                Err(Error::InvalidArgument { .. })
            ));
            assert!(Activation::<f32>::leaky_relu(bad).is_err());
            assert!(Activation::<f64>::softplus_with(bad, 20.0).is_err());
        }
        assert!(Activation::<f64>::softplus_with(0.0, 20.0).is_err());
        assert!(Activation::<f64>::softplus_with(1.0, f64::NAN).is_err());
        assert_eq!(
            Activation::<f64>::elu(-1.0).unwrap_err().to_string(),
            "invalid ELU alpha = -1: must be ≥ 0"
        );
        assert_eq!(
            ActivationKind::leaky_relu(f64::INFINITY)
                .unwrap_err()
                .to_string(),
            "invalid LeakyReLU negative_slope = inf: must be finite"
        );
        // Zero is allowed: LeakyReLU(0) and ELU(0) are both ReLU.
        assert!(Activation::<f64>::leaky_relu(0.0).is_ok());
        assert!(Activation::<f64>::elu(0.0).is_ok());
    }

    #[test]
    fn names_display_and_defaults() {
        let names: Vec<&str> = all_kinds().iter().map(|k| k.name()).collect();
        assert_eq!(
            names,
            [
                "ReLU",
                "LeakyReLU",
                "LeakyReLU",
                "ELU",
                "ELU",
                "SELU",
                "GELU",
                "GELU",
                "Sigmoid",
                "Tanh",
                "Identity",
                "Softplus",
                "Softplus"
            ]
        );
        assert_eq!(
            Layer::<f64>::kind(&Activation::<f64>::softplus()),
            "Softplus"
        );
        assert_eq!(
            Activation::<f64>::leaky_relu_default()
                .activation()
                .to_string(),
            "LeakyReLU(negative_slope=0.01)"
        );
        assert_eq!(
            Activation::<f32>::elu_default().activation().to_string(),
            "ELU(alpha=1.0)"
        );
        assert_eq!(
            Activation::<f32>::gelu_tanh().activation().to_string(),
            "GELU(approximate='tanh')"
        );
        assert_eq!(
            Activation::<f32>::gelu().activation().to_string(),
            "GELU(approximate='none')"
        );
        assert_eq!(
            Activation::<f32>::softplus().activation().to_string(),
            "Softplus(beta=1.0, threshold=20.0)"
        );
        assert_eq!(ActivationKind::Relu.to_string(), "ReLU()");
        let layer = Activation::<f64>::selu();
        assert_eq!(layer.output_shape(&[4, 9]).unwrap(), vec![4, 9]);
        assert!(layer.last_output().is_none());
        assert_eq!(layer.num_params(), 0);
    }

    #[test]
    fn saturation_dead_units_and_gains() {
        let s = ActivationKind::Sigmoid;
        assert!(s.is_saturated(0.005) && s.is_saturated(0.995f32));
        assert!(!s.is_saturated(0.01) && !s.is_saturated(0.5) && !s.is_saturated(0.99));
        let t = ActivationKind::Tanh;
        assert!(t.is_saturated(-0.995) && t.is_saturated(0.999));
        assert!(!t.is_saturated(0.99) && !t.is_saturated(0.0));
        assert!(!ActivationKind::Relu.is_saturated(0.0));
        assert!(!s.is_saturated(f64::NAN) && !t.is_saturated(f64::NAN));
        assert!(ActivationKind::Relu.is_dead(0.0) && ActivationKind::Relu.is_dead(-0.0f32));
        assert!(!ActivationKind::Relu.is_dead(1e-30));
        assert!(ActivationKind::leaky_relu(0.0).unwrap().is_dead(0.0));
        assert!(!ActivationKind::leaky_relu(0.01).unwrap().is_dead(0.0));
        assert!(!ActivationKind::Sigmoid.is_dead(0.0));

        use crate::init::Nonlinearity as N;
        assert_eq!(ActivationKind::Relu.nonlinearity(), Some(N::Relu));
        assert_eq!(
            ActivationKind::leaky_relu(0.2).unwrap().nonlinearity(),
            Some(N::LeakyRelu(0.2))
        );
        assert_eq!(ActivationKind::Tanh.nonlinearity(), Some(N::Tanh));
        assert_eq!(ActivationKind::Sigmoid.nonlinearity(), Some(N::Sigmoid));
        assert_eq!(ActivationKind::Selu.nonlinearity(), Some(N::Selu));
        assert_eq!(
            Activation::<f64>::identity().nonlinearity(),
            Some(N::Linear)
        );
        for k in [
            ActivationKind::Gelu,
            ActivationKind::GeluTanh,
            ActivationKind::elu(1.0).unwrap(),
        ] {
            assert_eq!(k.nonlinearity(), None);
        }
        assert_eq!(Activation::<f64>::softplus().nonlinearity(), None);
    }

    #[test]
    fn last_output_is_what_statistics_read() {
        let mut relu = Activation::<f64>::relu();
        let x = Tensor::from_rows(&[[-1.0, 2.0], [0.5, -3.0]]).unwrap();
        relu.forward(&x, Mode::Eval).unwrap();
        let y = relu.last_output().unwrap();
        let dead = y
            .as_slice()
            .iter()
            .filter(|&&v| ActivationKind::Relu.is_dead(v))
            .count();
        assert_eq!(dead, 2);
    }
}
