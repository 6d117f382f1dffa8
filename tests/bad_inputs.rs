//! Hostile inputs, class by class: each probe runs under `catch_unwind`,
//! must return `Err` whose message names the call and the offending value,
//! and must leave the network's tensors and the optimizer's state bitwise
//! as they were (for class 1: as they were after the last good step).

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::bits;
use rand::{SeedableRng, rngs::StdRng};
use weightwise::data::Dataset;
use weightwise::init::{Fans, Nonlinearity, gain};
#[cfg(feature = "safetensors")]
use weightwise::io::checkpoint::{checkpoint_to_bytes, load_checkpoint_bytes};
#[cfg(feature = "safetensors")]
use weightwise::io::safetensors::to_bytes;
use weightwise::optim::GradientDescent;
#[cfg(feature = "safetensors")]
use weightwise::optim::OptimizerState;
use weightwise::prelude::*;

/// Runs `f` under `catch_unwind`: it must not panic and must fail; returns
/// the message, which must contain every one of `words`.
fn err<R>(words: &[&str], f: impl FnOnce() -> Result<R>) -> String {
    let r = catch_unwind(AssertUnwindSafe(f)).expect("the call panicked");
    let e = match r {
        Ok(_) => panic!("expected an error containing {words:?}"),
        Err(e) => e.to_string(),
    };
    for w in words {
        assert!(e.contains(w), "{e:?} does not name {w:?}");
    }
    e
}

fn net<T: Scalar>(seed: u64) -> Network<T> {
    Network::<T>::builder(3)
        .dense(4, Init::he_normal())
        .batch_norm()
        .relu()
        .dropout(0.3)
        .dense(2, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

fn data<T: Scalar>() -> (Tensor<T>, Tensor<T>) {
    let x: Vec<T> = (0..24)
        .map(|i| T::from_f64((i as f64 * 0.37).sin()))
        .collect();
    let y: Vec<T> = (0..16).map(|i| T::from_f64((i % 2) as f64)).collect();
    (
        Tensor::from_vec(x, &[8, 3]).unwrap(),
        Tensor::from_vec(y, &[8, 2]).unwrap(),
    )
}

fn fit_with<'a, T: Scalar>(opt: Box<dyn Optimizer<T>>) -> Fit<'a, T> {
    Fit {
        loss: Box::new(Loss::mse()),
        optimizer: opt,
        epochs: 3,
        batch_size: 4,
        ..Default::default()
    }
}

/// Class 1: a step that leaves non-finite weights is an error naming the
/// parameter, layer, epoch and step, and the last good weights are kept.
#[test]
fn class1_non_finite_weights_after_a_step() {
    let (x, y) = data::<f32>();
    let train = Dataset::new(x.clone(), y.clone()).unwrap();
    let mut n = net::<f32>(1);
    let mut fit = fit_with::<f32>(
        Sgd {
            lr: 1e38,
            ..Default::default()
        }
        .into(),
    );
    let before = (bits(&n), fit.optimizer.state());
    err(
        &["0.weight", "layer 0", "epoch 0, step 0", "undone"],
        || n.fit(&train, &mut fit, &mut StdRng::seed_from_u64(0)),
    );
    assert_eq!((bits(&n), fit.optimizer.state()), before);
    // The same through train_on_batch, with Adam's state in play after a
    // good step: steps at a huge rate until one fails; that one changed nothing.
    let mut fit = fit_with::<f32>(
        Adam {
            lr: 1e-3,
            ..Default::default()
        }
        .into(),
    );
    n.train_on_batch(&x, &y, &mut fit).unwrap();
    fit.optimizer.set_learning_rate(3e38).unwrap();
    fit.optimizer = Box::new(
        GradientDescent::<f32>::new(Sgd {
            lr: 3e38,
            ..Default::default()
        })
        .unwrap(),
    );
    let mut failed = false;
    for _ in 0..10 {
        let before = (bits(&n), fit.optimizer.state());
        let r = catch_unwind(AssertUnwindSafe(|| n.train_on_batch(&x, &y, &mut fit))).unwrap();
        if let Err(e) = r {
            assert!(e.to_string().contains("in train_on_batch"), "{e}");
            assert_eq!((bits(&n), fit.optimizer.state()), before);
            failed = true;
            break;
        }
    }
    assert!(failed, "a learning rate of 3e38 never failed");
}

/// Class 2: a failed call changes nothing, random streams included.
#[test]
fn class2_failed_calls_change_nothing() {
    let (x, y) = data::<f64>();
    // A NaN in the batch: the loss is NaN; batch norm's running statistics
    // and dropout's stream are as before.
    let mut n = net::<f64>(2);
    let mut fit = fit_with::<f64>(Adam::default().into());
    n.train_on_batch(&x, &y, &mut fit).unwrap();
    let mut bad_x = x.clone();
    bad_x.as_mut_slice()[4] = f64::NAN;
    let before = (bits(&n), fit.optimizer.state());
    err(&["training loss (NaN)", "in train_on_batch"], || {
        n.train_on_batch(&bad_x, &y, &mut fit)
    });
    assert_eq!((bits(&n), fit.optimizer.state()), before);
    // The next good step is the one an untouched twin takes (same masks).
    let mut twin = net::<f64>(2);
    let mut twin_fit = fit_with::<f64>(Adam::default().into());
    twin.train_on_batch(&x, &y, &mut twin_fit).unwrap();
    n.train_on_batch(&x, &y, &mut fit).unwrap();
    twin.train_on_batch(&x, &y, &mut twin_fit).unwrap();
    assert_eq!(bits(&n), bits(&twin));

    // A constraint bound that is NaN is refused before any update.
    let mut fit = fit_with::<f64>(
        Sgd {
            lr: 0.1,
            ..Default::default()
        }
        .into(),
    );
    fit.constraints = Constraints::new().layer(0, Constraint::MaxNorm(f64::NAN));
    let before = (bits(&n), fit.optimizer.state());
    err(&["MaxNorm bound", "NaN", "layer 0"], || {
        n.train_on_batch(&x, &y, &mut fit)
    });
    assert_eq!((bits(&n), fit.optimizer.state()), before);

    // audit_init does not advance dropout's stream: the same seed gives the
    // same run with or without an audit.
    let (mut a, mut b) = (net::<f64>(3), net::<f64>(3));
    a.audit_init(&x).unwrap();
    let (mut fa, mut fb) = (
        fit_with::<f64>(Sgd::default().into()),
        fit_with::<f64>(Sgd::default().into()),
    );
    a.train_on_batch(&x, &y, &mut fa).unwrap();
    b.train_on_batch(&x, &y, &mut fb).unwrap();
    assert_eq!(bits(&a), bits(&b));
}

/// Class 3: hyper-parameters are checked after conversion to `T`.
#[test]
fn class3_hyper_parameters_checked_in_t() {
    let adam = Adam {
        eps: 1e-50,
        ..Default::default()
    };
    err(&["Adam.eps", "1e-50", "f32"], || {
        GradientDescent::<f32>::new(adam)
    });
    let (x, y) = data::<f32>();
    let mut n = net::<f32>(4);
    let mut fit = fit_with::<f32>(adam.into());
    let before = (bits(&n), fit.optimizer.state());
    err(&["Adam.eps", "1e-50"], || {
        n.train_on_batch(&x, &y, &mut fit)
    });
    assert_eq!((bits(&n), fit.optimizer.state()), before);
    err(&["BatchNorm eps", "1e-50", "f32"], || {
        BatchNorm::<f32>::new(3).unwrap().with_eps(1e-50)
    });
    err(&["Adam.beta2"], || {
        GradientDescent::<f32>::new(Adam {
            beta2: 1.0 - 1e-12,
            ..Default::default()
        })
    });
    err(&["MaxNorm bound", "1e300"], || {
        Constraint::MaxNorm(1e300).validate_for::<f32>()
    });
    err(&["clip norm", "1e39"], || {
        let mut fit = fit_with::<f32>(Sgd::default().into());
        fit.clip = Some(Clip::Norm(1e39));
        n.train_on_batch(&x, &y, &mut fit)
    });
    let mut opt = GradientDescent::<f32>::new(Sgd::default()).unwrap();
    err(&["learning rate", "1e39"], || opt.set_learning_rate(1e39));
}

#[cfg(feature = "safetensors")]
/// Class 4: optimizer state is tied to the parameters; checkpoints to the algorithm.
#[test]
fn class4_optimizer_state_is_tied() {
    let (x, y) = data::<f64>();
    let mut n = net::<f64>(5);
    let mut opt = GradientDescent::<f64>::new(Adam::default()).unwrap();
    n.compute_gradients(&x, &y, &Loss::mse()).unwrap();
    opt.step(&mut n.params_mut()).unwrap();
    let before = (bits(&n), opt.state());
    err(&["made for 6 parameters", "5"], || {
        let mut p = n.params_mut();
        p.pop();
        opt.step(&mut p)
    });
    err(&["belongs to \"weight\""], || {
        let mut p = n.params_mut();
        p.swap(0, 1);
        opt.step(&mut p)
    });
    assert_eq!((bits(&n), opt.state()), before);
    let bytes = checkpoint_to_bytes(&n, &opt, 1).unwrap();
    let mut m = net::<f64>(6);
    let mut other = GradientDescent::<f64>::new(AdamW::default()).unwrap();
    let before = (bits(&m), other.state());
    err(&["made by Adam {", "AdamW {"], || {
        load_checkpoint_bytes(&bytes, &mut m, &mut other)
    });
    assert_eq!((bits(&m), other.state()), before);
    let empty = OptimizerState::<f64> {
        algorithm: "Adam { beta1: 0.9 }".into(),
        ..Default::default()
    };
    err(&["made by Adam { beta1: 0.9 }"], || opt.load_state(empty));
}

#[cfg(feature = "safetensors")]
/// Class 5: weight files with duplicates, overflow or non-finite values.
#[test]
fn class5_weight_files() {
    let mut n = net::<f32>(7);
    let before = bits(&n);
    let wide = net::<f64>(7);
    let mut tensors: Vec<(String, Tensor<f64>)> = wide
        .named_tensors()
        .into_iter()
        .map(|(k, t)| (k, t.clone()))
        .collect();
    tensors[0].1.as_mut_slice()[1] = 1e300;
    let refs: Vec<(String, &Tensor<f64>)> = tensors.iter().map(|(k, t)| (k.clone(), t)).collect();
    let bytes = to_bytes(&refs, None).unwrap();
    let conv = LoadOptions {
        allow_dtype_conversion: true,
        ..Default::default()
    };
    err(&["'0.weight'", "element 1 = 1e300 overflows F32"], || {
        n.load_safetensors_bytes(&bytes, &conv)
    });
    tensors[0].1.as_mut_slice()[1] = f64::NAN;
    let refs: Vec<(String, &Tensor<f64>)> = tensors.iter().map(|(k, t)| (k.clone(), t)).collect();
    let bytes = to_bytes(&refs, None).unwrap();
    err(
        &["'0.weight'", "element 1 is NaN", "allow_non_finite"],
        || n.load_safetensors_bytes(&bytes, &conv),
    );
    assert_eq!(bits(&n), before);
    // Allowed explicitly.
    let all = LoadOptions {
        allow_non_finite: true,
        ..conv
    };
    n.load_safetensors_bytes(&bytes, &all).unwrap();
    // A duplicated name in the header.
    let good = net::<f32>(8).to_safetensors_bytes().unwrap();
    let len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good[8..8 + len]).unwrap();
    let dup = header.replacen("\"0.weight\"", "\"0.bias\"", 1);
    let mut bytes = (dup.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(dup.as_bytes());
    bytes.extend_from_slice(&good[8 + len..]);
    let mut m = net::<f32>(9);
    let before = bits(&m);
    err(&["names '0.bias' twice"], || {
        m.load_safetensors_bytes(&bytes, &LoadOptions::default())
    });
    assert_eq!(bits(&m), before);
}

/// Class 6: structural nonsense.
#[test]
fn class6_structural_nonsense() {
    err(&["NetworkBuilder::build", "no layers"], || {
        Network::<f64>::builder(3).build(&mut StdRng::seed_from_u64(0))
    });
    let (x, y) = data::<f64>();
    let mut empty = Network::<f64>::new(3).unwrap();
    err(&["train_on_batch", "no layers"], || {
        empty.train_on_batch(&x, &y, &mut fit_with::<f64>(Sgd::default().into()))
    });
    let mut w = Tensor::<f64>::zeros(&[4, 0]).unwrap();
    let mut rng = StdRng::seed_from_u64(0);
    for init in [Init::xavier_uniform(), Init::he_normal()] {
        err(&["fans", "in=0 out=4"], || {
            init.fill(
                &mut w,
                Fans {
                    fan_in: 0,
                    fan_out: 4,
                },
                &mut rng,
            )
        });
    }
    err(&["orthogonal init", "4×0"], || {
        Init::orthogonal(1.0).fill(
            &mut w,
            Fans {
                fan_in: 1,
                fan_out: 4,
            },
            &mut rng,
        )
    });
    err(&["leaky ReLU slope", "NaN"], || {
        gain(Nonlinearity::LeakyRelu(f64::NAN))
    });
}

/// Class 7: shape arithmetic is checked.
#[test]
fn class7_shape_products() {
    let mut t = Tensor::<f32>::from_slice(&[1.0, 2.0]);
    err(&["resize_zeroed", "9223372036854775808×2"], || {
        t.resize_zeroed(&[1 << 63, 2])
    });
    err(&["resize_zeroed"], || t.resize_zeroed(&[usize::MAX, 2]));
    err(&["resize_zeroed"], || t.resize_zeroed(&[usize::MAX]));
    assert_eq!(
        t.as_slice(),
        &[1.0, 2.0],
        "a failed resize leaves the tensor"
    );
    err(&["zeros", "overflows"], || {
        Tensor::<f64>::zeros(&[1 << 40, 1 << 40])
    });
    err(&["reshape"], || {
        Tensor::<f64>::zeros(&[0])
            .unwrap()
            .reshape(&[0, usize::MAX, 2])
    });
    err(&["Fans::of_shape"], || {
        Fans::of_shape(&[2, 1 << 40, 1 << 40])
    });
}

/// Class 9: messages name the call and print values sensibly.
#[test]
fn class9_messages() {
    let t = Tensor::<f64>::zeros(&[2, 3]).unwrap();
    err(&["mean_axis"], || t.mean_axis(5));
    let n = net::<f64>(10);
    let e = err(
        &["Network predict", "the network takes a batch [n, 3]"],
        || n.predict(&Tensor::from_slice(&[1.0, 2.0, 3.0])),
    );
    assert!(!e.contains("left is 3, right is 3"), "{e}");
    let one = Network::<f64>::builder(2)
        .relu()
        .build(&mut StdRng::seed_from_u64(0))
        .unwrap();
    err(&["the network has 1 layer"], || {
        weightwise::svg::unit_tiles(&one, 5, (1, 1))
    });
    let e = err(&["1e-50"], || {
        BatchNorm::<f32>::new(2).unwrap().with_eps(1e-50)
    });
    assert!(!e.contains("0.0000000"), "{e}");
}
