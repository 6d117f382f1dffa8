//! [`ActivationKind`]: the activation functions, their formulas and
//! derivatives (PyTorch's definitions), and the constants they use.

use std::fmt;

use crate::init::Nonlinearity;
use crate::special::{normal_cdf, normal_pdf, sigmoid};
use crate::{Error, Result, Scalar};

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
    pub(super) fn derivative_uses_output(self) -> bool {
        matches!(
            self,
            ActivationKind::Relu
                | ActivationKind::LeakyRelu { .. }
                | ActivationKind::Sigmoid
                | ActivationKind::Tanh
                | ActivationKind::Identity
        )
    }

    /// `f(x)`, the formula in the [module table](super). NaN propagates.
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
    pub(super) fn derivative_from_cache<T: Scalar>(self, c: T) -> T {
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

    /// `f'(x)`, the formula in the [module table](super), with PyTorch's values
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

/// ReLU, `max(0, x)` with NaN propagated: the formula of [`ActivationKind::apply`]
/// for [`ActivationKind::Relu`], a separate function so the layer's ReLU loops
/// are vectorised instead of matching on the kind for every element.
#[inline(always)]
pub(super) fn relu<T: Scalar>(x: T) -> T {
    if x <= T::zero() { T::zero() } else { x }
}

/// ReLU's slope from its cached output: 0 where `y ≤ 0`, else 1 (the
/// formula of `derivative_from_cache` for [`ActivationKind::Relu`]).
#[inline(always)]
pub(super) fn relu_slope<T: Scalar>(y: T) -> T {
    if y <= T::zero() { T::zero() } else { T::one() }
}
