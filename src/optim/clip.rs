//! Gradient clipping: PyTorch's `clip_grad_norm_` and `clip_grad_value_`.
//!
//! Call between the backward pass and the optimizer step. Each function has
//! two forms: one over a slice of parameters (`net.params_mut()`), and a
//! `_with` form over a *visitor*, for training loops that walk parameters
//! with `visit_params_mut` without collecting them (no allocation). The
//! visitor is a closure that calls its argument on every parameter, in any
//! fixed order; it may be called twice.
//!
//! ```
//! use weightwise::optim::clip_grad_norm;
//! use weightwise::{Param, ParamKind, Tensor};
//! # fn main() -> weightwise::Result<()> {
//! let mut w = Param::new("weight", ParamKind::Weight, Tensor::from_slice(&[0.0f64, 0.0]));
//! let mut b = Param::new("bias", ParamKind::Bias, Tensor::from_slice(&[0.0f64]));
//! w.grad = Tensor::from_slice(&[3.0, 0.0]);
//! b.grad = Tensor::from_slice(&[4.0]);
//! // Global norm √(3² + 4²) = 5; scaled by 1/(5 + 1e-6) so the norm becomes ≈ 1.
//! let norm = clip_grad_norm(&mut [&mut w, &mut b], 1.0)?;
//! assert_eq!(norm, 5.0);
//! assert!((w.grad.as_slice()[0] - 0.6).abs() < 1e-6);
//! assert!((b.grad.as_slice()[0] - 0.8).abs() < 1e-6);
//! # Ok(()) }
//! ```

use crate::{Error, Param, Result, Scalar};

/// Scales all gradients together so that their global L2 norm is at most
/// `max_norm`, and returns the norm **before** clipping. PyTorch's
/// `torch.nn.utils.clip_grad_norm_` with `error_if_nonfinite=True`:
///
/// ```text
/// total = ‖(‖g₁‖₂, …, ‖gₙ‖₂)‖₂            (the L2 norm of all gradients as one vector)
/// coef  = max_norm / (total + 1e-6)
/// if coef < 1: gᵢ ← coef·gᵢ for every i
/// ```
///
/// Each `‖gᵢ‖₂` is accumulated in `f64` and rounded to `T`; `total` and
/// `coef` are computed in `T`, as PyTorch does in the gradients' dtype. The
/// returned norm is `total` converted to `f64`.
///
/// # Errors
/// [`Error::InvalidArgument`] if `max_norm` is not `> 0` (NaN included);
/// [`Error::NonFinite`] if the total norm is NaN or infinite, naming the first
/// parameter (index and name) whose gradient is not finite. The gradients are
/// then left unchanged.
pub fn clip_grad_norm<T: Scalar>(params: &mut [&mut Param<T>], max_norm: f64) -> Result<f64> {
    clip_grad_norm_with(max_norm, |f| {
        for p in params.iter_mut() {
            f(p);
        }
    })
}

/// [`clip_grad_norm`] over a visitor: `visit(f)` must call `f` on every
/// parameter, in the same order each time; it is called once to measure
/// and, if clipping is needed, once more to scale. For a [`Layer`](crate::Layer)
/// or network: `clip_grad_norm_with(1.0, |f| net.visit_params_mut(&mut |p| f(p)))`.
///
/// # Errors
/// As for [`clip_grad_norm`].
pub fn clip_grad_norm_with<T, V>(max_norm: f64, mut visit: V) -> Result<f64>
where
    T: Scalar,
    V: FnMut(&mut dyn FnMut(&mut Param<T>)),
{
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // also rejects NaN
    if !(max_norm > 0.0) {
        return Err(Error::invalid_arg(
            "max_norm",
            max_norm,
            "clip_grad_norm needs a norm > 0",
        ));
    }
    let mut sum_sq = 0.0f64;
    let mut index = 0usize;
    let mut bad: Option<(usize, &'static str)> = None;
    visit(&mut |p: &mut Param<T>| {
        let n = p.grad.norm_l2();
        if !n.is_finite() && bad.is_none() && !p.grad.all_finite() {
            bad = Some((index, p.name));
        }
        sum_sq += n.as_f64() * n.as_f64();
        index += 1;
    });
    let total = T::from_f64(sum_sq.sqrt());
    if !total.is_finite() {
        let location = match bad {
            Some((i, name)) => format!(
                "the gradient of parameter {i} (\"{name}\"): clip_grad_norm's total norm is \
                 {total}, so the gradients cannot be clipped"
            ),
            None => format!(
                "clip_grad_norm: the total gradient norm overflows {} ({total})",
                T::DTYPE
            ),
        };
        return Err(Error::non_finite(location));
    }
    let coef = T::from_f64(max_norm) / (total + T::from_f64(1e-6));
    if coef < T::one() {
        visit(&mut |p: &mut Param<T>| {
            for g in p.grad.as_mut_slice() {
                *g *= coef;
            }
        });
    }
    Ok(total.as_f64())
}

/// Clamps every gradient element to `[−clip, clip]`, PyTorch's
/// `torch.nn.utils.clip_grad_value_`: `g ← min(max(g, −clip), clip)`.
/// NaN elements stay NaN, as with `torch.clamp`.
///
/// # Errors
/// [`Error::InvalidArgument`] if `clip` is not `> 0` (NaN included).
pub fn clip_grad_value<T: Scalar>(params: &mut [&mut Param<T>], clip: f64) -> Result<()> {
    clip_grad_value_with(clip, |f| {
        for p in params.iter_mut() {
            f(p);
        }
    })
}

/// [`clip_grad_value`] over a visitor, called once; see [`clip_grad_norm_with`].
///
/// # Errors
/// As for [`clip_grad_value`].
pub fn clip_grad_value_with<T, V>(clip: f64, mut visit: V) -> Result<()>
where
    T: Scalar,
    V: FnMut(&mut dyn FnMut(&mut Param<T>)),
{
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // also rejects NaN
    if !(clip > 0.0) {
        return Err(Error::invalid_arg(
            "clip value",
            clip,
            "clip_grad_value needs a bound > 0",
        ));
    }
    let hi = T::from_f64(clip);
    let lo = -hi;
    visit(&mut |p: &mut Param<T>| {
        for g in p.grad.as_mut_slice() {
            if *g > hi {
                *g = hi;
            } else if *g < lo {
                *g = lo;
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::test_util::{assert_close, for_f32_and_f64, param, set_grad};

    /// Something with the visitor signature of [`crate::Layer::visit_params_mut`].
    struct TwoParams<T> {
        a: Param<T>,
        b: Param<T>,
    }

    impl<T: Scalar> TwoParams<T> {
        fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<T>)) {
            f(&mut self.a);
            f(&mut self.b);
        }
    }

    fn norm_clips_and_returns_the_norm_before<T: Scalar>() {
        // Gradients [3, 0] and [4]: total = √(9 + 16) = 5; max_norm 2.5:
        // coef = 2.5/(5 + 1e-6) = 0.4999999, gradients ≈ [1.5, 0] and [2].
        let mut a = param::<T>(&[0.0, 0.0]);
        let mut b = param::<T>(&[0.0]);
        set_grad(&mut a, &[3.0, 0.0]);
        set_grad(&mut b, &[4.0]);
        let norm = clip_grad_norm(&mut [&mut a, &mut b], 2.5).unwrap();
        assert_eq!(norm, 5.0);
        let coef = 2.5 / (5.0 + 1e-6);
        assert_close(&a.grad, &[3.0 * coef, 0.0]);
        assert_close(&b.grad, &[4.0 * coef]);
        // Now the norm is 5·coef ≈ 2.4999998; with max_norm 3 the coefficient
        // 3/(2.4999998 + 1e-6) > 1 and nothing changes. (With max_norm 2.5 it
        // would be 2.5/(2.4999998 + 1e-6) < 1 and PyTorch clips again, slightly.)
        let before = a.grad.clone();
        let norm = clip_grad_norm(&mut [&mut a, &mut b], 3.0).unwrap();
        assert!((norm - 5.0 * coef).abs() < 1e-6);
        assert_eq!(a.grad, before);
    }

    fn norm_below_max_is_unchanged<T: Scalar>() {
        // ‖[0.3, 0.4]‖ = 0.5 ≤ 1: coef = 1/(0.5 + 1e-6) > 1, nothing changes.
        let mut a = param::<T>(&[0.0, 0.0]);
        set_grad(&mut a, &[0.3, 0.4]);
        let before = a.grad.clone();
        let norm = clip_grad_norm(&mut [&mut a], 1.0).unwrap();
        assert!((norm - 0.5).abs() < 1e-7);
        assert_eq!(a.grad, before);
    }

    fn norm_with_visitor<T: Scalar>() {
        // Same numbers as the slice form, through a layer-style visitor.
        let mut net = TwoParams {
            a: param::<T>(&[0.0, 0.0]),
            b: param::<T>(&[0.0]),
        };
        set_grad(&mut net.a, &[3.0, 0.0]);
        set_grad(&mut net.b, &[4.0]);
        let norm = clip_grad_norm_with(2.5, |f| net.visit_params_mut(&mut |p| f(p))).unwrap();
        assert_eq!(norm, 5.0);
        let coef = 2.5 / (5.0 + 1e-6);
        assert_close(&net.a.grad, &[3.0 * coef, 0.0]);
        assert_close(&net.b.grad, &[4.0 * coef]);
        clip_grad_value_with(1.0, |f| net.visit_params_mut(&mut |p| f(p))).unwrap();
        assert_close(&net.a.grad, &[1.0, 0.0]);
        assert_close(&net.b.grad, &[1.0]);
    }

    fn non_finite_norm_is_an_error<T: Scalar>() {
        let mut a = param::<T>(&[0.0]);
        let mut b = param::<T>(&[0.0, 0.0]);
        b.name = "bias";
        set_grad(&mut a, &[1.0]);
        set_grad(&mut b, &[2.0, f64::NAN]);
        let err = clip_grad_norm(&mut [&mut a, &mut b], 1.0).unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }));
        assert!(
            err.to_string()
                .starts_with("non-finite value in the gradient of parameter 1 (\"bias\")"),
            "{err}"
        );
        // Left unchanged.
        assert_close(&a.grad, &[1.0]);
        set_grad(&mut b, &[f64::INFINITY, 0.0]);
        assert!(clip_grad_norm(&mut [&mut a, &mut b], 1.0).is_err());
    }

    fn value_clamps<T: Scalar>() {
        // clip 0.5: [−2, −0.25, 0, 0.5, 3] → [−0.5, −0.25, 0, 0.5, 0.5].
        let mut a = param::<T>(&[0.0; 5]);
        set_grad(&mut a, &[-2.0, -0.25, 0.0, 0.5, 3.0]);
        clip_grad_value(&mut [&mut a], 0.5).unwrap();
        assert_close(&a.grad, &[-0.5, -0.25, 0.0, 0.5, 0.5]);
        set_grad(&mut a, &[f64::NAN, 1.0, -1.0, 0.0, 0.0]);
        clip_grad_value(&mut [&mut a], 0.5).unwrap();
        assert!(a.grad.as_slice()[0].is_nan());
    }

    for_f32_and_f64!(
        norm_clips_and_returns_the_norm_before,
        norm_below_max_is_unchanged,
        norm_with_visitor,
        non_finite_norm_is_an_error,
        value_clamps
    );

    #[test]
    fn overflowing_norm_is_an_error() {
        // Finite f64 gradients whose squares overflow.
        let mut a = param::<f64>(&[0.0]);
        set_grad(&mut a, &[1e200]);
        let err = clip_grad_norm(&mut [&mut a], 1.0).unwrap_err();
        assert!(err.to_string().contains("overflows F64"), "{err}");
    }

    #[test]
    fn invalid_bounds_are_errors() {
        let mut a = param::<f32>(&[0.0]);
        set_grad(&mut a, &[1.0]);
        for bad in [0.0, -1.0, f64::NAN] {
            let err = clip_grad_norm(&mut [&mut a], bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid max_norm"), "{err}");
            let err = clip_grad_value(&mut [&mut a], bad).unwrap_err();
            assert!(err.to_string().starts_with("invalid clip value"), "{err}");
        }
        assert_eq!(a.grad.as_slice(), &[1.0]);
        // An empty set of parameters has norm 0.
        assert_eq!(clip_grad_norm::<f32>(&mut [], 1.0).unwrap(), 0.0);
    }
}
