//! One model file: `save_model` then `load_model` rebuilds the network with no
//! code and predicts bit for bit the same; a model file written from PyTorch
//! (tests/fixtures/torch_model.py) loads and predicts what PyTorch did.
#![cfg(feature = "safetensors")]

use weightwise::io::load_tensors;
use weightwise::prelude::*;
use weightwise::rand::{SeedableRng, rngs::StdRng};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ww-model-file-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Trains `net` for two epochs on digits and checks a save/load round trip.
fn round_trip<T: Scalar>(mut net: Network<T>, name: &str) {
    let (train, test) = datasets::digits::<T>().unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let mut fit = Fit {
        epochs: 2,
        ..Default::default()
    };
    net.fit(&train, &mut fit, &mut rng).unwrap();
    let path = temp(name);
    net.save_model(&path).unwrap();
    let loaded = Network::<T>::load_model(&path).unwrap();
    assert_eq!(loaded.to_string(), net.to_string());
    assert_eq!(loaded.named_tensors(), net.named_tensors());
    let (want, got) = (
        net.predict(test.features()).unwrap(),
        loaded.predict(test.features()).unwrap(),
    );
    let bits = |t: &Tensor<T>| {
        t.as_slice()
            .iter()
            .map(|v| v.as_f64().to_bits())
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(&got), bits(&want), "{name}");
    // The same file holds the plain weights: load_safetensors reads it into a
    // network built in code, as PyTorch's load_state_dict does.
    let mut rebuilt = loaded.clone();
    rebuilt.load_safetensors(&path).unwrap();
    std::fs::remove_file(&path).ok();
}

fn mlp_bn_dropout<T: Scalar>() -> Network<T> {
    Network::<T>::builder(64)
        .dense(64, Init::he_normal())
        .batch_norm()
        .relu()
        .dropout(0.2)
        .dense(32, Init::he_normal())
        .batch_norm()
        .relu()
        .dropout(0.1)
        .dense(10, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(1))
        .unwrap()
}

#[test]
fn mlps_with_batch_norm_and_dropout_round_trip_in_f32_and_f64() {
    round_trip(mlp_bn_dropout::<f32>(), "bn_dropout_f32.safetensors");
    round_trip(mlp_bn_dropout::<f64>(), "bn_dropout_f64.safetensors");
}

#[test]
fn the_digits_example_network_round_trips() {
    let net = Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(42))
        .unwrap();
    round_trip(net, "digits_f32.safetensors");
}

#[test]
fn a_model_file_written_from_pytorch_loads_and_predicts_as_pytorch() {
    let net = Network::<f64>::load_model("tests/fixtures/torch_model.safetensors").unwrap();
    let kinds: Vec<&str> = net.layers().iter().map(|l| l.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Dense",
            "BatchNorm",
            "LeakyReLU",
            "Dropout",
            "Dense",
            "GELU",
            "Dense",
            "Softmax"
        ]
    );
    assert_eq!(net.input_shape(), &[8]);
    let (io, _) = load_tensors::<f64>("tests/fixtures/torch_model_io.safetensors").unwrap();
    let get = |name: &str| io.iter().find(|(n, _)| n == name).unwrap().1.clone();
    let (x, y) = (get("x"), get("y"));
    let got = net.predict(&x).unwrap();
    assert_eq!(got.shape(), y.shape());
    // Same formulas in f64; only the order of the sums differs.
    let worst = got
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(worst < 1e-12, "largest difference from PyTorch {worst:e}");
}
