//! [`Dataset`]: features and targets, row for row, with splitting and batching.

use std::slice::Chunks;

use rand::Rng;
use rand::seq::SliceRandom;

use crate::{Error, Result, Scalar, Tensor};

/// A supervised data set: `features` of shape `[n, d]` and `targets` of shape
/// `[n]` (class indices stored as numbers `0.0, 1.0, …`, what softmax
/// cross-entropy takes) or `[n, k]` (one-hot rows, regression targets).
///
/// Row `i` of both belongs to sample `i`. A data set is never empty and
/// every value is finite: [`Dataset::new`] checks both.
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use weightwise::{Tensor, data::Dataset};
/// # fn main() -> weightwise::Result<()> {
/// let x = Tensor::from_rows(&[[0.0f32, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])?;
/// let y = Tensor::from_slice(&[1.0f32, 1.0, 0.0, 0.0]);
/// let data = Dataset::new(x, y)?;
/// assert_eq!((data.len(), data.num_features(), data.num_classes()?), (4, 2, 2));
///
/// let mut rng = StdRng::seed_from_u64(0);
/// let (train, val) = data.split(0.25, &mut rng)?;
/// assert_eq!((train.len(), val.len()), (3, 1));
///
/// // Kept buffers, refilled batch after batch without allocating.
/// let (mut xb, mut yb) = (Tensor::default(), Tensor::default());
/// let batches = train.batches(2, Some(&mut rng))?;
/// for indices in &batches {
///     train.batch_into(indices, &mut xb, &mut yb)?;
///     assert_eq!(xb.shape()[1], 2);
/// }
/// assert_eq!(batches.len(), 2); // sizes 2 and 1: the last partial batch is kept
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset<T> {
    features: Tensor<T>,
    targets: Tensor<T>,
}

/// `Err` naming the first non-finite value of `t`, as `"{what} row r"`.
fn check_finite<T: Scalar>(op: &str, what: &str, t: &Tensor<T>) -> Result<()> {
    let width = crate::tensor::dims_product(t.shape().get(1..).unwrap_or(&[])).max(1);
    match t.as_slice().iter().position(|x| !x.is_finite()) {
        None => Ok(()),
        Some(p) => Err(Error::non_finite(format!(
            "{op}: {what} row {}, column {}",
            p / width,
            p % width
        ))),
    }
}

impl<T: Scalar> Dataset<T> {
    /// Pairs `features` `[n, d]` with `targets` `[n]` or `[n, k]`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `features` is not 2-D, `targets` is not 1-D
    /// or 2-D, or there are no rows or no feature columns;
    /// [`Error::ShapeMismatch`] (naming both shapes) if their row counts
    /// differ; [`Error::NonFinite`] (naming the row) for a NaN or infinity.
    pub fn new(features: Tensor<T>, targets: Tensor<T>) -> Result<Self> {
        const OP: &str = "Dataset::new";
        let (n, d) = features.dims2(OP)?;
        if !matches!(targets.ndim(), 1 | 2) {
            return Err(Error::invalid_shape(
                OP,
                targets.shape(),
                "targets must be [n] (class indices) or [n, k]",
            ));
        }
        if targets.shape()[0] != n {
            return Err(Error::shape_mismatch(
                OP,
                features.shape(),
                targets.shape(),
                "features and targets have different numbers of rows",
            ));
        }
        if n == 0 || d == 0 {
            return Err(Error::invalid_shape(
                OP,
                features.shape(),
                "a data set needs at least one row and one feature",
            ));
        }
        check_finite(OP, "features", &features)?;
        check_finite(OP, "targets", &targets)?;
        Ok(Dataset { features, targets })
    }

    /// Number of samples `n` (rows).
    pub fn len(&self) -> usize {
        self.features.shape()[0]
    }

    /// Always `false`: a data set has at least one row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The features, `[n, d]` (or `[n, …]` after [`Dataset::with_feature_shape`]).
    pub fn features(&self) -> &Tensor<T> {
        &self.features
    }

    /// The targets, `[n]` or `[n, k]`.
    pub fn targets(&self) -> &Tensor<T> {
        &self.targets
    }

    /// Number of feature values per sample `d` (for image-shaped features
    /// `[n, c, h, w]`, `c·h·w`).
    pub fn num_features(&self) -> usize {
        self.features.shape()[1..].iter().product()
    }

    /// The shape of one sample's features: `[d]`, or e.g. `[1, 8, 8]` after
    /// [`Dataset::with_feature_shape`].
    pub fn feature_shape(&self) -> &[usize] {
        &self.features.shape()[1..]
    }

    /// The same samples with each one's features reshaped to `shape`, whose
    /// size must be [`Dataset::num_features`]; no value moves. This is how
    /// flat pixel rows become images for a convolutional network:
    ///
    /// ```
    /// # use weightwise::datasets;
    /// # fn main() -> weightwise::Result<()> {
    /// let (train, _) = datasets::digits::<f32>()?;
    /// let images = train.with_feature_shape(&[1, 8, 8])?; // NCHW, one channel
    /// assert_eq!(images.features().shape(), &[1437, 1, 8, 8]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if `shape` is empty or its size differs.
    pub fn with_feature_shape(self, shape: &[usize]) -> Result<Self> {
        let size = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if shape.is_empty() || size != Some(self.num_features()) {
            return Err(Error::invalid_shape(
                "Dataset::with_feature_shape",
                shape,
                format!("a sample has {} feature values", self.num_features()),
            ));
        }
        let mut full = vec![self.len()];
        full.extend_from_slice(shape);
        let features = self.features.reshape(&full)?;
        Ok(Dataset {
            features,
            targets: self.targets,
        })
    }

    /// Gives back `(features, targets)`.
    pub fn into_parts(self) -> (Tensor<T>, Tensor<T>) {
        (self.features, self.targets)
    }

    /// The number of classes of index targets: `max + 1`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the targets are not 1-D;
    /// [`Error::InvalidArgument`] (naming the row) if a target is not a
    /// non-negative integer.
    pub fn num_classes(&self) -> Result<usize> {
        let labels = super::encode::to_labels(&self.targets)?;
        Ok(labels.iter().max().map_or(0, |m| m + 1))
    }

    /// The samples at `indices`, in that order (repeats allowed).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no indices (a data set cannot be empty),
    /// [`Error::IndexOutOfBounds`] for an index `≥ len()`.
    pub fn select(&self, indices: &[usize]) -> Result<Self> {
        if indices.is_empty() {
            return Err(Error::invalid_arg(
                "Dataset::select indices",
                "[]",
                "need at least one row",
            ));
        }
        Ok(Dataset {
            features: self.features.select_rows(indices)?,
            targets: self.targets.select_rows(indices)?,
        })
    }

    /// The first `n` samples and the rest, in order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 < n < len()` (both parts non-empty).
    pub fn split_at(&self, n: usize) -> Result<(Self, Self)> {
        let len = self.len();
        if n == 0 || n >= len {
            return Err(Error::invalid_arg(
                "split point",
                n,
                format!("must be in 1..{len} so that both parts of {len} rows are non-empty"),
            ));
        }
        let (rows, rest): (Vec<usize>, Vec<usize>) = ((0..n).collect(), (n..len).collect());
        Ok((self.select(&rows)?, self.select(&rest)?))
    }

    /// Shuffles, then splits off a validation set: `(train, validation)`.
    ///
    /// As scikit-learn's `train_test_split(test_size=fraction)`: the
    /// validation set has `⌈fraction·n⌉` rows (a product within rounding of
    /// an integer counting as that integer: 0.07 of 100 rows is 7, where
    /// scikit-learn's float product gives 8), the first of a random
    /// permutation (Fisher–Yates with the caller's `rng`, so the same seed
    /// gives the same split); training gets the rest, in permutation order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `validation_fraction` is not in `(0, 1)`
    /// or leaves either part empty.
    pub fn split(&self, validation_fraction: f64, rng: &mut dyn Rng) -> Result<(Self, Self)> {
        let n = self.len();
        if !(validation_fraction > 0.0 && validation_fraction < 1.0) {
            return Err(Error::invalid_arg(
                "validation fraction",
                validation_fraction,
                "must be in (0, 1)",
            ));
        }
        // ⌈fraction·n⌉, except that a product within rounding of an integer is
        // that integer: 0.07·100 is 7.000000000000001 in binary, and 7 rows it is.
        let x = validation_fraction * n as f64;
        let n_val = if (x - x.round()).abs() <= 1e-9 * x.max(1.0) {
            x.round()
        } else {
            x.ceil()
        } as usize;
        if n_val >= n {
            return Err(Error::invalid_arg(
                "validation fraction",
                validation_fraction,
                format!("takes {n_val} of {n} rows, leaving no training data"),
            ));
        }
        let order = self.shuffled_indices(rng);
        let (val, train) = order.split_at(n_val);
        Ok((self.select(train)?, self.select(val)?))
    }

    /// A uniformly random permutation of `0..len()` (Fisher–Yates with the
    /// caller's `rng`).
    pub fn shuffled_indices(&self, rng: &mut dyn Rng) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.shuffle(rng);
        order
    }

    /// Mini-batches of row indices covering every row once: in order when
    /// `shuffle` is `None`, else in a random permutation drawn from it. The
    /// last batch holds the `len() % batch_size` leftover rows, if any
    /// (PyTorch's `DataLoader` with `drop_last=False`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero `batch_size`.
    pub fn batches(&self, batch_size: usize, shuffle: Option<&mut dyn Rng>) -> Result<Batches> {
        let mut b = Batches::new(self.len(), batch_size)?;
        if let Some(rng) = shuffle {
            b.shuffle(rng);
        }
        Ok(b)
    }

    /// The samples at `indices`, as new tensors `(x, y)`.
    ///
    /// # Errors
    /// As for [`Dataset::batch_into`].
    pub fn batch(&self, indices: &[usize]) -> Result<(Tensor<T>, Tensor<T>)> {
        let (mut x, mut y) = (Tensor::default(), Tensor::default());
        self.batch_into(indices, &mut x, &mut y)?;
        Ok((x, y))
    }

    /// Copies the samples at `indices` into the caller's kept buffers:
    /// `x` becomes `[b, d]`, `y` `[b]` or `[b, k]`, reusing their memory
    /// (no allocation once they have held a batch this large).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for no indices, [`Error::IndexOutOfBounds`]
    /// for an index `≥ len()` (then `x` and `y` are unchanged).
    pub fn batch_into(
        &self,
        indices: &[usize],
        x: &mut Tensor<T>,
        y: &mut Tensor<T>,
    ) -> Result<()> {
        if indices.is_empty() {
            return Err(Error::invalid_arg(
                "batch indices",
                "[]",
                "need at least one row",
            ));
        }
        self.features.select_rows_into(indices, x)?;
        self.targets.select_rows_into(indices, y)
    }
}

/// The row order of an epoch, cut into mini-batches; iterate `&batches` for
/// `&[usize]` index slices. Made by [`Dataset::batches`].
///
/// It owns one `Vec` of `n` indices: keep it across epochs and call
/// [`Batches::shuffle`] to draw a new order without allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batches {
    order: Vec<usize>,
    batch_size: usize,
}

impl Batches {
    /// Batches over `0..n` in order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a zero `batch_size`.
    pub fn new(n: usize, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid_arg("batch size", 0, "must be at least 1"));
        }
        Ok(Batches {
            order: (0..n).collect(),
            batch_size,
        })
    }

    /// Draws a fresh uniformly random order of `0..n` from `rng` (resetting to
    /// `0..n` first, so the order depends only on `rng`'s state).
    pub fn shuffle(&mut self, rng: &mut dyn Rng) {
        self.order.iter_mut().enumerate().for_each(|(i, x)| *x = i);
        self.order.shuffle(rng);
    }

    /// The batch size (the last batch may be smaller).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Number of batches, `⌈n / batch_size⌉`.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    /// True when there are no rows to batch.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The whole epoch's row order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The batches, each a slice of row indices.
    pub fn iter(&self) -> Chunks<'_, usize> {
        self.order.chunks(self.batch_size)
    }
}

impl<'a> IntoIterator for &'a Batches {
    type Item = &'a [usize];
    type IntoIter = Chunks<'a, usize>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                /// Row i is [i, 10i], target i % 3.
                fn data(n: usize) -> Dataset<T> {
                    let x: Vec<T> = (0..n).flat_map(|i| [i as T, 10.0 * i as T]).collect();
                    let y: Vec<T> = (0..n).map(|i| (i % 3) as T).collect();
                    Dataset::new(Tensor::from_vec(x, &[n, 2]).unwrap(), Tensor::from_slice(&y))
                        .unwrap()
                }

                fn first_column(d: &Dataset<T>) -> Vec<usize> {
                    d.features().iter_rows().unwrap().map(|r| r[0] as usize).collect()
                }

                #[test]
                fn new_checks_shapes_emptiness_and_finiteness() {
                    let x = Tensor::<T>::zeros(&[3, 2]).unwrap();
                    let e = Dataset::new(x.clone(), Tensor::zeros(&[4]).unwrap()).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "Dataset::new: left is 3×2, right is 4 \
                         (features and targets have different numbers of rows)"
                    );
                    let e = Dataset::new(
                        Tensor::<T>::zeros(&[0, 2]).unwrap(),
                        Tensor::zeros(&[0]).unwrap(),
                    )
                    .unwrap_err();
                    assert!(matches!(e, Error::InvalidShape { .. }), "{e}");
                    assert!(e.to_string().contains("at least one row"), "{e}");
                    assert!(
                        Dataset::new(Tensor::<T>::zeros(&[3, 0]).unwrap(), Tensor::zeros(&[3]).unwrap())
                            .is_err()
                    );
                    let e = Dataset::new(Tensor::<T>::zeros(&[3]).unwrap(), Tensor::zeros(&[3]).unwrap())
                        .unwrap_err();
                    assert!(e.to_string().contains("expected a 2-D tensor"), "{e}");
                    let e = Dataset::new(x.clone(), Tensor::zeros(&[3, 1, 1]).unwrap()).unwrap_err();
                    assert!(e.to_string().contains("targets must be"), "{e}");
                    let mut bad = x.clone();
                    bad[[2, 1]] = T::NAN;
                    let e = Dataset::new(bad, Tensor::zeros(&[3]).unwrap()).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "non-finite value in Dataset::new: features row 2, column 1"
                    );
                    let e = Dataset::new(x.clone(), Tensor::from_slice(&[0.0, T::INFINITY, 0.0]))
                        .unwrap_err();
                    assert!(e.to_string().contains("targets row 1"), "{e}");
                    // [n, k] targets are fine.
                    let d = Dataset::new(x, Tensor::zeros(&[3, 4]).unwrap()).unwrap();
                    assert_eq!((d.len(), d.num_features(), d.is_empty()), (3, 2, false));
                    let (f, t) = d.into_parts();
                    assert_eq!((f.shape(), t.shape()), (&[3usize, 2][..], &[3usize, 4][..]));
                }

                #[test]
                fn num_classes_needs_integral_index_targets() {
                    assert_eq!(data(7).num_classes().unwrap(), 3);
                    let x = Tensor::<T>::zeros(&[3, 1]).unwrap();
                    let d = Dataset::new(x.clone(), Tensor::from_slice(&[0.0, 2.5, 1.0])).unwrap();
                    let e = d.num_classes().unwrap_err();
                    assert!(e.to_string().contains("row 1"), "{e}");
                    let d = Dataset::new(x.clone(), Tensor::from_slice(&[0.0, -1.0, 1.0])).unwrap();
                    assert!(d.num_classes().is_err());
                    let d = Dataset::new(x, Tensor::zeros(&[3, 2]).unwrap()).unwrap();
                    assert!(matches!(d.num_classes(), Err(Error::InvalidShape { .. })));
                }

                #[test]
                fn image_shaped_features() {
                    // 4 samples of 2×3 "images": reshaping moves no value.
                    let x = Tensor::<T>::from_vec((0..24).map(|i| i as T).collect(), &[4, 6]).unwrap();
                    let d = Dataset::new(x.clone(), Tensor::from_slice(&[0.0, 1.0, 0.0, 1.0])).unwrap();
                    let img = d.clone().with_feature_shape(&[1, 2, 3]).unwrap();
                    assert_eq!(img.features().shape(), &[4, 1, 2, 3]);
                    assert_eq!(img.features().as_slice(), x.as_slice());
                    assert_eq!((img.num_features(), img.feature_shape()), (6, &[1usize, 2, 3][..]));
                    // Selection and batches keep the sample shape.
                    let (xb, yb) = img.batch(&[3, 1]).unwrap();
                    assert_eq!(xb.shape(), &[2, 1, 2, 3]);
                    assert_eq!(xb.as_slice()[..6], x.as_slice()[18..]);
                    assert_eq!(yb.as_slice(), &[1.0, 1.0]);
                    assert_eq!(img.select(&[0]).unwrap().feature_shape(), &[1, 2, 3]);
                    assert_eq!(img.clone().with_feature_shape(&[6]).unwrap(), d);
                    for bad in [&[][..], &[5], &[2, 2, 2]] {
                        let e = img.clone().with_feature_shape(bad).unwrap_err();
                        assert!(e.to_string().contains("a sample has 6 feature values"), "{e}");
                    }
                }

                #[test]
                fn select_and_split_at() {
                    let d = data(5);
                    let s = d.select(&[4, 0, 4]).unwrap();
                    assert_eq!(first_column(&s), [4, 0, 4]);
                    assert_eq!(s.targets().as_slice(), &[1.0, 0.0, 1.0]);
                    assert!(matches!(d.select(&[5]), Err(Error::IndexOutOfBounds { .. })));
                    assert!(matches!(d.select(&[]), Err(Error::InvalidArgument { .. })));
                    let (a, b) = d.split_at(2).unwrap();
                    assert_eq!((first_column(&a), first_column(&b)), (vec![0, 1], vec![2, 3, 4]));
                    for bad in [0, 5, 6] {
                        let e = d.split_at(bad).unwrap_err();
                        assert!(e.to_string().contains("must be in 1..5"), "{e}");
                    }
                }

                #[test]
                fn split_shuffles_with_the_callers_rng() {
                    let d = data(10);
                    let (train, val) = d.split(0.25, &mut StdRng::seed_from_u64(1)).unwrap();
                    // ⌈0.25·10⌉ = 3 validation rows.
                    assert_eq!((train.len(), val.len()), (7, 3));
                    let mut all = [first_column(&train), first_column(&val)].concat();
                    assert_ne!(all, (0..10).collect::<Vec<_>>(), "not shuffled");
                    all.sort_unstable();
                    assert_eq!(all, (0..10).collect::<Vec<_>>());
                    // Targets travel with their rows.
                    for (r, y) in train.features().iter_rows().unwrap().zip(train.targets().as_slice()) {
                        assert_eq!(*y, ((r[0] as usize) % 3) as T);
                    }
                    // Same seed, same split; the permutation is the one shuffled_indices draws.
                    let (train2, val2) = d.split(0.25, &mut StdRng::seed_from_u64(1)).unwrap();
                    assert_eq!((&train, &val), (&train2, &val2));
                    let order = d.shuffled_indices(&mut StdRng::seed_from_u64(1));
                    assert_eq!(first_column(&val), order[..3]);
                    assert_eq!(first_column(&train), order[3..]);
                }

                #[test]
                fn bad_fractions_are_errors() {
                    let d = data(4);
                    let mut rng = StdRng::seed_from_u64(0);
                    for f in [0.0, 1.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
                        let e = d.split(f, &mut rng).unwrap_err();
                        assert!(matches!(e, Error::InvalidArgument { name: "validation fraction", .. }), "{e}");
                    }
                    // ⌈0.9·4⌉ = 4 leaves nothing to train on.
                    let e = d.split(0.9, &mut rng).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "invalid validation fraction = 0.9: takes 4 of 4 rows, leaving no training data"
                    );
                    // A single row cannot be split at all.
                    assert!(data(1).split(0.5, &mut rng).is_err());
                    assert_eq!(d.split(0.01, &mut rng).unwrap().1.len(), 1);
                    // 0.07·100 = 7.000000000000001 in f64: still 7 rows, not 8.
                    let (t, v) = data(100).split(0.07, &mut rng).unwrap();
                    assert_eq!((t.len(), v.len()), (93, 7));
                    // 0.35·10 = 3.5: rounded up.
                    assert_eq!(data(10).split(0.35, &mut rng).unwrap().1.len(), 4);
                }

                #[test]
                fn batches_cover_every_row_once() {
                    let d = data(7);
                    let b = d.batches(3, None).unwrap();
                    let got: Vec<&[usize]> = b.iter().collect();
                    assert_eq!(got, [&[0, 1, 2][..], &[3, 4, 5], &[6]]);
                    assert_eq!((b.len(), b.batch_size(), b.is_empty()), (3, 3, false));
                    let mut rng = StdRng::seed_from_u64(5);
                    let s = d.batches(3, Some(&mut rng)).unwrap();
                    let sizes: Vec<usize> = (&s).into_iter().map(<[usize]>::len).collect();
                    assert_eq!(sizes, [3, 3, 1]);
                    let mut seen = s.order().to_vec();
                    assert_ne!(seen, (0..7).collect::<Vec<_>>());
                    seen.sort_unstable();
                    assert_eq!(seen, (0..7).collect::<Vec<_>>());
                    let again = d.batches(3, Some(&mut StdRng::seed_from_u64(5))).unwrap();
                    assert_eq!(s, again);
                    assert_eq!(d.batches(10, None).unwrap().len(), 1);
                }

                #[test]
                fn reshuffle_depends_only_on_the_rng() {
                    let mut a = Batches::new(20, 4).unwrap();
                    a.shuffle(&mut StdRng::seed_from_u64(9));
                    let first = a.clone();
                    a.shuffle(&mut StdRng::seed_from_u64(2));
                    a.shuffle(&mut StdRng::seed_from_u64(9));
                    assert_eq!(a, first);
                }

                #[test]
                fn zero_batch_size_is_an_error() {
                    let e = data(3).batches(0, None).unwrap_err();
                    assert_eq!(e.to_string(), "invalid batch size = 0: must be at least 1");
                    assert!(Batches::new(3, 0).is_err());
                }

                #[test]
                fn batch_into_reuses_the_buffers() {
                    let d = data(6);
                    let (mut x, mut y) = (Tensor::default(), Tensor::default());
                    d.batch_into(&[5, 1, 3], &mut x, &mut y).unwrap();
                    assert_eq!(x.as_slice(), &[5.0, 50.0, 1.0, 10.0, 3.0, 30.0]);
                    assert_eq!(y.as_slice(), &[2.0, 1.0, 0.0]);
                    let ptr = x.as_slice().as_ptr();
                    d.batch_into(&[0, 2], &mut x, &mut y).unwrap();
                    assert_eq!(x.shape(), &[2, 2]);
                    assert_eq!(x.as_slice().as_ptr(), ptr, "reallocated");
                    let before = (x.clone(), y.clone());
                    assert!(matches!(d.batch_into(&[1, 6], &mut x, &mut y), Err(Error::IndexOutOfBounds { .. })));
                    assert_eq!((x.clone(), y.clone()), before);
                    assert!(d.batch_into(&[], &mut x, &mut y).is_err());
                    let (bx, by) = d.batch(&[4]).unwrap();
                    assert_eq!((bx.as_slice(), by.as_slice()), (&[4.0, 40.0][..], &[1.0][..]));
                }
            }
        };
    }

    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);
}
