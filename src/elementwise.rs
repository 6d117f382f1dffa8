//! Element-wise passes split in blocks between the products' threads for
//! long tensors (see [`par_blocks`]): the activation layers' maps (a
//! convolution's feature maps) and [`Tensor`](crate::Tensor)'s `assign`,
//! `fill` and `all_finite`, which a training step runs over the parameters
//! and gradients (the optimizer's update splits the same way, in
//! `optim`). Each value depends on its own inputs alone, so results do not
//! depend on the thread count.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::Scalar;
use crate::gemm::par_blocks;

/// Values per block handed to a thread (64 KiB of `f32`); a pass over fewer
/// than two blocks runs on the calling thread.
pub(crate) const BLOCK: usize = 1 << 14;

/// `out[i] = f(x[i])`; the lengths must be equal.
pub(crate) fn map<T: Scalar>(out: &mut [T], x: &[T], f: impl Fn(T) -> T + Sync) {
    debug_assert_eq!(out.len(), x.len());
    par_blocks(out.len(), BLOCK, &mut [out], &|at, part| {
        for (d, &v) in part[0].iter_mut().zip(&x[at]) {
            *d = f(v);
        }
    });
}

/// `out[i] = f(a[i], b[i])`; the lengths must be equal.
pub(crate) fn zip<T: Scalar>(out: &mut [T], a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync) {
    debug_assert!(out.len() == a.len() && a.len() == b.len());
    par_blocks(out.len(), BLOCK, &mut [out], &|at, part| {
        for ((d, &u), &v) in part[0].iter_mut().zip(&a[at.clone()]).zip(&b[at]) {
            *d = f(u, v);
        }
    });
}

/// `out[i] = x[i]`; the lengths must be equal.
pub(crate) fn copy<T: Scalar>(out: &mut [T], x: &[T]) {
    debug_assert_eq!(out.len(), x.len());
    par_blocks(out.len(), BLOCK, &mut [out], &|at, part| {
        part[0].copy_from_slice(&x[at]);
    });
}

/// `out[i] = v`.
pub(crate) fn fill<T: Scalar>(out: &mut [T], v: T) {
    par_blocks(out.len(), BLOCK, &mut [out], &|_, part| part[0].fill(v));
}

/// Whether every value of `x` is finite.
pub(crate) fn all_finite<T: Scalar>(x: &[T]) -> bool {
    let ok = AtomicBool::new(true);
    par_blocks::<T>(x.len(), BLOCK, &mut [], &|at, _| {
        if ok.load(Ordering::Relaxed) && !finite(&x[at]) {
            ok.store(false, Ordering::Relaxed);
        }
    });
    ok.into_inner()
}

/// Whether every value of `x` is finite, on the calling thread, with AVX2
/// where the CPU has it (the crate is compiled for baseline x86-64).
#[allow(unsafe_code)]
pub(crate) fn finite<T: Scalar>(x: &[T]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU supports AVX2, checked just above; `finite_avx2`
        // has no other requirement.
        return unsafe { finite_avx2(x) };
    }
    finite_portable(x)
}

/// [`finite_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn finite_avx2<T: Scalar>(x: &[T]) -> bool {
    finite_portable(x)
}

/// Blocks of 256 without a branch per element (so the check vectorises),
/// stopping at the first block holding a non-finite value.
#[inline(always)]
fn finite_portable<T: Scalar>(x: &[T]) -> bool {
    x.chunks(256)
        .all(|block| block.iter().fold(true, |ok, v| ok & v.is_finite()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_once_whatever_the_thread_count() {
        let prev = crate::num_threads();
        for threads in [1, 2, 3] {
            crate::set_num_threads(threads).unwrap();
            for len in [0, 5, BLOCK, 3 * BLOCK + 7] {
                let x: Vec<f64> = (0..len).map(|i| i as f64 - 100.0).collect();
                let mut out = vec![f64::NAN; len];
                map(&mut out, &x, |v| 2.0 * v);
                assert!(out.iter().zip(&x).all(|(o, v)| *o == 2.0 * v), "len {len}");
                zip(&mut out, &x, &x, |u, v| u * v + 1.0);
                assert!(
                    out.iter().zip(&x).all(|(o, v)| *o == v * v + 1.0),
                    "len {len}"
                );
            }
        }
        crate::set_num_threads(prev).unwrap();
    }

    #[test]
    fn copy_fill_and_finiteness_whatever_the_thread_count() {
        let prev = crate::num_threads();
        for threads in [1, 2, 3] {
            crate::set_num_threads(threads).unwrap();
            for len in [0, 5, BLOCK, 3 * BLOCK + 7] {
                let x: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 3.0).collect();
                let mut out = vec![f32::NAN; len];
                copy(&mut out, &x);
                assert_eq!(out, x, "len {len}");
                fill(&mut out, 2.5);
                assert!(out.iter().all(|&v| v == 2.5), "len {len}");
                assert!(all_finite(&x) && finite(&x));
                // A non-finite value anywhere, the tail included, is found.
                for at in [0, len / 2, len.saturating_sub(1)]
                    .into_iter()
                    .filter(|_| len > 0)
                {
                    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                        let mut y = x.clone();
                        y[at] = bad;
                        assert!(!all_finite(&y) && !finite(&y), "{bad} at {at} of {len}");
                        assert!(!finite_portable(&y));
                    }
                }
            }
        }
        crate::set_num_threads(prev).unwrap();
        // Extremes that are finite: the largest values, subnormals, −0.
        let edge = [f64::MAX, f64::MIN, f64::MIN_POSITIVE / 4.0, -0.0, 1e-320];
        assert!(finite(&edge) && finite_portable(&edge));
    }
}
