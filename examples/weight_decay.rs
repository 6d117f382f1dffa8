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
//!   On MNIST the book sees the train–test accuracy gap shrink. On these 300
//!   digits, over seeds 1 to 5 (checked by `tests/experiments.rs`): the
//!   weights stay smaller (‖W‖₂ ≈ 23 against ≈ 35) and at epoch 60 the
//!   accuracy gap is narrower for every seed, but the penalty costs test
//!   accuracy for every seed (by 0.01 to 0.11) and the final accuracy gap is
//!   not reliably smaller (narrower for 2 of the 5 seeds, medians 0.136
//!   without and 0.138 with). What does shrink for every seed is the gap in
//!   *loss* (test − train, by a factor 0.53 to 0.79), printed at the end.
//! - **L1 (proximal), λ = 0.01**: after every SGD step each weight is
//!   soft-thresholded, `w ← sign(w)·max(|w| − lr·λ, 0)`. Why 0.01: L1 pulls
//!   every weight towards zero with the constant force λ₁, L2 with λ₂·|w|;
//!   the two are equal at `|w| = λ₁/λ₂ = 0.1`, about the mean size of a
//!   He-initialised hidden weight (`E|w| = σ·√(2/π) ≈ 0.11` for
//!   `σ = √(2/100)`), so this L1 is as strong as the L2 run on a typical
//!   weight. Over the run the threshold can remove at most
//!   `450 · 0.01 · 0.01 = 0.045` from a weight; 18–19% of the first layer
//!   ends exactly at zero and the network still learns (training accuracy
//!   0.95 to 0.99 over seeds 1 to 5). The same number as the L2 strength,
//!   λ₁ = 0.1, is far stronger: it sets almost every weight of the network to
//!   zero and leaves a constant classifier at chance level (try it: the
//!   second argument sets λ₁; about 99% of the first layer ends at zero and
//!   the loss sits at ln 10). The example prints how many first-layer
//!   weights ended exactly at zero.
//!
//! Then the case where L2 does help: **L2 with λ = 0.01 over 1,000 epochs
//! (3,000 updates)** against no penalty, each from seeds 1 to 5 (the seed
//! sets the initial weights, and the batch order via `seed + 1000`; the
//! first experiment uses seed 1). Both fit the 300 digits exactly. With L2
//! the test loss is lower for every seed (median 0.547 → 0.385), the
//! train–test accuracy gap narrows for 4 of the 5 seeds (median 0.128 →
//! 0.106) and the test accuracy rises for 4 of the 5 (median 0.872 →
//! 0.894). The effect on accuracy is small: per seed the change is one to
//! nine of the 360 test digits, and one seed (4) goes the other way.
//!
//! Accuracies are measured after every epoch on the whole training subset and
//! on the 360 test digits, in inference mode (as the book does).
//!
//! Writes into the folder given as the first argument (default
//! `target/weightwise-out/weight_decay/`):
//! `weight_decay_accuracy.svg` (train solid, test dashed, one colour per
//! setting, above the train − test gap) and `weight_decay_histograms.svg`
//! (the first layer's weights after training, one panel per setting, on one
//! shared range), and one page per setting, `report_none.html`,
//! `report_l2.html`, `report_l1.html` (the weights of every layer over the
//! 150 epochs: L2 shrinking them, L1 setting them to zero).
//!
//! Run with `cargo run --release --example weight_decay [-- out-folder [l1-lambda]]`.

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::svg::{self, HistogramOptions, LineChartOptions, Series, TABLEAU10};
use weightwise::train::Recording;

/// Training samples kept, as the book's `x_train[:300]`.
const SAMPLES: usize = 300;
/// Epochs (the book's `max_epochs` is 201; see the module docs).
const EPOCHS: usize = 150;
/// The book's `weight_decay_lambda`.
const L2_LAMBDA: f64 = 0.1;
/// See the module docs for the choice; the second argument overrides it.
const L1_LAMBDA: f64 = 0.01;
/// The longer run's L2 strength and length (see the module docs).
const LONG_LAMBDA: f64 = 0.01;
const LONG_EPOCHS: usize = 1000;
/// Seeds of the longer run (each sets the initial weights and the batch order).
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];
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
fn network(seed: u64) -> Result<Network<f32>> {
    let mut b = Network::<f32>::builder(64);
    for _ in 0..6 {
        b = b.dense(100, Init::he_normal()).relu();
    }
    b.dense(10, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(seed))
}

/// One of the three runs; writes its report as `{out}/report_{slug}.html`.
fn train(
    (name, slug): (String, &str),
    regularizer: Option<Regularization<f32>>,
    (train, test): (&Dataset<f32>, &Dataset<f32>),
    out: &str,
) -> Result<Run> {
    let mut net = network(1)?;
    let mut shuffle = StdRng::seed_from_u64(1001);
    let mut fit = Fit {
        optimizer: Sgd {
            lr: 0.01,
            ..Default::default()
        }
        .into(),
        regularizer,
        batch_size: 100,
        // The weights after every epoch, dead units on 64 training digits.
        recording: Some(Recording::every(1).with_probe(train.features().rows(0..64)?)),
        ..Default::default()
    };
    let mut history = History::default();
    let (mut train_acc, mut test_acc) = (Vec::new(), Vec::new());
    let loss = Loss::softmax_cross_entropy();
    // One epoch per call (the optimizer and the shuffle continue exactly), so
    // that both accuracies can be measured in inference mode after each epoch.
    for epoch in 0..EPOCHS {
        fit.initial_epoch = epoch;
        fit.epochs = epoch + 1;
        history.append(net.fit(train, &mut fit, &mut shuffle)?)?;
        train_acc.push(net.evaluate(train, &loss)?.accuracy.unwrap_or(f64::NAN));
        test_acc.push(net.evaluate(test, &loss)?.accuracy.unwrap_or(f64::NAN));
    }
    history
        .report(&net)
        .title(format!(
            "weight decay: 64-100×6-10 ReLU on {SAMPLES} digits, SGD, {name}"
        ))
        .image_shape((8, 8))
        .save(format!("{out}/report_{slug}.html"))?;
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

/// (train − test accuracy gap, test accuracy, test loss) of one run.
type Outcome = (f64, f64, f64);

/// Final (train acc, test acc, test loss) after `LONG_EPOCHS` epochs of the same SGD
/// from `network(seed)` and the batch order of `seed + 1000`, one `fit` call.
fn long_run(
    seed: u64,
    regularizer: Option<Regularization<f32>>,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> Result<(f64, f64, f64)> {
    let mut net = network(seed)?;
    net.fit(
        train,
        &mut Fit {
            optimizer: Sgd {
                lr: 0.01,
                ..Default::default()
            }
            .into(),
            regularizer,
            batch_size: 100,
            epochs: LONG_EPOCHS,
            ..Default::default()
        },
        &mut StdRng::seed_from_u64(seed + 1000),
    )?;
    let loss = Loss::softmax_cross_entropy();
    let train_acc = net.evaluate(train, &loss)?.accuracy.unwrap_or(f64::NAN);
    let on_test = net.evaluate(test, &loss)?;
    Ok((
        train_acc,
        on_test.accuracy.unwrap_or(f64::NAN),
        on_test.loss,
    ))
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// The second experiment: L2 with λ = `LONG_LAMBDA` over `LONG_EPOCHS`
/// epochs, against no penalty, for each of `SEEDS`.
fn long_runs(train: &Dataset<f32>, test: &Dataset<f32>) -> Result<()> {
    println!(
        "\nL2 λ={LONG_LAMBDA} against none over {LONG_EPOCHS} epochs ({} updates), \
         {} seeds (initial weights and batch order)\n",
        LONG_EPOCHS * SAMPLES.div_ceil(100),
        SEEDS.len()
    );
    println!(
        "{:>5}  | {:^28} | {:^28} | L2 narrower",
        "",
        "none",
        format!("L2 λ={LONG_LAMBDA}")
    );
    println!(
        "{:>5}  | {:>6} {:>6} {:>6} {:>7} | {:>6} {:>6} {:>6} {:>7} |",
        "seed", "train", "test", "gap", "t-loss", "train", "test", "gap", "t-loss"
    );
    let mut rows = Vec::new();
    for seed in SEEDS {
        let (a0, b0, l0) = long_run(seed, None, train, test)?;
        let (a2, b2, l2) = long_run(seed, Some(L2::new(LONG_LAMBDA)?.into()), train, test)?;
        println!(
            "{seed:>5}  | {a0:>6.3} {b0:>6.3} {:>+6.3} {l0:>7.4} | {a2:>6.3} {b2:>6.3} {:>+6.3} {l2:>7.4} | {}",
            a0 - b0,
            a2 - b2,
            if a2 - b2 < a0 - b0 { "yes" } else { "no" }
        );
        rows.push(((a0 - b0, b0, l0), (a2 - b2, b2, l2)));
    }
    let n = rows.len();
    let count =
        |pick: &dyn Fn(&(Outcome, Outcome)) -> bool| rows.iter().filter(|r| pick(r)).count();
    let med = |pick: &dyn Fn(&(Outcome, Outcome)) -> f64| {
        median(&rows.iter().map(pick).collect::<Vec<_>>())
    };
    println!(
        "median | gap: none {:+.3}, L2 {:+.3}, L2 narrower in {} of {n} seeds",
        med(&|r| r.0.0),
        med(&|r| r.1.0),
        count(&|r| r.1.0 < r.0.0)
    );
    println!(
        "       | test accuracy: none {:.3}, L2 {:.3}, L2 higher in {} of {n}",
        med(&|r| r.0.1),
        med(&|r| r.1.1),
        count(&|r| r.1.1 > r.0.1)
    );
    println!(
        "       | test loss: none {:.4}, L2 {:.4}, L2 lower in {} of {n}",
        med(&|r| r.0.2),
        med(&|r| r.1.2),
        count(&|r| r.1.2 < r.0.2)
    );
    Ok(())
}

fn zero_fraction(w: &[f64]) -> f64 {
    w.iter().filter(|&&v| v == 0.0).count() as f64 / w.len() as f64
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/weight_decay".to_string());
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

    let data = (&train_set, &test);
    let runs = [
        train(("none".into(), "none"), None, data, &out)?,
        train(
            (format!("L2 λ={L2_LAMBDA}"), "l2"),
            Some(L2::new(L2_LAMBDA)?.into()),
            data,
            &out,
        )?,
        train(
            (format!("L1 λ={l1_lambda} (proximal)"), "l1"),
            Some(L1::new(l1_lambda)?.into()),
            data,
            &out,
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
    println!("wrote {path}\nwrote {out}/report_{{none,l2,l1}}.html");
    long_runs(&train_set, &test)?;
    println!("{:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
