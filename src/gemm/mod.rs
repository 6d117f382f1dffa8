//! The matrix-product kernel behind [`Tensor::matmul`](crate::Tensor::matmul).
//!
//! `C ← alpha·op(A)·op(B) + beta·C` on strided slices: A is m×k reached as
//! `a[i*rsa + p*csa]`, B is k×n as `b[p*rsb + j*csb]`, C is m×n row-major with
//! row stride `rsc`. A transposed operand is the same slice with its strides
//! swapped, so no transpose is ever materialised. When `beta == 0`, C is
//! overwritten (NaNs already in C do not propagate), as in BLAS.

macro_rules! reference_gemm {
    ($name:ident, $t:ty) => {
        /// Strided `C ← alpha·op(A)·op(B) + beta·C` (see the module docs).
        #[allow(clippy::too_many_arguments)]
        pub(crate) fn $name(
            m: usize,
            k: usize,
            n: usize,
            alpha: $t,
            a: &[$t],
            rsa: usize,
            csa: usize,
            b: &[$t],
            rsb: usize,
            csb: usize,
            beta: $t,
            c: &mut [$t],
            rsc: usize,
        ) {
            for i in 0..m {
                let row = &mut c[i * rsc..i * rsc + n];
                if beta == 0.0 {
                    row.fill(0.0);
                } else if beta != 1.0 {
                    row.iter_mut().for_each(|x| *x *= beta);
                }
                for p in 0..k {
                    let aip = alpha * a[i * rsa + p * csa];
                    for (j, cij) in row.iter_mut().enumerate() {
                        *cij += aip * b[p * rsb + j * csb];
                    }
                }
            }
        }
    };
}

reference_gemm!(gemm_f32, f32);
reference_gemm!(gemm_f64, f64);
