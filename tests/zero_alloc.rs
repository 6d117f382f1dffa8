//! After the first batch, a training step allocates nothing on the heap, and
//! neither does inference through `&self` with a reused workspace.
//!
//! A counting global allocator proves it: this is a count, not a timing. The
//! tests hold one lock while they count, so no other test allocates meanwhile.

mod common;

use std::sync::Mutex;

use common::counting::{Counting, allocations};
use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Held by each test for its whole run: counts are taken one test at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn random(shape: &[usize], seed: u64) -> Tensor<f32> {
    common::uniform(shape, &mut StdRng::seed_from_u64(seed))
}

/// A 784-input stack of every layer kind a dense network has: dense, batch
/// norm, GELU, dropout, tanh.
fn dense_layer_kinds() -> NetworkBuilder<f32> {
    Network::<f32>::builder(784)
        .dense(64, Init::he_normal())
        .batch_norm()
        .gelu()
        .dropout(0.2)
        .dense(32, Init::xavier_uniform())
        .tanh()
        .dense(10, Init::xavier_uniform())
}

/// Allocations made by `steps` calls of `train_on_batch` after two warm-up calls.
fn allocations_per_steps<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    y: &Tensor<T>,
    fit: &mut Fit<'_, T>,
    steps: usize,
) -> usize {
    for _ in 0..2 {
        net.train_on_batch(x, y, fit).unwrap();
    }
    let before = allocations();
    for _ in 0..steps {
        net.train_on_batch(x, y, fit).unwrap();
    }
    allocations() - before
}

#[test]
fn a_training_step_allocates_nothing_after_the_first_batch() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = StdRng::seed_from_u64(0);
    let x = random(&[128, 784], 1);
    let labels: Vec<f32> = (0..128).map(|i| (i % 10) as f32).collect();
    let y = Tensor::from_slice(&labels);

    // The W2 network with plain SGD.
    let mut net = common::w2(&mut rng);
    let mut fit = common::sgd(0.01);
    assert_eq!(
        allocations_per_steps(&mut net, &x, &y, &mut fit, 5),
        0,
        "W2 step with SGD"
    );

    // Every layer kind, Adam, L2, clipping and a constraint.
    let mut net = dense_layer_kinds().build(&mut rng).unwrap();
    let mut fit = Fit {
        optimizer: Adam::default().into(),
        regularizer: Some(L2::new(1e-4).unwrap().into()),
        clip: Some(Clip::Norm(1.0)),
        constraints: Constraints::new().layer(4, Constraint::max_norm(3.0).unwrap()),
        ..Default::default()
    };
    assert_eq!(
        allocations_per_steps(&mut net, &x, &y, &mut fit, 5),
        0,
        "Adam, L2, clip, BN, dropout"
    );

    // f64, momentum, proximal L1, one-hot targets, value clipping.
    let x64: Tensor<f64> = x.cast();
    let onehot = one_hot::<f64>(&(0..128).map(|i| i % 10).collect::<Vec<_>>(), 10).unwrap();
    let mut net = Network::<f64>::builder(784)
        .dense(32, Init::he_uniform())
        .leaky_relu(0.01)
        .dense(10, Init::xavier_normal())
        .build(&mut rng)
        .unwrap();
    let mut fit = Fit {
        optimizer: Sgd {
            lr: 0.01,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        }
        .into(),
        regularizer: Some(L1::new(1e-4).unwrap().into()),
        clip: Some(Clip::Value(0.5)),
        ..Default::default()
    };
    assert_eq!(
        allocations_per_steps(&mut net, &x64, &onehot, &mut fit, 5),
        0,
        "f64, SGD momentum, L1"
    );

    // A CNN: the W4 network on 28×28 images, every convolutional layer kind.
    let images = random(&[32, 1, 28, 28], 5);
    let y32 = Tensor::from_slice(&labels[..32]);
    let same = Conv2dOptions::default().padding(1);
    let mut net = Network::<f32>::builder_shape(&[1, 28, 28])
        .conv2d(8, 3, same, Init::he_normal())
        .batch_norm2d()
        .relu()
        .max_pool2d(2)
        .conv2d(
            16,
            (3, 2),
            same.stride(2).dilation((1, 2)),
            Init::he_normal(),
        )
        .relu()
        .avg_pool2d(2)
        .dropout(0.1)
        .global_avg_pool2d()
        .flatten()
        .dense(10, Init::he_normal())
        .build(&mut rng)
        .unwrap();
    let mut fit = Fit {
        optimizer: Adam::default().into(),
        regularizer: Some(L2::new(1e-4).unwrap().into()),
        ..Default::default()
    };
    assert_eq!(
        allocations_per_steps(&mut net, &images, &y32, &mut fit, 5),
        0,
        "CNN with Adam and L2"
    );
    assert_eq!(
        allocations_per_predictions(&net, &images, 5),
        0,
        "CNN inference"
    );

    // The counter really counts: a fresh tensor allocates.
    let before = allocations();
    let t = Tensor::<f32>::zeros(&[4]).unwrap();
    assert!(allocations() > before);
    drop(t);
}

/// Allocations made by `calls` of `predict_with` after warm-up calls.
///
/// The first product large enough to split spawns the GEMM pool's worker
/// thread; its start-up allocates on that thread, at a time of its own, so
/// the warm-up gives it a moment (100 ms) to finish before counting. (Not a
/// timing assertion: only the allocation count is checked.)
fn allocations_per_predictions<T: Scalar>(net: &Network<T>, x: &Tensor<T>, calls: usize) -> usize {
    let mut ws = Workspace::new();
    let want = net.predict_with(x, &mut ws).unwrap().clone();
    std::thread::sleep(std::time::Duration::from_millis(100));
    net.predict_with(x, &mut ws).unwrap();
    let before = allocations();
    let mut same = true;
    for _ in 0..calls {
        same &= net.predict_with(x, &mut ws).unwrap() == &want;
    }
    let n = allocations() - before;
    assert!(same);
    n
}

#[test]
fn inference_through_a_shared_reference_allocates_nothing_with_a_reused_workspace() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut rng = StdRng::seed_from_u64(3);
    let x = random(&[64, 784], 4);
    // Every built-in layer kind.
    let net = dense_layer_kinds().softmax().build(&mut rng).unwrap();
    let shared: &Network<f32> = &net;
    assert_eq!(allocations_per_predictions(shared, &x, 20), 0, "f32 MLP");
    // One sample at a time, as a server answers requests.
    let one = x.rows(0..1).unwrap();
    assert_eq!(allocations_per_predictions(shared, &one, 20), 0, "one row");
    let net64 = Network::<f64>::builder(784)
        .dense(16, Init::he_uniform())
        .relu()
        .dense(10, Init::xavier_normal())
        .build(&mut rng)
        .unwrap();
    assert_eq!(allocations_per_predictions(&net64, &x.cast(), 20), 0, "f64");
    // The convenience `predict` allocates its result (and workspace): counted.
    let before = allocations();
    let y = net.predict(&one).unwrap();
    assert!(allocations() > before);
    drop(y);
}
