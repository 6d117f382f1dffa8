//! A tiny persistent thread pool that runs one borrowed job at a time, without
//! heap allocation once its worker threads exist.
//!
//! [`run`] hands a reference to a job that lives on the caller's stack to the
//! workers through a pre-allocated slot (a `Mutex`-protected state), runs part
//! 0 itself, helps with any part no worker has picked up yet, and returns only
//! after every part has finished. That "join before return" is what makes it
//! sound to give the workers a borrowed (non-`'static`) job: see the `SAFETY`
//! comment in [`run`].
//!
//! Only one caller uses the pool at a time; a second concurrent caller (another
//! user thread) does not wait but runs all parts of its job itself.
#![allow(unsafe_code)]

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// A job: called once with each part index in `0..parts`, together with
/// the number of the thread running it (0 for the caller, `1..threads` for
/// workers; a thread number is used by one thread at a time).
pub(super) type Job<'a> = &'a (dyn Fn(usize, usize) + Sync + 'a);

/// The job as stored in the shared slot, with its lifetime erased.
type ErasedJob = &'static (dyn Fn(usize, usize) + Sync + 'static);

/// How long an idle worker polls for the next job before it goes to sleep on
/// the condvar (back-to-back products then skip the wake-up latency).
const WORKER_SPIN: Duration = Duration::from_micros(300);

/// How long the caller polls for the workers to finish before it sleeps.
const CALLER_SPIN: Duration = Duration::from_millis(2);

/// State shared between the dispatching caller and the workers.
struct State {
    /// The current job, `Some` only while a caller is inside [`run`].
    job: Option<ErasedJob>,
    /// Number of parts of the current job.
    parts: usize,
    /// Next part index nobody has claimed yet.
    next: usize,
    /// The payload of the first worker part that panicked during the current
    /// job, re-raised on the caller's thread once every part has stopped.
    panic: Option<Box<dyn Any + Send>>,
    /// Number of worker threads spawned so far.
    spawned: usize,
    /// Workers `1..=workers` may take parts of the current job.
    workers: usize,
    /// Workers asleep on [`Pool::work`].
    sleepers: usize,
    /// Whether the caller is asleep on [`Pool::done`].
    caller_waiting: bool,
}

/// The pool: one state slot, a condvar for workers and one for the caller.
struct Pool {
    /// The shared slot.
    state: Mutex<State>,
    /// Signalled when a new job is published and some worker sleeps.
    work: Condvar,
    /// Signalled when the last running worker part finishes and the caller sleeps.
    done: Condvar,
    /// Held by the caller currently dispatching (one job at a time).
    dispatch: Mutex<()>,
}

/// The process-wide pool (workers are spawned lazily, on first need).
static POOL: Pool = Pool {
    state: Mutex::new(State {
        job: None,
        parts: 0,
        next: 0,
        panic: None,
        spawned: 0,
        workers: 0,
        sleepers: 0,
        caller_waiting: false,
    }),
    work: Condvar::new(),
    done: Condvar::new(),
    dispatch: Mutex::new(()),
};

/// Parts of the current job not yet claimed (`parts - next` while a job is
/// published, else 0). Written under the state lock; read without it by
/// polling workers, as a hint only.
static PENDING: Padded = Padded(AtomicUsize::new(0));

/// Parts claimed by workers and not finished yet. Incremented under the
/// state lock when a worker claims a part; decremented (release) by the
/// worker once it has finished with the job.
static RUNNING: Padded = Padded(AtomicUsize::new(0));

/// A counter alone on its cache line (128 bytes: two 64-byte lines, as the
/// adjacent-line prefetcher pairs them), so that polling one counter does
/// not contend with writes to the other or to the pool's lock (false sharing).
#[repr(align(128))]
struct Padded(AtomicUsize);

impl std::ops::Deref for Padded {
    type Target = AtomicUsize;
    fn deref(&self) -> &AtomicUsize {
        &self.0
    }
}

/// Parallel jobs run so far, and nanoseconds their callers spent waiting for
/// the workers after finishing their own parts (for `bench --profile`).
static JOINS: AtomicU64 = AtomicU64::new(0);
/// See [`JOINS`].
static JOIN_WAIT_NANOS: AtomicU64 = AtomicU64::new(0);

/// `(parallel jobs, seconds callers waited for workers)` since the start.
pub(super) fn join_stats() -> (u64, f64) {
    (
        JOINS.load(Ordering::Relaxed),
        JOIN_WAIT_NANOS.load(Ordering::Relaxed) as f64 * 1e-9,
    )
}

/// Locks the shared state. Jobs never panic while it is held (parts run
/// under `catch_unwind` outside the lock), so poisoning is impossible in
/// practice; it is ignored rather than propagated.
fn lock() -> MutexGuard<'static, State> {
    POOL.state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Polls `done` (with a CPU spin hint, yielding the core between batches of
/// polls) until it holds or `limit` has passed.
fn spin_until(limit: Duration, done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        for _ in 0..64 {
            if done() {
                return true;
            }
            std::hint::spin_loop();
        }
        if start.elapsed() >= limit {
            return done();
        }
        // Let another thread have this core if one is waiting for it: on a
        // busy machine the thread we wait for may be queued behind us.
        std::thread::yield_now();
    }
}

/// Claims the next part of the published job, if any (call under the lock),
/// for the caller (`worker == 0`) or worker number `worker` (from 1). A claim
/// by a worker counts in [`RUNNING`].
fn claim(st: &mut State, worker: usize) -> Option<(ErasedJob, usize)> {
    let job = st.job?;
    if st.next >= st.parts || worker > st.workers {
        return None;
    }
    let part = st.next;
    st.next += 1;
    PENDING.store(st.parts - st.next, Ordering::Relaxed);
    if worker > 0 {
        RUNNING.fetch_add(1, Ordering::Relaxed);
    }
    Some((job, part))
}

/// Body of worker number `index` (from 1): wait for a part to claim, run
/// it, report, repeat.
fn worker_main(index: usize) {
    loop {
        spin_until(WORKER_SPIN, || PENDING.load(Ordering::Relaxed) > 0);
        let (job, part) = {
            let mut st = lock();
            loop {
                if let Some(c) = claim(&mut st, index) {
                    break c;
                }
                st.sleepers += 1;
                st = POOL.work.wait(st).unwrap_or_else(PoisonError::into_inner);
                st.sleepers -= 1;
            }
        };
        // `job` is used only here, before `RUNNING` is decremented below; the
        // caller keeps the job alive until `RUNNING` is back to zero.
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| job(part, index))) {
            let mut st = lock();
            if st.panic.is_none() {
                st.panic = Some(payload);
            }
        }
        if RUNNING.fetch_sub(1, Ordering::Release) == 1 {
            let st = lock();
            if st.caller_waiting {
                POOL.done.notify_all();
            }
        }
    }
}

/// Makes sure at least `want` workers exist; returns how many do.
fn ensure_workers(want: usize) -> usize {
    let mut st = lock();
    while st.spawned < want {
        let index = st.spawned + 1;
        let name = format!("weightwise-gemm-{index}");
        match std::thread::Builder::new()
            .name(name)
            .spawn(move || worker_main(index))
        {
            Ok(_) => st.spawned += 1,
            Err(_) => break,
        }
    }
    st.spawned
}

/// On drop (normal return or unwinding out of the caller's own parts), stops
/// handing out parts, waits until no worker is running one, and clears the
/// job slot. This is the join that keeps the borrowed job alive long enough.
struct JoinGuard;

impl Drop for JoinGuard {
    fn drop(&mut self) {
        let start = Instant::now();
        {
            let mut st = lock();
            st.next = st.parts;
            PENDING.store(0, Ordering::Relaxed);
        }
        // Fast path: poll. The acquire load pairs with the workers' release
        // decrements, so their writes are visible once 0 is seen.
        spin_until(CALLER_SPIN, || RUNNING.load(Ordering::Acquire) == 0);
        let mut st = lock();
        while RUNNING.load(Ordering::Acquire) > 0 {
            st.caller_waiting = true;
            st = POOL.done.wait(st).unwrap_or_else(PoisonError::into_inner);
        }
        st.caller_waiting = false;
        st.job = None;
        drop(st);
        let waited = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        JOINS.fetch_add(1, Ordering::Relaxed);
        JOIN_WAIT_NANOS.fetch_add(waited, Ordering::Relaxed);
    }
}

/// Runs `job(0)`, …, `job(parts - 1)` on up to `threads` threads (the
/// calling thread and `threads - 1` pool workers), handing parts out in
/// order to whichever thread is free, and returns when all have finished.
///
/// The result must not depend on which thread runs which part. If a part
/// panics, the panic is propagated to the caller with its payload (so its
/// message) once all parts have stopped: a part on the calling thread unwinds
/// through the join; a worker's part is caught on the worker, which keeps
/// serving, and re-raised here.
pub(super) fn run(threads: usize, parts: usize, job: Job<'_>) {
    if parts <= 1 || threads <= 1 {
        (0..parts).for_each(|part| job(part, 0));
        return;
    }
    // One dispatch at a time; a concurrent caller runs its parts itself.
    let _dispatch = match POOL.dispatch.try_lock() {
        Ok(g) => g,
        Err(TryLockError::Poisoned(p)) => p.into_inner(),
        Err(TryLockError::WouldBlock) => {
            (0..parts).for_each(|part| job(part, 0));
            return;
        }
    };
    // Workers `1..=workers` take part (more may exist from earlier calls).
    let workers = ensure_workers(threads.min(parts) - 1).min(threads - 1);
    if workers == 0 {
        (0..parts).for_each(|part| job(part, 0));
        return;
    }
    // SAFETY: only the lifetime of the reference is changed (same type and
    // layout). The erased reference is stored in `POOL.state.job` and is
    // dereferenced only by workers that claimed a part under the lock while
    // `job` was `Some`, which increments `RUNNING` in the same critical
    // section; each worker stops using it before decrementing `RUNNING`.
    // `_join` (created right after the job is published, so it is dropped on
    // every exit path from here, including unwinding out of `job(..)` on this
    // thread) first stops new claims under the lock, then waits until
    // `RUNNING == 0` and sets `job = None`, all before `run` returns, i.e.
    // while the borrow `'_` of `job` is still live. Only one caller publishes
    // at a time (`POOL.dispatch`). So no worker can use the reference after
    // the borrowed job may be gone.
    let erased: ErasedJob = unsafe { std::mem::transmute::<Job<'_>, ErasedJob>(job) };
    {
        let mut st = lock();
        st.job = Some(erased);
        st.parts = parts;
        st.next = 1;
        st.workers = workers;
        st.panic = None;
        PENDING.store(parts - 1, Ordering::Relaxed);
        if st.sleepers > 0 {
            POOL.work.notify_all();
        }
    }
    let _join = JoinGuard;
    job(0, 0);
    // Help with the parts no worker has claimed yet.
    loop {
        let claimed = claim(&mut lock(), 0);
        match claimed {
            Some((_, part)) => job(part, 0),
            None => break,
        }
    }
    drop(_join);
    // Re-raise a worker's panic with its own payload (message) on this thread.
    let payload = lock().panic.take();
    if let Some(payload) = payload {
        resume_unwind(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::run;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Every part runs exactly once, and the job can borrow from the stack.
    #[test]
    fn runs_every_part_once() {
        for parts in 0..6 {
            let hits: [AtomicUsize; 6] = Default::default();
            run(2, parts, &|i, _| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            for (i, h) in hits.iter().enumerate() {
                assert_eq!(h.load(Ordering::Relaxed), usize::from(i < parts));
            }
        }
    }

    /// Thread numbers stay below the requested thread count, even when more
    /// workers exist from an earlier, wider call.
    #[test]
    fn thread_numbers_stay_in_range() {
        run(4, 8, &|_, _| {});
        for threads in [2, 3] {
            let seen: [AtomicUsize; 8] = Default::default();
            run(threads, 40, &|_, t| {
                seen[t].fetch_add(1, Ordering::Relaxed);
            });
            let total: usize = seen.iter().map(|s| s.load(Ordering::Relaxed)).sum();
            assert_eq!(total, 40);
            assert!(
                seen[threads..]
                    .iter()
                    .all(|s| s.load(Ordering::Relaxed) == 0)
            );
        }
    }

    /// Runs `f` on a fresh thread and fails the test if it has not finished
    /// within a minute (a lost wake-up or a missing join would hang here).
    fn within_a_minute<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(f()).expect("receiver alive"));
        rx.recv_timeout(std::time::Duration::from_secs(60))
            .expect("the pool hung (or the job panicked outside `run`)")
    }

    /// The message of a caught panic payload.
    fn message(payload: &(dyn std::any::Any + Send)) -> String {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    }

    /// A part panicking on a pool worker reaches the caller with its own
    /// message, only after every other part has stopped, and the pool stays
    /// usable. (Another test may hold the pool, in which case the caller runs
    /// every part itself and nothing panics: then try again.)
    #[test]
    fn worker_panic_reaches_caller_with_its_message() {
        let msg = within_a_minute(|| {
            for _ in 0..1000 {
                let running = AtomicUsize::new(0);
                let worker_started = AtomicUsize::new(0);
                let r = std::panic::catch_unwind(|| {
                    run(2, 4, &|part, thread| {
                        running.fetch_add(1, Ordering::SeqCst);
                        if thread != 0 {
                            worker_started.store(1, Ordering::SeqCst);
                            std::thread::sleep(std::time::Duration::from_millis(5));
                            running.fetch_sub(1, Ordering::SeqCst);
                            panic!("boom in worker part {part}");
                        }
                        // Give a worker time to claim a part.
                        let t = std::time::Instant::now();
                        while part == 0
                            && worker_started.load(Ordering::SeqCst) == 0
                            && t.elapsed().as_millis() < 200
                        {
                            std::hint::spin_loop();
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                });
                // Every part has stopped by the time `run` returns or unwinds.
                assert_eq!(running.load(Ordering::SeqCst), 0);
                if let Err(payload) = r {
                    return message(&*payload);
                }
            }
            panic!("no part ever ran on a pool worker");
        });
        assert!(msg.starts_with("boom in worker part "), "{msg:?}");
        let n = AtomicUsize::new(0);
        run(2, 3, &|_, _| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 3);
    }

    /// A part panicking on the calling thread unwinds out of `run` with its
    /// message, after the join (no part still running), and the pool stays usable.
    #[test]
    fn caller_panic_unwinds_after_the_join() {
        let (msg, running) = within_a_minute(|| {
            let running = AtomicUsize::new(0);
            let r = std::panic::catch_unwind(|| {
                run(2, 6, &|part, thread| {
                    running.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(2));
                    running.fetch_sub(1, Ordering::SeqCst);
                    if part == 0 && thread == 0 {
                        panic!("boom in the caller's part");
                    }
                })
            });
            let payload = r.expect_err("part 0 panics");
            (message(&*payload), running.load(Ordering::SeqCst))
        });
        assert_eq!(msg, "boom in the caller's part");
        assert_eq!(running, 0);
        let n = AtomicUsize::new(0);
        run(2, 5, &|_, _| {
            n.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(n.load(Ordering::Relaxed), 5);
    }
}
