//! Sanity: every optimizer minimises a convex quadratic.
//!
//! f(w) = ½‖A·w − b‖² with A = [[2, 1], [1, 3], [0, 1]] and b = A·w*, where
//! w* = [1, −2], so b = [0, −5, −2] and the minimum f(w*) = 0 is unique
//! (AᵀA = [[5, 5], [5, 11]] has eigenvalues 8 ± √34 ≈ 2.17 and 13.83).
//! The gradient is ∇f = Aᵀ(A·w − b).

use super::test_util::{for_f32_and_f64, param};
use super::{AdaGrad, Adam, AdamW, Algorithm, GradientDescent, Optimizer, RmsProp, Sgd};
use crate::{Scalar, Tensor};

const A: [[f64; 2]; 3] = [[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]];
const W_STAR: [f64; 2] = [1.0, -2.0];

fn gradient<T: Scalar>(w: &Tensor<T>, grad: &mut Tensor<T>) {
    let w = [w.as_slice()[0].as_f64(), w.as_slice()[1].as_f64()];
    let mut g = [0.0; 2];
    for row in A {
        let b = row[0] * W_STAR[0] + row[1] * W_STAR[1];
        let r = row[0] * w[0] + row[1] * w[1] - b;
        g[0] += row[0] * r;
        g[1] += row[1] * r;
    }
    for (dst, src) in grad.as_mut_slice().iter_mut().zip(g) {
        *dst = T::from_f64(src);
    }
}

/// Runs `steps` steps from w = [0, 0] and returns ‖w − w*‖.
fn distance_after<T: Scalar>(alg: Algorithm, steps: usize) -> f64 {
    let mut opt = GradientDescent::<T>::new(alg).unwrap();
    let mut p = param::<T>(&[0.0, 0.0]);
    for _ in 0..steps {
        gradient(&p.value, &mut p.grad);
        opt.step(&mut [&mut p]).unwrap();
    }
    let w = p.value.as_slice();
    ((w[0].as_f64() - W_STAR[0]).powi(2) + (w[1].as_f64() - W_STAR[1]).powi(2)).sqrt()
}

fn every_optimizer_converges<T: Scalar>() {
    let cases: [(Algorithm, usize, f64); 10] = [
        (
            Sgd {
                lr: 0.05,
                ..Default::default()
            }
            .into(),
            500,
            1e-5,
        ),
        (
            Sgd {
                lr: 0.01,
                momentum: 0.9,
                ..Default::default()
            }
            .into(),
            500,
            1e-5,
        ),
        (
            Sgd {
                lr: 0.01,
                momentum: 0.9,
                nesterov: true,
                ..Default::default()
            }
            .into(),
            500,
            1e-5,
        ),
        (
            Adam {
                lr: 0.01,
                ..Default::default()
            }
            .into(),
            3000,
            1e-4,
        ),
        (
            Adam {
                lr: 0.01,
                amsgrad: true,
                ..Default::default()
            }
            .into(),
            3000,
            1e-4,
        ),
        // Decoupled decay pulls towards 0, so the optimum shifts a little.
        (
            AdamW {
                lr: 0.01,
                weight_decay: 1e-3,
                ..Default::default()
            }
            .into(),
            3000,
            2e-3,
        ),
        // Plain RMSprop ends oscillating with an amplitude of about lr.
        (
            RmsProp {
                lr: 1e-3,
                ..Default::default()
            }
            .into(),
            5000,
            2e-3,
        ),
        (
            RmsProp {
                lr: 1e-3,
                centered: true,
                momentum: 0.5,
                ..Default::default()
            }
            .into(),
            5000,
            1e-5,
        ),
        (
            AdaGrad {
                lr: 0.5,
                ..Default::default()
            }
            .into(),
            3000,
            1e-5,
        ),
        (
            AdaGrad {
                lr: 0.5,
                lr_decay: 1e-3,
                ..Default::default()
            }
            .into(),
            3000,
            1e-5,
        ),
    ];
    for (alg, steps, tol) in cases {
        let d = distance_after::<T>(alg, steps);
        assert!(d < tol, "{alg:?}: ‖w − w*‖ = {d} after {steps} steps");
    }
}

for_f32_and_f64!(every_optimizer_converges);
