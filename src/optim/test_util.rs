//! Helpers shared by the optimizer tests.

use super::{Algorithm, GradientDescent, Optimizer};
use crate::{Param, ParamKind, Scalar, Tensor};

/// A 1-D weight parameter holding `w`, with a zero gradient.
pub(crate) fn param<T: Scalar>(w: &[f64]) -> Param<T> {
    let v: Vec<T> = w.iter().map(|&x| T::from_f64(x)).collect();
    Param::new("weight", ParamKind::Weight, Tensor::from_slice(&v))
}

/// Sets a parameter's gradient to `g`.
pub(crate) fn set_grad<T: Scalar>(p: &mut Param<T>, g: &[f64]) {
    let v: Vec<T> = g.iter().map(|&x| T::from_f64(x)).collect();
    p.grad = Tensor::from_slice(&v);
}

/// Tolerance for comparing with hand-computed values: a few ulps of `T`
/// relative to the value's magnitude.
pub(crate) fn tol<T: Scalar>(expected: f64) -> f64 {
    let ulp = if T::DTYPE == "F32" { 2e-6 } else { 1e-12 };
    ulp * expected.abs().max(1.0)
}

/// Asserts every element of `actual` is within [`tol`] of `expected`.
#[track_caller]
pub(crate) fn assert_close<T: Scalar>(actual: &Tensor<T>, expected: &[f64]) {
    assert_eq!(actual.len(), expected.len(), "lengths differ");
    for (i, (&a, &e)) in actual.as_slice().iter().zip(expected).enumerate() {
        let a = a.as_f64();
        assert!(
            (a - e).abs() <= tol::<T>(e),
            "{}: element {i} is {a:.15}, expected {e:.15}",
            T::DTYPE
        );
    }
}

/// Runs `alg` on one parameter starting at `w`, one step per gradient in
/// `grads`, and returns the optimizer and the parameter.
pub(crate) fn run<T: Scalar>(
    alg: impl Into<Algorithm>,
    w: &[f64],
    grads: &[&[f64]],
) -> (GradientDescent<T>, Param<T>) {
    let mut opt = GradientDescent::new(alg).expect("valid config");
    let mut p = param::<T>(w);
    for g in grads {
        set_grad(&mut p, g);
        opt.step(&mut [&mut p]).expect("step");
    }
    (opt, p)
}

/// Generates `f32` and `f64` test modules calling each generic test function.
macro_rules! for_f32_and_f64 {
    ($($name:ident),* $(,)?) => {
        mod f32_tests {
            $(#[test] fn $name() { super::$name::<f32>(); })*
        }
        mod f64_tests {
            $(#[test] fn $name() { super::$name::<f64>(); })*
        }
    };
}
pub(crate) use for_f32_and_f64;
