//! Property tests for the tensor algebra, in f32 and f64.

use approx::relative_eq;
use proptest::prelude::*;
use weightwise::Tensor;

/// Naive `A·B` accumulated in f64, the reference every kernel is held to.
fn naive(a: &[f64], b: &[f64], m: usize, k: usize, n: usize) -> Vec<f64> {
    let mut c = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
        }
    }
    c
}

fn matrix(max: usize) -> impl Strategy<Value = (usize, usize, Vec<f64>)> {
    (0..=max, 0..=max).prop_flat_map(|(r, c)| {
        (
            Just(r),
            Just(c),
            proptest::collection::vec(-1.0f64..1.0, r * c),
        )
    })
}

/// `|c − ref| ≤ tol·Σ|aᵢₚ·bₚⱼ|` per element: the standard forward error bound
/// of a dot product, with `tol` a small multiple of k·ε.
fn close_to_reference<T: weightwise::Scalar>(
    got: &Tensor<T>,
    a: &[f64],
    b: &[f64],
    m: usize,
    k: usize,
    n: usize,
) -> bool {
    let reference = naive(a, b, m, k, n);
    let abs_a: Vec<f64> = a.iter().map(|x| x.abs()).collect();
    let abs_b: Vec<f64> = b.iter().map(|x| x.abs()).collect();
    let scale = naive(&abs_a, &abs_b, m, k, n);
    let eps = T::epsilon().as_f64();
    let tol = 4.0 * (k as f64 + 2.0) * eps;
    got.shape() == [m, n]
        && got
            .as_slice()
            .iter()
            .zip(&reference)
            .zip(&scale)
            .all(|((&g, &r), &s)| (g.as_f64() - r).abs() <= tol * s + f64::MIN_POSITIVE)
}

macro_rules! props_for {
    ($modname:ident, $t:ty) => {
        mod $modname {
            use super::*;

            fn tensor(r: usize, c: usize, v: &[f64]) -> Tensor<$t> {
                Tensor::from_vec(v.iter().map(|&x| x as $t).collect(), &[r, c]).unwrap()
            }

            fn as_f64(t: &Tensor<$t>) -> Vec<f64> {
                t.as_slice().iter().map(|&x| f64::from(x)).collect()
            }

            proptest! {
                #[test]
                fn matmul_matches_naive(
                    (m, k, av) in matrix(40),
                    n in 0usize..40,
                    seed in proptest::collection::vec(-1.0f64..1.0, 40 * 40),
                ) {
                    let a = tensor(m, k, &av);
                    let bv = &seed[..k * n];
                    let b = tensor(k, n, bv);
                    let c = a.matmul(&b).unwrap();
                    prop_assert!(close_to_reference(&c, &as_f64(&a), &as_f64(&b), m, k, n));
                    // The transposed forms agree with explicit transposes.
                    let at = a.transpose().unwrap();
                    let bt = b.transpose().unwrap();
                    prop_assert!(close_to_reference(&at.t_matmul(&b).unwrap(), &as_f64(&a), &as_f64(&b), m, k, n));
                    prop_assert!(close_to_reference(&a.matmul_t(&bt).unwrap(), &as_f64(&a), &as_f64(&b), m, k, n));
                }

                #[test]
                fn transpose_of_product((m, k, av) in matrix(20), n in 0usize..20,
                    bv in proptest::collection::vec(-1.0f64..1.0, 400)) {
                    // (AB)ᵀ = BᵀAᵀ
                    let a = tensor(m, k, &av);
                    let b = tensor(k, n, &bv[..k * n]);
                    let left = a.matmul(&b).unwrap().transpose().unwrap();
                    let right = b.transpose().unwrap().matmul(&a.transpose().unwrap()).unwrap();
                    let tol = 8.0 * (k as $t + 1.0) * <$t>::EPSILON;
                    prop_assert!(relative_eq!(left, right, epsilon = tol, max_relative = tol));
                }

                #[test]
                fn distributivity((m, k, av) in matrix(16), n in 0usize..16,
                    bv in proptest::collection::vec(-1.0f64..1.0, 256),
                    cv in proptest::collection::vec(-1.0f64..1.0, 256)) {
                    // A(B + C) = AB + AC within rounding
                    let a = tensor(m, k, &av);
                    let b = tensor(k, n, &bv[..k * n]);
                    let c = tensor(k, n, &cv[..k * n]);
                    let left = a.matmul(&b.add(&c).unwrap()).unwrap();
                    let right = a.matmul(&b).unwrap().add(&a.matmul(&c).unwrap()).unwrap();
                    let tol = 16.0 * (k as $t + 1.0) * <$t>::EPSILON;
                    prop_assert!(relative_eq!(left, right, epsilon = tol, max_relative = tol));
                }

                #[test]
                fn reshape_round_trip((r, c, v) in matrix(12)) {
                    let t = tensor(r, c, &v);
                    let back = t.clone().reshape(&[r * c]).unwrap().reshape(&[r, c]).unwrap();
                    prop_assert_eq!(&back, &t);
                    prop_assert_eq!(t.transpose().unwrap().transpose().unwrap(), t.clone());
                    prop_assert!(t.clone().reshape(&[r * c + 1]).is_err());
                }

                #[test]
                fn sums_agree((r, c, v) in matrix(12)) {
                    let t = tensor(r, c, &v);
                    let total = t.sum();
                    let by_rows = t.sum_axis(1).unwrap().sum();
                    let by_cols = t.sum_axis(0).unwrap().sum();
                    let tol = 1e-4 as $t * (1.0 + t.norm_l1());
                    prop_assert!((total - by_rows).abs() <= tol);
                    prop_assert!((total - by_cols).abs() <= tol);
                    prop_assert!(t.norm_l2() <= t.norm_l1() + tol);
                    prop_assert!(t.max_abs() <= t.norm_l2() + tol);
                }
            }
        }
    };
}

props_for!(f32_props, f32);
props_for!(f64_props, f64);
