#![allow(clippy::needless_range_loop)] // index arithmetic mirrors the formulas

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use super::*;
use crate::gradcheck::GradCheck;
use crate::inspect::occlusion::{Occlusion, occlusion};
use crate::layer::dense::Dense;
use crate::{Activation, Init, Layer};

/// y = W·x + b with W = [[2, −3, 0.5], [−1, 4, 2]], b = [1, −2].
fn linear<T: Scalar>() -> Network<T> {
    let mut net = Network::new(3).unwrap();
    let w: Tensor<f64> = Tensor::from_rows(&[[2.0, -3.0, 0.5], [-1.0, 4.0, 2.0]]).unwrap();
    let b = Tensor::from_slice(&[1.0, -2.0]);
    net.push(Box::new(
        Dense::from_weights(w.cast(), Some(b.cast())).unwrap(),
    ))
    .unwrap();
    net
}

const W: [[f64; 3]; 2] = [[2.0, -3.0, 0.5], [-1.0, 4.0, 2.0]];

/// A smooth network with every kind of layer the gradient passes through:
/// 4 → 6 tanh → BatchNorm (eval) → 5 softplus → Dropout (eval) → 3 sigmoid.
fn smooth(seed: u64) -> Network<f64> {
    let mut net = Network::<f64>::builder(4)
        .dense(6, Init::xavier_normal())
        .tanh()
        .batch_norm()
        .dense(5, Init::he_normal())
        .activation(Activation::softplus())
        .dropout(0.3)
        .dense(3, Init::xavier_normal())
        .sigmoid()
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap();
    // Give batch norm non-trivial running statistics.
    let x = random(&[16, 4], 9);
    for _ in 0..3 {
        net.forward(&x, Mode::Train).unwrap();
    }
    net
}

fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
    let d = Uniform::new(-1.5, 1.5).unwrap();
    Tensor::random(shape, &d, &mut StdRng::seed_from_u64(seed)).unwrap()
}

/// `Σᵢ y[i, tᵢ]` for the batch `x`: its gradient is the stacked saliency.
fn summed_target(net: &mut Network<f64>, x: &Tensor<f64>, targets: &[usize]) -> Result<f64> {
    let y = net.forward(x, Mode::Eval)?;
    let k = y.shape()[1];
    Ok(targets
        .iter()
        .enumerate()
        .map(|(i, &t)| y.as_slice()[i * k + t])
        .sum())
}

#[test]
fn saliency_matches_finite_differences() {
    let mut net = smooth(1);
    let x = random(&[5, 4], 2);
    for target in [vec![0; 5], vec![2; 5], vec![0, 1, 2, 1, 0]] {
        let g = saliency(&mut net, &x, &target).unwrap();
        let r = GradCheck::default()
            .function(|xp| summed_target(&mut net, xp, &target), &x, &g)
            .unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
        assert_eq!(r.checked, 20);
    }
}

#[test]
fn relu_network_saliency_matches_finite_differences() {
    // Away from kinks (|pre-activation| ≫ h), a ReLU network is checked too.
    let mut net = Network::<f64>::builder(6)
        .dense(8, Init::he_normal())
        .relu()
        .dense(4, Init::he_normal())
        .leaky_relu(0.1)
        .dense(3, Init::xavier_normal())
        .build(&mut StdRng::seed_from_u64(4))
        .unwrap();
    let x = random(&[4, 6], 5);
    let g = saliency(&mut net, &x, 1).unwrap();
    let r = GradCheck::default()
        .function(|xp| summed_target(&mut net, xp, &[1; 4]), &x, &g)
        .unwrap();
    assert!(r.max_rel_error < 1e-6, "{r}");
}

#[test]
fn integrated_gradients_matches_finite_difference_path_sum() {
    // Each gradient IG sums is checked against central differences, then
    // the sum is rebuilt from those numeric gradients independently.
    let mut net = smooth(3);
    let x = random(&[3, 4], 6);
    let b = random(&[1, 4], 7);
    let steps = 7;
    let ig = integrated_gradients(
        &mut net,
        &x,
        &b,
        2,
        &IntegratedGradients {
            steps,
            rule: Riemann::Right,
        },
    )
    .unwrap();
    let h = 1e-5;
    let mut want = vec![0.0; 12];
    for k in 1..=steps {
        let alpha = k as f64 / steps as f64;
        let point = Tensor::from_vec(
            (0..12)
                .map(|j| b.as_slice()[j % 4] + alpha * (x.as_slice()[j] - b.as_slice()[j % 4]))
                .collect(),
            &[3, 4],
        )
        .unwrap();
        for j in 0..12 {
            let mut p = point.clone();
            p.as_mut_slice()[j] += h;
            let plus = summed_target(&mut net, &p, &[2; 3]).unwrap();
            p.as_mut_slice()[j] -= 2.0 * h;
            let minus = summed_target(&mut net, &p, &[2; 3]).unwrap();
            want[j] +=
                (plus - minus) / (2.0 * h) / steps as f64 * (x.as_slice()[j] - b.as_slice()[j % 4]);
        }
    }
    for (g, w) in ig.values.as_slice().iter().zip(&want) {
        assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-3), "{g} vs {w}");
    }
}

#[test]
fn linear_model_closed_forms() {
    let mut net = linear::<f64>();
    let x = Tensor::from_rows(&[[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]]).unwrap();
    let base = Tensor::from_rows(&[[0.25, -1.0, 0.0]]).unwrap();
    for k in 0..2 {
        let s = saliency(&mut net, &x, k).unwrap();
        let gx = gradient_times_input(&mut net, &x, k).unwrap();
        assert_eq!(s.shape(), &[2, 3]);
        for i in 0..2 {
            for j in 0..3 {
                assert_eq!(s.as_slice()[i * 3 + j], W[k][j]);
                assert_eq!(gx.as_slice()[i * 3 + j], W[k][j] * x.as_slice()[i * 3 + j]);
            }
        }
        // SmoothGrad of a linear model is its constant gradient.
        let sg = smooth_grad(&mut net, &x, k, &SmoothGrad::default()).unwrap();
        for (v, j) in sg.as_slice().iter().zip(0..) {
            assert!((v - W[k][j % 3]).abs() < 1e-12);
        }
        // IG = (x − x')·w for every rule and any number of steps; complete.
        for rule in [
            Riemann::Left,
            Riemann::Right,
            Riemann::Midpoint,
            Riemann::Trapezoid,
        ] {
            for steps in [2, 5, 50] {
                let ig = integrated_gradients(
                    &mut net,
                    &x,
                    &base,
                    k,
                    &IntegratedGradients { steps, rule },
                )
                .unwrap();
                for (j, v) in ig.values.as_slice().iter().enumerate() {
                    let want = (x.as_slice()[j] - base.as_slice()[j % 3]) * W[k][j % 3];
                    assert!((v - want).abs() < 1e-12, "{rule:?} {steps}: {v} vs {want}");
                }
                assert!(ig.residual.iter().all(|r| r.abs() < 1e-12));
                assert!(ig.max_relative_residual() < 1e-12);
                // f(x) and f(x') are reported.
                let fx: f64 =
                    (0..3).map(|j| W[k][j] * x.as_slice()[j]).sum::<f64>() + [1.0, -2.0][k];
                assert!((ig.output[0] - fx).abs() < 1e-12);
            }
        }
        // Occlusion with 1×1 patches filled with c removes wⱼ·(xⱼ − c).
        let o = Occlusion {
            image: Some([1, 1, 3]),
            patch: (1, 1),
            fill: 0.5,
            ..Default::default()
        };
        let occ = occlusion(&mut net, &x, k, &o).unwrap();
        for (j, v) in occ.as_slice().iter().enumerate() {
            let want = W[k][j % 3] * (x.as_slice()[j] - 0.5);
            assert!((v - want).abs() < 1e-12);
        }
    }
}

#[test]
fn one_input_tanh_by_hand() {
    // f(x) = tanh(x): IG by a rule is (x − x')·Σ wₖ·sech²(x' + αₖ(x − x')),
    // and the exact integral is tanh(x) − tanh(x').
    let mut net = Network::<f64>::new(1).unwrap();
    net.push(Box::new(
        Dense::from_weights(Tensor::from_rows(&[[1.0]]).unwrap(), None).unwrap(),
    ))
    .unwrap();
    net.push(Box::new(Activation::tanh())).unwrap();
    let (x, b) = (1.7, -0.4);
    let xt = Tensor::from_rows(&[[x]]).unwrap();
    let bt = Tensor::from_rows(&[[b]]).unwrap();
    let sech2 = |v: f64| 1.0 - v.tanh().powi(2);
    for rule in [
        Riemann::Left,
        Riemann::Right,
        Riemann::Midpoint,
        Riemann::Trapezoid,
    ] {
        let m = 10usize;
        let ig = integrated_gradients(
            &mut net,
            &xt,
            &bt,
            0,
            &IntegratedGradients { steps: m, rule },
        )
        .unwrap();
        let mf = m as f64;
        let sum: f64 = (0..m)
            .map(|k| {
                let k = k as f64;
                let (a, w) = match rule {
                    Riemann::Left => (k / mf, 1.0 / mf),
                    Riemann::Right => ((k + 1.0) / mf, 1.0 / mf),
                    Riemann::Midpoint => ((k + 0.5) / mf, 1.0 / mf),
                    Riemann::Trapezoid => {
                        let w = 1.0 / (mf - 1.0);
                        (
                            k / (mf - 1.0),
                            if k == 0.0 || k == mf - 1.0 {
                                w / 2.0
                            } else {
                                w
                            },
                        )
                    }
                };
                w * sech2(b + a * (x - b))
            })
            .sum();
        let want = (x - b) * sum;
        assert!((ig.values.as_slice()[0] - want).abs() < 1e-14, "{rule:?}");
        assert!((ig.residual[0] - (want - (x.tanh() - b.tanh()))).abs() < 1e-14);
    }
    // Converging to completeness: midpoint error shrinks ~ 1/m².
    let mut err = |steps| {
        integrated_gradients(
            &mut net,
            &xt,
            &bt,
            0,
            &IntegratedGradients {
                steps,
                rule: Riemann::Midpoint,
            },
        )
        .unwrap()
        .residual[0]
            .abs()
    };
    let (e10, e100) = (err(10), err(100));
    assert!(e100 < e10 / 50.0, "{e10} {e100}");
}

#[test]
fn riemann_nodes() {
    assert_eq!(
        Riemann::Right.nodes(2).unwrap(),
        vec![(0.5, 0.5), (1.0, 0.5)]
    );
    assert_eq!(
        Riemann::Midpoint.nodes(2).unwrap(),
        vec![(0.25, 0.5), (0.75, 0.5)]
    );
    for rule in [
        Riemann::Left,
        Riemann::Right,
        Riemann::Midpoint,
        Riemann::Trapezoid,
    ] {
        let total: f64 = rule.nodes(37).unwrap().iter().map(|n| n.1).sum();
        assert!((total - 1.0).abs() < 1e-12);
    }
    assert!(Riemann::Left.nodes(0).is_err());
    assert!(Riemann::Midpoint.nodes(1).is_ok());
    let e = Riemann::Trapezoid.nodes(1).unwrap_err();
    assert!(
        e.to_string().contains("Trapezoid rule needs at least 2"),
        "{e}"
    );
}

#[test]
fn smooth_grad_is_seeded() {
    let mut net = smooth(5);
    let x = random(&[3, 4], 8);
    let sg = |net: &mut Network<f64>, seed, noise_level| {
        smooth_grad(
            net,
            &x,
            1,
            &SmoothGrad {
                samples: 10,
                noise_level,
                seed,
            },
        )
        .unwrap()
    };
    assert_eq!(sg(&mut net, 1, 0.2), sg(&mut net, 1, 0.2));
    assert_ne!(sg(&mut net, 1, 0.2), sg(&mut net, 2, 0.2));
    // No noise: the average of identical gradients is the saliency.
    let s = saliency(&mut net, &x, 1).unwrap();
    for (a, b) in sg(&mut net, 3, 0.0).as_slice().iter().zip(s.as_slice()) {
        assert!((a - b).abs() < 1e-15);
    }
    // By hand for one copy: the noise is N(0, 1)·σ from StdRng(seed), in order.
    let one = smooth_grad(
        &mut net,
        &x,
        1,
        &SmoothGrad {
            samples: 1,
            noise_level: 0.1,
            seed: 11,
        },
    )
    .unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let noisy: Vec<f64> = x
        .as_slice()
        .iter()
        .enumerate()
        .map(|(j, v)| {
            let row = &x.as_slice()[j / 4 * 4..j / 4 * 4 + 4];
            let range = row.iter().cloned().fold(f64::MIN, f64::max)
                - row.iter().cloned().fold(f64::MAX, f64::min);
            let z: f64 = StandardNormal.sample(&mut rng);
            v + 0.1 * range * z
        })
        .collect();
    let want = saliency(&mut net, &Tensor::from_vec(noisy, &[3, 4]).unwrap(), 1).unwrap();
    assert_eq!(one, want);
}

#[test]
fn parameter_gradients_are_left_alone() {
    let mut net = smooth(6);
    let x = random(&[4, 4], 1);
    let y = Tensor::from_rows(&[[1.0, 0.0, 0.0]; 4]).unwrap();
    net.compute_gradients(&x, &y, &crate::Loss::mse()).unwrap();
    let before: Vec<Tensor<f64>> = net.params_mut().iter().map(|p| p.grad.clone()).collect();
    let base = Tensor::zeros(&[1, 4]).unwrap();
    saliency(&mut net, &x, 0).unwrap();
    integrated_gradients(&mut net, &x, &base, 1, &Default::default()).unwrap();
    smooth_grad(&mut net, &x, 2, &Default::default()).unwrap();
    let o = Occlusion {
        image: Some([1, 2, 2]),
        ..Default::default()
    };
    occlusion(&mut net, &x, 0, &o).unwrap();
    let after: Vec<Tensor<f64>> = net.params_mut().iter().map(|p| p.grad.clone()).collect();
    assert_eq!(before, after);
}

#[test]
fn f32_agrees_with_f64() {
    let mut n64 = linear::<f64>();
    let mut n32 = linear::<f32>();
    let x = Tensor::from_rows(&[[1.0, 2.0, -1.0]]).unwrap();
    let base = Tensor::zeros(&[1, 3]).unwrap();
    let a = integrated_gradients(&mut n64, &x, &base, 1, &Default::default()).unwrap();
    let b =
        integrated_gradients(&mut n32, &x.cast(), &base.cast(), 1, &Default::default()).unwrap();
    for (u, v) in a.values.as_slice().iter().zip(b.values.as_slice()) {
        assert!((u - f64::from(*v)).abs() < 1e-5);
    }
    assert!(b.max_relative_residual() < 1e-5);
}

#[test]
fn occlusion_patches_and_counts() {
    // y = Σ xᵢ on a 3×3 image, patch 2×2 stride 1, fill 0: every window
    // removes the sum of its 4 pixels; a pixel's value is the mean over the
    // windows covering it.
    let mut net = Network::<f64>::new(9).unwrap();
    net.push(Box::new(
        Dense::from_weights(Tensor::ones(&[1, 9]).unwrap(), None).unwrap(),
    ))
    .unwrap();
    let x = Tensor::from_vec((1..=9).map(f64::from).collect(), &[1, 9]).unwrap();
    let o = Occlusion {
        image: Some([1, 3, 3]),
        ..Default::default()
    };
    let v = occlusion(&mut net, &x, 0, &o).unwrap();
    // Windows (top-left): (0,0) 1+2+4+5=12, (0,1) 2+3+5+6=16, (1,0) 4+5+7+8=24, (1,1) 5+6+8+9=28.
    let want = [12.0, 14.0, 16.0, 18.0, 20.0, 22.0, 24.0, 26.0, 28.0];
    assert_eq!(v.as_slice(), &want);
    // Stride 2: only window (0,0) fits; the rest is never covered → 0.
    let o2 = Occlusion {
        stride: (2, 2),
        ..o
    };
    let v = occlusion(&mut net, &x, 0, &o2).unwrap();
    assert_eq!(
        v.as_slice(),
        &[12.0, 12.0, 0.0, 12.0, 12.0, 0.0, 0.0, 0.0, 0.0]
    );
    // Image-shaped input [n, c, h, w] is read without `image`; two channels
    // are covered together.
    let mut net2 = Network::<f64>::new(8).unwrap();
    net2.push(Box::new(
        Dense::from_weights(Tensor::ones(&[1, 8]).unwrap(), None).unwrap(),
    ))
    .unwrap();
    let x2 = Tensor::from_vec((1..=8).map(f64::from).collect(), &[1, 8]).unwrap();
    let o3 = Occlusion {
        image: Some([2, 2, 2]),
        patch: (1, 1),
        ..Default::default()
    };
    let v = occlusion(&mut net2, &x2, 0, &o3).unwrap();
    // Pixel p covers channel 0 and 1: x[p] + x[4 + p].
    assert_eq!(v.as_slice(), &[6.0, 8.0, 10.0, 12.0, 6.0, 8.0, 10.0, 12.0]);
}

#[test]
fn errors_name_the_problem_and_change_nothing() {
    let mut net = linear::<f64>();
    let x = Tensor::from_rows(&[[1.0, 2.0, -1.0], [0.5, -0.5, 3.0]]).unwrap();
    let e = saliency(&mut net, &x, 2).unwrap_err();
    assert!(e.to_string().contains("the network has 2 outputs"), "{e}");
    let e = saliency(&mut net, &x, &vec![0]).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let e = saliency(&mut net, &x, &vec![0, 5]).unwrap_err();
    assert!(e.to_string().contains("5"), "{e}");
    let e = saliency(&mut net, &Tensor::zeros(&[2, 4]).unwrap(), 0).unwrap_err();
    assert!(e.to_string().contains("Network forward"), "{e}");
    let e = saliency(&mut net, &Tensor::zeros(&[0, 3]).unwrap(), 0).unwrap_err();
    assert!(matches!(e, Error::InvalidShape { .. }), "{e}");
    let e = saliency(&mut net, &Tensor::from_slice(&[1.0, 2.0, 3.0]), 0).unwrap_err();
    assert!(matches!(e, Error::InvalidShape { .. }), "{e}");
    let bad = Tensor::from_rows(&[[f64::NAN, 0.0, 0.0]]).unwrap();
    assert!(matches!(
        gradient_times_input(&mut net, &bad, 0),
        Err(Error::NonFinite { .. })
    ));
    let ig = |net: &mut Network<f64>, b: &Tensor<f64>, s: IntegratedGradients| {
        integrated_gradients(net, &x, b, 0, &s)
    };
    let zeros = Tensor::zeros(&[1, 3]).unwrap();
    let e = ig(
        &mut net,
        &Tensor::zeros(&[3, 3]).unwrap(),
        Default::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("baseline"), "{e}");
    let e = ig(
        &mut net,
        &Tensor::zeros(&[1, 2]).unwrap(),
        Default::default(),
    )
    .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }));
    let nan = Tensor::from_rows(&[[f64::NAN, 0.0, 0.0]]).unwrap();
    assert!(matches!(
        ig(&mut net, &nan, Default::default()),
        Err(Error::NonFinite { .. })
    ));
    let zero_steps = IntegratedGradients {
        steps: 0,
        ..Default::default()
    };
    assert!(matches!(
        ig(&mut net, &zeros, zero_steps),
        Err(Error::InvalidArgument { .. })
    ));
    let sg = |net: &mut Network<f64>, s: SmoothGrad| smooth_grad(net, &x, 0, &s);
    for bad in [
        SmoothGrad {
            samples: 0,
            ..Default::default()
        },
        SmoothGrad {
            noise_level: -0.1,
            ..Default::default()
        },
        SmoothGrad {
            noise_level: f64::INFINITY,
            ..Default::default()
        },
    ] {
        assert!(matches!(
            sg(&mut net, bad),
            Err(Error::InvalidArgument { .. })
        ));
    }
    // f32: a noise level that overflows f32 is rejected after conversion.
    let mut n32 = linear::<f32>();
    let e = smooth_grad(
        &mut n32,
        &x.cast(),
        0,
        &SmoothGrad {
            noise_level: 1e300,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("noise_level"), "{e}");

    let occ = |net: &mut Network<f64>, o: Occlusion| occlusion(net, &x, 0, &o);
    let e = occ(&mut net, Occlusion::default()).unwrap_err();
    assert!(e.to_string().contains("not image-shaped"), "{e}");
    let img = Some([1, 1, 3]);
    let e = occ(
        &mut net,
        Occlusion {
            image: Some([1, 2, 2]),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    for bad in [
        Occlusion {
            image: img,
            patch: (2, 1),
            ..Default::default()
        },
        Occlusion {
            image: img,
            patch: (1, 0),
            ..Default::default()
        },
        Occlusion {
            image: img,
            patch: (1, 1),
            stride: (0, 1),
            ..Default::default()
        },
        Occlusion {
            image: img,
            patch: (1, 1),
            fill: f64::NAN,
            ..Default::default()
        },
    ] {
        assert!(
            matches!(occ(&mut net, bad), Err(Error::InvalidArgument { .. })),
            "{bad:?}"
        );
    }
    // Nothing changed: the weights are as built.
    assert_eq!(
        net.layers()[0].params()[0].value,
        Tensor::from_rows(&W).unwrap()
    );
}

#[test]
fn dense_layer_gradcheck_through_public_checker() {
    // The layers attribution relies on pass the public layer check too.
    let mut d = Dense::<f64>::new(3, 2, &Init::he_normal(), &mut StdRng::seed_from_u64(1)).unwrap();
    let r = crate::gradcheck::layer(&mut d, &random(&[2, 3], 3)).unwrap();
    assert!(r.max_rel_error < 1e-6, "{r}");
    let _ = d.num_params();
}

#[test]
fn integrated_gradients_through_the_public_gradcheck() {
    // With every node αₖ > 0, IG/(x − x') is the gradient of
    // g(z) = Σₖ (wₖ/αₖ)·f(x' + αₖ(z − x')) at z = x, a scalar function the
    // public checker can difference.
    let mut net = smooth(8);
    let x = random(&[2, 4], 3);
    let b = random(&[2, 4], 4);
    let targets = [1, 2];
    for rule in [Riemann::Midpoint, Riemann::Right] {
        let settings = IntegratedGradients { steps: 6, rule };
        let ig = integrated_gradients(&mut net, &x, &b, &targets[..], &settings).unwrap();
        let per_unit = Tensor::from_vec(
            (0..8)
                .map(|j| ig.values.as_slice()[j] / (x.as_slice()[j] - b.as_slice()[j]))
                .collect(),
            &[2, 4],
        )
        .unwrap();
        let nodes = rule.nodes(6).unwrap();
        let g = |z: &Tensor<f64>| -> Result<f64> {
            let mut total = 0.0;
            for &(a, w) in &nodes {
                let p = Tensor::from_vec(
                    (0..8)
                        .map(|j| b.as_slice()[j] + a * (z.as_slice()[j] - b.as_slice()[j]))
                        .collect(),
                    &[2, 4],
                )?;
                total += w / a * summed_target(&mut net, &p, &targets)?;
            }
            Ok(total)
        };
        let r = GradCheck::default().function(g, &x, &per_unit).unwrap();
        assert!(r.max_rel_error < 1e-6, "{rule:?}: {r}");
    }
}

#[test]
fn smooth_grad_through_the_public_gradcheck() {
    // SmoothGrad is the gradient of the mean of f over the same noisy copies.
    let mut net = smooth(9);
    let x = random(&[2, 4], 5);
    let settings = SmoothGrad {
        samples: 4,
        noise_level: 0.2,
        seed: 3,
    };
    let sg = smooth_grad(&mut net, &x, 0, &settings).unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let sigma: Vec<f64> = x
        .as_slice()
        .chunks(4)
        .map(|r| {
            0.2 * (r.iter().cloned().fold(f64::MIN, f64::max)
                - r.iter().cloned().fold(f64::MAX, f64::min))
        })
        .collect();
    let noise: Vec<Vec<f64>> = (0..4)
        .map(|_| {
            (0..8)
                .map(|j| {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    sigma[j / 4] * z
                })
                .collect()
        })
        .collect();
    let f = |z: &Tensor<f64>| -> Result<f64> {
        let mut total = 0.0;
        for eps in &noise {
            let p = Tensor::from_vec(
                z.as_slice().iter().zip(eps).map(|(v, e)| v + e).collect(),
                &[2, 4],
            )?;
            total += summed_target(&mut net, &p, &[0, 0])? / 4.0;
        }
        Ok(total)
    };
    let r = GradCheck::default().function(f, &x, &sg).unwrap();
    assert!(r.max_rel_error < 1e-6, "{r}");
}

/// A user's layer: `[n, c, h, w]` → `[n, c·h·w]` (until a built-in exists).
#[derive(Clone, Debug, Default)]
struct Flatten {
    shape: Vec<usize>,
    out: Tensor<f64>,
    dx: Tensor<f64>,
}

impl Layer<f64> for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> Result<()> {
        let n = x.shape()[0];
        *out = x.clone().reshape(&[n, x.len() / n])?;
        Ok(())
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input[0], input[1..].iter().product()])
    }
    fn forward(&mut self, x: &Tensor<f64>, _mode: Mode) -> Result<&Tensor<f64>> {
        self.shape = x.shape().to_vec();
        let n = x.shape()[0];
        self.out = x.clone().reshape(&[n, x.len() / n])?;
        Ok(&self.out)
    }
    fn backward(&mut self, dy: &Tensor<f64>) -> Result<&Tensor<f64>> {
        self.dx = dy.clone().reshape(&self.shape)?;
        Ok(&self.dx)
    }
}

#[test]
fn image_shaped_inputs_flow_through_every_method() {
    // [n, 2, 3, 3] images → Flatten → 18 → tanh → 4.
    let mut net = Network::<f64>::builder_shape(&[2, 3, 3])
        .layer(Box::new(Flatten::default()))
        .dense(5, Init::xavier_normal())
        .tanh()
        .dense(4, Init::xavier_normal())
        .build(&mut StdRng::seed_from_u64(2))
        .unwrap();
    let x = random(&[3, 2, 3, 3], 4);
    let s = saliency(&mut net, &x, 1).unwrap();
    assert_eq!(s.shape(), x.shape());
    let r = GradCheck::default()
        .function(|xp| summed_target(&mut net, xp, &[1; 3]), &x, &s)
        .unwrap();
    assert!(r.max_rel_error < 1e-6, "{r}");
    let black = Tensor::zeros(&[1, 2, 3, 3]).unwrap();
    let ig = integrated_gradients(&mut net, &x, &black, 3, &Default::default()).unwrap();
    assert_eq!(ig.values.shape(), x.shape());
    assert!(ig.max_relative_residual() < 1e-3, "{:?}", ig.residual);
    assert_eq!(
        smooth_grad(&mut net, &x, 0, &Default::default())
            .unwrap()
            .shape(),
        x.shape()
    );
    // Occlusion reads [c, h, w] from the input; each patch covers both channels.
    let o = occlusion(
        &mut net,
        &x,
        2,
        &Occlusion {
            patch: (1, 1),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(o.shape(), x.shape());
    let y = net.predict(&x).unwrap();
    let mut covered = x.clone();
    for ch in 0..2 {
        covered.as_mut_slice()[ch * 9 + 4] = 0.0; // sample 0, pixel (1, 1)
    }
    let drop = y.as_slice()[2] - net.predict(&covered).unwrap().as_slice()[2];
    assert!((o.as_slice()[4] - drop).abs() < 1e-12);
    assert!((o.as_slice()[9 + 4] - drop).abs() < 1e-12);
}
