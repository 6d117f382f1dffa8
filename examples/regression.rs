//! A noisy sine, fitted with MSE by a network far larger than 20 points need,
//! once without a penalty and once with L2: the penalty keeps the weights
//! small, the curve smooth and the test error lower.
//!
//! Writes one report per run (`report_none.html`, `report_l2_1e-3.html`,
//! `report_l2_1e-2.html`: the curves, the weights over time every 20 epochs,
//! saturated tanh units on the 20 training points, the final weights) into
//! `target/weightwise-out/regression/`, or the folder given as the first
//! argument.
//!
//! Run with `cargo run --release --example regression [-- out-folder]`.

use rand::{RngExt, SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, Normal};
use weightwise::prelude::*;
use weightwise::train::Recording;

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
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/regression".to_string());
    let mut rng = StdRng::seed_from_u64(3);
    let train = noisy_sine(20, 0.25, &mut rng)?;
    let test = noisy_sine(500, 0.25, &mut rng)?;

    println!(
        "{:<12} {:>10} {:>10} {:>10}",
        "penalty", "train MSE", "test MSE", "‖W‖₂"
    );
    let runs = [
        ("none", 0.0, "none"),
        ("L2 λ=1e-3", 1e-3, "l2_1e-3"),
        ("L2 λ=1e-2", 1e-2, "l2_1e-2"),
    ];
    for (name, lambda, slug) in runs {
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
        let history = net.fit(
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
                // A snapshot every 20 epochs (100 in all), saturation on the training points.
                recording: Some(Recording::every(20).with_probe(train.features().clone())),
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
        history
            .report(&net)
            .title(format!("noisy sine, 1-64-64-1 tanh, Adam, penalty {name}"))
            .save(format!("{out}/report_{slug}.html"))?;
    }
    println!("\nThe noise variance is 0.0625: a train MSE far below it is memorised noise.");
    println!("wrote {out}/report_{{none,l2_1e-3,l2_1e-2}}.html");
    Ok(())
}
