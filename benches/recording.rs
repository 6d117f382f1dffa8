//! The cost of `Fit::recording` with a snapshot after every epoch, on the
//! digits example's network (64-128-64-10, Adam, L2, batches of 32, a probe
//! of `WW_PROBE_ROWS`, default 64, rows, as the example's).
//!
//! Each round trains twice from the same seed, once without and once with
//! recording, for `WW_BENCH_EPOCHS` (default 40) epochs, the order of the two
//! alternating from round to round; `WW_BENCH_ROUNDS` (default 9) rounds
//! follow one warm-up pair. A round's ratio of the two wall times is the
//! overhead it measured; the median over rounds is printed, beside the median
//! per-epoch times. Pairing the runs of a round, seconds apart, keeps the
//! load of a shared machine out of the ratio as far as timing can. Each
//! timed `fit` includes everything recording adds: the init audit and first
//! snapshot, the gradient and update norms of each snapshot epoch's last step,
//! and every snapshot.
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
        batch_size: 32,
        validation: Some(test),
        recording: record.then(|| Recording::every(1).with_probe(probe)),
        ..Default::default()
    };
    let start = Instant::now();
    let h = net.fit(train, &mut fit, &mut rng).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(
        h.timeline.map(|t| t.snapshots.len()),
        record.then_some(epochs + 1)
    );
    seconds / epochs as f64
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

fn main() {
    let (epochs, rounds) = (env("WW_BENCH_EPOCHS", 40), env("WW_BENCH_ROUNDS", 9));
    let (train, test) = datasets::digits::<f32>().unwrap();
    run(&train, &test, epochs, false);
    run(&train, &test, epochs, true);
    let (mut off, mut on, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = run(&train, &test, epochs, false);
            (a, run(&train, &test, epochs, true))
        } else {
            let b = run(&train, &test, epochs, true);
            (run(&train, &test, epochs, false), b)
        };
        off.push(a);
        on.push(b);
        ratio.push(b / a - 1.0);
    }
    println!(
        "digits, {rounds} rounds of {epochs} epochs: median epoch without recording {:.2} ms, \
         with a snapshot every epoch {:.2} ms; median overhead of a round {:+.1}%",
        1e3 * median(&off),
        1e3 * median(&on),
        100.0 * median(&ratio)
    );
    let pct: Vec<String> = ratio.iter().map(|r| format!("{:+.1}", 100.0 * r)).collect();
    println!("each round's overhead (%): {}", pct.join(" "));
    println!(
        "epoch ms without: {:.2?}",
        off.iter().map(|s| 1e3 * s).collect::<Vec<_>>()
    );
    println!(
        "epoch ms with:    {:.2?}",
        on.iter().map(|s| 1e3 * s).collect::<Vec<_>>()
    );
}
