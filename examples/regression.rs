//! A noisy sine, fitted with MSE by a network far larger than 20 points need,
//! once without a penalty and once with L2: the penalty keeps the weights
//! small, the curve smooth and the test error lower.
//!
//! Run with `cargo run --release --example regression`.

use rand::{RngExt, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Normal};
use weightwise::prelude::*;

/// `n` points of y = sin(2πx) + noise, x uniform in [0, 1).
fn noisy_sine(n: usize, noise: f64, rng: &mut StdRng) -> Result<Dataset<f64>> {
    let normal = Normal::new(0.0, noise).expect("valid std");
    let xs: Vec<f64> = (0..n).map(|_| rng.random::<f64>()).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|&x| (std::f64::consts::TAU * x).sin() + normal.sample(rng))
        .collect();
    Dataset::new(
        Tensor::from_vec(xs, &[n, 1])?,
        Tensor::from_vec(ys, &[n, 1])?,
    )
}

fn main() -> weightwise::Result<()> {
    let mut rng = StdRng::seed_from_u64(3);
    let train = noisy_sine(20, 0.25, &mut rng)?;
    let test = noisy_sine(500, 0.25, &mut rng)?;

    println!(
        "{:<12} {:>10} {:>10} {:>10}",
        "penalty", "train MSE", "test MSE", "‖W‖₂"
    );
    for (name, lambda) in [("none", 0.0), ("L2 λ=1e-3", 1e-3), ("L2 λ=1e-2", 1e-2)] {
        let mut net = Network::<f64>::builder(1)
            .dense(64, Init::xavier_uniform_gain(5.0 / 3.0))
            .tanh()
            .dense(64, Init::xavier_uniform_gain(5.0 / 3.0))
            .tanh()
            .dense(1, Init::xavier_uniform())
            .build(&mut StdRng::seed_from_u64(1))?;
        let regularizer = if lambda > 0.0 {
            Some(L2::new(lambda)?.into())
        } else {
            None
        };
        net.fit(
            &train,
            &mut Fit {
                loss: Loss::mse().into(),
                optimizer: Adam {
                    lr: 1e-2,
                    ..Default::default()
                }
                .into(),
                regularizer,
                epochs: 2000,
                batch_size: 20,
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(2),
        )?;
        let norm: f64 = net
            .named_params()
            .iter()
            .filter(|(_, p)| p.kind == ParamKind::Weight)
            .map(|(_, p)| p.value.norm_l2().powi(2))
            .sum::<f64>()
            .sqrt();
        let tr = net.evaluate(&train, &Loss::mse())?.loss;
        let te = net.evaluate(&test, &Loss::mse())?.loss;
        println!("{name:<12} {tr:>10.4} {te:>10.4} {norm:>10.2}");
    }
    println!("\nThe noise variance is 0.0625: a train MSE far below it is memorised noise.");
    Ok(())
}
