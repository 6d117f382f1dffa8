//! What the bias is for: one neuron, with and without it.
//!
//! The data: 40 numbers `x` drawn uniformly from [0, 4], labelled 1 when
//! `x > 2` and 0 otherwise, so the boundary between the classes sits at
//! `x = 2`, away from the origin. The model: a single neuron
//! `p = σ(w·x + b)` (a dense layer of one unit, binary cross-entropy on its
//! logit), trained by full-batch gradient descent (lr 0.5, 2,000 steps) twice
//! from the same weight: once with the bias `b`, once without it
//! (`dense_without_bias`, so `p = σ(w·x)`).
//!
//! Without a bias the logit is `w·0 = 0` at `x = 0` whatever `w` is, so the
//! neuron outputs exactly 0.5 there and its decision boundary (`p = 0.5`) is
//! pinned to the origin: with every `x` positive, all it can choose is to
//! call every sample 1 (`w > 0`) or every sample 0 (`w < 0`). With a bias
//! the boundary moves to `x = −b/w`, and the neuron separates the classes.
//!
//! What the runs show (seeds 1 to 5, checked by `tests/experiments.rs`;
//! the example runs seed 1, or the seed given): with the bias, the
//! boundary `−b/w` lands within 0.25 of 2 (1.87 to 2.06) and the training
//! accuracy is at least 0.95 (0.975 to 1); without it, `p(0) = 0.5`
//! exactly, the fit ends with `w > 0` (the large `x` of class 1 pull
//! hardest), every sample is called class 1 and the accuracy is class 1's
//! share of the samples (0.40 to 0.575).
//!
//! Writes `bias.svg` (the samples at p = 0 and p = 1 and both fitted curves
//! `p(x)`) into the folder given as the first argument (default
//! `target/weightwise-out/bias/`).
//!
//! Run with `cargo run --release --example bias [-- out-folder [seed]]`.

use rand::{RngExt, SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::svg::{self, LineChartOptions, Series, TABLEAU10};

/// Samples.
const N: usize = 40;
/// Where the classes meet.
const BOUNDARY: f64 = 2.0;
/// Gradient-descent steps (full batch) and their rate.
const STEPS: usize = 2000;
const LR: f64 = 0.5;

/// `x` uniform in [0, 4], sorted, and the labels `x > BOUNDARY`.
fn data(seed: u64) -> Result<(Tensor<f64>, Tensor<f64>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x: Vec<f64> = (0..N).map(|_| rng.random_range(0.0..4.0)).collect();
    x.sort_by(f64::total_cmp);
    let y: Vec<f64> = x
        .iter()
        .map(|&v| f64::from(u8::from(v > BOUNDARY)))
        .collect();
    Ok((Tensor::from_vec(x, &[N, 1])?, Tensor::from_vec(y, &[N, 1])?))
}

/// One fitted neuron.
struct Neuron {
    w: f64,
    b: Option<f64>,
    loss: f64,
    accuracy: f64,
    net: Network<f64>,
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// Trains `σ(w·x [+ b])` from the same initial `w` (drawn from `seed`).
fn fit(with_bias: bool, x: &Tensor<f64>, y: &Tensor<f64>, seed: u64) -> Result<Neuron> {
    let b = Network::<f64>::builder(1);
    let b = if with_bias {
        b.dense(1, Init::xavier_uniform())
    } else {
        b.dense_without_bias(1, Init::xavier_uniform())
    };
    let mut net = b.build(&mut StdRng::seed_from_u64(seed + 100))?;
    let loss = Loss::binary_cross_entropy();
    let mut opt = weightwise::optim::GradientDescent::<f64>::new(Sgd {
        lr: LR,
        ..Default::default()
    })?;
    for _ in 0..STEPS {
        net.compute_gradients(x, y, &loss)?;
        opt.step(&mut net.params_mut())?;
    }
    let loss = net.compute_gradients(x, y, &loss)?;
    let logits = net.predict(x)?;
    let correct = logits
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .filter(|&(&z, &t)| (z > 0.0) == (t > 0.5))
        .count();
    let w = net.tensor("0.weight")?.as_slice()[0];
    let b = net.tensor("0.bias").ok().map(|t| t.as_slice()[0]);
    Ok(Neuron {
        w,
        b,
        loss,
        accuracy: correct as f64 / N as f64,
        net,
    })
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/bias".to_string());
    let seed = match std::env::args().nth(2) {
        Some(a) => a
            .parse()
            .map_err(|_| Error::invalid_arg("seed (second argument)", a, "not an integer"))?,
        None => 1,
    };
    let (x, y) = data(seed)?;
    let ones = y.as_slice().iter().filter(|&&t| t > 0.5).count();
    println!(
        "{N} samples x ~ U[0, 4], label 1 when x > {BOUNDARY} ({ones} of them); \
         one neuron, binary cross-entropy, gradient descent lr {LR}, {STEPS} steps\n"
    );
    println!(
        "{:<14} {:>8} {:>8} {:>10} {:>8} {:>9} {:>9}",
        "", "w", "b", "boundary", "p(0)", "loss", "accuracy"
    );
    let fits = [
        ("with bias", fit(true, &x, &y, seed)?),
        ("without bias", fit(false, &x, &y, seed)?),
    ];
    for (name, f) in &fits {
        let b = f.b.unwrap_or(0.0);
        println!(
            "{name:<14} {:>8.3} {:>8} {:>10.3} {:>8.3} {:>9.4} {:>9.3}",
            f.w,
            f.b.map_or("—".to_string(), |b| format!("{b:.3}")),
            // `+ 0.0` turns −0 (no bias) into 0.
            -b / f.w + 0.0,
            sigmoid(b),
            f.loss,
            f.accuracy
        );
    }
    println!(
        "\nboundary = −b/w, where p = 0.5; p(0) = σ(b). Without a bias p(0) is \
         0.5 whatever w is, so the boundary cannot leave x = 0."
    );

    // The samples at their labels, and p(x) of both neurons on a fine grid.
    let xs = x.as_slice();
    let class = |c: f64| -> Vec<(f64, f64)> {
        xs.iter()
            .zip(y.as_slice())
            .filter(|&(_, &t)| t == c)
            .map(|(&v, &t)| (v, t))
            .collect()
    };
    let grid: Vec<f64> = (0..=80).map(|i| i as f64 * 0.05).collect();
    let gx = Tensor::from_vec(grid.clone(), &[grid.len(), 1])?;
    let mut series = vec![
        Series::new("class 0 samples", class(0.0)),
        Series::new("class 1 samples", class(1.0)),
    ];
    for (name, f) in &fits {
        let p = f.net.predict(&gx)?;
        let points = grid
            .iter()
            .zip(p.as_slice())
            .map(|(&g, &z)| (g, sigmoid(z)))
            .collect();
        series.push(Series::new(format!("p(x) {name}"), points));
    }
    series.push(Series::new("p = 0.5", vec![(0.0, 0.5), (4.0, 0.5)]).dashed());
    let chart = svg::line_chart_with(
        &series,
        "One neuron p = σ(w·x + b), with and without the bias b",
        "x",
        "p(class 1)",
        &LineChartOptions {
            colors: vec![
                TABLEAU10[0],
                TABLEAU10[1],
                TABLEAU10[2],
                TABLEAU10[3],
                TABLEAU10[7],
            ],
            ..Default::default()
        },
    )?;
    let path = format!("{out}/bias.svg");
    chart.save(&path)?;
    println!("wrote {path}");
    Ok(())
}
