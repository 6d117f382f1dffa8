//! [`Fit`], the training configuration, with its parts: [`Clip`],
//! [`EarlyStopping`] and the epoch callback's [`Control`].

use super::history::EpochRecord;
use super::record::Recording;
use super::step::StepBuffers;
use crate::data::Dataset;
use crate::loss::{Loss, LossFn};
use crate::optim::{Adam, Optimizer, ScheduleFn};
use crate::scalar::{Rule, checked_hyper};
use crate::{Constraints, Error, Network, Regularization, Result, Scalar, Tensor};

/// Gradient clipping, applied after the backward pass and before the update.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Clip {
    /// Rescale all gradients together so their global L2 norm is at most this
    /// (PyTorch `clip_grad_norm_`: factor `max/(norm + 1e-6)` when it is below 1).
    Norm(f64),
    /// Clamp every gradient element to `[−v, v]` (PyTorch `clip_grad_value_`).
    Value(f64),
}

/// Stop when the monitored loss stops improving.
///
/// The monitored loss is the validation loss when there is validation data,
/// else the training loss. An epoch improves when its loss is below the best
/// so far by more than `min_delta`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct EarlyStopping {
    /// Epochs without improvement tolerated before stopping. Defaults to 10.
    pub patience: usize,
    /// Smallest decrease that counts as an improvement. Defaults to 0.
    pub min_delta: f64,
    /// Whether to put back the weights of the best epoch at the end. Defaults to true.
    pub restore_best: bool,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        EarlyStopping {
            patience: 10,
            min_delta: 0.0,
            restore_best: true,
        }
    }
}

/// What the epoch callback ([`Fit::on_epoch`]) returns: whether to stop, and
/// optionally a new learning rate for the optimizer.
///
/// The callback reads the rate from its [`EpochRecord`]
/// (`learning_rate` during the epoch, `next_learning_rate` after the
/// schedule's end-of-epoch update). A rate it sets holds until a schedule
/// sets another: [`Schedule`](crate::Schedule) and
/// [`LambdaSchedule`](crate::optim::LambdaSchedule) set one before every
/// step, [`ReduceLrOnPlateau`](crate::optim::ReduceLrOnPlateau) only after
/// an epoch (and then reduces the rate the callback set).
///
/// ```
/// use weightwise::train::Control;
/// let halve = |lr: f64| Control::set_learning_rate(lr / 2.0);
/// assert_eq!(halve(0.1).learning_rate, Some(0.05));
/// assert!(Control::STOP.stop && !Control::CONTINUE.stop);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Control {
    /// Stop training after this epoch.
    pub stop: bool,
    /// Set the optimizer's learning rate to this (checked as
    /// [`Optimizer::set_learning_rate`] checks it).
    pub learning_rate: Option<f64>,
}

impl Control {
    /// Go on unchanged.
    pub const CONTINUE: Control = Control {
        stop: false,
        learning_rate: None,
    };
    /// Stop after this epoch.
    pub const STOP: Control = Control {
        stop: true,
        learning_rate: None,
    };

    /// Go on with the learning rate `lr`.
    pub fn set_learning_rate(lr: f64) -> Control {
        Control {
            stop: false,
            learning_rate: Some(lr),
        }
    }
}

/// Everything `fit` needs besides the data: a plain struct whose fields have
/// documented defaults, used as `Fit { epochs: 20, ..Default::default() }`.
///
/// The optimizer lives here and keeps its state (moments, step count) after
/// `fit` returns, so calling `fit` again continues the same run.
pub struct Fit<'a, T: Scalar> {
    /// The loss: a built-in (`Loss::mse().into()`) or any [`LossFn`]
    /// (`Box::new(MyLoss)`). Defaults to [`Loss::softmax_cross_entropy`].
    pub loss: Box<dyn LossFn<T>>,
    /// The optimizer. Defaults to [`Adam`] with PyTorch's defaults (lr 1e-3).
    pub optimizer: Box<dyn Optimizer<T>>,
    /// Weight penalty, e.g. `Some(L2::new(1e-4)?.into())`. Defaults to none.
    pub regularizer: Option<Regularization<T>>,
    /// Constraints applied after each update. Defaults to none.
    pub constraints: Constraints,
    /// Learning-rate schedule: a built-in (`Schedule::Cosine { .. }.into()`,
    /// `ReduceLrOnPlateau::new(..)?.into()`, `LambdaSchedule::new(f).into()`)
    /// or any [`ScheduleFn`]. It is asked for a rate before every step (from
    /// the optimizer's rate when `fit` began) and told the monitored loss
    /// after every epoch; see [`ScheduleFn`]. When `fit` returns, the
    /// optimizer's rate is put back to what it was when `fit` began.
    /// Defaults to none.
    pub schedule: Option<Box<dyn ScheduleFn>>,
    /// Gradient clipping. Defaults to none.
    pub clip: Option<Clip>,
    /// The epoch to stop before (Keras' `epochs`). Defaults to 10.
    pub epochs: usize,
    /// The first epoch, for resuming a run (Keras' `initial_epoch`). Defaults to 0.
    pub initial_epoch: usize,
    /// Rows per mini-batch; the last, partial batch is kept. Defaults to 32.
    pub batch_size: usize,
    /// Whether to reshuffle the training rows every epoch. Defaults to true.
    pub shuffle: bool,
    /// Data scored after every epoch in inference mode. Defaults to none.
    pub validation: Option<&'a Dataset<T>>,
    /// One weight per training sample (`[n]`, finite and `≥ 0`), Keras'
    /// `sample_weight`: each batch's loss is the weighted reduction of
    /// [`weighted_loss_and_grad`](crate::loss::weighted_loss_and_grad)
    /// (needs [`LossFn::unreduced`]). The validation loss is not weighted.
    /// Defaults to none (every sample counts once).
    pub sample_weights: Option<&'a Tensor<T>>,
    /// Early stopping. Defaults to none.
    pub early_stopping: Option<EarlyStopping>,
    /// Record per-parameter gradient norms and update ratios in the
    /// [`History`](super::History). Defaults to false.
    pub record_gradients: bool,
    /// Snapshots of the weights during training (quantiles, histograms,
    /// update ratios, dead units), kept in [`History::timeline`](super::History::timeline)
    /// for [`History::report`](super::History::report). Defaults to none (no cost).
    pub recording: Option<Recording<T>>,
    /// Called after every epoch with its record; returns a [`Control`] that
    /// can stop training or set the learning rate. Defaults to none (the
    /// library prints nothing).
    pub on_epoch: Option<&'a mut dyn FnMut(&EpochRecord) -> Control>,
    /// Scratch reused by every step, so a step allocates nothing after the
    /// first batch (see [`StepBuffers`]). Defaults to empty buffers.
    pub buffers: StepBuffers<T>,
}

impl<T: Scalar> Default for Fit<'_, T> {
    fn default() -> Self {
        Fit {
            loss: Loss::softmax_cross_entropy().into(),
            optimizer: Adam::default().into(),
            regularizer: None,
            constraints: Constraints::default(),
            schedule: None,
            clip: None,
            epochs: 10,
            initial_epoch: 0,
            batch_size: 32,
            shuffle: true,
            validation: None,
            sample_weights: None,
            early_stopping: None,
            record_gradients: false,
            recording: None,
            on_epoch: None,
            buffers: StepBuffers::default(),
        }
    }
}

impl<T: Scalar> std::fmt::Debug for Fit<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fit")
            .field("loss", &self.loss)
            .field("optimizer", &self.optimizer)
            .field("regularizer", &self.regularizer)
            .field("schedule", &self.schedule)
            .field("clip", &self.clip)
            .field("epochs", &self.epochs)
            .field("initial_epoch", &self.initial_epoch)
            .field("batch_size", &self.batch_size)
            .field("early_stopping", &self.early_stopping)
            .finish_non_exhaustive()
    }
}

impl<T: Scalar> Fit<'_, T> {
    /// Checks what one step uses (optimizer, constraints, clipping), as
    /// they are in `T`, before anything changes.
    pub(super) fn validate_step_settings(&self) -> Result<()> {
        self.optimizer.validate()?;
        self.constraints.validate_for::<T>()?;
        match self.clip {
            Some(Clip::Norm(v)) => {
                checked_hyper::<T>("clip norm", v, Rule::Positive)?;
            }
            Some(Clip::Value(v)) => {
                checked_hyper::<T>("clip value", v, Rule::Positive)?;
            }
            None => {}
        }
        Ok(())
    }

    /// Checks every setting against `train`, before any step is taken.
    pub(super) fn validate(&self, net: &Network<T>, train: &Dataset<T>) -> Result<()> {
        if net.layers().is_empty() {
            return Err(Error::invalid_state(
                "fit",
                "the network has no layers: there is nothing to train",
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::invalid_arg("batch size", 0, "must be at least 1"));
        }
        if self.epochs == 0 || self.epochs <= self.initial_epoch {
            return Err(Error::invalid_arg(
                "epochs",
                self.epochs,
                format!(
                    "must exceed the initial epoch ({}) so that at least one epoch runs",
                    self.initial_epoch
                ),
            ));
        }
        self.validate_step_settings()?;
        if let Some(r) = &self.recording {
            r.validate(net)?;
        }
        if let Some(s) = &self.schedule {
            s.validate()?;
        }
        if let Some(w) = self.sample_weights {
            if w.shape() != [train.len()] {
                return Err(Error::shape_mismatch(
                    "fit (sample weights)",
                    w.shape(),
                    &[train.len()],
                    "one weight per training sample",
                ));
            }
            if let Some((i, &v)) = w
                .as_slice()
                .iter()
                .enumerate()
                .find(|(_, v)| !(v.is_finite() && **v >= T::zero()))
            {
                return Err(Error::invalid_arg(
                    "fit sample weight",
                    v,
                    format!("sample {i}: weights must be finite and ≥ 0"),
                ));
            }
        }
        if let Some(es) = &self.early_stopping
            && !(es.min_delta >= 0.0 && es.min_delta.is_finite())
        {
            return Err(Error::invalid_arg(
                "early stopping min_delta",
                es.min_delta,
                "must be ≥ 0 and finite",
            ));
        }
        for (what, d) in [("training", Some(train)), ("validation", self.validation)] {
            if let Some(d) = d
                && d.num_features() != net.inputs()
            {
                return Err(net.input_error(
                    if what == "training" {
                        "fit (training data)"
                    } else {
                        "fit (validation data)"
                    },
                    d.features().shape(),
                ));
            }
        }
        Ok(())
    }
}
