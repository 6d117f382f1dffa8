//! Capacity: under- and overfitting as the hidden layer widens.
//!
//! Networks 64 → w (ReLU, He-normal) → 10 with w = 1, 2, 4, …, 512 hidden
//! units are trained on a **small** training set, the first 200 digits of the
//! training set, and scored on a validation set of the next 500 training
//! digits (the test set is not touched). Each width trains for 400 epochs with
//! Adam (lr 1e-3, PyTorch's defaults) in mini-batches of 50, i.e. 1,600
//! steps, long enough for the wide networks to fit the 200 samples almost
//! exactly. Both losses are measured in inference mode every 20 epochs; the
//! table gives, per width, the final training and validation loss and
//! accuracy, the best validation loss with its epoch, and how far the final
//! validation loss has risen above that best.
//!
//! What to look for: on the left (1 and 2 units) both losses stay high, an
//! underfit; as w grows the training loss falls steadily towards zero; the
//! best validation loss falls too, but the wider the
//! network, the earlier that best epoch comes and the more the validation
//! loss climbs after it (overfitting: the network grows confident on its 200
//! samples), so the final validation loss is lowest at a middling width and
//! the train–validation gap widens with w. Cross-entropy punishes confident
//! mistakes, so the validation *loss* shows overfitting more clearly than the
//! validation accuracy, which hardly moves beyond 16 units.
//!
//! Writes `capacity.svg` (final and best losses against width on log axes,
//! above the validation-loss curves of five widths on a linear scale, where
//! the rise after the best epoch is visible), and the runs of 2 and 512
//! units, each on one page (`report_2_units.html`, `report_512_units.html`:
//! training curve, weights over time every 5 epochs, dead units, final
//! weights), into the folder given as the
//! first argument (default `target/weightwise-out/capacity/`).
//!
//! Run with `cargo run --release --example capacity [-- out-folder]`.

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::svg::{self, LineChartOptions, Series, TABLEAU10};
use weightwise::train::Recording;

const WIDTHS: [usize; 10] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const TRAIN: usize = 200;
const VALIDATION: usize = 500;
const EPOCHS: usize = 400;
const EVAL_EVERY: usize = 20;

struct Outcome {
    width: usize,
    /// (epoch, train loss, validation loss) at every evaluation.
    curve: Vec<(usize, f64, f64)>,
    train_acc: f64,
    val_acc: f64,
}

impl Outcome {
    fn last(&self) -> (usize, f64, f64) {
        self.curve[self.curve.len() - 1]
    }
    fn best(&self) -> (usize, f64, f64) {
        self.curve
            .iter()
            .copied()
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .unwrap_or((0, f64::NAN, f64::NAN))
    }
}

/// Widths whose run is recorded and written as a report: an underfit and an overfit.
const REPORTED: [usize; 2] = [2, 512];

fn train_width(
    width: usize,
    train: &Dataset<f32>,
    val: &Dataset<f32>,
    out: &str,
) -> Result<Outcome> {
    let mut net = Network::<f32>::builder(64)
        .dense(width, Init::he_normal())
        .relu()
        .dense(10, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(11))?;
    let mut shuffle = StdRng::seed_from_u64(12);
    // A snapshot every 5 epochs, dead units on 64 training digits.
    let recording = if REPORTED.contains(&width) {
        Some(Recording::every(5).with_probe(train.features().rows(0..64)?))
    } else {
        None
    };
    let loss = Loss::softmax_cross_entropy();
    let mut fit = Fit {
        optimizer: Adam::default().into(),
        batch_size: 50,
        recording,
        ..Default::default()
    };
    let mut curve = Vec::new();
    let mut history = History::default();
    for start in (0..EPOCHS).step_by(EVAL_EVERY) {
        fit.initial_epoch = start;
        fit.epochs = start + EVAL_EVERY;
        // The chunks' histories join into one run.
        history.append(net.fit(train, &mut fit, &mut shuffle)?)?;
        let (t, v) = (net.evaluate(train, &loss)?, net.evaluate(val, &loss)?);
        curve.push((fit.epochs, t.loss, v.loss));
    }
    if fit.recording.is_some() {
        history
            .report(&net)
            .title(format!(
                "capacity: 64-{width}-10 ReLU on {TRAIN} digits, Adam"
            ))
            .image_shape((8, 8))
            .save(format!("{out}/report_{width}_units.html"))?;
    }
    let (t, v) = (net.evaluate(train, &loss)?, net.evaluate(val, &loss)?);
    Ok(Outcome {
        width,
        curve,
        train_acc: t.accuracy.unwrap_or(f64::NAN),
        val_acc: v.accuracy.unwrap_or(f64::NAN),
    })
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/capacity".to_string());
    let start = Instant::now();
    let (digits, _) = datasets::digits::<f32>()?;
    let train = digits.select(&(0..TRAIN).collect::<Vec<_>>())?;
    let val = digits.select(&(TRAIN..TRAIN + VALIDATION).collect::<Vec<_>>())?;
    println!(
        "{TRAIN} training and {VALIDATION} validation digits; 64-w-10 ReLU, He init, \
         Adam lr 1e-3, batch 50, {EPOCHS} epochs\n"
    );
    println!(
        "{:>5} {:>10} {:>9} {:>9} {:>9} {:>16} {:>10}",
        "width", "train loss", "val loss", "train acc", "val acc", "best val (epoch)", "val rise"
    );
    let mut outcomes = Vec::new();
    for w in WIDTHS {
        let o = train_width(w, &train, &val, &out)?;
        let (_, tl, vl) = o.last();
        let (be, _, bv) = o.best();
        println!(
            "{w:>5} {tl:>10.4} {vl:>9.4} {:>9.3} {:>9.3} {bv:>9.4} ({be:>4}) {:>+10.4}",
            o.train_acc,
            o.val_acc,
            vl - bv
        );
        outcomes.push(o);
    }

    let xy = |f: &dyn Fn(&Outcome) -> f64| -> Vec<(f64, f64)> {
        outcomes.iter().map(|o| (o.width as f64, f(o))).collect()
    };
    let against_width = vec![
        Series::new("final train loss", xy(&|o| o.last().1)),
        Series::new("final validation loss", xy(&|o| o.last().2)).dashed(),
        Series::new("best validation loss", xy(&|o| o.best().2)).dashed(),
    ];
    let width_chart = svg::line_chart_with(
        &against_width,
        &format!("Loss against hidden width ({TRAIN} training samples)"),
        "hidden units (log scale)",
        "cross-entropy (log scale)",
        &LineChartOptions {
            log_x: true,
            log_y: true,
            colors: vec![TABLEAU10[0], TABLEAU10[1], TABLEAU10[2]],
            ..Default::default()
        },
    )?;
    let mut curves = Vec::new();
    for o in outcomes
        .iter()
        .filter(|o| [2, 8, 32, 128, 512].contains(&o.width))
    {
        let pts = o.curve.iter().map(|c| (c.0 as f64, c.2)).collect();
        curves.push(Series::new(format!("{} units", o.width), pts));
    }
    let epoch_chart = svg::line_chart(
        &curves,
        "Validation loss during training (linear scale)",
        "epoch",
        "validation cross-entropy",
    )?;
    let path = format!("{out}/capacity.svg");
    svg::grid(vec![width_chart, epoch_chart], 1).save(&path)?;
    println!(
        "\nwrote {path}, {out}/report_2_units.html, {out}/report_512_units.html\n{:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
