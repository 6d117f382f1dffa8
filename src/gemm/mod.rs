//! Dense matrix multiplication (GEMM) for `f32` and `f64`.
//!
//! `C ← alpha·op(A)·op(B) + beta·C` with arbitrary strides for A and B, so
//! transposed operands cost nothing: Aᵀ is A with its row and column strides
//! swapped.
//!
//! # Design
//!
//! The classic BLIS/GotoBLAS scheme:
//!
//! * B is packed (`pack.rs`) for a block of up to `NC` columns and up to
//!   `16·KC` of the shared dimension (in practice: all of `k` and, within an
//!   8 MiB budget, all of `n`), as one contiguous panel per `KC` block of
//!   column slivers holding `NR` values per step. With several threads the
//!   packing is split between them.
//! * The rows of C are split into parts of whole `MR`-row slivers (about four
//!   per thread, handed out dynamically). For its rows, a thread walks `k` in
//!   blocks of `KC` and its rows in blocks of `MC`, packs that `MC×KC` block
//!   of A (kept in L2) into row slivers of `MR` values per step, then runs the
//!   micro-kernel over every `MR×NR` tile, each `KC×NR` B sliver staying in
//!   L1 while the A slivers stream past it.
//! * The micro-kernel keeps an `MR×NR` tile of C in registers. The kernel
//!   family is chosen at run time (the CPU check is done once): AVX-512F
//!   8×32 (f32) / 8×24 (f64) kernels in `x86.rs` where the CPU has
//!   AVX-512F, else AVX2+FMA 6×16 / 6×8 kernels (also in `x86.rs`), else the
//!   portable kernel in `portable.rs` (6×8 / 6×4). Each family has its own
//!   `MR`, `NR` (const parameters of the driver) and `KC`/`MC` blocking. Partial tiles at the
//!   edges go through a scratch tile with the same kernel.
//! * Each element of C is computed by exactly one thread, over `k` in the
//!   same order whatever the thread count, so results do not depend on the
//!   number of threads: they are bitwise identical.
//! * All packing space (the B block and one A block per thread) lives in one
//!   thread-local buffer of the *calling* thread that only grows; pool
//!   workers borrow their share of it. The worker threads are a small
//!   persistent pool (`pool.rs`), spawned on first need. After warm-up, a
//!   call performs no heap allocation.
//!
//! # Subnormal inputs
//!
//! Packing flushes subnormal values of A and B (|x| below `f32::MIN_POSITIVE`
//! ≈ 1.2e-38, or `f64::MIN_POSITIVE`) to zero. On x86 every multiply with a
//! subnormal operand takes a microcode assist about 150× slower than a normal
//! one, and training produces such values (softmax probabilities of e⁻⁹⁰ and
//! the gradients made from them): on the digits workload this made the
//! products five times slower. The change to a result is below
//! `k·MIN_POSITIVE·max|operand|`, far under rounding. This is what
//! `torch.set_flush_denormal(True)` and the DAZ flag of BLAS libraries do;
//! NaN and infinities are untouched.
//!
//! # Unsafe code
//!
//! Only `x86.rs` (the SIMD kernels: raw-pointer loads and stores, and calls
//! of `#[target_feature]` functions after run-time detection) and `pool.rs`
//! (handing a borrowed job to persistent worker threads, sound because the
//! caller joins before it returns) contain `unsafe`; each block states why it
//! is sound. The kernels' raw-pointer accesses rest on slice extents, which
//! [`gemm`] (the only entry, behind `Scalar::gemm` and `__bench`) checks on
//! every call with checked arithmetic, returning an error for a slice too
//! short or a stride whose extent overflows; each kernel entry checks its
//! tile's extent again, also with checked arithmetic.

mod pack;
mod pool;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::cell::RefCell;
use std::ops::{Add, Mul, Range};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use pack::pack_sliver;

/// Upper bound on the number of threads (and work parts) of one product.
const MAX_THREADS: usize = 32;

/// Work parts per thread, at most (a part is at least one `MR`-row sliver):
/// parts are handed out dynamically, so finer parts balance better, also
/// when a core is busy with something else. At the MLP's m = 128 rows this
/// makes every sliver its own part: with the 8-row f32 slivers of AVX-512,
/// 16 parts over two threads, 8 each when both cores are free, and at most
/// one sliver apart otherwise.
const PARTS_PER_THREAD: usize = 16;

/// Upper bound on the number of work parts of one parallel step.
const MAX_PARTS: usize = 128;

/// Products below this many flops (`2·m·n·k`) stay on the calling thread.
const PAR_MIN_FLOPS: usize = 4_000_000;

/// Longest stretch of the shared dimension packed at once, in `KC` blocks.
const K_CHUNK_BLOCKS: usize = 16;

/// Upper bound, in bytes, of the packed B block (`k × NC` values).
const B_BLOCK_BYTES: usize = 8 << 20;

/// Alignment, in bytes, of the packing buffers (one cache line).
const BUF_ALIGN: usize = 64;

/// Largest `MR·NR` of any kernel (size of the scratch tile for edge tiles).
const TILE_MAX: usize = 512;

/// A micro-kernel computing one `MR×NR` tile of C:
/// `C ← alpha·A·B + beta·C`, where C is **not read** when `beta == 0`.
///
/// Arguments: `(kc, alpha, a, b, beta, c, rsc)`. `a` holds `kc` groups of `MR`
/// values (a packed A sliver), `b` holds `kc` groups of `NR` values (a packed B
/// sliver), `c` starts at the tile's top-left element, has row stride `rsc`
/// and at least `(MR-1)·rsc + NR` values. Kernels check these lengths.
type KernelFn<T> = fn(usize, T, &[T], &[T], T, &mut [T], usize);

/// C ← alpha·op(A)·op(B) + beta·C, with strides, for `f32` or `f64`.
///
/// A is m×k reached as `a[i*rsa + p*csa]`, B is k×n as `b[p*rsb + j*csb]`, C is
/// m×n row-major with row stride `rsc` (column stride 1). When `beta == 0`, C
/// is overwritten (NaNs in C are not propagated), as BLAS does; likewise A and
/// B are not read when `k == 0` or `alpha == 0`.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when a slice is
/// too short for its shape and strides, when that extent overflows `usize`,
/// or when rows of C overlap (`m > 1` and `rsc < n`); nothing is written then.
/// The extents are checked with checked arithmetic on every call (a few
/// multiplications), so no stride makes the kernels touch memory outside the
/// slices.
#[allow(clippy::too_many_arguments)] // the BLAS-style signature is the interface
pub(crate) fn gemm<T: Elem>(
    m: usize,
    k: usize,
    n: usize,
    alpha: T,
    a: &[T],
    rsa: usize,
    csa: usize,
    b: &[T],
    rsb: usize,
    csb: usize,
    beta: T,
    c: &mut [T],
    rsc: usize,
) -> crate::Result<()> {
    check_extents(m, k, n, a.len(), rsa, csa, b.len(), rsb, csb, c.len(), rsc)?;
    let a = MatRef {
        data: a,
        rs: rsa,
        cs: csa,
    };
    let b = MatRef {
        data: b,
        rs: rsb,
        cs: csb,
    };
    let g = Gemm {
        m,
        k,
        n,
        alpha,
        a,
        b,
        beta,
    };
    T::gemm(Config::current(), &g, c, rsc);
    Ok(())
}

/// Values a strided `rows × cols` operand spans: `(rows-1)·rs + (cols-1)·cs + 1`
/// (0 when it is empty), or `None` when that overflows `usize`.
fn extent(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// Checks that each operand of an `m×k · k×n` product fits its slice (A and
/// B only when the product reads them, i.e. `m, n, k > 0`) and that rows of
/// C do not overlap, with checked arithmetic: the soundness of the kernels
/// rests on this.
#[allow(clippy::too_many_arguments)] // mirrors `gemm`
fn check_extents(
    m: usize,
    k: usize,
    n: usize,
    a_len: usize,
    rsa: usize,
    csa: usize,
    b_len: usize,
    rsb: usize,
    csb: usize,
    c_len: usize,
    rsc: usize,
) -> crate::Result<()> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    if m > 1 && rsc < n {
        return Err(crate::Error::invalid_arg(
            "gemm row stride of C",
            rsc,
            format!("rows of C overlap: the stride must be at least n = {n} when m = {m} > 1"),
        ));
    }
    let operands = [
        ("gemm operand C", m, n, rsc, 1, c_len),
        ("gemm operand A", m, k, rsa, csa, a_len),
        ("gemm operand B", k, n, rsb, csb, b_len),
    ];
    for (name, rows, cols, rs, cs, len) in operands {
        // Formatted on the error path only: a call allocates nothing.
        let shape = || format!("{rows}×{cols} with strides ({rs}, {cs})");
        match extent(rows, cols, rs, cs) {
            Some(need) if need <= len => {}
            Some(need) => {
                return Err(crate::Error::invalid_arg(
                    name,
                    shape(),
                    format!("spans {need} values but the slice holds {len}"),
                ));
            }
            None => {
                return Err(crate::Error::invalid_arg(
                    name,
                    shape(),
                    "its extent overflows usize",
                ));
            }
        }
    }
    Ok(())
}

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

/// Which micro-kernel family a product uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    /// The best the CPU supports: AVX-512F, else AVX2+FMA, else portable.
    Best,
    /// AVX2+FMA if available (never AVX-512), else portable.
    Avx2,
    /// The portable kernel.
    Portable,
}

/// Kernel family forced for all later products: 0 = best, 1 = AVX2, 2 = portable.
static FORCE_ISA: AtomicU8 = AtomicU8::new(0);

/// Forces (or stops forcing) the portable micro-kernel for all later products,
/// e.g. to test or benchmark the fallback path on an AVX2 machine.
pub(crate) fn set_force_portable(on: bool) {
    FORCE_ISA.store(if on { 2 } else { 0 }, Ordering::Relaxed);
}

/// Forces (or stops forcing) the AVX2 micro-kernels (no AVX-512) for all
/// later products, e.g. to benchmark them on an AVX-512 machine.
pub(crate) fn set_force_avx2(on: bool) {
    FORCE_ISA.store(u8::from(on), Ordering::Relaxed);
}

/// Per-call settings (global knobs, or explicit ones in tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Config {
    /// Kernel family to use.
    isa: Isa,
    /// Maximum number of threads.
    threads: usize,
    /// Products with fewer flops than this run single-threaded.
    par_min_flops: usize,
}

impl Config {
    /// The settings from the global knobs.
    fn current() -> Self {
        Config {
            isa: match FORCE_ISA.load(Ordering::Relaxed) {
                0 => Isa::Best,
                1 => Isa::Avx2,
                _ => Isa::Portable,
            },
            threads: num_threads(),
            par_min_flops: PAR_MIN_FLOPS,
        }
    }
}

/// A strided read-only matrix view: element `(i, j)` is `data[i*rs + j*cs]`.
#[derive(Clone, Copy)]
pub(crate) struct MatRef<'a, T> {
    /// Backing storage.
    data: &'a [T],
    /// Row stride.
    rs: usize,
    /// Column stride.
    cs: usize,
}

/// The product to compute, minus the output.
#[derive(Clone, Copy)]
pub(crate) struct Gemm<'a, T> {
    /// Rows of op(A) and C.
    m: usize,
    /// Columns of op(A), rows of op(B).
    k: usize,
    /// Columns of op(B) and C.
    n: usize,
    /// Scale of the product.
    alpha: T,
    /// op(A), m×k.
    a: MatRef<'a, T>,
    /// op(B), k×n.
    b: MatRef<'a, T>,
    /// Scale of the previous C (C is not read when 0).
    beta: T,
}

/// Cache-blocking parameters of one kernel.
#[derive(Clone, Copy, Debug)]
struct Blocking {
    /// Block of the shared dimension (B sliver `KC×NR` stays in L1).
    kc: usize,
    /// Block of rows of A (packed `MC×KC` block stays in L2); multiple of MR.
    mc: usize,
}

/// Scalar types the GEMM supports (`f32`, `f64`).
pub(crate) trait Elem:
    Copy + Send + Sync + PartialEq + Add<Output = Self> + Mul<Output = Self> + 'static
{
    /// Additive identity.
    const ZERO: Self;
    /// Multiplicative identity.
    const ONE: Self;

    /// Zero for a subnormal value, the value itself otherwise (NaN and ±∞
    /// included). Packing applies it: see "Subnormal inputs" in the module docs.
    fn flush_subnormal(self) -> Self;

    /// Runs `f` with the calling thread's packing scratch buffer.
    fn with_scratch<R>(f: impl FnOnce(&mut Vec<Self>) -> R) -> R;

    /// Computes `g` into `c` with the kernel and blocking `cfg` selects.
    fn gemm(cfg: Config, g: &Gemm<'_, Self>, c: &mut [Self], rsc: usize);
}

/// Implements [`Elem::with_scratch`] with a thread-local buffer.
///
/// The buffer of the thread that calls the GEMM holds the packed B block and
/// one packed A block per thread taking part (pool workers borrow their
/// share from the caller), so the allocations of a call depend only on the
/// calling thread's history, not on which worker ran which part.
macro_rules! thread_scratch {
    ($t:ty) => {
        fn with_scratch<R>(f: impl FnOnce(&mut Vec<$t>) -> R) -> R {
            thread_local! {
                static BUF: RefCell<Vec<$t>> = const { RefCell::new(Vec::new()) };
            }
            BUF.with(|b| f(&mut b.borrow_mut()))
        }
    };
}

/// Implements [`Elem`] for a float type: the best kernel the CPU has
/// (AVX-512F, then AVX2+FMA, then portable), each with its own blocking.
macro_rules! elem_impl {
    (
        $t:ty,
        avx512: $k512:ident, $mr512:ident, $nr512:ident, mc $mc512:literal,
        avx2: $k2:ident, $mr2:ident, $nr2:ident, mc $mc2:literal,
        portable: $mrp:ident, $nrp:ident, mc $mcp:literal
    ) => {
        impl Elem for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;

            fn flush_subnormal(self) -> Self {
                if self.abs() < <$t>::MIN_POSITIVE {
                    0.0
                } else {
                    self
                }
            }

            thread_scratch!($t);

            fn gemm(cfg: Config, g: &Gemm<'_, $t>, c: &mut [$t], rsc: usize) {
                #[cfg(target_arch = "x86_64")]
                if let Some(kern) = x86::$k512().filter(|_| cfg.isa == Isa::Best) {
                    let blk = Blocking {
                        kc: 256,
                        mc: $mc512,
                    };
                    return driver::<$t, { x86::$mr512 }, { x86::$nr512 }>(
                        kern, blk, cfg, g, c, rsc,
                    );
                }
                #[cfg(target_arch = "x86_64")]
                if let Some(kern) = x86::$k2().filter(|_| cfg.isa != Isa::Portable) {
                    let blk = Blocking { kc: 256, mc: $mc2 };
                    return driver::<$t, { x86::$mr2 }, { x86::$nr2 }>(kern, blk, cfg, g, c, rsc);
                }
                use portable::{$mrp, $nrp};
                let blk = Blocking { kc: 256, mc: $mcp };
                driver::<$t, $mrp, $nrp>(portable::kernel::<$t, $mrp, $nrp>, blk, cfg, g, c, rsc);
            }
        }
    };
}

// f32: B sliver 256×32×4 B = 32 KiB in L1, A block 96×256×4 B = 96 KiB in L2 (AVX-512).
elem_impl!(
    f32,
    avx512: kernel_f32_avx512, MR_F32_512, NR_F32_512, mc 96,
    avx2: kernel_f32, MR_F32, NR_F32, mc 144,
    portable: MR_F32, NR_F32, mc 96
);
// f64: B sliver 256×24×8 B = 48 KiB (L1), A block 144×256×8 B = 288 KiB (L2) (AVX-512).
elem_impl!(
    f64,
    avx512: kernel_f64_avx512, MR_F64_512, NR_F64_512, mc 144,
    avx2: kernel_f64, MR_F64, NR_F64, mc 120,
    portable: MR_F64, NR_F64, mc 72
);

/// Rounds `len` values of `T` up to a whole number of [`BUF_ALIGN`] bytes.
fn round_to_align<T>(len: usize) -> usize {
    len.next_multiple_of(BUF_ALIGN / size_of::<T>())
}

/// Returns `len` values of `buf`, starting at a [`BUF_ALIGN`]-aligned address,
/// growing `buf` if (and only if) it is too small.
fn aligned<T: Elem>(buf: &mut Vec<T>, len: usize) -> &mut [T] {
    let pad = BUF_ALIGN / size_of::<T>();
    if buf.len() < len + pad {
        buf.resize(len + pad, T::ZERO);
    }
    let off = buf.as_ptr().align_offset(BUF_ALIGN);
    let off = if off < pad { off } else { 0 };
    &mut buf[off..off + len]
}

/// Row `t` of the boundaries splitting `m` rows into `parts` parts of whole
/// `mr`-row slivers (as equal as possible).
fn part_bound(t: usize, parts: usize, m: usize, mr: usize) -> usize {
    let units = m.div_ceil(mr);
    (t * units / parts * mr).min(m)
}

/// `C ← beta·C` on the m×n part of C (overwrite with zeros when `beta == 0`).
fn scale_c<T: Elem>(m: usize, n: usize, beta: T, c: &mut [T], rsc: usize) {
    if beta == T::ONE {
        return;
    }
    for i in 0..m {
        let row = &mut c[i * rsc..i * rsc + n];
        if beta == T::ZERO {
            row.fill(T::ZERO);
        } else {
            row.iter_mut().for_each(|x| *x = beta * *x);
        }
    }
}

/// The blocked, possibly multi-threaded product with one kernel.
fn driver<T: Elem, const MR: usize, const NR: usize>(
    kern: KernelFn<T>,
    blk: Blocking,
    cfg: Config,
    g: &Gemm<'_, T>,
    c: &mut [T],
    rsc: usize,
) {
    let Gemm { m, k, n, .. } = *g;
    if m == 0 || n == 0 {
        return;
    }
    // `gemm` checked the extents (with checked arithmetic); the tests call
    // `Elem::gemm` directly with valid operands.
    debug_assert!(extent(m, n, rsc, 1).is_some_and(|e| e <= c.len()));
    debug_assert!(m == 1 || rsc >= n, "rows of C overlap");
    if k == 0 || g.alpha == T::ZERO {
        scale_c(m, n, g.beta, c, rsc);
        return;
    }
    debug_assert!(extent(m, k, g.a.rs, g.a.cs).is_some_and(|e| e <= g.a.data.len()));
    debug_assert!(extent(k, n, g.b.rs, g.b.cs).is_some_and(|e| e <= g.b.data.len()));
    debug_assert!(MR * NR <= TILE_MAX && blk.mc.is_multiple_of(MR));

    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let threads = if flops < cfg.par_min_flops as f64 {
        1
    } else {
        cfg.threads.clamp(1, MAX_THREADS).min(m.div_ceil(MR))
    };
    // Rows of C are split into parts of whole MR-row slivers.
    let parts = if threads == 1 {
        1
    } else {
        (threads * PARTS_PER_THREAD)
            .min(m.div_ceil(MR))
            .min(MAX_PARTS)
    };
    // Columns per packed B block: the whole width if `k × n` fits the budget.
    // Very long products are done in chunks of `kb` of the shared dimension
    // (later chunks accumulate into C), so the packed B block stays bounded.
    let kb = k.min(K_CHUNK_BLOCKS * blk.kc);
    let nc_max = (B_BLOCK_BYTES / size_of::<T>() / kb / NR).max(1) * NR;
    let b_len = round_to_align::<T>(nc_max.min(n).div_ceil(NR) * kb * NR);
    let a_len = round_to_align::<T>(blk.mc * blk.kc);

    T::with_scratch(|buf| {
        let scratch = aligned(buf, b_len + threads * a_len);
        let (bpack, mut apacks) = scratch.split_at_mut(b_len);
        // One A block per thread, indexed by the pool's thread number.
        let aslots: [Mutex<Option<&mut [T]>>; MAX_THREADS] =
            std::array::from_fn(|_| Mutex::new(None));
        for slot in aslots.iter().take(threads) {
            let (head, tail) = apacks.split_at_mut(a_len);
            *lock(slot) = Some(head);
            apacks = tail;
        }
        for k0 in (0..k).step_by(kb) {
            let sub = Gemm {
                k: kb.min(k - k0),
                a: MatRef {
                    data: &g.a.data[k0 * g.a.cs..],
                    ..g.a
                },
                b: MatRef {
                    data: &g.b.data[k0 * g.b.rs..],
                    ..g.b
                },
                beta: if k0 == 0 { g.beta } else { T::ONE },
                ..*g
            };
            let g = &sub;
            let mut jc = 0;
            while jc < n {
                let nc = nc_max.min(n - jc);
                pack_b::<T, NR>(g, blk, jc, nc, bpack, threads);
                let bpack: &[T] = bpack;
                if parts == 1 {
                    let mut apack = lock(&aslots[0]);
                    let apack = apack.as_deref_mut().expect("A block of thread 0");
                    compute_rows::<T, MR, NR>(kern, blk, g, 0..m, jc, nc, bpack, apack, c, rsc);
                } else {
                    // Hand each part its own rows of C.
                    let cslots: [Mutex<Option<&mut [T]>>; MAX_PARTS] =
                        std::array::from_fn(|_| Mutex::new(None));
                    let mut rest = &mut *c;
                    for (t, slot) in cslots.iter().enumerate().take(parts) {
                        let rows = part_bound(t, parts, m, MR)..part_bound(t + 1, parts, m, MR);
                        let (head, tail) = if t + 1 < parts {
                            rest.split_at_mut(rows.len() * rsc)
                        } else {
                            (rest, &mut [][..])
                        };
                        *lock(slot) = Some(head);
                        rest = tail;
                    }
                    pool::run(threads, parts, &|part, thread| {
                        let rows =
                            part_bound(part, parts, m, MR)..part_bound(part + 1, parts, m, MR);
                        let cpart = lock(&cslots[part]).take().expect("rows of each part");
                        let mut apack = lock(&aslots[thread]);
                        let apack = apack.as_deref_mut().expect("A block of each thread");
                        compute_rows::<T, MR, NR>(
                            kern, blk, g, rows, jc, nc, bpack, apack, cpart, rsc,
                        );
                    });
                }
                jc += nc;
            }
        }
    });
}

/// Locks a slot mutex, ignoring poisoning (a panicking part is reported by
/// the pool; the slots are dropped right after).
fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Packs columns `jc..jc+nc` of B (all `k` rows) into `out`, spreading the
/// work over `threads` threads.
///
/// Layout: for each block `pc` of `kc` rows (`kc = KC` except at the end),
/// a panel of `nc.div_ceil(NR)` slivers of `kc×NR` values each; the panel of
/// block `pc` starts at `pc·slivers·NR` and is contiguous, so the compute
/// loop streams it in order.
fn pack_b<T: Elem, const NR: usize>(
    g: &Gemm<'_, T>,
    blk: Blocking,
    jc: usize,
    nc: usize,
    out: &mut [T],
    threads: usize,
) {
    let k = g.k;
    let slivers = nc.div_ceil(NR);
    let out = &mut out[..slivers * k * NR];
    // Packs rows `pc..pc+kc`, slivers `s0..`, into `dst` (whole slivers).
    let pack_range = |pc: usize, kc: usize, s0: usize, dst: &mut [T]| {
        for (s, d) in (s0..).zip(dst.chunks_exact_mut(kc * NR)) {
            let j0 = jc + s * NR;
            let r = NR.min(jc + nc - j0);
            let src = &g.b.data[pc * g.b.rs + j0 * g.b.cs..];
            pack_sliver::<T, NR>(r, kc, src, g.b.cs, g.b.rs, d);
        }
    };
    let blocks = k.div_ceil(blk.kc);
    // Split each k block's panel into `per_block` sliver ranges.
    let per_block = (threads * PARTS_PER_THREAD)
        .div_ceil(blocks)
        .min(slivers)
        .min(MAX_PARTS / blocks)
        .max(1);
    let parts = blocks * per_block;
    if threads <= 1 || parts <= 1 || parts > MAX_PARTS {
        for (pcb, dst) in out.chunks_mut(blk.kc * slivers * NR).enumerate() {
            let pc = pcb * blk.kc;
            pack_range(pc, blk.kc.min(k - pc), 0, dst);
        }
        return;
    }
    let bound = |t: usize| t * slivers / per_block;
    // Part `pcb·per_block + t`: block `pcb`, slivers `bound(t)..bound(t+1)`.
    let slots: [Mutex<Option<&mut [T]>>; MAX_PARTS] = std::array::from_fn(|_| Mutex::new(None));
    let mut rest = out;
    for pcb in 0..blocks {
        let kc = blk.kc.min(k - pcb * blk.kc);
        for t in 0..per_block {
            let (head, tail) = rest.split_at_mut((bound(t + 1) - bound(t)) * kc * NR);
            *lock(&slots[pcb * per_block + t]) = Some(head);
            rest = tail;
        }
    }
    pool::run(threads, parts, &|part, _| {
        let (pcb, t) = (part / per_block, part % per_block);
        let pc = pcb * blk.kc;
        if let Some(dst) = lock(&slots[part]).take() {
            pack_range(pc, blk.kc.min(k - pc), bound(t), dst);
        }
    });
}

/// Computes rows `rows` and columns `jc..jc+nc` of C, given the packed B
/// block `bpack` (from [`pack_b`]) and a scratch `apack` of `MC·KC` values
/// for packing A. `c` starts at row `rows.start`, column 0.
#[allow(clippy::too_many_arguments)] // internal; grouping would only rename them
fn compute_rows<T: Elem, const MR: usize, const NR: usize>(
    kern: KernelFn<T>,
    blk: Blocking,
    g: &Gemm<'_, T>,
    rows: Range<usize>,
    jc: usize,
    nc: usize,
    bpack: &[T],
    apack: &mut [T],
    c: &mut [T],
    rsc: usize,
) {
    let k = g.k;
    let a = g.a;
    let slivers_b = nc.div_ceil(NR);
    let mut pc = 0;
    while pc < k {
        let kc = blk.kc.min(k - pc);
        // beta applies once, on the first k block; later blocks accumulate.
        let beta = if pc == 0 { g.beta } else { T::ONE };
        let mut ic = rows.start;
        while ic < rows.end {
            let mc = blk.mc.min(rows.end - ic);
            let slivers_a = mc.div_ceil(MR);
            for (ir, dst) in apack.chunks_exact_mut(kc * MR).take(slivers_a).enumerate() {
                let i0 = ic + ir * MR;
                let src = &a.data[i0 * a.rs + pc * a.cs..];
                pack_sliver::<T, MR>(MR.min(ic + mc - i0), kc, src, a.rs, a.cs, dst);
            }
            for jr in 0..slivers_b {
                let j0 = jr * NR;
                let nr = NR.min(nc - j0);
                let bsl = &bpack[pc * slivers_b * NR + jr * kc * NR..][..kc * NR];
                for (ir, asl) in apack.chunks_exact(kc * MR).take(slivers_a).enumerate() {
                    let i0 = ic + ir * MR;
                    let mr = MR.min(ic + mc - i0);
                    let ctile = &mut c[(i0 - rows.start) * rsc + jc + j0..];
                    if mr == MR && nr == NR {
                        kern(kc, g.alpha, asl, bsl, beta, ctile, rsc);
                    } else {
                        edge_tile::<T, MR, NR>(
                            kern, kc, g.alpha, asl, bsl, beta, ctile, rsc, mr, nr,
                        );
                    }
                }
            }
            ic += mc;
        }
        pc += kc;
    }
}

/// A partial `mr×nr` tile: run the kernel on a full scratch tile (holding a
/// copy of C's valid part when `beta != 0`) and copy the valid part back.
/// The arithmetic is exactly the kernel's, so results match full tiles.
#[allow(clippy::too_many_arguments)] // internal; mirrors the kernel arguments
fn edge_tile<T: Elem, const MR: usize, const NR: usize>(
    kern: KernelFn<T>,
    kc: usize,
    alpha: T,
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut [T],
    rsc: usize,
    mr: usize,
    nr: usize,
) {
    let mut tmp = [T::ZERO; TILE_MAX];
    if beta != T::ZERO {
        for i in 0..mr {
            tmp[i * NR..i * NR + nr].copy_from_slice(&c[i * rsc..i * rsc + nr]);
        }
    }
    kern(kc, alpha, a, b, beta, &mut tmp[..MR * NR], NR);
    for i in 0..mr {
        c[i * rsc..i * rsc + nr].copy_from_slice(&tmp[i * NR..i * NR + nr]);
    }
}

/// Thin public wrappers so benchmarks (which only see `pub` items) can call
/// the crate-internal GEMM. Not part of the supported API.
#[doc(hidden)]
pub mod __bench {
    /// The crate-internal `gemm` on `f32`.
    ///
    /// # Errors
    /// When a slice is too short for its shape and strides (see `gemm`).
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_f32(
        m: usize,
        k: usize,
        n: usize,
        alpha: f32,
        a: &[f32],
        rsa: usize,
        csa: usize,
        b: &[f32],
        rsb: usize,
        csb: usize,
        beta: f32,
        c: &mut [f32],
        rsc: usize,
    ) -> crate::Result<()> {
        super::gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc)
    }

    /// The crate-internal `gemm` on `f64`.
    ///
    /// # Errors
    /// When a slice is too short for its shape and strides (see `gemm`).
    #[allow(clippy::too_many_arguments)]
    pub fn gemm_f64(
        m: usize,
        k: usize,
        n: usize,
        alpha: f64,
        a: &[f64],
        rsa: usize,
        csa: usize,
        b: &[f64],
        rsb: usize,
        csb: usize,
        beta: f64,
        c: &mut [f64],
        rsc: usize,
    ) -> crate::Result<()> {
        super::gemm(m, k, n, alpha, a, rsa, csa, b, rsb, csb, beta, c, rsc)
    }

    /// `(parallel jobs, seconds)`: how many jobs the worker pool has run and
    /// how long their callers waited for the workers after finishing their
    /// own parts, since the process started (for `examples/bench.rs --profile`).
    pub fn pool_join_stats() -> (u64, f64) {
        super::pool::join_stats()
    }

    /// Forces the portable kernel (see the crate-internal `set_force_portable`).
    pub fn set_force_portable(on: bool) {
        super::set_force_portable(on);
    }

    /// Forces the AVX2 kernels (see the crate-internal `set_force_avx2`).
    pub fn set_force_avx2(on: bool) {
        super::set_force_avx2(on);
    }
}

#[cfg(test)]
mod tests;
