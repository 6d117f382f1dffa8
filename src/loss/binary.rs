//! Binary classification losses: cross-entropy on logits, and hinge.
//!
//! The formulas and conventions are documented on
//! [`Loss::binary_cross_entropy`] and [`Loss::hinge`].

#[cfg(doc)]
use super::Loss;
use super::{Out, elementwise, position};
use crate::special::sigmoid;
use crate::{Error, Result, Scalar, Tensor};

/// `(1/N) Σ max(x, 0) − x·y + log(1 + e^−|x|)`, gradient `(σ(x) − y)/N`.
pub(super) fn binary_cross_entropy<T: Scalar>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
) -> Result<T> {
    let shape = target.shape();
    elementwise(
        "binary_cross_entropy",
        pred,
        target,
        grad,
        out,
        |x, y, i| {
            if !(y >= T::zero() && y <= T::one()) {
                return Err(Error::invalid_arg(
                    "binary_cross_entropy target",
                    y,
                    format!("element {} must lie in [0, 1]", position(i, shape)),
                ));
            }
            let value = x.max(T::zero()) - x * y + (-x.abs()).exp().ln_1p();
            Ok((value, sigmoid(x) - y))
        },
    )
}

/// `(1/N) Σ max(0, 1 − y·ŷ)` with `{0, 1}` labels mapped to `{−1, +1}`,
/// gradient `−y/N` where the margin is violated.
pub(super) fn hinge<T: Scalar>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
) -> Result<T> {
    let shape = target.shape();
    let (mut first_zero, mut first_minus_one) = (None, None);
    let loss = elementwise("hinge", pred, target, grad, out, |x, y, i| {
        let y = if y == T::one() {
            y
        } else if y == -T::one() {
            first_minus_one.get_or_insert(i);
            y
        } else if y == T::zero() {
            first_zero.get_or_insert(i);
            -T::one()
        } else {
            return Err(Error::invalid_arg(
                "hinge target",
                y,
                format!(
                    "element {} must be −1 or +1 (or 0 or 1, converted as Keras does)",
                    position(i, shape)
                ),
            ));
        };
        let margin = T::one() - y * x;
        // `margin ≤ 0` rather than `margin > 0` so that a NaN margin (a NaN
        // prediction) yields a NaN loss instead of a silent 0.
        if margin <= T::zero() {
            Ok((T::zero(), T::zero()))
        } else {
            Ok((margin, -y))
        }
    })?;
    if let (Some(z), Some(m)) = (first_zero, first_minus_one) {
        return Err(Error::invalid_arg(
            "hinge target",
            format!(
                "0 at {} and −1 at {}",
                position(z, shape),
                position(m, shape)
            ),
            "labels must all be in {−1, +1} or all in {0, 1}, not a mix",
        ));
    }
    Ok(loss)
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;

    use super::sigmoid;
    use crate::loss::{Loss, LossFn};
    use crate::{Error, Tensor};

    macro_rules! binary_tests {
        ($mod:ident, $t:ty) => {
            mod $mod {
                use super::*;
                type F = $t;

                fn t(v: &[F], s: &[usize]) -> Tensor<F> {
                    Tensor::from_vec(v.to_vec(), s).unwrap()
                }

                #[test]
                fn sigmoid_is_stable_and_symmetric() {
                    assert_eq!(sigmoid(0.0 as F), 0.5);
                    assert_eq!(sigmoid(1000.0 as F), 1.0);
                    assert_eq!(sigmoid(-1000.0 as F), 0.0);
                    let x: F = 1.3;
                    assert_relative_eq!(sigmoid(x) + sigmoid(-x), 1.0, max_relative = 1e-6);
                }

                #[test]
                fn bce_value_and_grad() {
                    let p = t(&[0.0, 2.0, -2.0], &[3, 1]);
                    let y = t(&[1.0, 1.0, 0.5], &[3, 1]);
                    let mut g = Tensor::default();
                    let l = Loss::binary_cross_entropy().loss_and_grad(&p, &y, &mut g).unwrap();
                    // By max(x,0) − x·y + ln(1 + e^−|x|):
                    //   x = 0,  y = 1:   0 − 0 + ln 2
                    //   x = 2,  y = 1:   2 − 2 + ln(1 + e^−2)
                    //   x = −2, y = ½:   0 + 1 + ln(1 + e^−2)
                    let l2 = (1.0 + (-2.0 as F).exp()).ln();
                    assert_relative_eq!(l, ((2.0 as F).ln() + 2.0 * l2 + 1.0) / 3.0, max_relative = 1e-6);
                    // (σ(x) − y)/3 with σ(0) = ½, σ(2) = 1/(1 + e^−2), σ(−2) = 1 − σ(2).
                    let s2 = 1.0 / (1.0 + (-2.0 as F).exp());
                    let want = t(&[-0.5 / 3.0, (s2 - 1.0) / 3.0, (1.0 - s2 - 0.5) / 3.0], &[3, 1]);
                    assert_relative_eq!(g, want, max_relative = 1e-6);
                }

                #[test]
                fn bce_matches_the_naive_formula_for_moderate_logits() {
                    let p = t(&[0.3, -1.1, 2.5, -0.4], &[2, 2]);
                    let y = t(&[1.0, 0.0, 0.3, 0.9], &[2, 2]);
                    let naive: F = p.as_slice().iter().zip(y.as_slice()).map(|(&x, &y)| {
                        let s = 1.0 / (1.0 + (-x).exp());
                        -(y * s.ln() + (1.0 - y) * (1.0 - s).ln())
                    }).sum::<F>() / 4.0;
                    let l = Loss::binary_cross_entropy().loss(&p, &y).unwrap();
                    assert_relative_eq!(l, naive, max_relative = 1e-5);
                }

                #[test]
                fn bce_is_stable_for_huge_logits() {
                    let p = t(&[1000.0, -1000.0, 1000.0, -1000.0], &[4]);
                    let y = t(&[1.0, 1.0, 0.0, 0.0], &[4]);
                    let mut g = Tensor::default();
                    let l = Loss::binary_cross_entropy().loss_and_grad(&p, &y, &mut g).unwrap();
                    // Per element: 1000 − 1000 + ln(1 + e^−1000) = 0; 0 + 1000 + 0;
                    // 1000 − 0 + 0; 0 − 0 + 0. Mean = 2000 / 4 = 500.
                    assert_eq!(l, 500.0);
                    // (σ − y)/4 with σ(±1000) = 1 or 0 exactly.
                    assert_eq!(g, t(&[0.0, -0.25, 0.25, 0.0], &[4]));
                }

                #[test]
                fn bce_targets_outside_unit_interval_are_errors() {
                    let p = t(&[0.0; 4], &[2, 2]);
                    for bad in [1.5, -0.1, F::NAN] {
                        let y = t(&[1.0, 0.0, bad, 0.0], &[2, 2]);
                        let err = Loss::binary_cross_entropy().loss(&p, &y).unwrap_err();
                        assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
                        assert_eq!(
                            err.to_string(),
                            format!("invalid binary_cross_entropy target = {bad}: element [1, 0] must lie in [0, 1]")
                        );
                    }
                }

                #[test]
                fn hinge_value_and_grad() {
                    let p = t(&[0.5, -2.0, 2.0, 0.3, 2.0, 1.0], &[6]);
                    let y = t(&[1.0, 1.0, -1.0, -1.0, 1.0, 1.0], &[6]);
                    let mut g = Tensor::default();
                    let l = Loss::hinge().loss_and_grad(&p, &y, &mut g).unwrap();
                    // 1 − y·ŷ = 0.5, 3, 3, 1.3, −1 → 0, 0 (the kink) → 0.
                    // Σ = 7.8; / 6 = 1.3.
                    assert_relative_eq!(l, 1.3, max_relative = 1e-6);
                    // −y/6 where the margin is positive, 0 elsewhere and at the kink.
                    let s = 1.0 / 6.0;
                    assert_relative_eq!(g, t(&[-s, -s, s, s, 0.0, 0.0], &[6]), max_relative = 1e-6);
                }

                #[test]
                fn hinge_converts_zero_one_labels_like_keras() {
                    let p = t(&[0.5, -2.0, 2.0, 0.3], &[2, 2]);
                    let pm = t(&[1.0, 1.0, -1.0, -1.0], &[2, 2]);
                    let zo = t(&[1.0, 1.0, 0.0, 0.0], &[2, 2]);
                    let (mut g1, mut g2) = (Tensor::default(), Tensor::default());
                    let l1 = Loss::hinge().loss_and_grad(&p, &pm, &mut g1).unwrap();
                    let l2 = Loss::hinge().loss_and_grad(&p, &zo, &mut g2).unwrap();
                    assert_eq!(l1, l2);
                    assert_eq!(g1, g2);
                    // All ones is valid in both conventions.
                    assert!(Loss::hinge().loss(&p, &t(&[1.0; 4], &[2, 2])).is_ok());
                }

                #[test]
                fn hinge_bad_labels_are_errors() {
                    let p = t(&[0.0; 4], &[4]);
                    for bad in [0.5, 2.0, -2.0, F::NAN] {
                        let y = t(&[1.0, bad, 1.0, 1.0], &[4]);
                        let err = Loss::hinge().loss(&p, &y).unwrap_err();
                        assert_eq!(
                            err.to_string(),
                            format!(
                                "invalid hinge target = {bad}: element [1] must be −1 or +1 (or 0 or 1, converted as Keras does)"
                            )
                        );
                    }
                    let mixed = t(&[1.0, -1.0, 0.0, -1.0], &[4]);
                    let err = Loss::hinge().loss(&p, &mixed).unwrap_err();
                    assert!(matches!(err, Error::InvalidArgument { name: "hinge target", .. }), "{err}");
                    assert!(err.to_string().contains("0 at [2] and −1 at [1]"), "{err}");
                }
            }
        };
    }

    binary_tests!(f32_tests, f32);
    binary_tests!(f64_tests, f64);
}
