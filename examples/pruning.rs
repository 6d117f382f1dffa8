//! Which weights matter: test accuracy against sparsity on the digits for
//! one-shot magnitude pruning (with and without fine-tuning), iterative
//! magnitude pruning with fine-tuning, and proximal L1 at matched sparsity;
//! then structured pruning that physically removes units.
//!
//! Run with `cargo run --release --example pruning` (the chart, and
//! `report.html` on the base network's training run, go to
//! `target/weightwise-out/pruning/`, or the folder given as the first argument).

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::prune::{self, Amount, IterativePruning, Method};
use weightwise::svg::{self, Series};
use weightwise::train::Recording;

/// The digits model: 64-128-64-10 ReLU.
fn build(seed: u64) -> Result<Network<f32>> {
    Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(seed))
}

fn adam<'a>(epochs: usize) -> Fit<'a, f32> {
    Fit {
        optimizer: Adam {
            lr: 1e-3,
            ..Default::default()
        }
        .into(),
        epochs,
        ..Default::default()
    }
}

fn accuracy(net: &mut Network<f32>, test: &Dataset<f32>) -> Result<f64> {
    Ok(net
        .evaluate(test, &Loss::softmax_cross_entropy())?
        .accuracy
        .unwrap_or(f64::NAN))
}

const FINE_TUNE_EPOCHS: usize = 10;

fn main() -> Result<()> {
    let start = Instant::now();
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/pruning".to_string());
    let (train, test) = datasets::digits::<f32>()?;
    let mut rng = StdRng::seed_from_u64(42);
    let mut base = build(42)?;
    // The base run, recorded after every epoch for its report.
    let mut fit = adam(40);
    fit.recording = Some(Recording::every(1).with_probe(train.features().rows(0..64)?));
    let history = base.fit(&train, &mut fit, &mut rng)?;
    history
        .report(&base)
        .title("pruning: the dense 64-128-64-10 before pruning")
        .image_shape((8, 8))
        .save(format!("{out}/report.html"))?;
    let base_acc = accuracy(&mut base, &test)?;
    println!(
        "dense 64-128-64-10 trained 40 epochs (Adam 1e-3): test accuracy {base_acc:.4}, {} parameters\n",
        base.num_params()
    );

    // Proximal L1 from the trained model, FINE_TUNE_EPOCHS epochs per λ: its
    // sparsities set the points at which the pruning methods are compared.
    let mut l1_points = Vec::new();
    for lambda in [0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4] {
        let mut net = base.clone();
        let mut fit = adam(FINE_TUNE_EPOCHS);
        fit.regularizer = Some(L1::new(lambda)?.into());
        net.fit(&train, &mut fit, &mut StdRng::seed_from_u64(1))?;
        let sparsity = prune::sparsity_report(&net).weight_sparsity();
        l1_points.push((lambda, sparsity, accuracy(&mut net, &test)?));
    }

    println!(
        "test accuracy at matched weight sparsity (global magnitude pruning of all weights; \
         fine-tuning {FINE_TUNE_EPOCHS} epochs of Adam)"
    );
    println!(
        "{:>9} {:>8} {:>10} {:>14} {:>18} {:>12}",
        "sparsity", "L1 λ", "one-shot", "one-shot + FT", "iterative 5×2 ep", "proximal L1"
    );
    let mut series: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 4];
    for &(lambda, sparsity, l1_acc) in &l1_points {
        if sparsity > 0.99 {
            println!(
                "{:>8.1}% {:>8} {:>10} {:>14} {:>18} {:>12.4}  (L1 zeroed nearly everything; not compared)",
                100.0 * sparsity,
                lambda,
                "",
                "",
                "",
                l1_acc
            );
            continue;
        }
        // One-shot: prune to the sparsity, then (b) fine-tune with the masks held.
        let mut net = base.clone();
        let names = prune::weight_names(&net);
        prune::global_unstructured(&mut net, &names, Amount::Fraction(sparsity))?;
        let one_shot = accuracy(&mut net, &test)?;
        net.fit(
            &train,
            &mut adam(FINE_TUNE_EPOCHS),
            &mut StdRng::seed_from_u64(1),
        )?;
        let one_shot_ft = accuracy(&mut net, &test)?;
        // Iterative: 5 rounds of pruning 1 − (1 − s)^(1/5) of what is left, 2 epochs each.
        let mut net = base.clone();
        let schedule = IterativePruning::to_sparsity(Method::Global, sparsity, 5, 2)?;
        schedule.run(
            &mut net,
            &train,
            &mut adam(2),
            &mut StdRng::seed_from_u64(1),
        )?;
        let iterative = accuracy(&mut net, &test)?;
        let achieved = prune::sparsity_report(&net).weight_sparsity();
        println!(
            "{:>8.1}% {:>8} {:>10.4} {:>14.4} {:>18.4} {:>12.4}",
            100.0 * sparsity,
            lambda,
            one_shot,
            one_shot_ft,
            iterative,
            l1_acc
        );
        debug_assert!((achieved - sparsity).abs() < 0.01);
        let x = 100.0 * sparsity;
        for (s, acc) in series
            .iter_mut()
            .zip([one_shot, one_shot_ft, iterative, l1_acc])
        {
            s.push((x, acc));
        }
    }
    let names = [
        "one-shot magnitude, no fine-tuning",
        "one-shot magnitude + fine-tuning",
        "iterative magnitude (5 rounds × 2 epochs)",
        "proximal L1 (sparsity as reached)",
    ];
    let lines: Vec<Series> = names
        .iter()
        .zip(series)
        .map(|(n, p)| Series::new(*n, p))
        .collect();
    svg::line_chart(
        &lines,
        &format!("Digits: test accuracy against weight sparsity (dense baseline {base_acc:.3})"),
        "weights that are exactly zero (%)",
        "test accuracy",
    )?
    .save(format!("{out}/pruning_accuracy_vs_sparsity.svg"))?;

    // Structured: remove half the units of both hidden layers (by L2 norm of
    // their incoming weights), fine-tune, then physically remove them.
    println!(
        "\nstructured pruning: half the units of each hidden layer (L2 norm of incoming weights)"
    );
    let mut net = base.clone();
    prune::ln_structured(&mut net, "0.weight", Amount::Fraction(0.5), 2.0, 0)?;
    prune::ln_structured(&mut net, "2.weight", Amount::Fraction(0.5), 2.0, 0)?;
    let pruned_acc = accuracy(&mut net, &test)?;
    net.fit(
        &train,
        &mut adam(FINE_TUNE_EPOCHS),
        &mut StdRng::seed_from_u64(1),
    )?;
    let tuned_acc = accuracy(&mut net, &test)?;
    println!("{}", prune::sparsity_report(&net));
    let params_before = net.num_params();
    let predictions = net.predict(test.features())?;
    let removal = prune::remove_pruned_units(&mut net)?;
    let after_acc = accuracy(&mut net, &test)?;
    let same = net.predict(test.features())?.argmax_per_row()? == predictions.argmax_per_row()?;
    println!("\n{:<34} {:>10} {:>10}", "", "parameters", "accuracy");
    println!(
        "{:<34} {:>10} {:>10.4}",
        "dense baseline",
        base.num_params(),
        base_acc
    );
    println!(
        "{:<34} {:>10} {:>10.4}",
        "units masked, before fine-tuning", params_before, pruned_acc
    );
    println!(
        "{:<34} {:>10} {:>10.4}",
        "units masked, fine-tuned", params_before, tuned_acc
    );
    println!(
        "{:<34} {:>10} {:>10.4}",
        "units removed (smaller network)", removal.params_after, after_acc
    );
    println!(
        "removed units: {:?}; the network is now\n{net}",
        removal
            .removed
            .iter()
            .map(|(l, u)| (l, u.len()))
            .collect::<Vec<_>>()
    );
    println!(
        "largest output change on the removal's probe: {:.2e}; same predictions on the test set: {same}",
        removal.max_output_change
    );
    println!("\nwritten to {out}/: pruning_accuracy_vs_sparsity.svg, report.html");
    println!("total time {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
