//! W2 of `shared/bench/WORKLOADS.md`: one training epoch of the 784-256-128-10
//! MLP (60 batches of 128, plain SGD, softmax cross-entropy), at 1 and 2 threads.
//! `examples/bench.rs` prints the same figure in the peers' format.
//!
//! A plain `harness = false` bench (no benchmarking crate to compile): one
//! warm-up epoch, then `WW_BENCH_REPEATS` (default 10) timed epochs; prints
//! the best and the median. Run with `cargo bench --bench mlp`.

use std::time::Instant;

use weightwise::prelude::*;
use weightwise::rand::{RngExt, SeedableRng, rngs::StdRng};
use weightwise::rand_distr::Uniform;

fn main() {
    let repeats: usize = std::env::var("WW_BENCH_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let mut rng = StdRng::seed_from_u64(42);
    let x: Tensor<f32> =
        Tensor::random(&[7680, 784], &Uniform::new(0.0f32, 1.0).unwrap(), &mut rng).unwrap();
    let labels: Vec<f32> = (0..7680)
        .map(|_| rng.random_range(0..10u8) as f32)
        .collect();
    let y = Tensor::from_vec(labels, &[7680]).unwrap();
    let batches: Vec<(Tensor<f32>, Tensor<f32>)> = (0..60)
        .map(|i| {
            let idx: Vec<usize> = (i * 128..(i + 1) * 128).collect();
            (x.select_rows(&idx).unwrap(), y.select_rows(&idx).unwrap())
        })
        .collect();
    println!("W2 MLP epoch (60 batches of 128, SGD): best and median of {repeats}");
    for threads in [1, 2] {
        weightwise::set_num_threads(threads).unwrap();
        let mut net = Network::<f32>::builder(784)
            .dense(256, Init::he_normal())
            .relu()
            .dense(128, Init::he_normal())
            .relu()
            .dense(10, Init::he_normal())
            .build(&mut rng)
            .unwrap();
        let mut fit = Fit {
            optimizer: Sgd {
                lr: 0.01,
                ..Default::default()
            }
            .into(),
            ..Default::default()
        };
        let mut epoch = || {
            let start = Instant::now();
            for (xb, yb) in &batches {
                net.train_on_batch(xb, yb, &mut fit).unwrap();
            }
            start.elapsed().as_secs_f64()
        };
        epoch();
        let mut times: Vec<f64> = (0..repeats.max(1)).map(|_| epoch()).collect();
        times.sort_by(f64::total_cmp);
        println!(
            "threads={threads}: best {:.4} s, median {:.4} s",
            times[0],
            times[times.len() / 2]
        );
    }
}
