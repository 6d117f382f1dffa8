//! [`Scalar`]: the element type of every tensor, implemented for `f32` and `f64`.

use std::fmt::{Debug, Display, LowerExp};
use std::iter::Sum;

use approx::{AbsDiffEq, RelativeEq, UlpsEq};
use num_traits::{Float, NumAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element: `f32` or `f64`.
///
/// One bound for every generic signature in the crate (`T: Scalar`). It is
/// sealed: the matrix kernel and the file formats are written for exactly
/// these two types.
pub trait Scalar:
    Float
    + NumAssign
    + Sum
    + Default
    + Debug
    + Display
    + LowerExp
    + Send
    + Sync
    + 'static
    + AbsDiffEq<Epsilon = Self>
    + RelativeEq
    + UlpsEq
    + sealed::Sealed
{
    /// The safetensors dtype name: `"F32"` or `"F64"`.
    const DTYPE: &'static str;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;

    /// Converts from `usize` (exact below 2²⁴ for `f32`, 2⁵³ for `f64`).
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }

    /// `C ← alpha·op(A)·op(B) + beta·C` on strided slices; see `crate::gemm`.
    ///
    /// # Errors
    /// When a slice is too short for its shape and strides, an extent
    /// overflows `usize`, or rows of C overlap (checked on every call).
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        m: usize,
        k: usize,
        n: usize,
        alpha: Self,
        a: &[Self],
        rsa: usize,
        csa: usize,
        b: &[Self],
        rsb: usize,
        csb: usize,
        beta: Self,
        c: &mut [Self],
        rsc: usize,
    ) -> crate::Result<()>;
}

/// Implements [`Scalar`] for a float type whose GEMM entry point is `$gemm`.
macro_rules! scalar_impl {
    ($t:ty, $dtype:literal, $gemm:path) => {
        impl Scalar for $t {
            const DTYPE: &'static str = $dtype;
            fn from_f64(x: f64) -> Self {
                x as $t
            }
            fn as_f64(self) -> f64 {
                f64::from(self)
            }
            fn gemm(
                m: usize,
                k: usize,
                n: usize,
                alpha: Self,
                a: &[Self],
                rsa: usize,
                csa: usize,
                b: &[Self],
                rsb: usize,
                csb: usize,
                beta: Self,
                c: &mut [Self],
                rsc: usize,
            ) -> crate::Result<()> {
                $gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc)
            }
        }
    };
}

scalar_impl!(f32, "F32", crate::gemm::gemm);
scalar_impl!(f64, "F64", crate::gemm::gemm);

/// What a hyper-parameter must satisfy, in `f64` and again after conversion
/// to the tensor type.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Rule {
    /// Finite.
    Finite,
    /// Finite and `≥ 0`.
    NonNegative,
    /// Finite and `> 0`.
    Positive,
    /// In `[0, 1)` (a decay rate such as Adam's β).
    Unit,
    /// In `[0, 1]`.
    Closed01,
}

impl Rule {
    fn holds(self, v: f64) -> bool {
        match self {
            Rule::Finite => v.is_finite(),
            Rule::NonNegative => v.is_finite() && v >= 0.0,
            Rule::Positive => v.is_finite() && v > 0.0,
            Rule::Unit => (0.0..1.0).contains(&v),
            Rule::Closed01 => (0.0..=1.0).contains(&v),
        }
    }

    fn text(self) -> &'static str {
        match self {
            Rule::Finite => "must be finite",
            Rule::NonNegative => "must be finite and ≥ 0",
            Rule::Positive => "must be finite and > 0",
            Rule::Unit => "must be in [0, 1)",
            Rule::Closed01 => "must be in [0, 1]",
        }
    }
}

/// The one check every hyper-parameter goes through where it is built:
/// `value` must satisfy `rule` as given **and** after rounding to `T`
/// (`eps = 1e-50` is positive in `f64` but 0 in `f32`; `β = 1 − 1e-12` is
/// below 1 in `f64` but 1 in `f32`). Returns the value in `T`.
pub(crate) fn checked_hyper<T: Scalar>(
    name: &'static str,
    value: f64,
    rule: Rule,
) -> crate::Result<T> {
    if !rule.holds(value) {
        return Err(crate::Error::invalid_arg(name, value, rule.text()));
    }
    let t = T::from_f64(value);
    if !rule.holds(t.as_f64()) {
        return Err(crate::Error::invalid_arg(
            name,
            value,
            format!(
                "{} in {} too, where it rounds to {}",
                rule.text(),
                T::DTYPE.to_lowercase(),
                crate::error::num(t.as_f64())
            ),
        ));
    }
    Ok(t)
}
