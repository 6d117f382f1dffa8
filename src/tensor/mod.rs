//! [`Tensor<T>`]: a dense, owned, row-major n-dimensional array of `f32` or `f64`.
//!
//! The tensor is the one data type every layer, loss and optimizer speaks.
//! It is deliberately plain: a `Vec<T>` and a shape, row-major (the last
//! index varies fastest), no views, no broadcasting beyond the one case a
//! neural network needs (adding a bias row to every row). Every operation
//! that can meet mismatched shapes returns a [`Result`].
//!
//! ```
//! use weightwise::Tensor;
//! # fn main() -> weightwise::Result<()> {
//! let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]])?;
//! let w = Tensor::from_vec(vec![0.5, -1.0, 0.25, 2.0], &[2, 2])?;
//! let y = x.matmul(&w)?; // [[1.0, 3.0], [2.5, 5.0]]
//! assert_eq!(y.as_slice(), &[1.0, 3.0, 2.5, 5.0]);
//! assert_eq!(y.sum_axis(0)?.as_slice(), &[3.5, 8.0]);
//! # Ok(()) }
//! ```

mod approx_eq;
mod display;
mod matmul;
mod ops;
mod reduce;

use std::ops::{Index, IndexMut, Range};

use rand::Rng;
use rand_distr::Distribution;

use crate::{Error, Result, Scalar};

/// A dense, owned, row-major n-dimensional tensor.
///
/// A 0-dimensional tensor (shape `[]`) holds one value. Dimensions of size
/// zero are allowed and give an empty tensor.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Tensor<T> {
    data: Vec<T>,
    shape: Vec<usize>,
}

/// Number of elements of a shape, or `None` if the shape is not valid.
///
/// The one rule every tensor's shape obeys: the product of its **non-zero**
/// dimensions, counted in bytes of `f64`, fits in `isize::MAX` (the largest
/// allocation Rust allows). So the element count, and the product of any
/// subset of the dimensions (a row's width, the size of the axes before
/// one), never overflows, even for a tensor with a zero dimension.
pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
    if nonzero.checked_mul(std::mem::size_of::<f64>())? > isize::MAX as usize {
        return None;
    }
    Some(if shape.contains(&0) { 0 } else { nonzero })
}

/// The product of some dimensions of a valid shape (see [`checked_numel`]),
/// which cannot overflow.
pub(crate) fn dims_product(dims: &[usize]) -> usize {
    dims.iter().fold(1usize, |acc, &d| acc.saturating_mul(d))
}

fn numel(op: &'static str, shape: &[usize]) -> Result<usize> {
    checked_numel(shape).ok_or_else(|| {
        Error::invalid_shape(
            op,
            shape,
            "the element count overflows (the product of the non-zero dimensions must fit in \
             isize::MAX bytes of f64)",
        )
    })
}

/// A `Vec` of `n` copies of `value`, or an error instead of an allocation
/// failure.
fn filled<T: Clone>(op: &'static str, shape: &[usize], n: usize, value: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n)
        .map_err(|_| Error::invalid_shape(op, shape, format!("cannot allocate {n} elements")))?;
    v.resize(n, value);
    Ok(v)
}

impl<T: Scalar> Tensor<T> {
    /// A tensor of the given shape filled with `value`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the element count overflows `usize`.
    pub fn full(shape: &[usize], value: T) -> Result<Self> {
        Self::full_named("full", shape, value)
    }

    /// `full`, its errors naming the public call `op`.
    fn full_named(op: &'static str, shape: &[usize], value: T) -> Result<Self> {
        let n = numel(op, shape)?;
        Ok(Tensor {
            data: filled(op, shape, n, value)?,
            shape: shape.to_vec(),
        })
    }

    /// A tensor of zeros.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the element count overflows `usize`.
    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::full_named("zeros", shape, T::zero())
    }

    /// A tensor of ones.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the element count overflows `usize`.
    pub fn ones(shape: &[usize]) -> Result<Self> {
        Self::full_named("ones", shape, T::one())
    }

    /// A 0-dimensional tensor holding one value.
    pub fn scalar(value: T) -> Self {
        Tensor {
            data: vec![value],
            shape: Vec::new(),
        }
    }

    /// Wraps a `Vec` in row-major order as a tensor of the given shape.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `data.len()` is not the product of `shape`.
    ///
    /// ```
    /// # use weightwise::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]).unwrap();
    /// assert_eq!(t.shape(), &[2, 3]);
    /// assert!(Tensor::from_vec(vec![1.0f32, 2.0], &[3]).is_err());
    /// ```
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let n = numel("from_vec", shape)?;
        if n != data.len() {
            return Err(Error::invalid_shape(
                "from_vec",
                shape,
                format!("needs {n} elements, the Vec has {}", data.len()),
            ));
        }
        Ok(Tensor {
            data,
            shape: shape.to_vec(),
        })
    }

    /// A 1-D tensor from a slice.
    pub fn from_slice(data: &[T]) -> Self {
        Tensor {
            data: data.to_vec(),
            shape: vec![data.len()],
        }
    }

    /// A 2-D tensor from a table of rows, all of the same length.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the rows differ in length.
    pub fn from_rows<R: AsRef<[T]>>(rows: &[R]) -> Result<Self> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let mut data = Vec::with_capacity(rows.len() * cols);
        for (i, r) in rows.iter().enumerate() {
            let r = r.as_ref();
            if r.len() != cols {
                return Err(Error::invalid_shape(
                    "from_rows",
                    &[rows.len(), cols],
                    format!("row {i} has {} values, row 0 has {cols}", r.len()),
                ));
            }
            data.extend_from_slice(r);
        }
        Ok(Tensor {
            data,
            shape: vec![rows.len(), cols],
        })
    }

    /// A tensor of samples drawn from any distribution with the caller's random
    /// number generator, in row-major order.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use rand_distr::Uniform;
    /// # use weightwise::Tensor;
    /// let mut rng = StdRng::seed_from_u64(7);
    /// let t: Tensor<f64> = Tensor::random(&[3, 4], &Uniform::new(-1.0, 1.0).unwrap(), &mut rng).unwrap();
    /// assert!(t.as_slice().iter().all(|x| (-1.0..1.0).contains(x)));
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the element count overflows `usize`.
    pub fn random<D, R>(shape: &[usize], dist: &D, rng: &mut R) -> Result<Self>
    where
        D: Distribution<T> + ?Sized,
        R: Rng + ?Sized,
    {
        let n = numel("random", shape)?;
        let mut data = filled("random", shape, 0, T::zero())?;
        data.try_reserve_exact(n).map_err(|_| {
            Error::invalid_shape("random", shape, format!("cannot allocate {n} elements"))
        })?;
        data.extend((0..n).map(|_| dist.sample(rng)));
        Ok(Tensor {
            data,
            shape: shape.to_vec(),
        })
    }

    /// Converts every element to another scalar type (`f32` ↔ `f64`).
    pub fn cast<U: Scalar>(&self) -> Tensor<U> {
        Tensor {
            data: self.data.iter().map(|&x| U::from_f64(x.as_f64())).collect(),
            shape: self.shape.clone(),
        }
    }
}

impl<T> Tensor<T> {
    /// The dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of dimensions (0 for a scalar).
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor holds no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The elements in row-major order.
    pub fn as_slice(&self) -> &[T] {
        &self.data
    }

    /// The elements in row-major order, mutable.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        &mut self.data
    }

    /// Consumes the tensor, returning its elements in row-major order.
    pub fn into_vec(self) -> Vec<T> {
        self.data
    }

    /// `(rows, cols)` of a 2-D tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the tensor is not 2-D; `op` names the caller.
    pub fn dims2(&self, op: &'static str) -> Result<(usize, usize)> {
        match *self.shape {
            [r, c] => Ok((r, c)),
            _ => Err(Error::invalid_shape(
                op,
                &self.shape,
                "expected a 2-D tensor",
            )),
        }
    }

    fn offset(&self, index: &[usize]) -> Option<usize> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut off = 0;
        for (&i, &d) in index.iter().zip(&self.shape) {
            if i >= d {
                return None;
            }
            off = off * d + i;
        }
        Some(off)
    }

    /// The element at a multi-dimensional index, or `None` when the index has
    /// the wrong number of dimensions or is out of bounds.
    pub fn get(&self, index: &[usize]) -> Option<&T> {
        self.offset(index).map(|o| &self.data[o])
    }

    /// The element at a multi-dimensional index, mutable; `None` when out of bounds.
    pub fn get_mut(&mut self, index: &[usize]) -> Option<&mut T> {
        self.offset(index).map(|o| &mut self.data[o])
    }

    /// Row `i` of a 2-D tensor as a slice.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D, [`Error::IndexOutOfBounds`] if `i ≥ rows`.
    pub fn row(&self, i: usize) -> Result<&[T]> {
        let (r, c) = self.dims2("row")?;
        if i >= r {
            return Err(Error::IndexOutOfBounds {
                op: "row",
                index: vec![i],
                shape: self.shape.clone(),
            });
        }
        Ok(&self.data[i * c..(i + 1) * c])
    }

    /// Row `i` of a 2-D tensor as a mutable slice.
    ///
    /// # Errors
    /// As for [`Tensor::row`].
    pub fn row_mut(&mut self, i: usize) -> Result<&mut [T]> {
        let (r, c) = self.dims2("row_mut")?;
        if i >= r {
            return Err(Error::IndexOutOfBounds {
                op: "row_mut",
                index: vec![i],
                shape: self.shape.clone(),
            });
        }
        Ok(&mut self.data[i * c..(i + 1) * c])
    }

    /// Iterates over the rows of a 2-D tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D.
    pub fn iter_rows(&self) -> Result<impl ExactSizeIterator<Item = &[T]>> {
        let (r, c) = self.dims2("iter_rows")?;
        // `max(1)` keeps chunks_exact valid for zero columns; take(r) bounds it.
        Ok(self
            .data
            .chunks_exact(c.max(1))
            .take(if c == 0 { 0 } else { r }))
    }

    /// Reshapes to another shape with the same number of elements; no data moves.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the element counts differ.
    pub fn reshape(mut self, shape: &[usize]) -> Result<Self> {
        match checked_numel(shape) {
            Some(n) if n == self.data.len() => {
                self.shape = shape.to_vec();
                Ok(self)
            }
            _ => Err(Error::invalid_shape(
                "reshape",
                &self.shape,
                format!(
                    "{} elements cannot become shape {}",
                    self.data.len(),
                    crate::error::shape_str(shape)
                ),
            )),
        }
    }
}

impl<T: Scalar> Tensor<T> {
    /// Rows `range` of a 2-D tensor, copied into a new tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D, [`Error::IndexOutOfBounds`] if the
    /// range reaches past the last row or is reversed.
    pub fn rows(&self, range: Range<usize>) -> Result<Self> {
        let (r, c) = self.dims2("rows")?;
        if range.start > range.end || range.end > r {
            return Err(Error::IndexOutOfBounds {
                op: "rows",
                index: vec![range.start, range.end],
                shape: self.shape.clone(),
            });
        }
        Ok(Tensor {
            data: self.data[range.start * c..range.end * c].to_vec(),
            shape: vec![range.len(), c],
        })
    }

    /// The rows at the given indices (in that order), copied into a new tensor.
    /// Works on any tensor with at least one dimension, gathering along the first.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for a 0-D tensor, [`Error::IndexOutOfBounds`] for
    /// an index past the first dimension.
    pub fn select_rows(&self, indices: &[usize]) -> Result<Self> {
        let mut out = Tensor::default();
        self.select_rows_into(indices, &mut out)?;
        Ok(out)
    }

    /// [`Tensor::select_rows`] into an existing tensor, reusing its memory.
    ///
    /// # Errors
    /// As for [`Tensor::select_rows`].
    pub fn select_rows_into(&self, indices: &[usize], out: &mut Self) -> Result<()> {
        let Some((&rows, rest)) = self.shape.split_first() else {
            return Err(Error::invalid_shape(
                "select_rows",
                &self.shape,
                "needs at least one dimension",
            ));
        };
        let width = dims_product(rest);
        if let Some(&bad) = indices.iter().find(|&&i| i >= rows) {
            return Err(Error::IndexOutOfBounds {
                op: "select_rows",
                index: vec![bad],
                shape: self.shape.clone(),
            });
        }
        out.data.clear();
        for &i in indices {
            out.data
                .extend_from_slice(&self.data[i * width..(i + 1) * width]);
        }
        out.shape.clear();
        out.shape.push(indices.len());
        out.shape.extend_from_slice(rest);
        Ok(())
    }

    /// The transpose of a 2-D tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if not 2-D.
    pub fn transpose(&self) -> Result<Self> {
        let (r, c) = self.dims2("transpose")?;
        let mut data = Vec::with_capacity(r * c);
        for j in 0..c {
            data.extend((0..r).map(|i| self.data[i * c + j]));
        }
        Ok(Tensor {
            data,
            shape: vec![c, r],
        })
    }

    /// Makes `self` a copy of `src`, reusing `self`'s memory when it is large
    /// enough (when the sizes are equal, a long tensor is copied in blocks on
    /// the products' threads, see [`set_num_threads`](crate::set_num_threads)).
    pub fn assign(&mut self, src: &Self) {
        if self.data.len() == src.data.len() {
            crate::elementwise::copy(&mut self.data, &src.data);
        } else {
            self.data.clone_from(&src.data);
        }
        self.shape.clone_from(&src.shape);
    }

    /// Makes `self` a tensor of shape `shape` holding `data`, reusing its
    /// memory; the caller has checked that `data.len()` is the shape's size.
    pub(crate) fn assign_from(&mut self, data: &[T], shape: &[usize]) {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        self.data.clear();
        self.data.extend_from_slice(data);
        if self.shape != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
    }

    /// Gives `self` the shape `shape` filled with zeros, reusing its memory.
    /// Used by layers to keep their buffers across steps without allocating.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the element count overflows or cannot be
    /// allocated; `self` is then unchanged.
    pub fn resize_zeroed(&mut self, shape: &[usize]) -> Result<()> {
        let n = numel("resize_zeroed", shape)?;
        if n > self.data.len() {
            self.data
                .try_reserve_exact(n - self.data.len())
                .map_err(|_| {
                    Error::invalid_shape(
                        "resize_zeroed",
                        shape,
                        format!("cannot allocate {n} elements"),
                    )
                })?;
        }
        self.data.clear();
        self.data.resize(n, T::zero());
        if self.shape != shape {
            self.shape.clear();
            self.shape.extend_from_slice(shape);
        }
        Ok(())
    }

    /// A tensor of zeros with `self`'s shape (which is valid, so this cannot fail).
    pub(crate) fn zeros_like(&self) -> Self {
        Tensor {
            data: vec![T::zero(); self.data.len()],
            shape: self.shape.clone(),
        }
    }
}

/// Panics when the index has the wrong number of dimensions or is out of
/// bounds; use [`Tensor::get`] for a checked access.
impl<T> Index<&[usize]> for Tensor<T> {
    type Output = T;
    fn index(&self, index: &[usize]) -> &T {
        match self.offset(index) {
            Some(o) => &self.data[o],
            None => panic!(
                "index {index:?} is out of bounds for shape {:?}",
                self.shape
            ),
        }
    }
}

/// Panics when the index is out of bounds; use [`Tensor::get_mut`] for a checked access.
impl<T> IndexMut<&[usize]> for Tensor<T> {
    fn index_mut(&mut self, index: &[usize]) -> &mut T {
        match self.offset(index) {
            Some(o) => &mut self.data[o],
            None => panic!(
                "index {index:?} is out of bounds for shape {:?}",
                self.shape
            ),
        }
    }
}

/// `t[[i, j]]` on a 2-D tensor. Panics when out of bounds or not 2-D; use
/// [`Tensor::get`] for a checked access.
impl<T> Index<[usize; 2]> for Tensor<T> {
    type Output = T;
    fn index(&self, index: [usize; 2]) -> &T {
        &self[&index[..]]
    }
}

/// `t[[i, j]] = v` on a 2-D tensor. Panics when out of bounds or not 2-D.
impl<T> IndexMut<[usize; 2]> for Tensor<T> {
    fn index_mut(&mut self, index: [usize; 2]) -> &mut T {
        &mut self[&index[..]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    #[test]
    fn constructors() {
        let z = Tensor::<f32>::zeros(&[2, 3]).unwrap();
        assert_eq!(z.shape(), &[2, 3]);
        assert_eq!(z.len(), 6);
        assert!(z.as_slice().iter().all(|&x| x == 0.0));
        assert!(
            Tensor::<f64>::ones(&[4])
                .unwrap()
                .as_slice()
                .iter()
                .all(|&x| x == 1.0)
        );
        assert_eq!(Tensor::full(&[2], 3.5f64).unwrap().as_slice(), &[3.5, 3.5]);
        let s = Tensor::scalar(2.0f64);
        assert_eq!(s.ndim(), 0);
        assert_eq!(s.get(&[]), Some(&2.0));
        let e = Tensor::<f32>::zeros(&[0, 5]).unwrap();
        assert!(e.is_empty());
        assert_eq!(Tensor::from_slice(&[1.0f32, 2.0]).shape(), &[2]);
    }

    #[test]
    fn overflowing_shapes_are_errors() {
        let huge = [usize::MAX, 2];
        assert!(matches!(
            Tensor::<f32>::zeros(&huge),
            Err(Error::InvalidShape { op: "zeros", .. })
        ));
        assert!(Tensor::<f32>::from_vec(vec![], &huge).is_err());
    }

    #[test]
    fn from_vec_checks_length() {
        let err = Tensor::from_vec(vec![1.0f32; 5], &[2, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "from_vec: shape 2×3 is invalid: needs 6 elements, the Vec has 5"
        );
    }

    #[test]
    fn from_rows_checks_lengths() {
        let t = Tensor::from_rows(&[vec![1.0f64, 2.0], vec![3.0, 4.0]]).unwrap();
        assert_eq!(t.shape(), &[2, 2]);
        let err = Tensor::from_rows(&[vec![1.0f64, 2.0], vec![3.0]]).unwrap_err();
        assert!(err.to_string().contains("row 1 has 1 values"));
        let empty = Tensor::<f32>::from_rows::<Vec<f32>>(&[]).unwrap();
        assert_eq!(empty.shape(), &[0, 0]);
    }

    #[test]
    fn random_is_deterministic_per_seed() {
        let d = rand_distr::Normal::new(0.0f64, 1.0).unwrap();
        let a = Tensor::random(&[10], &d, &mut StdRng::seed_from_u64(1)).unwrap();
        let b = Tensor::random(&[10], &d, &mut StdRng::seed_from_u64(1)).unwrap();
        let c = Tensor::random(&[10], &d, &mut StdRng::seed_from_u64(2)).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn element_and_row_access() {
        let mut t = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]).unwrap();
        assert_eq!(t.get(&[1, 2]), Some(&5.0));
        assert_eq!(t.get(&[2, 0]), None);
        assert_eq!(t.get(&[0]), None);
        assert_eq!(t[[1, 0]], 3.0);
        t[[1, 0]] = 9.0;
        *t.get_mut(&[0, 0]).unwrap() = -1.0;
        assert_eq!(t.row(1).unwrap(), &[9.0, 4.0, 5.0]);
        assert!(matches!(t.row(2), Err(Error::IndexOutOfBounds { .. })));
        t.row_mut(0).unwrap()[1] = 7.0;
        assert_eq!(t.row(0).unwrap(), &[-1.0, 7.0, 2.0]);
        assert!(t.row_mut(5).is_err());
        assert_eq!(t.iter_rows().unwrap().count(), 2);
        let v = Tensor::from_slice(&[1.0f64]);
        assert!(matches!(v.row(0), Err(Error::InvalidShape { .. })));
        assert!(v.iter_rows().is_err());
        assert_eq!(
            Tensor::<f32>::zeros(&[3, 0])
                .unwrap()
                .iter_rows()
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    #[should_panic(expected = "out of bounds")]
    fn index_panics_out_of_bounds() {
        let t = Tensor::<f32>::zeros(&[2, 2]).unwrap();
        let _ = t[[2, 0]];
    }

    #[test]
    fn rows_and_select_rows() {
        let t = Tensor::from_vec((0..8u8).map(f32::from).collect::<Vec<_>>(), &[4, 2]).unwrap();
        assert_eq!(t.rows(1..3).unwrap().as_slice(), &[2.0, 3.0, 4.0, 5.0]);
        assert!(t.rows(3..5).is_err());
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = t.rows(3..1);
        assert!(reversed.is_err());
        let s = t.select_rows(&[3, 0]).unwrap();
        assert_eq!(s.as_slice(), &[6.0, 7.0, 0.0, 1.0]);
        assert!(matches!(
            t.select_rows(&[4]),
            Err(Error::IndexOutOfBounds { .. })
        ));
        assert!(Tensor::scalar(1.0f32).select_rows(&[0]).is_err());
        let labels = Tensor::from_slice(&[5.0f32, 6.0, 7.0]);
        assert_eq!(labels.select_rows(&[2, 2]).unwrap().as_slice(), &[7.0, 7.0]);
    }

    #[test]
    fn reshape_and_transpose() {
        let t = Tensor::from_vec((0..6).map(f64::from).collect(), &[2, 3]).unwrap();
        let r = t.clone().reshape(&[3, 2]).unwrap();
        assert_eq!(r.shape(), &[3, 2]);
        let err = t.clone().reshape(&[4, 2]).unwrap_err();
        assert!(
            err.to_string()
                .contains("6 elements cannot become shape 4×2")
        );
        let tt = t.transpose().unwrap();
        assert_eq!(tt.shape(), &[3, 2]);
        assert_eq!(tt.as_slice(), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        assert!(Tensor::from_slice(&[1.0f64]).transpose().is_err());
    }

    #[test]
    fn assign_and_resize_reuse() {
        let mut a = Tensor::<f32>::zeros(&[4, 4]).unwrap();
        let b = Tensor::ones(&[2, 2]).unwrap();
        a.assign(&b);
        assert_eq!(a, b);
        a.resize_zeroed(&[3]).unwrap();
        assert_eq!(a.shape(), &[3]);
        assert_eq!(a.as_slice(), &[0.0; 3]);
        let c: Tensor<f64> = b.cast();
        assert_eq!(c.as_slice(), &[1.0; 4]);
    }
}
