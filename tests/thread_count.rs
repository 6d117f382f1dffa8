//! Training gives bitwise the same weights whatever the thread count (an
//! MLP and a CNN).
//!
//! The thread count is a process-wide knob, so this binary holds a single
//! test that sets it.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;
use weightwise::prelude::*;

/// The W2 network after four SGD steps on fixed random batches, as the bit
/// patterns of every tensor.
fn trained_bits(threads: usize) -> Vec<(String, Vec<u32>)> {
    weightwise::set_num_threads(threads).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let dist = Uniform::new(0.0f32, 1.0).unwrap();
    let x = Tensor::random(&[128, 784], &dist, &mut rng).unwrap();
    let y = Tensor::from_vec((0..128).map(|i| (i * 7 % 10) as f32).collect(), &[128]).unwrap();
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
            lr: 0.05,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    };
    for _ in 0..4 {
        net.train_on_batch(&x, &y, &mut fit).unwrap();
    }
    bits(&net)
}

/// A CNN on 28×28 images (weight gradients by dot products and by the
/// packed kernel; grouped, strided and dilated convolutions; both poolings) after four SGD steps, as the bit patterns of every tensor.
fn cnn_bits(threads: usize) -> Vec<(String, Vec<u32>)> {
    weightwise::set_num_threads(threads).unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let x = Tensor::random(
        &[32, 1, 28, 28],
        &Uniform::new(0.0f32, 1.0).unwrap(),
        &mut rng,
    )
    .unwrap();
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
    let mut fit = Fit {
        loss: Loss::softmax_cross_entropy().into(),
        ..Default::default()
    };
    for _ in 0..4 {
        net.train_on_batch(&x, &y, &mut fit).unwrap();
    }
    bits(&net)
}

fn bits(net: &Network<f32>) -> Vec<(String, Vec<u32>)> {
    net.named_tensors()
        .into_iter()
        .map(|(name, t)| (name, t.as_slice().iter().map(|v| v.to_bits()).collect()))
        .collect()
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
