//! Handwritten digits as 8×8 images through a small convolutional network,
//! beside the 64-128-64-10 MLP of `examples/digits.rs`.
//!
//! Both are trained with the digits example's recipe (Adam, lr 1e-3, L2 1e-4
//! on the weights, batch 32, 40 epochs) from the same 5 seeds, and the median
//! test accuracy of each is printed. Then the CNN of the first seed is shown:
//! its summary (output shapes `(batch, C, H, W)`), the init audit and the
//! activation report through its convolutions, a picture of its first-layer
//! filters and one of the feature maps of a test digit; and its weights are
//! saved for PyTorch.
//!
//! The network, as PyTorch writes it: the weight file loads into exactly this
//! `nn.Sequential` with `load_state_dict(strict=True)` (same names `0.weight`,
//! `0.bias`, `3.weight`, …, same layouts):
//!
//! ```text
//! nn.Sequential(
//!     nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
//!     nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
//!     nn.Flatten(), nn.Linear(32 * 2 * 2, 10),
//! )
//! ```
//!
//! `examples/cnn_digits_torch.py` does that and checks that PyTorch gets the
//! same test accuracy.
//!
//! Run with `cargo run --release --example cnn_digits [-- OUT_DIR]`
//! (default `target/weightwise-out/cnn_digits/`), then
//! `/tmp/peer-venv/bin/python examples/cnn_digits_torch.py [OUT_DIR]`.

use std::fmt::Write as _;
use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::svg::{self, TileScale, TilesOptions};
use weightwise::train::Recording;

const SEEDS: [u64; 5] = [0, 1, 2, 3, 4];

/// The digits example's training recipe.
fn recipe<'a>() -> weightwise::Result<Fit<'a, f32>> {
    Ok(Fit {
        loss: Loss::softmax_cross_entropy().into(),
        optimizer: Adam {
            lr: 1e-3,
            ..Default::default()
        }
        .into(),
        regularizer: Some(L2::new(1e-4)?.into()),
        epochs: 40,
        batch_size: 32,
        ..Default::default()
    })
}

/// The MLP of `examples/digits.rs`.
fn mlp(rng: &mut StdRng) -> weightwise::Result<Network<f32>> {
    Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(rng)
}

/// The CNN of the module docs, on `[1, 8, 8]` images.
fn cnn(rng: &mut StdRng) -> weightwise::Result<Network<f32>> {
    let same = Conv2dOptions::default().padding(1);
    Network::<f32>::builder_shape(&[1, 8, 8])
        .conv2d(16, 3, same, Init::he_normal())
        .relu()
        .max_pool2d(2)
        .conv2d(32, 3, same, Init::he_normal())
        .relu()
        .max_pool2d(2)
        .flatten()
        .dense(10, Init::xavier_uniform())
        .build(rng)
}

/// Trains a fresh network from `seed` and returns it with its test accuracy.
/// With `record`, the run's weights are recorded after every epoch (dead
/// channels and units on 64 training images) for its report.
fn train(
    build: fn(&mut StdRng) -> weightwise::Result<Network<f32>>,
    seed: u64,
    (train, test): (&Dataset<f32>, &Dataset<f32>),
    record: bool,
) -> weightwise::Result<(Network<f32>, f64, History)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut net = build(&mut rng)?;
    let mut fit = recipe()?;
    if record {
        let probe = train.features().select_rows(&(0..64).collect::<Vec<_>>())?;
        fit.recording = Some(Recording::every(1).with_probe(probe));
    }
    let history = net.fit(train, &mut fit, &mut rng)?;
    let acc = net.evaluate(test, &Loss::softmax_cross_entropy())?.accuracy;
    Ok((net, acc.unwrap_or(f64::NAN), history))
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn main() -> weightwise::Result<()> {
    let (flat_train, flat_test) = datasets::digits::<f32>()?;
    // The same pixels as NCHW images: [n, 1, 8, 8].
    let img_train = flat_train.clone().with_feature_shape(&[1, 8, 8])?;
    let img_test = flat_test.clone().with_feature_shape(&[1, 8, 8])?;

    let mut first = None;
    let (mut acc_mlp, mut acc_cnn) = (Vec::new(), Vec::new());
    println!("test accuracy, same recipe and seed (Adam 1e-3, L2 1e-4, batch 32, 40 epochs):");
    for seed in SEEDS {
        let t = Instant::now();
        let (_, a_mlp, _) = train(mlp, seed, (&flat_train, &flat_test), false)?;
        let t_mlp = t.elapsed().as_secs_f64();
        let t = Instant::now();
        // The first seed's CNN is the one drawn and saved: its run is recorded.
        let first_seed = first.is_none();
        let (net, a_cnn, history) = train(cnn, seed, (&img_train, &img_test), first_seed)?;
        let t_cnn = t.elapsed().as_secs_f64();
        println!("  seed {seed}: MLP {a_mlp:.4} ({t_mlp:.1} s)   CNN {a_cnn:.4} ({t_cnn:.1} s)");
        acc_mlp.push(a_mlp);
        acc_cnn.push(a_cnn);
        first.get_or_insert((net, a_cnn, history));
    }
    println!(
        "median over seeds {SEEDS:?}: MLP {:.4}, CNN {:.4}\n",
        median(&acc_mlp),
        median(&acc_cnn)
    );

    let (mut net, accuracy, history) = first.expect("at least one seed");
    println!("{net}\n");
    // What a fresh CNN's activations and gradients look like, layer by layer.
    let probe = img_train
        .features()
        .select_rows(&(0..256).collect::<Vec<_>>())?;
    println!(
        "{}\n",
        cnn(&mut StdRng::seed_from_u64(0))?.audit_init(&probe)?
    );
    println!("{}\n", net.activation_report(&probe, 20)?);

    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/cnn_digits".to_string());
    let shared = TilesOptions {
        scale: TileScale::Shared,
    };
    svg::conv_filters(&net, 0, &shared)?.save(format!("{out}/cnn_digits_filters.svg"))?;
    let digit = img_test.features().select_rows(&[0])?;
    svg::feature_maps(&mut net, &digit, true)?
        .save(format!("{out}/cnn_digits_feature_maps.svg"))?;
    // One model file: the tensors under PyTorch's names (what the Python check
    // loads) and the architecture (`Network::load_model` rebuilds it); and the
    // test predictions for the Python check.
    net.save_model(format!("{out}/cnn_digits.safetensors"))?;
    history
        .report(&net)
        .title(format!("cnn_digits: the CNN of seed {}", SEEDS[0]))
        .image_shape((8, 8))
        .save(format!("{out}/report.html"))?;
    let predicted = net.predict(img_test.features())?.argmax_per_row()?;
    let mut text = format!("{accuracy}");
    for p in predicted {
        let _ = write!(text, " {p}");
    }
    std::fs::write(format!("{out}/cnn_digits_predictions.txt"), text + "\n").map_err(|e| {
        weightwise::Error::Io {
            path: format!("{out}/cnn_digits_predictions.txt"),
            source: e,
        }
    })?;
    println!(
        "seed {} CNN: test accuracy {accuracy:.4}; written to {out}/: cnn_digits_filters.svg, \
         cnn_digits_feature_maps.svg, cnn_digits.safetensors, cnn_digits_predictions.txt, \
         report.html",
        SEEDS[0]
    );
    Ok(())
}
