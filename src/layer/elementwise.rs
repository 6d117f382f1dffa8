//! Element-wise passes of the activation layers in one sweep (no copy
//! first), split in blocks between the products' threads for long tensors
//! (a convolution's feature maps): each value depends on its own inputs
//! alone, so the result does not depend on the thread count.

use crate::Scalar;
use crate::gemm::{none, par_items};

/// Values per block handed to a thread (64 KiB of `f32`); shorter slices
/// are done on the calling thread.
const BLOCK: usize = 1 << 14;

/// Calls `f(offset, part)` over `out` in whole blocks (split between the
/// threads) and then its tail; `offset` is the index of `part[0]` in `out`.
fn for_blocks<T: Scalar>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    let whole = out.len() / BLOCK;
    let (head, tail) = out.split_at_mut(whole * BLOCK);
    par_items(whole, (head, BLOCK), none(), &|first, part, _| {
        f(first * BLOCK, part)
    });
    f(whole * BLOCK, tail);
}

/// `out[i] = f(x[i])`; the lengths must be equal.
pub(crate) fn map<T: Scalar>(out: &mut [T], x: &[T], f: impl Fn(T) -> T + Sync) {
    debug_assert_eq!(out.len(), x.len());
    for_blocks(out, |at, part| {
        for (d, &v) in part.iter_mut().zip(&x[at..]) {
            *d = f(v);
        }
    });
}

/// `out[i] = f(a[i], b[i])`; the lengths must be equal.
pub(crate) fn zip<T: Scalar>(out: &mut [T], a: &[T], b: &[T], f: impl Fn(T, T) -> T + Sync) {
    debug_assert!(out.len() == a.len() && a.len() == b.len());
    for_blocks(out, |at, part| {
        for ((d, &u), &v) in part.iter_mut().zip(&a[at..]).zip(&b[at..]) {
            *d = f(u, v);
        }
    });
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
}
