//! Training gives bitwise the same weights whatever the thread count.
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

#[test]
fn weights_are_bitwise_independent_of_the_thread_count() {
    let one = trained_bits(1);
    for threads in [2, 3, 4] {
        let other = trained_bits(threads);
        for ((name, a), (_, b)) in one.iter().zip(&other) {
            assert!(a == b, "{name} differs with {threads} threads");
        }
    }
}
