//! Helpers shared by the integration tests: a test file that needs them
//! declares `mod common;` and uses what it needs.

// Each test binary uses only some of these.
#![allow(dead_code)]

pub mod counting;

use rand::rngs::StdRng;
use rand_distr::Uniform;
use weightwise::prelude::*;

/// The W2 network of the speed figures: 784 → 256 → 128 → 10, ReLU between
/// the dense layers, He-normal weights drawn from `rng`.
pub fn w2(rng: &mut StdRng) -> Network<f32> {
    Network::<f32>::builder(784)
        .dense(256, Init::he_normal())
        .relu()
        .dense(128, Init::he_normal())
        .relu()
        .dense(10, Init::he_normal())
        .build(rng)
        .unwrap()
}

/// A tensor of `shape` with entries uniform in `[0, 1)`, drawn from `rng`.
pub fn uniform(shape: &[usize], rng: &mut StdRng) -> Tensor<f32> {
    let dist = Uniform::new(0.0f32, 1.0).unwrap();
    Tensor::random(shape, &dist, rng).unwrap()
}

/// Settings with plain SGD at `lr` and every other field at its default.
pub fn sgd<'a, T: Scalar>(lr: f64) -> Fit<'a, T> {
    Fit {
        optimizer: Sgd {
            lr,
            ..Default::default()
        }
        .into(),
        ..Default::default()
    }
}

/// A classifier of the 8×8 digits: 64 → `hidden` (He normal, ReLU) → 10
/// (Xavier uniform) logits, weights drawn from `rng`.
pub fn digits_mlp<T: Scalar>(hidden: usize, rng: &mut StdRng) -> Network<T> {
    Network::<T>::builder(64)
        .dense(hidden, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(rng)
        .unwrap()
}

/// Every tensor of `net` by name, as the bit patterns of its values (as
/// `f64`, which every `f32` converts to exactly): equal means bitwise equal.
pub fn bits<T: Scalar>(net: &Network<T>) -> Vec<(String, Vec<u64>)> {
    net.named_tensors()
        .into_iter()
        .map(|(name, t)| {
            let bits = t.as_slice().iter().map(|v| v.as_f64().to_bits());
            (name, bits.collect())
        })
        .collect()
}
