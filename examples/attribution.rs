//! Which pixels matter for each digit? Integrated gradients (from the
//! network's own backward pass, per image) beside the weights-only
//! path importance, with their rank correlation, the completeness check,
//! and the other attribution methods compared.
//!
//! Run with `cargo run --release --example attribution` (SVGs, and
//! `report.html` on the network's training run, go to
//! `target/weightwise-out/attribution/`, or the folder given as the first argument).

use std::time::Instant;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::data::to_labels;
use weightwise::inspect::attribution::{
    self, IntegratedGradients, SmoothGrad, gradient_times_input, saliency, smooth_grad,
};
use weightwise::inspect::importance::weight_path_importance;
use weightwise::inspect::occlusion::{Occlusion, occlusion};
use weightwise::prelude::*;
use weightwise::svg;
use weightwise::train::Recording;

/// Ranks (1-based, ties averaged).
fn ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            r[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    r
}

/// Spearman's rank correlation: Pearson's correlation of the ranks.
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// Mean |value| per pixel over the rows of `t` (`[n, 64]`) selected by `keep`.
fn mean_abs(t: &Tensor<f64>, keep: impl Fn(usize) -> bool) -> Vec<f64> {
    let mut sum = vec![0.0; 64];
    let mut n = 0;
    for (i, row) in t.as_slice().chunks(64).enumerate() {
        if keep(i) {
            n += 1;
            sum.iter_mut().zip(row).for_each(|(s, v)| *s += v.abs());
        }
    }
    sum.iter().map(|s| s / n.max(1) as f64).collect()
}

fn main() -> weightwise::Result<()> {
    let start = Instant::now();
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/weightwise-out/attribution".to_string());
    let mut rng = StdRng::seed_from_u64(42);
    let (train, test) = datasets::digits::<f64>()?;
    let mut net = Network::<f64>::builder(64)
        .dense(128, Init::he_normal())
        .relu()
        .dense(64, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)?;
    let probe = train.features().rows(0..64)?;
    let history = net.fit(
        &train,
        &mut Fit {
            optimizer: Adam {
                lr: 1e-3,
                ..Default::default()
            }
            .into(),
            regularizer: Some(L2::new(1e-4)?.into()),
            epochs: 40,
            // The weights after every epoch, for the run's report.
            recording: Some(Recording::every(1).with_probe(probe)),
            ..Default::default()
        },
        &mut rng,
    )?;
    history
        .report(&net)
        .title("attribution: the 64-128-64-10 network explained")
        .image_shape((8, 8))
        .save(format!("{out}/report.html"))?;
    let accuracy = net
        .evaluate(&test, &Loss::softmax_cross_entropy())?
        .accuracy
        .unwrap_or(f64::NAN);
    println!(
        "64-128-64-10 ReLU network, 40 epochs of Adam: test accuracy {:.4}\n",
        accuracy
    );

    // Integrated gradients of each test image's true-class logit, from a black image.
    let x = test.features();
    let labels = to_labels(test.targets())?;
    let black = Tensor::zeros(&[1, 64])?;
    let settings = IntegratedGradients::default();
    let ig = attribution::integrated_gradients(&mut net, x, &black, &labels, &settings)?;
    println!(
        "integrated gradients, {} steps, {:?} rule, baseline = black image, target = true class",
        settings.steps, settings.rule
    );
    println!(
        "{:>5} {:>4} {:>14} {:>16} {:>18}",
        "class", "n", "mean f(x)−f(0)", "max |residual|", "max |res|/|Δf| %"
    );
    let mut per_class = Vec::new();
    for c in 0..10 {
        let rows: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == c).collect();
        let delta: Vec<f64> = rows
            .iter()
            .map(|&i| ig.output[i] - ig.baseline_output[i])
            .collect();
        let res = rows
            .iter()
            .map(|&i| ig.residual[i].abs())
            .fold(0.0, f64::max);
        let rel = rows
            .iter()
            .map(|&i| (ig.residual[i] / (ig.output[i] - ig.baseline_output[i])).abs())
            .fold(0.0, f64::max);
        println!(
            "{c:>5} {:>4} {:>14.3} {:>16.2e} {:>18.3}",
            rows.len(),
            delta.iter().sum::<f64>() / delta.len() as f64,
            res,
            100.0 * rel
        );
        per_class.push(mean_abs(&ig.values, |i| labels[i] == c));
    }
    println!(
        "worst completeness residual over all {} test images: {:.3} % of |f(x) − f(0)|\n",
        labels.len(),
        100.0 * ig.max_relative_residual()
    );

    // Where the two readings agree: weights alone vs integrated gradients.
    let paths = weight_path_importance(&net)?;
    let ig_all = mean_abs(&ig.values, |_| true);
    let others: Vec<(&str, Tensor<f64>)> = vec![
        ("saliency", saliency(&mut net, x, &labels)?),
        (
            "gradient×input",
            gradient_times_input(&mut net, x, &labels)?,
        ),
        (
            "SmoothGrad",
            smooth_grad(&mut net, x, &labels, &SmoothGrad::default())?,
        ),
        (
            "occlusion 2×2",
            occlusion(
                &mut net,
                x,
                &labels,
                &Occlusion {
                    image: Some([1, 8, 8]),
                    ..Default::default()
                },
            )?,
        ),
    ];
    println!(
        "Spearman rank correlation over the 64 pixels (mean |attribution| over the test set):"
    );
    println!("{:<22} {:>12} {:>12}", "method", "vs IG", "vs |W| paths");
    println!(
        "{:<22} {:>12.3} {:>12.3}",
        "integrated gradients",
        1.0,
        spearman(&ig_all, &paths)
    );
    for (name, t) in &others {
        let m = mean_abs(t, |_| true);
        println!(
            "{:<22} {:>12.3} {:>12.3}",
            name,
            spearman(&m, &ig_all),
            spearman(&m, &paths)
        );
    }
    // Pixels that are blank in (almost) every digit carry no IG (x = baseline there)
    // but may still carry weight paths: compare on the pixels with any ink.
    let inked: Vec<usize> = (0..64)
        .filter(|&p| x.as_slice().chunks(64).any(|r| r[p] > 0.0))
        .collect();
    let pick = |v: &[f64]| inked.iter().map(|&p| v[p]).collect::<Vec<_>>();
    println!(
        "IG vs |W| paths on the {} pixels with any ink: {:.3}\n",
        inked.len(),
        spearman(&pick(&ig_all), &pick(&paths))
    );

    // Pictures: one correctly classified digit per class with its IG map.
    let predicted = net.predict(x)?.argmax_per_row()?;
    let mut chosen = Vec::new();
    for c in 0..10 {
        if let Some(i) = (0..labels.len()).find(|&i| labels[i] == c && predicted[i] == c) {
            chosen.push(i);
        }
    }
    let captions: Vec<String> = chosen
        .iter()
        .map(|&i| {
            format!(
                "{}: Δlogit {:.1}",
                labels[i],
                ig.output[i] - ig.baseline_output[i]
            )
        })
        .collect();
    svg::attribution_maps(
        &x.select_rows(&chosen)?,
        &ig.values.select_rows(&chosen)?,
        (8, 8),
        &captions,
        "Integrated gradients per digit (true-class logit)",
        "Integrated gradients of the true class's logit from a black image (100 midpoint steps): \
         each map's values sum to the logit's rise from the black image to the digit (Δlogit).",
    )?
    .save(format!("{out}/attribution_ig_maps.svg"))?;
    let mean = Tensor::from_vec(per_class.concat(), &[10, 64])?;
    let class_captions: Vec<String> = (0..10).map(|c| format!("digit {c}")).collect();
    svg::magnitude_tiles(
        &mean,
        (8, 8),
        &class_captions,
        "Mean |integrated gradients| per pixel, by class",
        "Mean over the test images of each class of |integrated gradients| of the true-class \
         logit (logit units per pixel): where the network looks to recognise that digit.",
    )?
    .save(format!("{out}/attribution_mean_abs_by_class.svg"))?;
    let total: f64 = ig_all.iter().sum();
    let ig_share: Vec<f64> = ig_all.iter().map(|v| v / total).collect();
    svg::grid(
        vec![
            svg::importance_image(
                &paths,
                (8, 8),
                "weights only: |W| path share",
                "Share of the total |weight| path product 1ᵀ·|W₃|·|W₂|·|W₁| that starts at \
                 each pixel (sums to 1). No data looked at.",
            )?,
            svg::importance_image(
                &ig_share,
                (8, 8),
                "data: mean |IG| share",
                "Mean |integrated gradients| of the true-class logit over the test set, as a \
                 share of all pixels' (sums to 1).",
            )?,
        ],
        2,
    )
    .save(format!("{out}/attribution_weights_vs_ig.svg"))?;
    println!(
        "written to {out}/: attribution_ig_maps.svg, attribution_mean_abs_by_class.svg, \
         attribution_weights_vs_ig.svg, report.html"
    );
    println!("total time {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
