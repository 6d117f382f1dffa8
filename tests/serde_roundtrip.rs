//! The `serde` feature: configurations and records round-trip through
//! serde_json, non-finite figures included, and validated types are
//! validated again when read.
#![cfg(feature = "serde")]

mod common;

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;
use weightwise::optim::{Plateau, PlateauMode, ThresholdMode};
use weightwise::prelude::*;
use weightwise::rand::{SeedableRng, rngs::StdRng};
use weightwise::regularize::L1Mode;
use weightwise::train::{GradientRecord, Recording};
use weightwise::{Algorithm, AuditThresholds, TensorStats};

/// `x` → JSON → a value equal to `x`; returns the JSON.
fn round_trip<X: Serialize + DeserializeOwned + PartialEq + Debug>(x: &X) -> String {
    let json = serde_json::to_string(x).unwrap();
    let back: X = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, x, "{json}");
    json
}

#[test]
fn optimizer_configs_and_schedules() {
    let configs = [
        Algorithm::Sgd(Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        }),
        Algorithm::Adam(Adam {
            lr: 3e-3,
            amsgrad: true,
            ..Default::default()
        }),
        Algorithm::AdamW(AdamW::default()),
        Algorithm::RmsProp(RmsProp {
            centered: true,
            ..Default::default()
        }),
        Algorithm::AdaGrad(AdaGrad {
            lr_decay: 1e-4,
            ..Default::default()
        }),
    ];
    for c in &configs {
        round_trip(c);
    }
    // Fields left out take the defaults (PyTorch's), as in a config file.
    let adam: Adam = serde_json::from_str(r#"{"lr": 0.01}"#).unwrap();
    assert_eq!(
        adam,
        Adam {
            lr: 0.01,
            ..Default::default()
        }
    );
    for s in [
        Schedule::Constant,
        Schedule::Step {
            step_size: 10,
            gamma: 0.5,
        },
        Schedule::Exponential { gamma: 0.95 },
        Schedule::Cosine {
            t_max: 50,
            eta_min: 1e-5,
        },
    ] {
        round_trip(&s);
        round_trip(&LrSchedule {
            schedule: s,
            warmup: Some(Warmup {
                epochs: 3,
                start_factor: 0.1,
            }),
        });
    }
    let p = Plateau {
        mode: PlateauMode::Max,
        threshold_mode: ThresholdMode::Abs,
        patience: 2,
        ..Default::default()
    };
    round_trip(&p);
    round_trip(&Clip::Norm(1.0));
    round_trip(&EarlyStopping {
        patience: 3,
        ..Default::default()
    });
}

#[test]
fn penalties_and_constraints_are_validated_when_read() {
    round_trip(&L2::new(1e-4).unwrap());
    let json = round_trip(&L1::subgradient(1e-3).unwrap());
    assert_eq!(json, r#"{"lambda":0.001,"mode":"Subgradient"}"#);
    let l1: L1 = serde_json::from_str(r#"{"lambda": 0.5}"#).unwrap();
    assert_eq!(l1.mode(), L1Mode::Proximal);
    round_trip(&ElasticNet::new(1e-3, 1e-2).unwrap());
    // A stored negative coefficient is the constructor's error.
    let e = serde_json::from_str::<L2>(r#"{"lambda": -1.0}"#).unwrap_err();
    assert_eq!(e.to_string(), L2::new(-1.0).unwrap_err().to_string());
    assert!(serde_json::from_str::<ElasticNet>(r#"{"l1": 0.1, "l2": -0.1}"#).is_err());
    assert!(serde_json::from_str::<L2>(r#"{"lambda": 0.1, "typo": 1}"#).is_err());
    round_trip(&Constraint::max_norm(3.0).unwrap());
    round_trip(
        &Constraints::new()
            .layer(0, Constraint::NonNeg)
            .layer(2, Constraint::UnitNorm),
    );
    round_trip(&AuditThresholds::default());
}

#[test]
fn a_training_history_round_trips_with_non_finite_figures() {
    let (train, test) = datasets::digits::<f32>().unwrap();
    let train = train.split_at(200).unwrap().0;
    let mut rng = StdRng::seed_from_u64(1);
    let mut net = common::digits_mlp::<f32>(16, &mut rng);
    let mut history = net
        .fit(
            &train,
            &mut Fit {
                epochs: 2,
                validation: Some(&test),
                record_gradients: true,
                ..Default::default()
            },
            &mut rng,
        )
        .unwrap();
    assert!(history.epochs[1].gradients.len() == 4 && history.epochs[1].val_loss.is_some());
    round_trip(&history);
    // A gradient that exploded stays NaN / ∞ (JSON alone would turn it into null).
    history.epochs[1].gradients[0].grad_norm = f64::INFINITY;
    history.epochs[1].gradients.push(GradientRecord {
        name: "9.weight".into(),
        grad_norm: f64::NAN,
        update_ratio: 0.0,
    });
    let json = serde_json::to_string(&history).unwrap();
    assert!(
        json.contains(r#""grad_norm":"inf""#) && json.contains(r#""grad_norm":"NaN""#),
        "{json}"
    );
    let back: History = serde_json::from_str(&json).unwrap();
    assert_eq!(back.epochs[1].gradients[0].grad_norm, f64::INFINITY);
    assert!(back.epochs[1].gradients[4].grad_norm.is_nan());
    assert_eq!(back.epochs[0], history.epochs[0]);
}

/// The weights over time (`Fit::recording`) are part of a stored history;
/// an empty parameter's NaN quantiles and range stay NaN, and a history
/// stored without a timeline still reads.
#[test]
fn a_recorded_timeline_round_trips() {
    let (train, test) = datasets::digits::<f32>().unwrap();
    let train = train.split_at(200).unwrap().0;
    let mut rng = StdRng::seed_from_u64(3);
    let mut net = Network::<f32>::builder(64)
        .dense(16, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let probe = train.features().rows(0..32).unwrap();
    let mut history = net
        .fit(
            &train,
            &mut Fit {
                epochs: 3,
                validation: Some(&test),
                recording: Some(Recording::every(1).with_probe(probe)),
                ..Default::default()
            },
            &mut rng,
        )
        .unwrap();
    let timeline = history.timeline.as_ref().unwrap();
    assert_eq!(timeline.snapshots.len(), 4);
    assert!(timeline.init_audit.is_some());
    assert!(!timeline.snapshots[3].activations.is_empty());
    assert!(timeline.snapshots[3].params[0].grad_norm.is_some());
    let json = round_trip(&history);
    assert!(json.contains(r#""quantiles":["#), "{json}");
    round_trip(timeline);

    let t = history.timeline.as_mut().unwrap();
    let p = &mut t.snapshots[0].params[0];
    (p.quantiles, p.range, p.grad_norm) = ([f64::NAN; 9], (f64::NAN, f64::INFINITY), None);
    let json = serde_json::to_string(&history).unwrap();
    let back: History = serde_json::from_str(&json).unwrap();
    let q = &back.timeline.as_ref().unwrap().snapshots[0].params[0];
    assert!(q.quantiles.iter().all(|x| x.is_nan()) && q.range.0.is_nan());
    assert_eq!((q.range.1, q.grad_norm), (f64::INFINITY, None));
    let kept = &history.timeline.as_ref().unwrap().snapshots[1..];
    assert_eq!(back.timeline.unwrap().snapshots[1..], *kept);
    // Nine quantiles, not eight.
    let eight = json.replacen(r#""quantiles":["NaN","#, r#""quantiles":["#, 1);
    let err = serde_json::from_str::<History>(&eight).unwrap_err();
    assert!(err.to_string().contains("9 numbers"), "{err}");
    // A history stored before timelines were serialized.
    history.timeline = None;
    let old = serde_json::to_string(&history)
        .unwrap()
        .replace(r#","timeline":null"#, "");
    assert!(!old.contains("timeline"));
    assert_eq!(serde_json::from_str::<History>(&old).unwrap(), history);
}

#[test]
fn reports_and_the_init_audit_round_trip() {
    let (train, _) = datasets::digits::<f64>().unwrap();
    let x = train.features().rows(0..64).unwrap();
    let mut rng = StdRng::seed_from_u64(2);
    let mut net = common::digits_mlp::<f64>(16, &mut rng);
    let weights = net.weight_report();
    let json = round_trip(&weights);
    assert!(json.contains(r#""layer_kind":"Dense""#), "{json}");
    round_trip(&net.activation_report(&x, 8).unwrap());
    let audit = net.audit_init(&x).unwrap();
    round_trip(&audit);
    // An all-NaN tensor's statistics are NaN, and stay so.
    let stats = TensorStats::of(&Tensor::from_slice(&[f64::NAN, f64::INFINITY]), 0.0, 4).unwrap();
    let back: TensorStats = serde_json::from_str(&serde_json::to_string(&stats).unwrap()).unwrap();
    assert!(back.mean.is_nan() && back.min.is_nan() && back.non_finite == 2);
    assert_eq!(back.histogram, stats.histogram);
}

#[test]
fn figures_read_from_numbers_strings_or_null() {
    let g: GradientRecord =
        serde_json::from_str(r#"{"name": "0.weight", "grad_norm": null, "update_ratio": 3}"#)
            .unwrap();
    assert!(g.grad_norm.is_nan() && g.update_ratio == 3.0);
    let g: GradientRecord =
        serde_json::from_str(r#"{"name": "0.bias", "grad_norm": "-inf", "update_ratio": 1e-3}"#)
            .unwrap();
    assert_eq!((g.grad_norm, g.update_ratio), (f64::NEG_INFINITY, 1e-3));
    let e = serde_json::from_str::<GradientRecord>(
        r#"{"name": "x", "grad_norm": "big", "update_ratio": 0}"#,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains(r#"a number, "NaN", "inf" or "-inf""#),
        "{e}"
    );
}
