//! The benchmark workloads, printing one line per figure in a fixed format
//! so that a script can put them beside another library's:
//!
//! ```text
//! W1 threads=2 f32 m=1024 k=1024 n=1024 gflops=131.5
//! W2 threads=2 f32 sec_per_epoch=0.123 samples_per_sec=62439
//! W3 threads=1 seed=0 test_accuracy=0.9833 train_seconds=0.91
//! W4 threads=1 f32 sec_per_epoch=0.950 samples_per_sec=4042
//! ```
//!
//! Extra detail (medians, correctness checks, last losses) goes on `#` lines.
//! Wall-clock times from [`Instant`], inside one process, after warm-up.
//!
//! * **W1, matrix product** `C = A·B` (row-major; A m×k, B k×n) through
//!   [`Tensor::gemm`], f32 for (m, k, n) = 128³, 256³, 512³, 1024³ and the
//!   MLP's first layer (128, 784, 256), f64 for 1024³ and (128, 784, 256).
//!   Inputs uniform in [-1, 1) from SplitMix64 (seeds 1 and 2). One warm-up
//!   call, one call to calibrate `reps` so a run lasts ≥ 0.15 s, then 7 runs
//!   of `reps` calls: GFLOP/s = 2·m·n·k / seconds per call, best of the 7
//!   (median on the `#` line, with the largest relative error of 32 entries
//!   against f64 dot products).
//! * **W2, MLP training epoch**, f32: 784 → Dense 256 → ReLU → Dense 128 →
//!   ReLU → Dense 10, softmax cross-entropy (mean over the batch), plain SGD
//!   (lr 0.01), He-normal weights, zero biases. 7,680 samples uniform in
//!   [0, 1) with labels uniform in 0..9 (seed 42), sliced beforehand into 60
//!   batches of 128 taken in order; a step is forward, loss, backward and
//!   update. One warm-up epoch, then the median of 7 timed epochs.
//! * **W3, digits** (the bundled 8×8 digits, 1,437 training and 360 test
//!   images, pixels / 16): 64 → 128 ReLU → 64 ReLU → 10, He-normal weights,
//!   zero biases, Adam (lr 1e-3) with coupled L2 1e-4 on the weights only,
//!   batches of 32 reshuffled every epoch (last partial batch kept), 100
//!   epochs. Prints the test accuracy and the training seconds.
//! * **W4, small CNN training epoch**, f32, NCHW: [64, 1, 28, 28] → Conv2d
//!   1→16 3×3 padding 1 → ReLU → MaxPool 2 → Conv2d 16→32 3×3 padding 1 →
//!   ReLU → MaxPool 2 → Flatten → Dense 10, softmax cross-entropy, plain SGD
//!   (lr 0.01), He-normal weights (fan-in = in_channels·kh·kw), zero biases;
//!   3,840 samples (seed 42) in 60 batches of 64. One warm-up epoch, then the
//!   median of 5 timed epochs.
//!
//! Run with `cargo run --release --example bench -- [--threads N] [--profile]
//! [--avx2] [--seed S | --seeds N] [W1|W2|W3|W4]`; without `--threads` every workload runs
//! with 1 and with 2 threads. `--profile` adds, after W2 and W4, where the time of a
//! step goes (per layer and phase, and the waits for pool workers). W3 trains
//! with seed `S` (default 0; the split is fixed), or with each of the seeds
//! `0..N` and then prints the median test accuracy. `--avx2` uses the AVX2+FMA
//! kernels even on a processor with AVX-512F.

use std::time::Instant;

use rand::{RngExt, SeedableRng, rngs::StdRng};
use weightwise::prelude::*;

/// SplitMix64, the generator of the W1 inputs.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn uniform_matrix<T: Scalar>(rows: usize, cols: usize, seed: u64) -> Tensor<T> {
    let mut g = SplitMix64(seed);
    let data = (0..rows * cols)
        .map(|_| T::from_f64(2.0 * g.unit() - 1.0))
        .collect();
    Tensor::from_vec(data, &[rows, cols]).expect("sizes match")
}

/// Best and median of 7 timed runs of `f`, each `reps` calls long, with `reps`
/// calibrated so a run lasts at least 0.15 s, after one warm-up call.
fn best_and_median(mut f: impl FnMut()) -> (f64, f64, usize) {
    f();
    let t = Instant::now();
    f();
    let one = t.elapsed().as_secs_f64().max(1e-9);
    let reps = ((0.15 / one).ceil() as usize).max(1);
    let mut secs: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..reps {
                f();
            }
            t.elapsed().as_secs_f64() / reps as f64
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    (secs[0], secs[3], reps)
}

/// Largest relative error of 32 entries of `c` against f64 dot products,
/// `|c − ref| / Σ|a·b|`.
fn check<T: Scalar>(a: &Tensor<T>, b: &Tensor<T>, c: &Tensor<T>) -> f64 {
    let (m, k) = (a.shape()[0], a.shape()[1]);
    let n = b.shape()[1];
    let mut g = SplitMix64(7);
    let mut worst = 0.0f64;
    for _ in 0..32 {
        let i = (g.next_u64() % m as u64) as usize;
        let j = (g.next_u64() % n as u64) as usize;
        let (mut dot, mut abs) = (0.0f64, 0.0f64);
        for p in 0..k {
            let t = a[[i, p]].as_f64() * b[[p, j]].as_f64();
            dot += t;
            abs += t.abs();
        }
        worst = worst.max((c[[i, j]].as_f64() - dot).abs() / abs.max(1e-300));
    }
    worst
}

fn w1_shape<T: Scalar>(name: &str, threads: usize, (m, k, n): (usize, usize, usize)) {
    let a = uniform_matrix::<T>(m, k, 1);
    let b = uniform_matrix::<T>(k, n, 2);
    let mut c = Tensor::zeros(&[m, n]).expect("small");
    let (best, median, reps) = best_and_median(|| {
        Tensor::gemm(T::one(), &a, false, &b, false, T::zero(), &mut c).expect("shapes fit");
    });
    let flops = 2.0 * (m * n * k) as f64;
    println!(
        "W1 threads={threads} {name} m={m} k={k} n={n} gflops={:.1}",
        flops / best / 1e9
    );
    println!(
        "# W1 {name} {m}x{k}x{n} median_gflops={:.1} reps={reps} max_rel_err={:.1e}",
        flops / median / 1e9,
        check(&a, &b, &c)
    );
}

fn w1(threads: usize) {
    for shape in [
        (128, 128, 128),
        (256, 256, 256),
        (512, 512, 512),
        (1024, 1024, 1024),
        (128, 784, 256),
    ] {
        w1_shape::<f32>("f32", threads, shape);
    }
    for shape in [(1024, 1024, 1024), (128, 784, 256)] {
        w1_shape::<f64>("f64", threads, shape);
    }
}

/// The W2 data (60 batches sliced beforehand), network and training setup.
type W2Setup = (
    Vec<(Tensor<f32>, Tensor<f32>)>,
    Network<f32>,
    Fit<'static, f32>,
);

fn w2_setup() -> weightwise::Result<W2Setup> {
    const BATCH: usize = 128;
    let mut rng = StdRng::seed_from_u64(42);
    let x: Tensor<f32> = Tensor::random(
        &[W2_N, 784],
        &rand_distr::Uniform::new(0.0f32, 1.0).expect("valid"),
        &mut rng,
    )?;
    let labels: Vec<f32> = (0..W2_N)
        .map(|_| rng.random_range(0..10u8) as f32)
        .collect();
    let labels = Tensor::from_vec(labels, &[W2_N])?;
    // Batches sliced beforehand, taken in fixed order.
    let batches = (0..W2_N / BATCH)
        .map(|i| {
            let idx: Vec<usize> = (i * BATCH..(i + 1) * BATCH).collect();
            Ok((x.select_rows(&idx)?, labels.select_rows(&idx)?))
        })
        .collect::<weightwise::Result<Vec<_>>>()?;
    let net = Network::<f32>::builder(784)
        .dense(256, Init::he_normal())
        .relu()
        .dense(128, Init::he_normal())
        .relu()
        .dense(10, Init::he_normal())
        .build(&mut rng)?;
    let fit = Fit {
        loss: Loss::softmax_cross_entropy().into(),
        optimizer: Sgd {
            lr: 0.01,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    Ok((batches, net, fit))
}

/// Samples in the W2 epoch.
const W2_N: usize = 7680;

fn w2(threads: usize) -> weightwise::Result<()> {
    let (batches, mut net, mut fit) = w2_setup()?;
    timed_epochs("W2", threads, W2_N, 7, &batches, &mut net, &mut fit)
}

/// Trains `net` for one warm-up epoch over `batches`, then `epochs` timed
/// ones, and prints the median seconds per epoch of `samples` samples as
/// `{name} threads=N f32 sec_per_epoch=S samples_per_sec=R`, with the
/// fastest and slowest epoch and the last batch's loss on a `#` line.
fn timed_epochs(
    name: &str,
    threads: usize,
    samples: usize,
    epochs: usize,
    batches: &[(Tensor<f32>, Tensor<f32>)],
    net: &mut Network<f32>,
    fit: &mut Fit<'_, f32>,
) -> weightwise::Result<()> {
    let mut epoch = || -> weightwise::Result<f64> {
        let mut last = 0.0;
        for (xb, yb) in batches {
            last = net.train_on_batch(xb, yb, fit)?;
        }
        Ok(last)
    };
    epoch()?; // warm-up
    let mut secs = Vec::new();
    let mut last = 0.0;
    for _ in 0..epochs.max(1) {
        let t = Instant::now();
        last = epoch()?;
        secs.push(t.elapsed().as_secs_f64());
    }
    secs.sort_by(f64::total_cmp);
    let median = secs[secs.len() / 2];
    println!(
        "{name} threads={threads} f32 sec_per_epoch={median:.4} samples_per_sec={:.0}",
        samples as f64 / median
    );
    println!(
        "# {name} min={:.4} max={:.4} last_loss={last:.4}",
        secs[0],
        secs[secs.len() - 1]
    );
    Ok(())
}

/// Accumulated seconds per named phase, in first-seen order.
#[derive(Default)]
struct Phases(Vec<(String, f64)>);

impl Phases {
    /// Adds the time since `*t` to `name` and restarts `*t`.
    fn lap(&mut self, name: impl Fn() -> String, t: &mut Instant) {
        let now = Instant::now();
        let dt = (now - *t).as_secs_f64();
        *t = now;
        let key = name();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some((_, s)) => *s += dt,
            None => self.0.push((key, dt)),
        }
    }
}

/// `--profile`: where the time of a W2 or W4 step goes. Runs the step's phases one
/// by one through the public API (the same calls `train_on_batch` makes:
/// zero the gradients, each layer's forward pass, the loss and its gradient,
/// each layer's backward pass, the finiteness checks, the copy of the
/// weights kept to undo a failed update, the optimizer's update), timing
/// each per layer, then times `train_on_batch` itself on the same batches:
/// the difference is its remaining bookkeeping (accuracy count, calls). Also reports how long
/// the matrix product's callers waited for pool workers. Per step, median of
/// 5 epochs after one warm-up epoch.
fn step_profile(name: &str, threads: usize, setup: W2Setup) -> weightwise::Result<()> {
    let (batches, mut net, mut fit) = setup;
    let loss = Loss::softmax_cross_entropy();
    let mut opt: Box<dyn Optimizer<f32>> = Sgd {
        lr: 0.01,
        ..Default::default()
    }
    .into();
    let mut dy = Tensor::default();
    let mut saved: Vec<Tensor<f32>> = Vec::new();
    let steps = batches.len() as f64;
    let mut epoch = |net: &mut Network<f32>| -> weightwise::Result<Phases> {
        let mut ph = Phases::default();
        for (xb, yb) in &batches {
            let mut t = Instant::now();
            net.zero_grad();
            ph.lap(|| "zero_grad".into(), &mut t);
            let mut y = xb;
            for (i, layer) in net.layers_mut().iter_mut().enumerate() {
                let kind = layer.kind();
                y = layer.forward(y, Mode::Train)?;
                ph.lap(|| format!("forward  {i} {kind}"), &mut t);
            }
            LossFn::<f32>::loss_and_grad(&loss, y, yb, &mut dy)?;
            ph.lap(|| "loss+grad".into(), &mut t);
            let layers = net.layers_mut();
            let last = layers.len() - 1;
            let mut g = &dy;
            for (i, layer) in layers.iter_mut().enumerate().rev() {
                let kind = layer.kind();
                if i == 0 {
                    layer.backward_params(g)?;
                } else {
                    g = layer.backward(g)?;
                }
                let what = if i == 0 { "params only" } else { "" };
                ph.lap(|| format!("backward {i} {kind} {what}"), &mut t);
                debug_assert!(i <= last);
            }
            let mut finite = true;
            net.visit_params(&mut |_, p| finite &= p.grad.all_finite());
            ph.lap(|| "check: gradients finite".into(), &mut t);
            // The copy a step keeps to undo a failed update: each weight
            // (`train_on_batch` copies each one just before its update, while
            // it is in cache; a separate pass here, so at most that).
            let mut k = 0;
            net.visit_params(&mut |_, p| {
                if saved.len() <= k {
                    saved.push(Tensor::default());
                }
                saved[k].assign(&p.value);
                k += 1;
            });
            ph.lap(|| "undo copy of the weights".into(), &mut t);
            let mut count = 0;
            net.visit_params(&mut |_, _| count += 1);
            opt.begin_step(count)?;
            let mut index = 0;
            let mut res = Ok(());
            net.visit_params_mut(&mut |_, p| {
                if res.is_ok() {
                    res = opt.update(index, p);
                }
                index += 1;
            });
            res?;
            ph.lap(|| "update (SGD)".into(), &mut t);
            net.visit_params(&mut |_, p| finite &= p.value.all_finite());
            ph.lap(|| "check: weights finite".into(), &mut t);
            assert!(finite, "W2 stays finite");
        }
        let t = Instant::now();
        for (xb, yb) in &batches {
            net.train_on_batch(xb, yb, &mut fit)?;
        }
        let whole = t.elapsed().as_secs_f64();
        let parts: f64 = ph.0.iter().map(|(_, s)| s).sum();
        ph.0.push(("train_on_batch bookkeeping".into(), whole - parts));
        ph.0.push(("= train_on_batch step".into(), whole));
        Ok(ph)
    };
    epoch(&mut net)?; // warm-up
    let (jobs0, wait0) = weightwise::__bench::pool_join_stats();
    let runs = (0..5)
        .map(|_| epoch(&mut net))
        .collect::<weightwise::Result<Vec<_>>>()?;
    let (jobs1, wait1) = weightwise::__bench::pool_join_stats();
    println!("# {name} profile threads={threads}: per step (median of 5 epochs of 60 steps)");
    let median = |k: usize| {
        let mut v: Vec<f64> = runs.iter().map(|r| r.0[k].1 / steps).collect();
        v.sort_by(f64::total_cmp);
        v[2]
    };
    let total = median(runs[0].0.len() - 1);
    for (k, (name, _)) in runs[0].0.iter().enumerate() {
        let v = median(k);
        println!(
            "#   {name:<32} {:>8.1} µs {:>5.1} %",
            v * 1e6,
            100.0 * v / total
        );
    }
    // The pool counters cover both the phase-by-phase and the whole steps.
    let jobs = (jobs1 - jobs0) as f64 / (2.0 * 5.0 * steps);
    let wait = (wait1 - wait0) / (2.0 * 5.0 * steps);
    println!(
        "#   pool: {jobs:.1} parallel jobs per step, callers waited for workers {:.1} µs per step",
        wait * 1e6
    );
    Ok(())
}

fn w3(threads: usize, seed: u64) -> weightwise::Result<f64> {
    let (train, test) = datasets::digits::<f32>()?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::he_normal())
        .build(&mut rng)?;
    let mut fit = Fit {
        loss: Loss::softmax_cross_entropy().into(),
        optimizer: Adam {
            lr: 1e-3,
            ..Default::default()
        }
        .into(),
        // Coupled L2 on the weights only: grad += 1e-4·W, loss += ½·1e-4·‖W‖².
        regularizer: Some(L2::new(1e-4)?.into()),
        epochs: 100,
        batch_size: 32,
        ..Default::default()
    };
    let t = Instant::now();
    let history = net.fit(&train, &mut fit, &mut rng)?;
    let seconds = t.elapsed().as_secs_f64();
    let acc = net
        .evaluate(&test, &Loss::softmax_cross_entropy())?
        .accuracy
        .unwrap_or(f64::NAN);
    println!("W3 threads={threads} seed={seed} test_accuracy={acc:.4} train_seconds={seconds:.2}");
    println!(
        "# W3 epochs={} final_train_loss={:.4}",
        history.epochs.len(),
        history.last().map_or(f64::NAN, |e| e.train_loss)
    );
    Ok(acc)
}

/// Parses the count after a flag at `args[i]`.
fn count_arg(args: &[String], i: usize, flag: &'static str) -> weightwise::Result<u64> {
    args.get(i + 1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| weightwise::Error::invalid_arg(flag, "missing", "give a whole number"))
}

/// Samples in the W4 epoch.
const W4_N: usize = 3840;

/// W4's batches (sliced beforehand, in fixed order), network and training setup.
fn w4_setup() -> weightwise::Result<W2Setup> {
    const N: usize = W4_N;
    const BATCH: usize = 64;
    let mut rng = StdRng::seed_from_u64(42);
    let x: Tensor<f32> = Tensor::random(
        &[N, 1, 28, 28],
        &rand_distr::Uniform::new(0.0f32, 1.0).expect("valid"),
        &mut rng,
    )?;
    let labels: Vec<f32> = (0..N).map(|_| rng.random_range(0..10u8) as f32).collect();
    let labels = Tensor::from_vec(labels, &[N])?;
    // Batches sliced beforehand, taken in fixed order.
    let batches: Vec<(Tensor<f32>, Tensor<f32>)> = (0..N / BATCH)
        .map(|i| {
            let idx: Vec<usize> = (i * BATCH..(i + 1) * BATCH).collect();
            (
                x.select_rows(&idx).expect("in range"),
                labels.select_rows(&idx).expect("in range"),
            )
        })
        .collect();
    // He-normal weights with fan_in = in_c·kh·kw, zero biases.
    let same = Conv2dOptions::default().padding(1);
    let net = Network::<f32>::builder_shape(&[1, 28, 28])
        .conv2d(16, 3, same, Init::he_normal())
        .relu()
        .max_pool2d(2)
        .conv2d(32, 3, same, Init::he_normal())
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(10, Init::he_normal())
        .build(&mut rng)?;
    let fit = Fit {
        loss: Loss::softmax_cross_entropy().into(),
        optimizer: Sgd {
            lr: 0.01,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    Ok((batches, net, fit))
}

/// W4 (see the module docs): a small CNN on 28×28 inputs, f32, plain SGD,
/// batch 64, 60 batches per epoch; median of 5 timed epochs.
fn w4(threads: usize) -> weightwise::Result<()> {
    let (batches, mut net, mut fit) = w4_setup()?;
    timed_epochs("W4", threads, W4_N, 5, &batches, &mut net, &mut fit)
}

const USAGE: &str =
    "usage: bench [--threads N] [--profile] [--avx2] [--seed S | --seeds N] [W1|W2|W3|W4]";

fn main() -> weightwise::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads: Vec<usize> = vec![1, 2];
    let mut only: Option<String> = None;
    let mut profile = false;
    let mut seeds: Vec<u64> = vec![0];
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--threads" => {
                let n = count_arg(&args, i, "--threads")?;
                if n == 0 {
                    return Err(weightwise::Error::invalid_arg(
                        "--threads",
                        n,
                        "give a count ≥ 1",
                    ));
                }
                threads = vec![n as usize];
                i += 1;
            }
            "--seed" => {
                seeds = vec![count_arg(&args, i, "--seed")?];
                i += 1;
            }
            "--seeds" => {
                seeds = (0..count_arg(&args, i, "--seeds")?.max(1)).collect();
                i += 1;
            }
            "--profile" => profile = true,
            // The AVX2+FMA kernels even where AVX-512F is available (what an
            // AVX2-only processor such as AMD Zen 3 runs).
            "--avx2" => weightwise::__bench::set_force_avx2(true),
            w @ ("W1" | "W2" | "W3" | "W4") => only = Some(w.to_string()),
            other => return Err(weightwise::Error::invalid_arg("argument", other, USAGE)),
        }
        i += 1;
    }
    let wants = |w: &str| only.as_deref().is_none_or(|o| o == w);
    for &t in &threads {
        weightwise::set_num_threads(t)?;
        if wants("W1") {
            w1(t);
        }
        if wants("W2") {
            w2(t)?;
            if profile {
                step_profile("W2", t, w2_setup()?)?;
            }
        }
        if wants("W3") {
            let mut accs = Vec::new();
            for &seed in &seeds {
                accs.push(w3(t, seed)?);
            }
            if accs.len() > 1 {
                accs.sort_by(f64::total_cmp);
                let n = accs.len();
                let median = (accs[(n - 1) / 2] + accs[n / 2]) / 2.0;
                println!("# W3 threads={t} median_test_accuracy={median:.4} over {n} seeds");
            }
        }
        if wants("W4") {
            w4(t)?;
            if profile {
                step_profile("W4", t, w4_setup()?)?;
            }
        }
    }
    Ok(())
}
