//! SGD, momentum, AdaGrad, RMSProp and Adam side by side, after *Deep
//! Learning from Scratch* §6.1.8 (`optimizer_compare_mnist.py`), on the 8×8
//! digits instead of MNIST.
//!
//! One network, 64 → 4 × (100 ReLU) → 10 with He-normal weights (the book's
//! 784-100-100-100-100-10, scaled to 64 inputs), is built five times from the
//! same seed, so every optimizer starts from identical weights. Each then
//! takes 500 steps on the same mini-batches: 128 rows drawn with replacement
//! from the 1,437 training digits per step, as the book's
//! `np.random.choice(train_size, batch_size)`, from one seeded generator.
//! The learning rates are the book's: 0.01 for SGD, momentum (μ = 0.9),
//! AdaGrad and RMSProp (α = 0.99), and 0.001 for Adam (β = 0.9, 0.999); the
//! update formulas are PyTorch's (see `weightwise::optim`).
//!
//! The loop is written by hand (`compute_gradients`, then
//! `optimizer.step(&mut net.params_mut())`) so that the loss of **every
//! step** is recorded, not only a mean per epoch. The chart smooths each curve
//! with a centred 11-step moving average, as the book's `smooth_curve` does
//! before plotting; the table gives the mean raw loss over the 25 steps
//! ending at each checkpoint, then the test accuracy after 500 steps.
//!
//! Writes `optimizers_loss.svg` into the folder given as the first argument
//! (default `target/weightwise-out/optimizers/`).
//!
//! Run with `cargo run --release --example optimizers [-- out-folder]`.

use std::time::Instant;

use rand::{RngExt, SeedableRng, rngs::StdRng};
use weightwise::optim::{Algorithm, GradientDescent};
use weightwise::prelude::*;
use weightwise::svg::{self, LineChartOptions, Series};

const STEPS: usize = 500;
const BATCH: usize = 128;
/// Steps averaged for each table entry.
const WINDOW: usize = 25;
/// Width of the centred moving average drawn in the chart.
const SMOOTH: usize = 11;

fn network() -> Result<Network<f32>> {
    let mut b = Network::<f32>::builder(64);
    for _ in 0..4 {
        b = b.dense(100, Init::he_normal()).relu();
    }
    b.dense(10, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(7))
}

/// The loss of every step of `algorithm` on the shared batch sequence.
fn run(algorithm: Algorithm, train: &Dataset<f32>, test: &Dataset<f32>) -> Result<(Vec<f64>, f64)> {
    let mut net = network()?;
    let mut opt = GradientDescent::<f32>::new(algorithm)?;
    let mut batches = StdRng::seed_from_u64(8);
    let loss = Loss::softmax_cross_entropy();
    let (mut x, mut y) = (Tensor::default(), Tensor::default());
    let mut indices = vec![0usize; BATCH];
    let mut losses = Vec::with_capacity(STEPS);
    for step in 0..STEPS {
        indices
            .iter_mut()
            .for_each(|i| *i = batches.random_range(0..train.len()));
        train.batch_into(&indices, &mut x, &mut y)?;
        let l = net.compute_gradients(&x, &y, &loss)?.as_f64();
        if !l.is_finite() {
            return Err(Error::non_finite(format!("loss at step {step}")));
        }
        opt.step(&mut net.params_mut())?;
        losses.push(l);
    }
    let acc = net.evaluate(test, &loss)?.accuracy.unwrap_or(f64::NAN);
    Ok((losses, acc))
}

/// Centred moving average over `width` points (fewer at the ends).
fn smooth(ys: &[f64], width: usize) -> Vec<f64> {
    let half = width / 2;
    (0..ys.len())
        .map(|i| {
            let w = &ys[i.saturating_sub(half)..(i + half + 1).min(ys.len())];
            w.iter().sum::<f64>() / w.len() as f64
        })
        .collect()
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/optimizers".to_string());
    let start = Instant::now();
    let (train, test) = datasets::digits::<f32>()?;
    let optimizers: [(&str, Algorithm); 5] = [
        (
            "SGD lr 0.01",
            Sgd {
                lr: 0.01,
                ..Default::default()
            }
            .into(),
        ),
        (
            "Momentum lr 0.01 μ 0.9",
            Sgd {
                lr: 0.01,
                momentum: 0.9,
                ..Default::default()
            }
            .into(),
        ),
        (
            "AdaGrad lr 0.01",
            AdaGrad {
                lr: 0.01,
                ..Default::default()
            }
            .into(),
        ),
        (
            "RMSProp lr 0.01",
            RmsProp {
                lr: 0.01,
                ..Default::default()
            }
            .into(),
        ),
        (
            "Adam lr 0.001",
            Adam {
                lr: 0.001,
                ..Default::default()
            }
            .into(),
        ),
    ];
    println!(
        "{} training digits, batches of {BATCH} drawn with replacement, {STEPS} steps; \
         64-100×4-10 ReLU, He init, same initial weights for all\n",
        train.len()
    );
    let checkpoints = [WINDOW, 100, 200, 300, 400, STEPS];
    print!("{:<24}", "mean loss of steps …");
    for c in checkpoints {
        print!(" {:>9}", format!("{}–{c}", c - WINDOW + 1));
    }
    println!(" {:>9}", "test acc");

    let mut series = Vec::new();
    for (name, algorithm) in optimizers {
        let (losses, acc) = run(algorithm, &train, &test)?;
        print!("{name:<24}");
        for c in checkpoints {
            let mean = losses[c - WINDOW..c].iter().sum::<f64>() / WINDOW as f64;
            print!(" {mean:>9.4}");
        }
        println!(" {acc:>9.3}");
        series.push(Series::from_ys(name, &smooth(&losses, SMOOTH)));
    }

    let chart = svg::line_chart_with(
        &series,
        &format!("Training loss per step ({SMOOTH}-step moving average), digits"),
        "step",
        "cross-entropy loss",
        &LineChartOptions {
            log_y: true,
            ..Default::default()
        },
    )?;
    let path = format!("{out}/optimizers_loss.svg");
    chart.save(&path)?;
    println!("\nwrote {path}\n{:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
