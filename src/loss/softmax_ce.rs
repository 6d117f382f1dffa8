//! Softmax cross-entropy on logits, and the class-target helpers it shares
//! with accuracy metrics.
//!
//! The formula and conventions are documented on [`Loss::softmax_cross_entropy`].

#[cfg(doc)]
use super::Loss;
use super::{Out, empty_batch};
use crate::{Error, Result, Scalar, Tensor};

const NAME: &str = "softmax_cross_entropy";

/// How far a row of target probabilities may sum from 1.
const SUM_TOLERANCE: f64 = 1e-4;

fn index_in<T: Scalar>(name: &'static str, value: T, row: usize, classes: usize) -> Result<usize> {
    let v = value.as_f64();
    // NaN fails both comparisons; `fract` rejects 2.5; the bound rejects ±∞.
    if v >= 0.0 && v < classes as f64 && v.fract() == 0.0 {
        Ok(v as usize)
    } else {
        Err(Error::invalid_arg(
            name,
            value,
            format!("row {row} must hold a class index, an integer in 0..{classes}"),
        ))
    }
}

/// Checks one row of target probabilities (entries in `[0, 1]`, sum within
/// [`SUM_TOLERANCE`] of 1) and returns its sum.
fn probability_row<T: Scalar>(name: &'static str, y: &[T], row: usize) -> Result<T> {
    let mut sum = 0.0f64;
    for (c, &v) in y.iter().enumerate() {
        if !(v >= T::zero() && v <= T::one()) {
            return Err(Error::invalid_arg(
                name,
                v,
                format!("row {row}, class {c}: a probability must lie in [0, 1]"),
            ));
        }
        sum += v.as_f64();
    }
    if (sum - 1.0).abs() > SUM_TOLERANCE {
        return Err(Error::invalid_arg(
            name,
            T::from_f64(sum),
            format!(
                "the probabilities of row {row} sum to this, not to 1 (tolerance {SUM_TOLERANCE:e})"
            ),
        ));
    }
    Ok(T::from_f64(sum))
}

/// Converts one class-index target value to a `usize`, checking that it is an
/// integer in `0..classes`; `row` is named in the error.
///
/// ```
/// use weightwise::loss::class_index;
/// assert_eq!(class_index(2.0f32, 0, 3).unwrap(), 2);
/// assert!(class_index(3.0f32, 0, 3).is_err());
/// assert!(class_index(0.5f64, 0, 3).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] naming the row and the value when it is
/// negative, non-integral, NaN or `≥ classes`.
pub fn class_index<T: Scalar>(value: T, row: usize, classes: usize) -> Result<usize> {
    index_in("class index", value, row, classes)
}

/// The class of each sample of a classification target, in any form
/// [`Loss::softmax_cross_entropy`] accepts:
/// - class indices `[n]`: each value checked by [`class_index`];
/// - probabilities or one-hot rows `[n, classes]` (entries in `[0, 1]`, rows
///   summing to 1 within `1e−4`): the most probable class of each row, the
///   first one on ties (Keras' `categorical_accuracy` convention).
///
/// ```
/// use weightwise::{loss::class_indices, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let one_hot = Tensor::from_rows(&[[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])?;
/// assert_eq!(class_indices(&one_hot, 3)?, vec![1, 0]);
/// assert_eq!(class_indices(&Tensor::from_slice(&[1.0, 0.0]), 3)?, vec![1, 0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] if `classes` is 0 or a value is invalid (naming
/// the row and the value); [`Error::InvalidShape`] if `target` is neither
/// `[n]` nor `[n, classes]`.
pub fn class_indices<T: Scalar>(target: &Tensor<T>, classes: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    class_indices_into(target, classes, &mut out)?;
    Ok(out)
}

/// [`class_indices`] into an existing `Vec`, reusing its memory; `out` is
/// cleared first.
///
/// # Errors
/// As for [`class_indices`]; `out`'s contents are then unspecified.
pub fn class_indices_into<T: Scalar>(
    target: &Tensor<T>,
    classes: usize,
    out: &mut Vec<usize>,
) -> Result<()> {
    if classes == 0 {
        return Err(Error::invalid_arg("classes", 0, "must be at least 1"));
    }
    out.clear();
    match *target.shape() {
        [_] => {
            for (row, &v) in target.as_slice().iter().enumerate() {
                out.push(class_index(v, row, classes)?);
            }
        }
        [_, c] if c == classes => {
            for (row, y) in target.as_slice().chunks_exact(c).enumerate() {
                probability_row("class probability", y, row)?;
                let mut best = 0;
                for (k, &v) in y.iter().enumerate() {
                    if v > y[best] {
                        best = k;
                    }
                }
                out.push(best);
            }
        }
        _ => {
            return Err(Error::invalid_shape(
                "class_indices",
                target.shape(),
                format!("expected class indices [n] or probabilities [n, {classes}]"),
            ));
        }
    }
    Ok(())
}

/// `(1/n) Σ_rows −Σ_c y'_c log softmax(x)_c` with `y' = (1 − ε)·y + ε/C`,
/// gradient `(softmax(x)·Σy' − y')/n` (without `1/n` for the sum and the
/// unreduced form, which writes one loss per row into `[n]`).
pub(super) fn softmax_cross_entropy<T: Scalar>(
    smoothing: f64,
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    out: Out<'_, T>,
) -> Result<T> {
    let (n, c) = pred.dims2(NAME)?;
    if n == 0 {
        return Err(empty_batch(NAME, pred.shape()));
    }
    if c == 0 {
        return Err(Error::invalid_shape(
            NAME,
            pred.shape(),
            "needs at least one class (column)",
        ));
    }
    let by_index = match *target.shape() {
        [m] if m == n => true,
        [m, k] if m == n && k == c => false,
        _ => {
            let hint = if c == 1 {
                "the target must be class indices [n] or probabilities [n, C]; a one-output \
                 network has one class: for two classes use binary_cross_entropy with 0/1 targets"
            } else {
                "the target must be class indices [n] or probabilities [n, C] \
                 (one_hot turns indices into the latter)"
            };
            return Err(Error::shape_mismatch(
                NAME,
                pred.shape(),
                target.shape(),
                hint,
            ));
        }
    };
    let mean = matches!(out, Out::Mean);
    let mut losses = match out {
        Out::None(l) => {
            l.resize_zeroed(&[n]);
            Some(l)
        }
        _ => None,
    };
    grad.resize_zeroed(pred.shape());
    let scale = if mean {
        T::one() / T::from_usize(n)
    } else {
        T::one()
    };
    // y' = keep·y + spread.
    let eps = T::from_f64(smoothing);
    let keep = T::one() - eps;
    let spread = eps / T::from_usize(c);
    let mut total = 0.0f64;
    let rows = pred.as_slice().chunks_exact(c);
    for (i, (x, g)) in rows
        .zip(grad.as_mut_slice().chunks_exact_mut(c))
        .enumerate()
    {
        // logsumexp(x) = m + ln Σ e^(x_c − m); g holds e^(x_c − m) meanwhile.
        // `max` skips NaN, but a NaN logit still makes its e^(x − m), the sum
        // and so the loss NaN.
        let m = x.iter().fold(T::neg_infinity(), |a, &b| a.max(b));
        let mut sum = T::zero();
        for (gj, &xj) in g.iter_mut().zip(x) {
            *gj = (xj - m).exp();
            sum += *gj;
        }
        let lse = m + sum.ln();
        let inv_sum = T::one() / sum;
        let row = if by_index {
            let k = index_in("softmax_cross_entropy target", target.as_slice()[i], i, c)?;
            // −Σ y'_c log p_c = keep·(lse − x_k) + spread·Σ_c (lse − x_c); Σ y' = 1.
            let mut row = keep * (lse - x[k]);
            if smoothing > 0.0 {
                let mut all = T::zero();
                for &xj in x {
                    all += lse - xj;
                }
                row += spread * all;
            }
            for gj in g.iter_mut() {
                *gj = (*gj * inv_sum - spread) * scale;
            }
            g[k] -= keep * scale;
            row
        } else {
            let y = &target.as_slice()[i * c..(i + 1) * c];
            let s = probability_row("softmax_cross_entropy target", y, i)?;
            let s = keep * s + eps;
            let mut row = T::zero();
            for ((gj, &xj), &yj) in g.iter_mut().zip(x).zip(y) {
                let yj = keep * yj + spread;
                row += yj * (lse - xj);
                *gj = (*gj * inv_sum * s - yj) * scale;
            }
            row
        };
        total += row.as_f64();
        if let Some(l) = losses.as_deref_mut() {
            l.as_mut_slice()[i] = row;
        }
    }
    Ok(T::from_f64(if mean { total / n as f64 } else { total }))
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::Uniform;

    use super::*;
    use crate::loss::{Loss, LossFn};

    macro_rules! softmax_ce_tests {
        ($mod:ident, $t:ty) => {
            mod $mod {
                use super::*;
                type F = $t;

                fn t(v: &[F], s: &[usize]) -> Tensor<F> {
                    Tensor::from_vec(v.to_vec(), s).unwrap()
                }

                fn ce() -> Loss {
                    Loss::softmax_cross_entropy()
                }

                #[test]
                fn two_rows_by_index() {
                    // Row 0: logits [0, 0], class 1: softmax [½, ½], loss −ln ½ = ln 2.
                    // Row 1: logits [0, ln 3], class 0: softmax [¼, ¾], loss −ln ¼ = 2 ln 2.
                    // Mean: 1.5 ln 2.
                    let p = t(&[0.0, 0.0, 0.0, (3.0 as F).ln()], &[2, 2]);
                    let y = t(&[1.0, 0.0], &[2]);
                    let mut g = Tensor::default();
                    let l = ce().loss_and_grad(&p, &y, &mut g).unwrap();
                    assert_relative_eq!(l, 1.5 * (2.0 as F).ln(), max_relative = 1e-6);
                    // (softmax − onehot)/2: row 0 ([½, ½] − [0, 1])/2, row 1 ([¼, ¾] − [1, 0])/2.
                    let want = t(&[0.25, -0.25, -0.375, 0.375], &[2, 2]);
                    assert_relative_eq!(g, want, max_relative = 1e-6);
                }

                #[test]
                fn three_classes() {
                    // Logits [1, 2, 3], class 2: ln(e + e² + e³) − 3 = ln(e^−2 + e^−1 + 1).
                    let p = t(&[1.0, 2.0, 3.0], &[1, 3]);
                    let e: F = std::f64::consts::E as F;
                    let want = (1.0 / (e * e) + 1.0 / e + 1.0).ln();
                    let l = ce().loss(&p, &t(&[2.0], &[1])).unwrap();
                    assert_relative_eq!(l, want, max_relative = 1e-6);
                }

                #[test]
                fn probability_targets() {
                    // Logits [0, 0], y = [¼, ¾]: −(¼ ln ½ + ¾ ln ½) = ln 2;
                    // grad [½ − ¼, ½ − ¾] = [¼, −¼].
                    let p = t(&[0.0, 0.0], &[1, 2]);
                    let y = t(&[0.25, 0.75], &[1, 2]);
                    let mut g = Tensor::default();
                    let l = ce().loss_and_grad(&p, &y, &mut g).unwrap();
                    assert_relative_eq!(l, (2.0 as F).ln(), max_relative = 1e-6);
                    assert_eq!(g, t(&[0.25, -0.25], &[1, 2]));
                }

                #[test]
                fn index_and_one_hot_targets_agree() {
                    let mut rng = StdRng::seed_from_u64(11);
                    let dist = Uniform::new(-3.0 as F, 3.0).unwrap();
                    let p: Tensor<F> = Tensor::random(&[5, 4], &dist, &mut rng).unwrap();
                    let idx = [3usize, 0, 2, 2, 1];
                    let by_index = t(&idx.map(|k| k as F), &[5]);
                    let mut one_hot = Tensor::<F>::zeros(&[5, 4]).unwrap();
                    for (i, &k) in idx.iter().enumerate() {
                        one_hot[[i, k]] = 1.0;
                    }
                    let (mut g1, mut g2) = (Tensor::default(), Tensor::default());
                    let l1 = ce().loss_and_grad(&p, &by_index, &mut g1).unwrap();
                    let l2 = ce().loss_and_grad(&p, &one_hot, &mut g2).unwrap();
                    assert_relative_eq!(l1, l2, max_relative = 1e-6);
                    assert_relative_eq!(g1, g2, epsilon = 1e-7, max_relative = 1e-6);
                    // Each gradient row sums to 0: Σ softmax = 1 = Σ onehot.
                    for row in g1.iter_rows().unwrap() {
                        assert!(row.iter().sum::<F>().abs() < 1e-6);
                    }
                    assert_eq!(class_indices(&one_hot, 4).unwrap(), idx.to_vec());
                    assert_eq!(class_indices(&by_index, 4).unwrap(), idx.to_vec());
                }

                #[test]
                fn stable_for_huge_logits() {
                    let p = t(&[1000.0, -1000.0, 1000.0, -1000.0, 1000.0, 1000.0], &[3, 2]);
                    let y = t(&[0.0, 1.0, 0.0], &[3]);
                    let mut g = Tensor::default();
                    let l = ce().loss_and_grad(&p, &y, &mut g).unwrap();
                    // Row 0, class 0: logsumexp = 1000 + ln(1 + e^−2000) = 1000; 1000 − 1000 = 0.
                    // Row 1, class 1: 1000 − (−1000) = 2000.
                    // Row 2, class 0: 1000 + ln 2 − 1000 = ln 2.
                    // Mean: (2000 + ln 2)/3.
                    assert!(l.is_finite());
                    assert_relative_eq!(l, (2000.0 + (2.0 as F).ln()) / 3.0, max_relative = 1e-6);
                    // (softmax − onehot)/3: [0, 0], [1, −1]/3, [½ − 1, ½]/3.
                    let third: F = 1.0 / 3.0;
                    let want = t(&[0.0, 0.0, third, -third, -0.5 * third, 0.5 * third], &[3, 2]);
                    assert_relative_eq!(g, want, max_relative = 1e-6);
                }

                #[test]
                fn one_class_is_zero_loss() {
                    // softmax of one logit is 1: loss −ln 1 = 0, gradient 1 − 1 = 0.
                    let mut g = Tensor::default();
                    let l = ce().loss_and_grad(&t(&[7.0], &[1, 1]), &t(&[0.0], &[1]), &mut g).unwrap();
                    assert_eq!(l, 0.0);
                    assert_eq!(g.as_slice(), &[0.0]);
                }

                #[test]
                fn shape_errors() {
                    let p = t(&[0.0; 6], &[2, 3]);
                    let err = ce().loss(&t(&[0.0; 3], &[3]), &t(&[0.0], &[1])).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "softmax_cross_entropy: shape 3 is invalid: expected a 2-D tensor"
                    );
                    let err = ce().loss(&t(&[], &[2, 0]), &t(&[0.0, 0.0], &[2])).unwrap_err();
                    assert!(err.to_string().contains("at least one class"), "{err}");
                    for bad in [vec![3], vec![2, 2], vec![3, 3], vec![2, 3, 1], vec![]] {
                        let y = Tensor::<F>::zeros(&bad).unwrap();
                        let err = ce().loss(&p, &y).unwrap_err();
                        assert!(matches!(err, Error::ShapeMismatch { op: NAME, .. }), "{err}");
                        assert!(err.to_string().starts_with("softmax_cross_entropy: left is 2×3"), "{err}");
                    }
                }

                #[test]
                fn bad_class_indices_are_errors_naming_row_and_value() {
                    let p = t(&[0.0; 6], &[2, 3]);
                    for bad in [3.0, -1.0, 0.5, F::NAN, F::INFINITY] {
                        let err = ce().loss(&p, &t(&[0.0, bad], &[2])).unwrap_err();
                        assert_eq!(
                            err.to_string(),
                            format!(
                                "invalid softmax_cross_entropy target = {bad}: row 1 must hold a class index, an integer in 0..3"
                            )
                        );
                    }
                }

                #[test]
                fn bad_probabilities_are_errors_naming_row_and_value() {
                    let p = t(&[0.0; 6], &[2, 3]);
                    for bad in [-0.5, 1.5, F::NAN] {
                        let y = t(&[1.0, 0.0, 0.0, 0.0, 1.0, bad], &[2, 3]);
                        let err = ce().loss(&p, &y).unwrap_err();
                        assert_eq!(
                            err.to_string(),
                            format!(
                                "invalid softmax_cross_entropy target = {bad}: row 1, class 2: a probability must lie in [0, 1]"
                            )
                        );
                    }
                    let y = t(&[1.0, 0.0, 0.0, 0.5, 0.25, 0.0], &[2, 3]);
                    let err = ce().loss(&p, &y).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "invalid softmax_cross_entropy target = 0.75: the probabilities of row 1 sum to this, not to 1 (tolerance 1e-4)"
                    );
                    // Within the tolerance is accepted.
                    let y = t(&[1.0, 0.0, 0.0, 0.5, 0.25, 0.25 + 5e-5], &[2, 3]);
                    assert!(ce().loss(&p, &y).is_ok());
                }

                #[test]
                fn class_index_helpers() {
                    assert_eq!(class_index(2.0 as F, 0, 3).unwrap(), 2);
                    let err = class_index(3.0 as F, 4, 3).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "invalid class index = 3: row 4 must hold a class index, an integer in 0..3"
                    );
                    // Ties go to the first class; soft labels give the most probable one.
                    let soft = t(&[0.5, 0.5, 0.0, 0.1, 0.2, 0.7], &[2, 3]);
                    assert_eq!(class_indices(&soft, 3).unwrap(), vec![0, 2]);
                    let mut out = vec![9, 9, 9, 9];
                    class_indices_into(&soft, 3, &mut out).unwrap();
                    assert_eq!(out, vec![0, 2]);
                    let err = class_indices(&soft, 0).unwrap_err();
                    assert_eq!(err.to_string(), "invalid classes = 0: must be at least 1");
                    let err = class_indices(&soft, 2).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "class_indices: shape 2×3 is invalid: expected class indices [n] or probabilities [n, 2]"
                    );
                    assert!(class_indices(&Tensor::scalar(1.0 as F), 3).is_err());
                    let bad = t(&[0.5, 0.6, 0.0], &[1, 3]);
                    let err = class_indices(&bad, 3).unwrap_err();
                    assert!(err.to_string().starts_with("invalid class probability"), "{err}");
                    assert!(class_indices(&t(&[1.0, 7.0], &[2]), 3).is_err());
                }
            }
        };
    }

    softmax_ce_tests!(f32_tests, f32);
    softmax_ce_tests!(f64_tests, f64);
}
