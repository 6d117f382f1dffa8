//! Integration tests of training: seeded models learn real data, every
//! setting is checked, and a numeric blow-up stops training with an error that
//! says where.

mod common;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::layer::Mode;
use weightwise::prelude::*;

fn digits_net(seed: u64) -> Network<f32> {
    common::digits_mlp::<f32>(32, &mut StdRng::seed_from_u64(seed))
}

#[test]
fn digits_are_learned_well_above_chance() {
    let (train, test) = datasets::digits::<f32>().unwrap();
    let mut net = digits_net(1);
    let mut rng = StdRng::seed_from_u64(2);
    let history = net
        .fit(
            &train,
            &mut Fit {
                optimizer: Adam {
                    lr: 3e-3,
                    ..Default::default()
                }
                .into(),
                epochs: 8,
                validation: Some(&test),
                ..Default::default()
            },
            &mut rng,
        )
        .unwrap();
    let eval = net.evaluate(&test, &Loss::softmax_cross_entropy()).unwrap();
    // Chance is 10%; 95% on 360 held-out images cannot happen by luck.
    assert!(eval.accuracy.unwrap() > 0.95, "{eval:?}");
    assert_eq!(eval.samples, 360);
    let losses = history.train_losses();
    assert!(losses[7] < 0.25 * losses[0], "{losses:?}");
    let last = history.last().unwrap();
    assert_eq!(last.val_accuracy, eval.accuracy);
    assert!(last.train_accuracy.unwrap() > 0.9);
}

#[test]
fn iris_with_standardized_features_and_a_held_out_split() {
    let data = datasets::iris_all::<f64>().unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let (train, val) = data.split(0.3, &mut rng).unwrap();
    let scaler = Standardizer::fit(train.features()).unwrap();
    let train = Dataset::new(
        scaler.transform(train.features()).unwrap(),
        train.targets().clone(),
    )
    .unwrap();
    let val = Dataset::new(
        scaler.transform(val.features()).unwrap(),
        val.targets().clone(),
    )
    .unwrap();
    let mut net = Network::<f64>::builder(4)
        .dense(16, Init::he_normal())
        .tanh()
        .dense(3, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    net.fit(
        &train,
        &mut Fit {
            optimizer: Sgd {
                lr: 0.1,
                momentum: 0.9,
                ..Default::default()
            }
            .into(),
            epochs: 60,
            batch_size: 16,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    let acc = net
        .evaluate(&val, &Loss::softmax_cross_entropy())
        .unwrap()
        .accuracy
        .unwrap();
    // 45 held-out flowers; chance is a third.
    assert!(acc >= 0.9, "validation accuracy {acc}");
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let run = || {
        let mut net = digits_net(7);
        let h = net
            .fit(
                &train,
                &mut Fit {
                    epochs: 2,
                    ..Default::default()
                },
                &mut StdRng::seed_from_u64(8),
            )
            .unwrap();
        (net.tensor("2.weight").unwrap().clone(), h.train_losses())
    };
    assert!(run() == run(), "two runs with the same seeds differ");
}

#[test]
fn resuming_with_initial_epoch_equals_one_long_run() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let mut a = digits_net(3);
    let mut rng_a = StdRng::seed_from_u64(4);
    a.fit(
        &train,
        &mut Fit {
            epochs: 4,
            ..Default::default()
        },
        &mut rng_a,
    )
    .unwrap();

    let mut b = digits_net(3);
    let mut rng_b = StdRng::seed_from_u64(4);
    let mut fit = Fit {
        epochs: 2,
        ..Default::default()
    };
    b.fit(&train, &mut fit, &mut rng_b).unwrap();
    fit.initial_epoch = 2;
    fit.epochs = 4;
    let h = b.fit(&train, &mut fit, &mut rng_b).unwrap();
    assert_eq!(h.epochs.first().unwrap().epoch, 2);
    assert!(
        a.tensor("0.weight").unwrap() == b.tensor("0.weight").unwrap(),
        "resumed weights differ from one long run"
    );
}

#[test]
fn schedules_set_the_learning_rate_per_epoch_and_it_is_restored() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let mut net = digits_net(0);
    let mut fit = Fit {
        schedule: Some(
            Schedule::Step {
                step_size: 2,
                gamma: 0.5,
            }
            .into(),
        ),
        epochs: 5,
        ..common::sgd(0.1)
    };
    let h = net
        .fit(&train, &mut fit, &mut StdRng::seed_from_u64(0))
        .unwrap();
    let lrs: Vec<f64> = h.epochs.iter().map(|e| e.learning_rate).collect();
    // lr = 0.1·0.5^⌊e/2⌋
    assert_eq!(lrs, [0.1, 0.1, 0.05, 0.05, 0.025]);
    assert_eq!(fit.optimizer.learning_rate(), 0.1);
}

#[test]
fn l1_makes_first_layer_weights_exactly_zero_and_the_penalty_is_reported() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let zeros = |net: &Network<f32>| {
        net.tensor("0.weight")
            .unwrap()
            .as_slice()
            .iter()
            .filter(|&&w| w == 0.0)
            .count()
    };
    let mut net = digits_net(9);
    assert_eq!(zeros(&net), 0);
    let h = net
        .fit(
            &train,
            &mut Fit {
                regularizer: Some(L1::new(1e-2).unwrap().into()),
                epochs: 5,
                ..common::sgd(0.05)
            },
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap();
    // Border pixels of the digits are always blank, so their weights get no
    // data gradient at all and the soft threshold drives them to zero.
    assert!(zeros(&net) > 64 * 32 / 10, "only {} zeros", zeros(&net));
    let e = h.last().unwrap();
    assert!(e.train_objective > e.train_loss);
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    let (train, test) = datasets::digits::<f32>().unwrap();
    let small = train.select(&(0..100).collect::<Vec<_>>()).unwrap();
    let mut net = common::digits_mlp::<f32>(256, &mut StdRng::seed_from_u64(2));
    let mut fit = Fit {
        optimizer: Adam {
            lr: 1e-2,
            ..Default::default()
        }
        .into(),
        epochs: 200,
        batch_size: 10,
        validation: Some(&test),
        early_stopping: Some(EarlyStopping {
            patience: 3,
            ..Default::default()
        }),
        ..Default::default()
    };
    let h = net
        .fit(&small, &mut fit, &mut StdRng::seed_from_u64(3))
        .unwrap();
    assert!(
        h.stopped_early,
        "100 samples overfit long before 200 epochs"
    );
    let best = h.best_epoch.unwrap();
    assert_eq!(h.epochs.len(), best + 3 + 2);
    let best_val = h.epochs[best].val_loss.unwrap();
    let now = net
        .evaluate(&test, &Loss::softmax_cross_entropy())
        .unwrap()
        .loss;
    assert!(
        (now - best_val).abs() < 1e-5,
        "restored {now} vs best {best_val}"
    );
}

#[test]
fn a_callback_can_stop_training_and_sees_every_epoch() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let mut net = digits_net(0);
    let mut seen = Vec::new();
    let mut cb = |e: &EpochRecord| {
        seen.push(e.epoch);
        if e.epoch < 2 {
            Control::CONTINUE
        } else {
            Control::STOP
        }
    };
    let h = net
        .fit(
            &train,
            &mut Fit {
                epochs: 10,
                on_epoch: Some(&mut cb),
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
    assert_eq!(seen, [0, 1, 2]);
    assert!(h.stopped_early);
}

#[test]
fn gradient_diagnostics_are_recorded_when_asked() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let mut net = digits_net(0);
    let h = net
        .fit(
            &train,
            &mut Fit {
                epochs: 1,
                record_gradients: true,
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
    let g = &h.epochs[0].gradients;
    let names: Vec<&str> = g.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["0.weight", "0.bias", "2.weight", "2.bias"]);
    assert!(
        g.iter()
            .all(|r| r.grad_norm > 0.0 && r.grad_norm.is_finite())
    );
    // Adam moves each weight by about lr = 1e-3 per step: a small but non-zero ratio.
    assert!(
        g[0].update_ratio > 1e-5 && g[0].update_ratio < 1e-1,
        "{:?}",
        g[0]
    );
}

#[test]
fn a_divergent_learning_rate_is_stopped_with_an_error_that_says_where() {
    let x = Tensor::from_vec((0..32).map(|i| i as f64).collect(), &[32, 1]).unwrap();
    let y = x.map(|v| 3.0 * v);
    let data = Dataset::new(x, y).unwrap();
    let mut net = Network::<f64>::builder(1)
        .dense(1, Init::constant(0.5))
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap();
    let err = net
        .fit(
            &data,
            &mut Fit {
                loss: Loss::mse().into(),
                epochs: 100,
                ..common::sgd(10.0)
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::NonFinite { .. }), "{msg}");
    assert!(
        msg.contains("epoch") && msg.contains("step") && msg.contains("the loss itself overflowed"),
        "{msg}"
    );
}

/// A layer whose backward pass produces a NaN gradient, to prove the guard names it.
#[derive(Clone, Debug)]
struct Broken {
    p: Param<f64>,
    out: Tensor<f64>,
}

impl Layer<f64> for Broken {
    fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> Result<()> {
        out.assign(x);
        Ok(())
    }
    fn kind(&self) -> &'static str {
        "Broken"
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }
    fn forward(&mut self, x: &Tensor<f64>, _: Mode) -> Result<&Tensor<f64>> {
        self.out.assign(x);
        Ok(&self.out)
    }
    fn backward(&mut self, dy: &Tensor<f64>) -> Result<&Tensor<f64>> {
        self.p.grad.fill(f64::NAN);
        self.out.assign(dy);
        Ok(&self.out)
    }
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<f64>)) {
        f(&self.p);
    }
    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<f64>)) {
        f(&mut self.p);
    }
}

#[test]
fn a_non_finite_gradient_names_the_parameter_and_layer() {
    let broken = Broken {
        p: Param::new("gain", ParamKind::Scale, Tensor::ones(&[1]).unwrap()),
        out: Tensor::default(),
    };
    let mut net = Network::<f64>::builder(2)
        .dense(2, Init::xavier_uniform())
        .layer(Box::new(broken))
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap();
    let data = Dataset::new(
        Tensor::ones(&[4, 2]).unwrap(),
        Tensor::from_slice(&[0.0, 1.0, 0.0, 1.0]),
    )
    .unwrap();
    let err = net
        .fit(&data, &mut Fit::default(), &mut StdRng::seed_from_u64(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "non-finite value in gradient of 1.gain (layer 1, Broken) at epoch 0, step 0"
    );
}

#[test]
fn bad_settings_and_bad_data_are_errors_before_any_step() {
    let (train, _) = datasets::digits::<f32>().unwrap();
    let mut net = digits_net(0);
    let before = net.tensor("0.weight").unwrap().clone();
    let mut rng = StdRng::seed_from_u64(0);
    let mut try_fit = |fit: Fit<'_, f32>| {
        let mut fit = fit;
        net.fit(&train, &mut fit, &mut rng).unwrap_err().to_string()
    };
    assert!(
        try_fit(Fit {
            batch_size: 0,
            ..Default::default()
        })
        .contains("batch size")
    );
    assert!(
        try_fit(Fit {
            epochs: 0,
            ..Default::default()
        })
        .contains("epochs")
    );
    assert!(
        try_fit(Fit {
            epochs: 3,
            initial_epoch: 3,
            ..Default::default()
        })
        .contains("epochs")
    );
    assert!(
        try_fit(Fit {
            optimizer: Adam {
                lr: -1.0,
                ..Default::default()
            }
            .into(),
            ..Default::default()
        })
        .contains("lr")
    );
    assert!(
        try_fit(Fit {
            clip: Some(Clip::Norm(0.0)),
            ..Default::default()
        })
        .contains("clip")
    );
    assert!(
        try_fit(Fit {
            schedule: Some(
                Schedule::Step {
                    step_size: 0,
                    gamma: 0.5
                }
                .into()
            ),
            ..Default::default()
        })
        .contains("step")
    );
    assert!(
        try_fit(Fit {
            early_stopping: Some(EarlyStopping {
                min_delta: -1.0,
                ..Default::default()
            }),
            ..Default::default()
        })
        .contains("min_delta")
    );
    let iris = datasets::iris_all::<f32>().unwrap();
    assert!(
        try_fit(Fit {
            validation: Some(&iris),
            ..Default::default()
        })
        .contains("validation")
    );
    assert_eq!(net.tensor("0.weight").unwrap(), &before, "nothing trained");

    let mut rng = StdRng::seed_from_u64(0);
    assert!(train.split(0.0, &mut rng).is_err());
    assert!(train.split(1.0, &mut rng).is_err());
    assert!(
        Dataset::new(
            Tensor::<f32>::zeros(&[3, 2]).unwrap(),
            Tensor::zeros(&[4]).unwrap()
        )
        .is_err()
    );
    assert!(
        Dataset::new(
            Tensor::<f32>::zeros(&[0, 2]).unwrap(),
            Tensor::zeros(&[0]).unwrap()
        )
        .is_err()
    );
    let mut small = digits_net(0);
    let wrong = Dataset::new(
        Tensor::<f32>::zeros(&[2, 3]).unwrap(),
        Tensor::zeros(&[2]).unwrap(),
    )
    .unwrap();
    assert!(
        small
            .fit(&wrong, &mut Fit::default(), &mut rng)
            .unwrap_err()
            .to_string()
            .contains("training data")
    );
}

#[test]
fn train_on_batch_takes_one_step_and_reports_errors() {
    let mut net = Network::<f64>::builder(1)
        .dense(1, Init::constant(0.5))
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap();
    let x = Tensor::from_rows(&[[1.0], [2.0]]).unwrap();
    let y = Tensor::from_rows(&[[2.0], [4.0]]).unwrap();
    let mut fit = Fit {
        loss: Loss::mse().into(),
        ..common::sgd(0.1)
    };
    // w = 0.5, bias 0 (the default): predictions 0.5 and 1.0, errors 1.5 and 3,
    // MSE = (2.25 + 9)/2 = 5.625.
    assert_eq!(net.train_on_batch(&x, &y, &mut fit).unwrap(), 5.625);
    assert!(net.train_on_batch(&x, &y, &mut fit).unwrap() < 5.625);
    // A plain column of targets [n] fits a one-output network too.
    assert!(
        net.train_on_batch(&x, &Tensor::from_slice(&[2.0, 4.0]), &mut fit)
            .is_ok()
    );
    let wrong = Tensor::from_slice(&[2.0, 4.0, 6.0]);
    assert!(matches!(
        net.train_on_batch(&x, &wrong, &mut fit),
        Err(Error::ShapeMismatch { .. })
    ));
    let huge = Tensor::from_rows(&[[1e300], [1e300]]).unwrap();
    let msg = net
        .train_on_batch(&huge, &y, &mut fit)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("in train_on_batch"), "{msg}");
}
