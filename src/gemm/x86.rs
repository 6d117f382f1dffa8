//! AVX-512F and AVX2 + FMA micro-kernels for x86-64.
//!
//! This is one of the two places in the crate that contain `unsafe` code (the
//! other is the thread pool in `pool.rs`). The kernels are ordinary safe
//! functions from the caller's point of view: the only way to obtain one is
//! through [`kernel_f32`] / [`kernel_f64`] (AVX2) or [`kernel_f32_avx512`] /
//! [`kernel_f64_avx512`], which return `None` unless the CPU supports AVX2 and
//! FMA (respectively AVX-512F), and each kernel checks the lengths of the slices it
//! is given before it touches memory through raw pointers.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256, __m256d, __m512, __m512d, _MM_HINT_T0, _mm_prefetch, _mm256_broadcast_sd,
    _mm256_broadcast_ss, _mm256_fmadd_pd, _mm256_fmadd_ps, _mm256_loadu_pd, _mm256_loadu_ps,
    _mm256_mul_pd, _mm256_mul_ps, _mm256_set1_pd, _mm256_set1_ps, _mm256_setzero_pd,
    _mm256_setzero_ps, _mm256_storeu_pd, _mm256_storeu_ps, _mm512_fmadd_pd, _mm512_fmadd_ps,
    _mm512_loadu_pd, _mm512_loadu_ps, _mm512_mul_pd, _mm512_mul_ps, _mm512_set1_pd, _mm512_set1_ps,
    _mm512_setzero_pd, _mm512_setzero_ps, _mm512_storeu_pd, _mm512_storeu_ps,
};
use std::sync::atomic::{AtomicU8, Ordering};

use super::KernelFn;

/// Rows of the f32 register tile.
pub(super) const MR_F32: usize = 6;
/// Columns of the f32 register tile (two 8-lane `ymm` registers).
pub(super) const NR_F32: usize = 16;
/// Rows of the f64 register tile.
pub(super) const MR_F64: usize = 6;
/// Columns of the f64 register tile (two 4-lane `ymm` registers).
pub(super) const NR_F64: usize = 8;

/// Cached result of the CPU feature check: 0 = not yet checked, 1 = absent, 2 = present.
static HAS_AVX2_FMA: AtomicU8 = AtomicU8::new(0);

/// Whether this CPU supports both AVX2 and FMA (checked once, then cached).
pub(super) fn has_avx2_fma() -> bool {
    match HAS_AVX2_FMA.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            HAS_AVX2_FMA.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// The AVX2+FMA f32 kernel (tile [`MR_F32`]×[`NR_F32`]), if this CPU can run it.
pub(super) fn kernel_f32() -> Option<KernelFn<f32>> {
    if has_avx2_fma() {
        Some(kernel_f32_6x16)
    } else {
        None
    }
}

/// The AVX2+FMA f64 kernel (tile [`MR_F64`]×[`NR_F64`]), if this CPU can run it.
pub(super) fn kernel_f64() -> Option<KernelFn<f64>> {
    if has_avx2_fma() {
        Some(kernel_f64_6x8)
    } else {
        None
    }
}

/// Safe entry of the f32 kernel; see [`KernelFn`] for the contract.
///
/// Only reachable through [`kernel_f32`], i.e. after AVX2 and FMA were detected.
fn kernel_f32_6x16(
    kc: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
    rsc: usize,
) {
    const MR: usize = MR_F32;
    const NR: usize = NR_F32;
    debug_assert!(has_avx2_fma());
    assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    assert!(c.len() >= (MR - 1) * rsc + NR);
    // SAFETY: (1) this function is private and only handed out by
    // `kernel_f32`, which returns it only when `has_avx2_fma()` reported that
    // the running CPU supports AVX2 and FMA, the features the callee is
    // compiled for; (2) the asserts above are exactly the callee's
    // requirements on the lengths of `a`, `b` and `c`.
    unsafe { f32_6x16_avx2(kc, alpha, a.as_ptr(), b.as_ptr(), beta, c.as_mut_ptr(), rsc) }
}

/// Safe entry of the f64 kernel; see [`KernelFn`] for the contract.
///
/// Only reachable through [`kernel_f64`], i.e. after AVX2 and FMA were detected.
fn kernel_f64_6x8(
    kc: usize,
    alpha: f64,
    a: &[f64],
    b: &[f64],
    beta: f64,
    c: &mut [f64],
    rsc: usize,
) {
    const MR: usize = MR_F64;
    const NR: usize = NR_F64;
    debug_assert!(has_avx2_fma());
    assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    assert!(c.len() >= (MR - 1) * rsc + NR);
    // SAFETY: as in `kernel_f32_6x16`: only handed out by `kernel_f64` after
    // AVX2 and FMA were detected on the running CPU, and the asserts above
    // are the callee's length requirements.
    unsafe { f64_6x8_avx2(kc, alpha, a.as_ptr(), b.as_ptr(), beta, c.as_mut_ptr(), rsc) }
}

/// f32 6×16 tile: `C ← alpha·A·B + beta·C` (C not read when `beta == 0`).
///
/// # Safety
///
/// The CPU must support AVX2 and FMA. `a` must be valid for reading `kc·6`
/// values (`kc` groups of 6: a packed A sliver), `b` for reading `kc·16`
/// values (`kc` groups of 16: a packed B sliver), and `c` (the tile's
/// top-left element, row stride `rsc`) for reading and writing
/// `(6-1)·rsc + 16` values; `c` must not overlap `a` or `b`.
#[target_feature(enable = "avx2,fma")]
unsafe fn f32_6x16_avx2(
    kc: usize,
    alpha: f32,
    a: *const f32,
    b: *const f32,
    beta: f32,
    c: *mut f32,
    rsc: usize,
) {
    const MR: usize = 6;
    const NR: usize = 16;
    const L: usize = 8;
    // SAFETY: the caller guarantees the CPU features (so every intrinsic
    // below may run) and the extents of `a`, `b` and `c`. Step `p < kc` reads
    // `a[p*MR .. p*MR + MR]` and `b[p*NR .. p*NR + NR]` (two 8-lane loads),
    // inside the `kc·MR` and `kc·NR` readable values; row `i < MR` of the tile
    // touches `c[i*rsc .. i*rsc + NR]`, inside the `(MR-1)·rsc + NR` values
    // the caller lets us read and write. All loads/stores are unaligned.
    unsafe {
        let mut acc: [[__m256; 2]; MR] = [[_mm256_setzero_ps(); 2]; MR];
        // Start fetching the C tile now; it is only needed after the k loop.
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * rsc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * rsc + NR - 1) as *const i8);
        }
        // One step of the k loop: a rank-1 update of the tile.
        macro_rules! step {
            ($p:expr) => {
                let bp = b.add($p * NR);
                let b0 = _mm256_loadu_ps(bp);
                let b1 = _mm256_loadu_ps(bp.add(L));
                let ap = a.add($p * MR);
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = _mm256_broadcast_ss(&*ap.add(i));
                    row[0] = _mm256_fmadd_ps(ai, b0, row[0]);
                    row[1] = _mm256_fmadd_ps(ai, b1, row[1]);
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
        let va = _mm256_set1_ps(alpha);
        if beta == 0.0 {
            for (i, row) in acc.iter().enumerate() {
                let ci = c.add(i * rsc);
                _mm256_storeu_ps(ci, _mm256_mul_ps(va, row[0]));
                _mm256_storeu_ps(ci.add(L), _mm256_mul_ps(va, row[1]));
            }
        } else {
            let vb = _mm256_set1_ps(beta);
            for (i, row) in acc.iter().enumerate() {
                let ci = c.add(i * rsc);
                let c0 = _mm256_mul_ps(vb, _mm256_loadu_ps(ci));
                let c1 = _mm256_mul_ps(vb, _mm256_loadu_ps(ci.add(L)));
                _mm256_storeu_ps(ci, _mm256_fmadd_ps(va, row[0], c0));
                _mm256_storeu_ps(ci.add(L), _mm256_fmadd_ps(va, row[1], c1));
            }
        }
    }
}

/// f64 6×8 tile: `C ← alpha·A·B + beta·C` (C not read when `beta == 0`).
///
/// # Safety
///
/// The CPU must support AVX2 and FMA. `a` must be valid for reading `kc·6`
/// values (`kc` groups of 6: a packed A sliver), `b` for reading `kc·8`
/// values (`kc` groups of 8: a packed B sliver), and `c` (the tile's
/// top-left element, row stride `rsc`) for reading and writing
/// `(6-1)·rsc + 8` values; `c` must not overlap `a` or `b`.
#[target_feature(enable = "avx2,fma")]
unsafe fn f64_6x8_avx2(
    kc: usize,
    alpha: f64,
    a: *const f64,
    b: *const f64,
    beta: f64,
    c: *mut f64,
    rsc: usize,
) {
    const MR: usize = 6;
    const NR: usize = 8;
    const L: usize = 4;
    // SAFETY: the caller guarantees the CPU features (so every intrinsic
    // below may run) and the extents of `a`, `b` and `c`. Step `p < kc` reads
    // `a[p*MR .. p*MR + MR]` and `b[p*NR .. p*NR + NR]` (two 4-lane loads),
    // inside the `kc·MR` and `kc·NR` readable values; row `i < MR` of the tile
    // touches `c[i*rsc .. i*rsc + NR]`, inside the `(MR-1)·rsc + NR` values
    // the caller lets us read and write. All loads/stores are unaligned.
    unsafe {
        let mut acc: [[__m256d; 2]; MR] = [[_mm256_setzero_pd(); 2]; MR];
        // Start fetching the C tile now; it is only needed after the k loop.
        for i in 0..MR {
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * rsc) as *const i8);
            _mm_prefetch::<_MM_HINT_T0>(c.add(i * rsc + NR - 1) as *const i8);
        }
        // One step of the k loop: a rank-1 update of the tile.
        macro_rules! step {
            ($p:expr) => {
                let bp = b.add($p * NR);
                let b0 = _mm256_loadu_pd(bp);
                let b1 = _mm256_loadu_pd(bp.add(L));
                let ap = a.add($p * MR);
                for (i, row) in acc.iter_mut().enumerate() {
                    let ai = _mm256_broadcast_sd(&*ap.add(i));
                    row[0] = _mm256_fmadd_pd(ai, b0, row[0]);
                    row[1] = _mm256_fmadd_pd(ai, b1, row[1]);
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
        let va = _mm256_set1_pd(alpha);
        if beta == 0.0 {
            for (i, row) in acc.iter().enumerate() {
                let ci = c.add(i * rsc);
                _mm256_storeu_pd(ci, _mm256_mul_pd(va, row[0]));
                _mm256_storeu_pd(ci.add(L), _mm256_mul_pd(va, row[1]));
            }
        } else {
            let vb = _mm256_set1_pd(beta);
            for (i, row) in acc.iter().enumerate() {
                let ci = c.add(i * rsc);
                let c0 = _mm256_mul_pd(vb, _mm256_loadu_pd(ci));
                let c1 = _mm256_mul_pd(vb, _mm256_loadu_pd(ci.add(L)));
                _mm256_storeu_pd(ci, _mm256_fmadd_pd(va, row[0], c0));
                _mm256_storeu_pd(ci.add(L), _mm256_fmadd_pd(va, row[1], c1));
            }
        }
    }
}

// AVX-512 tile shapes, chosen by measurement (Xeon, 2 cores, n = 128…1024
// and the MLP shape 128×784·784×256): 12×32 f32 (24 `zmm` accumulators) won
// over 14×32 and 8×48 on the small and MLP shapes (8×48 was ~5% faster at
// n = 1024 but wastes a third of a sliver on 128 or 256 columns); for f64,
// 8×24 (24 accumulators, three loads of B per step) beat 12×16 and 14×16 by
// 10–20% everywhere.

/// Rows of the AVX-512 f32 register tile.
pub(super) const MR_F32_512: usize = 12;
/// Columns of the AVX-512 f32 register tile (two 16-lane `zmm` registers).
pub(super) const NR_F32_512: usize = 32;
/// Rows of the AVX-512 f64 register tile.
pub(super) const MR_F64_512: usize = 8;
/// Columns of the AVX-512 f64 register tile (three 8-lane `zmm` registers).
pub(super) const NR_F64_512: usize = 24;

/// Cached result of the AVX-512F check: 0 = not yet checked, 1 = absent, 2 = present.
static HAS_AVX512F: AtomicU8 = AtomicU8::new(0);

/// Whether this CPU supports AVX-512F (checked once, then cached).
pub(super) fn has_avx512f() -> bool {
    match HAS_AVX512F.load(Ordering::Relaxed) {
        1 => false,
        2 => true,
        _ => {
            let yes = is_x86_feature_detected!("avx512f");
            HAS_AVX512F.store(if yes { 2 } else { 1 }, Ordering::Relaxed);
            yes
        }
    }
}

/// The AVX-512F f32 kernel (tile [`MR_F32_512`]×[`NR_F32_512`]), if this CPU
/// can run it.
pub(super) fn kernel_f32_avx512() -> Option<KernelFn<f32>> {
    if has_avx512f() {
        Some(kernel_f32_512)
    } else {
        None
    }
}

/// The AVX-512F f64 kernel (tile [`MR_F64_512`]×[`NR_F64_512`]), if this CPU
/// can run it.
pub(super) fn kernel_f64_avx512() -> Option<KernelFn<f64>> {
    if has_avx512f() {
        Some(kernel_f64_512)
    } else {
        None
    }
}

/// Safe entry of the AVX-512 f32 kernel; see [`KernelFn`] for the contract.
///
/// Only reachable through [`kernel_f32_avx512`], i.e. after AVX-512F was detected.
fn kernel_f32_512(
    kc: usize,
    alpha: f32,
    a: &[f32],
    b: &[f32],
    beta: f32,
    c: &mut [f32],
    rsc: usize,
) {
    const MR: usize = MR_F32_512;
    const NR: usize = NR_F32_512;
    debug_assert!(has_avx512f());
    assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    assert!(c.len() >= (MR - 1) * rsc + NR);
    // SAFETY: (1) this function is private and only handed out by
    // `kernel_f32_avx512`, which returns it only when `has_avx512f()` reported
    // that the running CPU supports AVX-512F, the feature the callee is
    // compiled for; (2) the asserts above are exactly the callee's
    // requirements on the lengths of `a`, `b` and `c` for `MR` rows and
    // `NV = NR / 16` vectors of 16 lanes (`NR` is a multiple of 16).
    unsafe {
        f32_avx512::<MR, { NR / 16 }>(kc, alpha, a.as_ptr(), b.as_ptr(), beta, c.as_mut_ptr(), rsc);
    }
}

/// Safe entry of the AVX-512 f64 kernel; see [`KernelFn`] for the contract.
///
/// Only reachable through [`kernel_f64_avx512`], i.e. after AVX-512F was detected.
fn kernel_f64_512(
    kc: usize,
    alpha: f64,
    a: &[f64],
    b: &[f64],
    beta: f64,
    c: &mut [f64],
    rsc: usize,
) {
    const MR: usize = MR_F64_512;
    const NR: usize = NR_F64_512;
    debug_assert!(has_avx512f());
    assert!(a.len() >= kc * MR && b.len() >= kc * NR);
    assert!(c.len() >= (MR - 1) * rsc + NR);
    // SAFETY: as in `kernel_f32_512`: only handed out by `kernel_f64_avx512`
    // after AVX-512F was detected on the running CPU, and the asserts above
    // are the callee's length requirements for `MR` rows and `NV = NR / 8`
    // vectors of 8 lanes (`NR` is a multiple of 8).
    unsafe {
        f64_avx512::<MR, { NR / 8 }>(kc, alpha, a.as_ptr(), b.as_ptr(), beta, c.as_mut_ptr(), rsc);
    }
}

/// Defines an AVX-512F `MR × (NV·lanes)` kernel for one element type.
macro_rules! avx512_kernel {
    (
        $(#[$doc:meta])*
        $name:ident, $t:ty, $v:ty, $lanes:expr,
        $zero:ident, $set1:ident, $load:ident, $store:ident, $fmadd:ident, $mul:ident
    ) => {
        $(#[$doc])*
        ///
        /// # Safety
        ///
        /// The CPU must support AVX-512F. With `NR = NV·lanes`: `a` must be
        /// valid for reading `kc·MR` values (`kc` groups of `MR`: a packed A
        /// sliver), `b` for reading `kc·NR` values (`kc` groups of `NR`: a
        /// packed B sliver), and `c` (the tile's top-left element, row stride
        /// `rsc`) for reading and writing `(MR-1)·rsc + NR` values; `c` must
        /// not overlap `a` or `b`.
        #[target_feature(enable = "avx512f")]
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
            // SAFETY: the caller guarantees the CPU feature (so every
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

avx512_kernel!(
    /// f32 `MR × 16·NV` tile: `C ← alpha·A·B + beta·C` (C not read when `beta == 0`).
    f32_avx512, f32, __m512, 16,
    _mm512_setzero_ps, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
    _mm512_fmadd_ps, _mm512_mul_ps
);

avx512_kernel!(
    /// f64 `MR × 8·NV` tile: `C ← alpha·A·B + beta·C` (C not read when `beta == 0`).
    f64_avx512, f64, __m512d, 8,
    _mm512_setzero_pd, _mm512_set1_pd, _mm512_loadu_pd, _mm512_storeu_pd,
    _mm512_fmadd_pd, _mm512_mul_pd
);
