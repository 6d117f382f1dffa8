//! How many threads the products use, and the pool's helper for the passes
//! around them.

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{MAX_THREADS, lock, pool};

/// Thread count set by [`set_num_threads`]; 0 means "not set, use the default".
static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the number of threads large matrix products use, from 1 to 32, and
/// with them the element-wise passes over long tensors (activations, the
/// optimizer's update, copies, fills and finiteness checks of 32K values or
/// more).
///
/// Small products and short passes always run on the calling thread. Results
/// do not depend on the thread count.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for 0 or more than 32.
pub fn set_num_threads(n: usize) -> crate::Result<()> {
    if !(1..=MAX_THREADS).contains(&n) {
        return Err(crate::Error::invalid_arg(
            "thread count",
            n,
            format!("must be between 1 and {MAX_THREADS}"),
        ));
    }
    NUM_THREADS.store(n, Ordering::Relaxed);
    Ok(())
}

/// Number of threads large matrix products use.
///
/// Defaults to [`std::thread::available_parallelism`] (at most 32) until
/// [`set_num_threads`] is called.
pub fn num_threads() -> usize {
    match NUM_THREADS.load(Ordering::Relaxed) {
        0 => {
            static DEFAULT: OnceLock<usize> = OnceLock::new();
            *DEFAULT.get_or_init(|| {
                std::thread::available_parallelism()
                    .map_or(1, usize::from)
                    .clamp(1, MAX_THREADS)
            })
        }
        n => n,
    }
}

/// The job of [`par_items`]: `(first item, its part of a, its part of b)`.
type ItemsJob<'a, A, B> = &'a (dyn Fn(usize, &mut [A], &mut [B]) + Sync);

/// A part of both slices of [`par_items`].
type Parts<'a, A, B> = (&'a mut [A], &'a mut [B]);

/// Runs `f(first, a_part, b_part)` over contiguous parts of `a` and `b`, one
/// part per thread, on up to [`num_threads`] threads of the products' pool
/// (the calling thread included, always with the first part), for passes
/// around the products (a convolution's lowering, pooling) that split into
/// independent items: item `i` owns `a[i·a_len..(i+1)·a_len]` and
/// `b[i·b_len..(i+1)·b_len]`, a part is a run of whole items starting at item
/// `first`, and every item is covered once. An item's values must depend on
/// the item alone (never on the part): then results do not depend on the
/// thread count. One contiguous range of items per thread, like
/// [`par_blocks`]' ranges of a tensor, so consecutive passes over a batch
/// mostly find their samples in the same core's cache (finer parts handed
/// out dynamically measured 3 % slower on a W4 epoch at two threads).
/// Allocates nothing once the pool's workers exist.
pub(crate) fn par_items<A: Send, B: Send>(
    items: usize,
    (a, a_len): (&mut [A], usize),
    (b, b_len): (&mut [B], usize),
    f: ItemsJob<'_, A, B>,
) {
    debug_assert!(a.len() >= items * a_len && b.len() >= items * b_len);
    let threads = num_threads().min(items);
    if threads <= 1 {
        f(0, &mut a[..items * a_len], &mut b[..items * b_len]);
        return;
    }
    let bound = |p: usize| p * items / threads;
    let (mut a, mut b) = (a, b);
    let slots: [Mutex<Option<Parts<'_, A, B>>>; MAX_THREADS] = std::array::from_fn(|p| {
        if p >= threads {
            return Mutex::new(None);
        }
        let n = bound(p + 1) - bound(p);
        let (ah, at) = std::mem::take(&mut a).split_at_mut(n * a_len);
        let (bh, bt) = std::mem::take(&mut b).split_at_mut(n * b_len);
        (a, b) = (at, bt);
        Mutex::new(Some((ah, bh)))
    });
    pool::run(threads, threads, &|p, _| {
        if let Some((ap, bp)) = lock(&slots[p]).take() {
            f(bound(p), ap, bp);
        }
    });
}

/// At most this many slices go through one [`par_blocks`] call.
pub(crate) const MAX_SLICES: usize = 4;

/// The job of [`par_blocks`]: `(range of values, the slices' parts over it)`.
type BlocksJob<'a, T> = &'a (dyn Fn(Range<usize>, &mut [&mut [T]]) + Sync);

/// Runs `f(range, parts)` over the values `0..len` split in one range of
/// whole blocks of `block` values per thread, on up to [`num_threads`]
/// threads of the products' pool (the calling thread included): `parts[s]`
/// is `slices[s][range]`, the last range takes the tail, and every value is
/// covered once. For element-wise passes (an optimizer's update, a copy, a
/// finiteness check) over several tensors of the same length: a value must
/// depend on its own index alone, never on the range, so results do not
/// depend on the thread count. One range per thread, the same in every pass
/// over a tensor, with the first always on the calling thread: with two
/// threads each keeps its half of a weight in its own cache from the check of
/// the gradient to the update (finer parts handed out dynamically measured
/// slower). A pass of fewer than two blocks runs on the calling thread.
/// Allocates nothing once the pool's workers exist.
///
/// # Panics
/// If a slice's length is not `len` or there are more than [`MAX_SLICES`]
/// slices (internal callers only).
pub(crate) fn par_blocks<T: Send>(
    len: usize,
    block: usize,
    slices: &mut [&mut [T]],
    f: BlocksJob<'_, T>,
) {
    assert!(slices.len() <= MAX_SLICES && slices.iter().all(|s| s.len() == len));
    let blocks = len / block.max(1);
    let threads = num_threads().min(blocks);
    if threads <= 1 {
        f(0..len, slices);
        return;
    }
    let start = |p: usize| {
        if p == threads {
            len
        } else {
            p * blocks / threads * block
        }
    };
    let count = slices.len();
    let mut rest: [&mut [T]; MAX_SLICES] = Default::default();
    for (r, s) in rest.iter_mut().zip(slices.iter_mut()) {
        *r = std::mem::take(s);
    }
    let slots: [Mutex<Option<[&mut [T]; MAX_SLICES]>>; MAX_THREADS] = std::array::from_fn(|p| {
        if p >= threads {
            return Mutex::new(None);
        }
        let n = start(p + 1) - start(p);
        let mut part: [&mut [T]; MAX_SLICES] = Default::default();
        for (dst, r) in part.iter_mut().zip(rest.iter_mut()).take(count) {
            let (head, tail) = std::mem::take(r).split_at_mut(n);
            (*dst, *r) = (head, tail);
        }
        Mutex::new(Some(part))
    });
    pool::run(threads, threads, &|p, _| {
        if let Some(mut part) = lock(&slots[p]).take() {
            f(start(p)..start(p + 1), &mut part[..count]);
        }
    });
}

/// No second slice for [`par_items`] (a pass with one output).
pub(crate) fn none() -> (&'static mut [u8], usize) {
    (&mut [], 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every item is in exactly one part, and its values in both slices are
    /// the ones the part was given.
    #[test]
    fn par_items_covers_every_item_once() {
        let prev = num_threads();
        for threads in [1, 2, 3] {
            set_num_threads(threads).unwrap();
            for items in [0, 1, 2, 5, 64] {
                let (a_len, b_len) = (3, 2);
                let mut a = vec![usize::MAX; items * a_len];
                let mut b = vec![usize::MAX; items * b_len + 1];
                par_items(items, (&mut a, a_len), (&mut b, b_len), &|first, ap, bp| {
                    assert_eq!(ap.len() / a_len, bp.len() / b_len);
                    for (i, v) in ap.iter_mut().enumerate() {
                        *v = first * a_len + i;
                    }
                    for (i, v) in bp.iter_mut().enumerate() {
                        *v = first * b_len + i;
                    }
                });
                assert!(
                    a.iter().enumerate().all(|(i, &v)| v == i),
                    "{items} at {threads}"
                );
                // The value past the last item is not handed out.
                assert_eq!(b.pop(), Some(usize::MAX));
                assert!(
                    b.iter().enumerate().all(|(i, &v)| v == i),
                    "{items} at {threads}"
                );
            }
        }
        set_num_threads(prev).unwrap();
    }

    /// Every value is in exactly one range, ranges are runs of whole blocks
    /// (the last one takes the tail), and each slice's part is that range.
    #[test]
    fn par_blocks_covers_every_value_once() {
        let prev = num_threads();
        for threads in [1, 2, 3] {
            set_num_threads(threads).unwrap();
            for (len, block) in [(0, 4), (3, 4), (8, 4), (37, 4), (4096 + 3, 16)] {
                for count in 0..=MAX_SLICES {
                    let mut data: Vec<Vec<usize>> = vec![vec![usize::MAX; len]; count];
                    let mut slices: Vec<&mut [usize]> =
                        data.iter_mut().map(Vec::as_mut_slice).collect();
                    let hits: Vec<AtomicUsize> = (0..len).map(|_| AtomicUsize::new(0)).collect();
                    par_blocks(len, block, &mut slices, &|range, parts| {
                        assert!(range.start.is_multiple_of(block), "{range:?}");
                        assert!(range.end == len || range.end.is_multiple_of(block));
                        for (s, part) in parts.iter_mut().enumerate() {
                            assert_eq!(part.len(), range.len());
                            for (i, v) in range.clone().zip(part.iter_mut()) {
                                *v = i * 10 + s;
                            }
                        }
                        for i in range {
                            hits[i].fetch_add(1, Ordering::Relaxed);
                        }
                    });
                    assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
                    for (s, d) in data.iter().enumerate() {
                        assert!(d.iter().enumerate().all(|(i, &v)| v == i * 10 + s));
                    }
                }
            }
        }
        set_num_threads(prev).unwrap();
    }
}
