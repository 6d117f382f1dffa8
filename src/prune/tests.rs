use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use super::*;
use crate::layer::dense::Dense;
use crate::optim::Algorithm;
use crate::{
    Activation, AdaGrad, Adam, AdamW, BatchNorm, Clip, Constraint, Constraints, Error, Fit, Init,
    L1, L2, Loss, Network, RmsProp, Sgd, Tensor,
};

fn one_layer(w: &[&[f64]]) -> Network<f64> {
    let mut net = Network::new(w[0].len()).unwrap();
    let w = Tensor::from_rows(w).unwrap();
    net.push(Box::new(Dense::from_weights(w, None).unwrap()))
        .unwrap();
    net
}

fn mlp(seed: u64) -> Network<f64> {
    Network::<f64>::builder(6)
        .dense(8, Init::he_normal())
        .relu()
        .dense(5, Init::he_normal())
        .tanh()
        .dense(3, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

fn batch(seed: u64) -> (Tensor<f64>, Tensor<f64>) {
    let d = Uniform::new(-1.0, 1.0).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Tensor::random(&[12, 6], &d, &mut rng).unwrap();
    let y = Tensor::from_vec((0..12).map(|i| (i % 3) as f64).collect(), &[12]).unwrap();
    (x, y)
}

#[test]
fn l1_unstructured_counts_round_half_even_and_break_ties_by_position() {
    // 5 entries, 0.5 → round(2.5) = 2; the two smallest |w|: 0.1 (index 3), then
    // the tie |0.2| at indices 1 and 4: index 1 goes first.
    let mut net = one_layer(&[&[0.9, -0.2, 0.5, 0.1, 0.2]]);
    assert_eq!(
        l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.5)).unwrap(),
        2
    );
    assert_eq!(
        net.mask("0.weight").unwrap().as_slice(),
        &[1.0, 0.0, 1.0, 0.0, 1.0]
    );
    assert_eq!(
        net.tensor("0.weight").unwrap().as_slice(),
        &[0.9, 0.0, 0.5, 0.0, 0.2]
    );
    // Again 0.5 of the 3 alive → round(1.5) = 2: 0.2 then 0.5.
    assert_eq!(
        l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.5)).unwrap(),
        2
    );
    assert_eq!(
        net.tensor("0.weight").unwrap().as_slice(),
        &[0.9, 0.0, 0.0, 0.0, 0.0]
    );
    // 7 entries · 0.5 = 3.5 → 4 (ties to even); 0.25 · 10 = 2.5 → 2.
    let mut net = one_layer(&[&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]]);
    assert_eq!(
        l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.5)).unwrap(),
        4
    );
    let mut net = one_layer(&[&[1.0; 10]]);
    assert_eq!(
        l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.25)).unwrap(),
        2
    );
    assert_eq!(
        net.mask("0.weight").unwrap().as_slice()[..3],
        [0.0, 0.0, 1.0]
    );
    // A count, then more than is left.
    assert_eq!(
        l1_unstructured(&mut net, "0.weight", Amount::Count(8)).unwrap(),
        8
    );
    let e = l1_unstructured(&mut net, "0.weight", Amount::Count(1)).unwrap_err();
    assert!(e.to_string().contains("only 0 are left"), "{e}");
    assert_eq!(
        l1_unstructured(&mut net, "0.weight", Amount::Fraction(1.0)).unwrap(),
        0
    );
}

#[test]
fn global_unstructured_ranks_across_parameters() {
    let mut net = Network::<f64>::new(2).unwrap();
    let w0 = Tensor::from_rows(&[[0.1, 5.0], [0.3, -0.05]]).unwrap();
    let w1 = Tensor::from_rows(&[[0.2, 0.4]]).unwrap();
    net.push(Box::new(Dense::from_weights(w0, None).unwrap()))
        .unwrap();
    net.push(Box::new(Activation::relu())).unwrap();
    net.push(Box::new(Dense::from_weights(w1, None).unwrap()))
        .unwrap();
    let names = weight_names(&net);
    assert_eq!(names, vec!["0.weight", "2.weight"]);
    // 6 entries · 0.5 = 3: |−0.05|, 0.1, 0.2 — two in layer 0, one in layer 2.
    assert_eq!(
        global_unstructured(&mut net, &names, Amount::Fraction(0.5)).unwrap(),
        3
    );
    assert_eq!(
        net.tensor("0.weight").unwrap().as_slice(),
        &[0.0, 5.0, 0.3, 0.0]
    );
    assert_eq!(net.tensor("2.weight").unwrap().as_slice(), &[0.0, 0.4]);
    // Errors: no names, a name twice, an unknown name; nothing changes.
    let before = net
        .named_masks()
        .into_iter()
        .map(|(n, m)| (n, m.clone()))
        .collect::<Vec<_>>();
    let none: [&str; 0] = [];
    assert!(global_unstructured(&mut net, &none, Amount::Count(1)).is_err());
    assert!(global_unstructured(&mut net, &["0.weight", "0.weight"], Amount::Count(1)).is_err());
    let e = global_unstructured(&mut net, &["0.weight", "1.weight"], Amount::Count(1)).unwrap_err();
    assert!(
        e.to_string().contains("the network has 0.weight, 2.weight"),
        "{e}"
    );
    let e = global_unstructured(&mut net, &names, Amount::Fraction(1.5)).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }));
    let after = net
        .named_masks()
        .into_iter()
        .map(|(n, m)| (n, m.clone()))
        .collect::<Vec<_>>();
    assert_eq!(before, after);
}

#[test]
fn ln_structured_by_hand() {
    // Rows (units) have L1 norms 3, 1.5, 6, 1.5 and L2 norms √5, √1.25, √18, √2.25.
    let rows: &[&[f64]] = &[&[1.0, -2.0], &[0.5, 1.0], &[3.0, 3.0], &[0.0, -1.5]];
    let mut net = one_layer(rows);
    // 4 · 0.5 = 2 rows by L1: 1.5 and 1.5 tie; keep order → rows 1 and 3 go.
    assert_eq!(
        ln_structured(&mut net, "0.weight", Amount::Fraction(0.5), 1.0, 0).unwrap(),
        2
    );
    assert_eq!(
        net.mask("0.weight").unwrap().as_slice(),
        &[1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]
    );
    // Pruned channels are not ranked again: 1 of the 2 alive (row 0 by L2).
    assert_eq!(
        ln_structured(&mut net, "0.weight", Amount::Count(1), 2.0, 0).unwrap(),
        1
    );
    assert_eq!(
        net.tensor("0.weight").unwrap().as_slice(),
        &[0.0, 0.0, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0]
    );
    // Columns (inputs) by ∞-norm: column 0 max 3, column 1 max 3 → tie, keep column 0.
    let mut net = one_layer(rows);
    assert_eq!(
        ln_structured(&mut net, "0.weight", Amount::Count(1), f64::INFINITY, 1).unwrap(),
        1
    );
    assert_eq!(
        net.mask("0.weight").unwrap().as_slice(),
        &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    );
    // −∞-norm (smallest |w|): rows 0.5·… → row 3 (min 0) goes first.
    let mut net = one_layer(rows);
    ln_structured(&mut net, "0.weight", Amount::Count(1), f64::NEG_INFINITY, 0).unwrap();
    assert_eq!(net.mask("0.weight").unwrap().as_slice()[6..], [0.0, 0.0]);
    // 0-norm (non-zeros): row 3 has one.
    let mut net = one_layer(rows);
    ln_structured(&mut net, "0.weight", Amount::Count(1), 0.0, 0).unwrap();
    assert_eq!(net.mask("0.weight").unwrap().as_slice()[6..], [0.0, 0.0]);
    // Errors.
    let mut net = Network::<f64>::builder(2)
        .dense(2, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap();
    let e = ln_structured(&mut net, "0.bias", Amount::Count(1), 2.0, 0).unwrap_err();
    assert!(matches!(e, Error::InvalidShape { .. }), "{e}");
    assert!(ln_structured(&mut net, "0.weight", Amount::Count(1), 2.0, 2).is_err());
    assert!(ln_structured(&mut net, "0.weight", Amount::Count(1), -1.0, 0).is_err());
    assert!(ln_structured(&mut net, "0.weight", Amount::Count(1), f64::NAN, 0).is_err());
    assert!(ln_structured(&mut net, "0.weight", Amount::Count(3), 2.0, 0).is_err());
    assert!(net.mask("0.weight").is_none());
}

#[test]
fn custom_masks_combine_and_remove_keeps_the_zeros() {
    let mut net = one_layer(&[&[1.0, 2.0, 3.0]]);
    custom_from_mask(
        &mut net,
        "0.weight",
        &Tensor::from_rows(&[[1.0, 0.0, 1.0]]).unwrap(),
    )
    .unwrap();
    custom_from_mask(
        &mut net,
        "0.weight",
        &Tensor::from_rows(&[[0.0, 1.0, 1.0]]).unwrap(),
    )
    .unwrap();
    assert_eq!(net.mask("0.weight").unwrap().as_slice(), &[0.0, 0.0, 1.0]);
    assert_eq!(net.tensor("0.weight").unwrap().as_slice(), &[0.0, 0.0, 3.0]);
    let e = custom_from_mask(
        &mut net,
        "0.weight",
        &Tensor::from_rows(&[[0.5, 1.0, 1.0]]).unwrap(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("only 0 (pruned) and 1"), "{e}");
    assert!(custom_from_mask(&mut net, "0.weight", &Tensor::ones(&[3]).unwrap()).is_err());
    remove(&mut net, "0.weight").unwrap();
    assert!(net.mask("0.weight").is_none());
    assert_eq!(net.tensor("0.weight").unwrap().as_slice(), &[0.0, 0.0, 3.0]);
    assert!(remove(&mut net, "0.weight").is_err());
    // NaN weights cannot be ranked.
    let mut bad = one_layer(&[&[f64::NAN, 1.0]]);
    assert!(matches!(
        l1_unstructured(&mut bad, "0.weight", Amount::Count(1)),
        Err(Error::NonFinite { .. })
    ));
}

/// Every masked entry is exactly +0.0, every unmasked one what training made it.
fn assert_masks_hold(net: &Network<f64>) {
    let mut n = 0;
    for (name, m) in net.named_masks() {
        let w = net.tensor(&name).unwrap();
        for (v, k) in w.as_slice().iter().zip(m.as_slice()) {
            if *k == 0.0 {
                assert_eq!(v.to_bits(), 0, "{name}: {v}");
                n += 1;
            }
        }
    }
    assert!(n > 0);
}

#[test]
fn masks_hold_exactly_through_100_steps_of_every_optimizer() {
    let (x, y) = batch(1);
    let algorithms: Vec<Algorithm> = vec![
        Adam {
            lr: 0.01,
            ..Default::default()
        }
        .into(),
        Adam {
            lr: 0.01,
            weight_decay: 0.1,
            amsgrad: true,
            ..Default::default()
        }
        .into(),
        AdamW {
            lr: 0.01,
            weight_decay: 0.1,
            ..Default::default()
        }
        .into(),
        Sgd {
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-3,
            ..Default::default()
        }
        .into(),
        RmsProp {
            lr: 0.01,
            momentum: 0.9,
            centered: true,
            ..Default::default()
        }
        .into(),
        AdaGrad {
            lr: 0.05,
            ..Default::default()
        }
        .into(),
    ];
    for alg in algorithms {
        let name = format!("{alg:?}");
        let mut net = mlp(2);
        let mut fit = Fit::<f64> {
            loss: Loss::softmax_cross_entropy().into(),
            optimizer: alg.into(),
            regularizer: Some(L2::new(1e-2).unwrap().into()),
            constraints: Constraints::new().layer(2, Constraint::max_norm(0.8).unwrap()),
            clip: Some(Clip::Norm(1.0)),
            ..Default::default()
        };
        // 10 steps first: momentum and moments carry state into the pruned entries.
        for _ in 0..10 {
            net.train_on_batch(&x, &y, &mut fit).unwrap();
        }
        let names = weight_names(&net);
        global_unstructured(&mut net, &names, Amount::Fraction(0.6)).unwrap();
        ln_structured(&mut net, "2.weight", Amount::Count(2), 2.0, 0).unwrap();
        l1_unstructured(&mut net, "0.bias", Amount::Count(3)).unwrap();
        let before: Vec<Tensor<f64>> = names
            .iter()
            .map(|n| net.tensor(n).unwrap().clone())
            .collect();
        for _ in 0..100 {
            net.train_on_batch(&x, &y, &mut fit).unwrap();
            assert_masks_hold(&net);
        }
        // The live weights did move.
        let after: Vec<Tensor<f64>> = names
            .iter()
            .map(|n| net.tensor(n).unwrap().clone())
            .collect();
        assert_ne!(before, after, "{name}");
        let report = sparsity_report(&net);
        assert!(
            report.params.iter().all(|p| p.zeros >= p.masked),
            "{name}\n{report}"
        );
    }
    // Proximal L1 through fit, too.
    let mut net = mlp(3);
    let names = weight_names(&net);
    global_unstructured(&mut net, &names, Amount::Fraction(0.5)).unwrap();
    let data = crate::Dataset::new(x.clone(), y.clone()).unwrap();
    let mut fit = Fit::<f64> {
        optimizer: Adam {
            lr: 0.01,
            ..Default::default()
        }
        .into(),
        regularizer: Some(L1::new(1e-3).unwrap().into()),
        epochs: 30,
        batch_size: 4,
        ..Default::default()
    };
    net.fit(&data, &mut fit, &mut StdRng::seed_from_u64(0))
        .unwrap();
    assert_masks_hold(&net);
}

#[test]
fn sparsity_report_counts() {
    let mut net = mlp(4);
    l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.25)).unwrap();
    let r = sparsity_report(&net);
    assert_eq!(r.params.len(), 6);
    assert_eq!(
        (r.params[0].total, r.params[0].zeros, r.params[0].masked),
        (48, 12, 12)
    );
    // Biases start at zero: counted as zeros, not masked.
    assert_eq!((r.params[1].zeros, r.params[1].masked), (8, 0));
    assert_eq!(r.weight_sparsity(), 12.0 / (48.0 + 40.0 + 15.0));
    assert_eq!(r.nonzero_params(), 48 + 40 + 15 - 12);
    let s = r.to_string();
    assert!(
        s.contains("0.weight") && s.contains("25.0%") && s.contains("weights only: 11.7% zero"),
        "{s}"
    );
}

#[test]
fn removing_pruned_units_keeps_the_outputs() {
    // Sigmoid between: a pruned unit's constant sigmoid(b) ≠ 0 must be folded.
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = Network::<f64>::builder(6)
        .dense(8, Init::he_normal())
        .sigmoid()
        .dropout(0.2)
        .dense(5, Init::he_normal())
        .relu()
        .dense(3, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let d = Uniform::new(-0.5, 0.5).unwrap();
    for name in ["0.bias", "3.bias"] {
        let b = Tensor::random(net.tensor(name).unwrap().shape(), &d, &mut rng).unwrap();
        net.set_tensor(name, &b).unwrap();
    }
    ln_structured(&mut net, "0.weight", Amount::Count(3), 2.0, 0).unwrap();
    ln_structured(&mut net, "3.weight", Amount::Count(2), 1.0, 0).unwrap();
    l1_unstructured(&mut net, "5.weight", Amount::Count(4)).unwrap();
    let (x, _) = batch(7);
    let before = net.predict(&x).unwrap();
    let done = remove_pruned_units(&mut net).unwrap();
    assert_eq!(done.removed.len(), 2);
    assert_eq!(done.removed[0].1.len(), 3);
    assert_eq!(done.removed[1].1.len(), 2);
    assert_eq!(net.tensor("0.weight").unwrap().shape(), &[5, 6]);
    assert_eq!(net.tensor("3.weight").unwrap().shape(), &[3, 5]);
    assert_eq!(net.tensor("5.weight").unwrap().shape(), &[3, 3]);
    assert_eq!(done.params_after, net.num_params());
    // Layer 0 loses 3 rows of 6 + 3 biases; layer 3 goes from 5×8 to 3×5 and
    // loses 2 biases; layer 5 from 3×5 to 3×3.
    assert_eq!(
        done.params_before - done.params_after,
        3 * 7 + (5 * 8 - 3 * 5) + 2 + 3 * 2
    );
    let after = net.predict(&x).unwrap();
    for (a, b) in after.as_slice().iter().zip(before.as_slice()) {
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }
    assert!(done.max_output_change < 1e-12);
    // Masks shrank with their parameters and still hold.
    assert_eq!(net.mask("0.weight").unwrap().shape(), &[5, 6]);
    assert!(
        net.mask("0.weight")
            .unwrap()
            .as_slice()
            .iter()
            .all(|m| *m == 1.0)
    );
    assert_eq!(net.mask("5.weight").unwrap().shape(), &[3, 3]);
    // Nothing more to remove.
    assert!(remove_pruned_units(&mut net).unwrap().removed.is_empty());
}

#[test]
fn unit_removal_refuses_batch_norm_in_between_and_changes_nothing() {
    let mut net = Network::<f64>::builder(4)
        .dense(4, Init::he_normal())
        .layer(Box::new(BatchNorm::new(4).unwrap()))
        .dense(2, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(1))
        .unwrap();
    ln_structured(&mut net, "0.weight", Amount::Count(1), 2.0, 0).unwrap();
    let before = net.tensor("0.weight").unwrap().clone();
    let e = remove_pruned_units(&mut net).unwrap_err();
    assert!(e.to_string().contains("layer 1 (BatchNorm)"), "{e}");
    assert_eq!(net.tensor("0.weight").unwrap(), &before);
    // A softmax in between is parameter-free but not element-wise: the probe catches it.
    let mut net = Network::<f64>::builder(4)
        .dense(4, Init::he_normal())
        .softmax()
        .dense(2, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(1))
        .unwrap();
    ln_structured(&mut net, "0.weight", Amount::Count(1), 2.0, 0).unwrap();
    let e = remove_pruned_units(&mut net).unwrap_err();
    assert!(e.to_string().contains("differ"), "{e}");
    assert_eq!(net.tensor("0.weight").unwrap().shape(), &[4, 4]);
    assert_eq!(net.mask("0.weight").unwrap().shape(), &[4, 4]);
}

#[test]
fn iterative_schedule() {
    let s = IterativePruning::to_sparsity(Method::Global, 0.75, 2, 3).unwrap();
    assert!((s.fraction - 0.5).abs() < 1e-12);
    assert!(IterativePruning::to_sparsity(Method::Global, 1.0, 2, 3).is_err());
    assert!(IterativePruning::to_sparsity(Method::Global, 0.5, 0, 3).is_err());
    let (x, y) = batch(2);
    let data = crate::Dataset::new(x, y).unwrap();
    let mut net = mlp(6);
    let mut fit = Fit::<f64> {
        validation: Some(&data),
        ..Default::default()
    };
    let rounds = s
        .run(&mut net, &data, &mut fit, &mut StdRng::seed_from_u64(0))
        .unwrap();
    assert_eq!(rounds.len(), 2);
    assert_eq!((rounds[0].epoch, rounds[1].epoch), (3, 6));
    // 103 weights: round(0.5·103) = 52, then round(0.5·51) = 26 (25.5 → even).
    assert_eq!((rounds[0].pruned, rounds[1].pruned), (52, 26));
    assert!((rounds[1].weight_sparsity - 78.0 / 103.0).abs() < 1e-12);
    assert!(rounds[1].val_accuracy.is_some());
    // Structured: units of all but the last layer.
    let mut net = mlp(6);
    let st = IterativePruning {
        method: Method::Structured { n: 2.0, dim: 0 },
        fraction: 0.25,
        rounds: 1,
        epochs_per_round: 0,
    };
    let r = st
        .run(&mut net, &data, &mut fit, &mut StdRng::seed_from_u64(0))
        .unwrap();
    assert_eq!(r[0].pruned, 2 + 1);
    assert!(net.mask("5.weight").is_none());
}

#[test]
fn a_loop_of_your_own_holds_the_masks_with_compute_gradients_and_apply_masks() {
    use crate::optim::{GradientDescent, Optimizer};
    let (x, y) = batch(3);
    let mut net = mlp(7);
    let mut opt = GradientDescent::new(Adam {
        lr: 0.01,
        ..Default::default()
    })
    .unwrap();
    for _ in 0..5 {
        net.compute_gradients(&x, &y, &Loss::softmax_cross_entropy())
            .unwrap();
        opt.step(&mut net.params_mut()).unwrap();
    }
    l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.5)).unwrap();
    for _ in 0..20 {
        net.compute_gradients(&x, &y, &Loss::softmax_cross_entropy())
            .unwrap();
        // The gradients of pruned weights are zero before the step …
        let m = net.mask("0.weight").unwrap().clone();
        let g = net.params_mut()[0].grad.clone();
        assert!(
            m.as_slice()
                .iter()
                .zip(g.as_slice())
                .all(|(m, g)| *m == 1.0 || *g == 0.0)
        );
        opt.step(&mut net.params_mut()).unwrap();
        // … but Adam's momentum still moves them; apply_masks puts them back.
        net.apply_masks();
        assert_masks_hold(&net);
    }
}

/// A user's linear layer with one more parameter: `y = g·x·Wᵀ`.
#[derive(Clone, Debug)]
struct Gated {
    weight: crate::Param<f64>,
    gate: crate::Param<f64>,
    out: Tensor<f64>,
}

impl crate::Layer<f64> for Gated {
    fn kind(&self) -> &'static str {
        "Gated"
    }
    fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> crate::Result<()> {
        *out = x
            .matmul_t(&self.weight.value)?
            .scale(self.gate.value.as_slice()[0]);
        Ok(())
    }
    fn output_shape(&self, input: &[usize]) -> crate::Result<Vec<usize>> {
        Ok(vec![input[0], self.weight.value.shape()[0]])
    }
    fn forward(&mut self, x: &Tensor<f64>, _mode: crate::Mode) -> crate::Result<&Tensor<f64>> {
        let mut out = Tensor::default();
        self.infer(x, &mut out)?;
        self.out = out;
        Ok(&self.out)
    }
    fn backward(&mut self, _dy: &Tensor<f64>) -> crate::Result<&Tensor<f64>> {
        Err(Error::invalid_state("Gated backward", "not needed here"))
    }
    fn weight_matrix(&self) -> Option<&crate::Param<f64>> {
        Some(&self.weight)
    }
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a crate::Param<f64>)) {
        f(&self.weight);
        f(&self.gate);
    }
    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut crate::Param<f64>)) {
        f(&mut self.weight);
        f(&mut self.gate);
    }
}

#[test]
fn a_linear_layer_with_more_parameters_is_not_rebuilt() {
    use crate::{Param, ParamKind};
    let mut net = Network::<f64>::new(3).unwrap();
    let w = Tensor::from_rows(&[[1.0, 2.0, 0.0], [0.5, -1.0, 1.0]]).unwrap();
    net.push(Box::new(Gated {
        weight: Param::new("weight", ParamKind::Weight, w),
        gate: Param::new("gate", ParamKind::Scale, Tensor::from_slice(&[2.0])),
        out: Tensor::default(),
    }))
    .unwrap();
    net.push(Box::new(Activation::relu())).unwrap();
    net.push(Box::new(
        Dense::from_weights(Tensor::from_rows(&[[1.0, 1.0]]).unwrap(), None).unwrap(),
    ))
    .unwrap();
    // Its units are prunable like any weight matrix's …
    ln_structured(&mut net, "0.weight", Amount::Count(1), 2.0, 0).unwrap();
    assert_eq!(
        net.tensor("0.weight").unwrap().as_slice()[3..],
        [0.0, 0.0, 0.0]
    );
    // … but it cannot be rebuilt smaller: an error, and nothing changes.
    let e = remove_pruned_units(&mut net).unwrap_err();
    assert!(e.to_string().contains("layer 0 (Gated)"), "{e}");
    assert_eq!(net.tensor("0.weight").unwrap().shape(), &[2, 3]);
}
