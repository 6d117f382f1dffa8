//! Tests of the initialization audit: the textbook cases, the arithmetic of
//! one layer by hand, "no trace", display and errors.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;

use super::*;
use crate::layer::dense::Dense;
use crate::{Activation, BatchNorm, Init, Layer};

/// `depth` blocks of Dense(100, init) + activation on 100 inputs, and a
/// standard-normal probe of 1000 × 100, all from `seed`.
fn textbook<T: Scalar>(
    init: Init,
    act: fn() -> Activation<T>,
    depth: usize,
    seed: u64,
) -> (Network<T>, Tensor<T>)
where
    StandardNormal: rand_distr::Distribution<T>,
{
    let mut rng = StdRng::seed_from_u64(seed);
    let mut b = Network::<T>::builder(100);
    for _ in 0..depth {
        b = b.dense(100, init).activation(act());
    }
    let net = b.build(&mut rng).unwrap();
    let probe = Tensor::random(&[1000, 100], &StandardNormal, &mut rng).unwrap();
    (net, probe)
}

fn audit<T: Scalar>(init: Init, act: fn() -> Activation<T>, depth: usize, seed: u64) -> InitAudit
where
    StandardNormal: rand_distr::Distribution<T>,
{
    let (mut net, probe) = textbook(init, act, depth, seed);
    net.audit_init(&probe).unwrap()
}

fn has(l: &LayerAudit, pick: impl Fn(&Flag) -> bool) -> bool {
    l.flags.iter().any(pick)
}

#[test]
fn sigmoid_with_unit_normal_weights_saturates() {
    // Pre-activations of layer 0 are N(0, 100·1): P(|z| > ln 99 = 4.595)
    // = P(|N(0,1)| > 0.4595) = 0.646. Deeper, Σa² ≈ 100·0.46 gives
    // P(|N(0,1)| > 4.595/6.8) ≈ 0.50. Both far above the 30% threshold.
    for (depth, seed) in [(5, 1), (10, 2), (20, 3)] {
        let a = audit::<f64>(Init::normal(0.0, 1.0), Activation::sigmoid, depth, seed);
        assert_eq!(a.layers.len(), 2 * depth);
        let first = a.layers[1].saturated.unwrap();
        assert!((first - 0.646).abs() < 0.03, "{a}");
        for l in a.layers.iter().filter(|l| l.layer_kind == "Sigmoid") {
            let s = l.saturated.unwrap();
            assert!(s > 0.4, "{a}");
            assert!(l.flags.contains(&Flag::Saturated(s)), "{a}");
            assert!(
                !has(l, |f| matches!(f, Flag::Vanishing | Flag::Exploding)),
                "{a}"
            );
        }
        for l in a.layers.iter().filter(|l| l.layer_kind == "Dense") {
            assert!(!has(l, |f| matches!(f, Flag::Saturated(_))), "{a}");
        }
        let odd: Vec<usize> = (0..depth).map(|k| 2 * k + 1).collect();
        assert_eq!(a.flagged(|f| matches!(f, Flag::Saturated(_))), odd);
        assert!(
            a.summary().starts_with("saturated at layers 1, 3, 5"),
            "{}",
            a.summary()
        );
        assert!(!a.is_healthy());
    }
}

#[test]
fn sigmoid_with_tiny_weights_collapses_and_its_gradient_vanishes() {
    // N(0, 0.01²) on 100 inputs: layer 0 pre-activations have std √100·0.01 = 0.1,
    // σ ≈ ½ + z/4 gives std 0.025; deeper, inputs ≈ ½ give pre-activation std
    // √100·0.01·½ = 0.05 and outputs std 0.0125. Backwards each Dense + sigmoid pair
    // multiplies the gradient RMS by ¼·√100·0.01 = 1/40: (1/40)⁵ ≈ 1e-8 at the input.
    for (depth, seed) in [(5, 1), (10, 2)] {
        let a = audit::<f64>(Init::normal(0.0, 0.01), Activation::sigmoid, depth, seed);
        for l in a.layers.iter().filter(|l| l.layer_kind == "Sigmoid") {
            assert!((l.mean - 0.5).abs() < 0.01, "{a}");
            assert!(l.relative_std < 0.03, "{a}");
            assert_eq!(l.saturated, Some(0.0));
            assert!(l.flags.contains(&Flag::Vanishing), "{a}");
        }
        assert!((a.layers[1].relative_std - 0.025).abs() < 0.003, "{a}");
        assert!((a.layers[3].relative_std - 0.0125).abs() < 0.003, "{a}");
        let input_ratio = a.layers[0].grad_ratio;
        let theory = 40f64.powi(-(depth as i32));
        assert!(
            input_ratio > theory / 3.0 && input_ratio < theory * 3.0,
            "{input_ratio} vs {theory}"
        );
        assert!(a.layers[0].flags.contains(&Flag::GradientVanishing));
        // The last sigmoid's input sees ¼ of the output gradient: not flagged.
        assert!(
            (a.layers[2 * depth - 1].grad_ratio - 0.25).abs() < 0.01,
            "{a}"
        );
        assert!(!has(&a.layers[2 * depth - 1], |f| *f == Flag::GradientVanishing));
        let s = a.summary();
        assert!(s.starts_with("signal vanishes from layer 1 on; "), "{s}");
        // Ratios ¼ at the last sigmoid, 1/40 at the last Dense, 1/160 below the
        // 1/100 threshold at the sigmoid before it.
        let from = format!(
            "gradient vanishes from layer {} down to the input",
            2 * depth - 3
        );
        assert!(s.contains(&from), "{s}");
    }
}

macro_rules! relu_tests {
    ($name:ident, $t:ty) => {
        mod $name {
            use super::*;

            #[test]
            fn relu_with_tiny_weights_vanishes() {
                // Layer 0: std √100·0.01 = 0.1; each further Dense multiplies the
                // spread by √(100·0.01²·E[relu(z)²]/Var z) = √(0.01·½) ≈ 0.0707.
                let a = audit::<$t>(Init::normal(0.0, 0.01), Activation::relu, 5, 4);
                assert!((a.layers[0].relative_std - 0.1).abs() < 0.01, "{a}");
                assert!(
                    (a.layers[2].relative_std - 0.1 * 0.0707).abs() < 0.002,
                    "{a}"
                );
                assert!(a.layers[9].relative_std < 1e-5, "{a}");
                assert_eq!(
                    a.flagged(|f| *f == Flag::Vanishing),
                    (2..10).collect::<Vec<_>>()
                );
                for l in &a.layers {
                    assert!(
                        !has(l, |f| matches!(
                            f,
                            Flag::Dead(_) | Flag::Saturated(_) | Flag::NonFinite
                        )),
                        "{a}"
                    );
                }
                assert!(
                    a.summary().starts_with("signal vanishes from layer 2 on"),
                    "{a}"
                );
            }

            #[test]
            fn he_initialization_keeps_relu_healthy() {
                // He-normal, std √(2/100): the spread and the gradient RMS keep their
                // size through the depth (Kaiming He et al. 2015).
                for (depth, seed) in [(5, 5), (20, 6)] {
                    let a = audit::<$t>(Init::he_normal(), Activation::relu, depth, seed);
                    assert!(a.is_healthy(), "{a}");
                    assert_eq!(
                        a.summary(),
                        format!("signal healthy through {} layers", 2 * depth)
                    );
                    for l in &a.layers {
                        assert!(l.relative_std > 0.3 && l.relative_std < 3.0, "{a}");
                        assert!(l.grad_ratio > 0.3 && l.grad_ratio < 3.0, "{a}");
                        assert!(l.dead_units.unwrap_or(0.0) < 0.3, "{a}");
                    }
                }
            }
        }
    };
}
relu_tests!(f32_relu, f32);
relu_tests!(f64_relu, f64);

#[test]
fn xavier_keeps_tanh_healthy_and_unit_normal_relu_explodes() {
    let a = audit::<f64>(Init::xavier_normal(), Activation::tanh, 20, 7);
    assert!(a.is_healthy(), "{a}");
    assert!(a.layers.iter().all(|l| l.saturated.unwrap_or(0.0) < 0.02));
    // ReLU with N(0, 1) on 100 inputs: each Dense multiplies the spread by √(100·½) ≈ 7.
    let a = audit::<f64>(Init::normal(0.0, 1.0), Activation::relu, 5, 8);
    assert_eq!(
        a.flagged(|f| *f == Flag::Exploding),
        (4..10).collect::<Vec<_>>()
    );
    assert!(a.layers[0].flags.contains(&Flag::GradientExploding), "{a}");
    assert!(
        a.summary().starts_with("signal explodes from layer 4 on"),
        "{a}"
    );
}

#[test]
fn one_layer_by_hand() {
    // y = x·Wᵀ with W = 2·I: ∂L/∂x = dy·W = 2·dy, so ‖∂L/∂x‖ = 2‖dy‖ and the
    // RMS ratio is 2 (same width); ∂L/∂W = dyᵀ·x, ∂L/∂b = Σₙ dy.
    let mut net = Network::<f64>::new(2).unwrap();
    let w = Tensor::from_rows(&[[2.0, 0.0], [0.0, 2.0]]).unwrap();
    net.push(Box::new(
        Dense::from_weights(w, Some(Tensor::zeros(&[2]).unwrap())).unwrap(),
    ))
    .unwrap();
    let x = Tensor::from_rows(&[[1.0, -1.0], [3.0, 1.0], [0.0, 2.0]]).unwrap();
    let a = net.audit_init(&x).unwrap();
    // The same gradient, drawn as the audit draws it.
    let mut rng = StdRng::seed_from_u64(AUDIT_SEED);
    let dy = Tensor::<f64>::random(&[3, 2], &StandardNormal, &mut rng)
        .unwrap()
        .scale(1.0 / 3.0);
    let dy_norm = dy.norm_l2();
    assert!((a.output_grad_norm - dy_norm).abs() < 1e-15);
    let l = &a.layers[0];
    assert!((l.grad_input_norm - 2.0 * dy_norm).abs() < 1e-12);
    assert!((l.grad_ratio - 2.0).abs() < 1e-12);
    let dw = dy.t_matmul(&x).unwrap();
    let db = dy.sum_axis(0).unwrap();
    assert_eq!(l.param_grad_norms.len(), 2);
    assert_eq!(l.param_grad_norms[0].0, "0.weight");
    assert!((l.param_grad_norms[0].1 - dw.norm_l2()).abs() < 1e-12);
    assert_eq!(l.param_grad_norms[1].0, "0.bias");
    assert!((l.param_grad_norms[1].1 - db.norm_l2()).abs() < 1e-12);
    // ‖W‖ = 2√2; the bias is not a weight and does not enter the ratio.
    let rel = l.relative_weight_grad.unwrap();
    assert!((rel - dw.norm_l2() / 8f64.sqrt()).abs() < 1e-12, "{rel}");
    // Forward: y = 2x, so its std over the probe's is exactly 2 and the mean doubles.
    assert!((l.relative_std - 2.0).abs() < 1e-12);
    assert!((l.mean - 2.0 * x.mean()).abs() < 1e-12);
    assert_eq!((a.batch, a.layers.len()), (3, 1));
    assert!((a.input_std - a.activations.input.std).abs() == 0.0);
}

#[test]
fn the_audit_leaves_no_trace() {
    let mut rng = StdRng::seed_from_u64(9);
    let mut net = Network::<f64>::builder(3)
        .dense(4, Init::he_normal())
        .batch_norm()
        .relu()
        .dense(2, Init::xavier_normal())
        .build(&mut rng)
        .unwrap();
    // Gradients that are not zero, to see they come back as they were.
    net.visit_params_mut(&mut |i, p| p.grad.fill(i as f64 + 0.5));
    let x: Tensor<f64> = Tensor::random(&[8, 3], &StandardNormal, &mut rng).unwrap();
    let before_out = net.predict(&x).unwrap();
    let before: Vec<(String, Tensor<f64>)> = net
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect();
    let a = net.audit_init(&x).unwrap();
    assert_eq!(a.layers.len(), 4);
    assert!(a.layers[0].param_grad_norms[0].1 > 0.0);
    // Batch norm's γ is a scale and ReLU has no parameters: no weight ratio.
    let rel: Vec<bool> = a
        .layers
        .iter()
        .map(|l| l.relative_weight_grad.is_some())
        .collect();
    assert_eq!(rel, [true, false, false, true]);
    let after: Vec<(String, Tensor<f64>)> = net
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect();
    assert_eq!(before, after);
    net.visit_params(&mut |i, p| assert!(p.grad.as_slice().iter().all(|&g| g == i as f64 + 0.5)));
    assert_eq!(net.predict(&x).unwrap(), before_out);
}

#[test]
fn non_finite_values_are_flagged() {
    // 1e38·(10 + 10) overflows f32.
    let mut net = Network::<f32>::new(2).unwrap();
    let w = Tensor::from_rows(&[[1e38f32, 1e38], [1.0, -1.0]]).unwrap();
    net.push(Box::new(Dense::from_weights(w, None).unwrap()))
        .unwrap();
    net.push(Box::new(Activation::tanh())).unwrap();
    let x = Tensor::from_rows(&[[10.0f32, 10.0], [1.0, 2.0]]).unwrap();
    let a = net.audit_init(&x).unwrap();
    assert!(a.layers[0].flags.contains(&Flag::NonFinite), "{a}");
    assert!(
        a.summary().starts_with("non-finite values from layer 0 on"),
        "{a}"
    );
    assert!(a.to_string().contains("non-finite"));
}

#[test]
fn flags_and_table_display() {
    assert_eq!(Flag::Vanishing.to_string(), "vanishing");
    assert_eq!(Flag::Exploding.to_string(), "exploding");
    assert_eq!(Flag::Saturated(0.871).to_string(), "saturated 87%");
    assert_eq!(Flag::Dead(0.62).to_string(), "dead 62%");
    assert_eq!(Flag::GradientVanishing.to_string(), "gradient vanishing");
    assert_eq!(Flag::GradientExploding.to_string(), "gradient exploding");
    assert_eq!(Flag::NonFinite.to_string(), "non-finite");
    let a = audit::<f64>(Init::normal(0.0, 1.0), Activation::sigmoid, 3, 1);
    let text = a.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("initialization audit: probe 1000 samples"),
        "{text}"
    );
    assert!(
        lines[1].contains("std/in") && lines[1].ends_with("flag"),
        "{text}"
    );
    assert!(lines[2].starts_with("  0  Dense"), "{text}");
    assert!(
        lines[3].starts_with("  1  Sigmoid") && lines[3].contains("saturated 6"),
        "{text}"
    );
    assert_eq!(lines.len(), 2 + 6 + 1);
    assert_eq!(lines[8], "summary: saturated at layers 1, 3, 5");
}

#[test]
fn dead_units_are_flagged() {
    // Bias −10 on unit 0 and unit 1 keeps them below zero for these inputs:
    // 2 of 3 units dead → "dead 67%".
    let mut net = Network::<f64>::new(2).unwrap();
    let w = Tensor::from_rows(&[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).unwrap();
    let b = Tensor::from_slice(&[-10.0, -10.0, 0.0]);
    net.push(Box::new(Dense::from_weights(w, Some(b)).unwrap()))
        .unwrap();
    net.push(Box::new(Activation::relu())).unwrap();
    let x = Tensor::from_rows(&[[1.0, 2.0], [-1.0, 3.0], [2.0, 0.5]]).unwrap();
    let a = net.audit_init(&x).unwrap();
    let l = &a.layers[1];
    assert!((l.dead_units.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(l.flags, vec![Flag::Dead(l.dead_units.unwrap())]);
    assert_eq!(a.summary(), "dead units at layer 1");
    assert!(a.to_string().contains("dead 67%"));
}

#[test]
fn errors() {
    let mut empty = Network::<f64>::new(2).unwrap();
    let x = Tensor::from_rows(&[[1.0, 2.0], [3.0, 4.0]]).unwrap();
    let e = empty.audit_init(&x).unwrap_err();
    assert_eq!(e.to_string(), "audit_init: the network has no layers");
    let mut net = Network::<f64>::new(2).unwrap();
    net.push(Box::new(BatchNorm::new(2).unwrap())).unwrap();
    assert!(matches!(
        net.audit_init(&Tensor::zeros(&[2, 3]).unwrap())
            .unwrap_err(),
        Error::InvalidShape { .. }
    ));
    assert!(net.audit_init(&Tensor::zeros(&[0, 2]).unwrap()).is_err());
    let nan = Tensor::from_rows(&[[1.0, f64::NAN], [3.0, 4.0]]).unwrap();
    let e = net.audit_init(&nan).unwrap_err();
    assert_eq!(
        e.to_string(),
        "non-finite value in audit_init probe (1 of 4 values)"
    );
    let e = net
        .audit_init(&Tensor::full(&[2, 2], 3.0).unwrap())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidArgument {
                name: "audit_init probe std",
                ..
            }
        ),
        "{e}"
    );
    let bad = [
        AuditThresholds {
            vanishing: 0.0,
            ..Default::default()
        },
        AuditThresholds {
            vanishing: 1.0,
            ..Default::default()
        },
        AuditThresholds {
            exploding: 1.0,
            ..Default::default()
        },
        AuditThresholds {
            exploding: f64::INFINITY,
            ..Default::default()
        },
        AuditThresholds {
            gradient: 0.5,
            ..Default::default()
        },
        AuditThresholds {
            gradient: f64::NAN,
            ..Default::default()
        },
        AuditThresholds {
            saturated: 1.0,
            ..Default::default()
        },
        AuditThresholds {
            dead: -0.1,
            ..Default::default()
        },
    ];
    for t in bad {
        assert!(
            matches!(
                net.audit_init_with(&x, &t).unwrap_err(),
                Error::InvalidArgument { .. }
            ),
            "{t:?}"
        );
    }
    // A layer error (here: a layer that cannot go backward) is passed on and
    // the state is still restored.
    #[derive(Clone, Debug)]
    struct NoBackward(Tensor<f64>);
    impl Layer<f64> for NoBackward {
        fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> Result<()> {
            out.assign(x);
            Ok(())
        }
        fn kind(&self) -> &'static str {
            "NoBackward"
        }
        fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
            Ok(input.to_vec())
        }
        fn forward(&mut self, x: &Tensor<f64>, _mode: Mode) -> Result<&Tensor<f64>> {
            self.0.assign(x);
            Ok(&self.0)
        }
        fn backward(&mut self, _dy: &Tensor<f64>) -> Result<&Tensor<f64>> {
            Err(Error::invalid_state("NoBackward", "cannot"))
        }
    }
    net.push(Box::new(NoBackward(Tensor::default()))).unwrap();
    let mean = net.tensor("0.running_mean").unwrap().clone();
    assert_eq!(
        net.audit_init(&x).unwrap_err().to_string(),
        "NoBackward: cannot"
    );
    assert_eq!(net.tensor("0.running_mean").unwrap(), &mean);
}
