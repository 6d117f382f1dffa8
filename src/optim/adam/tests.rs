use super::*;
use crate::optim::test_util::{assert_close, for_f32_and_f64, run};
use crate::optim::{GradientDescent, Optimizer};

fn first_step_is_lr_times_sign<T: Scalar>() {
    // t = 1: m = 0.1·g, v = 0.001·g², m̂ = g, v̂ = g², so
    // w ← w − lr·g/(|g| + ε). With lr = 0.1, w = [1, 1], g = [0.5, −2]:
    //   w₀ = 1 − 0.1·0.5/(0.5 + 1e-8) = 1 − 0.1/(1 + 2e-8)   = 0.900000002
    //   w₁ = 1 + 0.1·2/(2 + 1e-8)    = 1 + 0.1/(1 + 5e-9)   = 1.0999999995
    let adam = Adam {
        lr: 0.1,
        ..Default::default()
    };
    let (opt, p) = run::<T>(adam, &[1.0, 1.0], &[&[0.5, -2.0]]);
    assert_close(&p.value, &[0.900000002, 1.0999999995]);
    let s = opt.state();
    assert_close(s.get("0.exp_avg").unwrap(), &[0.05, -0.2]);
    assert_close(s.get("0.exp_avg_sq").unwrap(), &[0.00025, 0.004]);
    assert!(s.get("0.max_exp_avg_sq").is_none());
}

fn second_step<T: Scalar>() {
    // Continue the first test with g = [0.5, 1] at t = 2:
    //   m = m + 0.1·(g − m):  0.05 + 0.1·0.45 = 0.095;   −0.2 + 0.1·1.2 = −0.08
    //   v = 0.999·v + 0.001·g²: 0.00024975 + 0.00025 = 0.00049975;
    //                           0.003996 + 0.001 = 0.004996
    //   1 − β₁² = 0.19, 1 − β₂² = 0.001999
    //   coordinate 0: m̂ = 0.5, v̂ = 0.25, √v̂ = 0.5:
    //     w = 0.900000002 − 0.1·0.5/(0.5 + 1e-8) = 0.900000002 − 0.099999998 = 0.800000004
    //   coordinate 1: m̂ = −0.08/0.19 = −0.42105263157894735,
    //     v̂ = 0.004996/0.001999 = 2.4992496248124063, √v̂ = 1.5809015228066567:
    //     w = 1.0999999995 + 0.1·0.42105263157894735/(1.5809015228066567 + 1e-8)
    //       = 1.0999999995 + 0.0266337037975... = 1.1266337032975684
    let adam = Adam {
        lr: 0.1,
        ..Default::default()
    };
    let (opt, p) = run::<T>(adam, &[1.0, 1.0], &[&[0.5, -2.0], &[0.5, 1.0]]);
    assert_close(&p.value, &[0.800000004, 1.1266337032975684]);
    let s = opt.state();
    assert_eq!(s.step, 2);
    assert_close(s.get("0.exp_avg").unwrap(), &[0.095, -0.08]);
    assert_close(s.get("0.exp_avg_sq").unwrap(), &[0.00049975, 0.004996]);
}

fn amsgrad_keeps_the_max<T: Scalar>() {
    // β₁ = β₂ = 0.5, lr = 0.1, w = 1; g = 2 then g = 0.1.
    // t = 1: m = 1, v = 2; m̂ = 2, v̂ = 4; w = 1 − 0.1·2/(2 + 1e-8) = 0.9000000005.
    // t = 2: m = 1 + 0.5·(0.1 − 1) = 0.55; v = 0.5·2 + 0.5·0.01 = 1.005 < v_max = 2;
    //   step size = 0.1/(1 − 0.25) = 0.13333…, √(1 − 0.25) = 0.8660254037844386.
    //   amsgrad: denom = √2/0.8660254037844386 + 1e-8 = 1.632993171855452;
    //     w = 0.9000000005 − 0.13333…·0.55/1.632993171855452 = 0.855092688823975
    //   plain:   denom = √1.005/0.8660254037844386 + 1e-8 = 1.1575836…;
    //     w = 0.9000000005 − 0.13333…·0.55/1.1575836… = 0.8366496498379639
    let ams = Adam {
        lr: 0.1,
        beta1: 0.5,
        beta2: 0.5,
        amsgrad: true,
        ..Default::default()
    };
    let (opt, p) = run::<T>(ams, &[1.0], &[&[2.0], &[0.1]]);
    assert_close(&p.value, &[0.855092688823975]);
    let s = opt.state();
    assert_close(s.get("0.max_exp_avg_sq").unwrap(), &[2.0]);
    assert_close(s.get("0.exp_avg_sq").unwrap(), &[1.005]);
    let plain = Adam {
        amsgrad: false,
        ..ams
    };
    let (_, p) = run::<T>(plain, &[1.0], &[&[2.0], &[0.1]]);
    assert_close(&p.value, &[0.8366496498379639]);
    // AdamW with wd = 0 is Adam.
    let w = AdamW {
        lr: 0.1,
        beta1: 0.5,
        beta2: 0.5,
        amsgrad: true,
        weight_decay: 0.0,
        ..Default::default()
    };
    let (_, p) = run::<T>(w, &[1.0], &[&[2.0], &[0.1]]);
    assert_close(&p.value, &[0.855092688823975]);
}

fn adamw_decouples_weight_decay<T: Scalar>() {
    // Zero gradient, lr = 0.1, wd = 0.1: AdamW only shrinks,
    //   w ← w·(1 − 0.01), and the Adam part is 0/(0 + ε) = 0:
    //   [1, −2] → [0.99, −1.98] → [0.9801, −1.9602].
    let adamw = AdamW {
        lr: 0.1,
        weight_decay: 0.1,
        ..Default::default()
    };
    let (_, p) = run::<T>(adamw, &[1.0, -2.0], &[&[0.0, 0.0], &[0.0, 0.0]]);
    assert_close(&p.value, &[0.9801, -1.9602]);
    // Coupled Adam treats wd·w as the gradient: g = [0.1, −0.2], and its first
    // step moves by lr·sign: [1 − 0.1·0.1/(0.1 + 1e-8), −2 + 0.1·0.2/(0.2 + 1e-8)]
    //   = [0.900000009999999, −1.9000000049999999].
    let adam = Adam {
        lr: 0.1,
        weight_decay: 0.1,
        ..Default::default()
    };
    let (_, p) = run::<T>(adam, &[1.0, -2.0], &[&[0.0, 0.0]]);
    assert_close(&p.value, &[0.900000009999999, -1.9000000049999999]);
    // With a gradient: shrink first, then the Adam step of the first test:
    //   [0.99, 0.99] − 0.1·[1/(1 + 2e-8), −1/(1 + 5e-9)] = [0.890000002, 1.0899999995].
    let (_, p) = run::<T>(adamw, &[1.0, 1.0], &[&[0.5, -2.0]]);
    assert_close(&p.value, &[0.890000002, 1.0899999995]);
}

for_f32_and_f64!(
    first_step_is_lr_times_sign,
    second_step,
    amsgrad_keeps_the_max,
    adamw_decouples_weight_decay
);

#[test]
fn defaults_are_pytorchs() {
    let a = Adam::default();
    assert_eq!(
        (a.lr, a.beta1, a.beta2, a.eps, a.weight_decay, a.amsgrad),
        (1e-3, 0.9, 0.999, 1e-8, 0.0, false)
    );
    let w = AdamW::default();
    assert_eq!(
        (w.lr, w.beta1, w.beta2, w.eps, w.weight_decay, w.amsgrad),
        (1e-3, 0.9, 0.999, 1e-8, 1e-2, false)
    );
    assert!(a.validate().is_ok() && w.validate().is_ok());
}

#[test]
fn invalid_hyper_parameters() {
    let d = Adam::default();
    let cases = [
        (Adam { lr: -1e-3, ..d }, "invalid Adam.lr = -0.001"),
        (
            Adam { beta1: 1.0, ..d },
            "invalid Adam.beta1 = 1: must be in [0, 1)",
        ),
        (Adam { beta1: -0.1, ..d }, "invalid Adam.beta1 = -0.1"),
        (Adam { beta2: 1.5, ..d }, "invalid Adam.beta2 = 1.5"),
        (
            Adam {
                beta2: f64::NAN,
                ..d
            },
            "invalid Adam.beta2 = NaN",
        ),
        (
            Adam { eps: 0.0, ..d },
            "invalid Adam.eps = 0: must be finite and > 0",
        ),
        (Adam { eps: -1e-8, ..d }, "invalid Adam.eps = -0.00000001"),
        (
            Adam {
                weight_decay: -0.1,
                ..d
            },
            "invalid Adam.weight_decay = -0.1",
        ),
    ];
    for (cfg, msg) in cases {
        let err = cfg.validate().unwrap_err();
        assert!(matches!(err, Error::InvalidArgument { .. }));
        assert!(err.to_string().starts_with(msg), "{err} vs {msg}");
        assert!(GradientDescent::<f64>::new(cfg).is_err());
    }
    let d = AdamW::default();
    let cases = [
        (
            AdamW {
                lr: f64::INFINITY,
                ..d
            },
            "invalid AdamW.lr = inf",
        ),
        (AdamW { beta1: 1.0, ..d }, "invalid AdamW.beta1 = 1"),
        (AdamW { beta2: -0.5, ..d }, "invalid AdamW.beta2 = -0.5"),
        (AdamW { eps: 0.0, ..d }, "invalid AdamW.eps = 0"),
        (
            AdamW {
                weight_decay: -1.0,
                ..d
            },
            "invalid AdamW.weight_decay = -1",
        ),
    ];
    for (cfg, msg) in cases {
        let err = cfg.validate().unwrap_err();
        assert!(err.to_string().starts_with(msg), "{err} vs {msg}");
        assert!(GradientDescent::<f32>::new(cfg).is_err());
    }
}
