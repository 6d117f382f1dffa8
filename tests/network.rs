//! Integration tests of `Network`: building, naming, loading, the summary,
//! and finite-difference checks of whole networks with every activation.

mod common;

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;
use weightwise::gradcheck::{self, GradCheck};
use weightwise::layer::Mode;
use weightwise::loss::Loss;
use weightwise::prelude::*;

fn batch(rows: usize, cols: usize, seed: u64) -> Tensor<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::random(&[rows, cols], &Uniform::new(-1.0, 1.0).unwrap(), &mut rng).unwrap()
}

/// Adds one activation to a builder.
type AddActivation = fn(NetworkBuilder<f64>) -> NetworkBuilder<f64>;

fn three_layers(activation: AddActivation) -> Network<f64> {
    let b = Network::<f64>::builder(3).dense(5, Init::xavier_normal());
    let b = activation(b).dense(4, Init::xavier_normal());
    activation(b)
        .dense(2, Init::xavier_normal())
        .build(&mut StdRng::seed_from_u64(11))
        .unwrap()
}

#[test]
fn every_activation_passes_the_network_gradient_check() {
    let builders: [(&str, AddActivation); 7] = [
        ("relu", |b| b.relu()),
        ("leaky_relu", |b| b.leaky_relu(0.1)),
        ("elu", |b| b.elu(1.0)),
        ("gelu", |b| b.gelu()),
        ("sigmoid", |b| b.sigmoid()),
        ("tanh", |b| b.tanh()),
        ("softmax", |b| b.softmax()),
    ];
    let x = batch(6, 3, 1);
    let classes = Tensor::from_slice(&[0.0, 1.0, 1.0, 0.0, 1.0, 0.0]);
    for (name, act) in builders {
        let mut net = three_layers(act);
        let report =
            gradcheck::network(&mut net, &Loss::softmax_cross_entropy(), &x, &classes).unwrap();
        assert!(report.max_rel_error < 1e-6, "{name}: {report}");
        assert!(report.checked > 50, "{name}: {report}");
    }
}

#[test]
fn gradient_check_covers_dropout_free_batch_norm_network_and_mse() {
    let mut net = Network::<f64>::builder(3)
        .dense(6, Init::he_normal())
        .batch_norm()
        .tanh()
        .dense(2, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(3))
        .unwrap();
    let x = batch(5, 3, 2);
    let y = batch(5, 2, 3);
    let report = GradCheck::default()
        .network(&mut net, &Loss::mse(), &x, &y)
        .unwrap();
    assert!(report.max_rel_error < 1e-6, "{report}");
}

#[test]
fn the_checker_catches_a_wrong_gradient() {
    let net = three_layers(|b| b.tanh());
    let x = batch(4, 3, 5);
    let y = batch(4, 2, 6);
    // Compute correct gradients, then corrupt the network's weights after the
    // analytic pass would be taken: instead check a deliberately wrong loss
    // gradient through `GradCheck::function`.
    let loss = Loss::mse();
    let mut grad = Tensor::default();
    let pred = net.predict(&x).unwrap();
    loss.loss_and_grad(&pred, &y, &mut grad).unwrap();
    let wrong = grad.scale(1.01);
    let report = GradCheck::default()
        .function(|p| loss.loss(p, &y), &pred, &wrong)
        .unwrap();
    assert!(report.max_rel_error > 1e-3, "{report}");
}

#[test]
fn names_follow_pytorch_sequential_and_tensors_can_be_set() {
    let mut net = Network::<f32>::builder(4)
        .dense(8, Init::he_uniform())
        .relu()
        .dense(3, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap();
    let names: Vec<String> = net.named_params().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert_eq!(net.tensor("0.weight").unwrap().shape(), &[8, 4]);
    assert_eq!(net.tensor("2.bias").unwrap().shape(), &[3]);
    assert_eq!(net.num_params(), 8 * 4 + 8 + 3 * 8 + 3);

    let w = Tensor::full(&[3, 8], 0.5f32).unwrap();
    net.set_tensor("2.weight", &w).unwrap();
    assert_eq!(net.tensor("2.weight").unwrap(), &w);

    let err = net
        .set_tensor("2.weight", &Tensor::zeros(&[8, 3]).unwrap())
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("set_tensor: left is 3×8, right is 8×3"),
        "{err}"
    );
    let err = net.tensor("1.weight").unwrap_err().to_string();
    assert!(
        err.contains("'1.weight'") && err.contains("0.weight, 0.bias"),
        "{err}"
    );
    assert!(net.set_tensor("nonsense", &w).is_err());
    assert!(net.set_tensor("9.weight", &w).is_err());
}

#[test]
fn same_seed_same_network() {
    let build = |seed| {
        Network::<f64>::builder(5)
            .dense(7, Init::he_normal())
            .relu()
            .dropout(0.3)
            .dense(2, Init::xavier_normal())
            .build(&mut StdRng::seed_from_u64(seed))
            .unwrap()
    };
    let (mut a, mut b, c) = (build(9), build(9), build(10));
    assert_eq!(a.tensor("0.weight").unwrap(), b.tensor("0.weight").unwrap());
    assert_ne!(a.tensor("0.weight").unwrap(), c.tensor("0.weight").unwrap());
    let x = batch(4, 5, 1);
    // Dropout masks come from seeds drawn at build time: identical too.
    let ya = a.forward(&x, Mode::Train).unwrap().clone();
    let yb = b.forward(&x, Mode::Train).unwrap().clone();
    assert_eq!(ya, yb);
}

#[test]
fn summary_lists_layers_shapes_and_parameters() {
    let net = common::digits_mlp::<f32>(128, &mut StdRng::seed_from_u64(0));
    let s = net.to_string();
    assert!(s.contains("Dense      (batch, 128)         8,320"), "{s}");
    assert!(s.contains("ReLU       (batch, 128)             0"), "{s}");
    assert!(s.contains("Dense      (batch, 10)          1,290"), "{s}");
    assert!(s.ends_with("total parameters: 9,610"), "{s}");
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let mut rng = StdRng::seed_from_u64(0);
    assert!(
        Network::<f32>::builder(0)
            .dense(3, Init::he_normal())
            .build(&mut rng)
            .is_err()
    );
    assert!(
        Network::<f32>::builder(3)
            .dense(0, Init::he_normal())
            .build(&mut rng)
            .is_err()
    );
    assert!(
        Network::<f32>::builder(3)
            .leaky_relu(-1.0)
            .build(&mut rng)
            .is_err()
    );
    assert!(
        Network::<f32>::builder(3)
            .dropout(1.5)
            .build(&mut rng)
            .is_err()
    );
    assert!(
        Network::<f32>::builder(3)
            .dense(2, Init::normal(0.0, -1.0))
            .build(&mut rng)
            .is_err()
    );

    let mut net = Network::<f32>::builder(3)
        .dense(2, Init::he_normal())
        .build(&mut rng)
        .unwrap();
    let err = net
        .forward(&Tensor::zeros(&[4, 5]).unwrap(), Mode::Eval)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Network forward: shape 4×5 is invalid: the network takes a batch [n, 3]"),
        "{err}"
    );
    assert!(
        net.forward(&Tensor::zeros(&[3]).unwrap(), Mode::Eval)
            .is_err()
    );
    let mut fresh = Network::<f32>::builder(3)
        .dense(2, Init::he_normal())
        .build(&mut rng)
        .unwrap();
    assert!(matches!(
        fresh.backward(&Tensor::zeros(&[1, 2]).unwrap()),
        Err(Error::InvalidState { .. })
    ));
    net.forward(&Tensor::zeros(&[4, 3]).unwrap(), Mode::Train)
        .unwrap();
    assert!(matches!(
        net.backward(&Tensor::zeros(&[4, 3]).unwrap()),
        Err(Error::ShapeMismatch { .. })
    ));
    let y = Tensor::from_slice(&[0.0f32, 1.0, 2.0, 0.0]);
    assert!(
        net.compute_gradients(
            &Tensor::zeros(&[4, 3]).unwrap(),
            &y,
            &Loss::softmax_cross_entropy()
        )
        .is_err(),
        "class 2 is out of range for 2 outputs"
    );
}

#[test]
fn backward_params_gives_the_same_parameter_gradients_as_backward() {
    let mut net = three_layers(|b| b.tanh());
    let x = batch(4, 3, 8);
    let dy = batch(4, 2, 9);
    net.zero_grad();
    net.forward(&x, Mode::Train).unwrap();
    net.backward(&dy).unwrap();
    let full: Vec<Tensor<f64>> = net
        .named_params()
        .iter()
        .map(|(_, p)| p.grad.clone())
        .collect();
    net.zero_grad();
    net.forward(&x, Mode::Train).unwrap();
    net.backward_params(&dy).unwrap();
    let params_only: Vec<Tensor<f64>> = net
        .named_params()
        .iter()
        .map(|(_, p)| p.grad.clone())
        .collect();
    assert_eq!(full, params_only);
    assert!(full.iter().all(|g| g.norm_l2() > 0.0));
    let mut empty = Network::<f64>::new(3).unwrap();
    assert!(empty.backward_params(&dy).is_ok());
    let mut fresh = three_layers(|b| b.relu());
    assert!(
        fresh.backward_params(&dy).is_err(),
        "before any forward pass"
    );
}

#[test]
fn a_mismatched_layer_swapped_in_gives_errors_not_panics() {
    let mut net = three_layers(|b| b.relu());
    let wrong =
        Dense::<f64>::new(7, 2, &Init::xavier_uniform(), &mut StdRng::seed_from_u64(0)).unwrap();
    net.layers_mut()[2] = Box::new(wrong);
    let summary = net.to_string();
    assert!(summary.contains("(batch, ?)"), "{summary}");
    assert_eq!(net.outputs(), 5);
    assert!(net.forward(&batch(2, 3, 0), Mode::Eval).is_err());
}
