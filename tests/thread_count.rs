//! Training gives bitwise the same weights whatever the thread count (an
//! MLP and a CNN).
//!
//! The thread count is a process-wide knob, so this binary holds a single
//! test that sets it.

mod common;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;

/// The W2 network after four SGD steps on fixed random batches, as the bit
/// patterns of every tensor.
fn trained_bits(threads: usize) -> Vec<(String, Vec<u64>)> {
    weightwise::set_num_threads(threads).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let x = common::uniform(&[128, 784], &mut rng);
    let y = Tensor::from_vec((0..128).map(|i| (i * 7 % 10) as f32).collect(), &[128]).unwrap();
    let mut net = common::w2(&mut rng);
    let mut fit = common::sgd(0.05);
    for _ in 0..4 {
        net.train_on_batch(&x, &y, &mut fit).unwrap();
    }
    common::bits(&net)
}

/// A CNN on 28×28 images (weight gradients by dot products and by the
/// packed kernel; grouped, strided and dilated convolutions; both poolings)
/// after four SGD steps, as the bit patterns of every tensor.
fn cnn_bits(threads: usize) -> Vec<(String, Vec<u64>)> {
    weightwise::set_num_threads(threads).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let x = common::uniform(&[32, 1, 28, 28], &mut rng);
    let y = Tensor::from_vec((0..32).map(|i| (i * 7 % 10) as f32).collect(), &[32]).unwrap();
    let same = Conv2dOptions::default().padding(1);
    let mut net = Network::<f32>::builder_shape(&[1, 28, 28])
        .conv2d(16, 3, same, Init::he_normal())
        .relu()
        .max_pool2d(2)
        .conv2d(16, 3, same.groups(4), Init::he_normal())
        .relu()
        .conv2d(
            32,
            (3, 2),
            same.stride(2).dilation((1, 2)),
            Init::he_normal(),
        )
        .avg_pool2d(2)
        .flatten()
        .dense(10, Init::he_normal())
        .build(&mut rng)
        .unwrap();
    let mut fit = common::sgd(0.05);
    for _ in 0..4 {
        net.train_on_batch(&x, &y, &mut fit).unwrap();
    }
    common::bits(&net)
}

#[test]
fn weights_are_bitwise_independent_of_the_thread_count() {
    for trained in [trained_bits, cnn_bits] {
        let one = trained(1);
        for threads in [2, 3, 4] {
            let other = trained(threads);
            assert_eq!(one.len(), other.len());
            for ((name, a), (_, b)) in one.iter().zip(&other) {
                assert!(a == b, "{name} differs with {threads} threads");
            }
        }
    }
}
