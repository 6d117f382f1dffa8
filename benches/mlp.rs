//! W2 of `shared/bench/WORKLOADS.md`: one training epoch of the 784-256-128-10
//! MLP (60 batches of 128, plain SGD, softmax cross-entropy), at 1 and 2 threads.
//! `examples/bench.rs` prints the same figure in the peers' format.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use rand_distr::Uniform;
use weightwise::prelude::*;

fn w2(c: &mut Criterion) {
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
    let mut group = c.benchmark_group("W2 MLP epoch");
    group.sample_size(10);
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
        group.bench_function(format!("threads={threads}"), |b| {
            b.iter(|| {
                for (xb, yb) in &batches {
                    net.train_on_batch(xb, yb, &mut fit).unwrap();
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, w2);
criterion_main!(benches);
