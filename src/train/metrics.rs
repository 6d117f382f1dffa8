//! Accuracy: the fraction of predictions that name the right answer.

use crate::loss::{Loss, class_indices_into};
use crate::{Result, Scalar, Tensor};

/// Counts correct predictions for a classification loss, returning
/// `(correct, total)`, or `None` for a regression loss.
///
/// - softmax cross-entropy: the row's largest logit is the target class (index
///   targets, or the most probable class of one-hot/probability targets);
/// - binary cross-entropy on logits: `logit > 0` ⇔ `target > ½`, per element
///   (Keras' `binary_accuracy` at threshold ½ on the probability);
/// - hinge: `sign(ŷ)` equals the label's sign (0 labels count as −1), per element.
///
/// `scratch` holds the decoded class indices; pass the same `Vec` each time
/// so no memory is allocated after the first call.
///
/// # Errors
/// Invalid targets, as the loss itself reports them.
pub fn count_correct<T: Scalar>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    loss: Loss,
    scratch: &mut Vec<usize>,
) -> Result<Option<(usize, usize)>> {
    match loss {
        Loss::SoftmaxCrossEntropy => {
            let (_, classes) = pred.dims2("accuracy")?;
            class_indices_into(target, classes, scratch)?;
            let mut correct = 0;
            for (row, &want) in pred.iter_rows()?.zip(scratch.iter()) {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = j;
                    }
                }
                correct += usize::from(best == want);
            }
            Ok(Some((correct, scratch.len())))
        }
        Loss::BinaryCrossEntropy | Loss::Hinge => {
            if pred.shape() != target.shape() {
                return Err(crate::Error::shape_mismatch(
                    "accuracy",
                    pred.shape(),
                    target.shape(),
                    "targets must have the prediction's shape",
                ));
            }
            let half = T::from_f64(0.5);
            let correct = pred
                .as_slice()
                .iter()
                .zip(target.as_slice())
                .filter(|&(&p, &t)| (p > T::zero()) == (t > half))
                .count();
            Ok(Some((correct, pred.len())))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_and_regression() {
        let mut scratch = Vec::new();
        let logits = Tensor::from_rows(&[[2.0f64, 1.0], [0.0, 3.0], [5.0, -1.0]]).unwrap();
        let idx = Tensor::from_slice(&[0.0, 1.0, 1.0]);
        let r = count_correct(&logits, &idx, Loss::softmax_cross_entropy(), &mut scratch);
        assert_eq!(r.unwrap(), Some((2, 3)));
        let onehot = Tensor::from_rows(&[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]).unwrap();
        let r = count_correct(
            &logits,
            &onehot,
            Loss::softmax_cross_entropy(),
            &mut scratch,
        );
        assert_eq!(r.unwrap(), Some((3, 3)));
        let bad = Tensor::from_slice(&[0.0, 7.0, 1.0]);
        assert!(count_correct(&logits, &bad, Loss::softmax_cross_entropy(), &mut scratch).is_err());

        let z = Tensor::from_rows(&[[0.3f64], [-2.0], [1.0]]).unwrap();
        let t = Tensor::from_rows(&[[1.0], [0.0], [0.0]]).unwrap();
        let r = count_correct(&z, &t, Loss::binary_cross_entropy(), &mut scratch);
        assert_eq!(r.unwrap(), Some((2, 3)));
        let pm = Tensor::from_rows(&[[1.0], [-1.0], [-1.0]]).unwrap();
        assert_eq!(
            count_correct(&z, &pm, Loss::hinge(), &mut scratch).unwrap(),
            Some((2, 3))
        );
        assert!(count_correct(&z, &idx, Loss::hinge(), &mut scratch).is_err());
        assert_eq!(
            count_correct(&z, &t, Loss::mse(), &mut scratch).unwrap(),
            None
        );
    }
}
