//! Portable micro-kernel: plain safe Rust written so that LLVM keeps the
//! accumulator tile in vector registers and vectorises the inner loops for
//! whatever SIMD the compilation target has (SSE2 on baseline x86-64, NEON on
//! AArch64).

use super::Elem;

/// Rows of the portable f32 register tile.
pub(super) const MR_F32: usize = 6;
/// Columns of the portable f32 register tile.
pub(super) const NR_F32: usize = 8;
/// Rows of the portable f64 register tile.
pub(super) const MR_F64: usize = 6;
/// Columns of the portable f64 register tile.
pub(super) const NR_F64: usize = 4;

/// Generic MR×NR tile: `C ← alpha·A·B + beta·C` (C not read when `beta == 0`).
///
/// Same contract as [`super::KernelFn`]: `a` holds `kc` groups of `MR` values,
/// `b` holds `kc` groups of `NR` values, `c` starts at the tile's top-left
/// element and has row stride `rsc`.
pub(super) fn kernel<T: Elem, const MR: usize, const NR: usize>(
    kc: usize,
    alpha: T,
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut [T],
    rsc: usize,
) {
    let fits = |len: usize, need: Option<usize>| need.is_some_and(|x| len >= x);
    assert!(fits(a.len(), kc.checked_mul(MR)) && fits(b.len(), kc.checked_mul(NR)));
    assert!(
        rsc >= NR
            && fits(
                c.len(),
                rsc.checked_mul(MR - 1).and_then(|x| x.checked_add(NR))
            )
    );
    let mut acc = [[T::ZERO; NR]; MR];
    for (ak, bk) in a.chunks_exact(MR).zip(b.chunks_exact(NR)).take(kc) {
        let ak: &[T; MR] = ak.try_into().expect("chunk of MR");
        let bk: &[T; NR] = bk.try_into().expect("chunk of NR");
        for (row, &ai) in acc.iter_mut().zip(ak) {
            for (x, &bj) in row.iter_mut().zip(bk) {
                *x = *x + ai * bj;
            }
        }
    }
    for (i, row) in acc.iter().enumerate() {
        let ci: &mut [T; NR] = (&mut c[i * rsc..i * rsc + NR])
            .try_into()
            .expect("row of NR");
        if beta == T::ZERO {
            for (cij, &x) in ci.iter_mut().zip(row) {
                *cij = alpha * x;
            }
        } else {
            for (cij, &x) in ci.iter_mut().zip(row) {
                *cij = alpha * x + beta * *cij;
            }
        }
    }
}
