//! Encodings: class indices ↔ one-hot rows, and per-feature standardization.
//!
//! The reverse of [`one_hot`], from scores or probabilities back to class
//! indices, is [`Tensor::argmax_per_row`].

use crate::{Error, Result, Scalar, Tensor};

/// Class indices from a `[n]` tensor of targets stored as numbers
/// (`0.0, 1.0, …`), as [`Dataset`](super::Dataset) keeps them.
///
/// # Errors
/// [`Error::InvalidShape`] if `targets` is not 1-D; [`Error::InvalidArgument`]
/// naming the row if a value is not a non-negative integer below 2²⁴ (the
/// range where `f32` holds every integer exactly).
pub fn to_labels<T: Scalar>(targets: &Tensor<T>) -> Result<Vec<usize>> {
    if targets.ndim() != 1 {
        return Err(Error::invalid_shape(
            "to_labels",
            targets.shape(),
            "class-index targets must be 1-D [n]",
        ));
    }
    targets
        .as_slice()
        .iter()
        .enumerate()
        .map(|(row, &v)| {
            let x = v.as_f64();
            // Below 2²⁴ every integer is exact in f32 as well.
            if x >= 0.0 && x.fract() == 0.0 && x < 16_777_216.0 {
                Ok(x as usize)
            } else {
                Err(Error::invalid_arg(
                    "class index",
                    x,
                    format!("row {row}: must be a non-negative integer below 2^24"),
                ))
            }
        })
        .collect()
}

/// One-hot rows: `out[i, labels[i]] = 1`, every other entry 0; shape
/// `[n, classes]` (PyTorch's `F.one_hot`, Keras' `to_categorical`).
///
/// ```
/// use weightwise::{Tensor, data::one_hot};
/// let y: Tensor<f32> = one_hot(&[2, 0], 3).unwrap();
/// assert_eq!(y.as_slice(), &[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// assert!(one_hot::<f32>(&[3], 3).is_err());
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for zero `classes`, or naming the row of a
/// label `≥ classes`.
pub fn one_hot<T: Scalar>(labels: &[usize], classes: usize) -> Result<Tensor<T>> {
    if classes == 0 {
        return Err(Error::invalid_arg("classes", 0, "must be at least 1"));
    }
    if let Some((row, &label)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
        return Err(Error::invalid_arg(
            "class label",
            label,
            format!("row {row}: must be below the {classes} classes"),
        ));
    }
    let mut out = Tensor::zeros(&[labels.len(), classes])?;
    let data = out.as_mut_slice();
    for (row, &label) in labels.iter().enumerate() {
        data[row * classes + label] = T::one();
    }
    Ok(out)
}

/// [`one_hot`] of a `[n]` tensor of class indices stored as numbers.
///
/// # Errors
/// As for [`to_labels`] and [`one_hot`].
pub fn one_hot_tensor<T: Scalar>(labels: &Tensor<T>, classes: usize) -> Result<Tensor<T>> {
    one_hot(&to_labels(labels)?, classes)
}

/// Per-feature standardization, `z = (x − mean) / std`, fitted on training
/// data and applied to any data: scikit-learn's `StandardScaler`.
///
/// `mean` and `std` are per column, the std being the *population* one
/// (divisor n, ddof = 0, as scikit-learn; not PyTorch's default n − 1),
/// computed in `f64`. A constant feature (std zero up to rounding, with
/// scikit-learn's test `var ≤ n·ε·var + (n·|mean|·ε)²`) is centered but not
/// scaled: its divisor is 1, so it becomes 0 instead of NaN.
///
/// ```
/// use weightwise::{Tensor, data::Standardizer};
/// # fn main() -> weightwise::Result<()> {
/// let train = Tensor::from_rows(&[[1.0f64, 5.0], [3.0, 5.0]])?;
/// let s = Standardizer::fit(&train)?;
/// assert_eq!(s.mean().as_slice(), &[2.0, 5.0]);
/// assert_eq!(s.std().as_slice(), &[1.0, 0.0]);
/// let z = s.transform(&Tensor::from_rows(&[[4.0, 6.0]])?)?;
/// assert_eq!(z.as_slice(), &[2.0, 1.0]); // column 2 is constant: only centered
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Standardizer<T> {
    mean: Tensor<T>,
    std: Tensor<T>,
    scale: Tensor<T>,
}

impl<T: Scalar> Standardizer<T> {
    /// Learns each column's mean and population std from `x` `[n, d]`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `x` is not 2-D or has no rows;
    /// [`Error::NonFinite`] naming the column if a value is NaN or infinite.
    pub fn fit(x: &Tensor<T>) -> Result<Self> {
        const OP: &str = "Standardizer::fit";
        let (n, d) = x.dims2(OP)?;
        if n == 0 {
            return Err(Error::invalid_shape(
                OP,
                x.shape(),
                "needs at least one row",
            ));
        }
        let (mut mean, mut std, mut scale) = (Vec::new(), Vec::new(), Vec::new());
        let nf = n as f64;
        for j in 0..d {
            let col = || x.as_slice().iter().skip(j).step_by(d).map(|v| v.as_f64());
            if let Some(row) = col().position(|v| !v.is_finite()) {
                return Err(Error::non_finite(format!("{OP}: row {row}, column {j}")));
            }
            // Two passes: the mean, then the mean squared deviation.
            let m = col().sum::<f64>() / nf;
            let var = col().map(|v| (v - m).powi(2)).sum::<f64>() / nf;
            let eps = f64::EPSILON;
            let constant = var <= nf * eps * var + (nf * m.abs() * eps).powi(2);
            mean.push(T::from_f64(m));
            std.push(T::from_f64(var.sqrt()));
            scale.push(if constant {
                T::one()
            } else {
                T::from_f64(var.sqrt())
            });
        }
        Ok(Standardizer {
            mean: Tensor::from_slice(&mean),
            std: Tensor::from_slice(&std),
            scale: Tensor::from_slice(&scale),
        })
    }

    /// The fitted per-column means, `[d]` (scikit-learn's `mean_`).
    pub fn mean(&self) -> &Tensor<T> {
        &self.mean
    }

    /// The fitted per-column population standard deviations, `[d]`.
    pub fn std(&self) -> &Tensor<T> {
        &self.std
    }

    /// The divisors actually used: `std`, with 1 for constant columns
    /// (scikit-learn's `scale_`).
    pub fn scale(&self) -> &Tensor<T> {
        &self.scale
    }

    /// Number of features `d` it was fitted on.
    pub fn num_features(&self) -> usize {
        self.mean.len()
    }

    fn check(&self, op: &'static str, x: &Tensor<T>) -> Result<()> {
        let (_, d) = x.dims2(op)?;
        if d == self.num_features() {
            Ok(())
        } else {
            Err(Error::shape_mismatch(
                op,
                x.shape(),
                self.mean.shape(),
                "columns differ from the fitted features",
            ))
        }
    }

    /// `(x − mean) / scale`, column by column, as a new tensor.
    ///
    /// # Errors
    /// As for [`Standardizer::transform_in_place`].
    pub fn transform(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let mut out = x.clone();
        self.transform_in_place(&mut out)?;
        Ok(out)
    }

    /// `x ← (x − mean) / scale`, column by column.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `x` is not 2-D, [`Error::ShapeMismatch`] if
    /// its column count is not the fitted one.
    pub fn transform_in_place(&self, x: &mut Tensor<T>) -> Result<()> {
        self.check("Standardizer::transform", x)?;
        let (m, s) = (self.mean.as_slice(), self.scale.as_slice());
        for row in x.as_mut_slice().chunks_exact_mut(m.len().max(1)) {
            for ((v, &mj), &sj) in row.iter_mut().zip(m).zip(s) {
                *v = (*v - mj) / sj;
            }
        }
        Ok(())
    }

    /// The inverse, `x = z·scale + mean`.
    ///
    /// # Errors
    /// As for [`Standardizer::transform_in_place`].
    pub fn inverse_transform(&self, z: &Tensor<T>) -> Result<Tensor<T>> {
        self.check("Standardizer::inverse_transform", z)?;
        let mut out = z.clone();
        let (m, s) = (self.mean.as_slice(), self.scale.as_slice());
        for row in out.as_mut_slice().chunks_exact_mut(m.len().max(1)) {
            for ((v, &mj), &sj) in row.iter_mut().zip(m).zip(s) {
                *v = *v * sj + mj;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                #[test]
                fn one_hot_rows() {
                    let y: Tensor<T> = one_hot(&[1, 0, 2, 1], 3).unwrap();
                    assert_eq!(y.shape(), &[4, 3]);
                    assert_eq!(
                        y.as_slice(),
                        &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0]
                    );
                    assert_eq!(y.argmax_per_row().unwrap(), [1, 0, 2, 1]);
                    let t = one_hot_tensor(&Tensor::<T>::from_slice(&[2.0, 0.0]), 4).unwrap();
                    assert_eq!(t.as_slice(), &[0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0]);
                    assert_eq!(one_hot::<T>(&[], 2).unwrap().shape(), &[0, 2]);
                }

                #[test]
                fn out_of_range_or_non_integral_labels_are_errors() {
                    let e = one_hot::<T>(&[0, 1, 5], 3).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "invalid class label = 5: row 2: must be below the 3 classes"
                    );
                    assert!(one_hot::<T>(&[0], 0).is_err());
                    let e = one_hot_tensor(&Tensor::<T>::from_slice(&[0.0, 1.5]), 3).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "invalid class index = 1.5: row 1: must be a non-negative integer below 2^24"
                    );
                    for bad in [-1.0, T::NAN, T::INFINITY, 1e30] {
                        assert!(to_labels(&Tensor::<T>::from_slice(&[bad])).is_err(), "{bad}");
                    }
                    assert!(one_hot_tensor(&Tensor::<T>::from_slice(&[3.0]), 3).is_err());
                    let e = to_labels(&Tensor::<T>::zeros(&[2, 1]).unwrap()).unwrap_err();
                    assert!(matches!(e, Error::InvalidShape { .. }), "{e}");
                }

                #[test]
                fn standardizer_matches_population_statistics() {
                    // Column 0: 1, 2, 3, 6 → mean 3, var (4+1+0+9)/4 = 3.5.
                    // Column 1: constant 0.1 (its f64 mean may differ from 0.1 by rounding).
                    let x = Tensor::<T>::from_rows(&[[1.0, 0.1], [2.0, 0.1], [3.0, 0.1], [6.0, 0.1]])
                        .unwrap();
                    let s = Standardizer::fit(&x).unwrap();
                    assert_eq!(s.num_features(), 2);
                    assert_eq!(s.mean().as_slice()[0], 3.0);
                    let sd = (3.5f64).sqrt();
                    assert!((s.std().as_slice()[0].as_f64() - sd).abs() < 1e-6 * sd);
                    assert!(s.std().as_slice()[1].as_f64() < 1e-7);
                    assert_eq!(s.scale().as_slice()[1], 1.0);
                    let z = s.transform(&x).unwrap();
                    // Transformed training columns: mean 0, population std 1 (or 0 if constant).
                    let z_fit = Standardizer::fit(&z).unwrap();
                    let tol = if T::DTYPE == "F32" { 1e-6 } else { 1e-14 };
                    assert!(z_fit.mean().as_slice()[0].abs() < tol);
                    assert!((z_fit.std().as_slice()[0] - 1.0).abs() < tol);
                    assert!(z.as_slice().iter().skip(1).step_by(2).all(|v| v.abs() < tol));
                    // z for x = 6: (6 − 3)/√3.5.
                    assert!((z[[3, 0]].as_f64() - 3.0 / sd).abs() < tol.as_f64());
                    let back = s.inverse_transform(&z).unwrap();
                    assert!(back.as_slice().iter().zip(x.as_slice()).all(|(a, b)| (*a - *b).abs() < 10.0 * tol));
                    let mut y = x.clone();
                    s.transform_in_place(&mut y).unwrap();
                    assert_eq!(y, z);
                }

                #[test]
                fn standardizer_errors() {
                    let e = Standardizer::fit(&Tensor::<T>::zeros(&[0, 3]).unwrap()).unwrap_err();
                    assert!(e.to_string().contains("needs at least one row"), "{e}");
                    assert!(Standardizer::fit(&Tensor::<T>::zeros(&[3]).unwrap()).is_err());
                    let mut x = Tensor::<T>::zeros(&[2, 3]).unwrap();
                    x[[1, 2]] = T::NAN;
                    let e = Standardizer::fit(&x).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "non-finite value in Standardizer::fit: row 1, column 2"
                    );
                    let s = Standardizer::fit(&Tensor::<T>::ones(&[2, 3]).unwrap()).unwrap();
                    let e = s.transform(&Tensor::zeros(&[2, 2]).unwrap()).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "Standardizer::transform: left is 2×2, right is 3 \
                         (columns differ from the fitted features)"
                    );
                    assert!(s.inverse_transform(&Tensor::zeros(&[4]).unwrap()).is_err());
                }
            }
        };
    }

    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);
}
