//! The learning rate, from far too small to far too large: plain SGD on the
//! digits with rates 1e-4, 1e-3, 1e-2, 1e-1, 1 and 10.
//!
//! The network is the one of the `optimizers` example, 64 → 4 × (100 ReLU) →
//! 10 with He-normal weights, built from the same seed for every rate; each
//! rate trains for 20 epochs on the 1,437 training digits in shuffled
//! mini-batches of 64 (23 steps an epoch, the same order for every rate) with
//! `Network::fit`, and the 360 test digits are scored after every epoch.
//!
//! What to look for (the ranges are over seeds 1 to 5 of the weights and
//! the batch order, checked by `tests/experiments.rs`; the example runs
//! seed 1):
//!
//! - **The starting loss** is not ln 10 ≈ 2.30 but about 2.4 to 2.7 (2.43 to
//!   2.63 before the first step; 2.56 for seed 1, whose first epoch at 1e-4
//!   averages 2.54). ln 10 is the cross-entropy of ten *equal* logits, which
//!   an output layer of zeros would give exactly. He-normal weights give the
//!   ten logits of a digit a random spread (their variance within a row
//!   averages 0.27 to 0.71 over the seeds), and for logits that differ at
//!   random the log-sum-exp grows with the spread while the true class's
//!   logit does not on average, so the loss is higher: about
//!   ln 10 + ½·variance (within 0.2 of it).
//! - **1e-4** barely moves from there (down by less than 0.3 in 20 epochs,
//!   test accuracy below 0.25); **1e-3** moves slowly (still above 1.5 after
//!   20 epochs, test accuracy 0.4 to 0.5); **1e-2** and **1e-1** learn (below
//!   0.4 and below 0.1, test accuracy above 0.9 and above 0.95).
//! - **1** overshoots. Depending on the seed it overflows in the first
//!   epoch (2 of the 5 seeds), or the run survives with most units of some
//!   hidden layer dead (80% to 100%) and a test accuracy of at most 0.31, as
//!   seed 1 does. The table's last column, from `Network::activation_report`
//!   on the test digits after training, gives the fraction of each hidden
//!   layer's ReLU units that output zero for every digit: a network whose
//!   units are all dead outputs the same prediction for every input.
//! - **10** overflows within the first epoch for every seed.
//!
//! A rate whose loss or gradients
//! overflow is stopped by the fit loop's non-finite guard, whose
//! `Error::NonFinite` names the epoch, the step and, for a gradient, the
//! layer; the example prints that error and draws the epochs completed
//! before it.
//!
//! Because a divergent run may not finish a single epoch, the first epoch is
//! also replayed step by step with a hand-written loop (`compute_gradients`,
//! then `optimizer.step`) on the same shuffled batches, so the chart's second
//! panel shows the loss of each of its 23 steps; a NaN or infinite loss ends
//! that line.
//!
//! Writes `learning_rate_loss.svg` (per epoch, and the first epoch per step)
//! and, for each rate whose run completes, `report_lr_<rate>.html` (the run
//! on one page: curves, weights over time, dead units per layer, final
//! weights; e.g. `report_lr_1e-1.html`) into the folder given as the first argument (default
//! `target/weightwise-out/learning_rate/`).
//!
//! Run with `cargo run --release --example learning_rate [-- out-folder]`.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::{SeedableRng, rngs::StdRng};
use weightwise::optim::GradientDescent;
use weightwise::prelude::*;
use weightwise::svg::{self, LineChartOptions, Series};
use weightwise::train::Recording;

const RATES: [f64; 6] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
const EPOCHS: usize = 20;
const BATCH: usize = 64;
/// Seeds the initial weights, and the batch order via `SEED + 1000`.
const SEED: u64 = 1;

fn network() -> Result<Network<f32>> {
    let mut b = Network::<f32>::builder(64);
    for _ in 0..4 {
        b = b.dense(100, Init::he_normal()).relu();
    }
    b.dense(10, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(SEED))
}

/// What one rate did.
struct Run {
    /// The epochs completed.
    records: Vec<EpochRecord>,
    /// The error that stopped training, if any.
    error: Option<Error>,
    /// Per hidden ReLU layer, the fraction of units that output zero for
    /// every test digit after training (`None` when training was stopped).
    dead_units: Option<Vec<f64>>,
}

/// Trains at rate `lr`; a run that completes writes its report into `out`.
fn run(lr: f64, train: &Dataset<f32>, test: &Dataset<f32>, out: &str) -> Result<Run> {
    let mut net = network()?;
    // The weights over time for the report: a snapshot every epoch, and dead
    // units on 64 training digits.
    let probe = train.features().rows(0..64)?;
    let mut records = Vec::new();
    let mut keep = |e: &EpochRecord| {
        records.push(e.clone());
        Control::CONTINUE
    };
    let result = net.fit(
        train,
        &mut Fit {
            optimizer: Sgd {
                lr,
                ..Default::default()
            }
            .into(),
            epochs: EPOCHS,
            batch_size: BATCH,
            validation: Some(test),
            on_epoch: Some(&mut keep),
            recording: Some(Recording::every(1).with_probe(probe)),
            ..Default::default()
        },
        &mut StdRng::seed_from_u64(SEED + 1000),
    );
    match result {
        Ok(history) => {
            history
                .report(&net)
                .title(format!("64-100×4-10 ReLU on digits, SGD lr {lr:e}"))
                .image_shape((8, 8))
                .save(format!("{out}/report_lr_{lr:e}.html"))?;
            let report = net.activation_report(test.features(), 10)?;
            let dead = report.layers.iter().filter_map(|l| l.dead_units).collect();
            Ok(Run {
                records,
                error: None,
                dead_units: Some(dead),
            })
        }
        Err(e @ Error::NonFinite { .. }) => Ok(Run {
            records,
            error: Some(e),
            dead_units: None,
        }),
        Err(e) => Err(e),
    }
}

/// The loss of every step of the first epoch, in `fit`'s batch order (a
/// fresh permutation of the rows drawn from the same seed), up to and
/// including the first non-finite one.
fn first_epoch_per_step(lr: f64, train: &Dataset<f32>) -> Result<Vec<f64>> {
    let mut net = network()?;
    let mut opt = GradientDescent::<f32>::new(Sgd {
        lr,
        ..Default::default()
    })?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(SEED + 1000));
    let (mut x, mut y) = (Tensor::default(), Tensor::default());
    let mut losses = Vec::new();
    for batch in order.chunks(BATCH) {
        train.batch_into(batch, &mut x, &mut y)?;
        let l = net
            .compute_gradients(&x, &y, &Loss::softmax_cross_entropy())?
            .as_f64();
        losses.push(l);
        if !l.is_finite() {
            break;
        }
        opt.step(&mut net.params_mut())?;
    }
    Ok(losses)
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/learning_rate".to_string());
    let start = Instant::now();
    let (train, test) = datasets::digits::<f32>()?;
    println!(
        "{} training digits, batches of {BATCH}, {EPOCHS} epochs of plain SGD; \
         64-100×4-10 ReLU, He init, same initial weights for every rate\n",
        train.len()
    );
    let before = network()?
        .evaluate(&train, &Loss::softmax_cross_entropy())?
        .loss;
    println!(
        "training loss before any step: {before:.4} (ln 10 = {:.4}; see the module docs for why it is higher)\n",
        10f64.ln()
    );
    let shown = [1, 2, 5, 10, 20];
    print!("{:>7}", "lr");
    for e in shown {
        print!(" {:>9}", format!("epoch {e}"));
    }
    println!(
        " {:>9} {:>9}  dead ReLU units, layers 1–4",
        "test loss", "test acc"
    );

    let mut series = Vec::new();
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    for lr in RATES {
        let Run {
            records,
            error,
            dead_units,
        } = run(lr, &train, &test, &out)?;
        print!("{lr:>7}");
        for e in shown {
            match records.get(e - 1) {
                Some(r) => print!(" {:>9.4}", r.train_loss),
                None => print!(" {:>9}", "—"),
            }
        }
        match (records.last(), &dead_units) {
            (Some(r), Some(dead)) => {
                let dead: Vec<String> = dead.iter().map(|d| format!("{:.0}%", 100.0 * d)).collect();
                println!(
                    " {:>9.4} {:>9.3}  {}",
                    r.val_loss.unwrap_or(f64::NAN),
                    r.val_accuracy.unwrap_or(f64::NAN),
                    dead.join(" ")
                )
            }
            _ => println!(" {:>9} {:>9}", "stopped", ""),
        }
        let mut name = format!("SGD lr {lr}: training loss");
        if let Some(e) = &error {
            name.push_str(&format!(
                " (non-finite in epoch {}: no point drawn for it)",
                records.len() + 1
            ));
            errors.push((lr, e.to_string()));
        }
        let points = records
            .iter()
            .map(|r| (r.epoch as f64 + 1.0, r.train_loss))
            .collect();
        series.push(Series::new(name, points));
        let per_step = first_epoch_per_step(lr, &train)?;
        if let Some(first) = records.first() {
            // The replay takes the same steps as fit's first epoch.
            // fit's epoch loss weights each batch by its rows.
            let rows = |k: usize| BATCH.min(train.len() - k * BATCH) as f64;
            let sum: f64 = per_step.iter().enumerate().map(|(k, l)| l * rows(k)).sum();
            let mean = sum / train.len() as f64;
            if (mean - first.train_loss).abs() > 1e-9 * first.train_loss.abs() {
                return Err(Error::invalid_state(
                    "learning_rate example",
                    format!(
                        "the step-by-step replay (mean loss {mean}) differs from fit's \
                         first epoch ({})",
                        first.train_loss
                    ),
                ));
            }
        }
        steps.push(Series::from_ys(format!("lr {lr}"), &per_step));
    }
    println!();
    for (lr, e) in &errors {
        println!("lr {lr}: {e}");
    }

    // A divergent run's loss reaches 1e15 and would flatten every healthy
    // curve on the bottom: show losses up to 100× the largest first-epoch
    // loss (ln 10 ≈ 2.3 is chance here) and say that higher points are cut.
    let first_max = series
        .iter()
        .chain(&steps)
        .filter_map(|s| s.points.first().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let log_y = LineChartOptions {
        log_y: true,
        y_max: Some(100.0 * first_max),
        ..Default::default()
    };
    let per_epoch = svg::line_chart_with(
        &series,
        "Training loss per epoch, plain SGD at six learning rates",
        "epoch",
        "mean training loss",
        &log_y,
    )?;
    let per_step = svg::line_chart_with(
        &steps,
        "The first epoch, step by step (a NaN loss ends a line)",
        "step",
        "mini-batch training loss",
        &log_y,
    )?;
    let path = format!("{out}/learning_rate_loss.svg");
    svg::grid(vec![per_epoch, per_step], 1).save(&path)?;
    println!("\nwrote {path}\n{:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
