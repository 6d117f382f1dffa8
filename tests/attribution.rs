//! Attribution on the digits model: integrated gradients' completeness at
//! the default settings, and agreement with finite differences on a trained
//! network.

use rand::{SeedableRng, rngs::StdRng};
use weightwise::gradcheck::GradCheck;
use weightwise::inspect::attribution::{self, IntegratedGradients};
use weightwise::prelude::*;

/// The digits model of the README (64-128-64-10 ReLU), trained briefly.
fn digits_model() -> (Network<f64>, Dataset<f64>) {
    let mut rng = StdRng::seed_from_u64(42);
    let (train, test) = datasets::digits::<f64>().unwrap();
    let mut net = Network::<f64>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    net.fit(
        &train,
        &mut Fit {
            optimizer: Adam {
                lr: 1e-3,
                ..Default::default()
            }
            .into(),
            epochs: 20,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    (net, test)
}

#[test]
fn completeness_within_one_percent_at_default_steps_on_digits() {
    let (mut net, test) = digits_model();
    let x = test.features().clone();
    let classes = net.predict(&x).unwrap().argmax_per_row().unwrap();
    let black = Tensor::zeros(&[1, 64]).unwrap();
    let ig = attribution::integrated_gradients(
        &mut net,
        &x,
        &black,
        &classes,
        &IntegratedGradients::default(),
    )
    .unwrap();
    let worst = ig.max_relative_residual();
    println!(
        "default IG on the {} test digits: max |residual|/|f(x)−f(x')| = {worst:.3e}",
        x.shape()[0]
    );
    assert!(worst <= 0.01, "{worst}");
}

#[test]
fn saliency_of_the_trained_model_matches_finite_differences() {
    let (mut net, test) = digits_model();
    let x = test.features().rows(0..4).unwrap();
    let targets = [3, 0, 7, 9];
    let g = attribution::saliency(&mut net, &x, &targets[..]).unwrap();
    let f = |xp: &Tensor<f64>| -> weightwise::Result<f64> {
        let y = net.predict(xp)?;
        Ok((0..4).map(|i| y.as_slice()[i * 10 + targets[i]]).sum())
    };
    let r = GradCheck::default().function(f, &x, &g).unwrap();
    assert!(r.max_rel_error < 1e-6, "{r}");
    assert_eq!(r.checked, 4 * 64);
}
