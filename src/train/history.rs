//! [`History`]: what happened during training, epoch by epoch.

use std::fmt;

use super::record::Timeline;

/// Gradient diagnostics of one parameter, averaged over an epoch's steps.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GradientRecord {
    /// Full parameter name, e.g. `"0.weight"`.
    pub name: String,
    /// Mean over the epoch's steps of the gradient's L2 norm `‖∂L/∂w‖₂`
    /// (after clipping and the regularizer's gradient).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub grad_norm: f64,
    /// Mean over the steps of the update-to-weight ratio `‖Δw‖₂ / ‖w‖₂`
    /// (a healthy range is often quoted as around 1e-3).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub update_ratio: f64,
}

/// Below this mean gradient norm a parameter's gradient counts as vanishing.
pub const VANISHING_GRADIENT: f64 = 1e-7;
/// Above this mean gradient norm a parameter's gradient counts as exploding.
pub const EXPLODING_GRADIENT: f64 = 1e3;

impl GradientRecord {
    /// `"vanishing"` when the mean gradient norm is below [`VANISHING_GRADIENT`],
    /// `"exploding"` when it is above [`EXPLODING_GRADIENT`] or not finite, else `None`.
    pub fn flag(&self) -> Option<&'static str> {
        if !self.grad_norm.is_finite() || self.grad_norm > EXPLODING_GRADIENT {
            Some("exploding")
        } else if self.grad_norm < VANISHING_GRADIENT {
            Some("vanishing")
        } else {
            None
        }
    }
}

/// The figures of one epoch.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EpochRecord {
    /// Epoch number, from 0.
    pub epoch: usize,
    /// Mean data loss over the epoch's training steps (in training mode, so
    /// with dropout active), without the penalty.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub train_loss: f64,
    /// Mean of data loss plus regularization penalty over the steps: the
    /// objective the optimizer minimised.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub train_objective: f64,
    /// Training accuracy over the epoch's steps, where the loss is a classification loss.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub train_accuracy: Option<f64>,
    /// Loss on the validation data after the epoch, in inference mode.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub val_loss: Option<f64>,
    /// Validation accuracy after the epoch, where it applies.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub val_accuracy: Option<f64>,
    /// The learning rate of the epoch's first step.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub learning_rate: f64,
    /// The optimizer's rate after the epoch: after the schedule's
    /// end-of-epoch update (e.g. [`ReduceLrOnPlateau`](crate::optim::ReduceLrOnPlateau))
    /// and the epoch callback's [`Control`](crate::train::Control).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub next_learning_rate: f64,
    /// Wall-clock seconds the epoch took (validation included).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float"))]
    pub seconds: f64,
    /// Per-parameter gradient norms and update ratios, when asked for.
    pub gradients: Vec<GradientRecord>,
}

/// Every epoch's figures, and how training ended.
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct History {
    /// One record per completed epoch.
    pub epochs: Vec<EpochRecord>,
    /// The epoch whose monitored loss was best (validation loss if there is
    /// validation data, else training loss).
    pub best_epoch: Option<usize>,
    /// True when early stopping ended training before the last epoch.
    pub stopped_early: bool,
    /// The weights over time, when [`Fit::recording`](super::Fit::recording)
    /// was set. Optional when read, so a history stored without it reads.
    #[cfg_attr(feature = "serde", serde(default))]
    pub timeline: Option<Timeline>,
}

impl EpochRecord {
    /// The parameters whose gradients vanished or exploded this epoch, as
    /// `"0.weight: vanishing"` lines (empty unless gradients were recorded).
    pub fn gradient_warnings(&self) -> Vec<String> {
        self.gradients
            .iter()
            .filter_map(|g| {
                g.flag()
                    .map(|f| format!("{}: {f} (‖∇‖ {:.2e})", g.name, g.grad_norm))
            })
            .collect()
    }
}

impl History {
    /// Appends the history of a later `fit` call that continued this run
    /// (`Fit::initial_epoch` set to where this one ended), so that training in
    /// chunks, e.g. to score the network between them, gives one history and
    /// one [report](History::report): the epochs follow, the best epoch is
    /// the better of the two (lower monitored loss; the earlier on a tie),
    /// `stopped_early` is the later one's, and the timelines join (snapshots
    /// not after this one's last are dropped; the interval is the larger of
    /// the two; no thinning).
    ///
    /// ```
    /// use weightwise::prelude::*;
    /// use weightwise::rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::train::Recording;
    /// # fn main() -> weightwise::Result<()> {
    /// let (train, _) = datasets::iris::<f64>()?;
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let mut net = Network::<f64>::builder(4).dense(3, Init::zeros()).build(&mut rng)?;
    /// let mut fit = Fit { epochs: 2, recording: Some(Recording::every(1)), ..Default::default() };
    /// let mut history = net.fit(&train, &mut fit, &mut rng)?;
    /// (fit.initial_epoch, fit.epochs) = (2, 5);
    /// history.append(net.fit(&train, &mut fit, &mut rng)?)?;
    /// assert_eq!(history.epochs.len(), 5);
    /// assert_eq!(history.timeline.unwrap().snapshots.len(), 6); // epochs 0 to 5
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when `later`
    /// does not start after this history's last epoch, or its timeline
    /// records other parameters; `self` is then unchanged.
    pub fn append(&mut self, later: History) -> crate::Result<()> {
        if let (Some(last), Some(first)) = (self.last(), later.epochs.first())
            && first.epoch <= last.epoch
        {
            return Err(crate::Error::invalid_arg(
                "History::append",
                format!("epoch {} after epoch {}", first.epoch, last.epoch),
                "the later history must start after this one's last epoch",
            ));
        }
        if let (Some(a), Some(b)) = (&self.timeline, &later.timeline)
            && a.params != b.params
        {
            return Err(crate::Error::invalid_arg(
                "History::append",
                format!("parameters {:?} after {:?}", b.params, a.params),
                "the timelines record different parameters",
            ));
        }
        let monitored = |h: &History, epoch: usize| {
            h.epochs
                .iter()
                .find(|e| e.epoch == epoch)
                .map_or(f64::INFINITY, |e| e.val_loss.unwrap_or(e.train_loss))
        };
        self.best_epoch = match (self.best_epoch, later.best_epoch) {
            (Some(a), Some(b)) if monitored(&later, b) < monitored(self, a) => Some(b),
            (a, b) => a.or(b),
        };
        self.stopped_early = later.stopped_early;
        self.epochs.extend(later.epochs);
        self.timeline = match (self.timeline.take(), later.timeline) {
            (Some(mut a), Some(b)) => {
                a.append(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        Ok(())
    }

    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Training losses, one per epoch.
    pub fn train_losses(&self) -> Vec<f64> {
        self.epochs.iter().map(|e| e.train_loss).collect()
    }

    /// Validation losses, one per epoch (NaN where there was none).
    pub fn val_losses(&self) -> Vec<f64> {
        self.epochs
            .iter()
            .map(|e| e.val_loss.unwrap_or(f64::NAN))
            .collect()
    }

    /// Per parameter, its mean gradient norm in each epoch (recorded only when
    /// `Fit::record_gradients` is set): `(name, norms)` in the stable order.
    pub fn gradient_norms(&self) -> Vec<(String, Vec<f64>)> {
        let Some(first) = self.epochs.first() else {
            return Vec::new();
        };
        first
            .gradients
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let norms = self
                    .epochs
                    .iter()
                    .map(|e| e.gradients.get(i).map_or(f64::NAN, |r| r.grad_norm))
                    .collect();
                (g.name.clone(), norms)
            })
            .collect()
    }

    /// Total wall-clock seconds.
    pub fn seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.prec$}"))
}

impl fmt::Display for EpochRecord {
    /// One compact line, as the examples print per epoch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "epoch {:>3}  loss {:.4}  val_loss {}  acc {}  val_acc {}  lr {:.2e}  {:.2}s",
            self.epoch,
            self.train_loss,
            opt(self.val_loss, 4),
            opt(self.train_accuracy, 4),
            opt(self.val_accuracy, 4),
            self.learning_rate,
            self.seconds
        )
    }
}

impl fmt::Display for History {
    /// A table, one line per epoch.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.epochs {
            writeln!(f, "{e}")?;
        }
        match (self.best_epoch, self.stopped_early) {
            (Some(b), true) => write!(f, "stopped early; best epoch {b}"),
            (Some(b), false) => write!(f, "best epoch {b}"),
            (None, _) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grad(name: &str, norm: f64) -> GradientRecord {
        GradientRecord {
            name: name.to_string(),
            grad_norm: norm,
            update_ratio: 1e-3,
        }
    }

    #[test]
    fn gradient_flags_and_series() {
        assert_eq!(grad("a", 1e-9).flag(), Some("vanishing"));
        assert_eq!(grad("a", 1e4).flag(), Some("exploding"));
        assert_eq!(grad("a", f64::NAN).flag(), Some("exploding"));
        assert_eq!(grad("a", 0.5).flag(), None);
        let epoch = |e, n| EpochRecord {
            epoch: e,
            train_loss: 1.0,
            train_objective: 1.0,
            train_accuracy: None,
            val_loss: None,
            val_accuracy: None,
            learning_rate: 0.1,
            next_learning_rate: 0.1,
            seconds: 0.0,
            gradients: vec![grad("0.weight", n), grad("0.bias", 0.5)],
        };
        let h = History {
            epochs: vec![epoch(0, 1e-9), epoch(1, 0.25)],
            ..Default::default()
        };
        assert_eq!(
            h.epochs[0].gradient_warnings(),
            ["0.weight: vanishing (‖∇‖ 1.00e-9)"]
        );
        assert!(h.epochs[1].gradient_warnings().is_empty());
        let norms = h.gradient_norms();
        assert_eq!(norms[0], ("0.weight".to_string(), vec![1e-9, 0.25]));
        assert_eq!(norms[1].1, vec![0.5, 0.5]);
        assert!(History::default().gradient_norms().is_empty());
        let text = h.to_string();
        assert_eq!(text.lines().count(), 2);
    }
}
