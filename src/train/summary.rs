//! A parameter's values summarized for a snapshot: the nine [`QUANTILES`]
//! and a fixed-bin histogram, both exact, in three passes over the values
//! and no sort.
//!
//! 1. The finite minimum and maximum.
//! 2. Each value's bin in a fine histogram over `[min, max]` (kept), and
//!    the fine counts: `m` fine bins per histogram bin, at least
//!    [`FINE_BINS`] in all. The histogram's counts are sums of `m` fine
//!    counts, and the running count tells which fine bin holds each order
//!    statistic a quantile reads.
//! 3. The values in those few fine bins (typically seven of 2,000, a few
//!    percent of the values) are gathered, and the order statistics are
//!    selected among them.
//!
//! The fine bin of `x` is `⌊(x − min)·s⌋` with `s = fine bins / (max − min)`
//! (computed on halves, which cannot overflow), the maximum in the last bin:
//! monotone in `x`, so a fine bin holds a run
//! of consecutive order statistics. A distribution with all but a few values
//! in one fine bin (one huge outlier) gathers that bin and costs a
//! selection over it, as the plain method would.

use super::record::{ParamSnapshot, QUANTILES};
use crate::{Scalar, Tensor};

/// The least number of fine bins.
const FINE_BINS: usize = 2048;

/// At most this many order statistics are read: `⌊q·(n−1)⌋` and the one
/// after for the seven inner quantiles (the extremes are the minimum and
/// maximum).
const MAX_RANKS: usize = 14;

/// Buffers kept from one snapshot to the next, so that a summary allocates
/// only its own counts (and a buffer when a parameter is larger than any before).
#[derive(Debug, Default)]
pub(crate) struct Summarizer {
    /// Fine counts, then the slot (1-based) of each gathered fine bin.
    fine: Vec<u32>,
    /// Each finite value's fine bin.
    index: Vec<u32>,
    /// The values of each gathered fine bin.
    buckets: Vec<Vec<f64>>,
}

/// The order statistic `rank` and the fine bin that holds it.
#[derive(Clone, Copy, Default)]
struct Wanted {
    rank: usize,
    /// Index into `Summarizer::buckets`.
    slot: usize,
    /// Values in fine bins before it: `rank − before` is its place in the bucket.
    before: usize,
}

impl Summarizer {
    /// The summary of `t`'s finite values: quantiles by linear interpolation
    /// between order statistics (`numpy.quantile`'s default), the range
    /// `(min, max)` and `bins` counts over it (NaN quantiles and range, zero
    /// counts, without a finite value; every value in the middle bin when
    /// all are equal).
    pub(crate) fn summarize<T: Scalar>(
        &mut self,
        t: &Tensor<T>,
        bins: usize,
        grad_norm: Option<f64>,
        update_ratio: Option<f64>,
    ) -> ParamSnapshot {
        let values = t.as_slice();
        let (n, mut lo, mut hi) = finite_extremes(values);
        let mut counts = vec![0u32; bins];
        let quantiles = if n == 0 {
            (lo, hi) = (f64::NAN, f64::NAN);
            [f64::NAN; 9]
        } else if lo == hi {
            counts[bins / 2] = n as u32;
            [lo; 9]
        } else {
            self.quantiles_and_counts(values, (n, lo, hi), &mut counts)
        };
        ParamSnapshot {
            quantiles,
            range: (lo, hi),
            counts,
            grad_norm,
            update_ratio,
        }
    }

    /// Passes 2 and 3 for `n > 1` finite values in `[lo, hi]`, `lo < hi`.
    fn quantiles_and_counts<T: Scalar>(
        &mut self,
        values: &[T],
        (n, lo, hi): (usize, f64, f64),
        counts: &mut [u32],
    ) -> [f64; 9] {
        let per_bin = FINE_BINS.div_ceil(counts.len());
        let fine_bins = counts.len() * per_bin;
        // Halves, so that `max − min` cannot overflow to infinity.
        let (half_lo, scale) = (0.5 * lo, fine_bins as f64 / (0.5 * hi - 0.5 * lo));
        let fine_of = |x: f64| (((0.5 * x - half_lo) * scale) as usize).min(fine_bins - 1);
        let fine = &mut self.fine;
        fine.clear();
        fine.resize(fine_bins, 0);
        // Each finite value's fine bin, kept for pass 3.
        let index = &mut self.index;
        index.clear();
        index.extend(
            values
                .iter()
                .map(|v| v.as_f64())
                .filter(|x| x.is_finite())
                .map(|x| fine_of(x) as u32),
        );
        for &f in index.iter() {
            fine[f as usize] += 1;
        }
        for (c, f) in counts.iter_mut().zip(fine.chunks(per_bin)) {
            *c = f.iter().sum();
        }

        // The ranks to read, in order, and the fine bin of each.
        let last = n - 1;
        let mut wanted = [Wanted::default(); MAX_RANKS];
        let mut len = 0;
        for q in &QUANTILES[1..8] {
            let pos = q * last as f64;
            let i = pos.floor() as usize;
            for r in [i, i + 1] {
                let read = r == i || pos > pos.floor();
                if read && r <= last && (len == 0 || wanted[len - 1].rank < r) {
                    wanted[len].rank = r;
                    len += 1;
                }
            }
        }
        let wanted = &mut wanted[..len];
        // Ranks in order lie in fine bins in order: a new bin, a new slot.
        let (mut before, mut bin, mut slots) = (0usize, 0usize, 0usize);
        let mut bin_of_slot = [0usize; MAX_RANKS];
        for w in wanted.iter_mut() {
            while before + fine[bin] as usize <= w.rank {
                before += fine[bin] as usize;
                bin += 1;
            }
            if slots == 0 || bin_of_slot[slots - 1] != bin {
                bin_of_slot[slots] = bin;
                slots += 1;
            }
            (w.slot, w.before) = (slots - 1, before);
        }
        // From here on a fine bin holds its slot + 1, or 0 if not gathered.
        fine.iter_mut().for_each(|f| *f = 0);
        for (s, &b) in bin_of_slot[..slots].iter().enumerate() {
            fine[b] = s as u32 + 1;
        }

        // Pass 3: gather the marked bins, then select within each.
        if self.buckets.len() < slots {
            self.buckets.resize_with(slots, Vec::new);
        }
        let buckets = &mut self.buckets[..slots];
        buckets.iter_mut().for_each(Vec::clear);
        let finite = values.iter().map(|v| v.as_f64()).filter(|x| x.is_finite());
        for (x, &i) in finite.zip(index.iter()) {
            let f = fine[i as usize];
            if f != 0 {
                buckets[f as usize - 1].push(x);
            }
        }
        let mut ranks = [0usize; MAX_RANKS];
        for (s, bucket) in buckets.iter_mut().enumerate() {
            let mut k = 0;
            for w in wanted.iter().filter(|w| w.slot == s) {
                ranks[k] = w.rank - w.before;
                k += 1;
            }
            select_ranks(bucket, 0, &ranks[..k]);
        }
        let stat = |r: usize| {
            let w = wanted.iter().find(|w| w.rank == r).expect("a wanted rank");
            buckets[w.slot][r - w.before]
        };

        let mut out = [lo, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, hi];
        for (k, q) in QUANTILES.iter().enumerate().take(8).skip(1) {
            let pos = q * last as f64;
            let (i, frac) = (pos.floor() as usize, pos - pos.floor());
            let at = stat(i);
            out[k] = if frac > 0.0 && i < last {
                at + frac * (stat(i + 1) - at)
            } else {
                at
            };
        }
        out
    }
}

/// The number of finite values, their minimum and maximum (±∞ if none):
/// eight independent lanes, which the compiler turns into vector code.
fn finite_extremes<T: Scalar>(values: &[T]) -> (usize, f64, f64) {
    const LANES: usize = 8;
    let (mut n, mut lo, mut hi) = (
        [0usize; LANES],
        [f64::INFINITY; LANES],
        [f64::NEG_INFINITY; LANES],
    );
    let chunks = values.chunks_exact(LANES);
    let rest = chunks.remainder();
    let mut lane = |l: usize, x: f64| {
        let finite = x.is_finite();
        n[l] += usize::from(finite);
        lo[l] = if finite && x < lo[l] { x } else { lo[l] };
        hi[l] = if finite && x > hi[l] { x } else { hi[l] };
    };
    for c in chunks {
        for (l, v) in c.iter().enumerate() {
            lane(l, v.as_f64());
        }
    }
    for (l, v) in rest.iter().enumerate() {
        lane(l, v.as_f64());
    }
    (
        n.iter().sum(),
        lo.iter().copied().fold(f64::INFINITY, f64::min),
        hi.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Puts the order statistics at `ranks` (sorted, distinct, relative to
/// the slice of which `v` starts at `offset`) in place: the middle rank
/// first, then each side with the ranks inside it, so that each value takes
/// part in about `log₂(ranks + 1)` partitions rather than one per rank.
fn select_ranks(v: &mut [f64], offset: usize, ranks: &[usize]) {
    if ranks.is_empty() {
        return;
    }
    let mid = ranks.len() / 2;
    let r = ranks[mid] - offset;
    let (left, _, right) = v.select_nth_unstable_by(r, f64::total_cmp);
    select_ranks(left, offset, &ranks[..mid]);
    select_ranks(right, offset + r + 1, &ranks[mid + 1..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// numpy's default quantile of a sorted slice: the reference.
    fn quantile(sorted: &[f64], q: f64) -> f64 {
        let last = sorted.len() - 1;
        let pos = q * last as f64;
        let (i, frac) = (pos.floor() as usize, pos - pos.floor());
        match sorted.get(i + 1) {
            Some(&next) if frac > 0.0 => sorted[i] + frac * (next - sorted[i]),
            _ => sorted[i],
        }
    }

    fn summary(v: &[f64], bins: usize) -> ParamSnapshot {
        let t = Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap();
        Summarizer::default().summarize(&t, bins, None, None)
    }

    /// Quantiles and counts as a sort and a direct count give them.
    fn check(v: &[f64], bins: usize) {
        let mut sorted: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        sorted.sort_by(f64::total_cmp);
        let s = summary(v, bins);
        assert_eq!(
            s.quantiles,
            QUANTILES.map(|q| quantile(&sorted, q)),
            "{v:?}"
        );
        assert_eq!(s.range, (sorted[0], sorted[sorted.len() - 1]));
        assert_eq!(s.counts.iter().sum::<u32>() as usize, sorted.len());
    }

    /// Every length to 300 with few distinct values (ties across fine bins)
    /// and with many; spread evenly, with a far outlier (nearly everything in
    /// one fine bin), and with non-finite values among them.
    #[test]
    fn quantiles_match_a_sort() {
        for n in 1..=300usize {
            for distinct in [3, 1000] {
                let v: Vec<f64> = (0..n)
                    .map(|i| ((i * 7919 + n * 31) % distinct) as f64 * 0.37 - 50.0)
                    .collect();
                check(&v, 40);
                check(&v, 1);
                let mut outlier = v.clone();
                outlier[n / 2] = 1e12;
                check(&outlier, 40);
                outlier.push(f64::NAN);
                outlier.push(f64::NEG_INFINITY);
                check(&outlier, 7);
            }
        }
        let mut r = 1u64;
        let big: Vec<f64> = (0..20_000)
            .map(|_| {
                r = r
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5).powi(3)
            })
            .collect();
        check(&big, 40);
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v: Vec<f64> = (0..=10).rev().map(f64::from).collect();
        let q = summary(&v, 5).quantiles;
        assert_eq!((q[0], q[3], q[4], q[8]), (0.0, 2.5, 5.0, 10.0));
        assert!((q[2] - 0.9).abs() < 1e-12);
        assert_eq!(summary(&[3.0], 4).quantiles, [3.0; 9]);
    }

    #[test]
    fn counts_every_finite_value_in_equal_bins() {
        let s = summary(&[-1.0, 0.0, 0.5, 1.0, f64::NAN], 4);
        assert_eq!(s.range, (-1.0, 1.0));
        assert_eq!(s.counts, vec![1, 0, 1, 2]);
        assert_eq!(s.quantiles[4], 0.25);
        assert_eq!(summary(&[2.0; 3], 5).counts, vec![0, 0, 3, 0, 0]);
        let empty = summary(&[f64::NAN], 3);
        assert_eq!(empty.counts, vec![0, 0, 0]);
        assert!(empty.range.0.is_nan() && empty.quantiles.iter().all(|q| q.is_nan()));
        // More bins than fine bins per bin would need, and a range near f64's limit.
        assert_eq!(summary(&[0.0, 1.0], 5000).counts.iter().sum::<u32>(), 2);
        assert_eq!(summary(&[-1e308, 0.0, 1e308], 2).counts, vec![1, 2]);
        // f32 values are summarized as the f64 they convert to.
        let t = Tensor::from_vec(vec![0.1f32, 0.2, 0.3], &[3]).unwrap();
        let s = Summarizer::default().summarize(&t, 2, None, None);
        assert_eq!(s.quantiles[4], 0.2f32 as f64);
    }

    /// Buffers reused from a larger parameter give the same summary.
    #[test]
    fn reused_buffers_change_nothing() {
        let mut s = Summarizer::default();
        let a: Vec<f64> = (0..5000).map(|i| (i as f64).sin()).collect();
        let b = [3.0, -1.0, 2.0, 0.5];
        let ta = Tensor::from_vec(a.clone(), &[a.len()]).unwrap();
        let tb = Tensor::from_vec(b.to_vec(), &[4]).unwrap();
        assert_eq!(s.summarize(&ta, 40, None, None), summary(&a, 40));
        assert_eq!(s.summarize(&tb, 40, None, None), summary(&b, 40));
    }
}
