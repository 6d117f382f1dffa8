//! Integration tests of the extension points: a user's loss, schedule,
//! callback and layer work in `fit`, `evaluate` and the diagnostics exactly
//! as the built-ins do.

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::optim::ScheduleContext;
use weightwise::prelude::*;
use weightwise::{gradcheck, inspect, svg};

/// A regression set: y = 2x₀ − x₁ + 0.5 on a grid, targets `[n]`.
fn line(n: usize) -> Dataset<f64> {
    let x: Vec<f64> = (0..2 * n)
        .map(|i| ((i * 37) % 17) as f64 / 8.0 - 1.0)
        .collect();
    let y: Vec<f64> = x.chunks(2).map(|r| 2.0 * r[0] - r[1] + 0.5).collect();
    Dataset::new(
        Tensor::from_vec(x, &[n, 2]).unwrap(),
        Tensor::from_vec(y, &[n]).unwrap(),
    )
    .unwrap()
}

fn linear_net() -> Network<f64> {
    Network::<f64>::builder(2)
        .dense(1, Init::constant(0.1))
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap()
}

/// Settings for [`line`]: MSE and plain SGD at `lr`, the rest the defaults.
fn mse_sgd<'a>(lr: f64) -> Fit<'a, f64> {
    Fit {
        loss: Loss::mse().into(),
        ..common::sgd(lr)
    }
}

/// Every tensor of `net`, by name, as it is now.
fn snapshot(net: &Network<f64>) -> Vec<(String, Tensor<f64>)> {
    net.named_tensors()
        .into_iter()
        .map(|(n, t)| (n, t.clone()))
        .collect()
}

/// Mean absolute error cubed, `(1/N) Σ |d|³`: a loss the crate does not have.
#[derive(Debug)]
struct Cubic;

impl LossFn<f64> for Cubic {
    fn loss_and_grad(
        &self,
        pred: &Tensor<f64>,
        target: &Tensor<f64>,
        grad: &mut Tensor<f64>,
    ) -> Result<f64> {
        let n = pred.len() as f64;
        grad.resize_zeroed(pred.shape())?;
        let mut total = 0.0;
        for ((g, &p), &y) in grad
            .as_mut_slice()
            .iter_mut()
            .zip(pred.as_slice())
            .zip(target.as_slice())
        {
            let d = p - y;
            total += d.abs().powi(3);
            *g = 3.0 * d * d.abs() / n;
        }
        Ok(total / n)
    }
}

#[test]
fn a_user_loss_trains_and_evaluates_like_a_built_in() {
    let data = line(64);
    let p = Tensor::from_rows(&[[0.3], [-1.2]]).unwrap();
    let y = Tensor::from_rows(&[[0.0], [0.5]]).unwrap();
    assert!(gradcheck::loss(&Cubic, &p, &y).unwrap().max_rel_error < 1e-6);
    let mut net = linear_net();
    let before = net.evaluate(&data, &Cubic).unwrap();
    let history = net
        .fit(
            &data,
            &mut Fit {
                loss: Box::new(Cubic),
                optimizer: Adam {
                    lr: 0.05,
                    ..Default::default()
                }
                .into(),
                epochs: 60,
                batch_size: 16,
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap();
    let after = net.evaluate(&data, &Cubic).unwrap();
    assert!(after.loss < before.loss / 100.0, "{before:?} → {after:?}");
    assert_eq!(after.accuracy, None);
    assert!(history.epochs.iter().all(|e| e.train_accuracy.is_none()));
}

#[test]
fn unit_sample_weights_change_nothing_and_zero_weights_drop_samples() {
    let data = line(40);
    let run = |net: &mut Network<f64>, data: &Dataset<f64>, w: Option<&Tensor<f64>>| {
        net.fit(
            data,
            &mut Fit {
                epochs: 5,
                batch_size: data.len(),
                shuffle: false,
                sample_weights: w,
                ..mse_sgd(0.05)
            },
            &mut StdRng::seed_from_u64(3),
        )
        .unwrap()
    };
    let (mut a, mut b) = (linear_net(), linear_net());
    let ones = Tensor::ones(&[40]).unwrap();
    let ha = run(&mut a, &data, None);
    let hb = run(&mut b, &data, Some(&ones));
    for (ea, eb) in ha.epochs.iter().zip(&hb.epochs) {
        assert_eq!(ea.train_loss, eb.train_loss);
    }
    assert_eq!(a.named_tensors(), b.named_tensors());

    // Weights 1 on the first 10 samples and 0 elsewhere: the weighted mean
    // is the mean over those 10, so training equals training on them alone.
    let mut mask = Tensor::zeros(&[40]).unwrap();
    mask.as_mut_slice()[..10].fill(1.0);
    let first: Vec<usize> = (0..10).collect();
    let (mut c, mut d) = (linear_net(), linear_net());
    let hc = run(&mut c, &data, Some(&mask));
    let hd = run(&mut d, &data.select(&first).unwrap(), None);
    for (ec, ed) in hc.epochs.iter().zip(&hd.epochs) {
        assert!((ec.train_loss - ed.train_loss).abs() < 1e-12 * ed.train_loss.max(1.0));
    }
    let (wc, wd) = (c.tensor("0.weight").unwrap(), d.tensor("0.weight").unwrap());
    for (x, y) in wc.as_slice().iter().zip(wd.as_slice()) {
        assert!((x - y).abs() < 1e-12);
    }
}

#[test]
fn bad_sample_weights_are_errors_before_any_step() {
    let data = line(8);
    let mut net = linear_net();
    let start = snapshot(&net);
    for (w, what) in [
        (Tensor::ones(&[7]).unwrap(), "fit (sample weights)"),
        (
            Tensor::from_vec(vec![1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], &[8]).unwrap(),
            "sample 1",
        ),
        (
            Tensor::from_vec(vec![f64::NAN; 8], &[8]).unwrap(),
            "sample 0",
        ),
    ] {
        let err = net
            .fit(
                &data,
                &mut Fit {
                    loss: Loss::mse().into(),
                    sample_weights: Some(&w),
                    ..Default::default()
                },
                &mut StdRng::seed_from_u64(0),
            )
            .unwrap_err();
        assert!(err.to_string().contains(what), "{err}");
    }
    // A user loss without an unreduced form cannot weight samples: it says so.
    let w = Tensor::ones(&[8]).unwrap();
    let err = net
        .fit(
            &data,
            &mut Fit {
                loss: Box::new(Cubic),
                sample_weights: Some(&w),
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("implement LossFn::unreduced"),
        "{err}"
    );
    assert_eq!(snapshot(&net), start);
}

#[test]
fn a_closure_schedule_is_asked_before_every_step() {
    let data = line(20);
    let calls = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&calls);
    let schedule = LambdaSchedule::new(move |epoch, step, base| {
        log.borrow_mut().push((epoch, step));
        base / (1 + epoch * 10 + step) as f64
    });
    let mut net = linear_net();
    let h = net
        .fit(
            &data,
            &mut Fit {
                schedule: Some(schedule.into()),
                epochs: 2,
                batch_size: 8,
                ..mse_sgd(0.1)
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
    // 20 rows in batches of 8: steps 0, 1, 2 in each epoch.
    assert_eq!(
        *calls.borrow(),
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    );
    assert_eq!(h.epochs[0].learning_rate, 0.1);
    assert_eq!(h.epochs[1].learning_rate, 0.1 / 11.0);
}

#[test]
fn built_in_schedules_give_the_same_rates_in_fit() {
    let data = line(16);
    let s = Schedule::Step {
        step_size: 2,
        gamma: 0.5,
    }
    .with_warmup(2, 0.25);
    let mut net = linear_net();
    let mut fit = Fit {
        schedule: Some(s.into()),
        epochs: 6,
        ..mse_sgd(0.1)
    };
    let h = net
        .fit(&data, &mut fit, &mut StdRng::seed_from_u64(0))
        .unwrap();
    for e in &h.epochs {
        assert_eq!(e.learning_rate, s.lr_at(0.1, e.epoch));
    }
    assert_eq!(fit.optimizer.learning_rate(), 0.1); // put back after fit
}

#[test]
fn reduce_on_plateau_follows_the_validation_loss() {
    let (train, val) = (line(16), line(24));
    // threshold rel 0.99: better means v < best/100, which a slowly falling
    // loss never is after the first epoch; patience 1: every second bad
    // epoch halves the rate. (Threshold 1 would make even the first epoch
    // bad: best·(1 − 1) = ∞·0 = NaN, as in PyTorch.)
    let plateau = ReduceLrOnPlateau::new(Plateau {
        factor: 0.5,
        patience: 1,
        threshold: 0.99,
        ..Default::default()
    })
    .unwrap();
    let mut net = linear_net();
    let h = net
        .fit(
            &train,
            &mut Fit {
                schedule: Some(plateau.into()),
                validation: Some(&val),
                epochs: 6,
                ..mse_sgd(0.01)
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
    let next: Vec<f64> = h.epochs.iter().map(|e| e.next_learning_rate).collect();
    assert_eq!(next, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025]);
    for pair in h.epochs.windows(2) {
        assert_eq!(pair[1].learning_rate, pair[0].next_learning_rate);
    }
}

#[test]
fn the_callback_reads_and_sets_the_rate_and_stops() {
    let data = line(16);
    let mut seen = Vec::new();
    let mut cb = |e: &EpochRecord| {
        seen.push(e.learning_rate);
        match e.epoch {
            0 => Control::set_learning_rate(e.learning_rate / 4.0),
            1 => Control::CONTINUE,
            _ => Control::STOP,
        }
    };
    let mut net = linear_net();
    let h = net
        .fit(
            &data,
            &mut Fit {
                epochs: 10,
                on_epoch: Some(&mut cb),
                ..mse_sgd(0.2)
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap();
    assert_eq!(seen, [0.2, 0.05, 0.05]);
    assert_eq!(h.epochs[0].next_learning_rate, 0.05);
    assert!(h.stopped_early && h.epochs.len() == 3);
    // A rate the optimizer refuses is an error.
    let mut bad = |_: &EpochRecord| Control::set_learning_rate(-1.0);
    let err = net
        .fit(
            &data,
            &mut Fit {
                loss: Loss::mse().into(),
                on_epoch: Some(&mut bad),
                ..Default::default()
            },
            &mut StdRng::seed_from_u64(0),
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument { .. }), "{err}");
}

/// A user's linear layer without bias, `y = x·Wᵀ`, declaring its weight matrix.
#[derive(Clone, Debug)]
struct NoBias {
    w: Param<f64>,
    x: Tensor<f64>,
    y: Tensor<f64>,
    dx: Tensor<f64>,
}

impl NoBias {
    fn new(w: Tensor<f64>) -> Self {
        NoBias {
            w: Param::new("weight", ParamKind::Weight, w),
            x: Tensor::default(),
            y: Tensor::default(),
            dx: Tensor::default(),
        }
    }
}

impl Layer<f64> for NoBias {
    fn kind(&self) -> &'static str {
        "NoBias"
    }
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(vec![input[0], self.w.value.shape()[0]])
    }
    fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> Result<()> {
        out.assign(&x.matmul(&self.w.value.transpose()?)?);
        Ok(())
    }
    fn forward(&mut self, x: &Tensor<f64>, _: Mode) -> Result<&Tensor<f64>> {
        self.x.assign(x);
        self.y = x.matmul(&self.w.value.transpose()?)?;
        Ok(&self.y)
    }
    fn backward(&mut self, dy: &Tensor<f64>) -> Result<&Tensor<f64>> {
        let gw = dy.transpose()?.matmul(&self.x)?;
        self.w.grad.axpy(1.0, &gw)?;
        self.dx = dy.matmul(&self.w.value)?;
        Ok(&self.dx)
    }
    fn weight_matrix(&self) -> Option<&Param<f64>> {
        Some(&self.w)
    }
    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<f64>)) {
        f(&self.w);
    }
    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<f64>)) {
        f(&mut self.w);
    }
}

#[test]
fn a_user_layer_declaring_its_weight_matrix_gets_pictures_and_importance() {
    let w = Tensor::from_rows(&[[3.0, 1.0, 0.0, 0.0], [4.0, 0.0, 0.0, 0.0]]).unwrap();
    let mut layer = NoBias::new(w);
    let x = Tensor::from_rows(&[[0.3, -0.2, 0.9, 0.1], [1.0, 0.5, -0.4, 0.2]]).unwrap();
    assert!(gradcheck::layer(&mut layer, &x).unwrap().max_rel_error < 1e-6);
    let mut net = Network::<f64>::new(4).unwrap();
    net.push(Box::new(layer)).unwrap();
    assert_eq!(
        inspect::first_layer_norms(&net).unwrap(),
        [5.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(
        inspect::weight_path_importance(&net).unwrap(),
        [7.0 / 8.0, 1.0 / 8.0, 0.0, 0.0]
    );
    let tiles = svg::unit_tiles(&net, 0, (2, 2)).unwrap().to_string();
    assert!(tiles.contains("layer 0 (NoBias 4→2)"), "{tiles}");
    assert!(svg::weight_heatmap(&net, 0).is_ok());
}

#[test]
fn schedule_context_is_plain_data() {
    let at = ScheduleContext {
        epoch: 1,
        step: 2,
        base_lr: 0.1,
        lr: 0.05,
    };
    let mut s: Box<dyn ScheduleFn> = Schedule::Exponential { gamma: 0.5 }.into();
    assert_eq!(s.lr(&at), Some(0.05));
}
