//! Interoperability with PyTorch's safetensors files: the fixtures in
//! tests/fixtures/ were written by `make_safetensors.py` with numpy and the
//! `safetensors` Python package, under the names and shapes of a PyTorch
//! `nn.Sequential` state dict; the expected outputs were computed there in
//! float64 from the float32 weights.
#![cfg(feature = "safetensors")]

use std::path::PathBuf;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::io::{LoadOptions, load_tensors};
use weightwise::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// Reads the `input` and `expected` matrices of a `*_expected.txt` file.
fn expected(name: &str) -> (Tensor<f64>, Tensor<f64>) {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let mut section = |label: &str| {
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(header[0], label);
        let (rows, cols): (usize, usize) = (header[1].parse().unwrap(), header[2].parse().unwrap());
        let data: Vec<f64> = (0..rows)
            .flat_map(|_| {
                let v: Vec<f64> = lines
                    .next()
                    .unwrap()
                    .split_whitespace()
                    .map(|s| s.parse().unwrap())
                    .collect();
                assert_eq!(v.len(), cols);
                v
            })
            .collect();
        Tensor::from_vec(data, &[rows, cols]).unwrap()
    };
    let x = section("input");
    let y = section("expected");
    (x, y)
}

fn mlp<T: Scalar>(seed: u64) -> Network<T> {
    Network::<T>::builder(4)
        .dense(5, Init::he_normal())
        .relu()
        .dense(3, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

fn mlp_bn<T: Scalar>(seed: u64) -> Network<T> {
    Network::<T>::builder(4)
        .dense(5, Init::he_normal())
        .batch_norm()
        .relu()
        .dense(3, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

/// Largest `|got − want| / max(|want|, 1)` over all elements: relative for
/// outputs of magnitude ≥ 1, absolute below (the outputs here are O(0.1–1)).
fn max_rel_error(got: &[f64], want: &[f64]) -> f64 {
    assert_eq!(got.len(), want.len());
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max)
}

fn check_case(
    file: &str,
    expected_file: &str,
    build32: fn(u64) -> Network<f32>,
    build64: fn(u64) -> Network<f64>,
) {
    let (x, y) = expected(expected_file);

    // f32: the file's own dtype. Inputs are f32 values, so the cast is exact;
    // f32 arithmetic on O(1) values of 4–5 term sums stays within ~1e-7.
    let mut net = build32(1);
    net.load_safetensors(fixture(file)).unwrap();
    let out = net.predict(&x.cast::<f32>()).unwrap().cast::<f64>();
    let err = max_rel_error(out.as_slice(), y.as_slice());
    assert!(err < 1e-6, "{file} in f32: error {err:e}");

    // f64: strict loading refuses the F32 file, naming the dtype.
    let mut net = build64(1);
    let before = net
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect::<Vec<_>>();
    let e = net.load_safetensors(fixture(file)).unwrap_err();
    assert!(
        e.to_string().contains("is F32 in the file, F64 is wanted"),
        "{e}"
    );
    let after = net
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect::<Vec<_>>();
    assert_eq!(
        before, after,
        "a failed load must leave the network unchanged"
    );

    // With conversion, f64 arithmetic on the same f32 weights as numpy's
    // float64 forward pass: equal up to summation order, ~1e-16.
    let opts = LoadOptions {
        allow_dtype_conversion: true,
        ..Default::default()
    };
    net.load_safetensors_with(fixture(file), &opts).unwrap();
    let out = net.predict(&x).unwrap();
    let err = max_rel_error(out.as_slice(), y.as_slice());
    assert!(err < 1e-12, "{file} in f64: error {err:e}");
}

#[test]
fn pytorch_mlp_fixture_gives_the_expected_outputs() {
    check_case(
        "mlp.safetensors",
        "mlp_expected.txt",
        mlp::<f32>,
        mlp::<f64>,
    );
}

#[test]
fn pytorch_batch_norm_fixture_with_num_batches_tracked() {
    check_case(
        "mlp_bn.safetensors",
        "mlp_bn_expected.txt",
        mlp_bn::<f32>,
        mlp_bn::<f64>,
    );
}

#[test]
fn fixture_metadata_and_names_are_pytorchs() {
    // load_tensors is strict about dtype: the BN file also holds an I64 tensor.
    let (tensors, meta) = load_tensors::<f32>(fixture("mlp.safetensors")).unwrap();
    assert_eq!(meta.get("format").map(String::as_str), Some("pt"));
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    // File order: the safetensors writer sorts by dtype, then name.
    assert_eq!(names, ["0.bias", "0.weight", "2.bias", "2.weight"]);
    assert_eq!(tensors[1].1.shape(), &[5, 4]);
    assert_eq!(tensors[3].1.shape(), &[3, 5]);
    let e = load_tensors::<f32>(fixture("mlp_bn.safetensors")).unwrap_err();
    assert!(
        e.to_string().contains("'1.num_batches_tracked' is I64"),
        "{e}"
    );
}

#[test]
fn a_saved_network_reloads_into_the_fixture_architecture() {
    // Load the fixture, save it again, load the copy into a third network:
    // identical tensors and outputs.
    let dir = std::env::temp_dir().join(format!("ww-interop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = dir.join("copy.safetensors");
    let mut a = mlp_bn::<f32>(1);
    a.load_safetensors(fixture("mlp_bn.safetensors")).unwrap();
    a.save_safetensors(&copy).unwrap();
    let mut b = mlp_bn::<f32>(2);
    b.load_safetensors(&copy).unwrap();
    for ((na, ta), (nb, tb)) in a.named_tensors().iter().zip(b.named_tensors().iter()) {
        assert_eq!(na, nb);
        assert_eq!(ta, tb);
    }
    let (x, _) = expected("mlp_bn_expected.txt");
    let x = x.cast::<f32>();
    assert_eq!(a.predict(&x).unwrap(), b.predict(&x).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}
