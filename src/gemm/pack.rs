//! Packing of operand slivers into the contiguous layout the micro-kernels read.
//!
//! A *sliver* is `R` consecutive rows of A (R = MR) or `R` consecutive columns
//! of B (R = NR) over `kc` steps of the shared dimension. Packed, it is `kc`
//! groups of `R` values: `out[p*R + r] = src[r*rs + p*cs]`, zero-padded when
//! fewer than `R` rows/columns remain, so the kernel always sees a full tile.
//!
//! For A, `rs`/`cs` are A's row/column strides; for B they are B's column/row
//! strides (a column sliver of B is a row sliver of Bᵀ).
//!
//! Packing flushes subnormal values to zero (see the module docs of `gemm`).

use super::Elem;

/// Packs one sliver of `r <= R` valid lines over `kc` steps.
///
/// `src` starts at the sliver's first element; line `i` at step `p` is
/// `src[i*rs + p*cs]`. `out` must hold at least `kc*R` values; lines `r..R`
/// of every group are zero-filled.
pub(super) fn pack_sliver<T: Elem, const R: usize>(
    r: usize,
    kc: usize,
    src: &[T],
    rs: usize,
    cs: usize,
    out: &mut [T],
) {
    debug_assert!(r >= 1 && r <= R && kc >= 1);
    debug_assert!(src.len() > (r - 1) * rs + (kc - 1) * cs);
    let out = &mut out[..kc * R];
    if r == R && rs == 1 {
        copy_groups::<T, R>(src, cs, out);
    } else if r == R && cs == 1 {
        // Each line is contiguous along k: a transpose of R lines. Done in
        // blocks of `P` steps (`P·R` values, in L1), reading `P` contiguous
        // values of each line at a time (vector loads) rather than one
        // value of each of the R streams per step.
        const P: usize = 8;
        let lines: [&[T]; R] = std::array::from_fn(|i| &src[i * rs..i * rs + kc]);
        let full = kc / P * P;
        if T::pack_transposed(&lines, full, out, R) {
            for (p, dst) in (full..).zip(out[full * R..].chunks_exact_mut(R)) {
                for (d, line) in dst.iter_mut().zip(&lines) {
                    *d = line[p].flush_subnormal();
                }
            }
            return;
        }
        let (head, tail) = out.split_at_mut(full * R);
        for (pb, dst) in head.chunks_exact_mut(P * R).enumerate() {
            let p0 = pb * P;
            for (i, line) in lines.iter().enumerate() {
                let v: &[T; P] = line[p0..p0 + P].try_into().expect("P values");
                for (q, &x) in v.iter().enumerate() {
                    dst[q * R + i] = x.flush_subnormal();
                }
            }
        }
        for (p, dst) in (full..).zip(tail.chunks_exact_mut(R)) {
            for (d, line) in dst.iter_mut().zip(&lines) {
                *d = line[p].flush_subnormal();
            }
        }
    } else {
        for (p, dst) in out.chunks_exact_mut(R).enumerate() {
            for (i, d) in dst.iter_mut().enumerate() {
                *d = if i < r {
                    src[i * rs + p * cs].flush_subnormal()
                } else {
                    T::ZERO
                };
            }
        }
    }
}

/// The `R` values of each step are contiguous: copies them group by group
/// (`out[p·R + i] = src[p·cs + i]`), subnormals flushed. Compiled for
/// AVX-512F or AVX2 where the CPU has them (the crate is built for baseline
/// x86-64, where the flush takes four values per instruction).
#[allow(unsafe_code)]
fn copy_groups<T: Elem, const R: usize>(src: &[T], cs: usize, out: &mut [T]) {
    #[cfg(target_arch = "x86_64")]
    {
        if super::x86::has_avx512f() {
            // SAFETY: the CPU supports AVX-512F, checked just above; the
            // function has no other requirement.
            return unsafe { copy_groups_avx512::<T, R>(src, cs, out) };
        }
        if super::x86::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2, checked just above; the
            // function has no other requirement.
            return unsafe { copy_groups_avx2::<T, R>(src, cs, out) };
        }
    }
    copy_groups_portable::<T, R>(src, cs, out);
}

/// [`copy_groups_portable`] compiled for AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn copy_groups_avx512<T: Elem, const R: usize>(src: &[T], cs: usize, out: &mut [T]) {
    copy_groups_portable::<T, R>(src, cs, out);
}

/// [`copy_groups_portable`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn copy_groups_avx2<T: Elem, const R: usize>(src: &[T], cs: usize, out: &mut [T]) {
    copy_groups_portable::<T, R>(src, cs, out);
}

/// See [`copy_groups`]; `out` holds whole groups.
#[inline(always)]
fn copy_groups_portable<T: Elem, const R: usize>(src: &[T], cs: usize, out: &mut [T]) {
    for (p, dst) in out.chunks_exact_mut(R).enumerate() {
        let s: &[T; R] = src[p * cs..p * cs + R].try_into().expect("R values");
        for (d, &x) in dst.iter_mut().zip(s) {
            *d = x.flush_subnormal();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Elem, pack_sliver};

    /// Subnormal inputs are packed as zero; NaN, infinities and normals pass.
    #[test]
    fn pack_flushes_subnormals_only() {
        let src = [
            1e-39f32,
            -1e-40,
            f32::MIN_POSITIVE,
            f32::NAN,
            f32::INFINITY,
            -2.0,
            0.0,
            1e-45,
        ];
        for (rs, cs) in [(1usize, 4usize), (2, 1)] {
            let mut out = [9.0f32; 8];
            pack_sliver::<f32, 4>(4, 2, &src, rs, cs, &mut out);
            let flushed = out.iter().filter(|x| **x == 0.0).count();
            assert_eq!(flushed, 4, "{out:?}");
            assert!(out.iter().any(|x| x.is_nan()) && out.contains(&f32::INFINITY));
            assert!(out.contains(&f32::MIN_POSITIVE) && out.contains(&-2.0));
        }
    }

    /// Every branch of `pack_sliver` produces `out[p*R + i] = src[i*rs + p*cs]`.
    #[test]
    fn pack_matches_definition() {
        let src: Vec<f64> = (0..400).map(f64::from).collect();
        for &(r, kc, rs, cs) in &[
            (4usize, 7usize, 1usize, 9usize),
            (4, 7, 9, 1),
            // The blocked transpose: whole blocks of steps, then a tail.
            (4, 8, 9, 1),
            (4, 21, 23, 1),
            (4, 7, 3, 11),
            (3, 5, 1, 9),
            (2, 6, 13, 1),
            (1, 1, 1, 1),
        ] {
            let mut out = vec![f64::NAN; kc * 4];
            pack_sliver::<f64, 4>(r, kc, &src, rs, cs, &mut out);
            for p in 0..kc {
                for i in 0..4 {
                    let want = if i < r { src[i * rs + p * cs] } else { 0.0 };
                    assert_eq!(out[p * 4 + i], want, "r={r} kc={kc} rs={rs} cs={cs}");
                }
            }
        }
    }

    /// Packs `R` lines of `kc` values made by `value(i)` (`i` the index in
    /// the source, lines `kc + 3` apart) with the transposing branch and
    /// checks every packed value against the definition, NaN as NaN.
    fn check_transposed<T: Elem + std::fmt::Debug, const R: usize>(
        kc: usize,
        value: impl Fn(usize) -> T,
    ) {
        let rs = kc + 3;
        let src: Vec<T> = (0..R * rs).map(value).collect();
        let mut out = vec![T::ONE; kc * R];
        pack_sliver::<T, R>(R, kc, &src, rs, 1, &mut out);
        for p in 0..kc {
            for i in 0..R {
                let (got, want) = (out[p * R + i], src[i * rs + p].flush_subnormal());
                #[allow(clippy::eq_op)] // x != x: NaN
                let both_nan = got != got && want != want;
                assert!(
                    got == want || both_nan,
                    "R={R} kc={kc} p={p} i={i}: {got:?} vs {want:?}"
                );
            }
        }
    }

    /// The transposing branch (AVX shuffles where the CPU has them: 8×8 for
    /// `f32`, 4×4 for `f64`) equals the definition, subnormals flushed, NaN
    /// and infinities kept, for the kernels' sliver widths and partial
    /// groups of lines, whole blocks of steps and a tail.
    #[test]
    fn transposed_pack_matches_definition() {
        let f32s = [
            1e-40f32,
            -1e-39,
            f32::NAN,
            f32::INFINITY,
            -0.0,
            f32::MIN_POSITIVE,
        ];
        let f64s = [
            1e-310f64,
            -1e-309,
            f64::NAN,
            f64::INFINITY,
            -0.0,
            f64::MIN_POSITIVE,
        ];
        let v32 = |i: usize| {
            if i % 11 < 6 {
                f32s[i % 11]
            } else {
                i as f32 * 0.5 - 7.0
            }
        };
        let v64 = |i: usize| {
            if i % 9 < 6 {
                f64s[i % 9]
            } else {
                i as f64 * 0.25 - 3.0
            }
        };
        for kc in [8, 21, 256, 3] {
            check_transposed::<f32, 6>(kc, v32);
            check_transposed::<f32, 8>(kc, v32);
            check_transposed::<f32, 12>(kc, v32);
            check_transposed::<f32, 16>(kc, v32);
            check_transposed::<f32, 32>(kc, v32);
            check_transposed::<f64, 6>(kc, v64);
            check_transposed::<f64, 8>(kc, v64);
            check_transposed::<f64, 24>(kc, v64);
        }
    }
}
