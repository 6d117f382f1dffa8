//! The learned behaviour the experiment examples (`weight_decay`,
//! `optimizers`, `learning_rate`, `capacity`, `init_compare`) rely on,
//! scaled down so that each test runs in well under a second in release mode.
//!
//! Every run is seeded, so the figures are deterministic; the margins are
//! wide (a factor or tens of accuracy points where the effect is real), so a
//! regression in the library, not noise, is what makes one fail.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;
use weightwise::prelude::*;

fn digits() -> (Dataset<f32>, Dataset<f32>) {
    datasets::digits::<f32>().expect("embedded digits")
}

fn first(data: &Dataset<f32>, n: usize) -> Dataset<f32> {
    data.select(&(0..n).collect::<Vec<_>>())
        .expect("rows exist")
}

fn mlp(hidden: &[usize], init: Init, seed: u64) -> Network<f32> {
    let mut b = Network::<f32>::builder(64);
    for &h in hidden {
        b = b.dense(h, init).relu();
    }
    b.dense(10, init)
        .build(&mut StdRng::seed_from_u64(seed))
        .expect("valid network")
}

fn sgd(lr: f64) -> Box<dyn Optimizer<f32>> {
    Sgd {
        lr,
        ..Default::default()
    }
    .into()
}

fn weight_norm(net: &Network<f32>) -> f64 {
    net.named_params()
        .iter()
        .filter(|(_, p)| p.kind == ParamKind::Weight)
        .map(|(_, p)| p.value.norm_l2().as_f64().powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Trains a 64-100-100-10 He network on the first 100 training digits with
/// SGD lr 0.05 and batches of 25 for 60 epochs (240 steps), under
/// `regularizer`; returns the network and (train acc, test acc, train loss,
/// test loss) measured in inference mode.
fn small_overfit(regularizer: Option<Regularization<f32>>) -> (Network<f32>, (f64, f64, f64, f64)) {
    let (train, test) = digits();
    let train = first(&train, 100);
    let mut net = mlp(&[100, 100], Init::he_normal(), 1);
    net.fit(
        &train,
        &mut Fit {
            optimizer: sgd(0.05),
            regularizer,
            epochs: 60,
            batch_size: 25,
            ..Default::default()
        },
        &mut StdRng::seed_from_u64(2),
    )
    .expect("training runs");
    let loss = Loss::softmax_cross_entropy();
    let tr = net.evaluate(&train, &loss).expect("scores");
    let te = net.evaluate(&test, &loss).expect("scores");
    let figures = (
        tr.accuracy.expect("classification"),
        te.accuracy.expect("classification"),
        tr.loss,
        te.loss,
    );
    (net, figures)
}

#[test]
fn few_samples_without_penalty_overfit() {
    let (_, (train_acc, test_acc, train_loss, test_loss)) = small_overfit(None);
    // 100 samples are learned (seen: 1.000 train, 0.775 test accuracy;
    // losses 0.057 and 0.72); the 360 unseen digits are not.
    assert!(train_acc >= 0.99, "train accuracy {train_acc}");
    assert!(train_acc - test_acc > 0.15, "gap {train_acc} − {test_acc}");
    assert!(
        test_loss > 5.0 * train_loss,
        "losses {train_loss} {test_loss}"
    );
}

#[test]
fn l2_shrinks_the_weights_and_the_loss_gap() {
    let (plain, (_, _, plain_train, plain_test)) = small_overfit(None);
    let (l2, (_, _, l2_train, l2_test)) = small_overfit(Some(L2::new(0.1).unwrap().into()));
    // Seen: ‖W‖ 21.1 → 7.8; loss gap 0.66 → 0.48. (The *accuracy* gap does
    // not narrow here: L2 at λ = 0.1 costs training and test accuracy alike,
    // as in the weight_decay example.)
    let (n0, n2) = (weight_norm(&plain), weight_norm(&l2));
    assert!(n2 < 0.5 * n0, "‖W‖ with L2 {n2}, without {n0}");
    let (gap0, gap2) = (plain_test - plain_train, l2_test - l2_train);
    assert!(
        gap2 < 0.85 * gap0,
        "loss gap with L2 {gap2}, without {gap0}"
    );
}

#[test]
fn proximal_l1_zeroes_first_layer_weights() {
    let zeros = |net: &Network<f32>| {
        let w = net.tensor("0.weight").expect("first layer");
        w.as_slice().iter().filter(|&&v| v == 0.0).count() as f64 / w.len() as f64
    };
    let (plain, _) = small_overfit(None);
    let (l1, (train_acc, ..)) = small_overfit(Some(L1::new(0.01).unwrap().into()));
    assert_eq!(zeros(&plain), 0.0);
    // The threshold lr·λ = 5e-4 a step over 240 steps removes up to 0.12
    // from a weight the data does not defend (He std for 64 inputs ≈ 0.18);
    // seen: 44.5% exact zeros, training accuracy 0.99.
    let z = zeros(&l1);
    assert!(z > 0.25, "fraction of exact zeros {z}");
    assert!(train_acc > 0.9, "the network still learns: {train_acc}");
}

/// Mean training loss of the last of `epochs` epochs on the first 500 digits
/// (batches of 50) of a He-initialised ReLU network with `hidden` layers.
fn final_loss(
    hidden: &[usize],
    optimizer: Box<dyn Optimizer<f32>>,
    epochs: usize,
) -> weightwise::Result<f64> {
    let (train, _) = digits();
    let train = first(&train, 500);
    let mut net = mlp(hidden, Init::he_normal(), 7);
    let history = net.fit(
        &train,
        &mut Fit {
            optimizer,
            epochs,
            batch_size: 50,
            ..Default::default()
        },
        &mut StdRng::seed_from_u64(8),
    )?;
    Ok(history.last().expect("epochs ran").train_loss)
}

#[test]
fn adam_beats_plain_sgd_after_the_same_steps() {
    // Seen after 100 steps: SGD 1.91, Adam 0.23.
    let sgd_loss = final_loss(&[100, 100], sgd(0.01), 10).unwrap();
    let adam_loss = final_loss(
        &[100, 100],
        Adam {
            lr: 0.001,
            ..Default::default()
        }
        .into(),
        10,
    )
    .unwrap();
    assert!(
        adam_loss < 0.25 * sgd_loss,
        "Adam {adam_loss}, SGD {sgd_loss}"
    );
}

#[test]
fn learning_rates_too_small_good_and_divergent() {
    // 1e-4 barely moves from the starting loss (≈ ln 10 plus the init's
    // spread; seen 2.59 after 100 steps); 0.1 learns (seen 0.23).
    let slow = final_loss(&[100, 100], sgd(1e-4), 10).unwrap();
    let good = final_loss(&[100, 100], sgd(0.1), 10).unwrap();
    assert!(slow > 2.0, "lr 1e-4: {slow}");
    assert!(good < 0.5, "lr 0.1: {good}");
    // 10 overflows within the first epoch in the learning_rate example's
    // four-hidden-layer network (the loss grows ~1e3, ~1e8, ~1e17, then NaN)
    // and is stopped by the guard. (With two hidden layers the ReLUs die
    // instead and the loss stays finite.)
    let err = final_loss(&[100; 4], sgd(10.0), 1).unwrap_err();
    assert!(matches!(err, Error::NonFinite { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("epoch 0") && text.contains("step"),
        "the error names where: {text}"
    );
}

#[test]
fn wide_networks_fit_the_training_set_and_overfit_validation() {
    let (digits, _) = digits();
    let train = first(&digits, 200);
    let val = digits
        .select(&(200..700).collect::<Vec<_>>())
        .expect("rows exist");
    let loss = Loss::softmax_cross_entropy();
    // (final train loss, best validation loss, final validation loss)
    let run = |width: usize| {
        let mut net = mlp(&[width], Init::he_normal(), 11);
        let mut fit = Fit {
            optimizer: Adam {
                lr: 3e-3,
                ..Default::default()
            }
            .into(),
            batch_size: 50,
            ..Default::default()
        };
        let mut shuffle = StdRng::seed_from_u64(12);
        let mut best = f64::INFINITY;
        let mut last = f64::NAN;
        for start in (0..150).step_by(10) {
            fit.initial_epoch = start;
            fit.epochs = start + 10;
            net.fit(&train, &mut fit, &mut shuffle).expect("trains");
            last = net.evaluate(&val, &loss).expect("scores").loss;
            best = best.min(last);
        }
        (
            net.evaluate(&train, &loss).expect("scores").loss,
            best,
            last,
        )
    };
    // 150 epochs of Adam lr 3e-3 in batches of 50 (600 steps).
    let (narrow_train, narrow_best, _) = run(2);
    let (wide_train, wide_best, wide_last) = run(128);
    // Underfit: two units cannot fit 200 digits.
    assert!(narrow_train > 0.5, "width 2 train loss {narrow_train}");
    // Capacity: 128 units fit them almost exactly (seen 0.0012) and do better
    // on validation at their best (0.81)…
    assert!(wide_train < 0.01, "width 128 train loss {wide_train}");
    assert!(
        wide_best < 0.6 * narrow_best,
        "{wide_best} vs {narrow_best}"
    );
    // …but the validation loss climbs after its best epoch (seen to 1.09).
    assert!(
        wide_last > 1.2 * wide_best,
        "{wide_last} vs best {wide_best}"
    );
}

/// Per-layer standard deviation of the activations of 5 dense(100) +
/// `kind` layers initialised by `init`, on 1000×100 standard-normal inputs,
/// from `Network::activation_report`.
fn activation_stds(kind: ActivationKind, init: Init) -> Vec<f64> {
    let mut b = Network::<f64>::builder(100);
    for _ in 0..5 {
        b = b.dense(100, init).activation(Activation::new(kind));
    }
    let mut net = b.build(&mut StdRng::seed_from_u64(100)).unwrap();
    let x = Tensor::random(&[1000, 100], &StandardNormal, &mut StdRng::seed_from_u64(1)).unwrap();
    let report = net.activation_report(&x, 10).unwrap();
    report
        .layers
        .iter()
        .filter(|l| l.activation.is_some())
        .map(|l| l.stats.std)
        .collect()
}

#[test]
fn initialization_sets_the_activation_scale() {
    use ActivationKind::{Relu, Sigmoid};
    // Sigmoid with N(0, 0.01²): every unit outputs ≈ 0.5, std ≈ 0.0125 from
    // layer 2 on (z has std √(100·0.01²·0.25) = 0.05, times σ'(0) = 0.25),
    // where Xavier keeps it above 0.1.
    let tiny = activation_stds(Sigmoid, Init::normal(0.0, 0.01));
    let xavier = activation_stds(Sigmoid, Init::xavier_normal());
    assert!(tiny.iter().all(|&s| s < 0.03), "{tiny:?}");
    assert!(xavier.iter().all(|&s| s > 0.1), "{xavier:?}");
    // ReLU with N(0, 0.01²): each layer scales the std by about
    // 0.01·√100·√½ ≈ 0.07, so five layers shrink it by more than 10⁴.
    let relu_tiny = activation_stds(Relu, Init::normal(0.0, 0.01));
    assert!(
        relu_tiny.windows(2).all(|w| w[1] < 0.2 * w[0]),
        "{relu_tiny:?}"
    );
    assert!(relu_tiny[4] < 1e-4 * relu_tiny[0], "{relu_tiny:?}");
    // He keeps every layer within a factor of 2 of the first.
    let he = activation_stds(Relu, Init::he_normal());
    assert!(
        he.iter().all(|&s| s > 0.5 * he[0] && s < 2.0 * he[0]),
        "{he:?}"
    );
}

/// First-to-last ratio of the weight-gradient norms of a 10-layer stack,
/// from `Network::audit_init`'s seeded standard-normal output gradient.
fn gradient_ratio(kind: ActivationKind, init: Init) -> f64 {
    let mut b = Network::<f64>::builder(100);
    for _ in 0..10 {
        b = b.dense(100, init).activation(Activation::new(kind));
    }
    let mut net = b.build(&mut StdRng::seed_from_u64(200)).unwrap();
    let x = Tensor::random(&[200, 100], &StandardNormal, &mut StdRng::seed_from_u64(1)).unwrap();
    let audit = net.audit_init(&x).unwrap();
    let norms: Vec<f64> = audit
        .layers
        .iter()
        .flat_map(|l| &l.param_grad_norms)
        .filter(|(name, _)| name.ends_with(".weight"))
        .map(|&(_, n)| n)
        .collect();
    assert_eq!(norms.len(), 10);
    norms[0] / norms[9]
}

#[test]
fn small_sigmoid_weights_vanish_the_gradient_he_does_not() {
    // Each sigmoid layer with N(0, 0.01²) multiplies the backward signal by
    // about 0.01·√100·0.25 = 0.025: nine layers give ≈ 4e-15.
    let sigmoid = gradient_ratio(ActivationKind::Sigmoid, Init::normal(0.0, 0.01));
    assert!(sigmoid < 1e-10, "sigmoid N(0, 0.01²): {sigmoid:e}");
    let he = gradient_ratio(ActivationKind::Relu, Init::he_normal());
    assert!((0.5..2.0).contains(&he), "ReLU He: {he}");
}
