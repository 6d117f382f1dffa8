//! Convolutional networks end to end: the gradient of a whole CNN, its model
//! file, its PyTorch names, inference through `&self`, and training on images.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;
use weightwise::gradcheck;
use weightwise::prelude::*;

fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
    let dist = Uniform::new(-1.0, 1.0).unwrap();
    Tensor::random(shape, &dist, &mut StdRng::seed_from_u64(seed)).unwrap()
}

/// Every convolutional layer kind, odd sizes, a non-square kernel, stride,
/// dilation and groups; smooth activations so finite differences are exact.
fn small_cnn(seed: u64) -> Network<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Network::<f64>::builder_shape(&[2, 7, 6])
        .conv2d(
            4,
            (3, 2),
            Conv2dOptions::default().padding((1, 0)),
            Init::he_normal(),
        )
        .batch_norm2d()
        .tanh()
        .max_pool2d(2)
        .conv2d(
            4,
            2,
            Conv2dOptions::default()
                .groups(2)
                .dilation((1, 2))
                .padding(1),
            Init::xavier_uniform(),
        )
        .gelu()
        .avg_pool2d((2, 1))
        .flatten()
        .dense(3, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap()
}

#[test]
fn a_whole_cnn_passes_gradcheck() {
    let mut net = small_cnn(1);
    assert_eq!(net.output_shape(), vec![3]);
    let x = random(&[3, 2, 7, 6], 2);
    let target = Tensor::from_slice(&[0.0, 2.0, 1.0]);
    let r = gradcheck::network(&mut net, &Loss::softmax_cross_entropy(), &x, &target).unwrap();
    assert!(r.max_rel_error < 1e-6, "{r}");
    assert_eq!(r.checked, x.len() + net.num_params());
}

#[test]
fn pytorch_names_and_layouts() {
    let net = small_cnn(3);
    let names: Vec<(String, Vec<usize>)> = net
        .named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.shape().to_vec()))
        .collect();
    let want = [
        ("0.weight", vec![4, 2, 3, 2]),
        ("0.bias", vec![4]),
        ("1.weight", vec![4]),
        ("1.bias", vec![4]),
        ("1.running_mean", vec![4]),
        ("1.running_var", vec![4]),
        ("4.weight", vec![4, 2, 2, 2]),
        ("4.bias", vec![4]),
        // [4, 2, 2] flattened: conv 4 gives 4×4×2 (dilated 2×3 effective kernel), pooled (2, 1).
        ("8.weight", vec![3, 16]),
        ("8.bias", vec![3]),
    ];
    let want: Vec<(String, Vec<usize>)> = want
        .iter()
        .map(|(n, s)| (n.to_string(), s.clone()))
        .collect();
    assert_eq!(names, want);
    let summary = net.to_string();
    assert!(summary.contains("(batch, 4, 7, 5)"), "{summary}");
    assert!(summary.contains("(batch, 4, 3, 2)"), "{summary}");
}

#[cfg(feature = "safetensors")]
#[test]
fn the_model_file_rebuilds_the_cnn() {
    let mut net = small_cnn(4);
    // Move the batch-norm statistics off their defaults.
    let x = random(&[5, 2, 7, 6], 5);
    net.forward(&x, Mode::Train).unwrap();
    let dir = std::env::temp_dir().join(format!("weightwise-cnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cnn.safetensors");
    net.save_model(&path).unwrap();
    let loaded = Network::<f64>::load_model(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(loaded.input_shape(), &[2, 7, 6]);
    let kinds: Vec<&str> = loaded.layers().iter().map(|l| l.kind()).collect();
    assert_eq!(
        kinds,
        [
            "Conv2d",
            "BatchNorm2d",
            "Tanh",
            "MaxPool2d",
            "Conv2d",
            "GELU",
            "AvgPool2d",
            "Flatten",
            "Dense"
        ]
    );
    for (a, b) in net.layers().iter().zip(loaded.layers()) {
        assert_eq!(a.config(), b.config());
    }
    assert_eq!(loaded.predict(&x).unwrap(), net.predict(&x).unwrap());
}

#[test]
fn inference_through_a_shared_reference_matches_the_eval_forward_pass() {
    let mut net = small_cnn(6);
    let x = random(&[4, 2, 7, 6], 7);
    net.forward(&x, Mode::Train).unwrap();
    let shared = net.predict(&x).unwrap();
    let eval = net.forward(&x, Mode::Eval).unwrap().clone();
    assert_eq!(shared, eval);
    // From several threads at once.
    let net = &net;
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..3)
            .map(|_| s.spawn(|| net.predict(&x).unwrap()))
            .collect();
        for h in handles {
            assert_eq!(h.join().unwrap(), eval);
        }
    });
    // A batch of the wrong sample shape is an error naming both shapes.
    let err = net.predict(&random(&[4, 2, 6, 7], 0)).unwrap_err();
    assert!(matches!(err, Error::InvalidShape { .. }), "{err}");
    assert!(err.to_string().contains("4×2×6×7") && err.to_string().contains("[n, 2, 7, 6]"));
}

#[test]
fn a_cnn_learns_digit_images_and_the_builder_checks_shapes() {
    let (train, test) = datasets::digits::<f32>().unwrap();
    let (train, test) = (
        train.with_feature_shape(&[1, 8, 8]).unwrap(),
        test.with_feature_shape(&[1, 8, 8]).unwrap(),
    );
    let mut rng = StdRng::seed_from_u64(0);
    let mut net = Network::<f32>::builder_shape(&[1, 8, 8])
        .conv2d(8, 3, Conv2dOptions::default().padding(1), Init::he_normal())
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let mut fit = Fit {
        optimizer: Adam {
            lr: 3e-3,
            ..Default::default()
        }
        .into(),
        epochs: 5,
        batch_size: 32,
        ..Default::default()
    };
    net.fit(&train, &mut fit, &mut rng).unwrap();
    let acc = net
        .evaluate(&test, &Loss::softmax_cross_entropy())
        .unwrap()
        .accuracy
        .unwrap();
    assert!(acc > 0.9, "test accuracy {acc}");

    // A convolution needs [channels, height, width] samples.
    let err = Network::<f32>::builder(64)
        .conv2d(4, 3, Conv2dOptions::default(), Init::he_normal())
        .build(&mut rng)
        .unwrap_err();
    assert!(
        err.to_string().contains("[channels, height, width]"),
        "{err}"
    );
    // A kernel larger than the image is reported by the builder.
    let err = Network::<f32>::builder_shape(&[1, 4, 4])
        .conv2d(4, 5, Conv2dOptions::default(), Init::he_normal())
        .build(&mut rng)
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("smaller than the effective kernel"),
        "{err}"
    );
    assert!(
        Network::<f32>::builder_shape(&[1, 4, 4])
            .max_pool2d(0)
            .build(&mut rng)
            .is_err()
    );
}

#[test]
fn pictures_of_a_cnn() {
    let mut net = small_cnn(8);
    let opts = weightwise::svg::TilesOptions::default();
    let filters = weightwise::svg::conv_filters(&net, 0, &opts)
        .unwrap()
        .to_string();
    assert_eq!(
        filters.matches("<rect class=\"cell\"").count(),
        4 * 2 * 3 * 2
    );
    assert!(filters.contains("layer 0 (Conv2d 2→4, 3×2)"), "{filters}");
    assert!(weightwise::svg::conv_filters(&net, 1, &opts).is_err());
    assert!(weightwise::svg::conv_filters(&net, 99, &opts).is_err());
    let x = random(&[1, 2, 7, 6], 9);
    let maps = weightwise::svg::feature_maps(&mut net, &x, true)
        .unwrap()
        .to_string();
    // The input (2 channels of 7×6), conv 0 (4×7×5: before a batch norm, not an
    // activation) and conv 4 followed by its GELU (4×4×2).
    let cells = 2 * 7 * 6 + 4 * 7 * 5 + 4 * 4 * 2;
    assert_eq!(maps.matches("<rect class=\"cell\"").count(), cells);
    assert!(maps.contains("layers 4–5 (Conv2d → GELU)"), "{maps}");
    assert!(weightwise::svg::feature_maps(&mut net, &random(&[2, 2, 7, 6], 0), true).is_err());
}
