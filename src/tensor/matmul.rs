//! Matrix products, with either operand optionally transposed.
//!
//! Transposes are never materialised: the kernel reads a transposed operand
//! through swapped strides. All four forms share [`Tensor::gemm`].

use crate::{Error, Result, Scalar, Tensor};

impl<T: Scalar> Tensor<T> {
    /// General matrix product `C ← alpha·op(A)·op(B) + beta·C`, where `op(X)` is
    /// `Xᵀ` when the matching flag is set.
    ///
    /// When `beta` is zero, `c` is given the result's shape (reusing its memory,
    /// so a buffer kept across calls is never reallocated) and overwritten.
    /// Otherwise `c` must already have the result's shape, and the product is
    /// accumulated into it, which is how gradients add up across a batch.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if an operand is not 2-D, [`Error::ShapeMismatch`]
    /// if the inner dimensions differ or `c` has the wrong shape with `beta ≠ 0`.
    pub fn gemm(
        alpha: T,
        a: &Self,
        transpose_a: bool,
        b: &Self,
        transpose_b: bool,
        beta: T,
        c: &mut Self,
    ) -> Result<()> {
        let op = match (transpose_a, transpose_b) {
            (false, false) => "matmul",
            (true, false) => "t_matmul",
            (false, true) => "matmul_t",
            (true, true) => "gemm",
        };
        let (ar, ac) = a.dims2(op)?;
        let (br, bc) = b.dims2(op)?;
        // op(A) is m×k, op(B) is k×n; strides read the stored layout.
        let (m, k, rsa, csa) = if transpose_a {
            (ac, ar, 1, ac)
        } else {
            (ar, ac, ac, 1)
        };
        let (k2, n, rsb, csb) = if transpose_b {
            (bc, br, 1, bc)
        } else {
            (br, bc, bc, 1)
        };
        if k != k2 {
            return Err(Error::shape_mismatch(
                op,
                a.shape(),
                b.shape(),
                "inner dimensions differ",
            ));
        }
        if beta == T::zero() {
            if c.shape() != [m, n] {
                c.resize_zeroed(&[m, n]);
            }
        } else if c.shape() != [m, n] {
            return Err(Error::shape_mismatch(
                op,
                &[m, n],
                c.shape(),
                "the accumulator must have the product's shape",
            ));
        }
        T::gemm(
            m,
            k,
            n,
            alpha,
            a.as_slice(),
            rsa,
            csa,
            b.as_slice(),
            rsb,
            csb,
            beta,
            c.as_mut_slice(),
            n,
        )
    }

    /// Matrix product `A·B` of an m×k and a k×n tensor.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if an operand is not 2-D, [`Error::ShapeMismatch`]
    /// if the inner dimensions differ: `matmul: left is 3×4, right is 5×2 (inner dimensions differ)`.
    pub fn matmul(&self, b: &Self) -> Result<Self> {
        let mut c = Tensor::default();
        Self::gemm(T::one(), self, false, b, false, T::zero(), &mut c)?;
        Ok(c)
    }

    /// `Aᵀ·B` of a k×m and a k×n tensor, without forming `Aᵀ` (a weight
    /// gradient `dW = dYᵀ·X` has this form).
    ///
    /// # Errors
    /// As for [`Tensor::matmul`].
    pub fn t_matmul(&self, b: &Self) -> Result<Self> {
        let mut c = Tensor::default();
        Self::gemm(T::one(), self, true, b, false, T::zero(), &mut c)?;
        Ok(c)
    }

    /// `A·Bᵀ` of an m×k and an n×k tensor, without forming `Bᵀ` (a dense
    /// layer's forward pass `Y = X·Wᵀ` has this form).
    ///
    /// # Errors
    /// As for [`Tensor::matmul`].
    pub fn matmul_t(&self, b: &Self) -> Result<Self> {
        let mut c = Tensor::default();
        Self::gemm(T::one(), self, false, b, true, T::zero(), &mut c)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn small_products_by_hand() {
        // [1 2; 3 4]·[5 6; 7 8] = [19 22; 43 50]
        let a = t(&[1.0, 2.0, 3.0, 4.0], &[2, 2]);
        let b = t(&[5.0, 6.0, 7.0, 8.0], &[2, 2]);
        assert_eq!(a.matmul(&b).unwrap().as_slice(), &[19.0, 22.0, 43.0, 50.0]);
        // Aᵀ·B = [1 3; 2 4]·B = [26 30; 38 44]
        assert_eq!(
            a.t_matmul(&b).unwrap().as_slice(),
            &[26.0, 30.0, 38.0, 44.0]
        );
        // A·Bᵀ = A·[5 7; 6 8] = [17 23; 39 53]
        assert_eq!(
            a.matmul_t(&b).unwrap().as_slice(),
            &[17.0, 23.0, 39.0, 53.0]
        );
        let mut c = t(&[1.0; 4], &[2, 2]);
        Tensor::gemm(2.0, &a, true, &b, true, 1.0, &mut c).unwrap();
        // (B·A)ᵀ = [23 34; 31 46]ᵀ → [23 31; 34 46]; 2·that + 1
        assert_eq!(c.as_slice(), &[47.0, 63.0, 69.0, 93.0]);
    }

    #[test]
    fn vectors_and_empty_dimensions() {
        let row = t(&[1.0, 2.0, 3.0], &[1, 3]);
        let col = t(&[4.0, 5.0, 6.0], &[3, 1]);
        assert_eq!(row.matmul(&col).unwrap().as_slice(), &[32.0]);
        let outer = col.matmul(&row).unwrap();
        assert_eq!(outer.shape(), &[3, 3]);
        assert_eq!(outer.as_slice()[8], 18.0);
        let e = Tensor::<f64>::zeros(&[2, 0]).unwrap();
        let f = Tensor::<f64>::zeros(&[0, 3]).unwrap();
        let z = e.matmul(&f).unwrap();
        assert_eq!(z.shape(), &[2, 3]);
        assert!(z.as_slice().iter().all(|&x| x == 0.0));
        assert_eq!(
            f.matmul(&Tensor::zeros(&[3, 2]).unwrap()).unwrap().shape(),
            &[0, 2]
        );
    }

    #[test]
    fn errors_name_the_shapes() {
        let a = Tensor::<f32>::zeros(&[3, 4]).unwrap();
        let b = Tensor::<f32>::zeros(&[5, 2]).unwrap();
        assert_eq!(
            a.matmul(&b).unwrap_err().to_string(),
            "matmul: left is 3×4, right is 5×2 (inner dimensions differ)"
        );
        assert!(
            a.t_matmul(&b)
                .unwrap_err()
                .to_string()
                .starts_with("t_matmul")
        );
        assert!(
            a.matmul_t(&b)
                .unwrap_err()
                .to_string()
                .starts_with("matmul_t")
        );
        let v = Tensor::<f32>::zeros(&[4]).unwrap();
        assert!(matches!(a.matmul(&v), Err(Error::InvalidShape { .. })));
        assert!(matches!(v.matmul(&a), Err(Error::InvalidShape { .. })));
        let sq = Tensor::<f32>::zeros(&[4, 4]).unwrap();
        let mut wrong = Tensor::<f32>::zeros(&[2, 2]).unwrap();
        let err = Tensor::gemm(1.0, &a, false, &sq, false, 1.0, &mut wrong).unwrap_err();
        assert!(err.to_string().contains("accumulator"));
    }

    #[test]
    fn beta_zero_overwrites_nan() {
        let a = t(&[1.0, 2.0], &[1, 2]);
        let b = t(&[3.0, 4.0], &[2, 1]);
        let mut c = t(&[f64::NAN], &[1, 1]);
        Tensor::gemm(1.0, &a, false, &b, false, 0.0, &mut c).unwrap();
        assert_eq!(c.as_slice(), &[11.0]);
    }
}
