//! Small classic data sets, shipped inside the crate: no files, no download.
//!
//! Every set has the same two functions: `name()` gives a fixed, documented
//! `(train, test)` split, and `name_all()` the whole set in the file's order.
//!
//! | split | whole set | samples | features | classes | source |
//! |---|---|---|---|---|---|
//! | [`digits`] | [`digits_all`] | 1,797 (1,437 train + 360 test) | 64 pixels in [0, 1] | 10 | UCI "Optical Recognition of Handwritten Digits" |
//! | [`iris`] | [`iris_all`] | 150 (120 train + 30 test, stratified) | 4 measurements in cm | 3 | UCI "Iris" (Fisher 1936) |
//!
//! Both are the copies bundled with scikit-learn 1.9.1 (`load_digits`,
//! `load_iris`), licensed CC BY 4.0 (per the UCI Machine Learning
//! Repository); the crate's `data/README.md` gives the attribution and how
//! the files were made. Targets are class indices `[n]`, ready for softmax
//! cross-entropy.
//!
//! ```
//! # fn main() -> weightwise::Result<()> {
//! let (train, test) = weightwise::datasets::digits::<f32>()?;
//! assert_eq!((train.len(), test.len(), train.num_features()), (1437, 360, 64));
//! let (train, test) = weightwise::datasets::iris::<f64>()?;
//! assert_eq!((train.len(), test.len(), train.num_features()), (120, 30, 4));
//! let iris = weightwise::datasets::iris_all::<f64>()?;
//! assert_eq!((iris.len(), iris.num_classes()?), (150, 3));
//! # Ok(()) }
//! ```

use super::{Dataset, parse_csv};
use crate::{Error, Result, Scalar};

/// `data/digits.csv`: header `label,p0,...,p63`, 1,797 rows.
const DIGITS_CSV: &str = include_str!("../../data/digits.csv");
/// `data/digits_split.txt`: the 360 test-row indices, one per line.
const DIGITS_SPLIT: &str = include_str!("../../data/digits_split.txt");
/// `data/iris.csv`: four measurements and the species 0..2, 150 rows.
const IRIS_CSV: &str = include_str!("../../data/iris.csv");

/// Number of rows of `digits.csv`.
const DIGITS_ROWS: usize = 1797;

/// All 1,797 handwritten digits in the file's order (scikit-learn's
/// `load_digits()` order): features `[1797, 64]` = the 8×8 pixel counts
/// 0..16 divided by 16, row-major, so in [0, 1]; targets `[1797]` = the digit
/// 0..9. Class counts 178, 182, 177, 183, 181, 182, 181, 179, 174, 180.
///
/// Source: E. Alpaydin and C. Kaynak (1998), *Optical Recognition of
/// Handwritten Digits* (the `optdigits.tes` test set), UCI Machine Learning
/// Repository; licence CC BY 4.0.
///
/// # Errors
/// Only if the embedded file were corrupt ([`Error::Format`]).
pub fn digits_all<T: Scalar>() -> Result<Dataset<T>> {
    let (_, table) = parse_csv::<T>(DIGITS_CSV, "digits.csv")?;
    let data = Dataset::from_table(&table, 0)?;
    let (features, targets) = data.into_parts();
    let sixteenth = T::from_f64(1.0 / 16.0);
    Dataset::new(features.map(|p| p * sixteenth), targets)
}

/// The digits as `(train, test)`: 1,437 and 360 samples, with the fixed
/// split of `data/digits_split.txt` (numpy's `RandomState(0).permutation(1797)`,
/// the last 360 as test): the test set is those rows in the file's order, the
/// training set every other row in ascending order. Features and targets as
/// in [`digits_all`].
///
/// Source: E. Alpaydin and C. Kaynak (1998), *Optical Recognition of
/// Handwritten Digits*, UCI Machine Learning Repository; licence CC BY 4.0.
///
/// # Errors
/// Only if the embedded files were corrupt ([`Error::Format`]).
pub fn digits<T: Scalar>() -> Result<(Dataset<T>, Dataset<T>)> {
    let all = digits_all::<T>()?;
    let test = digits_test_indices()?;
    let mut in_test = vec![false; all.len()];
    test.iter().for_each(|&i| in_test[i] = true);
    let train: Vec<usize> = (0..all.len()).filter(|&i| !in_test[i]).collect();
    Ok((all.select(&train)?, all.select(&test)?))
}

/// The test-row indices of `digits_split.txt`, in file order, checked to be
/// distinct and in range.
fn digits_test_indices() -> Result<Vec<usize>> {
    let mut seen = vec![false; DIGITS_ROWS];
    let mut out = Vec::with_capacity(360);
    for (k, line) in DIGITS_SPLIT.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Format {
            source_name: format!("digits_split.txt line {}", k + 1),
            reason,
        };
        let i: usize = line
            .parse()
            .map_err(|_| bad(format!("cannot parse '{line}' as a row index")))?;
        if i >= DIGITS_ROWS || seen[i] {
            return Err(bad(format!("row {i} is out of range or repeated")));
        }
        seen[i] = true;
        out.push(i);
    }
    Ok(out)
}

/// All 150 of Fisher's iris flowers in the file's order: features
/// `[150, 4]` = sepal length, sepal width, petal length, petal width in cm;
/// targets `[150]` = species 0 setosa (rows 0–49), 1 versicolor (50–99),
/// 2 virginica (100–149). Unscaled: fit a
/// [`Standardizer`](super::Standardizer) on the training part.
///
/// Source: R. A. Fisher (1936), *Iris*, UCI Machine Learning Repository,
/// as corrected in scikit-learn's copy; licence CC BY 4.0.
///
/// # Errors
/// Only if the embedded file were corrupt ([`Error::Format`]).
pub fn iris_all<T: Scalar>() -> Result<Dataset<T>> {
    let (_, table) = parse_csv::<T>(IRIS_CSV, "iris.csv")?;
    Dataset::from_table(&table, 4)
}

/// The iris flowers as `(train, test)`: 120 and 30 samples, a fixed split
/// stratified by species: row `i` (0-based, file order) is a test row when
/// `i % 5 == 4`, i.e. every fifth flower of each species (rows 4, 9, …, 149),
/// 10 per species in the test set and 40 in the training set, each in the
/// file's order. Features and targets as in [`iris_all`].
///
/// # Errors
/// Only if the embedded file were corrupt ([`Error::Format`]).
pub fn iris<T: Scalar>() -> Result<(Dataset<T>, Dataset<T>)> {
    let all = iris_all::<T>()?;
    let (test, train): (Vec<usize>, Vec<usize>) = (0..all.len()).partition(|i| i % 5 == 4);
    Ok((all.select(&train)?, all.select(&test)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::to_labels;

    fn class_counts<T: Scalar>(d: &Dataset<T>, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        to_labels(d.targets())
            .unwrap()
            .into_iter()
            .for_each(|l| counts[l] += 1);
        counts
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                #[test]
                fn digits_shapes_counts_and_range() {
                    let all = digits_all::<T>().unwrap();
                    assert_eq!(all.features().shape(), &[1797, 64]);
                    assert_eq!(all.targets().shape(), &[1797]);
                    // The counts scikit-learn documents for load_digits.
                    assert_eq!(
                        class_counts(&all, 10),
                        [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
                    );
                    let px = all.features().as_slice();
                    assert!(px.iter().all(|&p| (0.0..=1.0).contains(&p)));
                    assert!(px.contains(&1.0) && px.contains(&0.0));
                    // Pixels were integers 0..16: every feature is a multiple of 1/16.
                    assert!(px.iter().all(|&p| (p * 16.0).fract() == 0.0));
                    // Row 0 of digits.csv is a 0 whose third pixel is 5.
                    assert_eq!(all.targets().as_slice()[0], 0.0);
                    assert_eq!(all.features()[[0, 2]], 5.0 / 16.0);
                }

                #[test]
                fn digits_split_follows_the_file() {
                    let all = digits_all::<T>().unwrap();
                    let (train, test) = digits::<T>().unwrap();
                    assert_eq!((train.len(), test.len()), (1437, 360));
                    assert_eq!(train.num_features(), 64);
                    let test_idx = digits_test_indices().unwrap();
                    assert_eq!(test_idx.len(), 360);
                    // The file's first line is 1442.
                    assert_eq!(test_idx[0], 1442);
                    assert_eq!(
                        test.features().row(0).unwrap(),
                        all.features().row(1442).unwrap()
                    );
                    assert_eq!(test.targets().as_slice()[0], all.targets().as_slice()[1442]);
                    assert_eq!(test, all.select(&test_idx).unwrap());
                    let train_idx: Vec<usize> =
                        (0..1797).filter(|i| !test_idx.contains(i)).collect();
                    assert!(train_idx.windows(2).all(|w| w[0] < w[1]));
                    assert_eq!(train, all.select(&train_idx).unwrap());
                    let (a, b) = (class_counts(&train, 10), class_counts(&test, 10));
                    let total: Vec<usize> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
                    assert_eq!(total, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
                }

                #[test]
                fn iris_split_is_stratified_and_fixed() {
                    let all = iris_all::<T>().unwrap();
                    let (train, test) = iris::<T>().unwrap();
                    assert_eq!((train.len(), test.len()), (120, 30));
                    assert_eq!(class_counts(&train, 3), [40, 40, 40]);
                    assert_eq!(class_counts(&test, 3), [10, 10, 10]);
                    // Test row 0 is file row 4; train row 4 is file row 5.
                    assert_eq!(
                        test.features().row(0).unwrap(),
                        all.features().row(4).unwrap()
                    );
                    assert_eq!(
                        train.features().row(4).unwrap(),
                        all.features().row(5).unwrap()
                    );
                    assert_eq!(
                        test.features().row(29).unwrap(),
                        all.features().row(149).unwrap()
                    );
                }

                #[test]
                fn iris_shapes_and_classes() {
                    let d = iris_all::<T>().unwrap();
                    assert_eq!(d.features().shape(), &[150, 4]);
                    assert_eq!(d.num_classes().unwrap(), 3);
                    assert_eq!(class_counts(&d, 3), [50, 50, 50]);
                    let t = d.targets().as_slice();
                    assert!(
                        t[..50].iter().all(|&c| c == 0.0) && t[100..].iter().all(|&c| c == 2.0)
                    );
                    // First row 5.1, 3.5, 1.4, 0.2; scikit-learn's corrected sample 35 (1-based).
                    assert_eq!(d.features().row(0).unwrap(), &[5.1, 3.5, 1.4, 0.2]);
                    assert_eq!(d.features().row(34).unwrap(), &[4.9, 3.1, 1.5, 0.2]);
                    // Documented ranges: sepal length 4.3–7.9, petal width 0.1–2.5.
                    let col = |j: usize| d.features().iter_rows().unwrap().map(move |r| r[j]);
                    let (lo, hi) = (col(0).fold(T::INFINITY, T::min), col(0).fold(0.0, T::max));
                    assert_eq!((lo, hi), (4.3, 7.9));
                    assert_eq!(col(3).fold(T::INFINITY, T::min), 0.1);
                    assert_eq!(col(3).fold(0.0, T::max), 2.5);
                }
            }
        };
    }

    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);
}
