//! `Network::fit`, `train_on_batch` and `evaluate`.

use std::time::Instant;

use rand::Rng;
use rand::seq::SliceRandom;

use super::config::{Control, Fit};
use super::history::{EpochRecord, GradientRecord, History};
use super::record::Recorder;
use super::step::{At, StepBuffers, StepConfig, train_step};
use crate::data::Dataset;
use crate::layer::Mode;
use crate::loss::LossFn;
use crate::optim::ScheduleContext;
use crate::{Error, Network, Result, Scalar, Tensor};

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
    ///     loss: Loss::mse().into(),
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
    /// schedule or clipping values, sample weights that are not `[n]`,
    /// finite and `≥ 0`) and data that does not fit the network, before any
    /// step; a non-finite loss or gradient during training, naming the epoch,
    /// the step and the layer; a learning rate the optimizer refuses from the
    /// schedule or the callback; a loss without [`LossFn::unreduced`] when
    /// samples are weighted. On an error the network keeps the weights of the
    /// last completed step.
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
        let (mut x, mut y, mut w) = (Tensor::default(), Tensor::default(), Tensor::default());
        let mut best: Option<Best<T>> = None;
        let param_names: Vec<String> = self.named_params().into_iter().map(|(n, _)| n).collect();
        let mut recorder = Recorder::start(fit.recording.as_ref(), self, fit.initial_epoch)?;

        for epoch in fit.initial_epoch..fit.epochs {
            let start = Instant::now();
            let mut lr = fit.optimizer.learning_rate();
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
            let measured = if fit.record_gradients {
                None
            } else {
                Some(last_step)
            };
            let mut cfg = StepConfig {
                loss: fit.loss.as_ref(),
                optimizer: fit.optimizer.as_mut(),
                regularizer: fit.regularizer.as_ref(),
                constraints: &fit.constraints,
                clip: fit.clip,
                record_gradients,
            };
            for (step, indices) in order.chunks(fit.batch_size).enumerate() {
                cfg.record_gradients = record_gradients && measured.is_none_or(|m| m == step);
                if let Some(s) = fit.schedule.as_mut() {
                    let at = ScheduleContext {
                        epoch,
                        step,
                        base_lr,
                        lr: cfg.optimizer.learning_rate(),
                    };
                    if let Some(new) = s.lr(&at) {
                        cfg.optimizer.set_learning_rate(new)?;
                    }
                }
                if step == 0 {
                    lr = cfg.optimizer.learning_rate();
                }
                train.batch_into(indices, &mut x, &mut y)?;
                let weights = match fit.sample_weights {
                    Some(all) => {
                        w.resize_zeroed(&[indices.len()])?;
                        for (o, &i) in w.as_mut_slice().iter_mut().zip(indices) {
                            *o = all.as_slice()[i];
                        }
                        Some(&w)
                    }
                    None => None,
                };
                let at = At::Fit { epoch, step };
                let out = train_step(self, &x, &y, weights, buf, &mut cfg, at)?;
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
                Some(v) => Some(self.evaluate(v, fit.loss.as_ref())?),
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
                next_learning_rate: lr,
                seconds: start.elapsed().as_secs_f64(),
                gradients,
            };

            let monitored = record.val_loss.unwrap_or(record.train_loss);
            let mut record = record;
            if let Some(s) = fit.schedule.as_mut() {
                let current = fit.optimizer.learning_rate();
                if let Some(new) = s.end_epoch(monitored, current) {
                    fit.optimizer.set_learning_rate(new)?;
                }
            }
            record.next_learning_rate = fit.optimizer.learning_rate();
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
            let control = match fit.on_epoch.as_mut() {
                Some(f) => f(&record),
                None => Control::CONTINUE,
            };
            if let Some(new) = control.learning_rate {
                fit.optimizer.set_learning_rate(new)?;
                record.next_learning_rate = fit.optimizer.learning_rate();
            }
            let keep_going = !control.stop;
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
    /// (sample weights included) and the schedule are not used. Returns the
    /// batch's data loss.
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
        if self.layers().is_empty() {
            return Err(Error::invalid_state(
                "train_on_batch",
                "the network has no layers: there is nothing to train",
            ));
        }
        fit.validate_step_settings()?;
        let buf = &mut fit.buffers;
        let mut cfg = StepConfig {
            loss: fit.loss.as_ref(),
            optimizer: fit.optimizer.as_mut(),
            regularizer: fit.regularizer.as_ref(),
            constraints: &fit.constraints,
            clip: fit.clip,
            record_gradients: false,
        };
        train_step(self, x, y, None, buf, &mut cfg, At::Batch).map(|o| o.loss)
    }

    /// Mean loss and accuracy on `data` in inference mode, in batches of 256
    /// rows, with any [`LossFn`]: `net.evaluate(&test, &Loss::mse())`. The
    /// accuracy is the loss's own ([`LossFn::accuracy`]), `None` for a
    /// regression loss. The loss is each batch's loss weighted by its rows
    /// (the mean over samples for a mean-reduced loss).
    ///
    /// # Errors
    /// Data that does not fit the network or the loss.
    pub fn evaluate(&mut self, data: &Dataset<T>, loss: &dyn LossFn<T>) -> Result<Evaluation> {
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
            if let Some((c, t)) = loss.accuracy(out, &y, &mut classes)? {
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
