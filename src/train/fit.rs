//! [`Fit`], the training configuration, and `Network::fit` / `evaluate`.

use std::time::Instant;

use rand::Rng;
use rand::seq::SliceRandom;

use super::history::{EpochRecord, GradientRecord, History};
use super::metrics::count_correct;
use super::record::{Recorder, Recording};
use super::step::{At, StepBuffers, StepConfig, train_step};
use crate::data::Dataset;
use crate::layer::Mode;
use crate::loss::{Loss, LossFn};
use crate::optim::{Adam, LrSchedule, Optimizer};
use crate::{Constraints, Error, Network, Regularization, Result, Scalar, Tensor};

/// Gradient clipping, applied after the backward pass and before the update.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// Everything `fit` needs besides the data: a plain struct whose fields have
/// documented defaults, used as `Fit { epochs: 20, ..Default::default() }`.
///
/// The optimizer lives here and keeps its state (moments, step count) after
/// `fit` returns, so calling `fit` again continues the same run.
pub struct Fit<'a, T: Scalar> {
    /// The loss. Defaults to [`Loss::softmax_cross_entropy`].
    pub loss: Loss,
    /// The optimizer. Defaults to [`Adam`] with PyTorch's defaults (lr 1e-3).
    pub optimizer: Box<dyn Optimizer<T>>,
    /// Weight penalty, e.g. `Some(L2::new(1e-4)?.into())`. Defaults to none.
    pub regularizer: Option<Regularization<T>>,
    /// Constraints applied after each update. Defaults to none.
    pub constraints: Constraints,
    /// Learning-rate schedule, applied at the start of each epoch to the
    /// optimizer's learning rate as it was when `fit` began. Defaults to none.
    pub schedule: Option<LrSchedule>,
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
    /// Early stopping. Defaults to none.
    pub early_stopping: Option<EarlyStopping>,
    /// Record per-parameter gradient norms and update ratios in the
    /// [`History`]. Defaults to false.
    pub record_gradients: bool,
    /// Snapshots of the weights during training (quantiles, histograms,
    /// update ratios, dead units), kept in [`History::timeline`] for
    /// [`History::report`]. Defaults to none (no cost).
    pub recording: Option<Recording<T>>,
    /// Called after every epoch with its record; return `false` to stop.
    /// Defaults to none (the library prints nothing).
    pub on_epoch: Option<&'a mut dyn FnMut(&EpochRecord) -> bool>,
    /// Scratch reused by every step, so a step allocates nothing after the
    /// first batch (see [`StepBuffers`]). Defaults to empty buffers.
    pub buffers: StepBuffers<T>,
}

impl<T: Scalar> Default for Fit<'_, T> {
    fn default() -> Self {
        Fit {
            loss: Loss::softmax_cross_entropy(),
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
    /// Checks every setting against `train`, before any step is taken.
    fn validate(&self, net: &Network<T>, train: &Dataset<T>) -> Result<()> {
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
        self.optimizer.validate()?;
        if let Some(r) = &self.recording {
            r.validate(net)?;
        }
        if let Some(s) = &self.schedule {
            s.validate()?;
        }
        match self.clip {
            Some(Clip::Norm(v) | Clip::Value(v)) if !(v > 0.0 && v.is_finite()) => {
                return Err(Error::invalid_arg("clip", v, "must be positive and finite"));
            }
            _ => {}
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
                return Err(Error::shape_mismatch(
                    if what == "training" {
                        "fit (training data)"
                    } else {
                        "fit (validation data)"
                    },
                    d.features().shape(),
                    &[net.inputs()],
                    "each row needs one feature per network input",
                ));
            }
        }
        Ok(())
    }
}

/// Loss and accuracy of a network on a data set, in inference mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over the samples.
    pub loss: f64,
    /// Fraction correct, for classification losses.
    pub accuracy: Option<f64>,
    /// Number of samples scored.
    pub samples: usize,
}

/// The best epoch so far, with the weights to restore.
struct Best<T> {
    loss: f64,
    epoch: usize,
    snapshot: Vec<(String, Tensor<T>)>,
}

/// Rows scored at once by `evaluate` and `predict_batched`.
const EVAL_BATCH: usize = 256;

impl<T: Scalar> Network<T> {
    /// Trains on `train` for `fit.epochs` epochs of shuffled mini-batches
    /// (the shuffle drawn from `rng`: the same seed gives the same run), and
    /// returns what happened, epoch by epoch.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::prelude::*;
    /// use weightwise::data::Dataset;
    /// # fn main() -> weightwise::Result<()> {
    /// let mut rng = StdRng::seed_from_u64(1);
    /// // y = 2x − 1, learned by one linear unit.
    /// let x = Tensor::from_vec((0..64).map(|i| i as f64 / 32.0 - 1.0).collect(), &[64, 1])?;
    /// let y = x.map(|v| 2.0 * v - 1.0);
    /// let data = Dataset::new(x, y)?;
    /// let mut net = Network::<f64>::builder(1).dense(1, Init::zeros()).build(&mut rng)?;
    /// let history = net.fit(&data, &mut Fit {
    ///     loss: Loss::mse(),
    ///     optimizer: Sgd { lr: 0.1, ..Default::default() }.into(),
    ///     epochs: 50,
    ///     batch_size: 8,
    ///     ..Default::default()
    /// }, &mut rng)?;
    /// assert!(history.last().unwrap().train_loss < 1e-6);
    /// assert!((net.tensor("0.weight")?.as_slice()[0] - 2.0).abs() < 1e-3);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Invalid settings (zero batch size, no epoch to run, invalid optimizer,
    /// schedule or clipping values) and data that does not fit the network,
    /// before any step; a non-finite loss or gradient during training, naming
    /// the epoch, the step and the layer. On an error the network keeps the
    /// weights of the last completed step.
    pub fn fit(
        &mut self,
        train: &Dataset<T>,
        fit: &mut Fit<'_, T>,
        rng: &mut dyn Rng,
    ) -> Result<History> {
        fit.validate(self, train)?;
        let base_lr = fit.optimizer.learning_rate();
        let mut buf = std::mem::take(&mut fit.buffers);
        let result = self.fit_epochs(train, fit, base_lr, rng, &mut buf);
        fit.buffers = buf;
        if fit.schedule.is_some() {
            fit.optimizer.set_learning_rate(base_lr)?;
        }
        result
    }

    fn fit_epochs(
        &mut self,
        train: &Dataset<T>,
        fit: &mut Fit<'_, T>,
        base_lr: f64,
        rng: &mut dyn Rng,
        buf: &mut StepBuffers<T>,
    ) -> Result<History> {
        let mut history = History::default();
        let mut order: Vec<usize> = (0..train.len()).collect();
        let (mut x, mut y) = (Tensor::default(), Tensor::default());
        let mut best: Option<Best<T>> = None;
        let param_names: Vec<String> = self.named_params().into_iter().map(|(n, _)| n).collect();
        let mut recorder = Recorder::start(fit.recording.as_ref(), self, fit.initial_epoch)?;

        for epoch in fit.initial_epoch..fit.epochs {
            let start = Instant::now();
            if let Some(s) = &fit.schedule {
                fit.optimizer.set_learning_rate(s.lr_at(base_lr, epoch))?;
            }
            let lr = fit.optimizer.learning_rate();
            if fit.shuffle {
                // A fresh permutation of 0..n each epoch, so an epoch's order
                // depends only on the rng (resuming reproduces it exactly).
                order.iter_mut().enumerate().for_each(|(i, o)| *o = i);
                order.shuffle(rng);
            }
            buf.grad_sums.iter_mut().for_each(|s| *s = (0.0, 0.0));
            let (mut loss_sum, mut objective_sum, mut seen) = (0.0, 0.0, 0usize);
            let (mut correct, mut counted, mut steps) = (0usize, 0usize, 0usize);
            let snapshot = recorder
                .as_ref()
                .is_some_and(|r| r.wants(epoch, fit.epochs - 1));
            let record_gradients = fit.record_gradients || snapshot;
            // A snapshot without `record_gradients` measures the last step only.
            let last_step = order.len().div_ceil(fit.batch_size) - 1;
            let measured = if fit.record_gradients { None } else { Some(last_step) };
            let mut cfg = StepConfig {
                loss: fit.loss,
                optimizer: fit.optimizer.as_mut(),
                regularizer: fit.regularizer.as_ref(),
                constraints: &fit.constraints,
                clip: fit.clip,
                record_gradients,
            };
            for (step, indices) in order.chunks(fit.batch_size).enumerate() {
                cfg.record_gradients = record_gradients && measured.is_none_or(|m| m == step);
                train.batch_into(indices, &mut x, &mut y)?;
                let at = At::Fit { epoch, step };
                let out = train_step(self, &x, &y, buf, &mut cfg, at)?;
                let n = indices.len() as f64;
                loss_sum += out.loss * n;
                objective_sum += (out.loss + out.penalty) * n;
                seen += indices.len();
                if let Some((c, t)) = out.correct {
                    correct += c;
                    counted += t;
                }
                steps += 1;
            }
            let val = match fit.validation {
                Some(v) => Some(self.evaluate(v, fit.loss)?),
                None => None,
            };
            let mut gradients = if record_gradients {
                param_names
                    .iter()
                    .zip(&buf.grad_sums)
                    .map(|(name, &(g, u))| GradientRecord {
                        name: name.clone(),
                        grad_norm: g / measured.map_or(steps, |_| 1) as f64,
                        update_ratio: u / measured.map_or(steps, |_| 1) as f64,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            if let Some(r) = recorder.as_mut() {
                r.after_epoch(self, epoch, fit.epochs - 1, &gradients)?;
            }
            if !fit.record_gradients {
                gradients.clear();
            }
            let record = EpochRecord {
                epoch,
                train_loss: loss_sum / seen as f64,
                train_objective: objective_sum / seen as f64,
                train_accuracy: (counted > 0).then(|| correct as f64 / counted as f64),
                val_loss: val.map(|v| v.loss),
                val_accuracy: val.and_then(|v| v.accuracy),
                learning_rate: lr,
                seconds: start.elapsed().as_secs_f64(),
                gradients,
            };

            let monitored = record.val_loss.unwrap_or(record.train_loss);
            let min_delta = fit.early_stopping.map_or(0.0, |e| e.min_delta);
            let improved = best.as_ref().is_none_or(|b| monitored < b.loss - min_delta);
            if improved {
                let snapshot = match fit.early_stopping {
                    Some(e) if e.restore_best => self
                        .named_tensors()
                        .into_iter()
                        .map(|(n, t)| (n, t.clone()))
                        .collect(),
                    _ => Vec::new(),
                };
                best = Some(Best {
                    loss: monitored,
                    epoch,
                    snapshot,
                });
            }
            let keep_going = match fit.on_epoch.as_mut() {
                Some(f) => f(&record),
                None => true,
            };
            history.epochs.push(record);
            let patience_out = match (fit.early_stopping, &best) {
                (Some(e), Some(b)) => epoch - b.epoch > e.patience,
                _ => false,
            };
            if patience_out || !keep_going {
                history.stopped_early = epoch + 1 < fit.epochs;
                break;
            }
        }
        if let Some(r) = recorder {
            let done = fit.initial_epoch + history.epochs.len();
            history.timeline = Some(r.finish(self, done)?);
        }
        if let Some(b) = best {
            history.best_epoch = Some(b.epoch);
            for (name, t) in &b.snapshot {
                self.set_tensor(name, t)?;
            }
        }
        Ok(history)
    }

    /// One training step on a batch, exactly as `fit` takes it (forward,
    /// loss, backward, then the gradient processing in the order of the
    /// [module docs](crate::train)), using `fit`'s loss, optimizer,
    /// regularizer, clipping and constraints; `fit.epochs`, the data settings
    /// and the schedule are not used. Returns the batch's data loss.
    ///
    /// After the first call with a given batch shape, a step allocates no memory.
    ///
    /// # Errors
    /// Shape errors; a non-finite loss or gradient, naming the parameter and layer.
    pub fn train_on_batch(
        &mut self,
        x: &Tensor<T>,
        y: &Tensor<T>,
        fit: &mut Fit<'_, T>,
    ) -> Result<f64> {
        let buf = &mut fit.buffers;
        let mut cfg = StepConfig {
            loss: fit.loss,
            optimizer: fit.optimizer.as_mut(),
            regularizer: fit.regularizer.as_ref(),
            constraints: &fit.constraints,
            clip: fit.clip,
            record_gradients: false,
        };
        train_step(self, x, y, buf, &mut cfg, At::Batch).map(|o| o.loss)
    }

    /// Mean loss and accuracy on `data` in inference mode, in batches of 256 rows.
    ///
    /// # Errors
    /// Data that does not fit the network or the loss.
    pub fn evaluate(&mut self, data: &Dataset<T>, loss: Loss) -> Result<Evaluation> {
        let (mut x, mut y, mut classes) = (Tensor::default(), Tensor::default(), Vec::new());
        let (mut loss_sum, mut correct, mut counted) = (0.0, 0usize, 0usize);
        let mut grad = Tensor::default();
        let n = data.len();
        let mut indices = Vec::with_capacity(EVAL_BATCH);
        for start in (0..n).step_by(EVAL_BATCH) {
            indices.clear();
            indices.extend(start..(start + EVAL_BATCH).min(n));
            data.batch_into(&indices, &mut x, &mut y)?;
            let out = self.forward(&x, Mode::Eval)?;
            loss_sum += loss.loss_and_grad(out, &y, &mut grad)?.as_f64() * indices.len() as f64;
            if let Some((c, t)) = count_correct(out, &y, loss, &mut classes)? {
                correct += c;
                counted += t;
            }
        }
        Ok(Evaluation {
            loss: loss_sum / n as f64,
            accuracy: (counted > 0).then(|| correct as f64 / counted as f64),
            samples: n,
        })
    }
}
