//! AVX-512F and AVX2 + FMA micro-kernels for x86-64.
//!
//! This is one of the two places in the crate that contain `unsafe` code (the
//! other is the thread pool in `pool.rs`). The kernels are ordinary safe
//! functions from the caller's point of view: the only way to obtain one is
//! through [`kernel_f32`] / [`kernel_f64`] (AVX2) or [`kernel_f32_avx512`] /
//! [`kernel_f64_avx512`], which return `None` unless the CPU supports AVX2 and
//! FMA (respectively AVX-512F), and each kernel checks the lengths of the
//! slices it is given before it touches memory through raw pointers.
//!
//! All four kernels are one macro, [`simd_kernel!`], instantiated per
//! instruction set and element type: an `MR × NV·lanes` tile of C held in
//! `MR·NV` vector registers, updated by one rank-1 product per step of `k`.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256, __m256d, __m512, __m512d, _MM_HINT_T0, _mm_prefetch, _mm256_fmadd_pd, _mm256_fmadd_ps,
    _mm256_loadu_pd, _mm256_loadu_ps, _mm256_mul_pd, _mm256_mul_ps, _mm256_set1_pd, _mm256_set1_ps,
    _mm256_setzero_pd, _mm256_setzero_ps, _mm256_storeu_pd, _mm256_storeu_ps, _mm512_fmadd_pd,
    _mm512_fmadd_ps, _mm512_loadu_pd, _mm512_loadu_ps, _mm512_mul_pd, _mm512_mul_ps,
    _mm512_set1_pd, _mm512_set1_ps, _mm512_setzero_pd, _mm512_setzero_ps, _mm512_storeu_pd,
    _mm512_storeu_ps,
};
use std::sync::atomic::{AtomicU8, Ordering};

use super::KernelFn;

/// Rows of the AVX2 f32 register tile.
pub(super) const MR_F32: usize = 6;
/// Columns of the AVX2 f32 register tile (two 8-lane `ymm` registers).
pub(super) const NR_F32: usize = 16;
/// Rows of the AVX2 f64 register tile.
pub(super) const MR_F64: usize = 6;
/// Columns of the AVX2 f64 register tile (two 4-lane `ymm` registers).
pub(super) const NR_F64: usize = 8;

// AVX-512 tile shapes, chosen by measurement. f32: 8×32 (16 `zmm`
// accumulators). On an Intel Xeon (two 512-bit FMA units) 12×32 had won
// over 14×32 and 8×48 on the small and MLP shapes; on the AMD EPYC Zen 4
// this project now runs on (512-bit FMAs issued as two 256-bit halves, so
// one per cycle) 8×32 was as fast or up to 5% faster at every W1 and W2
// shape, single-threaded, in thread CPU time, and it splits the MLP's 128
// and 256 rows into whole slivers evenly over 2 threads (16 and 32 slivers;
// 12-row slivers gave 11 for 128 rows, one over two threads: 6 against 5,
// and a last sliver a third empty). 8×48 wastes a third of a sliver on 128
// or 256 columns. f64: 8×24 (24 accumulators, three loads of B per step)
// beat 12×16 and 14×16 by 10–20% everywhere (Xeon).

/// Rows of the AVX-512 f32 register tile.
pub(super) const MR_F32_512: usize = 8;
/// Columns of the AVX-512 f32 register tile (two 16-lane `zmm` registers).
pub(super) const NR_F32_512: usize = 32;
/// Rows of the AVX-512 f64 register tile.
pub(super) const MR_F64_512: usize = 8;
/// Columns of the AVX-512 f64 register tile (three 8-lane `zmm` registers).
pub(super) const NR_F64_512: usize = 24;

/// Runs `detect` once and caches its answer in `flag` (0 = not yet checked,
/// 1 = absent, 2 = present).
fn cached(flag: &AtomicU8, detect: fn() -> bool) -> bool {
    match flag.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = detect();
            flag.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// Whether this CPU supports both AVX2 and FMA (checked once, then cached).
pub(super) fn has_avx2_fma() -> bool {
    static FLAG: AtomicU8 = AtomicU8::new(0);
    cached(&FLAG, || {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    })
}

/// Whether this CPU supports AVX (checked once, then cached).
pub(super) fn has_avx() -> bool {
    static FLAG: AtomicU8 = AtomicU8::new(0);
    cached(&FLAG, || is_x86_feature_detected!("avx"))
}

/// Whether this CPU supports AVX-512F (checked once, then cached).
pub(super) fn has_avx512f() -> bool {
    static FLAG: AtomicU8 = AtomicU8::new(0);
    cached(&FLAG, || is_x86_feature_detected!("avx512f"))
}

/// Defines an `MR × (NV·lanes)` tile kernel for one element type and
/// instruction set: `C ← alpha·A·B + beta·C` (C not read when `beta == 0`).
macro_rules! simd_kernel {
    (
        $(#[$doc:meta])*
        $name:ident, $feature:literal, $t:ty, $v:ty, $lanes:expr,
        $zero:ident, $set1:ident, $load:ident, $store:ident, $fmadd:ident, $mul:ident
    ) => {
        $(#[$doc])*
        ///
        /// # Safety
        ///
        #[doc = concat!("The CPU must support `", $feature, "`.")]
        /// With `NR = NV·lanes`: `a` must be valid for reading `kc·MR` values
        /// (`kc` groups of `MR`: a packed A sliver), `b` for reading `kc·NR`
        /// values (`kc` groups of `NR`: a packed B sliver), and `c` (the
        /// tile's top-left element, row stride `rsc`) for reading and writing
        /// `(MR-1)·rsc + NR` values; `c` must not overlap `a` or `b`.
        #[target_feature(enable = $feature)]
        unsafe fn $name<const MR: usize, const NV: usize>(
            kc: usize,
            alpha: $t,
            a: *const $t,
            b: *const $t,
            beta: $t,
            c: *mut $t,
            rsc: usize,
        ) {
            const L: usize = $lanes;
            let nr = NV * L;
            // SAFETY: the caller guarantees the CPU features (so every
            // intrinsic below may run) and the extents of `a`, `b` and `c`.
            // Step `p < kc` reads `a[p*MR .. p*MR + MR]` and
            // `b[p*nr .. p*nr + nr]` (NV loads of L lanes), inside the `kc·MR`
            // and `kc·nr` readable values; row `i < MR` of the tile touches
            // `c[i*rsc .. i*rsc + nr]`, inside the `(MR-1)·rsc + nr` values
            // the caller lets us read and write. All loads/stores are unaligned.
            unsafe {
                let mut acc: [[$v; NV]; MR] = [[$zero(); NV]; MR];
                // Start fetching the C tile now; it is only needed after the k loop.
                for i in 0..MR {
                    _mm_prefetch::<_MM_HINT_T0>(c.add(i * rsc) as *const i8);
                    _mm_prefetch::<_MM_HINT_T0>(c.add(i * rsc + nr - 1) as *const i8);
                }
                // One step of the k loop: a rank-1 update of the tile.
                macro_rules! step {
                    ($p:expr) => {
                        let bp = b.add($p * nr);
                        let bv: [$v; NV] = core::array::from_fn(|j| $load(bp.add(j * L)));
                        let ap = a.add($p * MR);
                        for (i, row) in acc.iter_mut().enumerate() {
                            let ai = $set1(*ap.add(i));
                            for (x, &bj) in row.iter_mut().zip(&bv) {
                                *x = $fmadd(ai, bj, *x);
                            }
                        }
                    };
                }
                let mut p = 0;
                while p + 4 <= kc {
                    step!(p);
                    step!(p + 1);
                    step!(p + 2);
                    step!(p + 3);
                    p += 4;
                }
                while p < kc {
                    step!(p);
                    p += 1;
                }
                let va = $set1(alpha);
                if beta == 0.0 {
                    for (i, row) in acc.iter().enumerate() {
                        let ci = c.add(i * rsc);
                        for (j, &x) in row.iter().enumerate() {
                            $store(ci.add(j * L), $mul(va, x));
                        }
                    }
                } else {
                    let vb = $set1(beta);
                    for (i, row) in acc.iter().enumerate() {
                        let ci = c.add(i * rsc);
                        for (j, &x) in row.iter().enumerate() {
                            let old = $mul(vb, $load(ci.add(j * L)));
                            $store(ci.add(j * L), $fmadd(va, x, old));
                        }
                    }
                }
            }
        }
    };
}

simd_kernel!(
    /// AVX2+FMA f32 `MR × 8·NV` tile.
    f32_avx2, "avx2,fma", f32, __m256, 8,
    _mm256_setzero_ps, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
    _mm256_fmadd_ps, _mm256_mul_ps
);

simd_kernel!(
    /// AVX2+FMA f64 `MR × 4·NV` tile.
    f64_avx2, "avx2,fma", f64, __m256d, 4,
    _mm256_setzero_pd, _mm256_set1_pd, _mm256_loadu_pd, _mm256_storeu_pd,
    _mm256_fmadd_pd, _mm256_mul_pd
);

simd_kernel!(
    /// AVX-512F f32 `MR × 16·NV` tile.
    f32_avx512, "avx512f", f32, __m512, 16,
    _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
    _mm512_fmadd_ps, _mm512_mul_ps
);

simd_kernel!(
    /// AVX-512F f64 `MR × 8·NV` tile.
    f64_avx512, "avx512f", f64, __m512d, 8,
    _mm512_setzero_pd, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd,
    _mm512_fmadd_pd, _mm512_mul_pd
);

/// Defines `$getter() -> Option<KernelFn<$t>>`, which hands out a safe entry
/// to the `$kernel::<$mr, NV>` tile only when `$has()` reports the CPU
/// features that kernel is compiled for.
macro_rules! kernel_entry {
    ($(#[$doc:meta])* $getter:ident, $t:ty, $kernel:ident, $mr:expr, $nr:expr, $lanes:expr, $has:ident) => {
        $(#[$doc])*
        pub(super) fn $getter() -> Option<KernelFn<$t>> {
            /// Safe entry of the kernel; see [`KernelFn`] for the contract.
            fn entry(kc: usize, alpha: $t, a: &[$t], b: &[$t], beta: $t, c: &mut [$t], rsc: usize) {
                const MR: usize = $mr;
                const NR: usize = $nr;
                debug_assert!($has());
                // Checked arithmetic: a wrapped product must not pass.
                let fits = |len: usize, need: Option<usize>| need.is_some_and(|x| len >= x);
                assert!(fits(a.len(), kc.checked_mul(MR)) && fits(b.len(), kc.checked_mul(NR)));
                assert!(fits(c.len(), rsc.checked_mul(MR - 1).and_then(|x| x.checked_add(NR))));
                // SAFETY: (1) `entry` is private to its getter, which returns
                // it only when `$has()` reported that the running CPU supports
                // the features the kernel is compiled for; (2) the asserts
                // above are exactly the kernel's requirements on the lengths
                // of `a`, `b` and `c` for `MR` rows and `NR / lanes` vectors
                // (`NR` is a multiple of the lane count).
                unsafe {
                    $kernel::<MR, { NR / $lanes }>(
                        kc, alpha, a.as_ptr(), b.as_ptr(), beta, c.as_mut_ptr(), rsc,
                    );
                }
            }
            $has().then_some(entry as KernelFn<$t>)
        }
    };
}

kernel_entry!(
    /// The AVX2+FMA f32 kernel (tile [`MR_F32`]×[`NR_F32`]), if this CPU can run it.
    kernel_f32, f32, f32_avx2, MR_F32, NR_F32, 8, has_avx2_fma
);
kernel_entry!(
    /// The AVX2+FMA f64 kernel (tile [`MR_F64`]×[`NR_F64`]), if this CPU can run it.
    kernel_f64, f64, f64_avx2, MR_F64, NR_F64, 4, has_avx2_fma
);
kernel_entry!(
    /// The AVX-512F f32 kernel (tile [`MR_F32_512`]×[`NR_F32_512`]), if this CPU can run it.
    kernel_f32_avx512, f32, f32_avx512, MR_F32_512, NR_F32_512, 16, has_avx512f
);
kernel_entry!(
    /// The AVX-512F f64 kernel (tile [`MR_F64_512`]×[`NR_F64_512`]), if this CPU can run it.
    kernel_f64_avx512, f64, f64_avx512, MR_F64_512, NR_F64_512, 8, has_avx512f
);
