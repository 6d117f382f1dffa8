//! Overfitting and weight decay, after *Deep Learning from Scratch* §6.4
//! (`overfit_weight_decay.py`), on the 8×8 digits instead of MNIST.
//!
//! A deliberately over-sized network, 64 → 6 × (100 ReLU) → 10 with He-normal
//! weights everywhere (the book's `weight_init_std='relu'`), is trained on only
//! the **first 300** digits of the training set with plain SGD (lr 0.01,
//! mini-batches of 100) for 150 epochs = 450 steps (the book runs 201 epochs;
//! here every curve is flat well before epoch 150, and 150 keeps the run
//! within the time budget), three times from the same initial weights and the
//! same batch order:
//!
//! - **none**: no penalty. Training accuracy climbs towards 1 while test
//!   accuracy stalls: the gap between them is overfitting.
//! - **L2, λ = 0.1**: the book's `weight_decay_lambda = 0.1`, whose
//!   `loss += ½·λ·‖W‖²` on the weights (not the biases) is exactly our [`L2`].
//!   The weights stay smaller. On MNIST the book sees the train–test
//!   accuracy gap shrink; on these 300 digits the table shows what happens
//!   here: the penalty slows the training accuracy down and narrows the gap
//!   during the first ~60 epochs, but it costs test accuracy as well, and the
//!   final gap is not smaller. What does shrink is the gap in *loss*
//!   (test − train), printed at the end.
//! - **L1 (proximal), λ = 0.01**: after every SGD step each weight is
//!   soft-thresholded, `w ← sign(w)·max(|w| − lr·λ, 0)`. Why 0.01: L1 pulls
//!   every weight towards zero with the constant force λ₁, L2 with λ₂·|w|;
//!   the two are equal at `|w| = λ₁/λ₂ = 0.1`, about the mean size of a
//!   He-initialised hidden weight (`E|w| = σ·√(2/π) ≈ 0.11` for
//!   `σ = √(2/100)`), so this L1 is as strong as the L2 run on a typical
//!   weight. Over the run the threshold can remove at most
//!   `450 · 0.01 · 0.01 = 0.045` from a weight. The same number as the L2
//!   strength, λ₁ = 0.1, is far stronger: it sets almost every weight of the
//!   network to zero and leaves a constant classifier at chance level (try
//!   it: the second argument sets λ₁; 98.8% of the first layer ends at zero
//!   and the loss sits at ln 10). The example prints how many
//!   first-layer weights ended exactly at zero.
//!
//! Accuracies are measured after every epoch on the whole training subset and
//! on the 360 test digits, in inference mode (as the book does).
//!
//! Writes into the folder given as the first argument (default
//! `target/weightwise-out/`):
//! `weight_decay_accuracy.svg` (train solid, test dashed, one colour per
//! setting, above the train − test gap) and `weight_decay_histograms.svg`
//! (the first layer's weights after training, one panel per setting, on one
//! shared range).
//!
//! Run with `cargo run --release --example weight_decay [-- out-folder [l1-lambda]]`.

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::svg::{self, HistogramOptions, LineChartOptions, Series, TABLEAU10};

/// Training samples kept, as the book's `x_train[:300]`.
const SAMPLES: usize = 300;
/// Epochs (the book's `max_epochs` is 201; see the module docs).
const EPOCHS: usize = 150;
/// The book's `weight_decay_lambda`.
const L2_LAMBDA: f64 = 0.1;
/// See the module docs for the choice; the second argument overrides it.
const L1_LAMBDA: f64 = 0.01;
/// Print a table row every this many epochs.
const PRINT_EVERY: usize = 25;

/// One setting's figures, epoch by epoch.
struct Run {
    name: String,
    train_acc: Vec<f64>,
    test_acc: Vec<f64>,
    /// Final mean cross-entropy on the training subset and on the test set.
    losses: (f64, f64),
    /// ‖W‖₂ over all weight matrices (biases excluded) after training.
    weight_norm: f64,
    /// The first layer's weights after training.
    first_layer: Vec<f64>,
}

/// The book's network: 6 hidden layers of 100 ReLU units, He init everywhere.
fn network() -> Result<Network<f32>> {
    let mut b = Network::<f32>::builder(64);
    for _ in 0..6 {
        b = b.dense(100, Init::he_normal()).relu();
    }
    b.dense(10, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(1))
}

fn train(
    name: String,
    regularizer: Option<Regularization<f32>>,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> Result<Run> {
    let mut net = network()?;
    let mut shuffle = StdRng::seed_from_u64(2);
    let mut fit = Fit {
        optimizer: Sgd {
            lr: 0.01,
            ..Default::default()
        }
        .into(),
        regularizer,
        batch_size: 100,
        ..Default::default()
    };
    let (mut train_acc, mut test_acc) = (Vec::new(), Vec::new());
    let loss = Loss::softmax_cross_entropy();
    // One epoch per call (the optimizer and the shuffle continue exactly), so
    // that both accuracies can be measured in inference mode after each epoch.
    for epoch in 0..EPOCHS {
        fit.initial_epoch = epoch;
        fit.epochs = epoch + 1;
        net.fit(train, &mut fit, &mut shuffle)?;
        train_acc.push(net.evaluate(train, &loss)?.accuracy.unwrap_or(f64::NAN));
        test_acc.push(net.evaluate(test, &loss)?.accuracy.unwrap_or(f64::NAN));
    }
    let losses = (
        net.evaluate(train, &loss)?.loss,
        net.evaluate(test, &loss)?.loss,
    );
    let weight_norm = net
        .named_params()
        .iter()
        .filter(|(_, p)| p.kind == ParamKind::Weight)
        .map(|(_, p)| p.value.norm_l2().as_f64().powi(2))
        .sum::<f64>()
        .sqrt();
    let first_layer = net
        .tensor("0.weight")?
        .as_slice()
        .iter()
        .map(|w| w.as_f64())
        .collect();
    Ok(Run {
        name,
        train_acc,
        test_acc,
        losses,
        weight_norm,
        first_layer,
    })
}

fn zero_fraction(w: &[f64]) -> f64 {
    w.iter().filter(|&&v| v == 0.0).count() as f64 / w.len() as f64
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out".to_string());
    let l1_lambda = match std::env::args().nth(2) {
        Some(a) => a
            .parse::<f64>()
            .map_err(|_| Error::invalid_arg("L1 lambda (second argument)", a, "not a number"))?,
        None => L1_LAMBDA,
    };
    let start = Instant::now();
    let (full, test) = datasets::digits::<f32>()?;
    let (train_set, _) = full.split_at(SAMPLES)?;
    println!(
        "{} training digits (the first {SAMPLES}), {} test digits; \
         64-100×6-10 ReLU, He init, SGD lr 0.01, batch 100, {EPOCHS} epochs\n",
        train_set.len(),
        test.len()
    );

    let runs = [
        train("none".into(), None, &train_set, &test)?,
        train(
            format!("L2 λ={L2_LAMBDA}"),
            Some(L2::new(L2_LAMBDA)?.into()),
            &train_set,
            &test,
        )?,
        train(
            format!("L1 λ={l1_lambda} (proximal)"),
            Some(L1::new(l1_lambda)?.into()),
            &train_set,
            &test,
        )?,
    ];

    print!("{:>5}", "epoch");
    for r in &runs {
        print!("  | {:^22}", r.name);
    }
    print!("\n{:>5}", "");
    for _ in &runs {
        print!("  | {:>6} {:>6} {:>8}", "train", "test", "gap");
    }
    println!();
    for e in (0..EPOCHS).filter(|e| e % PRINT_EVERY == 0 || *e == EPOCHS - 1) {
        print!("{:>5}", e + 1);
        for r in &runs {
            let (a, b) = (r.train_acc[e], r.test_acc[e]);
            print!("  | {a:>6.3} {b:>6.3} {:>+8.3}", a - b);
        }
        println!();
    }

    println!(
        "\n{:<22} {:>9} {:>8} {:>7} {:>10} {:>9} {:>7} {:>22}",
        "after training",
        "train acc",
        "test acc",
        "gap",
        "train loss",
        "test loss",
        "‖W‖₂",
        "layer-0 weights at 0"
    );
    for r in &runs {
        let (a, b) = (r.train_acc[EPOCHS - 1], r.test_acc[EPOCHS - 1]);
        let zeros = zero_fraction(&r.first_layer);
        println!(
            "{:<22} {a:>9.3} {b:>8.3} {:>+7.3} {:>10.4} {:>9.4} {:>7.2} {:>15} ({:>4.1}%)",
            r.name,
            a - b,
            r.losses.0,
            r.losses.1,
            r.weight_norm,
            r.first_layer.iter().filter(|&&v| v == 0.0).count(),
            100.0 * zeros
        );
    }

    // Accuracy curves (train solid, test dashed) above the gap.
    let mut acc = Vec::new();
    let mut acc_colors = Vec::new();
    let mut gap = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        let color = TABLEAU10[i];
        acc.push(Series::from_ys(format!("{} train", r.name), &r.train_acc));
        acc.push(Series::from_ys(format!("{} test", r.name), &r.test_acc).dashed());
        acc_colors.extend([color, color]);
        let g: Vec<f64> = r
            .train_acc
            .iter()
            .zip(&r.test_acc)
            .map(|(a, b)| a - b)
            .collect();
        gap.push(Series::from_ys(r.name.clone(), &g));
    }
    let acc_chart = svg::line_chart_with(
        &acc,
        "Accuracy on 300 training digits (solid) and the test set (dashed)",
        "epoch",
        "accuracy",
        &LineChartOptions {
            colors: acc_colors,
            ..Default::default()
        },
    )?;
    let gap_chart = svg::line_chart(&gap, "Train − test accuracy", "epoch", "gap")?;
    let path = format!("{out}/weight_decay_accuracy.svg");
    svg::grid(vec![acc_chart, gap_chart], 1).save(&path)?;
    println!("\nwrote {path}");

    let panels: Vec<(String, Vec<f64>)> = runs
        .iter()
        .map(|r| (r.name.clone(), r.first_layer.clone()))
        .collect();
    // One bin range for all three, so that the widths compare by eye.
    let all = panels.iter().flat_map(|(_, w)| w.iter().copied());
    let range = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), w| {
        (lo.min(w), hi.max(w))
    });
    let opts = HistogramOptions {
        range: Some(range),
        columns: 3,
    };
    let path = format!("{out}/weight_decay_histograms.svg");
    svg::histograms_with(&panels, 60, "First-layer weights after training", &opts)?.save(&path)?;
    println!("wrote {path}");
    println!("{:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
