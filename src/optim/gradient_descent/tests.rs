use super::*;
use crate::optim::test_util::{assert_close, for_f32_and_f64, param, set_grad};
use crate::optim::{AdaGrad, Adam, AdamW, RmsProp, Sgd};
use crate::{ParamKind, Tensor};

/// One config of every algorithm and variant, each with weight decay so
/// every code path runs.
fn all_algorithms() -> Vec<Algorithm> {
    vec![
        Sgd {
            lr: 0.05,
            ..Default::default()
        }
        .into(),
        Sgd {
            lr: 0.05,
            momentum: 0.9,
            dampening: 0.1,
            weight_decay: 0.01,
            ..Default::default()
        }
        .into(),
        Sgd {
            lr: 0.05,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        }
        .into(),
        Adam {
            lr: 0.05,
            weight_decay: 0.01,
            ..Default::default()
        }
        .into(),
        Adam {
            lr: 0.05,
            amsgrad: true,
            ..Default::default()
        }
        .into(),
        AdamW {
            lr: 0.05,
            amsgrad: true,
            ..Default::default()
        }
        .into(),
        RmsProp {
            weight_decay: 0.01,
            ..Default::default()
        }
        .into(),
        RmsProp {
            momentum: 0.5,
            centered: true,
            ..Default::default()
        }
        .into(),
        AdaGrad {
            lr: 0.1,
            lr_decay: 0.1,
            weight_decay: 0.01,
            initial_accumulator_value: 0.1,
            ..Default::default()
        }
        .into(),
    ]
}

/// Two parameters of different shapes.
fn two_params<T: Scalar>() -> [Param<T>; 2] {
    let w = Tensor::from_vec(
        [0.5, -1.0, 2.0, 0.25, -0.75, 1.5].map(T::from_f64).to_vec(),
        &[2, 3],
    )
    .unwrap();
    [
        Param::new("weight", ParamKind::Weight, w),
        param::<T>(&[0.1, -0.2, 0.3]),
    ]
}

/// A step whose gradient depends on the weights: g = w − 1 + 0.5·sin(k·w),
/// so resuming with the wrong state would show.
fn step_with<T: Scalar>(opt: &mut dyn Optimizer<T>, params: &mut [Param<T>; 2], k: usize) {
    for p in params.iter_mut() {
        let (value, grad) = (&p.value, &mut p.grad);
        grad.assign(
            &value.map(|w| w - T::one() + T::from_f64(0.5) * (T::from_usize(k + 1) * w).sin()),
        );
    }
    let [a, b] = params;
    opt.step(&mut [a, b]).unwrap();
}

fn resume_is_bit_identical<T: Scalar>() {
    for alg in all_algorithms() {
        // Five steps without stopping.
        let mut straight = two_params::<T>();
        let mut opt = GradientDescent::<T>::new(alg).unwrap();
        for k in 0..5 {
            step_with(&mut opt, &mut straight, k);
        }
        // Two steps, save, a new optimizer loads the state, three more steps.
        let mut resumed = two_params::<T>();
        let mut first = GradientDescent::<T>::new(alg).unwrap();
        for k in 0..2 {
            step_with(&mut first, &mut resumed, k);
        }
        let saved = first.state();
        assert_eq!(saved.step, 2);
        let mut second = GradientDescent::<T>::new(alg).unwrap();
        second.load_state(saved.clone()).unwrap();
        assert_eq!(second.state(), saved, "{}", alg.name());
        for k in 2..5 {
            step_with(&mut second, &mut resumed, k);
        }
        assert_eq!(straight, resumed, "{} did not resume exactly", alg.name());
        assert_eq!(opt.state(), second.state());
        // The weights really moved.
        assert_ne!(straight, two_params::<T>());
    }
}

fn state_names_are_pytorchs<T: Scalar>() {
    let expected: [&[&str]; 9] = [
        &[],
        &["momentum_buffer"],
        &["momentum_buffer"],
        &["exp_avg", "exp_avg_sq"],
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
        &["square_avg"],
        &["square_avg", "momentum_buffer", "grad_avg"],
        &["sum"],
    ];
    for (alg, names) in all_algorithms().into_iter().zip(expected) {
        let mut params = two_params::<T>();
        let mut opt = GradientDescent::<T>::new(alg).unwrap();
        assert!(opt.state().tensors.is_empty());
        step_with(&mut opt, &mut params, 0);
        let got: Vec<String> = opt.state().tensors.into_iter().map(|(n, _)| n).collect();
        let want: Vec<String> = (0..2)
            .flat_map(|i| names.iter().map(move |n| format!("{i}.{n}")))
            .collect();
        assert_eq!(got, want, "{}", alg.name());
        for (name, t) in opt.state().tensors {
            let i: usize = name[..1].parse().unwrap();
            assert_eq!(t.shape(), params[i].value.shape());
        }
    }
}

fn adagrad_state_starts_at_initial_value<T: Scalar>() {
    // s = 0.1 + g² = 0.1 + 4 = 4.1.
    let mut opt = GradientDescent::<T>::new(AdaGrad {
        initial_accumulator_value: 0.1,
        ..Default::default()
    })
    .unwrap();
    let mut p = param::<T>(&[1.0]);
    set_grad(&mut p, &[2.0]);
    opt.step(&mut [&mut p]).unwrap();
    assert_close(opt.state().get("0.sum").unwrap(), &[4.1]);
}

fn reset_forgets_everything<T: Scalar>() {
    for alg in all_algorithms() {
        let mut fresh_params = two_params::<T>();
        let mut fresh = GradientDescent::<T>::new(alg).unwrap();
        step_with(&mut fresh, &mut fresh_params, 0);

        let mut params = two_params::<T>();
        let mut opt = GradientDescent::<T>::new(alg).unwrap();
        step_with(&mut opt, &mut params, 3);
        step_with(&mut opt, &mut params, 4);
        opt.reset();
        assert_eq!(opt.step_count(), 0);
        let state = opt.state();
        assert!(state.tensors.is_empty() && state.params.is_empty() && state.step == 0);
        let mut params = two_params::<T>();
        step_with(&mut opt, &mut params, 0);
        assert_eq!(params, fresh_params, "{}", alg.name());
    }
}

fn learning_rate_can_be_set<T: Scalar>() {
    let mut opt = GradientDescent::<T>::new(Sgd {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(opt.learning_rate(), 0.1);
    for bad in [-0.1, f64::NAN, f64::INFINITY] {
        let err = opt.set_learning_rate(bad).unwrap_err();
        assert!(
            err.to_string().starts_with("invalid learning rate"),
            "{err}"
        );
    }
    assert_eq!(opt.learning_rate(), 0.1);
    opt.set_learning_rate(0.5).unwrap();
    assert_eq!(opt.learning_rate(), 0.5);
    // w = 1, g = 1: w − 0.5·1 = 0.5.
    let mut p = param::<T>(&[1.0]);
    set_grad(&mut p, &[1.0]);
    opt.step(&mut [&mut p]).unwrap();
    assert_close(&p.value, &[0.5]);
    assert!(matches!(opt.algorithm(), Algorithm::Sgd(s) if s.lr == 0.5));
}

fn shape_change_is_an_error<T: Scalar>() {
    for alg in all_algorithms() {
        let mut opt = GradientDescent::<T>::new(alg).unwrap();
        let mut p = param::<T>(&[1.0, 2.0]);
        set_grad(&mut p, &[0.1, 0.2]);
        opt.step(&mut [&mut p]).unwrap();
        let mut q = param::<T>(&[1.0, 2.0, 3.0]);
        set_grad(&mut q, &[0.1, 0.2, 0.3]);
        let before = q.clone();
        let err = opt.step(&mut [&mut q]).unwrap_err();
        assert!(matches!(err, Error::InvalidShape { .. }), "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("parameter 0 (\"weight\") has shape 3")
                && msg.contains("kept for index 0 belongs to \"weight\" of shape 2"),
            "{msg}"
        );
        assert_eq!(q, before, "a failed update must not touch the parameter");
    }
}

fn gradient_shape_must_match<T: Scalar>() {
    let mut opt = GradientDescent::<T>::new(Adam::default()).unwrap();
    let mut p = param::<T>(&[1.0, 2.0]);
    set_grad(&mut p, &[0.1]);
    let err = opt.step(&mut [&mut p]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Adam update: left is 2, right is 1 (a parameter's gradient must have its value's shape)"
    );
}

fn update_before_begin_step_is_an_error<T: Scalar>() {
    let mut opt = GradientDescent::<T>::new(Adam::default()).unwrap();
    let mut p = param::<T>(&[1.0]);
    let err = opt.update(0, &mut p).unwrap_err();
    assert!(matches!(err, Error::InvalidState { .. }));
    assert!(err.to_string().contains("before begin_step"), "{err}");
}

fn visitor_style_updates_by_index<T: Scalar>() {
    // A loop that calls begin_step and update itself, with a gap in the indices.
    let mut opt = GradientDescent::<T>::new(Adam {
        lr: 0.1,
        ..Default::default()
    })
    .unwrap();
    let mut p = param::<T>(&[1.0]);
    set_grad(&mut p, &[0.5]);
    opt.begin_step(4).unwrap();
    opt.update(3, &mut p).unwrap();
    // First Adam step: 1 − 0.1·0.5/(0.5 + 1e-8) = 0.900000002.
    assert_close(&p.value, &[0.900000002]);
    let names: Vec<String> = opt.state().tensors.into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["3.exp_avg", "3.exp_avg_sq"]);
    assert!(format!("{opt:?}").contains("params_with_state: 1"));
}

fn boxed_configs_check_lazily<T: Scalar>() {
    // A valid config boxed with `into` behaves as GradientDescent::new.
    let mut boxed: Box<dyn Optimizer<T>> = Adam {
        lr: 0.1,
        ..Default::default()
    }
    .into();
    assert!(boxed.validate().is_ok());
    let mut p = param::<T>(&[1.0]);
    set_grad(&mut p, &[0.5]);
    boxed.step(&mut [&mut p]).unwrap();
    assert_close(&p.value, &[0.900000002]);
    // An invalid one reports the error on validate, step and update, and
    // never advances its step count.
    let mut bad: Box<dyn Optimizer<T>> = Adam {
        beta1: 1.0,
        ..Default::default()
    }
    .into();
    let msg = "invalid Adam.beta1 = 1: must be in [0, 1)";
    assert_eq!(bad.validate().unwrap_err().to_string(), msg);
    assert_eq!(bad.step(&mut [&mut p]).unwrap_err().to_string(), msg);
    assert_eq!(bad.begin_step(1).unwrap_err().to_string(), msg);
    assert_eq!(bad.update(0, &mut p).unwrap_err().to_string(), msg);
    assert_eq!(bad.state().step, 0);
    // Every config converts, and so does an Algorithm.
    for alg in all_algorithms() {
        let mut b: Box<dyn Optimizer<T>> = alg.into();
        let mut p = param::<T>(&[1.0]);
        set_grad(&mut p, &[0.5]);
        b.step(&mut [&mut p]).unwrap();
    }
    let _: Box<dyn Optimizer<T>> = Sgd::default().into();
    let _: Box<dyn Optimizer<T>> = AdamW::default().into();
    let _: Box<dyn Optimizer<T>> = RmsProp::default().into();
    let _: Box<dyn Optimizer<T>> = AdaGrad::default().into();
}

fn bad_states_are_rejected<T: Scalar>() {
    let alg = Adam {
        amsgrad: false,
        ..Default::default()
    };
    let mut opt = GradientDescent::<T>::new(alg).unwrap();
    let mut p = param::<T>(&[1.0, 2.0]);
    set_grad(&mut p, &[0.5, 0.5]);
    opt.step(&mut [&mut p]).unwrap();
    let good = opt.state();
    let t = |shape: &[usize]| Tensor::<T>::zeros(shape).unwrap();
    let state = |names: &[(&str, &[usize])]| OptimizerState {
        step: 7,
        tensors: names.iter().map(|(n, s)| (n.to_string(), t(s))).collect(),
        algorithm: good.algorithm.clone(),
        params: vec![("weight".to_string(), vec![2])],
    };
    let cases: [(OptimizerState<T>, &str); 6] = [
        (
            state(&[("exp_avg", &[2])]),
            "\"exp_avg\" is not of the form \"index.name\"",
        ),
        (
            state(&[("x.exp_avg", &[2])]),
            "\"x.exp_avg\" is not of the form",
        ),
        (
            state(&[("0.exp_avg", &[2]), ("0.max_exp_avg_sq", &[2])]),
            "\"0.max_exp_avg_sq\": Adam with this config keeps [\"exp_avg\", \"exp_avg_sq\"]",
        ),
        (state(&[("0.exp_avg", &[2])]), "\"0.exp_avg_sq\" is missing"),
        (
            state(&[("0.exp_avg", &[2]), ("0.exp_avg", &[2])]),
            "\"0.exp_avg\" appears twice",
        ),
        (
            state(&[("0.exp_avg", &[2]), ("0.exp_avg_sq", &[3])]),
            "\"0.exp_avg_sq\" has shape 3, its parameter \"weight\" 2",
        ),
    ];
    for (s, msg) in cases {
        let err = opt.load_state(s).unwrap_err();
        assert!(matches!(err, Error::Format { .. }));
        assert!(
            err.to_string()
                .starts_with(&format!("Adam optimizer state: {msg}")),
            "{err}"
        );
        assert_eq!(
            opt.state(),
            good,
            "a failed load must leave the state as it was"
        );
    }
    let err = opt
        .load_state(state(&[("99999999.exp_avg", &[1])]))
        .unwrap_err();
    assert!(
        err.to_string().contains("lists no parameter 99999999"),
        "{err}"
    );
    // State made by another algorithm or config is refused.
    let mut other = state(&[("0.exp_avg", &[2]), ("0.exp_avg_sq", &[2])]);
    other.algorithm = Algorithm::from(AdamW::default()).config();
    let err = opt.load_state(other).unwrap_err();
    assert!(err.to_string().contains("made by AdamW"), "{err}");
    assert_eq!(opt.state(), good);
    // State whose tensors do not have the recorded shape is refused; state
    // of another shape than the parameter is caught on the next step,
    // which then changes nothing.
    let err = opt
        .load_state(state(&[("0.exp_avg", &[3]), ("0.exp_avg_sq", &[3])]))
        .unwrap_err();
    assert!(
        err.to_string().contains("its parameter \"weight\" 2"),
        "{err}"
    );
    let mut wrong = state(&[("0.exp_avg", &[3]), ("0.exp_avg_sq", &[3])]);
    wrong.params[0].1 = vec![3];
    opt.load_state(wrong).unwrap();
    assert_eq!(opt.step_count(), 7);
    let (before_p, before_s) = (p.clone(), opt.state());
    let err = opt.step(&mut [&mut p]).unwrap_err();
    assert!(
        err.to_string().contains("belongs to \"weight\" of shape 3"),
        "{err}"
    );
    assert_eq!((p, opt.state()), (before_p, before_s));
}

/// State is tied to the parameters: their number, names and shapes.
fn state_is_tied_to_the_parameters<T: Scalar>() {
    let mut opt = GradientDescent::<T>::new(Adam::default()).unwrap();
    let mut a = param::<T>(&[1.0, 2.0]);
    let mut b = Param::new("bias", ParamKind::Bias, a.value.clone());
    set_grad(&mut a, &[0.5, 0.5]);
    set_grad(&mut b, &[0.5, 0.5]);
    opt.step(&mut [&mut a, &mut b]).unwrap();
    let good = opt.state();
    assert_eq!(
        good.params,
        [
            ("weight".to_string(), vec![2]),
            ("bias".to_string(), vec![2])
        ]
    );
    let (a0, b0) = (a.clone(), b.clone());
    // Fewer, more, or swapped (same shapes, other names): errors, nothing changes.
    let fewer = opt.step(&mut [&mut a]).unwrap_err();
    assert!(
        fewer.to_string().contains("made for 2 parameters"),
        "{fewer}"
    );
    let mut c = a.clone();
    let more = opt.step(&mut [&mut a, &mut b, &mut c]).unwrap_err();
    assert!(more.to_string().contains("made for 2 parameters"), "{more}");
    let swapped = opt.step(&mut [&mut b, &mut a]).unwrap_err();
    assert!(
        swapped.to_string().contains("belongs to \"weight\""),
        "{swapped}"
    );
    assert_eq!((&a, &b, opt.state()), (&a0, &b0, good.clone()));
    // reset forgets the tie.
    opt.reset();
    opt.step(&mut [&mut a]).unwrap();
}

/// An `eps` that is valid in f64 but 0 in f32 is refused for f32 at once.
#[test]
fn hyper_parameters_are_checked_in_t() {
    let adam = Adam {
        eps: 1e-50,
        ..Default::default()
    };
    assert!(GradientDescent::<f64>::new(adam).is_ok());
    let err = GradientDescent::<f32>::new(adam).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid Adam.eps = 1e-50: must be finite and > 0 in f32 too, where it rounds to 0"
    );
    let boxed: Box<dyn Optimizer<f32>> = adam.into();
    assert_eq!(boxed.validate().unwrap_err().to_string(), err.to_string());
    let beta = Adam {
        beta2: 1.0 - 1e-12,
        ..Default::default()
    };
    assert!(GradientDescent::<f32>::new(beta).is_err());
    let mut opt = GradientDescent::<f32>::new(Sgd::default()).unwrap();
    assert!(opt.set_learning_rate(1e39).is_err());
    assert_eq!(opt.learning_rate(), Sgd::default().lr);
}

for_f32_and_f64!(
    long_parameters_whatever_the_thread_count,
    resume_is_bit_identical,
    state_names_are_pytorchs,
    adagrad_state_starts_at_initial_value,
    reset_forgets_everything,
    learning_rate_can_be_set,
    shape_change_is_an_error,
    gradient_shape_must_match,
    update_before_begin_step_is_an_error,
    visitor_style_updates_by_index,
    boxed_configs_check_lazily,
    bad_states_are_rejected,
    state_is_tied_to_the_parameters
);

#[test]
fn new_validates() {
    let err = GradientDescent::<f32>::new(RmsProp {
        alpha: 2.0,
        ..Default::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid RMSprop.alpha = 2: must be in [0, 1]"
    );
    let names: Vec<&str> = all_algorithms().iter().map(Algorithm::name).collect();
    assert_eq!(
        names,
        [
            "SGD", "SGD", "SGD", "Adam", "Adam", "AdamW", "RMSprop", "RMSprop", "Adagrad"
        ]
    );
    assert!(all_algorithms().iter().all(|a| a.validate().is_ok()));
    assert_eq!(Algorithm::from(AdaGrad::default()).lr(), 1e-2);
}

/// A parameter of several blocks (updated in parts on the products' threads)
/// gets bitwise the same values and state whatever the thread count, and the
/// same as each value updated on its own (so the parts change nothing).
fn long_parameters_whatever_the_thread_count<T: Scalar>() {
    let len = 3 * crate::elementwise::BLOCK + 7;
    let start: Vec<f64> = (0..len)
        .map(|i| ((i * 37) % 101) as f64 / 50.0 - 1.0)
        .collect();
    let run = |alg: Algorithm, threads: usize, values: &[f64]| {
        crate::set_num_threads(threads).unwrap();
        let mut w = param::<T>(values);
        let mut opt = GradientDescent::<T>::new(alg).unwrap();
        for k in 0..3 {
            w.grad = w
                .value
                .map(|v| v - T::one() + T::from_f64(0.5) * (T::from_usize(k + 1) * v).sin());
            opt.step(&mut [&mut w]).unwrap();
        }
        (w.value, opt.state())
    };
    let prev = crate::num_threads();
    for alg in all_algorithms() {
        let one = run(alg, 1, &start);
        for threads in [2, 3] {
            assert_eq!(
                run(alg, threads, &start),
                one,
                "{} at {threads}",
                alg.name()
            );
        }
        // A few values on their own (a parameter of one value each).
        for i in [0, crate::elementwise::BLOCK + 1, len - 1] {
            let alone = run(alg, 1, &start[i..=i]).0;
            assert_eq!(
                alone.as_slice()[0],
                one.0.as_slice()[i],
                "{} value {i}",
                alg.name()
            );
        }
    }
    crate::set_num_threads(prev).unwrap();
}
