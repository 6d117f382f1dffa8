//! The open schedule trait [`ScheduleFn`], a closure schedule
//! ([`LambdaSchedule`]) and PyTorch's [`ReduceLrOnPlateau`].
//!
//! `fit` asks its schedule for a rate before **every** training step
//! ([`ScheduleFn::lr`], with the epoch, the step within it, the optimizer's
//! rate when `fit` began and its current rate), and tells it the monitored
//! loss after every epoch ([`ScheduleFn::end_epoch`]: the validation loss, or
//! the training loss without validation data). The built-in [`Schedule`] and
//! [`LrSchedule`] answer from the epoch alone, as PyTorch's epoch-wise
//! `scheduler.step()`; [`ReduceLrOnPlateau`] answers only after an epoch.
//!
//! ```
//! use weightwise::optim::{LambdaSchedule, ScheduleFn, ScheduleContext};
//! // Halve the rate every 10 epochs, and ramp it up over the first 5 steps.
//! let mut s = LambdaSchedule::new(|epoch, step, base| {
//!     let warm = if epoch == 0 { ((step + 1) as f64 / 5.0).min(1.0) } else { 1.0 };
//!     base * 0.5f64.powi((epoch / 10) as i32) * warm
//! });
//! let at = ScheduleContext { epoch: 0, step: 1, base_lr: 0.1, lr: 0.02 };
//! assert_eq!(s.lr(&at), Some(0.1 * 0.4));
//! ```

use std::fmt::Debug;

use super::{LrSchedule, Schedule};
use crate::{Error, Result};

/// Where training is when a schedule is asked for a rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScheduleContext {
    /// The epoch, counted from 0 (from `Fit::initial_epoch` when resuming).
    pub epoch: usize,
    /// The step within the epoch, counted from 0.
    pub step: usize,
    /// The optimizer's rate when `fit` began.
    pub base_lr: f64,
    /// The optimizer's current rate (after any change by the epoch callback).
    pub lr: f64,
}

/// A learning-rate schedule: the open trait that the built-ins ([`Schedule`],
/// [`LrSchedule`], [`LambdaSchedule`], [`ReduceLrOnPlateau`]) implement and
/// that a schedule of your own implements to work in `fit` the same way.
pub trait ScheduleFn: Debug {
    /// The rate for the coming step, or `None` to keep the current one.
    /// `fit` calls it before every step.
    fn lr(&mut self, at: &ScheduleContext) -> Option<f64>;

    /// Called after every epoch with the monitored loss (the validation loss,
    /// else the training loss) and the current rate; returns a new rate, or
    /// `None` to keep it. Provided: `None`.
    fn end_epoch(&mut self, monitored: f64, lr: f64) -> Option<f64> {
        let _ = (monitored, lr);
        None
    }

    /// Checks the settings before training starts. Provided: `Ok(())`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the setting.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

impl ScheduleFn for LrSchedule {
    fn lr(&mut self, at: &ScheduleContext) -> Option<f64> {
        Some(self.lr_at(at.base_lr, at.epoch))
    }

    fn validate(&self) -> Result<()> {
        LrSchedule::validate(self)
    }
}

impl ScheduleFn for Schedule {
    fn lr(&mut self, at: &ScheduleContext) -> Option<f64> {
        Some(self.lr_at(at.base_lr, at.epoch))
    }

    fn validate(&self) -> Result<()> {
        Schedule::validate(self)
    }
}

/// Boxes a schedule for `Fit::schedule`: `schedule: Some(Schedule::Cosine { .. }.into())`.
macro_rules! box_schedule {
    ($($t:ty),*) => {$(
        impl From<$t> for Box<dyn ScheduleFn> {
            fn from(s: $t) -> Self {
                Box::new(s)
            }
        }
    )*};
}

box_schedule!(Schedule, LrSchedule, LambdaSchedule, ReduceLrOnPlateau);

/// A schedule given by a closure, `lr = f(epoch, step, base_lr)`, asked before
/// every step (so it can change the rate within an epoch).
///
/// Unlike PyTorch's `LambdaLR`, whose function returns a *factor* of the base
/// rate, `f` returns the rate itself; `|e, _, base| base * g(e)` is `LambdaLR(g)`.
pub struct LambdaSchedule {
    f: Box<dyn FnMut(usize, usize, f64) -> f64>,
}

impl LambdaSchedule {
    /// A schedule computing the rate with `f(epoch, step, base_lr)`.
    pub fn new(f: impl FnMut(usize, usize, f64) -> f64 + 'static) -> Self {
        LambdaSchedule { f: Box::new(f) }
    }
}

impl Debug for LambdaSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LambdaSchedule(..)")
    }
}

impl ScheduleFn for LambdaSchedule {
    fn lr(&mut self, at: &ScheduleContext) -> Option<f64> {
        Some((self.f)(at.epoch, at.step, at.base_lr))
    }
}

/// Whether a lower or a higher monitored value is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PlateauMode {
    /// Lower is better (a loss). PyTorch's `mode='min'`, the default.
    #[default]
    Min,
    /// Higher is better (an accuracy). PyTorch's `mode='max'`.
    Max,
}

/// How [`Plateau::threshold`] measures a significant improvement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ThresholdMode {
    /// Relative: better than `best·(1 − threshold)` (min) or `best·(1 + threshold)` (max).
    /// PyTorch's `threshold_mode='rel'`, the default.
    #[default]
    Rel,
    /// Absolute: better than `best − threshold` (min) or `best + threshold` (max).
    Abs,
}

/// The settings of [`ReduceLrOnPlateau`], PyTorch's parameters with
/// PyTorch's defaults.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plateau {
    /// Min or max. Defaults to [`PlateauMode::Min`].
    pub mode: PlateauMode,
    /// The rate is multiplied by it on a plateau; in `(0, 1)`. Defaults to 0.1.
    pub factor: f64,
    /// Epochs without improvement tolerated; the rate drops after the next
    /// one. Defaults to 10.
    pub patience: usize,
    /// The margin a value must beat the best by; finite, `≥ 0`. Defaults to 1e-4.
    pub threshold: f64,
    /// Relative or absolute margin. Defaults to [`ThresholdMode::Rel`].
    pub threshold_mode: ThresholdMode,
    /// Epochs after a reduction during which bad epochs are not counted.
    /// Defaults to 0.
    pub cooldown: usize,
    /// The rate never drops below it; finite, `≥ 0`. Defaults to 0.
    pub min_lr: f64,
    /// A reduction smaller than this is skipped; finite, `≥ 0`. Defaults to 1e-8.
    pub eps: f64,
}

impl Default for Plateau {
    fn default() -> Self {
        Plateau {
            mode: PlateauMode::Min,
            factor: 0.1,
            patience: 10,
            threshold: 1e-4,
            threshold_mode: ThresholdMode::Rel,
            cooldown: 0,
            min_lr: 0.0,
            eps: 1e-8,
        }
    }
}

/// PyTorch's `ReduceLROnPlateau`: multiplies the rate by `factor` when the
/// monitored value has not improved for more than `patience` epochs.
///
/// After each epoch, with the monitored value `v` ([`ReduceLrOnPlateau::step`]):
///
/// ```text
/// better(v) = v < best·(1 − threshold)   (min, rel)     v > best·(1 + threshold)  (max, rel)
///           = v < best − threshold       (min, abs)     v > best + threshold      (max, abs)
/// if better(v): best ← v, bad ← 0  else: bad ← bad + 1      (best starts at ±∞; NaN is never better)
/// if cooldown_counter > 0: cooldown_counter ← cooldown_counter − 1, bad ← 0
/// if bad > patience:
///     new = max(lr·factor, min_lr); if lr − new > eps: lr ← new
///     cooldown_counter ← cooldown, bad ← 0
/// ```
///
/// In `fit` the monitored value is the validation loss (the training loss
/// without validation data), so use [`PlateauMode::Min`] there.
///
/// ```
/// use weightwise::optim::{Plateau, ReduceLrOnPlateau};
/// # fn main() -> weightwise::Result<()> {
/// let mut s = ReduceLrOnPlateau::new(Plateau { factor: 0.5, patience: 1, ..Default::default() })?;
/// let mut lr = 0.1;
/// for loss in [1.0, 0.9, 0.95, 0.92] {
///     lr = s.step(loss, lr);
/// }
/// assert_eq!(lr, 0.05); // two epochs without improvement after 0.9
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ReduceLrOnPlateau {
    config: Plateau,
    best: f64,
    bad_epochs: usize,
    cooldown_counter: usize,
}

impl ReduceLrOnPlateau {
    /// A scheduler with these settings.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field: `factor` outside `(0, 1)`
    /// (PyTorch requires `< 1`), `threshold`, `min_lr` or `eps` negative or
    /// not finite.
    pub fn new(config: Plateau) -> Result<Self> {
        if !(config.factor > 0.0 && config.factor < 1.0) {
            return Err(Error::invalid_arg(
                "plateau factor",
                config.factor,
                "must be in (0, 1)",
            ));
        }
        super::check_non_negative("plateau threshold", config.threshold)?;
        super::check_non_negative("plateau min_lr", config.min_lr)?;
        super::check_non_negative("plateau eps", config.eps)?;
        Ok(ReduceLrOnPlateau {
            config,
            best: Self::worst(config.mode),
            bad_epochs: 0,
            cooldown_counter: 0,
        })
    }

    fn worst(mode: PlateauMode) -> f64 {
        match mode {
            PlateauMode::Min => f64::INFINITY,
            PlateauMode::Max => f64::NEG_INFINITY,
        }
    }

    /// The settings.
    pub fn config(&self) -> &Plateau {
        &self.config
    }

    /// The best value seen so far (`±∞` before the first).
    pub fn best(&self) -> f64 {
        self.best
    }

    /// Epochs since the last improvement, as PyTorch's `num_bad_epochs`.
    pub fn bad_epochs(&self) -> usize {
        self.bad_epochs
    }

    /// Whether `v` improves on the best by the threshold.
    fn is_better(&self, v: f64) -> bool {
        let (best, t) = (self.best, self.config.threshold);
        match (self.config.mode, self.config.threshold_mode) {
            (PlateauMode::Min, ThresholdMode::Rel) => v < best * (1.0 - t),
            (PlateauMode::Min, ThresholdMode::Abs) => v < best - t,
            (PlateauMode::Max, ThresholdMode::Rel) => v > best * (t + 1.0),
            (PlateauMode::Max, ThresholdMode::Abs) => v > best + t,
        }
    }

    /// One epoch's bookkeeping (see the type's docs) with the monitored value
    /// `value` and the current rate `lr`; returns the rate to use next.
    pub fn step(&mut self, value: f64, lr: f64) -> f64 {
        if self.is_better(value) {
            self.best = value;
            self.bad_epochs = 0;
        } else {
            self.bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.bad_epochs = 0;
        }
        if self.bad_epochs > self.config.patience {
            self.cooldown_counter = self.config.cooldown;
            self.bad_epochs = 0;
            let new = (lr * self.config.factor).max(self.config.min_lr);
            if lr - new > self.config.eps {
                return new;
            }
        }
        lr
    }

    /// Forgets the history: best, bad epochs and cooldown start over.
    pub fn reset(&mut self) {
        self.best = Self::worst(self.config.mode);
        self.bad_epochs = 0;
        self.cooldown_counter = 0;
    }
}

impl ScheduleFn for ReduceLrOnPlateau {
    fn lr(&mut self, _: &ScheduleContext) -> Option<f64> {
        None
    }

    fn end_epoch(&mut self, monitored: f64, lr: f64) -> Option<f64> {
        Some(self.step(monitored, lr))
    }
}

#[cfg(test)]
mod tests;
