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
    );
}

impl Scalar for f32 {
    const DTYPE: &'static str = "F32";
    fn from_f64(x: f64) -> Self {
        x as f32
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
    ) {
        crate::gemm::gemm_f32(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc);
    }
}

impl Scalar for f64 {
    const DTYPE: &'static str = "F64";
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
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
    ) {
        crate::gemm::gemm_f64(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc);
    }
}
