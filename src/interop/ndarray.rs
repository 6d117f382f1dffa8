//! Conversions between [`Tensor`] and [ndarray]'s arrays, and [`Dataset`]s
//! from ndarray pairs (cargo feature `ndarray`, off by default).
//!
//! A `Tensor` is always contiguous and row-major, which is ndarray's
//! *standard layout*, so:
//!
//! | from | to | cost |
//! |---|---|---|
//! | `&Tensor<T>` | `ArrayView<T, D>` ([`Tensor::as_array`], `TryFrom`) | none: a borrow |
//! | `&mut Tensor<T>` | `ArrayViewMut<T, D>` ([`Tensor::as_array_mut`], `TryFrom`) | none: a borrow |
//! | `Tensor<T>` | `Array<T, D>` ([`Tensor::into_array`], `TryFrom`) | none: the buffer moves |
//! | `Array<T, D>` in standard layout | `Tensor<T>` (`TryFrom`) | none when the array owns exactly its elements, else one copy |
//! | `ArrayView<T, D>` in standard layout | `Tensor<T>` (`TryFrom`) | one copy (a `Tensor` owns its data) |
//! | `Array1<usize>`, `ArrayView1<usize>` (labels) | `Tensor<T>` (`TryFrom`) | one conversion to class indices `0.0, 1.0, …` |
//! | `(features, targets)` | [`Dataset<T>`] (`TryFrom`) | as the two conversions |
//!
//! `D` is any dimension type (`Ix0` … `Ix6`, `IxDyn`); a fixed `D` whose
//! dimension count differs from the tensor's is an error. An array that is
//! not in standard layout (a transposed view, a strided slice, Fortran
//! order) is an error that says to call `.as_standard_layout()` first: the
//! copy that reorders it is then the caller's visible choice.
//!
//! ndarray 0.16 and 0.17 are both accepted (the `ndarray` dependency is
//! `>=0.16, <0.18`), so the arrays of the user's own version convert.
//!
//! Training from ndarray data, without a conversion loop:
//!
//! ```
//! use ndarray::{Array1, Array2};
//! use rand::{SeedableRng, rngs::StdRng};
//! use weightwise::prelude::*;
//! # fn main() -> weightwise::Result<()> {
//! // Features and labels as a linfa or polars pipeline hands them over.
//! let (digits, _) = datasets::digits::<f32>()?;
//! let x: Array2<f32> = digits.features().clone().try_into()?;
//! let y: Array1<usize> = weightwise::data::to_labels(digits.targets())?.into();
//!
//! let train = Dataset::try_from((x, y))?; // features move, labels become class indices
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut net = Network::<f32>::builder(64)
//!     .dense(32, Init::he_normal()).relu()
//!     .dense(10, Init::xavier_uniform())
//!     .build(&mut rng)?;
//! net.fit(&train, &mut Fit { epochs: 3, ..Default::default() }, &mut rng)?;
//!
//! // Predictions back as an array, borrowed: no copy.
//! let logits = net.predict(train.features())?;
//! let view = logits.as_array();
//! assert_eq!(view.shape(), &[1437, 10]);
//! # Ok(()) }
//! ```
//!
//! [ndarray]: https://docs.rs/ndarray

use ::ndarray::{
    Array, Array1, Array2, ArrayBase, ArrayD, ArrayView, ArrayView1, ArrayView2, ArrayViewD,
    ArrayViewMut, ArrayViewMutD, Data, Dimension, Ix1, IxDyn,
};

use crate::data::Dataset;
use crate::{Error, Result, Scalar, Tensor};

/// `Err` unless an array of `D` can have `ndim` dimensions.
fn check_ndim<D: Dimension>(op: &'static str, shape: &[usize]) -> Result<()> {
    match D::NDIM {
        Some(n) if n != shape.len() => Err(Error::invalid_shape(
            op,
            shape,
            format!("a {}-D tensor cannot become a {n}-D array", shape.len()),
        )),
        _ => Ok(()),
    }
}

/// `Err` unless `a` is in standard (row-major, contiguous) layout.
fn check_layout<S: Data, D: Dimension>(a: &ArrayBase<S, D>) -> Result<()> {
    if a.is_standard_layout() {
        return Ok(());
    }
    Err(Error::invalid_arg(
        "ndarray layout",
        format!("strides {:?} of shape {:?}", a.strides(), a.shape()),
        "a Tensor needs standard (row-major, contiguous) layout; \
         convert with `.as_standard_layout()` first",
    ))
}

impl<T> Tensor<T> {
    /// Borrows the tensor as an ndarray view of its own shape: no copy.
    ///
    /// (Feature `ndarray`.)
    ///
    /// ```
    /// use weightwise::Tensor;
    /// let t = Tensor::from_rows(&[[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
    /// let a = t.as_array();
    /// assert_eq!(a.shape(), &[2, 2]);
    /// assert_eq!(a.sum(), 10.0);
    /// ```
    pub fn as_array(&self) -> ArrayViewD<'_, T> {
        // A tensor's length is always its shape's product.
        ArrayViewD::from_shape(IxDyn(self.shape()), self.as_slice())
            .expect("a tensor's data fits its shape")
    }

    /// Borrows the tensor mutably as an ndarray view: no copy; writes
    /// through the view change the tensor.
    ///
    /// (Feature `ndarray`.)
    pub fn as_array_mut(&mut self) -> ArrayViewMutD<'_, T> {
        let shape = IxDyn(self.shape());
        ArrayViewMutD::from_shape(shape, self.as_mut_slice())
            .expect("a tensor's data fits its shape")
    }

    /// The tensor as an owned ndarray array of its own shape; the buffer
    /// moves, nothing is copied.
    ///
    /// (Feature `ndarray`.)
    pub fn into_array(self) -> ArrayD<T> {
        let shape = IxDyn(self.shape());
        ArrayD::from_shape_vec(shape, self.into_vec()).expect("a tensor's data fits its shape")
    }
}

/// A tensor into an owned array of dimension `D`: the buffer moves.
/// (Feature `ndarray`.)
///
/// # Errors
/// [`Error::InvalidShape`] if `D` is fixed and has another dimension count.
impl<T, D: Dimension> TryFrom<Tensor<T>> for Array<T, D> {
    type Error = Error;
    fn try_from(t: Tensor<T>) -> Result<Self> {
        check_ndim::<D>("Tensor into ndarray", t.shape())?;
        Ok(t.into_array()
            .into_dimensionality()
            .expect("dimension count checked"))
    }
}

/// A view of a tensor as an array of dimension `D`: no copy.
/// (Feature `ndarray`.)
///
/// # Errors
/// [`Error::InvalidShape`] if `D` is fixed and has another dimension count.
impl<'a, T, D: Dimension> TryFrom<&'a Tensor<T>> for ArrayView<'a, T, D> {
    type Error = Error;
    fn try_from(t: &'a Tensor<T>) -> Result<Self> {
        check_ndim::<D>("Tensor as ndarray view", t.shape())?;
        Ok(t.as_array()
            .into_dimensionality()
            .expect("dimension count checked"))
    }
}

/// A mutable view of a tensor as an array of dimension `D`: no copy.
/// (Feature `ndarray`.)
///
/// # Errors
/// [`Error::InvalidShape`] if `D` is fixed and has another dimension count.
impl<'a, T, D: Dimension> TryFrom<&'a mut Tensor<T>> for ArrayViewMut<'a, T, D> {
    type Error = Error;
    fn try_from(t: &'a mut Tensor<T>) -> Result<Self> {
        check_ndim::<D>("Tensor as ndarray view", t.shape())?;
        Ok(t.as_array_mut()
            .into_dimensionality()
            .expect("dimension count checked"))
    }
}

/// An owned array in standard layout into a tensor of its shape: the buffer
/// moves when the array owns exactly its elements (one copy otherwise).
/// (Feature `ndarray`.)
///
/// # Errors
/// [`Error::InvalidArgument`] for an array not in standard layout (the
/// message says to call `.as_standard_layout()`).
impl<T: Scalar, D: Dimension> TryFrom<Array<T, D>> for Tensor<T> {
    type Error = Error;
    fn try_from(a: Array<T, D>) -> Result<Self> {
        check_layout(&a)?;
        let (shape, len) = (a.shape().to_vec(), a.len());
        let (mut data, offset) = a.into_raw_vec_and_offset();
        let start = offset.unwrap_or(0);
        if start != 0 || data.len() != len {
            // A sliced-in-place array keeps its old buffer: take the part it shows.
            data = data[start..start + len].to_vec();
        }
        Tensor::from_vec(data, &shape)
    }
}

/// A view in standard layout into a tensor of its shape (one copy).
/// (Feature `ndarray`.)
///
/// # Errors
/// [`Error::InvalidArgument`] for a view not in standard layout (the
/// message says to call `.as_standard_layout()`).
impl<T: Scalar, D: Dimension> TryFrom<ArrayView<'_, T, D>> for Tensor<T> {
    type Error = Error;
    fn try_from(a: ArrayView<'_, T, D>) -> Result<Self> {
        check_layout(&a)?;
        let data = a
            .as_slice()
            .expect("standard layout is contiguous")
            .to_vec();
        Tensor::from_vec(data, a.shape())
    }
}

/// Class labels `[n]` into class indices `0.0, 1.0, …` as `T`, the targets
/// softmax cross-entropy takes.
fn labels<T: Scalar, S: Data<Elem = usize>>(a: &ArrayBase<S, Ix1>) -> Result<Tensor<T>> {
    let values = a
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let t = T::from_usize(l);
            if t.as_f64() as u128 == l as u128 {
                Ok(t)
            } else {
                Err(Error::invalid_arg(
                    "label",
                    l,
                    format!("at index {i} is not exactly representable as {}", T::DTYPE),
                ))
            }
        })
        .collect::<Result<Vec<T>>>()?;
    Ok(Tensor::from_slice(&values))
}

/// Class labels into class indices `0.0, 1.0, …` (what [`Dataset`] and
/// softmax cross-entropy take). (Feature `ndarray`.)
///
/// # Errors
/// [`Error::InvalidArgument`] naming a label `T` cannot hold exactly
/// (past 2²⁴ for `f32`).
impl<T: Scalar> TryFrom<Array1<usize>> for Tensor<T> {
    type Error = Error;
    fn try_from(a: Array1<usize>) -> Result<Self> {
        labels(&a)
    }
}

/// Class labels into class indices, as for `Array1<usize>`. (Feature `ndarray`.)
///
/// # Errors
/// As for `Array1<usize>`.
impl<T: Scalar> TryFrom<ArrayView1<'_, usize>> for Tensor<T> {
    type Error = Error;
    fn try_from(a: ArrayView1<'_, usize>) -> Result<Self> {
        labels(&a)
    }
}

/// `Dataset`s from `(features, targets)` ndarray pairs.
macro_rules! dataset_from {
    ($($x:ty, $y:ty;)*) => {$(
        /// A data set from ndarray features `[n, d]` and targets: `[n]`
        /// class indices or values, `[n, k]` one-hot rows or regression
        /// targets, or `usize` labels. (Feature `ndarray`.)
        ///
        /// # Errors
        /// As the conversions to [`Tensor`] (layout, labels) and
        /// [`Dataset::new`] (row counts, empty or non-finite data).
        impl<'a, T: Scalar> TryFrom<($x, $y)> for Dataset<T> {
            type Error = Error;
            fn try_from((x, y): ($x, $y)) -> Result<Self> {
                Dataset::new(Tensor::try_from(x)?, Tensor::try_from(y)?)
            }
        }
    )*};
}

dataset_from! {
    Array2<T>, Array1<T>;
    Array2<T>, Array2<T>;
    Array2<T>, Array1<usize>;
    Array2<T>, ArrayView1<'a, T>;
    Array2<T>, ArrayView2<'a, T>;
    Array2<T>, ArrayView1<'a, usize>;
    ArrayView2<'a, T>, Array1<T>;
    ArrayView2<'a, T>, Array2<T>;
    ArrayView2<'a, T>, Array1<usize>;
    ArrayView2<'a, T>, ArrayView1<'a, T>;
    ArrayView2<'a, T>, ArrayView2<'a, T>;
    ArrayView2<'a, T>, ArrayView1<'a, usize>;
}
