//! The cost of `Fit::recording` with a snapshot after every epoch, on the
//! digits example's network (64-128-64-10, Adam, L2, batches of 32, a probe
//! of `WW_PROBE_ROWS`, default 64, rows): runs of `WW_BENCH_EPOCHS` (default 40) epochs alternate without and
//! with recording, `WW_BENCH_REPEATS` (default 9) of each after one warm-up
//! pair, and the medians of the per-epoch wall time are compared (alternating
//! spreads the load of a shared machine over both). Each timed `fit` includes
//! everything recording adds: the audit and the first snapshot, the per-step
//! norms of snapshot epochs, and every snapshot.
//!
//! Run with `cargo bench --bench recording`.

use std::time::Instant;

use weightwise::prelude::*;
use weightwise::rand::{SeedableRng, rngs::StdRng};
use weightwise::train::Recording;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Seconds per epoch of one run.
fn run(train: &Dataset<f32>, test: &Dataset<f32>, epochs: usize, record: bool) -> f64 {
    let mut rng = StdRng::seed_from_u64(42);
    let mut net = Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let rows = env("WW_PROBE_ROWS", 64);
    let probe = train.features().rows(0..rows).unwrap();
    let mut fit = Fit {
        optimizer: Adam::default().into(),
        regularizer: Some(L2::new(1e-4).unwrap().into()),
        epochs,
        validation: Some(test),
        recording: record.then(|| Recording::every(1).with_probe(probe)),
        ..Default::default()
    };
    let start = Instant::now();
    let h = net.fit(train, &mut fit, &mut rng).unwrap();
    assert_eq!(h.timeline.is_some(), record);
    start.elapsed().as_secs_f64() / epochs as f64
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (epochs, repeats) = (env("WW_BENCH_EPOCHS", 40), env("WW_BENCH_REPEATS", 9));
    let (train, test) = datasets::digits::<f32>().unwrap();
    run(&train, &test, 1, false);
    run(&train, &test, 1, true);
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..repeats {
        off.push(run(&train, &test, epochs, false));
        on.push(run(&train, &test, epochs, true));
    }
    let (a, b) = (median(&mut off), median(&mut on));
    println!(
        "digits epoch, median of {repeats} runs of {epochs} epochs: \
         without recording {:.2} ms, with a snapshot every epoch {:.2} ms: {:+.1}%",
        1e3 * a,
        1e3 * b,
        100.0 * (b / a - 1.0)
    );
    println!("all runs without: {off:.4?}\nall runs with:    {on:.4?}");
}
