//! Learning-rate schedules: the rate as a pure function of the epoch.
//!
//! The convention is PyTorch's `scheduler.step()` once per epoch: epochs
//! count from 0, and epoch `e` trains with `lr_at(base_lr, e)`, where
//! `base_lr` is the optimizer's configured rate. A training loop calls
//! [`Optimizer::set_learning_rate`](super::Optimizer::set_learning_rate)
//! with it before each epoch.
//!
//! | schedule | PyTorch | rate at epoch `e` |
//! |---|---|---|
//! | [`Schedule::Constant`] | none | `base` |
//! | [`Schedule::Step`] | `StepLR` | `base·γ^⌊e/step_size⌋` |
//! | [`Schedule::Exponential`] | `ExponentialLR` | `base·γ^e` |
//! | [`Schedule::Cosine`] | `CosineAnnealingLR` | `η_min + (base − η_min)·(1 + cos(π·e/T_max))/2` |
//! | [`Warmup`] | `LinearLR` (`end_factor = 1`) | multiplies by `f + (1 − f)·min(e, epochs)/epochs` |
//!
//! These are PyTorch's closed forms (`_get_closed_form_lr`); PyTorch's
//! default `step()` updates recursively, which agrees with them up to
//! rounding.
//!
//! ```
//! use weightwise::optim::{LrSchedule, Schedule, Warmup};
//! # fn main() -> weightwise::Result<()> {
//! let s = LrSchedule {
//!     schedule: Schedule::Step { step_size: 10, gamma: 0.5 },
//!     warmup: Some(Warmup { epochs: 2, start_factor: 0.5 }),
//! };
//! s.validate()?;
//! assert_eq!(s.lr_at(0.1, 0), 0.05); // warm-up factor 0.5
//! assert!((s.lr_at(0.1, 1) - 0.075).abs() < 1e-15); // 0.5 + 0.5·1/2 = 0.75
//! assert_eq!(s.lr_at(0.1, 5), 0.1);
//! assert_eq!(s.lr_at(0.1, 10), 0.05); // γ¹
//! # Ok(()) }
//! ```

use crate::{Error, Result};

/// The main shape of a learning-rate schedule; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Schedule {
    /// The base rate throughout.
    #[default]
    Constant,
    /// PyTorch's `StepLR`: `base·γ^⌊e/step_size⌋`, the rate multiplied by
    /// `gamma` every `step_size` epochs.
    Step {
        /// Epochs between decays, `> 0`.
        step_size: usize,
        /// Multiplicative factor, `> 0` (usually `< 1`).
        gamma: f64,
    },
    /// PyTorch's `ExponentialLR`: `base·γ^e`.
    Exponential {
        /// Multiplicative factor per epoch, `> 0`.
        gamma: f64,
    },
    /// PyTorch's `CosineAnnealingLR` in closed form:
    /// `η_min + (base − η_min)·(1 + cos(π·e/T_max))/2`.
    ///
    /// It reaches `eta_min` at `e = t_max`. Past `t_max` the closed form is
    /// followed as PyTorch's `_get_closed_form_lr` does: the cosine rises
    /// again, back to `base` at `2·t_max`, and so on periodically.
    Cosine {
        /// Half-period in epochs, `> 0`.
        t_max: usize,
        /// The lowest rate, finite and `≥ 0`.
        eta_min: f64,
    },
}

impl Schedule {
    /// The rate at epoch `epoch` (0-based) for a base rate `base_lr`.
    ///
    /// An invalid schedule (see [`Schedule::validate`]) gives NaN when it
    /// would divide by zero, never a panic.
    pub fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        match *self {
            Schedule::Constant => base_lr,
            Schedule::Step { step_size, gamma } => match epoch.checked_div(step_size) {
                Some(k) => base_lr * gamma.powf(k as f64),
                None => f64::NAN,
            },
            Schedule::Exponential { gamma } => base_lr * gamma.powf(epoch as f64),
            Schedule::Cosine { t_max, eta_min } => {
                if t_max == 0 {
                    return f64::NAN;
                }
                // Same order of operations as PyTorch: π·e first, then /T_max.
                let angle = std::f64::consts::PI * epoch as f64 / t_max as f64;
                eta_min + (base_lr - eta_min) * (1.0 + angle.cos()) / 2.0
            }
        }
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field and value for
    /// `step_size = 0`, `gamma ≤ 0` or not finite, `t_max = 0`, or `eta_min`
    /// negative or not finite.
    pub fn validate(&self) -> Result<()> {
        let positive_gamma = |gamma: f64| {
            if gamma.is_finite() && gamma > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid_arg(
                    "schedule gamma",
                    gamma,
                    "must be finite and > 0",
                ))
            }
        };
        match *self {
            Schedule::Constant => Ok(()),
            Schedule::Step { step_size, gamma } => {
                if step_size == 0 {
                    return Err(Error::invalid_arg(
                        "schedule step_size",
                        step_size,
                        "must be > 0",
                    ));
                }
                positive_gamma(gamma)
            }
            Schedule::Exponential { gamma } => positive_gamma(gamma),
            Schedule::Cosine { t_max, eta_min } => {
                if t_max == 0 {
                    return Err(Error::invalid_arg("schedule t_max", t_max, "must be > 0"));
                }
                super::check_non_negative::<f64>("schedule eta_min", eta_min)
            }
        }
    }

    /// This schedule with a linear warm-up in front.
    pub fn with_warmup(self, epochs: usize, start_factor: f64) -> LrSchedule {
        LrSchedule {
            schedule: self,
            warmup: Some(Warmup {
                epochs,
                start_factor,
            }),
        }
    }
}

/// A linear warm-up, PyTorch's `LinearLR` with `end_factor = 1`: the rate is
/// multiplied by `start_factor + (1 − start_factor)·min(e, epochs)/epochs`,
/// which rises from `start_factor` at epoch 0 to 1 at `epochs` and stays 1.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Warmup {
    /// Epochs to reach the full rate (PyTorch's `total_iters`), `> 0`.
    pub epochs: usize,
    /// The factor at epoch 0, in `(0, 1]`.
    pub start_factor: f64,
}

impl Warmup {
    /// The factor at epoch `epoch`; NaN if `epochs = 0`.
    pub fn factor(&self, epoch: usize) -> f64 {
        if self.epochs == 0 {
            return f64::NAN;
        }
        let done = epoch.min(self.epochs) as f64;
        self.start_factor + (1.0 - self.start_factor) * done / self.epochs as f64
    }

    /// Checks the settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `epochs = 0` or `start_factor` outside
    /// `(0, 1]` (PyTorch's rule for `LinearLR`).
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::invalid_arg(
                "warmup epochs",
                self.epochs,
                "must be > 0",
            ));
        }
        if !(self.start_factor > 0.0 && self.start_factor <= 1.0) {
            return Err(Error::invalid_arg(
                "warmup start_factor",
                self.start_factor,
                "must be in (0, 1]",
            ));
        }
        Ok(())
    }
}

/// A [`Schedule`] with an optional linear [`Warmup`] in front.
///
/// The rate is `warmup.factor(e) · schedule.lr_at(base, e)`: the two are
/// chained multiplicatively, as PyTorch's `ChainedScheduler([LinearLR, S])`
/// does. For `Step`, `Exponential` and `Cosine` with `eta_min = 0` this is
/// exactly PyTorch's chained rate; for `Cosine` with `eta_min > 0`, PyTorch's
/// recursive cosine update does not commute with the warm-up's scaling and
/// its rates during the warm-up differ slightly from this product (after the
/// warm-up they agree).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct LrSchedule {
    /// The main schedule. Defaults to [`Schedule::Constant`].
    pub schedule: Schedule,
    /// An optional warm-up multiplying it. Defaults to `None`.
    pub warmup: Option<Warmup>,
}

impl LrSchedule {
    /// The rate at epoch `epoch` (0-based) for a base rate `base_lr`.
    pub fn lr_at(&self, base_lr: f64, epoch: usize) -> f64 {
        let lr = self.schedule.lr_at(base_lr, epoch);
        match self.warmup {
            Some(w) => lr * w.factor(epoch),
            None => lr,
        }
    }

    /// Checks the schedule and the warm-up.
    ///
    /// # Errors
    /// As for [`Schedule::validate`] and [`Warmup::validate`].
    pub fn validate(&self) -> Result<()> {
        self.schedule.validate()?;
        self.warmup.as_ref().map_or(Ok(()), Warmup::validate)
    }
}

impl From<Schedule> for LrSchedule {
    fn from(schedule: Schedule) -> Self {
        LrSchedule {
            schedule,
            warmup: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-15 * b.abs().max(1.0), "{a} vs {b}");
    }

    #[test]
    fn constant() {
        let s = LrSchedule::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.lr_at(0.1, 0), 0.1);
        assert_eq!(s.lr_at(0.1, 1000), 0.1);
    }

    #[test]
    fn step() {
        // base 0.1, γ = 0.5 every 3 epochs: epochs 0–2 → 0.1, 3–5 → 0.05, 6–8 → 0.025.
        let s = Schedule::Step {
            step_size: 3,
            gamma: 0.5,
        };
        let lrs: Vec<f64> = (0..9).map(|e| s.lr_at(0.1, e)).collect();
        assert_eq!(lrs, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]);
    }

    #[test]
    fn exponential() {
        // base 1, γ = 0.9: 1, 0.9, 0.81, 0.729 (0.9³ rounds to 0.7290000000000001).
        let s = Schedule::Exponential { gamma: 0.9 };
        close(s.lr_at(1.0, 0), 1.0);
        close(s.lr_at(1.0, 1), 0.9);
        close(s.lr_at(1.0, 2), 0.81);
        close(s.lr_at(1.0, 3), 0.729);
    }

    #[test]
    fn cosine_and_past_t_max() {
        // base 0.1, η_min 0.01, T_max 4: 0.01 + 0.09·(1 + cos(π·e/4))/2.
        //   e = 0: cos 0 = 1        → 0.1
        //   e = 1: cos π/4 = √2/2   → 0.01 + 0.09·0.853553390593 = 0.0868198051533946
        //   e = 2: cos π/2 = 0      → 0.055
        //   e = 3: cos 3π/4 = −√2/2 → 0.01 + 0.09·0.146446609407 = 0.0231801948466054
        //   e = 4: cos π = −1       → 0.01
        // past T_max the closed form rises again: e = 6 → 0.055, e = 8 → 0.1.
        let s = Schedule::Cosine {
            t_max: 4,
            eta_min: 0.01,
        };
        let expected = [
            0.1,
            0.0868198051533946,
            0.055,
            0.0231801948466054,
            0.01,
            0.0231801948466054,
            0.055,
            0.0868198051533946,
            0.1,
        ];
        for (e, &x) in expected.iter().enumerate() {
            close(s.lr_at(0.1, e), x);
        }
    }

    #[test]
    fn warmup_multiplies_any_schedule() {
        // start_factor 0.25 over 4 epochs: 0.25 + 0.75·e/4 = 0.25, 0.4375, 0.625, 0.8125, 1, 1.
        let w = Warmup {
            epochs: 4,
            start_factor: 0.25,
        };
        let factors: Vec<f64> = (0..6).map(|e| w.factor(e)).collect();
        assert_eq!(factors, [0.25, 0.4375, 0.625, 0.8125, 1.0, 1.0]);
        // With StepLR(step 2, γ 0.5), base 0.1: product of the two closed forms.
        //   e = 0: 0.25·0.1 = 0.025;  e = 1: 0.4375·0.1 = 0.04375;
        //   e = 2: 0.625·0.05 = 0.03125;  e = 5: 1·0.025 = 0.025.
        let s = Schedule::Step {
            step_size: 2,
            gamma: 0.5,
        }
        .with_warmup(4, 0.25);
        assert!(s.validate().is_ok());
        close(s.lr_at(0.1, 0), 0.025);
        close(s.lr_at(0.1, 1), 0.04375);
        close(s.lr_at(0.1, 2), 0.03125);
        close(s.lr_at(0.1, 5), 0.025);
        // With cosine (η_min 0, T_max 4), base 0.1, e = 2: 0.625·0.05 = 0.03125.
        let c = Schedule::Cosine {
            t_max: 4,
            eta_min: 0.0,
        }
        .with_warmup(4, 0.25);
        close(c.lr_at(0.1, 2), 0.03125);
        assert_eq!(LrSchedule::from(Schedule::Constant), LrSchedule::default());
    }

    #[test]
    fn invalid_settings_are_errors_and_never_panic() {
        let cases: [(LrSchedule, &str); 9] = [
            (
                Schedule::Step {
                    step_size: 0,
                    gamma: 0.5,
                }
                .into(),
                "invalid schedule step_size = 0: must be > 0",
            ),
            (
                Schedule::Step {
                    step_size: 2,
                    gamma: 0.0,
                }
                .into(),
                "invalid schedule gamma = 0",
            ),
            (
                Schedule::Exponential { gamma: -0.5 }.into(),
                "invalid schedule gamma = -0.5",
            ),
            (
                Schedule::Exponential { gamma: f64::NAN }.into(),
                "invalid schedule gamma = NaN",
            ),
            (
                Schedule::Cosine {
                    t_max: 0,
                    eta_min: 0.0,
                }
                .into(),
                "invalid schedule t_max = 0",
            ),
            (
                Schedule::Cosine {
                    t_max: 5,
                    eta_min: -1.0,
                }
                .into(),
                "invalid schedule eta_min = -1",
            ),
            (
                Schedule::Constant.with_warmup(0, 0.5),
                "invalid warmup epochs = 0",
            ),
            (
                Schedule::Constant.with_warmup(3, 0.0),
                "invalid warmup start_factor = 0: must be in (0, 1]",
            ),
            (
                Schedule::Constant.with_warmup(3, 1.5),
                "invalid warmup start_factor = 1.5",
            ),
        ];
        for (s, msg) in cases {
            let err = s.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }));
            assert!(err.to_string().starts_with(msg), "{err} vs {msg}");
            let _ = s.lr_at(0.1, 3); // must not panic
        }
        assert!(
            Schedule::Step {
                step_size: 0,
                gamma: 0.5
            }
            .lr_at(0.1, 3)
            .is_nan()
        );
        assert!(
            Schedule::Constant
                .with_warmup(0, 0.5)
                .lr_at(0.1, 0)
                .is_nan()
        );
        // start_factor 1 is allowed: no warm-up at all.
        assert!(Schedule::Constant.with_warmup(3, 1.0).validate().is_ok());
    }
}
