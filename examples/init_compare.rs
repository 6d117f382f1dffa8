//! Weight initialization and what it does to activations and gradients,
//! after *Deep Learning from Scratch* §6.2 (`weight_init_activation_histogram.py`
//! and `weight_init_compare.py`).
//!
//! 1. **Activations.** 1,000 rows of 100 standard-normal inputs go through 5
//!    dense layers of 100 units (biases zero, so each layer is the book's
//!    `a = x·W`), followed by sigmoid or ReLU, under six initializations:
//!    sigmoid with N(0, 1), N(0, 0.01²) and Xavier; ReLU with N(0, 0.01²),
//!    Xavier and He. "Xavier" is the book's definition, `σ = √(1/fan_in)`,
//!    which is `Init::lecun_normal` (PyTorch's `xavier_normal_` uses
//!    `√(2/(fan_in + fan_out))` instead: the same 0.1 for these square
//!    layers, not for the 64 → 100 and 100 → 10 layers of part 3); He is
//!    `kaiming_normal_`, `σ = √(2/fan_in)`.
//!    Per layer the example prints the activations' mean and standard
//!    deviation and the fraction that is saturated (sigmoid output below 0.01
//!    or above 0.99) or zero (ReLU), and draws one histogram per layer, all on
//!    one shared range per figure: [0, 1] for sigmoid as the book's, and
//!    [0, largest output] for ReLU, whose outputs under He reach well past 1
//!    (the book's fixed (0, 1) would hide half of He's spread); for ReLU the
//!    exact zeros, about half, are left out of the bars so that the rest
//!    stays visible. What it shows: sigmoid with N(0, 0.01²) collapses onto 0.5 (std below 0.03 in every layer)
//!    where the book's Xavier keeps the std above 0.1; ReLU with N(0, 0.01²)
//!    loses more than 5× of its spread at each layer (`0.01·√100·√½ ≈ 0.07`)
//!    and over 10⁴× in five, where He keeps every layer within 2× of the
//!    first.
//! 2. **Gradients.** The same six set-ups at depths 5, 10 and 20, audited by
//!    `Network::audit_init` on the same inputs: a backward pass from its
//!    seeded standard-normal output gradient (divided by the batch size)
//!    gives every layer's weight-gradient norm `‖∂L/∂W‖₂`; the table shows the
//!    first and the last layer's, the smallest `‖∂L/∂W‖₂/‖W‖₂` of any layer
//!    (the relative change a step of learning rate 1 would make) and the
//!    audit's one-line verdict. A ratio of the first layer's gradient to the
//!    last one's would not do: for ReLU it does not depend on the weights'
//!    scale (scaling every weight by `c` scales every layer's `‖∂L/∂W‖` by
//!    the same `c^(depth−1)`), so it stays near 1 for N(0, 0.01²) too. What
//!    the table shows: with ReLU and N(0, 0.01²) every layer's `‖∂L/∂W‖`
//!    shrinks about 14× per layer of depth (below 10⁻⁸ at depth 10, ~10⁻²²
//!    at depth 20) while the first-to-last ratio stays within 2× of 1; with
//!    He the norms stay between 1 and 4 and `‖∂L/∂W‖/‖W‖` above 0.05 at
//!    every depth (depths 10 and 20);
//!    sigmoid with N(0, 0.01²) loses ~40× per layer from the output towards
//!    the input (first layer below 10⁻¹⁰ of the last at depth 10).
//! 3. **Training.** A 64 → 5 × (100 ReLU) → 10 network on the digits with
//!    plain SGD (lr 0.01, batches of 128, 30 epochs) from N(0, 0.01²), the
//!    book's Xavier and He weights, the same batch order for all three. What
//!    it shows: N(0, 0.01²) does not learn (its loss stays within 0.01 of
//!    ln 10 and it predicts one class for every digit, test accuracy 0.08);
//!    Xavier learns slowly (training loss still 1.9 to 2.1 after 30 epochs,
//!    test accuracy 0.33 to 0.61) and He fastest (0.24 to 0.31, test
//!    accuracy 0.89 to 0.95).
//!
//! The ranges are over seeds 1 to 5 (of the weights, the probe inputs and
//! the batch order), checked by `tests/experiments.rs`; the example runs one
//! seed per set-up.
//!
//! The activations come from `Network::activation_report` (inference mode),
//! the gradients from `Network::audit_init` (training mode; it leaves the
//! network as it was).
//!
//! Writes `init_activations_sigmoid.svg`, `init_activations_relu.svg`,
//! `init_gradients.svg`, `init_training.svg` and one report per training run
//! (`report_{normal001,xavier,he}.html`) into the folder given as the
//! first argument (default `target/weightwise-out/init_compare/`).
//!
//! Run with `cargo run --release --example init_compare [-- out-folder]`.

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;
use weightwise::prelude::*;
use weightwise::svg::{self, HistogramOptions, LineChartOptions, Series};
use weightwise::train::Recording;

const WIDTH: usize = 100;
const ROWS: usize = 1000;

/// One set-up: an activation and an initializer for every dense layer.
struct Setup {
    name: &'static str,
    kind: ActivationKind,
    init: Init,
}

fn setups() -> Vec<Setup> {
    let s = ActivationKind::Sigmoid;
    let r = ActivationKind::Relu;
    vec![
        Setup {
            name: "sigmoid, N(0, 1)",
            kind: s,
            init: Init::normal(0.0, 1.0),
        },
        Setup {
            name: "sigmoid, N(0, 0.01²)",
            kind: s,
            init: Init::normal(0.0, 0.01),
        },
        Setup {
            name: "sigmoid, Xavier",
            kind: s,
            init: Init::lecun_normal(),
        },
        Setup {
            name: "ReLU, N(0, 0.01²)",
            kind: r,
            init: Init::normal(0.0, 0.01),
        },
        Setup {
            name: "ReLU, Xavier",
            kind: r,
            init: Init::lecun_normal(),
        },
        Setup {
            name: "ReLU, He",
            kind: r,
            init: Init::he_normal(),
        },
    ]
}

/// `depth` blocks of dense(100) + activation on 100 inputs.
fn stack(setup: &Setup, depth: usize, seed: u64) -> Result<Network<f64>> {
    let mut b = Network::<f64>::builder(WIDTH);
    for _ in 0..depth {
        b = b
            .dense(WIDTH, setup.init)
            .activation(Activation::new(setup.kind));
    }
    b.build(&mut StdRng::seed_from_u64(seed))
}

fn part1(x: &Tensor<f64>, out: &str) -> Result<()> {
    println!("1. Activations of 5 layers of {WIDTH} units on {ROWS}×{WIDTH} N(0, 1) inputs\n");
    println!(
        "{:<22} {:>5} {:>8} {:>8} {:>18}",
        "set-up", "layer", "mean", "std", "saturated / zero"
    );
    let mut charts = (Vec::new(), Vec::new());
    for (k, setup) in setups().iter().enumerate() {
        let mut net = stack(setup, 5, 100 + k as u64)?;
        let mut report = net.activation_report(x, 30)?;
        report.layers.retain(|l| l.activation.is_some());
        let mut panels = Vec::new();
        for (i, a) in report.layers.iter().enumerate() {
            let v = &a.values;
            let (m, s) = (a.stats.mean, a.stats.std);
            // Saturated outputs (sigmoid) or exact zeros (ReLU).
            let flagged = a.saturated.or(a.dead).unwrap_or(f64::NAN);
            let what = if setup.kind == ActivationKind::Relu {
                "zero"
            } else {
                "saturated"
            };
            println!(
                "{:<22} {:>5} {m:>8.4} {s:>8.4} {:>8.1}% {what}",
                if i == 0 { setup.name } else { "" },
                i + 1,
                100.0 * flagged
            );
            if setup.kind == ActivationKind::Relu {
                // The exact zeros (about half) would dwarf every other bar:
                // draw the positive outputs, and say how many were left out.
                let positive = v.iter().copied().filter(|&y| y > 0.0).collect();
                let name = format!("layer {} ({:.1}% zeros not drawn)", i + 1, 100.0 * flagged);
                panels.push((name, positive));
            } else {
                panels.push((format!("layer {}", i + 1), v.to_vec()));
            }
        }
        // One shared range per figure, so the layers compare by eye: the
        // book's (0, 1) for sigmoid, for ReLU up to the largest output.
        let relu_max = panels
            .iter()
            .flat_map(|p| &p.1)
            .copied()
            .fold(0.0f64, f64::max);
        let opts = HistogramOptions {
            range: Some(if setup.kind == ActivationKind::Relu {
                (0.0, if relu_max > 0.0 { relu_max } else { 1.0 })
            } else {
                (0.0, 1.0)
            }),
            columns: 5,
        };
        let title = format!("Activations: {}", setup.name);
        let chart = svg::histograms_with(&panels, 30, &title, &opts)?;
        if setup.kind == ActivationKind::Relu {
            charts.1.push(chart);
        } else {
            charts.0.push(chart);
        }
    }
    for (name, list) in [("sigmoid", charts.0), ("relu", charts.1)] {
        let path = format!("{out}/init_activations_{name}.svg");
        svg::grid(list, 1).save(&path)?;
        println!("wrote {path}");
    }
    Ok(())
}

fn part2(x: &Tensor<f64>, out: &str) -> Result<()> {
    println!(
        "\n2. Weight gradients from Network::audit_init's seeded N(0, 1)/batch \
         output gradient: ‖∂L/∂W‖₂ of the first and last dense layer, and the \
         smallest ‖∂L/∂W‖₂/‖W‖₂ of any layer\n"
    );
    println!(
        "(the audit numbers the network's layers from 0, each dense and each \
         activation layer counting as one)\n"
    );
    println!(
        "{:<22} {:>5} {:>11} {:>11} {:>12}  audit",
        "set-up", "depth", "‖∂L/∂W‖ 1st", "last", "min ‖∂W‖/‖W‖"
    );
    let mut charts = Vec::new();
    for depth in [5, 10, 20] {
        let mut series = Vec::new();
        for (k, setup) in setups().iter().enumerate() {
            let mut net = stack(setup, depth, 200 + k as u64)?;
            let audit = net.audit_init(x)?;
            let norms: Vec<f64> = audit
                .layers
                .iter()
                .flat_map(|l| &l.param_grad_norms)
                .filter(|(name, _)| name.ends_with(".weight"))
                .map(|&(_, n)| n)
                .collect();
            let relative = audit
                .layers
                .iter()
                .filter_map(|l| l.relative_weight_grad)
                .fold(f64::INFINITY, f64::min);
            println!(
                "{:<22} {depth:>5} {:>11.2e} {:>11.2e} {relative:>12.2e}  {}",
                setup.name,
                norms[0],
                norms[norms.len() - 1],
                audit.summary()
            );
            series.push(Series::from_ys(setup.name, &norms));
        }
        charts.push(svg::line_chart_with(
            &series,
            &format!("Weight-gradient norm per layer, depth {depth}"),
            "layer (1 = input side)",
            "‖∂L/∂W‖₂ (log scale)",
            &LineChartOptions {
                log_y: true,
                ..Default::default()
            },
        )?);
    }
    let path = format!("{out}/init_gradients.svg");
    svg::grid(charts, 1).save(&path)?;
    println!("wrote {path}");
    Ok(())
}

fn part3(out: &str) -> Result<()> {
    println!(
        "\n3. Training 64-100×5-10 ReLU on the digits, SGD lr 0.01, batch 128 \
         (Xavier: the book's √(1/fan_in), Init::lecun_normal)\n"
    );
    let (train, test) = datasets::digits::<f32>()?;
    let inits = [
        ("N(0, 0.01²)", Init::normal(0.0, 0.01)),
        ("Xavier", Init::lecun_normal()),
        ("He", Init::he_normal()),
    ];
    println!(
        "{:<12} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "init", "epoch 1", "epoch 10", "epoch 30", "test loss", "test acc"
    );
    let mut histories = Vec::new();
    let probe = train.features().rows(0..64)?;
    for ((name, init), slug) in inits.into_iter().zip(["normal001", "xavier", "he"]) {
        let mut b = Network::<f32>::builder(64);
        for _ in 0..5 {
            b = b.dense(WIDTH, init).relu();
        }
        let mut net = b.dense(10, init).build(&mut StdRng::seed_from_u64(1))?;
        let history = net.fit(
            &train,
            &mut Fit {
                optimizer: Sgd {
                    lr: 0.01,
                    ..Default::default()
                }
                .into(),
                epochs: 30,
                batch_size: 128,
                validation: Some(&test),
                recording: Some(Recording::every(1).with_probe(probe.clone())),
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(1001),
        )?;
        let report = format!("{out}/report_{slug}.html");
        history
            .report(&net)
            .title(format!("ReLU 64-100×5-10 on digits, {name} init, SGD"))
            .image_shape((8, 8))
            .save(&report)?;
        println!("wrote {report}");
        let l = history.train_losses();
        let last = history.last();
        println!(
            "{name:<12} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>9.3}",
            l[0],
            l[9],
            l[29],
            last.and_then(|e| e.val_loss).unwrap_or(f64::NAN),
            last.and_then(|e| e.val_accuracy).unwrap_or(f64::NAN)
        );
        histories.push((name, history));
    }
    let runs: Vec<(&str, &History)> = histories.iter().map(|(n, h)| (*n, h)).collect();
    let path = format!("{out}/init_training.svg");
    svg::compare_runs(&runs, "ReLU net on digits by initialization")?.save(&path)?;
    println!("wrote {path}");
    Ok(())
}

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/init_compare".to_string());
    let start = Instant::now();
    let x = Tensor::random(
        &[ROWS, WIDTH],
        &StandardNormal,
        &mut StdRng::seed_from_u64(1),
    )?;
    part1(&x, &out)?;
    part2(&x, &out)?;
    part3(&out)?;
    println!("\n{:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
