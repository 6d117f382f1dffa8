//! Summary statistics of a tensor: [`TensorStats`] and its [`Histogram`].
//!
//! For the finite values `w₁ … w_m` of a tensor of `count` elements:
//!
//! | field | formula | NumPy / PyTorch |
//! |---|---|---|
//! | `mean` | `μ = Σ wᵢ / m` | `w.mean()` |
//! | `std` | `√(Σ (wᵢ − μ)² / m)`, the **population** deviation (ddof 0) | `np.std(w)`, `torch.std(w, correction=0)` |
//! | `min`, `max` | smallest and largest finite value | `w.min()`, `w.max()` |
//! | `l1` | `Σ │wᵢ│` | `torch.linalg.vector_norm(w, 1)` |
//! | `l2` | `√(Σ wᵢ²)` | `torch.linalg.vector_norm(w)` |
//! | `zero_fraction` | `#{wᵢ = 0} / count` | |
//! | `near_zero_fraction` | `#{│wᵢ│ ≤ t} / count` | |
//! | `histogram` | equal-width bins over `[min, max]` | `np.histogram(w, bins)` |
//!
//! NaN and ±∞ are counted in `non_finite` and left out of everything else:
//! the moments, the extremes, the norms and the histogram. The two fractions
//! divide by `count`, every element, so a NaN is neither zero nor near zero.
//! With no finite value at all (an empty tensor included) the mean, std, min
//! and max are NaN, the norms 0 (empty sums), and the histogram has zero
//! counts over NumPy's default range `[0, 1]`; an empty tensor's fractions are 0.
//!
//! Everything is accumulated in `f64`, whatever the tensor's element type.

use std::fmt;

use crate::{Error, Result, Scalar, Tensor};

/// The default near-zero threshold of the reports: `|w| ≤ 1e-3` counts as
/// "near zero". A thousandth is small against any initial weight (He-normal
/// on 1000 inputs has std ≈ 0.045) yet large against round-off, so the
/// fraction grows only as a regularizer or pruning actually pushes weights
/// down.
pub const DEFAULT_NEAR_ZERO: f64 = 1e-3;

/// The default number of histogram bins in the reports.
pub const DEFAULT_BINS: usize = 20;

/// A histogram with `numpy.histogram`'s rules: `bins` equal-width bins over
/// `[lo, hi]`, each half-open `[edges[k], edges[k+1])` except the last, which
/// is closed. When `lo == hi` the range is widened to `[lo − 0.5, hi + 0.5]`,
/// as NumPy does.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Histogram {
    /// The `bins + 1` bin edges, increasing; `edges[k] = lo + k·(hi − lo)/bins`
    /// (NumPy's `linspace`), the last exactly `hi`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::vec"))]
    pub edges: Vec<f64>,
    /// The number of values in each bin; sums to the number of finite values.
    pub counts: Vec<usize>,
}

impl Histogram {
    /// Bins `values` (all finite) over `[lo, hi]`; `bins ≥ 1`.
    fn new(values: impl Iterator<Item = f64>, lo: f64, hi: f64, bins: usize) -> Histogram {
        let (lo, hi) = if lo == hi {
            (lo - 0.5, hi + 0.5)
        } else {
            (lo, hi)
        };
        let step = (hi - lo) / bins as f64;
        let mut edges: Vec<f64> = (0..=bins).map(|k| lo + k as f64 * step).collect();
        edges[bins] = hi;
        let mut counts = vec![0usize; bins];
        let norm = bins as f64 / (hi - lo);
        for v in values {
            // NumPy's fast path: the bin from the formula, then corrected
            // against the stored edges so rounding can never disagree with them.
            let mut k = (((v - lo) * norm) as usize).min(bins - 1);
            if v < edges[k] && k > 0 {
                k -= 1;
            } else if k + 1 < bins && v >= edges[k + 1] {
                k += 1;
            }
            counts[k] += 1;
        }
        Histogram { edges, counts }
    }

    /// Number of bins.
    pub fn bins(&self) -> usize {
        self.counts.len()
    }

    /// Total of the counts.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }
}

/// Statistics of one tensor's values; see the [module docs](self) for the
/// formulas and the treatment of non-finite values.
///
/// ```
/// use weightwise::{Tensor, inspect::TensorStats};
/// # fn main() -> weightwise::Result<()> {
/// let w = Tensor::from_slice(&[-2.0f64, 0.0, 0.0005, 1.0, 3.0]);
/// let s = TensorStats::of(&w, 1e-3, 5)?;
/// assert_eq!((s.count, s.min, s.max), (5, -2.0, 3.0));
/// assert!((s.mean - 0.4001).abs() < 1e-12);
/// assert!((s.l1 - 6.0005).abs() < 1e-12);
/// assert_eq!((s.zero_fraction, s.near_zero_fraction), (0.2, 0.4));
/// // Bins of width 1 from −2: [−2, −1), [−1, 0), [0, 1), [1, 2), [2, 3].
/// assert_eq!(s.histogram.counts, vec![1, 0, 2, 1, 1]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct TensorStats {
    /// Number of elements, finite or not.
    pub count: usize,
    /// Number of NaN and ±∞ elements, left out of every other statistic.
    pub non_finite: usize,
    /// Mean of the finite values.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub mean: f64,
    /// Population standard deviation (ddof 0) of the finite values.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub std: f64,
    /// Smallest finite value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub min: f64,
    /// Largest finite value.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub max: f64,
    /// `Σ │w│` over the finite values.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub l1: f64,
    /// `√(Σ w²)` over the finite values.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub l2: f64,
    /// Fraction of all elements exactly zero.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub zero_fraction: f64,
    /// Fraction of all elements with `│w│ ≤ near_zero`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub near_zero_fraction: f64,
    /// The threshold used for `near_zero_fraction`.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub near_zero: f64,
    /// Histogram of the finite values over `[min, max]`.
    pub histogram: Histogram,
}

/// Checks the two settings shared by every report.
pub(crate) fn check_settings(op: &'static str, near_zero: f64, bins: usize) -> Result<()> {
    if !near_zero.is_finite() || near_zero < 0.0 {
        return Err(Error::invalid_arg(
            "near-zero threshold",
            near_zero,
            format!("{op}: must be finite and ≥ 0"),
        ));
    }
    if bins == 0 {
        return Err(Error::invalid_arg(
            "histogram bins",
            bins,
            format!("{op}: must be at least 1"),
        ));
    }
    Ok(())
}

impl TensorStats {
    /// The statistics of every element of `t`, with `│w│ ≤ near_zero`
    /// counting as near zero and a histogram of `bins` bins.
    ///
    /// A tensor with no elements gives `count` 0 and the statistics of "no
    /// finite value" described in the [module docs](self), with both
    /// fractions 0.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `near_zero` is negative or not finite or
    /// `bins` is 0.
    pub fn of<T: Scalar>(t: &Tensor<T>, near_zero: f64, bins: usize) -> Result<TensorStats> {
        Self::of_values(t.as_slice().iter().map(|v| v.as_f64()), near_zero, bins)
    }

    /// The statistics of a sequence of values (e.g. several tensors pooled).
    /// The iterator is cloned to make the passes it needs.
    ///
    /// # Errors
    /// As [`TensorStats::of`].
    pub fn of_values<I>(values: I, near_zero: f64, bins: usize) -> Result<TensorStats>
    where
        I: Iterator<Item = f64> + Clone,
    {
        check_settings("TensorStats", near_zero, bins)?;
        let (mut count, mut finite) = (0usize, 0usize);
        let (mut sum, mut l1, mut max_abs) = (0.0f64, 0.0f64, 0.0f64);
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        let (mut zeros, mut near) = (0usize, 0usize);
        for v in values.clone() {
            count += 1;
            if !v.is_finite() {
                continue;
            }
            finite += 1;
            sum += v;
            l1 += v.abs();
            max_abs = max_abs.max(v.abs());
            min = min.min(v);
            max = max.max(v);
            zeros += usize::from(v == 0.0);
            near += usize::from(v.abs() <= near_zero);
        }
        let finite_values = values.filter(|v| v.is_finite());
        let (mean, std, l2, histogram) = if finite == 0 {
            let h = Histogram::new(std::iter::empty(), 0.0, 1.0, bins);
            (f64::NAN, f64::NAN, 0.0, h)
        } else {
            let mean = sum / finite as f64;
            // Two passes: Σ(w − μ)² is exact to rounding, unlike Σw² − mμ².
            let (mut ss, mut scaled) = (0.0f64, 0.0f64);
            for v in finite_values.clone() {
                ss += (v - mean) * (v - mean);
                if max_abs > 0.0 {
                    // Scaled by max|w| so the squares cannot overflow.
                    scaled += (v / max_abs) * (v / max_abs);
                }
            }
            let h = Histogram::new(finite_values, min, max, bins);
            (
                mean,
                (ss / finite as f64).sqrt(),
                max_abs * scaled.sqrt(),
                h,
            )
        };
        let (min, max) = if finite == 0 {
            (f64::NAN, f64::NAN)
        } else {
            (min, max)
        };
        Ok(TensorStats {
            count,
            non_finite: count - finite,
            mean,
            std,
            min,
            max,
            l1,
            l2,
            zero_fraction: fraction(zeros, count),
            near_zero_fraction: fraction(near, count),
            near_zero,
            histogram,
        })
    }
}

/// One line: `n 5, mean 0.4, std 1.74, min -2, max 3, ‖·‖₂ 3.74, zero 20%, near zero 40%`.
impl fmt::Display for TensorStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "n {}, mean {}, std {}, min {}, max {}, ‖·‖₂ {}, zero {}, near zero {}",
            self.count,
            sig(self.mean),
            sig(self.std),
            sig(self.min),
            sig(self.max),
            sig(self.l2),
            percent(self.zero_fraction),
            percent(self.near_zero_fraction)
        )?;
        if self.non_finite > 0 {
            write!(f, ", non-finite {}", self.non_finite)?;
        }
        Ok(())
    }
}

/// `part / whole`, 0 when `whole` is 0.
pub(crate) fn fraction(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// A number in 4 significant digits for the tables: `0.1234`, `-12.35`,
/// `1.235e-5`, `0`, `NaN`.
pub(crate) fn sig(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return format!("{v:.3e}");
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A fraction as a percentage with one decimal: `0.125` → `12.5%`.
pub(crate) fn percent(f: f64) -> String {
    format!("{:.1}%", 100.0 * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                fn t(v: &[f64]) -> Tensor<T> {
                    Tensor::from_slice(v).cast()
                }

                #[test]
                fn moments_norms_and_fractions_by_hand() {
                    // w = [−2, 0, 0.0005, 1, 3]: Σw = 2.0005, μ = 0.4001;
                    // Σ(w − μ)² = 5.76048001 + 0.16008001 + 0.15968001 + 0.35988001
                    //   + 6.75948001 = 13.19960005, std = √(13.19960005/5) = 1.624783...
                    // L1 = 6.0005, L2 = √(4 + 0 + 2.5e-7 + 1 + 9) = √14.00000025.
                    let s = TensorStats::of(&t(&[-2.0, 0.0, 0.0005, 1.0, 3.0]), 1e-3, 5).unwrap();
                    let tol = 1e-6;
                    assert_eq!((s.count, s.non_finite), (5, 0));
                    assert!((s.mean - 0.4001).abs() < tol);
                    assert!((s.std - (13.19960005f64 / 5.0).sqrt()).abs() < tol);
                    assert_eq!((s.min, s.max), (-2.0, 3.0));
                    assert!((s.l1 - 6.0005).abs() < tol);
                    assert!((s.l2 - 14.00000025f64.sqrt()).abs() < tol);
                    // One exact zero; 0 and 0.0005 are within 1e-3.
                    assert_eq!(s.zero_fraction, 0.2);
                    assert_eq!(s.near_zero_fraction, 0.4);
                    assert_eq!(s.near_zero, 1e-3);
                }

                #[test]
                fn histogram_follows_numpy() {
                    // np.histogram([-2, 0, 0.0005, 1, 3], 5): edges −2, −1, 0, 1, 2, 3;
                    // −2 → bin 0, 0 and 0.0005 → bin 2, 1 → bin 3, 3 → the closed last bin.
                    let s = TensorStats::of(&t(&[-2.0, 0.0, 0.0005, 1.0, 3.0]), 0.0, 5).unwrap();
                    assert_eq!(s.histogram.edges, vec![-2.0, -1.0, 0.0, 1.0, 2.0, 3.0]);
                    assert_eq!(s.histogram.counts, vec![1, 0, 2, 1, 1]);
                    assert_eq!(s.histogram.bins(), 5);
                    assert_eq!(s.histogram.total(), 5);
                    // Values on inner edges go right: np.histogram([0, 1, 2, 3, 4], 4)
                    // has edges 0, 1, 2, 3, 4 and counts 1, 1, 1, 2.
                    let s = TensorStats::of(&t(&[0.0, 1.0, 2.0, 3.0, 4.0]), 0.0, 4).unwrap();
                    assert_eq!(s.histogram.counts, vec![1, 1, 1, 2]);
                    // A constant tensor: NumPy widens the range to [c − 0.5, c + 0.5].
                    let s = TensorStats::of(&t(&[2.0, 2.0, 2.0]), 0.0, 2).unwrap();
                    assert_eq!(s.histogram.edges, vec![1.5, 2.0, 2.5]);
                    assert_eq!(s.histogram.counts, vec![0, 3]);
                    assert_eq!(s.std, 0.0);
                }

                #[test]
                fn non_finite_values_are_counted_apart() {
                    // Finite values 1, 3, 0: μ = 4/3, Σ(w − μ)² = 1/9 + 25/9 + 16/9 = 42/9,
                    // std = √(42/27), L1 = 4, L2 = √10.
                    let x = t(&[1.0, f64::NAN, 3.0, f64::INFINITY, 0.0]);
                    let s = TensorStats::of(&x, 0.5, 2).unwrap();
                    assert_eq!((s.count, s.non_finite), (5, 2));
                    assert_eq!((s.mean, s.min, s.max), (4.0 / 3.0, 0.0, 3.0));
                    assert!((s.std - (42.0f64 / 27.0).sqrt()).abs() < 1e-6);
                    assert_eq!((s.l1, s.histogram.total()), (4.0, 3));
                    assert!((s.l2 - 10f64.sqrt()).abs() < 1e-6);
                    // Fractions over all 5 elements: one zero, one |w| ≤ 0.5.
                    assert_eq!((s.zero_fraction, s.near_zero_fraction), (0.2, 0.2));
                    let all_nan = TensorStats::of(&t(&[f64::NAN, f64::NAN]), 0.0, 4).unwrap();
                    assert!(all_nan.mean.is_nan() && all_nan.std.is_nan());
                    assert!(all_nan.min.is_nan() && all_nan.max.is_nan());
                    assert_eq!((all_nan.l1, all_nan.l2, all_nan.non_finite), (0.0, 0.0, 2));
                    assert_eq!(all_nan.histogram.edges, vec![0.0, 0.25, 0.5, 0.75, 1.0]);
                    assert_eq!(all_nan.histogram.counts, vec![0; 4]);
                }

                #[test]
                fn errors() {
                    let x = t(&[1.0]);
                    for bad in [-1e-3, f64::NAN, f64::INFINITY] {
                        let e = TensorStats::of(&x, bad, 3).unwrap_err();
                        assert!(
                            matches!(
                                e,
                                Error::InvalidArgument {
                                    name: "near-zero threshold",
                                    ..
                                }
                            ),
                            "{e}"
                        );
                    }
                    let e = TensorStats::of(&x, 0.0, 0).unwrap_err();
                    assert_eq!(
                        e.to_string(),
                        "invalid histogram bins = 0: TensorStats: must be at least 1"
                    );
                    assert!(TensorStats::of_values(std::iter::empty(), -1.0, 3).is_err());
                }

                #[test]
                fn empty_tensor_gives_empty_stats() {
                    let empty = Tensor::<T>::zeros(&[0, 3]).unwrap();
                    let s = TensorStats::of(&empty, 0.0, 2).unwrap();
                    assert_eq!((s.count, s.non_finite, s.l1, s.l2), (0, 0, 0.0, 0.0));
                    assert!(s.mean.is_nan() && s.std.is_nan() && s.min.is_nan());
                    assert_eq!((s.zero_fraction, s.near_zero_fraction), (0.0, 0.0));
                    assert_eq!(s.histogram.edges, vec![0.0, 0.5, 1.0]);
                    assert_eq!(s.histogram.counts, vec![0, 0]);
                }
            }
        };
    }
    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);

    #[test]
    fn l2_does_not_overflow() {
        // (1e200)² overflows f64, the scaled sum does not: √2·1e200.
        let s = TensorStats::of(&Tensor::from_slice(&[1e200, -1e200]), 0.0, 1).unwrap();
        assert!((s.l2 / (2f64.sqrt() * 1e200) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn display_and_number_formats() {
        let s =
            TensorStats::of(&Tensor::from_slice(&[-2.0, 0.0, 0.0005, 1.0, 3.0]), 1e-3, 5).unwrap();
        let line = s.to_string();
        assert!(
            line.starts_with("n 5, mean 0.4001, std 1.625, min -2, max 3"),
            "{line}"
        );
        assert!(line.ends_with("zero 20.0%, near zero 40.0%"), "{line}");
        assert_eq!(sig(0.0), "0");
        assert_eq!(sig(1234.5678), "1235");
        assert_eq!(sig(-0.012345), "-0.01235");
        assert_eq!(sig(2.5e-7), "2.500e-7");
        assert_eq!(sig(f64::NAN), "NaN");
        assert_eq!(percent(0.125), "12.5%");
    }
}
