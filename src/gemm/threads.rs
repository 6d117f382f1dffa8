//! How many threads the products use, and the pool's helper for the passes
//! around them.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{MAX_PARTS, MAX_THREADS, lock, pool};

/// Thread count set by [`set_num_threads`]; 0 means "not set, use the default".
static NUM_THREADS: AtomicUsize = AtomicUsize::new(0);

/// Sets the number of threads large matrix products use, from 1 to 32.
///
/// Small products always run on the calling thread. Results do not depend on
/// the thread count.
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

/// Runs `f(first, a_part, b_part)` over contiguous parts of `a` and `b` on up
/// to [`num_threads`] threads of the products' pool (the calling thread
/// included), for passes around the products (a convolution's lowering,
/// pooling) that split into independent items: item `i` owns
/// `a[i·a_len..(i+1)·a_len]` and `b[i·b_len..(i+1)·b_len]`, a part is a run of
/// whole items starting at item `first`, and every item is covered once.
/// Which thread runs which part varies, so an item's values must depend on
/// the item alone (never on the part): then results do not depend on the
/// thread count. Allocates nothing once the pool's workers exist.
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
    // A few parts per thread (handed out dynamically), at most `MAX_PARTS`.
    let parts = (threads * 4).min(items).min(MAX_PARTS);
    let bound = |p: usize| p * items / parts;
    let (mut a, mut b) = (a, b);
    let slots: [Mutex<Option<Parts<'_, A, B>>>; MAX_PARTS] = std::array::from_fn(|p| {
        if p >= parts {
            return Mutex::new(None);
        }
        let n = bound(p + 1) - bound(p);
        let (ah, at) = std::mem::take(&mut a).split_at_mut(n * a_len);
        let (bh, bt) = std::mem::take(&mut b).split_at_mut(n * b_len);
        (a, b) = (at, bt);
        Mutex::new(Some((ah, bh)))
    });
    pool::run(threads, parts, &|p, _| {
        if let Some((ap, bp)) = lock(&slots[p]).take() {
            f(bound(p), ap, bp);
        }
    });
}

/// No second slice for [`par_items`] (a pass with one output).
pub(crate) fn none() -> (&'static mut [u8], usize) {
    (&mut [], 0)
}
