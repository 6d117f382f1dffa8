use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use super::*;
use crate::Error;
use crate::init::Init;
use crate::io::safetensors::to_bytes;
use crate::loss::Loss;
use crate::optim::{Adam, Algorithm, GradientDescent, Sgd};

fn net<T: Scalar>(seed: u64) -> Network<T> {
    Network::<T>::builder(3)
        .dense(4, Init::he_normal())
        .batch_norm()
        .tanh()
        .dense(2, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

fn batches<T: Scalar>() -> Vec<(Tensor<T>, Tensor<T>)> {
    let mut rng = StdRng::seed_from_u64(5);
    let u = Uniform::new(-1.0f64, 1.0).unwrap();
    // Drawn in f64 and rounded, so f32 and f64 runs see the same data.
    (0..3)
        .map(|_| {
            (
                Tensor::random(&[6, 3], &u, &mut rng).unwrap().cast(),
                Tensor::random(&[6, 2], &u, &mut rng).unwrap().cast(),
            )
        })
        .collect()
}

/// Steps `from..to` of a run that cycles through the batches.
fn train<T: Scalar>(net: &mut Network<T>, opt: &mut dyn Optimizer<T>, from: usize, to: usize) {
    let data = batches::<T>();
    for step in from..to {
        let (x, y) = &data[step % data.len()];
        net.compute_gradients(x, y, &Loss::mse()).unwrap();
        opt.step(&mut net.params_mut()).unwrap();
    }
}

fn bits<T: Scalar>(n: &Network<T>) -> Vec<(String, Vec<u64>)> {
    n.named_tensors()
        .into_iter()
        .map(|(k, t)| {
            (
                k,
                t.as_slice().iter().map(|x| x.as_f64().to_bits()).collect(),
            )
        })
        .collect()
}

fn algorithms() -> [Algorithm; 2] {
    [
        Adam {
            lr: 0.05,
            ..Default::default()
        }
        .into(),
        Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        }
        .into(),
    ]
}

macro_rules! resume_tests {
    ($($m:ident: $t:ty;)*) => {$(
        mod $m {
            use super::*;

            #[test]
            fn resuming_from_a_checkpoint_is_bit_for_bit() {
                const N: usize = 12;
                const K: usize = 5;
                for alg in algorithms() {
                    let mut straight = net::<$t>(1);
                    let mut opt = GradientDescent::<$t>::new(alg).unwrap();
                    train(&mut straight, &mut opt, 0, N);

                    let mut first = net::<$t>(1);
                    let mut opt1 = GradientDescent::<$t>::new(alg).unwrap();
                    train(&mut first, &mut opt1, 0, K);
                    let bytes = checkpoint_to_bytes(&first, &opt1, 3).unwrap();
                    drop((first, opt1));

                    // Fresh objects: other initial weights, no optimizer state.
                    let mut resumed = net::<$t>(99);
                    let mut opt2 = GradientDescent::<$t>::new(alg).unwrap();
                    let epoch = load_checkpoint_bytes(&bytes, &mut resumed, &mut opt2).unwrap();
                    assert_eq!(epoch, 3);
                    assert_eq!(opt2.state().step, K as u64);
                    train(&mut resumed, &mut opt2, K, N);

                    assert_eq!(bits(&resumed), bits(&straight), "{}", alg.name());
                    assert_eq!(opt2.state(), opt.state(), "{}", alg.name());
                }
            }
        }
    )*};
}

resume_tests! {
    f32_tests: f32;
    f64_tests: f64;
}

#[test]
fn checkpoint_files_hold_the_layout_in_the_docs() {
    let dir = std::env::temp_dir().join(format!("ww-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("run.safetensors");
    let mut n = net::<f64>(1);
    let mut opt = GradientDescent::<f64>::new(algorithms()[0]).unwrap();
    train(&mut n, &mut opt, 0, 2);
    opt.set_learning_rate(0.1 + 0.2).unwrap(); // 0.30000000000000004
    save_checkpoint(&path, &n, &opt, 7).unwrap();

    let (tensors, meta) = crate::io::load_tensors::<f64>(&path).unwrap();
    assert_eq!(meta["weightwise_checkpoint"], "1");
    assert_eq!(meta["epoch"], "7");
    assert_eq!(meta["optimizer_step"], "2");
    assert_eq!(meta["optimizer_lr"], "0.30000000000000004");
    assert!(!meta.contains_key("format"));
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"optimizer.0.exp_avg") && names.contains(&"optimizer.5.exp_avg_sq"));
    assert!(names.contains(&"1.running_var"));
    // 8 network tensors, 6 parameters × 2 Adam moments.
    assert_eq!(names.len(), 8 + 12);

    let mut other = net::<f64>(2);
    let mut opt2 = GradientDescent::<f64>::new(algorithms()[0]).unwrap();
    assert_eq!(load_checkpoint(&path, &mut other, &mut opt2).unwrap(), 7);
    assert_eq!(opt2.learning_rate(), 0.1 + 0.2);
    // The methods are the same calls, network first as in every other save.
    let method = dir.join("method.safetensors");
    n.save_checkpoint(&method, &opt, 7).unwrap();
    // (The header's metadata order is not fixed, so compare contents.)
    assert_eq!(
        crate::io::load_tensors::<f64>(&method).unwrap(),
        crate::io::load_tensors::<f64>(&path).unwrap()
    );
    let (mut again, mut opt3) = (
        net::<f64>(4),
        GradientDescent::<f64>::new(algorithms()[0]).unwrap(),
    );
    assert_eq!(again.load_checkpoint(&method, &mut opt3).unwrap(), 7);
    assert_eq!(again.named_tensors(), other.named_tensors());
    // The weights alone load non-strictly, ignoring the optimizer's tensors.
    let mut weights_only = net::<f64>(3);
    let opts = LoadOptions {
        strict: false,
        ..Default::default()
    };
    weights_only.load_safetensors_with(&path, &opts).unwrap();
    assert_eq!(bits(&weights_only), bits(&n));
    assert!(matches!(
        load_checkpoint(dir.join("missing"), &mut other, &mut opt2),
        Err(Error::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A checkpoint of `net(1)` after two Adam steps, with its tensors and
/// metadata edited, re-encoded.
fn edited(edit: impl FnOnce(&mut Vec<(String, Tensor<f64>)>, &mut crate::io::Metadata)) -> Vec<u8> {
    let mut n = net::<f64>(1);
    let mut opt = GradientDescent::<f64>::new(algorithms()[0]).unwrap();
    train(&mut n, &mut opt, 0, 2);
    let bytes = checkpoint_to_bytes(&n, &opt, 1).unwrap();
    let (mut tensors, mut meta) = crate::io::safetensors::from_bytes::<f64>(&bytes).unwrap();
    edit(&mut tensors, &mut meta);
    let refs: Vec<(String, &Tensor<f64>)> = tensors.iter().map(|(k, t)| (k.clone(), t)).collect();
    to_bytes(&refs, Some(&meta)).unwrap()
}

/// Loads into fresh objects that have taken one step of their own, expects a
/// Format error and checks that neither the network nor the optimizer changed.
fn load_error(bytes: &[u8]) -> String {
    let mut n = net::<f64>(4);
    let mut opt = GradientDescent::<f64>::new(algorithms()[0]).unwrap();
    train(&mut n, &mut opt, 0, 1);
    let (before_net, before_opt, before_lr) = (bits(&n), opt.state(), opt.learning_rate());
    let e = load_checkpoint_bytes(bytes, &mut n, &mut opt).unwrap_err();
    assert_eq!(bits(&n), before_net);
    assert_eq!(opt.state(), before_opt);
    assert_eq!(opt.learning_rate(), before_lr);
    match e {
        Error::Format {
            source_name,
            reason,
        } => {
            assert_eq!(source_name, "checkpoint bytes");
            reason
        }
        other => panic!("expected a Format error, got {other}"),
    }
}

#[test]
fn every_checkpoint_error_leaves_both_unchanged() {
    let plain = net::<f64>(1).to_safetensors_bytes().unwrap();
    assert!(load_error(&plain).contains("not a weightwise checkpoint"));

    let r = load_error(&edited(|_, m| {
        m.remove("epoch");
    }));
    assert_eq!(r, "the checkpoint has no 'epoch' metadata");
    let r = load_error(&edited(|_, m| {
        m.insert("optimizer_step".into(), "-1".into());
    }));
    assert_eq!(
        r,
        "the checkpoint's 'optimizer_step' metadata '-1' is not a valid value"
    );
    let r = load_error(&edited(|_, m| {
        m.insert("optimizer_lr".into(), "NaN".into());
    }));
    assert!(r.contains("learning rate NaN is not finite"), "{r}");

    // Network mismatches, as for load_safetensors.
    let r = load_error(&edited(|t, _| t.retain(|(n, _)| n != "3.bias")));
    assert_eq!(r, "missing from the file: '3.bias'");

    // Optimizer tensors that do not fit the network's parameters.
    let r = load_error(&edited(|t, _| {
        t.push(("optimizer.6.exp_avg".into(), Tensor::zeros(&[1]).unwrap()));
    }));
    assert_eq!(
        r,
        "'optimizer.6.exp_avg' names no parameter of the network (it has 6)"
    );
    let r = load_error(&edited(|t, _| {
        for (n, v) in t.iter_mut() {
            if n == "optimizer.1.exp_avg" {
                *v = Tensor::zeros(&[5]).unwrap();
            }
        }
    }));
    assert_eq!(r, "'optimizer.1.exp_avg' has shape 5, its parameter 4");

    // State the optimizer itself rejects: Adam has no momentum buffer.
    let r = load_error(&edited(|t, _| {
        t.push((
            "optimizer.0.momentum_buffer".into(),
            Tensor::zeros(&[4, 3]).unwrap(),
        ));
    }));
    assert!(r.starts_with("the optimizer rejected its state: "), "{r}");

    // A truncated checkpoint.
    let bytes = edited(|_, _| {});
    let r = load_error(&bytes[..bytes.len() - 3]);
    assert!(r.contains("the file has"), "{r}");
}
