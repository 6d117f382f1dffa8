//! Handwritten digits (UCI, 8×8 pixels, 1,797 images shipped with the crate):
//! a 64-128-64-10 network trained with Adam and a little L2, one line per
//! epoch, then the test accuracy, the weights layer by layer, and the time.
//! Writes its pictures, the model file and `report.html` (the whole run on
//! one page) into `target/weightwise-out/digits/`, or the folder given as
//! the first argument.
//!
//! Run with `cargo run --release --example digits`.

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::prelude::*;
use weightwise::svg;
use weightwise::train::Recording;

fn main() -> weightwise::Result<()> {
    let mut rng = StdRng::seed_from_u64(42);
    let (train, test) = datasets::digits::<f32>()?;
    println!(
        "digits: {} training and {} test images of {} pixels\n",
        train.len(),
        test.len(),
        train.num_features()
    );

    let mut net = Network::<f32>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)?;
    println!("{net}\n");
    // Catch a bad start before training: activations and gradients per layer.
    println!("{}\n", net.audit_init(&train.features().rows(0..256)?)?);
    // Recording's probe: 64 rows, as it is one more forward pass per snapshot.
    let probe = train.features().rows(0..64)?;

    let start = Instant::now();
    let mut print = |e: &EpochRecord| {
        if e.epoch % 5 == 4 || e.epoch == 0 {
            println!("{e}");
        }
        Control::CONTINUE
    };
    let history = net.fit(
        &train,
        &mut Fit {
            loss: Loss::softmax_cross_entropy().into(),
            optimizer: Adam {
                lr: 1e-3,
                ..Default::default()
            }
            .into(),
            regularizer: Some(L2::new(1e-4)?.into()),
            epochs: 40,
            batch_size: 32,
            validation: Some(&test),
            on_epoch: Some(&mut print),
            // A snapshot of every parameter (and of dead units on the probe)
            // after each epoch, for the report's pictures over time.
            recording: Some(Recording::every(1).with_probe(probe)),
            ..Default::default()
        },
        &mut rng,
    )?;
    let seconds = start.elapsed().as_secs_f64();

    let eval = net.evaluate(&test, &Loss::softmax_cross_entropy())?;
    println!(
        "\ntest accuracy {:.4} (loss {:.4}) after {} epochs in {:.2} s",
        eval.accuracy.unwrap_or(f64::NAN),
        eval.loss,
        history.epochs.len(),
        seconds
    );

    println!("\n{}", net.weight_report());

    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/digits".to_string());
    svg::training_curves(&history)?.save(format!("{out}/digits_curves.svg"))?;
    svg::unit_tiles(&net, 0, (8, 8))?.save(format!("{out}/digits_first_layer_units.svg"))?;
    // Which pixels matter: |W₃|·|W₂|·|W₁| summed over the outputs, as an 8×8 image.
    let importance = weightwise::inspect::importance::weight_path_importance(&net)?;
    svg::importance_image(
        &importance,
        (8, 8),
        "pixel importance from the weights",
        "Share of the network's total |weight| path product (1ᵀ·|W₃|·|W₂|·|W₁|) that starts \
         at each pixel; the 64 shares sum to 1, so 1/64 ≈ 0.016 is an average pixel. Weights \
         only: no input, activation or bias is looked at (see examples/attribution.rs).",
    )?
    .save(format!("{out}/digits_pixel_importance.svg"))?;
    svg::weight_histograms(&net, 30)?.save(format!("{out}/digits_weight_histograms.svg"))?;
    // One model file: `Network::load_model` rebuilds it with no code, and its
    // tensors are what PyTorch, candle or burn read (names "0.weight", …, layout [out, in]).
    net.save_model(format!("{out}/digits.safetensors"))?;
    // Everything above and the weights over time, in one self-contained page.
    history
        .report(&net)
        .title("digits: 64-128-64-10, Adam, L2")
        .image_shape((8, 8))
        .save(format!("{out}/report.html"))?;
    println!(
        "written to {out}/: digits_curves.svg, digits_first_layer_units.svg, \
         digits_pixel_importance.svg, digits_weight_histograms.svg, digits.safetensors, report.html"
    );
    Ok(())
}
