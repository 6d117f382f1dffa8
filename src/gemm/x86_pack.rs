//! The transposing case of packing with AVX: lines that are contiguous
//! along `k` become groups of values per step by transposes in registers —
//! for `f32` 8×8 (eight loads, 24 shuffles and eight stores per 64 values,
//! where the scalar loop does 64 stores), for `f64` 4×4.
//!
//! Part of the crate's SIMD code with `unsafe` (see `x86.rs`); the entry is
//! safe: it checks the CPU once and the slice extents before any raw access.
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m256, __m256d, _CMP_LT_OQ, _mm256_andnot_pd, _mm256_andnot_ps, _mm256_cmp_pd, _mm256_cmp_ps,
    _mm256_loadu_pd, _mm256_loadu_ps, _mm256_permute2f128_pd, _mm256_permute2f128_ps,
    _mm256_set1_pd, _mm256_set1_ps, _mm256_shuffle_ps, _mm256_storeu_pd, _mm256_storeu_ps,
    _mm256_unpackhi_pd, _mm256_unpackhi_ps, _mm256_unpacklo_pd, _mm256_unpacklo_ps,
};

use super::x86::has_avx;

/// Whether `lines` (each at least `steps` long, at most `r_total` of them)
/// and `steps` (a multiple of `block`) fit an output of `out_len` values
/// laid out as `steps` groups of `r_total`: what the transposes rely on.
fn fits<T>(lines: &[&[T]], steps: usize, block: usize, out_len: usize, r_total: usize) -> bool {
    lines.len() <= r_total
        && steps.is_multiple_of(block)
        && lines.iter().all(|l| l.len() >= steps)
        && steps.checked_mul(r_total).is_some_and(|n| n <= out_len)
}

/// Packs the steps `0..steps` (a multiple of 8) of `lines.len()` lines (at
/// most `r_total`; a last group of fewer than 8 lines is transposed with
/// zero lines and stored in part) into `out[p·r_total + i] = lines[i][p]`,
/// subnormals flushed to zero as `Elem::flush_subnormal` does. Returns
/// `false`, writing nothing, when the CPU lacks AVX or the sizes do not fit
/// (the caller then packs with the scalar loop).
pub(super) fn pack_transposed_f32(
    lines: &[&[f32]],
    steps: usize,
    out: &mut [f32],
    r_total: usize,
) -> bool {
    if !fits(lines, steps, 8, out.len(), r_total) || !has_avx() {
        return false;
    }
    // SAFETY: AVX is present (checked above); every line holds at least
    // `steps` values and `out` at least `steps·r_total`, with
    // `lines.len() <= r_total`, which is all `transpose_lines` reads and writes.
    unsafe { transpose_lines(lines, steps, out, r_total) };
    true
}

/// See [`pack_transposed_f32`], whose checks this relies on.
///
/// # Safety
/// The CPU supports AVX; `steps` is a multiple of 8; each line holds
/// `steps` values; `out` holds `steps·r_total` values and
/// `lines.len() <= r_total`.
#[target_feature(enable = "avx")]
unsafe fn transpose_lines(lines: &[&[f32]], steps: usize, out: &mut [f32], r_total: usize) {
    let tiny = _mm256_set1_ps(f32::MIN_POSITIVE);
    let sign = _mm256_set1_ps(-0.0);
    // |v| < MIN_POSITIVE (false for NaN) → 0, else v.
    let flush = |v: __m256| {
        let abs = _mm256_andnot_ps(sign, v);
        _mm256_andnot_ps(_mm256_cmp_ps::<_CMP_LT_OQ>(abs, tiny), v)
    };
    let dst = out.as_mut_ptr();
    // Stands in for the missing lines of a last, partial group (read with
    // stride 0: always these 8 zeros).
    let zeros = [0.0f32; 8];
    for (g, group) in lines.chunks(8).enumerate() {
        let len = group.len();
        let (src, step): ([*const f32; 8], [usize; 8]) = (
            std::array::from_fn(|i| group.get(i).map_or(zeros.as_ptr(), |l| l.as_ptr())),
            std::array::from_fn(|i| usize::from(i < len)),
        );
        for p0 in (0..steps).step_by(8) {
            // SAFETY: a line is read at p0..p0 + 8 <= steps <= its length;
            // a missing one at offset 0 of `zeros` (8 values).
            let r: [__m256; 8] =
                std::array::from_fn(|i| unsafe { _mm256_loadu_ps(src[i].add(p0 * step[i])) });
            let t0 = _mm256_unpacklo_ps(r[0], r[1]);
            let t1 = _mm256_unpackhi_ps(r[0], r[1]);
            let t2 = _mm256_unpacklo_ps(r[2], r[3]);
            let t3 = _mm256_unpackhi_ps(r[2], r[3]);
            let t4 = _mm256_unpacklo_ps(r[4], r[5]);
            let t5 = _mm256_unpackhi_ps(r[4], r[5]);
            let t6 = _mm256_unpacklo_ps(r[6], r[7]);
            let t7 = _mm256_unpackhi_ps(r[6], r[7]);
            let u0 = _mm256_shuffle_ps::<0x44>(t0, t2);
            let u1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
            let u2 = _mm256_shuffle_ps::<0x44>(t1, t3);
            let u3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
            let u4 = _mm256_shuffle_ps::<0x44>(t4, t6);
            let u5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
            let u6 = _mm256_shuffle_ps::<0x44>(t5, t7);
            let u7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
            let cols = [
                _mm256_permute2f128_ps::<0x20>(u0, u4),
                _mm256_permute2f128_ps::<0x20>(u1, u5),
                _mm256_permute2f128_ps::<0x20>(u2, u6),
                _mm256_permute2f128_ps::<0x20>(u3, u7),
                _mm256_permute2f128_ps::<0x31>(u0, u4),
                _mm256_permute2f128_ps::<0x31>(u1, u5),
                _mm256_permute2f128_ps::<0x31>(u2, u6),
                _mm256_permute2f128_ps::<0x31>(u3, u7),
            ];
            for (q, col) in cols.into_iter().enumerate() {
                let at = (p0 + q) * r_total + 8 * g;
                if len == 8 {
                    // SAFETY: at + 8 <= steps·r_total, as p0 + q < steps
                    // and 8g + 8 <= lines.len() <= r_total.
                    unsafe { _mm256_storeu_ps(dst.add(at), flush(col)) };
                } else {
                    let mut tmp = [0.0f32; 8];
                    // SAFETY: `tmp` holds 8 values; at + len <= steps·r_total,
                    // as p0 + q < steps and 8g + len = lines.len() <= r_total.
                    unsafe {
                        _mm256_storeu_ps(tmp.as_mut_ptr(), flush(col));
                        std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst.add(at), len);
                    }
                }
            }
        }
    }
}

/// [`pack_transposed_f32`] for `f64`, by 4×4 transposes (`steps` a multiple of 4).
pub(super) fn pack_transposed_f64(
    lines: &[&[f64]],
    steps: usize,
    out: &mut [f64],
    r_total: usize,
) -> bool {
    if !fits(lines, steps, 4, out.len(), r_total) || !has_avx() {
        return false;
    }
    // SAFETY: as in `pack_transposed_f32`: AVX is present, and the extents
    // `transpose_lines_f64` relies on were checked above.
    unsafe { transpose_lines_f64(lines, steps, out, r_total) };
    true
}

/// See [`pack_transposed_f64`], whose checks this relies on.
///
/// # Safety
/// The CPU supports AVX; `steps` is a multiple of 4; each line holds
/// `steps` values; `out` holds `steps·r_total` values and
/// `lines.len() <= r_total`.
#[target_feature(enable = "avx")]
unsafe fn transpose_lines_f64(lines: &[&[f64]], steps: usize, out: &mut [f64], r_total: usize) {
    let tiny = _mm256_set1_pd(f64::MIN_POSITIVE);
    let sign = _mm256_set1_pd(-0.0);
    let flush = |v: __m256d| {
        let abs = _mm256_andnot_pd(sign, v);
        _mm256_andnot_pd(_mm256_cmp_pd::<_CMP_LT_OQ>(abs, tiny), v)
    };
    let dst = out.as_mut_ptr();
    let zeros = [0.0f64; 4];
    for (g, group) in lines.chunks(4).enumerate() {
        let len = group.len();
        let (src, step): ([*const f64; 4], [usize; 4]) = (
            std::array::from_fn(|i| group.get(i).map_or(zeros.as_ptr(), |l| l.as_ptr())),
            std::array::from_fn(|i| usize::from(i < len)),
        );
        for p0 in (0..steps).step_by(4) {
            // SAFETY: a line is read at p0..p0 + 4 <= steps <= its length;
            // a missing one at offset 0 of `zeros` (4 values).
            let r: [__m256d; 4] =
                std::array::from_fn(|i| unsafe { _mm256_loadu_pd(src[i].add(p0 * step[i])) });
            let t0 = _mm256_unpacklo_pd(r[0], r[1]);
            let t1 = _mm256_unpackhi_pd(r[0], r[1]);
            let t2 = _mm256_unpacklo_pd(r[2], r[3]);
            let t3 = _mm256_unpackhi_pd(r[2], r[3]);
            let cols = [
                _mm256_permute2f128_pd::<0x20>(t0, t2),
                _mm256_permute2f128_pd::<0x20>(t1, t3),
                _mm256_permute2f128_pd::<0x31>(t0, t2),
                _mm256_permute2f128_pd::<0x31>(t1, t3),
            ];
            for (q, col) in cols.into_iter().enumerate() {
                let at = (p0 + q) * r_total + 4 * g;
                if len == 4 {
                    // SAFETY: at + 4 <= steps·r_total, as p0 + q < steps
                    // and 4g + 4 <= lines.len() <= r_total.
                    unsafe { _mm256_storeu_pd(dst.add(at), flush(col)) };
                } else {
                    let mut tmp = [0.0f64; 4];
                    // SAFETY: `tmp` holds 4 values; at + len <= steps·r_total,
                    // as p0 + q < steps and 4g + len = lines.len() <= r_total.
                    unsafe {
                        _mm256_storeu_pd(tmp.as_mut_ptr(), flush(col));
                        std::ptr::copy_nonoverlapping(tmp.as_ptr(), dst.add(at), len);
                    }
                }
            }
        }
    }
}
