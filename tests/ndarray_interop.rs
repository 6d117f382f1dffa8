//! The `ndarray` feature: conversions between `Tensor` and ndarray arrays,
//! and `Dataset`s from array pairs (src/interop/ndarray.rs).
#![cfg(feature = "ndarray")]

use ::ndarray::{Array3, ArrayView2, Axis, Ix2, Ix3, ShapeBuilder, arr0, array, s};
use ndarray::{Array, Array2, ArrayView, ArrayViewMut};
use weightwise::{Dataset, Error, Tensor};

fn t234() -> Tensor<f64> {
    Tensor::from_vec((0..24).map(f64::from).collect(), &[2, 3, 4]).unwrap()
}

#[test]
fn tensor_to_arrays_of_any_dimension_without_copying() {
    let t = t234();
    let ptr = t.as_slice().as_ptr();
    let view = t.as_array();
    assert_eq!((view.shape(), view[[1, 2, 3]]), (&[2, 3, 4][..], 23.0));
    assert_eq!(view.as_ptr(), ptr, "the view borrows");
    let v3: ArrayView<'_, f64, Ix3> = (&t).try_into().unwrap();
    assert_eq!(v3[[0, 1, 2]], 6.0);
    let owned: Array3<f64> = t.clone().try_into().unwrap();
    assert_eq!(owned, view.into_dimensionality::<Ix3>().unwrap());
    let moved = t.into_array();
    assert_eq!(moved.as_ptr(), ptr, "the buffer moves");
    // 0-D and empty tensors too.
    let s: Array<f32, _> = Tensor::scalar(2.5f32).into_array();
    assert_eq!(s, arr0(2.5).into_dyn());
    let e = Tensor::<f32>::zeros(&[0, 3]).unwrap();
    assert_eq!(e.as_array().shape(), &[0, 3]);
}

#[test]
fn a_mutable_view_writes_through() {
    let mut t = t234();
    t.as_array_mut()[[0, 0, 1]] = -1.0;
    let mut m: ArrayViewMut<'_, f64, Ix3> = (&mut t).try_into().unwrap();
    m.index_axis_mut(Axis(0), 1).fill(0.0);
    assert_eq!(t.as_slice()[1], -1.0);
    assert!(t.as_slice()[12..].iter().all(|&x| x == 0.0));
}

#[test]
fn a_fixed_dimension_that_differs_is_an_error() {
    let t = t234();
    let e = Array2::<f64>::try_from(t.clone()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Tensor into ndarray: shape 2×3×4 is invalid: a 3-D tensor cannot become a 2-D array"
    );
    assert!(ArrayView::<f64, Ix2>::try_from(&t).is_err());
    let mut t = t;
    assert!(ArrayViewMut::<f64, Ix2>::try_from(&mut t).is_err());
}

#[test]
fn arrays_to_tensors_moving_where_the_layout_allows() {
    let a = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64);
    let ptr = a.as_ptr();
    let t = Tensor::try_from(a).unwrap();
    assert_eq!(t, t234());
    assert_eq!(t.as_slice().as_ptr(), ptr, "the buffer moves");
    // Sliced in place: the array shows part of its buffer; that part is copied.
    let mut a = Array2::from_shape_fn((4, 3), |(i, j)| (i * 3 + j) as f32);
    a.slice_collapse(s![1..3, ..]);
    assert_eq!(
        Tensor::try_from(a).unwrap().as_slice(),
        &[3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
    );
    // A view is copied.
    let a = array![[1.0f32, 2.0], [3.0, 4.0]];
    let t = Tensor::try_from(a.view()).unwrap();
    assert_eq!(
        (t.shape(), t.as_slice()),
        (&[2, 2][..], &[1.0, 2.0, 3.0, 4.0][..])
    );
    // Dynamic and 0-D arrays.
    assert_eq!(Tensor::try_from(t234().into_array()).unwrap(), t234());
    assert_eq!(Tensor::try_from(arr0(1.5f64)).unwrap(), Tensor::scalar(1.5));
}

#[test]
fn non_standard_layouts_are_errors_that_say_how_to_fix() {
    let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let want = "convert with `.as_standard_layout()` first";
    let e = Tensor::try_from(a.t()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "ndarray layout",
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains(want) && e.to_string().contains("strides [1, 3] of shape [3, 2]"),
        "{e}"
    );
    let e = Tensor::try_from(a.slice(s![.., ..;2])).unwrap_err();
    assert!(e.to_string().contains(want), "{e}");
    let f = Array2::<f64>::zeros((2, 3).f());
    assert!(Tensor::try_from(f).unwrap_err().to_string().contains(want));
    let e = Tensor::try_from(a.slice(s![..;-1, ..])).unwrap_err();
    assert!(e.to_string().contains(want), "{e}");
    // And the fix works.
    let t = Tensor::try_from(a.t().as_standard_layout().view()).unwrap();
    assert_eq!(
        t,
        Tensor::from_rows(&[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]).unwrap()
    );
}

#[test]
fn labels_become_class_indices() {
    let y: Tensor<f32> = array![2usize, 0, 1].try_into().unwrap();
    assert_eq!(y.as_slice(), &[2.0, 0.0, 1.0]);
    let labels = array![5usize, 16_777_217];
    let y: Tensor<f64> = labels.view().try_into().unwrap();
    assert_eq!(y.as_slice(), &[5.0, 16_777_217.0]);
    let e = Tensor::<f32>::try_from(labels).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid label = 16777217: at index 1 is not exactly representable as F32"
    );
}

#[test]
fn datasets_from_pairs() {
    let x = array![[0.0f64, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let want = Dataset::new(
        Tensor::try_from(x.clone()).unwrap(),
        Tensor::from_slice(&[1.0, 1.0, 0.0]),
    )
    .unwrap();
    assert_eq!(
        Dataset::try_from((x.clone(), array![1usize, 1, 0])).unwrap(),
        want
    );
    assert_eq!(
        Dataset::try_from((x.view(), array![1.0, 1.0, 0.0])).unwrap(),
        want
    );
    assert_eq!(
        Dataset::try_from((x.clone(), array![1usize, 1, 0].view())).unwrap(),
        want
    );
    let onehot = array![[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]];
    let d = Dataset::try_from((x.view(), onehot.view())).unwrap();
    assert_eq!(d.targets().shape(), &[3, 2]);
    let d = Dataset::try_from((x.clone(), onehot)).unwrap();
    assert_eq!(d.num_features(), 2);
    // Errors: row counts, layout, non-finite values.
    let e = Dataset::try_from((x.clone(), array![1usize, 0])).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let xt: ArrayView2<'_, f64> = x.t();
    let e = Dataset::try_from((xt, array![0usize, 1])).unwrap_err();
    assert!(e.to_string().contains("as_standard_layout"), "{e}");
    let e = Dataset::try_from((array![[f64::NAN]], array![0usize])).unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }), "{e}");
}
