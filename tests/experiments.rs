//! The learned behaviour the experiment examples (`weight_decay`,
//! `optimizers`, `learning_rate`, `capacity`, `init_compare`, `bias`) rely on,
//! scaled down so that each test runs in well under a second in release mode.
//!
//! Every run is seeded, so the figures are deterministic; the margins are
//! wide (a factor or tens of accuracy points where the effect is real), so a
//! regression in the library, not noise, is what makes one fail.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::StandardNormal;
use weightwise::prelude::*;

fn digits() -> (Dataset<f32>, Dataset<f32>) {
    datasets::digits::<f32>().expect("embedded digits")
}

fn first(data: &Dataset<f32>, n: usize) -> Dataset<f32> {
    data.select(&(0..n).collect::<Vec<_>>())
        .expect("rows exist")
}

fn mlp(hidden: &[usize], init: Init, seed: u64) -> Network<f32> {
    let mut b = Network::<f32>::builder(64);
    for &h in hidden {
        b = b.dense(h, init).relu();
    }
    b.dense(10, init)
        .build(&mut StdRng::seed_from_u64(seed))
        .expect("valid network")
}

fn sgd(lr: f64) -> Box<dyn Optimizer<f32>> {
    Sgd {
        lr,
        ..Default::default()
    }
    .into()
}

fn weight_norm(net: &Network<f32>) -> f64 {
    net.named_params()
        .iter()
        .filter(|(_, p)| p.kind == ParamKind::Weight)
        .map(|(_, p)| p.value.norm_l2().as_f64().powi(2))
        .sum::<f64>()
        .sqrt()
}

/// Mean training loss of the last of `epochs` epochs on the first 500 digits
/// (batches of 50) of a He-initialised ReLU network with `hidden` layers.
fn final_loss(
    hidden: &[usize],
    optimizer: Box<dyn Optimizer<f32>>,
    epochs: usize,
) -> weightwise::Result<f64> {
    let (train, _) = digits();
    let train = first(&train, 500);
    let mut net = mlp(hidden, Init::he_normal(), 7);
    let history = net.fit(
        &train,
        &mut Fit {
            optimizer,
            epochs,
            batch_size: 50,
            ..Default::default()
        },
        &mut StdRng::seed_from_u64(8),
    )?;
    Ok(history.last().expect("epochs ran").train_loss)
}

#[test]
fn adam_beats_plain_sgd_after_the_same_steps() {
    // Seen after 100 steps: SGD 1.91, Adam 0.23.
    let sgd_loss = final_loss(&[100, 100], sgd(0.01), 10).unwrap();
    let adam_loss = final_loss(
        &[100, 100],
        Adam {
            lr: 0.001,
            ..Default::default()
        }
        .into(),
        10,
    )
    .unwrap();
    assert!(
        adam_loss < 0.25 * sgd_loss,
        "Adam {adam_loss}, SGD {sgd_loss}"
    );
}

#[test]
fn wide_networks_fit_the_training_set_and_overfit_validation() {
    let (digits, _) = digits();
    let train = first(&digits, 200);
    let val = digits
        .select(&(200..700).collect::<Vec<_>>())
        .expect("rows exist");
    let loss = Loss::softmax_cross_entropy();
    // (final train loss, best validation loss, final validation loss)
    let run = |width: usize| {
        let mut net = mlp(&[width], Init::he_normal(), 11);
        let mut fit = Fit {
            optimizer: Adam {
                lr: 3e-3,
                ..Default::default()
            }
            .into(),
            batch_size: 50,
            ..Default::default()
        };
        let mut shuffle = StdRng::seed_from_u64(12);
        let mut best = f64::INFINITY;
        let mut last = f64::NAN;
        for start in (0..150).step_by(10) {
            fit.initial_epoch = start;
            fit.epochs = start + 10;
            net.fit(&train, &mut fit, &mut shuffle).expect("trains");
            last = net.evaluate(&val, &loss).expect("scores").loss;
            best = best.min(last);
        }
        (
            net.evaluate(&train, &loss).expect("scores").loss,
            best,
            last,
        )
    };
    // 150 epochs of Adam lr 3e-3 in batches of 50 (600 steps).
    let (narrow_train, narrow_best, _) = run(2);
    let (wide_train, wide_best, wide_last) = run(128);
    // Underfit: two units cannot fit 200 digits.
    assert!(narrow_train > 0.5, "width 2 train loss {narrow_train}");
    // Capacity: 128 units fit them almost exactly (seen 0.0012) and do better
    // on validation at their best (0.81)…
    assert!(wide_train < 0.01, "width 128 train loss {wide_train}");
    assert!(
        wide_best < 0.6 * narrow_best,
        "{wide_best} vs {narrow_best}"
    );
    // …but the validation loss climbs after its best epoch (seen to 1.09).
    assert!(
        wide_last > 1.2 * wide_best,
        "{wide_last} vs best {wide_best}"
    );
}

/// The seeds every multi-seed claim is checked over. The margins below were
/// set from the spread over these seeds (the extremes are quoted beside each
/// assertion) with room to spare, so that a regression in the library, not
/// the luck of one seed, is what makes one fail.
const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// 1000×100 standard-normal probe inputs drawn from `seed`.
fn probe(seed: u64) -> Tensor<f64> {
    Tensor::random(
        &[1000, 100],
        &StandardNormal,
        &mut StdRng::seed_from_u64(seed + 500),
    )
    .unwrap()
}

/// `depth` dense(100) + `kind` layers initialised by `init` from `seed`.
fn stack(kind: ActivationKind, init: Init, depth: usize, seed: u64) -> Network<f64> {
    let mut b = Network::<f64>::builder(100);
    for _ in 0..depth {
        b = b.dense(100, init).activation(Activation::new(kind));
    }
    b.build(&mut StdRng::seed_from_u64(seed)).unwrap()
}

/// Per-layer standard deviation of the activations of 5 dense(100) +
/// `kind` layers initialised by `init`, on 1000×100 standard-normal inputs,
/// from `Network::activation_report` (init_compare's part 1).
fn activation_stds(kind: ActivationKind, init: Init, seed: u64) -> Vec<f64> {
    let mut net = stack(kind, init, 5, seed);
    let report = net.activation_report(&probe(seed), 10).unwrap();
    report
        .layers
        .iter()
        .filter(|l| l.activation.is_some())
        .map(|l| l.stats.std)
        .collect()
}

fn extremes(v: impl IntoIterator<Item = f64>) -> (f64, f64) {
    v.into_iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
            (lo.min(x), hi.max(x))
        })
}

#[test]
fn initialization_sets_the_activation_scale() {
    use ActivationKind::{Relu, Sigmoid};
    let mut seen = Vec::new();
    for seed in SEEDS {
        // Sigmoid with N(0, 0.01²): every unit outputs ≈ 0.5, std ≈ 0.0125
        // from layer 2 on (z has std √(100·0.01²·0.25) = 0.05, times σ'(0) =
        // 0.25); the book's Xavier √(1/fan_in) keeps it above 0.1.
        let tiny = activation_stds(Sigmoid, Init::normal(0.0, 0.01), seed);
        let xavier = activation_stds(Sigmoid, Init::lecun_normal(), seed);
        // ReLU with N(0, 0.01²): each layer scales the std by about
        // 0.01·√100·√½ ≈ 0.07.
        let relu_tiny = activation_stds(Relu, Init::normal(0.0, 0.01), seed);
        let he = activation_stds(Relu, Init::he_normal(), seed);
        let steps = relu_tiny.windows(2).map(|w| w[1] / w[0]);
        seen.push((
            extremes(tiny.iter().copied()).1,
            extremes(xavier.iter().copied()).0,
            extremes(steps).1,
            relu_tiny[4] / relu_tiny[0],
            extremes(he.iter().map(|s| s / he[0])),
        ));
    }
    eprintln!(
        "(max tiny sigmoid std, min Xavier sigmoid std, max ReLU step, ReLU 5/1, He range): {seen:#?}"
    );
    for (tiny, xavier, step, five, (he_lo, he_hi)) in seen {
        assert!(tiny < 0.03, "sigmoid N(0, 0.01²) std {tiny}");
        assert!(xavier > 0.1, "sigmoid Xavier std {xavier}");
        assert!(step < 0.2, "ReLU N(0, 0.01²) per-layer factor {step}");
        assert!(five < 1e-4, "ReLU N(0, 0.01²) layer 5 / layer 1 {five}");
        assert!(
            he_lo > 0.5 && he_hi < 2.0,
            "He layers / layer 1 in {he_lo}..{he_hi}"
        );
    }
}

/// Per dense layer of a `depth`-layer stack, input side first:
/// (`‖∂L/∂W‖₂`, `‖∂L/∂W‖₂/‖W‖₂`) from `Network::audit_init` (init_compare's
/// part 2).
fn weight_gradients(kind: ActivationKind, init: Init, depth: usize, seed: u64) -> Vec<(f64, f64)> {
    let mut net = stack(kind, init, depth, seed);
    let audit = net.audit_init(&probe(seed)).unwrap();
    let out: Vec<(f64, f64)> = audit
        .layers
        .iter()
        .filter_map(|l| {
            let rel = l.relative_weight_grad?;
            Some((l.param_grad_norms[0].1, rel))
        })
        .collect();
    assert_eq!(out.len(), depth);
    out
}

#[test]
fn small_relu_weights_vanish_every_gradient_but_not_their_ratio() {
    use ActivationKind::Relu;
    let tiny = Init::normal(0.0, 0.01);
    let mut seen = Vec::new();
    for seed in SEEDS {
        let t10 = weight_gradients(Relu, tiny, 10, seed);
        let t20 = weight_gradients(Relu, tiny, 20, seed);
        let he10 = weight_gradients(Relu, Init::he_normal(), 10, seed);
        let he20 = weight_gradients(Relu, Init::he_normal(), 20, seed);
        seen.push((
            extremes(t10.iter().map(|g| g.0)).1,
            extremes(t20.iter().map(|g| g.0)).1,
            t10[0].0 / t10[9].0,
            t20[0].0 / t20[19].0,
            extremes(he10.iter().chain(&he20).map(|g| g.0)),
            extremes(he10.iter().chain(&he20).map(|g| g.1)).0,
            extremes(t10.iter().map(|g| g.1)).1,
        ));
    }
    eprintln!(
        "(tiny max ‖∂W‖ d10, d20, first/last d10, d20, He ‖∂W‖ range, He min rel, tiny max rel d10): {seen:#?}"
    );
    for (t10, t20, r10, r20, (he_lo, he_hi), he_rel, t_rel) in seen {
        // Every layer's gradient vanishes with N(0, 0.01²)…
        assert!(
            t10 < 1e-8,
            "ReLU N(0, 0.01²) depth 10 ‖∂L/∂W‖ up to {t10:e}"
        );
        assert!(
            t20 < 1e-19,
            "ReLU N(0, 0.01²) depth 20 ‖∂L/∂W‖ up to {t20:e}"
        );
        assert!(
            t_rel < 1e-8,
            "ReLU N(0, 0.01²) depth 10 ‖∂W‖/‖W‖ up to {t_rel:e}"
        );
        // …while the first-to-last ratio cannot tell.
        for r in [r10, r20] {
            assert!((0.5..2.0).contains(&r), "first/last {r}");
        }
        // He keeps the norms between 1 and 4 (seen 1.16 to 3.23) and the
        // relative gradient above 0.05 (seen down to 0.081).
        assert!(he_lo > 1.0 && he_hi < 4.0, "He ‖∂L/∂W‖ in {he_lo}..{he_hi}");
        assert!(he_rel > 0.05, "He ‖∂W‖/‖W‖ down to {he_rel}");
    }
}

#[test]
fn small_sigmoid_weights_vanish_the_gradient_towards_the_input() {
    // Each sigmoid layer with N(0, 0.01²) multiplies the backward signal by
    // about 0.01·√100·0.25 = 0.025: nine layers give ≈ 4e-15.
    let mut seen = Vec::new();
    for seed in SEEDS {
        let g = weight_gradients(ActivationKind::Sigmoid, Init::normal(0.0, 0.01), 10, seed);
        seen.push(g[0].0 / g[9].0);
    }
    eprintln!("sigmoid N(0, 0.01²) first/last at depth 10: {seen:?}");
    for r in seen {
        assert!(r < 1e-10, "sigmoid N(0, 0.01²): {r:e}");
    }
}

/// (train acc, test acc, train loss, test loss).
type Figures = (f64, f64, f64, f64);

/// The weight_decay example's set-up: 64 → 6 × (100 ReLU) → 10, He-normal
/// from `seed`, on the first 300 training digits, SGD lr 0.01 in batches of
/// 100 shuffled from `seed + 1000`. Returns, after each of `checkpoints`
/// (epoch counts), (train acc, test acc, train loss, test loss), and the
/// network at the end.
fn weight_decay_run(
    seed: u64,
    regularizer: Option<Regularization<f32>>,
    checkpoints: &[usize],
) -> (Vec<Figures>, Network<f32>) {
    let (train, test) = digits();
    let train = first(&train, 300);
    let mut b = Network::<f32>::builder(64);
    for _ in 0..6 {
        b = b.dense(100, Init::he_normal()).relu();
    }
    let mut net = b
        .dense(10, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap();
    let mut fit = Fit {
        optimizer: sgd(0.01),
        regularizer,
        batch_size: 100,
        ..Default::default()
    };
    let mut shuffle = StdRng::seed_from_u64(seed + 1000);
    let loss = Loss::softmax_cross_entropy();
    let mut out = Vec::new();
    let mut done = 0;
    for &epochs in checkpoints {
        fit.initial_epoch = done;
        fit.epochs = epochs;
        done = epochs;
        net.fit(&train, &mut fit, &mut shuffle).unwrap();
        let tr = net.evaluate(&train, &loss).unwrap();
        let te = net.evaluate(&test, &loss).unwrap();
        out.push((tr.accuracy.unwrap(), te.accuracy.unwrap(), tr.loss, te.loss));
    }
    (out, net)
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

#[test]
fn weight_decay_strong_l2_costs_accuracy_and_narrows_the_loss_gap() {
    let mut seen = Vec::new();
    for seed in SEEDS {
        let (none, n0) = weight_decay_run(seed, None, &[60, 150]);
        let (l2, n2) = weight_decay_run(seed, Some(L2::new(0.1).unwrap().into()), &[60, 150]);
        seen.push((none, l2, weight_norm(&n0), weight_norm(&n2)));
    }
    eprintln!("weight_decay λ=0.1 (none at 60, 150; L2 at 60, 150; ‖W‖ none, L2): {seen:#?}");
    let gap = |f: Figures| f.0 - f.1;
    let loss_gap = |f: Figures| f.3 - f.2;
    let (mut narrower_at_end, mut gaps) = (0, (Vec::new(), Vec::new()));
    for (none, l2, n0, n2) in &seen {
        // The weights stay smaller (seen ‖W‖ 35.2 → 22.9 for every seed).
        assert!(*n2 < 0.75 * n0, "‖W‖ {n0} → {n2}");
        // At epoch 60 the accuracy gap is narrower (every seed, by 0.004 to
        // 0.03)…
        assert!(gap(l2[0]) < gap(none[0]), "epoch 60 gap: {none:?} {l2:?}");
        // …but L2 costs test accuracy (every seed, by 0.011 to 0.114)…
        assert!(l2[1].1 < none[1].1, "final test accuracy: {none:?} {l2:?}");
        // …while the final loss gap (test − train) shrinks (by a factor 0.53
        // to 0.79).
        assert!(
            loss_gap(l2[1]) < 0.9 * loss_gap(none[1]),
            "loss gap: {none:?} {l2:?}"
        );
        narrower_at_end += usize::from(gap(l2[1]) < gap(none[1]));
        gaps.0.push(gap(none[1]));
        gaps.1.push(gap(l2[1]));
    }
    // The final accuracy gap is not reliably narrower: seen narrower in 2 of
    // 5 seeds, medians 0.136 (none) and 0.138 (L2).
    assert!(
        narrower_at_end <= 3,
        "narrower at the end in {narrower_at_end} of 5"
    );
    let (m0, m2) = (median(&gaps.0), median(&gaps.1));
    assert!((m0 - m2).abs() < 0.03, "median final gaps {m0} {m2}");
}

#[test]
fn weight_decay_moderate_l2_over_a_long_run() {
    let mut seen = Vec::new();
    for seed in SEEDS {
        let (none, _) = weight_decay_run(seed, None, &[1000]);
        let (l2, _) = weight_decay_run(seed, Some(L2::new(0.01).unwrap().into()), &[1000]);
        seen.push((none[0], l2[0]));
    }
    eprintln!("weight_decay λ=0.01, 1000 epochs (none, L2): {seen:#?}");
    let gap = |f: Figures| f.0 - f.1;
    let narrower = seen.iter().filter(|(n, l)| gap(*l) < gap(*n)).count();
    let higher = seen.iter().filter(|(n, l)| l.1 > n.1).count();
    let gaps: (Vec<f64>, Vec<f64>) = seen.iter().map(|(n, l)| (gap(*n), gap(*l))).unzip();
    for (none, l2) in &seen {
        // Both fit the 300 digits (seen 1.000 for every seed)…
        assert!(none.0 > 0.99 && l2.0 > 0.99, "{none:?} {l2:?}");
        // …and L2 lowers the test loss for every seed (seen by a factor 0.69
        // to 0.84).
        assert!(l2.3 < 0.95 * none.3, "test loss {none:?} {l2:?}");
    }
    // The accuracy gap narrows in most seeds (seen 4 of 5, by 0.002 to
    // 0.025; seed 4 widens by 0.006), and so does the median (seen 0.128 →
    // 0.106); the test accuracy rises in most (seen 4 of 5). One seed may
    // flip: the per-seed changes are one to nine test digits.
    assert!(narrower >= 3, "gap narrower in {narrower} of 5: {seen:?}");
    assert!(
        higher >= 3,
        "test accuracy higher in {higher} of 5: {seen:?}"
    );
    assert!(median(&gaps.1) < median(&gaps.0), "median gaps {gaps:?}");
}

#[test]
fn weight_decay_proximal_l1() {
    let mut seen = Vec::new();
    for seed in SEEDS {
        let zeros = |net: &Network<f32>| {
            let w = net.tensor("0.weight").unwrap();
            w.as_slice().iter().filter(|&&v| v == 0.0).count() as f64 / w.len() as f64
        };
        let (a, na) = weight_decay_run(seed, Some(L1::new(0.01).unwrap().into()), &[150]);
        let (b, nb) = weight_decay_run(seed, Some(L1::new(0.1).unwrap().into()), &[150]);
        seen.push((a[0], zeros(&na), b[0], zeros(&nb)));
    }
    eprintln!("weight_decay L1 0.01 and 0.1 (figures, zero fraction): {seen:#?}");
    let ln10 = 10f64.ln();
    for (a, za, b, zb) in seen {
        // λ₁ = 0.01 zeroes part of the first layer (seen 18% to 19%) and the
        // network still learns (training accuracy 0.95 to 0.99).
        assert!((0.1..0.3).contains(&za) && a.0 > 0.9, "L1 0.01: {a:?} {za}");
        // λ₁ = 0.1 zeroes almost all of it (seen 98.7% to 99.0%) and leaves
        // a constant classifier: the loss at ln 10 (seen within 0.003).
        assert!(zb > 0.97, "L1 0.1 zeros {zb}");
        assert!((b.2 - ln10).abs() < 0.01, "L1 0.1 loss {b:?}");
    }
}

/// The learning_rate example's network, 64 → 4 × (100 ReLU) → 10, He-normal
/// from `seed`.
fn lr_network(seed: u64) -> Network<f32> {
    mlp(&[100; 4], Init::he_normal(), seed)
}

#[test]
fn learning_rate_starting_loss_is_above_ln_10() {
    let (train, _) = digits();
    let loss = Loss::softmax_cross_entropy();
    let ln10 = 10f64.ln();
    let mut seen = Vec::new();
    for seed in SEEDS {
        let mut net = lr_network(seed);
        let start = net.evaluate(&train, &loss).unwrap().loss;
        // Spread of the ten logits within a row, averaged over the rows.
        let logits = net.predict(train.features()).unwrap();
        let spread = logits
            .as_slice()
            .chunks(10)
            .map(|r| {
                let r: Vec<f64> = r.iter().map(|v| v.as_f64()).collect();
                let m = r.iter().sum::<f64>() / 10.0;
                r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 10.0
            })
            .sum::<f64>()
            / train.len() as f64;
        // Equal logits (the output layer zeroed) give exactly ln 10.
        for name in ["8.weight", "8.bias"] {
            let zero = Tensor::zeros(net.tensor(name).unwrap().shape()).unwrap();
            net.set_tensor(name, &zero).unwrap();
        }
        let flat = net.evaluate(&train, &loss).unwrap().loss;
        assert!((flat - ln10).abs() < 1e-6, "zeroed output layer: {flat}");
        seen.push((start, spread, ln10 + 0.5 * spread));
    }
    eprintln!("(starting loss, mean within-row logit variance, ln 10 + var/2): {seen:#?}");
    for (start, spread, approx) in seen {
        // Seen 2.43 to 2.63 over the seeds (within-row variance 0.27 to 0.71).
        assert!((2.35..2.75).contains(&start), "starting loss {start}");
        assert!(start > ln10 + 0.05, "starting loss {start}");
        assert!(spread > 0.1, "logit variance {spread}");
        // ln 10 + var/2 accounts for it to within 0.2 (seen within 0.14).
        assert!(
            (start - approx).abs() < 0.2,
            "{start} vs ln 10 + var/2 = {approx}"
        );
    }
}

/// 20 epochs of SGD at `lr` in batches of 64 on the 1,437 training digits
/// (shuffled from `seed + 1000`), as the learning_rate example: the epoch
/// records, then the test accuracy and each hidden layer's dead-unit
/// fraction on the test digits, or the error that stopped it.
fn lr_run(seed: u64, lr: f64) -> (Vec<EpochRecord>, weightwise::Result<(f64, Vec<f64>)>) {
    let (train, test) = digits();
    let mut net = lr_network(seed);
    let mut records = Vec::new();
    let mut keep = |e: &EpochRecord| {
        records.push(e.clone());
        Control::CONTINUE
    };
    let result = net.fit(
        &train,
        &mut Fit {
            optimizer: sgd(lr),
            epochs: 20,
            batch_size: 64,
            on_epoch: Some(&mut keep),
            ..Default::default()
        },
        &mut StdRng::seed_from_u64(seed + 1000),
    );
    let after = result.and_then(|_| {
        let acc = net
            .evaluate(&test, &Loss::softmax_cross_entropy())?
            .accuracy
            .unwrap();
        let report = net.activation_report(test.features(), 10)?;
        Ok((
            acc,
            report.layers.iter().filter_map(|l| l.dead_units).collect(),
        ))
    });
    (records, after)
}

#[test]
fn learning_rates_from_too_small_to_divergent() {
    let mut seen = Vec::new();
    for seed in SEEDS {
        let mut row = Vec::new();
        for lr in [1e-4, 1e-3, 1e-2, 1e-1, 1.0] {
            let (records, after) = lr_run(seed, lr);
            let Ok((acc, dead)) = after else {
                row.push((
                    lr,
                    records.len() as f64,
                    f64::NAN,
                    f64::NAN,
                    (f64::NAN, f64::NAN),
                ));
                continue;
            };
            let l: Vec<f64> = records.iter().map(|r| r.train_loss).collect();
            row.push((lr, l[0], l[19], acc, extremes(dead)));
        }
        let (records, after) = lr_run(seed, 10.0);
        // 10 overflows within the first epoch, and the guard says where.
        assert!(
            records.is_empty(),
            "lr 10 completed {} epochs",
            records.len()
        );
        let err = after.unwrap_err();
        assert!(matches!(err, Error::NonFinite { .. }), "lr 10: {err}");
        let text = err.to_string();
        assert!(text.contains("epoch 0") && text.contains("step"), "{text}");
        seen.push(row);
    }
    eprintln!("(lr, epoch 1 loss, epoch 20 loss, test acc, dead units range): {seen:#?}");
    let mut overflowed_at_1 = 0;
    for row in &seen {
        let [slow, slower, good, best, big] = row[..] else {
            unreachable!("five rates")
        };
        // 1e-4 barely moves (seen: down 0.09 to 0.22 in 20 epochs, test
        // accuracy 0.07 to 0.19).
        assert!(slow.1 - slow.2 < 0.3 && slow.3 < 0.25, "lr 1e-4: {slow:?}");
        // 1e-3 moves slowly (seen: 1.83 to 2.01 after 20 epochs, accuracy 0.40 to 0.50).
        assert!(slower.2 > 1.5 && slower.3 < 0.6, "lr 1e-3: {slower:?}");
        // 1e-2 and 1e-1 learn (seen: 0.24 to 0.31 and 0.017 to 0.037;
        // accuracy 0.93 to 0.94 and 0.97 to 0.99).
        assert!(good.2 < 0.4 && good.3 > 0.9, "lr 1e-2: {good:?}");
        assert!(best.2 < 0.1 && best.3 > 0.95, "lr 1e-1: {best:?}");
        // 1 overshoots: it overflows in the first epoch (seen for 2 of the 5
        // seeds), or the run survives with most units of some layer dead
        // (seen 80% to 100%) and test accuracy at most 0.31.
        if big.2.is_nan() {
            overflowed_at_1 += 1;
        } else {
            assert!(big.4.1 > 0.6 && big.3 < 0.4, "lr 1: {big:?}");
        }
    }
    assert!(overflowed_at_1 < seen.len(), "lr 1 survives for some seeds");
}

/// The bias example: 40 `x ~ U[0, 4]` from `seed`, labelled `x > 2`, and one
/// neuron `σ(w·x [+ b])` trained by 2,000 full-batch gradient-descent steps
/// at lr 0.5 on binary cross-entropy. Returns (w, b, training accuracy, the
/// share of class 1).
fn one_neuron(with_bias: bool, seed: u64) -> (f64, f64, f64, f64) {
    use rand::RngExt;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x: Vec<f64> = (0..40).map(|_| rng.random_range(0.0..4.0)).collect();
    x.sort_by(f64::total_cmp);
    let y: Vec<f64> = x.iter().map(|&v| f64::from(u8::from(v > 2.0))).collect();
    let ones = y.iter().sum::<f64>() / 40.0;
    let (x, y) = (
        Tensor::from_vec(x, &[40, 1]).unwrap(),
        Tensor::from_vec(y, &[40, 1]).unwrap(),
    );
    let b = Network::<f64>::builder(1);
    let b = if with_bias {
        b.dense(1, Init::xavier_uniform())
    } else {
        b.dense_without_bias(1, Init::xavier_uniform())
    };
    let mut net = b.build(&mut StdRng::seed_from_u64(seed + 100)).unwrap();
    let mut opt = weightwise::optim::GradientDescent::<f64>::new(Sgd {
        lr: 0.5,
        ..Default::default()
    })
    .unwrap();
    let loss = Loss::binary_cross_entropy();
    for _ in 0..2000 {
        net.compute_gradients(&x, &y, &loss).unwrap();
        opt.step(&mut net.params_mut()).unwrap();
    }
    let z = net.predict(&x).unwrap();
    let correct = z
        .as_slice()
        .iter()
        .zip(y.as_slice())
        .filter(|&(&z, &t)| (z > 0.0) == (t > 0.5))
        .count();
    let w = net.tensor("0.weight").unwrap().as_slice()[0];
    let b = net.tensor("0.bias").map_or(0.0, |t| t.as_slice()[0]);
    // What the neuron outputs at x = 0 is σ(b): exactly 0.5 without a bias.
    let zero = Tensor::zeros(&[1, 1]).unwrap();
    assert_eq!(net.predict(&zero).unwrap().as_slice()[0], b);
    (w, b, correct as f64 / 40.0, ones)
}

#[test]
fn a_bias_moves_the_boundary_off_the_origin() {
    let mut seen = Vec::new();
    for seed in SEEDS {
        seen.push((one_neuron(true, seed), one_neuron(false, seed)));
    }
    eprintln!("((w, b, accuracy, share of 1) with bias, without): {seen:#?}");
    for ((w, b, acc, _), (w0, b0, acc0, ones)) in seen {
        // With the bias: the boundary −b/w within 0.25 of 2 (seen 1.87 to
        // 2.06) and training accuracy at least 0.95 (seen 0.975 to 1).
        assert!((-b / w - 2.0).abs() < 0.25, "boundary {}", -b / w);
        assert!(acc >= 0.95, "accuracy with bias {acc}");
        // Without: p(0) = σ(0) = 0.5, w > 0, every sample called class 1,
        // so the accuracy is class 1's share (seen 0.40 to 0.575).
        assert_eq!(b0, 0.0);
        assert!(w0 > 0.0, "w without bias {w0}");
        assert_eq!(acc0, ones, "accuracy without bias");
    }
}

/// init_compare's part 3: 64 → 5 × (100 ReLU) → 10 from `init` and `seed`,
/// SGD lr 0.01 in batches of 128 (shuffled from `seed + 1000`) for 30
/// epochs on the training digits. Returns (last epoch's training loss,
/// test accuracy).
fn init_training(init: Init, seed: u64) -> (f64, f64) {
    let (train, test) = digits();
    let mut net = mlp(&[100; 5], init, seed);
    let history = net
        .fit(
            &train,
            &mut Fit {
                optimizer: sgd(0.01),
                epochs: 30,
                batch_size: 128,
                validation: Some(&test),
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(seed + 1000),
        )
        .unwrap();
    let last = history.last().unwrap();
    (last.train_loss, last.val_accuracy.unwrap())
}

#[test]
fn initialization_decides_whether_a_deep_relu_net_learns() {
    let mut seen = Vec::new();
    for seed in SEEDS {
        seen.push([
            init_training(Init::normal(0.0, 0.01), seed),
            init_training(Init::lecun_normal(), seed),
            init_training(Init::he_normal(), seed),
        ]);
    }
    eprintln!("[N(0, 0.01²), Xavier, He] × (train loss, test acc) after 30 epochs: {seen:#?}");
    for [tiny, xavier, he] in seen {
        assert!(
            (tiny.0 - 10f64.ln()).abs() < 0.01,
            "N(0, 0.01²) loss {tiny:?}"
        );
        assert!(tiny.1 < 0.2, "N(0, 0.01²) accuracy {tiny:?}");
        assert!(
            he.0 < xavier.0 && xavier.0 < tiny.0,
            "{tiny:?} {xavier:?} {he:?}"
        );
        // Xavier slowly (seen loss 1.92 to 2.06, accuracy 0.33 to 0.61), He
        // fastest (seen 0.24 to 0.31, accuracy 0.89 to 0.95).
        assert!(xavier.0 > 1.5 && xavier.1 < 0.75, "Xavier {xavier:?}");
        assert!(he.0 < 0.5 && he.1 > 0.85, "He {he:?}");
    }
}
