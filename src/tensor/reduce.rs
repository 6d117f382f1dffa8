//! Reductions: sums, means, per-row maxima, norms, finiteness.

use crate::{Error, Result, Scalar, Tensor};

impl<T: Scalar> Tensor<T> {
    /// Sum of all elements (0 for an empty tensor).
    pub fn sum(&self) -> T {
        self.as_slice().iter().copied().sum()
    }

    /// Mean of all elements (NaN for an empty tensor, as 0/0).
    pub fn mean(&self) -> T {
        self.sum() / T::from_usize(self.len())
    }

    fn axis_split(&self, axis: usize, op: &'static str) -> Result<(usize, usize, usize)> {
        if axis >= self.ndim() {
            return Err(Error::invalid_shape(
                op,
                self.shape(),
                format!("axis {axis} is out of range for {} dimensions", self.ndim()),
            ));
        }
        let s = self.shape();
        Ok((
            super::dims_product(&s[..axis]),
            s[axis],
            super::dims_product(&s[axis + 1..]),
        ))
    }

    /// Sums along `axis`, removing it: for a 2-D tensor `sum_axis(0)` gives the
    /// column sums (the bias gradient) and `sum_axis(1)` the row sums.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `axis ≥ ndim`.
    pub fn sum_axis(&self, axis: usize) -> Result<Self> {
        self.sum_axis_named(axis, "sum_axis")
    }

    /// `sum_axis`, its errors naming the public call `op`.
    fn sum_axis_named(&self, axis: usize, op: &'static str) -> Result<Self> {
        let (outer, len, inner) = self.axis_split(axis, op)?;
        let mut out = vec![T::zero(); outer * inner];
        let x = self.as_slice();
        for o in 0..outer {
            let dst = &mut out[o * inner..(o + 1) * inner];
            for l in 0..len {
                let src = &x[(o * len + l) * inner..(o * len + l + 1) * inner];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d += s;
                }
            }
        }
        let mut shape = self.shape().to_vec();
        shape.remove(axis);
        Tensor::from_vec(out, &shape)
    }

    /// Means along `axis`, removing it (NaN where the axis is empty).
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `axis ≥ ndim`.
    pub fn mean_axis(&self, axis: usize) -> Result<Self> {
        let n = T::from_usize(self.shape().get(axis).copied().unwrap_or(0));
        Ok(self.sum_axis_named(axis, "mean_axis")?.map(|s| s / n))
    }

    /// Adds the column sums of a 2-D tensor into `out` (`out[j] += Σᵢ self[i, j]`),
    /// without allocating: this is how a dense layer accumulates its bias gradient.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D, [`Error::ShapeMismatch`] if `out`
    /// does not have one element per column.
    pub fn add_column_sums_into(&self, out: &mut Self) -> Result<()> {
        let (_, c) = self.dims2("add_column_sums_into")?;
        if out.len() != c {
            return Err(Error::shape_mismatch(
                "add_column_sums_into",
                self.shape(),
                out.shape(),
                "out needs one element per column",
            ));
        }
        if c == 0 {
            return Ok(());
        }
        let o = out.as_mut_slice();
        for row in self.as_slice().chunks_exact(c) {
            for (d, &s) in o.iter_mut().zip(row) {
                *d += s;
            }
        }
        Ok(())
    }

    /// The largest element of each row of a 2-D tensor (NaN-propagating: a row
    /// holding NaN gives NaN).
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D or if rows are empty.
    pub fn max_per_row(&self) -> Result<Self> {
        let idx = self.argmax_per_row()?;
        let c = self.shape()[1];
        let data: Vec<T> = idx
            .iter()
            .enumerate()
            .map(|(i, &j)| self.as_slice()[i * c + j])
            .collect();
        Tensor::from_vec(data, &[idx.len()])
    }

    /// The column index of the largest element of each row (the first one on
    /// ties; a NaN counts as largest, so it is never hidden).
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D or if rows are empty.
    pub fn argmax_per_row(&self) -> Result<Vec<usize>> {
        let (r, c) = self.dims2("argmax_per_row")?;
        if c == 0 && r > 0 {
            return Err(Error::invalid_shape(
                "argmax_per_row",
                self.shape(),
                "rows are empty",
            ));
        }
        Ok(self
            .iter_rows()?
            .map(|row| {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate().skip(1) {
                    let b = row[best];
                    if !b.is_nan() && (v > b || v.is_nan()) {
                        best = j;
                    }
                }
                best
            })
            .collect())
    }

    /// L1 norm `Σ|xᵢ|`.
    pub fn norm_l1(&self) -> T {
        self.as_slice().iter().map(|x| x.abs()).sum()
    }

    /// L2 (Euclidean, Frobenius) norm `√Σxᵢ²`, accumulated in `f64` so large
    /// `f32` tensors do not lose precision.
    pub fn norm_l2(&self) -> T {
        let s: f64 = self.as_slice().iter().map(|x| x.as_f64().powi(2)).sum();
        T::from_f64(s.sqrt())
    }

    /// Largest absolute value `maxᵢ|xᵢ|` (0 for an empty tensor; NaN if any is NaN).
    pub fn max_abs(&self) -> T {
        self.as_slice().iter().fold(T::zero(), |m, &x| {
            if x.is_nan() || m.is_nan() {
                T::nan()
            } else {
                m.max(x.abs())
            }
        })
    }

    /// True when no element is NaN or infinite (a long tensor is checked in
    /// blocks on the products' threads, see
    /// [`set_num_threads`](crate::set_num_threads)).
    pub fn all_finite(&self) -> bool {
        crate::elementwise::all_finite(self.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn sums_and_means() {
        let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(a.sum(), 21.0);
        assert_eq!(a.mean(), 3.5);
        assert_eq!(a.sum_axis(0).unwrap().as_slice(), &[5.0, 7.0, 9.0]);
        assert_eq!(a.sum_axis(1).unwrap().as_slice(), &[6.0, 15.0]);
        assert_eq!(a.mean_axis(0).unwrap().as_slice(), &[2.5, 3.5, 4.5]);
        assert_eq!(a.mean_axis(1).unwrap().shape(), &[2]);
        let err = a.sum_axis(2).unwrap_err().to_string();
        assert!(
            err.contains("axis 2 is out of range for 2 dimensions"),
            "{err}"
        );
        assert!(a.mean_axis(5).is_err());
        let cube = Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]).unwrap();
        let s1 = cube.sum_axis(1).unwrap();
        assert_eq!(s1.shape(), &[2, 4]);
        assert_eq!(s1.as_slice()[0], 0.0 + 4.0 + 8.0);
        assert!(Tensor::<f64>::zeros(&[0]).unwrap().mean().is_nan());
        assert_eq!(Tensor::<f64>::zeros(&[0]).unwrap().sum(), 0.0);
    }

    #[test]
    fn column_sums_accumulate() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let mut g = t(&[10.0, 10.0], &[2]);
        a.add_column_sums_into(&mut g).unwrap();
        assert_eq!(g.as_slice(), &[14.0, 16.0]);
        assert!(a.add_column_sums_into(&mut t(&[0.0; 3], &[3])).is_err());
        assert!(g.clone().add_column_sums_into(&mut g).is_err());
    }

    #[test]
    fn max_and_argmax() {
        let a = t(&[1.0, 5.0, 5.0, -1.0, -3.0, -2.0], &[2, 3]);
        assert_eq!(a.argmax_per_row().unwrap(), vec![1, 0]);
        assert_eq!(a.max_per_row().unwrap().as_slice(), &[5.0, -1.0]);
        let n = t(&[1.0, f64::NAN, 3.0], &[1, 3]);
        assert_eq!(n.argmax_per_row().unwrap(), vec![1]);
        assert!(t(&[1.0], &[1]).argmax_per_row().is_err());
        assert!(
            Tensor::<f64>::zeros(&[2, 0])
                .unwrap()
                .argmax_per_row()
                .is_err()
        );
        assert!(
            Tensor::<f64>::zeros(&[0, 3])
                .unwrap()
                .argmax_per_row()
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn norms_and_finiteness() {
        let a = t(&[3.0, -4.0], &[2]);
        assert_eq!(a.norm_l1(), 7.0);
        assert_eq!(a.norm_l2(), 5.0);
        assert_eq!(a.max_abs(), 4.0);
        assert!(a.all_finite());
        assert!(!t(&[1.0, f64::INFINITY], &[2]).all_finite());
        assert!(!t(&[f64::NAN], &[1]).all_finite());
        assert!(t(&[1.0, f64::NAN], &[2]).max_abs().is_nan());
    }
}
