//! Regression losses: mean squared error, mean absolute error, Huber.
//!
//! The formulas and conventions are documented on [`Loss::mse`],
//! [`Loss::mae`] and [`Loss::huber`].

#[cfg(doc)]
use super::Loss;
use super::{Out, elementwise};
use crate::{Error, Result, Scalar, Tensor};

/// `sign(d)` with `sign(±0) = 0` (PyTorch's convention for the L1 gradient);
/// NaN stays NaN.
fn sign<T: Scalar>(d: T) -> T {
    if d > T::zero() {
        T::one()
    } else if d < T::zero() {
        -T::one()
    } else {
        d
    }
}

/// `(1/N) Σ (ŷ − y)²`, gradient `2(ŷ − y)/N`.
pub(super) fn mse<T: Scalar>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
) -> Result<T> {
    let two = T::from_f64(2.0);
    elementwise("mse", pred, target, grad, out, |x, y, _| {
        let d = x - y;
        Ok((d * d, two * d))
    })
}

/// `(1/N) Σ |ŷ − y|`, gradient `sign(ŷ − y)/N`.
pub(super) fn mae<T: Scalar>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
) -> Result<T> {
    elementwise("mae", pred, target, grad, out, |x, y, _| {
        let d = x - y;
        Ok((d.abs(), sign(d)))
    })
}

/// `(1/N) Σ ℓ_δ(ŷ − y)` with `ℓ_δ(d) = ½d²` for `|d| < δ`, `δ(|d| − ½δ)` otherwise.
pub(super) fn huber<T: Scalar>(
    delta: f64,
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
) -> Result<T> {
    let dt = T::from_f64(delta);
    if !(delta > 0.0 && delta.is_finite() && dt > T::zero() && dt.is_finite()) {
        return Err(Error::invalid_arg(
            "huber delta",
            delta,
            format!(
                "must be positive and finite as an {} (PyTorch requires delta > 0)",
                T::DTYPE.to_lowercase()
            ),
        ));
    }
    let half = T::from_f64(0.5);
    elementwise("huber", pred, target, grad, out, |x, y, _| {
        let d = x - y;
        let a = d.abs();
        if a < dt {
            Ok((half * d * d, d))
        } else {
            Ok((dt * (a - half * dt), dt * sign(d)))
        }
    })
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;

    use crate::loss::{Loss, LossFn};
    use crate::{Error, Tensor};

    macro_rules! regression_tests {
        ($mod:ident, $t:ty) => {
            mod $mod {
                use super::*;
                type F = $t;

                fn t(v: &[F], s: &[usize]) -> Tensor<F> {
                    Tensor::from_vec(v.to_vec(), s).unwrap()
                }

                /// pred − target = d = [0, 2, −2, 0] over N = 4 elements.
                fn pair() -> (Tensor<F>, Tensor<F>) {
                    (
                        t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]),
                        t(&[1.0, 0.0, 5.0, 4.0], &[2, 2]),
                    )
                }

                #[test]
                fn mse_value_and_grad() {
                    let (p, y) = pair();
                    let mut g = Tensor::default();
                    // Σd² = 0 + 4 + 4 + 0 = 8; 8 / 4 = 2.
                    let l = Loss::mse().loss_and_grad(&p, &y, &mut g).unwrap();
                    assert_eq!(l, 2.0);
                    // 2d/N = d/2.
                    assert_eq!(g, t(&[0.0, 1.0, -1.0, 0.0], &[2, 2]));
                }

                #[test]
                fn mae_value_and_grad_with_sign_of_zero_zero() {
                    let (p, y) = pair();
                    let mut g = Tensor::default();
                    // Σ|d| = 4; 4 / 4 = 1.
                    let l = Loss::mae().loss_and_grad(&p, &y, &mut g).unwrap();
                    assert_eq!(l, 1.0);
                    // sign(d)/N with sign(0) = 0 (PyTorch).
                    assert_eq!(g, t(&[0.0, 0.25, -0.25, 0.0], &[2, 2]));
                }

                #[test]
                fn huber_value_and_grad() {
                    let p = t(&[0.5, -2.0, 3.0, 0.0], &[4]);
                    let y = t(&[0.0; 4], &[4]);
                    let mut g = Tensor::default();
                    // δ = 1: ½·0.5² = 0.125; 1·(2 − ½) = 1.5; 1·(3 − ½) = 2.5; 0.
                    // Σ = 4.125; / 4 = 1.03125.
                    let l = Loss::huber(1.0).loss_and_grad(&p, &y, &mut g).unwrap();
                    assert_eq!(l, 1.03125);
                    // d for |d| < δ, δ·sign(d) beyond, all / 4.
                    assert_eq!(g, t(&[0.125, -0.25, 0.25, 0.0], &[4]));
                    // δ = 2: ½·0.25 = 0.125; |−2| = δ is linear: 2·(2 − 1) = 2 (= ½·2²);
                    // 2·(3 − 1) = 4; 0. Σ = 6.125; / 4 = 1.53125.
                    let l = Loss::huber(2.0).loss_and_grad(&p, &y, &mut g).unwrap();
                    assert_eq!(l, 1.53125);
                    assert_eq!(g, t(&[0.125, -0.5, 0.5, 0.0], &[4]));
                }

                #[test]
                fn huber_is_continuous_at_delta_and_limits_to_half_mse_and_scaled_mae() {
                    let y = t(&[0.0], &[1]);
                    let h = Loss::huber(0.7);
                    let at = |d: F| h.loss(&t(&[d], &[1]), &y).unwrap();
                    let eps: F = 1e-3;
                    // Both branches give ½δ² = 0.245 at |d| = δ.
                    assert_relative_eq!(at(0.7), 0.245, max_relative = 1e-6);
                    assert_relative_eq!(at(0.7 - eps), at(0.7 + eps), epsilon = 2e-3);
                    // Small residuals: ½·MSE; large: δ·MAE − ½δ².
                    let p = t(&[0.1, -0.2], &[2]);
                    let z = t(&[0.0, 0.0], &[2]);
                    assert_relative_eq!(
                        h.loss(&p, &z).unwrap(),
                        0.5 * Loss::mse().loss(&p, &z).unwrap(),
                        max_relative = 1e-6
                    );
                    let p = t(&[5.0, -9.0], &[2]);
                    assert_relative_eq!(
                        h.loss(&p, &z).unwrap(),
                        0.7 * Loss::mae().loss(&p, &z).unwrap() - 0.245,
                        max_relative = 1e-6
                    );
                }

                #[test]
                fn scalar_predictions_work() {
                    // A 0-D tensor is one element: (3 − 1)² = 4.
                    let l = Loss::mse()
                        .loss(&Tensor::scalar(3.0 as F), &Tensor::scalar(1.0))
                        .unwrap();
                    assert_eq!(l, 4.0);
                }

                #[test]
                fn bad_huber_delta_is_an_error() {
                    let (p, y) = pair();
                    for delta in [0.0, -1.0, f64::NAN, f64::INFINITY] {
                        let err = Loss::huber(delta).loss(&p, &y).unwrap_err();
                        assert!(
                            matches!(
                                err,
                                Error::InvalidArgument {
                                    name: "huber delta",
                                    ..
                                }
                            ),
                            "{err}"
                        );
                        assert!(err.to_string().contains(&format!("= {delta}")), "{err}");
                    }
                }
            }
        };
    }

    regression_tests!(f32_tests, f32);
    regression_tests!(f64_tests, f64);

    #[test]
    fn huber_delta_must_survive_rounding_to_f32() {
        let p = Tensor::from_slice(&[1.0f32]);
        // 1e39 overflows f32 (max ≈ 3.4e38), 1e-50 underflows to 0.
        for delta in [1e39, 1e-50] {
            let err = Loss::huber(delta).loss(&p, &p).unwrap_err();
            assert!(err.to_string().contains("as an f32"), "{err}");
            assert!(Loss::huber(delta).loss(&p.cast::<f64>(), &p.cast()).is_ok());
        }
    }
}
