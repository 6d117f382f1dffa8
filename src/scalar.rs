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
