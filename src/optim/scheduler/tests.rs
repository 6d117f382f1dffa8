//! `ReduceLrOnPlateau` against PyTorch's algorithm, traced by hand, and the
//! trait forms of the built-in schedules.

use super::*;

fn run(config: Plateau, values: &[f64], lr: f64) -> Vec<f64> {
    let mut s = ReduceLrOnPlateau::new(config).unwrap();
    let mut lr = lr;
    values
        .iter()
        .map(|&v| {
            lr = s.step(v, lr);
            lr
        })
        .collect()
}

#[test]
fn rel_threshold_with_patience_cooldown_and_min_lr() {
    // min, rel 0.1 (better: v < 0.9·best), factor ½, patience 1, cooldown 2, min_lr 0.2.
    //  e  v    better?        bad  cooldown  lr
    //  0  10   yes (best 10)  0    0         1
    //  1  9.5  no (< 9?)      1    0         1
    //  2  9.2  no             2>1 → reduce   ½, cooldown 2, bad 0
    //  3  8.0  yes (best 8)   0    1         ½
    //  4  8.5  no (< 7.2?)    1→0  0         ½   (counted away by the cooldown)
    //  5  8.4  no             1    0         ½
    //  6  8.3  no             2>1 → reduce   ¼, cooldown 2
    //  7  8.2  no             1→0  1         ¼
    //  8  7.0  yes (best 7)   0    0         ¼
    //  9  7.5  no             1              ¼
    // 10  7.5  no             2 → max(⅛, 0.2) = 0.2 (a drop of 0.05 > eps)
    // 11  7.5  no             1→0  1         0.2
    // 12  7.5  no             1→0  0         0.2
    // 13  7.5  no             1              0.2
    // 14  7.5  no             2 → max(0.1, 0.2) = 0.2: a drop of 0 ≤ eps, kept
    let config = Plateau {
        factor: 0.5,
        patience: 1,
        threshold: 0.1,
        cooldown: 2,
        min_lr: 0.2,
        ..Default::default()
    };
    let values = [
        10.0, 9.5, 9.2, 8.0, 8.5, 8.4, 8.3, 8.2, 7.0, 7.5, 7.5, 7.5, 7.5, 7.5, 7.5,
    ];
    let want = [
        1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2,
    ];
    assert_eq!(run(config, &values, 1.0), want);
}

#[test]
fn abs_threshold_differs_from_rel() {
    // min, factor 0.1, patience 0 (every bad epoch reduces), threshold 0.5.
    let values = [5.0, 4.6, 4.4, 3.0, 2.6];
    // abs: better means v < best − 0.5.
    //   5 (best) · 4.6 < 4.5? no → ×0.1 · 4.4 < 4.5 yes (best 4.4) · 3.0 < 3.9 yes · 2.6 < 2.5? no → ×0.1
    let abs = Plateau {
        factor: 0.1,
        patience: 0,
        threshold: 0.5,
        threshold_mode: ThresholdMode::Abs,
        ..Default::default()
    };
    let lr1 = 1.0 * 0.1;
    let lr2 = lr1 * 0.1;
    assert_eq!(run(abs, &values, 1.0), [1.0, lr1, lr1, lr1, lr2]);
    // rel: better means v < best·0.5: only the first value is ever better.
    let rel = Plateau {
        threshold_mode: ThresholdMode::Rel,
        ..abs
    };
    let lr3 = lr2 * 0.1;
    let lr4 = lr3 * 0.1;
    assert_eq!(run(rel, &values, 1.0), [1.0, lr1, lr2, lr3, lr4]);
}

#[test]
fn max_mode_and_nan() {
    // max, rel 0.1: better means v > 1.1·best; patience 0.
    //   0.5 (best) · 0.6 > 0.55 yes · 0.6 > 0.66 no → ½ · NaN never better → ¼
    let config = Plateau {
        mode: PlateauMode::Max,
        factor: 0.5,
        patience: 0,
        threshold: 0.1,
        ..Default::default()
    };
    assert_eq!(
        run(config, &[0.5, 0.6, 0.6, f64::NAN], 1.0),
        [1.0, 1.0, 0.5, 0.25]
    );
    let mut s = ReduceLrOnPlateau::new(config).unwrap();
    assert_eq!(s.best(), f64::NEG_INFINITY);
    s.step(0.5, 1.0);
    s.step(0.5, 1.0);
    assert_eq!((s.best(), s.bad_epochs()), (0.5, 0));
    s.reset();
    assert_eq!((s.best(), s.bad_epochs()), (f64::NEG_INFINITY, 0));
}

#[test]
fn defaults_are_pytorchs_and_bad_settings_are_errors() {
    let d = Plateau::default();
    assert_eq!(
        (
            d.factor,
            d.patience,
            d.threshold,
            d.cooldown,
            d.min_lr,
            d.eps
        ),
        (0.1, 10, 1e-4, 0, 0.0, 1e-8)
    );
    assert_eq!(
        (d.mode, d.threshold_mode),
        (PlateauMode::Min, ThresholdMode::Rel)
    );
    let cases = [
        (Plateau { factor: 1.0, ..d }, "plateau factor"),
        (Plateau { factor: 0.0, ..d }, "plateau factor"),
        (
            Plateau {
                factor: f64::NAN,
                ..d
            },
            "plateau factor",
        ),
        (
            Plateau {
                threshold: -1.0,
                ..d
            },
            "plateau threshold",
        ),
        (
            Plateau {
                min_lr: f64::INFINITY,
                ..d
            },
            "plateau min_lr",
        ),
        (Plateau { eps: -1e-9, ..d }, "plateau eps"),
    ];
    for (config, name) in cases {
        let err = ReduceLrOnPlateau::new(config).unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: n, .. } if n == name),
            "{err}"
        );
    }
}

#[test]
fn built_in_schedules_through_the_trait_are_bit_identical() {
    let s = LrSchedule {
        schedule: Schedule::Cosine {
            t_max: 7,
            eta_min: 0.003,
        },
        warmup: Some(super::super::Warmup {
            epochs: 3,
            start_factor: 0.1,
        }),
    };
    let mut boxed: Box<dyn ScheduleFn> = s.into();
    let mut plain: Box<dyn ScheduleFn> = s.schedule.into();
    for epoch in 0..20 {
        let at = ScheduleContext {
            epoch,
            step: 3,
            base_lr: 0.05,
            lr: 1.0,
        };
        assert_eq!(boxed.lr(&at), Some(s.lr_at(0.05, epoch)));
        assert_eq!(plain.lr(&at), Some(s.schedule.lr_at(0.05, epoch)));
        assert_eq!(boxed.end_epoch(1.0, 0.5), None);
    }
    assert!(boxed.validate().is_ok());
    let bad: Box<dyn ScheduleFn> = Schedule::Exponential { gamma: -1.0 }.into();
    assert!(bad.validate().is_err());
}

#[test]
fn lambda_schedule_sees_epoch_step_and_base() {
    let mut s = LambdaSchedule::new(|e, k, base| base + e as f64 * 10.0 + k as f64);
    let at = ScheduleContext {
        epoch: 2,
        step: 3,
        base_lr: 0.5,
        lr: 9.0,
    };
    assert_eq!(s.lr(&at), Some(23.5));
    assert_eq!(format!("{s:?}"), "LambdaSchedule(..)");
    let mut p: Box<dyn ScheduleFn> = ReduceLrOnPlateau::new(Plateau::default()).unwrap().into();
    assert_eq!(p.lr(&at), None);
}

#[test]
fn a_relative_threshold_of_one_never_improves_as_in_pytorch() {
    // best·(1 − 1) = ∞·0 = NaN at the start, so even the first value is a bad
    // epoch (PyTorch computes the same product).
    let config = Plateau {
        factor: 0.5,
        patience: 0,
        threshold: 1.0,
        ..Default::default()
    };
    assert_eq!(run(config, &[1.0, 0.5], 1.0), [0.5, 0.25]);
}
