//! numpy interoperability: `tests/fixtures/npy/digits_{x,y}.npy` were written
//! by `np.save` (tests/fixtures/npy/make_npy.py) from the first 500 rows of
//! the digits training split, as float32 pixels / 16 and int64 labels — the
//! pair a Python pipeline hands over.

mod common;

use std::path::PathBuf;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::data::npy::{npy_bytes, npy_label_bytes};
use weightwise::data::{read_npy, to_labels};
use weightwise::prelude::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npy")
        .join(name)
}

#[test]
fn a_numpy_written_pair_is_the_digits_data() {
    let from_numpy =
        Dataset::<f32>::from_npy(fixture("digits_x.npy"), fixture("digits_y.npy")).unwrap();
    let (train, _) = datasets::digits::<f32>().unwrap();
    let rows: Vec<usize> = (0..500).collect();
    // Pixel counts / 16 are exact in float32: the same numbers, bit for bit.
    assert_eq!(from_numpy, train.select(&rows).unwrap());
    // Written back, the files are the bytes numpy wrote.
    let x = read_npy::<f32>(fixture("digits_x.npy")).unwrap();
    assert_eq!(
        npy_bytes(&x).unwrap(),
        std::fs::read(fixture("digits_x.npy")).unwrap()
    );
    let labels = to_labels(from_numpy.targets()).unwrap();
    assert_eq!(
        npy_label_bytes(&labels).unwrap(),
        std::fs::read(fixture("digits_y.npy")).unwrap()
    );
}

#[test]
fn a_numpy_written_pair_trains_the_digits_network() {
    let train = Dataset::<f32>::from_npy(fixture("digits_x.npy"), fixture("digits_y.npy")).unwrap();
    let (_, test) = datasets::digits::<f32>().unwrap();
    let mut rng = StdRng::seed_from_u64(7);
    let mut net = common::digits_mlp::<f32>(32, &mut rng);
    let before = net.evaluate(&test, &Loss::softmax_cross_entropy()).unwrap();
    net.fit(
        &train,
        &mut Fit {
            optimizer: Adam {
                lr: 3e-3,
                ..Default::default()
            }
            .into(),
            epochs: 20,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    let after = net.evaluate(&test, &Loss::softmax_cross_entropy()).unwrap();
    // Chance is 0.1; 500 numpy-written digits teach the 360 unseen ones.
    let (b, a) = (before.accuracy.unwrap(), after.accuracy.unwrap());
    eprintln!("digits from numpy: test accuracy {b:.3} before, {a:.3} after 20 epochs");
    assert!(a > 0.9 && a > b, "test accuracy {b} before, {a} after");
}
