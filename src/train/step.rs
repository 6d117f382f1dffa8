//! One training step, with the gradient processing in its documented order
//! (see the [module docs](super)).

use crate::layer::Mode;
use crate::loss::LossFn;
use crate::loss::weighted_loss_and_grad;
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
    /// Weights before the update, for the update-to-weight ratio.
    before: Vec<Tensor<T>>,
    /// Per parameter: sums over the epoch of the gradient norm and update ratio.
    pub(crate) grad_sums: Vec<(f64, f64)>,
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

/// On the error path only: names the first layer whose weights or whose
/// output on `x` are not finite, so the message says where a blow-up began.
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

/// Runs one step on the batch `(x, y)`.
pub(crate) fn train_step<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    y: &Tensor<T>,
    weights: Option<&Tensor<T>>,
    buf: &mut StepBuffers<T>,
    cfg: &mut StepConfig<'_, T>,
    at: At,
) -> Result<StepOutcome> {
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
        let origin = non_finite_origin(net, x);
        return Err(Error::non_finite(format!(
            "training loss ({loss}) {at}{origin}"
        )));
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
        return Err(Error::non_finite(format!(
            "gradient of {i}.{name} (layer {i}, {}) {at}",
            net.layers()[i].kind()
        )));
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
        let (before, sums) = (&mut buf.before, &mut buf.grad_sums);
        net.visit_params(&mut |_, p| {
            if before.len() <= k {
                before.push(Tensor::default());
                sums.push((0.0, 0.0));
            }
            before[k].assign(&p.value);
            sums[k].0 += p.grad.norm_l2().as_f64();
            k += 1;
        });
    }

    // 6. the optimizer's update.
    cfg.optimizer.begin_step();
    let optimizer = &mut *cfg.optimizer;
    let mut index = 0;
    net.visit_params_mut(&mut |_, p| {
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

    if cfg.record_gradients {
        let mut k = 0;
        let (before, sums) = (&buf.before, &mut buf.grad_sums);
        net.visit_params(&mut |_, p| {
            let old = before[k].as_slice();
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
