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
//!   packing is split between them, except for products of a few hundred
//!   rows whose B rows are contiguous, where each thread packs its own copy
//!   (`OWN_B_ROWS`).
//! * The rows of C are split into one part of whole `MR`-row slivers per
//!   thread, the first on the calling thread: a batch's rows then stay with
//!   one core from product to activation to the next product (the
//!   element-wise passes split tensors the same way), which measured 1–2 %
//!   faster on W2 than 16 parts handed out dynamically, and 4–15 % faster
//!   when the two cores talk slowly (cross-core round trips of 300 ns
//!   instead of 65, a state these shared machines fall into for minutes at a
//!   time). For its rows, a thread walks `k` in
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
//! The files: this one holds the checked entry [`gemm`], the operand views
//! and the per-type blocking; `driver.rs` the blocked product (packing B,
//! splitting C's rows, packing A, the tiles); `pack.rs` the packing of one
//! sliver (`x86_pack.rs` its transposing case in AVX registers: an 8×8
//! (`f32`) or 4×4 (`f64`) transpose per block of steps and lines, which made packing
//! `x·Wᵀ` and a convolution's column matrix for `dW` several times
//! faster than the scalar loop); `x86.rs` and `portable.rs` the micro-kernels; `isa.rs` which
//! kernel family runs; `threads.rs` the thread count and the pool's helper
//! for the passes around the products; `pool.rs` the worker threads.
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
//! of `#[target_feature]` functions after run-time detection), `x86_pack.rs`
//! (the same for the transposing pack) and `pool.rs`
//! (handing a borrowed job to persistent worker threads, sound because the
//! caller joins before it returns) contain `unsafe`; each block states why it
//! is sound. The kernels' raw-pointer accesses rest on slice extents, which
//! [`gemm`] (the only entry, behind `Scalar::gemm` and `__bench`) checks on
//! every call with checked arithmetic, returning an error for a slice too
//! short or a stride whose extent overflows; each kernel entry checks its
//! tile's extent again, also with checked arithmetic.

mod driver;
mod isa;
mod pack;
mod pool;
mod portable;
mod threads;
#[cfg(target_arch = "x86_64")]
mod x86;
#[cfg(target_arch = "x86_64")]
mod x86_pack;

use std::cell::RefCell;
use std::ops::{Add, Mul, Range};
use std::sync::atomic::Ordering;
use std::sync::{Mutex, PoisonError};

use driver::driver;
use isa::{FORCE_ISA, Isa};
pub(crate) use isa::{set_force_avx2, set_force_portable};
use pack::pack_sliver;
pub(crate) use threads::{MAX_SLICES, none, par_blocks, par_items};
pub use threads::{num_threads, set_num_threads};

/// Upper bound on the number of threads (and work parts) of one product.
const MAX_THREADS: usize = 32;

/// Rows per thread for which each thread packs its own copy of B (when B's
/// rows are contiguous, so packing is a plain copy): reading half of a
/// shared packed B from the other core costs more than packing it again for
/// these few rows (W1's 128×784·784×256 at two threads: 188 → 205 GFLOP/s,
/// 256³ 199 → 211), while with fewer rows per thread (a convolution's 16 or
/// 32 channels) packing B twice costs more than it saves.
const OWN_B_ROWS: std::ops::RangeInclusive<usize> = 64..=256;

/// Products of more rows than this share one packed B.
const OWN_B_MAX_ROWS: usize = 512;

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

/// Locks a slot mutex, ignoring poisoning (a panicking part is reported by
/// the pool; the slots are dropped right after).
pub(super) fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
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
    /// Block of the shared dimension, at most (the driver splits `k` into
    /// equal blocks of at most this many steps).
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

    /// Packs `out[p·r_total + i] = flush(lines[i][p])` for `p < steps` with
    /// SIMD shuffles where the type and CPU allow (`lines.len()` and `steps`
    /// multiples of 8); returns `false`, writing nothing, otherwise.
    fn pack_transposed(lines: &[&[Self]], steps: usize, out: &mut [Self], r_total: usize) -> bool;

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
        pack_transposed: $pt:path,
        avx512: $k512:ident, $mr512:ident, $nr512:ident, mc $mc512:literal, kc $kc512:literal,
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

            fn pack_transposed(lines: &[&[$t]], steps: usize, out: &mut [$t], r: usize) -> bool {
                $pt(lines, steps, out, r)
            }

            fn gemm(cfg: Config, g: &Gemm<'_, $t>, c: &mut [$t], rsc: usize) {
                #[cfg(target_arch = "x86_64")]
                if let Some(kern) = x86::$k512().filter(|_| cfg.isa == Isa::Best) {
                    let blk = Blocking {
                        kc: $kc512,
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

// AVX-512 blocking, measured on Zen 4 (1 MiB L2 per core; the Xeons with
// AVX-512 have 1.25–2 MiB): a long `kc` writes each tile of C fewer times,
// and that traffic, not the B sliver outgrowing L1, set the pace at 1024³
// (f32 100 → 109.5 GFLOP/s going from kc 256 to 1024 with k = 1024 in one
// block; f64 49 → 51.5 with kc 512). f32: B sliver 1024×32×4 B = 128 KiB
// and A block 96×1024×4 B = 384 KiB, both in L2. AVX2 (Zen 3, 512 KiB L2)
// keeps kc 256. Blocks are equal (see the driver), e.g. 784 = 2 × 392.
elem_impl!(
    f32,
    pack_transposed: pack_transposed_f32,
    avx512: kernel_f32_avx512, MR_F32_512, NR_F32_512, mc 96, kc 1024,
    avx2: kernel_f32, MR_F32, NR_F32, mc 144,
    portable: MR_F32, NR_F32, mc 96
);
// f64 (AVX-512): B sliver 512×24×8 B = 96 KiB, A block 144×512×8 B = 576 KiB, in L2.
elem_impl!(
    f64,
    pack_transposed: pack_transposed_f64,
    avx512: kernel_f64_avx512, MR_F64_512, NR_F64_512, mc 144, kc 512,
    avx2: kernel_f64, MR_F64, NR_F64, mc 120,
    portable: MR_F64, NR_F64, mc 72
);

/// [`Elem::pack_transposed`] for `f32`: AVX shuffles on x86-64.
fn pack_transposed_f32(lines: &[&[f32]], steps: usize, out: &mut [f32], r: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86_pack::pack_transposed_f32(lines, steps, out, r);
    #[cfg(not(target_arch = "x86_64"))]
    no_simd_pack(lines, steps, out, r)
}

/// [`Elem::pack_transposed`] for `f64`: AVX shuffles on x86-64.
fn pack_transposed_f64(lines: &[&[f64]], steps: usize, out: &mut [f64], r: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    return x86_pack::pack_transposed_f64(lines, steps, out, r);
    #[cfg(not(target_arch = "x86_64"))]
    no_simd_pack(lines, steps, out, r)
}

/// [`Elem::pack_transposed`] without SIMD: declines, so the scalar loop packs.
#[cfg(not(target_arch = "x86_64"))]
fn no_simd_pack<T>(_: &[&[T]], _: usize, _: &mut [T], _: usize) -> bool {
    false
}

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
