//! Element-wise arithmetic, `map`/`zip_map`, and the bias broadcast.

use crate::{Error, Result, Scalar, Tensor};

impl<T: Scalar> Tensor<T> {
    fn check_same(&self, other: &Self, op: &'static str) -> Result<()> {
        if self.shape() == other.shape() {
            Ok(())
        } else {
            Err(Error::shape_mismatch(
                op,
                self.shape(),
                other.shape(),
                "element-wise operations need equal shapes",
            ))
        }
    }

    /// Applies `f` to every element, returning a new tensor.
    pub fn map(&self, f: impl Fn(T) -> T) -> Self {
        let data = self.as_slice().iter().map(|&x| f(x)).collect();
        Tensor::from_vec(data, self.shape()).expect("same element count")
    }

    /// Applies `f` to every element in place.
    pub fn map_in_place(&mut self, f: impl Fn(T) -> T) {
        self.as_mut_slice().iter_mut().for_each(|x| *x = f(*x));
    }

    /// Combines two tensors of the same shape element by element: `f(self[i], other[i])`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn zip_map(&self, other: &Self, f: impl Fn(T, T) -> T) -> Result<Self> {
        self.zip_map_op(other, "zip_map", f)
    }

    fn zip_map_op(&self, other: &Self, op: &'static str, f: impl Fn(T, T) -> T) -> Result<Self> {
        self.check_same(other, op)?;
        let data = self
            .as_slice()
            .iter()
            .zip(other.as_slice())
            .map(|(&a, &b)| f(a, b))
            .collect();
        Tensor::from_vec(data, self.shape())
    }

    /// In place: `self[i] = f(self[i], other[i])`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn zip_apply(&mut self, other: &Self, f: impl Fn(T, T) -> T) -> Result<()> {
        self.check_same(other, "zip_apply")?;
        for (a, &b) in self.as_mut_slice().iter_mut().zip(other.as_slice()) {
            *a = f(*a, b);
        }
        Ok(())
    }

    /// Element-wise sum `self + other`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn add(&self, other: &Self) -> Result<Self> {
        self.zip_map_op(other, "add", |a, b| a + b)
    }

    /// Element-wise difference `self − other`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn sub(&self, other: &Self) -> Result<Self> {
        self.zip_map_op(other, "sub", |a, b| a - b)
    }

    /// Element-wise (Hadamard) product `self ⊙ other`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn mul(&self, other: &Self) -> Result<Self> {
        self.zip_map_op(other, "mul", |a, b| a * b)
    }

    /// Element-wise quotient `self / other` (IEEE semantics: x/0 is ±∞ or NaN).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn div(&self, other: &Self) -> Result<Self> {
        self.zip_map_op(other, "div", |a, b| a / b)
    }

    /// Every element multiplied by `s`.
    pub fn scale(&self, s: T) -> Self {
        self.map(|x| x * s)
    }

    /// In place: `self ← self + alpha·x` (BLAS `axpy`).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the shapes differ.
    pub fn axpy(&mut self, alpha: T, x: &Self) -> Result<()> {
        self.check_same(x, "axpy")?;
        for (a, &b) in self.as_mut_slice().iter_mut().zip(x.as_slice()) {
            *a += alpha * b;
        }
        Ok(())
    }

    /// Fills every element with `value` (a long tensor in blocks on the
    /// products' threads, see [`set_num_threads`](crate::set_num_threads)).
    pub fn fill(&mut self, value: T) {
        crate::elementwise::fill(self.as_mut_slice(), value);
    }

    /// Adds a row vector to every row of a 2-D tensor: `out[i, j] = self[i, j] + row[j]`.
    /// This is the bias broadcast of a dense layer.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `self` is not 2-D, [`Error::ShapeMismatch`]
    /// if `row` does not have one element per column.
    pub fn add_row(&self, row: &Self) -> Result<Self> {
        let mut out = self.clone();
        out.add_row_in_place(row)?;
        Ok(out)
    }

    /// [`Tensor::add_row`] in place.
    ///
    /// # Errors
    /// As for [`Tensor::add_row`].
    pub fn add_row_in_place(&mut self, row: &Self) -> Result<()> {
        let (_, c) = self.dims2("add_row")?;
        if row.len() != c || row.ndim() > 2 || (row.ndim() == 2 && row.shape()[0] != 1) {
            return Err(Error::shape_mismatch(
                "add_row",
                self.shape(),
                row.shape(),
                "the row needs one element per column",
            ));
        }
        if c == 0 {
            return Ok(());
        }
        let r = row.as_slice();
        for chunk in self.as_mut_slice().chunks_exact_mut(c) {
            for (x, &b) in chunk.iter_mut().zip(r) {
                *x += b;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn arithmetic() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = t(&[4.0, 3.0, 2.0, 1.0], &[2, 2]);
        assert_eq!(a.add(&b).unwrap().as_slice(), &[5.0; 4]);
        assert_eq!(a.sub(&b).unwrap().as_slice(), &[-3.0, -1.0, 1.0, 3.0]);
        assert_eq!(a.mul(&b).unwrap().as_slice(), &[4.0, 6.0, 6.0, 4.0]);
        assert_eq!(a.div(&b).unwrap().as_slice(), &[0.25, 2.0 / 3.0, 1.5, 4.0]);
        assert_eq!(a.scale(2.0).as_slice(), &[2.0, 4.0, 6.0, 8.0]);
        assert_eq!(a.map(|x| x * x).as_slice(), &[1.0, 4.0, 9.0, 16.0]);
        assert_eq!(
            a.zip_map(&b, f64::max).unwrap().as_slice(),
            &[4.0, 3.0, 3.0, 4.0]
        );
        let mut c = a.clone();
        c.axpy(-1.0, &b).unwrap();
        assert_eq!(c, a.sub(&b).unwrap());
        c.map_in_place(|x| x.abs());
        c.zip_apply(&a, |x, y| x + y).unwrap();
        assert_eq!(c.as_slice(), &[4.0, 3.0, 4.0, 7.0]);
        c.fill(0.5);
        assert_eq!(c.as_slice(), &[0.5; 4]);
    }

    #[test]
    fn shape_mismatches_are_errors_naming_the_op() {
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = t(&[1.0, 2.0, 3.0, 4.0], &[4]);
        for (name, r) in [
            ("add", a.add(&b)),
            ("sub", a.sub(&b)),
            ("mul", a.mul(&b)),
            ("div", a.div(&b)),
            ("zip_map", a.zip_map(&b, |x, _| x)),
        ] {
            let msg = r.unwrap_err().to_string();
            assert!(
                msg.starts_with(&format!("{name}: left is 2×2, right is 4")),
                "{msg}"
            );
        }
        let mut m = a.clone();
        assert!(m.axpy(1.0, &b).is_err());
        assert!(m.zip_apply(&b, |x, _| x).is_err());
    }

    #[test]
    fn bias_broadcast() {
        let a = t(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        let bias = t(&[10.0, 20.0, 30.0], &[3]);
        assert_eq!(
            a.add_row(&bias).unwrap().as_slice(),
            &[11.0, 22.0, 33.0, 14.0, 25.0, 36.0]
        );
        let bias2 = t(&[10.0, 20.0, 30.0], &[1, 3]);
        assert_eq!(a.add_row(&bias2).unwrap(), a.add_row(&bias).unwrap());
        assert!(a.add_row(&t(&[1.0, 2.0], &[2])).is_err());
        assert!(a.add_row(&t(&[1.0; 3], &[3, 1])).is_err());
        assert!(bias.add_row(&bias).is_err());
        let empty = Tensor::<f64>::zeros(&[2, 0]).unwrap();
        assert!(empty.add_row(&Tensor::zeros(&[0]).unwrap()).is_ok());
    }
}
