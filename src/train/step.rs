//! One training step, with the gradient processing in its documented order
//! (see the [module docs](super)).

use crate::layer::Mode;
use crate::loss::LossFn;
use crate::loss::weighted_loss_and_grad;
use crate::network::Snapshot;
use crate::optim::OptimizerState;
use crate::optim::clip::{clip_grad_norm_with, clip_grad_value_with};
use crate::train::config::Clip;
use crate::{Constraints, Error, Network, Optimizer, Regularization, Result, Scalar, Tensor};

/// The scratch a training step reuses (the loss gradient, decoded class
/// labels, gradient-record sums), so that after the first batch a step
/// allocates nothing. It lives in [`Fit::buffers`](super::Fit::buffers), with
/// the rest of the training state; leave it at its default.
#[derive(Debug, Default)]
pub struct StepBuffers<T> {
    pub(crate) dy: Tensor<T>,
    classes: Vec<usize>,
    /// Per-sample losses, for weighted batches.
    losses: Tensor<T>,
    /// Per parameter: sums over the epoch of the gradient norm and update ratio.
    pub(crate) grad_sums: Vec<(f64, f64)>,
    /// The network and the optimizer as the step found them, to undo a failed step.
    undo: Undo<T>,
}

/// What a step saves before it changes anything, so that a step that fails
/// (a non-finite loss, gradient or weight; any error) changes nothing.
///
/// Saved as late as possible: the buffers and random streams (which the
/// forward pass moves; small) before the step; the optimizer's state once
/// the gradients are known to be finite, right before the update; and each
/// parameter right before the optimizer updates it (while it is in cache).
/// Before the update nothing changes a parameter or the optimizer, so a
/// step that fails on its loss or gradients copies no weight at all.
#[derive(Debug, Default)]
struct Undo<T> {
    net: Snapshot<T>,
    optimizer: OptimizerState<T>,
    /// Whether `optimizer` holds this step's saved state.
    optimizer_saved: bool,
}

/// What one step measured.
pub(crate) struct StepOutcome {
    pub(crate) loss: f64,
    pub(crate) penalty: f64,
    pub(crate) correct: Option<(usize, usize)>,
}

/// The parts of a [`Fit`](super::Fit) a step needs.
pub(crate) struct StepConfig<'a, T: Scalar> {
    pub(crate) loss: &'a dyn LossFn<T>,
    pub(crate) optimizer: &'a mut dyn Optimizer<T>,
    pub(crate) regularizer: Option<&'a Regularization<T>>,
    pub(crate) constraints: &'a Constraints,
    pub(crate) clip: Option<Clip>,
    pub(crate) record_gradients: bool,
}

/// Keeps the first error out of a visitor that cannot return one.
fn keep_first(slot: &mut Result<()>, r: Result<()>) {
    if slot.is_ok() {
        *slot = r;
    }
}

/// Takes the error a visitor kept, leaving `Ok` behind.
fn take(slot: &mut Result<()>) -> Result<()> {
    std::mem::replace(slot, Ok(()))
}

/// Where a step runs, for error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum At {
    /// Inside `fit`.
    Fit { epoch: usize, step: usize },
    /// A single `train_on_batch` call.
    Batch,
}

impl std::fmt::Display for At {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Fit { epoch, step } => write!(f, "at epoch {epoch}, step {step}"),
            At::Batch => write!(f, "in train_on_batch"),
        }
    }
}

/// On the error path only, on a network already put back as the step found
/// it: names the first layer whose weights or whose output on `x` are not
/// finite, so the message says where a blow-up began. The forward pass runs
/// in training mode, as the failed step did (the same dropout masks, since
/// the streams were rewound, and the same batch statistics); the caller
/// restores the network again afterwards.
fn non_finite_origin<T: Scalar>(net: &mut Network<T>, x: &Tensor<T>) -> String {
    let mut bad_param = None;
    net.visit_params(&mut |i, p| {
        if bad_param.is_none() && !p.value.all_finite() {
            bad_param = Some(format!("{i}.{}", p.name));
        }
    });
    let mut input = x.clone();
    for (i, layer) in net.layers_mut().iter_mut().enumerate() {
        match layer.forward(&input, Mode::Train) {
            Ok(y) if y.all_finite() => input.assign(y),
            Ok(_) => {
                let weights = bad_param
                    .map_or_else(String::new, |p| format!("; first non-finite weights: {p}"));
                return format!(
                    "; first non-finite output: layer {i} ({}){weights}",
                    layer.kind()
                );
            }
            Err(_) => return String::new(),
        }
    }
    format!(
        "; every layer's output is finite (largest |output| {:.3e}): the loss itself overflowed",
        input.max_abs().as_f64()
    )
}

/// Why a step failed.
enum Failure {
    /// Any error, reported as it is.
    Error(Error),
    /// A non-finite loss; the message is finished once the step is undone.
    Loss(f64),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

/// Runs one step on the batch `(x, y)`: all of it, or, on an error, none of
/// it. The network's parameters, buffers and random streams and the
/// optimizer's state are saved before they change (see [`Undo`]) and put
/// back on any error, including the check after the update that every
/// parameter and buffer is finite.
pub(crate) fn train_step<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    y: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    buf: &mut StepBuffers<T>,
    cfg: &mut StepConfig<'_, T>,
    at: At,
) -> Result<StepOutcome> {
    net.save_state_into(&mut buf.undo.net);
    buf.undo.optimizer_saved = false;
    match step_body(net, x, y, weights, buf, cfg, at) {
        Ok(out) => Ok(out),
        Err(failure) => Err(undo_step(net, x, buf, cfg, failure, at)),
    }
}

/// Puts the network and the optimizer back as the step found them, and
/// returns the error to report.
fn undo_step<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    buf: &mut StepBuffers<T>,
    cfg: &mut StepConfig<'_, T>,
    failure: Failure,
    at: At,
) -> Error {
    net.restore_from(&buf.undo.net);
    if buf.undo.optimizer_saved
        && let Err(e) = cfg.optimizer.load_state(buf.undo.optimizer.clone())
    {
        return Error::invalid_state(
            "training step",
            format!("the optimizer refused its own saved state while undoing a failed step: {e}"),
        );
    }
    match failure {
        Failure::Error(e) => e,
        Failure::Loss(loss) => {
            let origin = non_finite_origin(net, x);
            net.restore_from(&buf.undo.net);
            Error::non_finite(format!("training loss ({loss}) {at}{origin}"))
        }
    }
}

/// After the update: every parameter and buffer must be finite, or the step
/// is an error naming the first that is not (the caller undoes the step).
fn check_finite_after_update<T: Scalar>(net: &Network<T>, lr: f64, at: At) -> Result<()> {
    for (i, layer) in net.layers().iter().enumerate() {
        let mut bad = None;
        layer.visit_params(&mut |p| {
            if bad.is_none() && !p.value.all_finite() {
                bad = Some(p.name);
            }
        });
        layer.visit_buffers(&mut |name, t| {
            if bad.is_none() && !t.all_finite() {
                bad = Some(name);
            }
        });
        if let Some(name) = bad {
            return Err(Error::non_finite(format!(
                "{i}.{name} (layer {i}, {}) after the update {at}, learning rate {}: the step \
                 was undone, the network keeps the weights of the last completed step",
                layer.kind(),
                crate::error::num(lr)
            )));
        }
    }
    Ok(())
}

/// The step itself, in the documented order; may leave the network and
/// the optimizer half-changed on an error (the caller undoes it).
fn step_body<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    y: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    buf: &mut StepBuffers<T>,
    cfg: &mut StepConfig<'_, T>,
    at: At,
) -> Result<StepOutcome, Failure> {
    // 1–2. forward, loss, backward.
    net.zero_grad();
    let out = net.forward(x, Mode::Train)?;
    let loss = match weights {
        Some(w) => weighted_loss_and_grad(cfg.loss, out, y, w, &mut buf.losses, &mut buf.dy)?,
        None => cfg.loss.loss_and_grad(out, y, &mut buf.dy)?,
    }
    .as_f64();
    let correct = cfg.loss.accuracy(out, y, &mut buf.classes)?;
    if !loss.is_finite() {
        return Err(Failure::Loss(loss));
    }
    net.backward_params(&buf.dy)?;

    // 3. non-finite gradients, named.
    let mut bad = None;
    net.visit_params(&mut |i, p| {
        if bad.is_none() && !p.grad.all_finite() {
            bad = Some((i, p.name));
        }
    });
    if let Some((i, name)) = bad {
        return Err(Failure::Error(Error::non_finite(format!(
            "gradient of {i}.{name} (layer {i}, {}) {at}",
            net.layers()[i].kind()
        ))));
    }

    // Pruned weights get no gradient (see crate::prune).
    net.mask_gradients();

    // 4. clipping.
    match cfg.clip {
        Some(Clip::Norm(max)) => {
            clip_grad_norm_with(max, |f| net.visit_params_mut(&mut |_, p| f(p)))?;
        }
        Some(Clip::Value(c)) => {
            clip_grad_value_with(c, |f| net.visit_params_mut(&mut |_, p| f(p)))?
        }
        None => {}
    }

    // 5. regularizer: penalty on the current weights, then its gradient.
    let mut penalty = 0.0;
    let mut result = Ok(());
    if let Some(reg) = cfg.regularizer {
        net.visit_params(&mut |i, p| penalty += reg.param_penalty(i, p).as_f64());
        net.visit_params_mut(&mut |i, p| keep_first(&mut result, reg.add_param_gradient(i, p)));
        take(&mut result)?;
    }

    if cfg.record_gradients {
        let mut k = 0;
        let sums = &mut buf.grad_sums;
        net.visit_params(&mut |_, p| {
            if sums.len() <= k {
                sums.push((0.0, 0.0));
            }
            sums[k].0 += p.grad.norm_l2().as_f64();
            k += 1;
        });
    }

    // 6. the optimizer's update, saving what it changes first (see `Undo`).
    cfg.optimizer.state_into(&mut buf.undo.optimizer);
    buf.undo.optimizer_saved = true;
    let mut count = 0;
    net.visit_params(&mut |_, _| count += 1);
    cfg.optimizer.begin_step(count)?;
    let optimizer = &mut *cfg.optimizer;
    let undo = &mut buf.undo.net;
    let mut index = 0;
    net.visit_params_mut(&mut |_, p| {
        undo.keep_param(&p.value);
        keep_first(&mut result, optimizer.update(index, p));
        index += 1;
    });
    take(&mut result)?;

    // 7. proximal L1, with the learning rate of this step.
    if let Some(reg) = cfg.regularizer {
        let lr = T::from_f64(cfg.optimizer.learning_rate());
        net.visit_params_mut(&mut |i, p| keep_first(&mut result, reg.param_proximal(i, p, lr)));
        take(&mut result)?;
    }

    // 8. constraints.
    if !cfg.constraints.is_empty() {
        let constraints = cfg.constraints;
        net.visit_params_mut(&mut |i, p| keep_first(&mut result, constraints.apply_to(i, p)));
        take(&mut result)?;
    }

    // Pruned weights stay exactly zero, whatever the update did.
    net.apply_masks();

    // The update must have left every weight finite.
    check_finite_after_update(net, cfg.optimizer.learning_rate(), at)?;

    if cfg.record_gradients {
        let mut k = 0;
        let (undo, sums) = (&buf.undo.net, &mut buf.grad_sums);
        net.visit_params(&mut |_, p| {
            // The value before the update, as the undo copy saved it.
            let old = undo.saved_param(k).map_or(&[][..], Tensor::as_slice);
            let (mut du, mut w) = (0.0f64, 0.0f64);
            for (&a, &b) in p.value.as_slice().iter().zip(old) {
                du += (a - b).as_f64().powi(2);
                w += b.as_f64().powi(2);
            }
            sums[k].1 += if w > 0.0 { (du / w).sqrt() } else { 0.0 };
            k += 1;
        });
    }

    Ok(StepOutcome {
        loss,
        penalty,
        correct,
    })
}
