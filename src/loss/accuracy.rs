//! Accuracy for the built-in classification losses (see [`LossFn::accuracy`]).
//!
//! - softmax cross-entropy: the row's largest logit is the target class (index
//!   targets, or the most probable class of one-hot/probability targets);
//! - binary cross-entropy on logits: `logit > 0` ⇔ `target > ½`, per element
//!   (Keras' `binary_accuracy` at threshold ½ on the probability);
//! - hinge: `sign(ŷ)` equals the label's sign (0 labels count as −1), per element.

#[cfg(doc)]
use super::LossFn;
use super::{class_indices_into, same_elements};
use crate::{Error, Result, Scalar, Tensor};

/// `(correct, rows)`: the largest logit of each row against the target class.
pub(super) fn argmax<T: Scalar>(
    pred: &Tensor<T>,
    target: &Tensor<T>,
    scratch: &mut Vec<usize>,
) -> Result<(usize, usize)> {
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
    Ok((correct, scratch.len()))
}

/// `(correct, elements)`: `pred > 0` against `target > ½`.
pub(super) fn by_sign<T: Scalar>(pred: &Tensor<T>, target: &Tensor<T>) -> Result<(usize, usize)> {
    if !same_elements(pred.shape(), target.shape()) {
        return Err(Error::shape_mismatch(
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
    Ok((correct, pred.len()))
}

#[cfg(test)]
mod tests {
    use crate::Tensor;
    use crate::loss::{Loss, LossFn};

    #[test]
    fn classification_and_regression() {
        let mut scratch = Vec::new();
        let ce = Loss::softmax_cross_entropy();
        let logits = Tensor::from_rows(&[[2.0f64, 1.0], [0.0, 3.0], [5.0, -1.0]]).unwrap();
        let idx = Tensor::from_slice(&[0.0, 1.0, 1.0]);
        assert_eq!(
            ce.accuracy(&logits, &idx, &mut scratch).unwrap(),
            Some((2, 3))
        );
        let onehot = Tensor::from_rows(&[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]).unwrap();
        assert_eq!(
            ce.accuracy(&logits, &onehot, &mut scratch).unwrap(),
            Some((3, 3))
        );
        let bad = Tensor::from_slice(&[0.0, 7.0, 1.0]);
        assert!(ce.accuracy(&logits, &bad, &mut scratch).is_err());
        // Label smoothing does not change what counts as right.
        let smooth = ce.with_label_smoothing(0.2).unwrap();
        assert_eq!(
            smooth.accuracy(&logits, &idx, &mut scratch).unwrap(),
            Some((2, 3))
        );

        let z = Tensor::from_rows(&[[0.3f64], [-2.0], [1.0]]).unwrap();
        let t = Tensor::from_rows(&[[1.0], [0.0], [0.0]]).unwrap();
        let bce = Loss::binary_cross_entropy();
        assert_eq!(bce.accuracy(&z, &t, &mut scratch).unwrap(), Some((2, 3)));
        // A plain column of targets works for a one-output network.
        let column = Tensor::from_slice(&[1.0, 0.0, 0.0]);
        assert_eq!(
            bce.accuracy(&z, &column, &mut scratch).unwrap(),
            Some((2, 3))
        );
        let pm = Tensor::from_rows(&[[1.0], [-1.0], [-1.0]]).unwrap();
        assert_eq!(
            Loss::hinge().accuracy(&z, &pm, &mut scratch).unwrap(),
            Some((2, 3))
        );
        let two = Tensor::from_slice(&[1.0, 0.0]);
        assert!(Loss::hinge().accuracy(&z, &two, &mut scratch).is_err());
        assert_eq!(Loss::mse().accuracy(&z, &t, &mut scratch).unwrap(), None);
    }
}
