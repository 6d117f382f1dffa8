//! Attribution on the digits model: integrated gradients' completeness at
//! the default settings, and agreement with finite differences on a trained
//! network.

use rand::{SeedableRng, rngs::StdRng};
use weightwise::gradcheck::GradCheck;
use weightwise::inspect::attribution::{self, IntegratedGradients};
use weightwise::prelude::*;

/// The digits model of `examples/digits.rs` (64-128-64-10 ReLU, 40 epochs
/// of Adam with L2 1e-4, seed 42).
fn digits_model<T: Scalar>() -> (Network<T>, Dataset<T>) {
    let mut rng = StdRng::seed_from_u64(42);
    let (train, test) = datasets::digits::<T>().unwrap();
    let mut net = Network::<T>::builder(64)
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
            regularizer: Some(L2::new(1e-4).unwrap().into()),
            epochs: 40,
            validation: Some(&test),
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    (net, test)
}

/// The worst completeness residual over the test set at the default settings.
fn worst_residual<T: Scalar>() -> f64 {
    let (mut net, test) = digits_model::<T>();
    let labels = weightwise::data::to_labels(test.targets()).unwrap();
    let black = Tensor::zeros(&[1, 64]).unwrap();
    let ig = attribution::integrated_gradients(
        &mut net,
        test.features(),
        &black,
        &labels,
        &IntegratedGradients::default(),
    )
    .unwrap();
    let worst = ig.max_relative_residual();
    println!(
        "{}: default IG on the {} test digits: max |residual|/|f(x)−f(x')| = {worst:.3e}",
        T::DTYPE,
        labels.len()
    );
    worst
}

#[test]
fn completeness_within_one_percent_at_default_steps_on_digits() {
    assert!(worst_residual::<f64>() <= 0.01);
    assert!(worst_residual::<f32>() <= 0.01);
}

#[test]
fn saliency_of_the_trained_model_matches_finite_differences() {
    let (mut net, test) = digits_model::<f64>();
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
