//! Optimizers: how the weights move, given their gradients.
//!
//! Every optimizer here follows PyTorch's `torch.optim` update formulas, op
//! for op (the `foreach=False` single-tensor path, which is PyTorch's default
//! on the CPU), so a run can be compared with PyTorch step by step:
//!
//! | config | PyTorch | update (g = gradient, w = weight, t = step count from 1) |
//! |---|---|---|
//! | [`Sgd`] | `SGD` | `b ← μ·b + (1−τ)·g` (b₁ = g), `w ← w − lr·(g + μ·b` if nesterov else `b)` |
//! | [`Adam`] | `Adam` | `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`, `w ← w − lr/(1−β₁ᵗ)·m / (√v/√(1−β₂ᵗ) + ε)` |
//! | [`AdamW`] | `AdamW` | `w ← w·(1 − lr·wd)`, then the Adam update |
//! | [`RmsProp`] | `RMSprop` | `v ← αv + (1−α)g²`, `w ← w − lr·g/(√v + ε)` |
//! | [`AdaGrad`] | `Adagrad` | `s ← s + g²`, `w ← w − lr/(1 + (t−1)·decay)·g/(√s + ε)` |
//!
//! Each config's page gives the full formula with weight decay, momentum and
//! the variants. Configs are plain data with PyTorch's defaults; a
//! [`GradientDescent`] runs any of them and owns the per-parameter state.
//!
//! ## Weight decay
//! The `weight_decay` of these optimizers is PyTorch's: it applies to **every**
//! parameter the optimizer is given, biases and batch-norm scales included.
//! To decay only the weights, leave it at zero and use the crate's
//! regularizer, which looks at each parameter's [`ParamKind`](crate::ParamKind).
//!
//! ## Precision
//! Updates are computed in the parameter's own type `T`. The scalar factors
//! PyTorch computes in Python floats (the bias corrections `1 − βᵗ`, the step
//! size `lr/(1 − β₁ᵗ)`, `1 − lr·wd`, Adagrad's decayed rate) are computed in
//! `f64` and then rounded to `T`, as PyTorch rounds a Python float to the
//! tensor's type. PyTorch's vectorised CPU kernels may fuse a multiply and an
//! add, so agreement with it is to a few ulps, not bit for bit.
//!
//! ## State, checkpoints and resuming
//! Per-parameter state (moments, buffers) is created on the first update of
//! each parameter and kept in a `Vec` indexed by the parameter's position, so
//! after the first step an update allocates nothing. [`Optimizer::state`]
//! exports it under PyTorch's names (`"3.exp_avg"`), with the step count;
//! loading it into a new optimizer with the same config resumes bit for bit.
//!
//! ```
//! use weightwise::optim::{Adam, GradientDescent, Optimizer};
//! use weightwise::{Param, ParamKind, Tensor};
//! # fn main() -> weightwise::Result<()> {
//! let mut w = Param::new("weight", ParamKind::Weight, Tensor::from_slice(&[1.0f64, -1.0]));
//! let mut opt = GradientDescent::new(Adam { lr: 0.1, ..Default::default() })?;
//! w.grad = Tensor::from_slice(&[0.5, -2.0]);
//! opt.step(&mut [&mut w])?;
//! // Adam's first step moves every weight by lr against its gradient's sign
//! // (up to ε): w − lr·g/(|g| + ε).
//! assert!((w.value.as_slice()[0] - 0.9).abs() < 1e-8);
//! assert!((w.value.as_slice()[1] + 0.9).abs() < 1e-8);
//! # Ok(()) }
//! ```

use crate::elementwise::BLOCK;
use crate::gemm::{MAX_SLICES, par_blocks};
use crate::scalar::Rule;
use crate::{Param, Result, Scalar, Tensor};

mod adagrad;
mod adam;
pub mod clip;
mod gradient_descent;
mod rmsprop;
pub mod schedule;
pub mod scheduler;
mod sgd;

pub use adagrad::AdaGrad;
pub use adam::{Adam, AdamW};
pub use clip::{clip_grad_norm, clip_grad_norm_with, clip_grad_value, clip_grad_value_with};
pub use gradient_descent::GradientDescent;
pub use rmsprop::RmsProp;
pub use schedule::{LrSchedule, Schedule, Warmup};
pub use scheduler::{
    LambdaSchedule, Plateau, PlateauMode, ReduceLrOnPlateau, ScheduleContext, ScheduleFn,
    ThresholdMode,
};
pub use sgd::Sgd;

/// Something that moves parameters from their gradients, one step at a time.
///
/// A step is [`begin_step`](Optimizer::begin_step) once with the number of
/// parameters, then [`update`](Optimizer::update) for every parameter with
/// its position in the network's stable order; [`step`](Optimizer::step)
/// does both for a slice of parameters. Training loops that visit
/// parameters without collecting them call the two halves themselves.
///
/// State is tied to the parameters it was made for: after the first step,
/// a step with another number of parameters, or a parameter whose name or
/// shape differs from the one its state was made for, is an error.
pub trait Optimizer<T: Scalar>: std::fmt::Debug + Send {
    /// Checks the config (see [`Optimizer::validate`]) and that a step over
    /// `params` parameters fits the state, then advances the step count;
    /// call once per step, before the updates.
    ///
    /// # Errors
    /// As for [`Optimizer::validate`]; [`Error::InvalidArgument`](crate::Error::InvalidArgument)
    /// when `params` differs from the number of parameters the state was
    /// made for. The optimizer is then unchanged.
    fn begin_step(&mut self, params: usize) -> Result<()>;

    /// Checks, without changing anything, that parameter number `index`
    /// can be updated: its gradient has its shape, and the state kept for
    /// `index` (if any) was made for a parameter of the same name and shape.
    /// Provided: `Ok(())`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for a gradient of
    /// another shape; [`Error::InvalidArgument`](crate::Error::InvalidArgument)
    /// naming the index, both names and both shapes when the parameter is
    /// not the one the state belongs to.
    fn check(&self, index: usize, param: &Param<T>) -> Result<()> {
        let _ = (index, param);
        Ok(())
    }

    /// Updates parameter number `index` (its position in the network's
    /// stable order) in place from its gradient.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) before the first
    /// `begin_step`; as for [`Optimizer::check`], which it runs first (the
    /// parameter and the state are then unchanged).
    fn update(&mut self, index: usize, param: &mut Param<T>) -> Result<()>;

    /// The current learning rate.
    fn learning_rate(&self) -> f64;

    /// Sets the learning rate; learning-rate schedules call this once per epoch.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a
    /// negative or non-finite rate, in `f64` or in `T` (the old rate is kept).
    fn set_learning_rate(&mut self, lr: f64) -> Result<()>;

    /// Forgets all state: moments, buffers, the step count and the
    /// parameters the state was tied to.
    fn reset(&mut self);

    /// The state as named tensors, keyed by parameter index with PyTorch's
    /// names (`"0.momentum_buffer"`, `"0.exp_avg"`, `"0.exp_avg_sq"`,
    /// `"0.max_exp_avg_sq"`, `"0.square_avg"`, `"0.grad_avg"`, `"0.sum"`),
    /// with the step count, the algorithm and the parameters' names.
    /// Copies the tensors.
    fn state(&self) -> OptimizerState<T>;

    /// Writes [`Optimizer::state`] into `dst`, reusing its memory where it
    /// can; training loops call it before every step to be able to undo a
    /// failed one. Provided: `*dst = self.state()` (allocates).
    fn state_into(&self, dst: &mut OptimizerState<T>) {
        *dst = self.state();
    }

    /// Replaces the state with a saved one, so training resumes exactly.
    ///
    /// # Errors
    /// See the implementation; [`GradientDescent`] rejects state made by
    /// another algorithm or config, unknown names, incomplete entries and
    /// inconsistent shapes, leaving its state as it was.
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()>;

    /// Checks the hyper-parameters, as they are in `T`, without changing
    /// anything; [`begin_step`](Optimizer::begin_step) calls it, and a
    /// training loop calls it before its first step so a bad config fails at
    /// once. Provided: `Ok(())`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
    /// field and its value.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// One whole step, all or nothing: [`check`](Optimizer::check) of every
    /// parameter, [`begin_step`](Optimizer::begin_step), then
    /// [`update`](Optimizer::update) of every parameter in order
    /// (`params[i]` is index `i`).
    ///
    /// The step does not look at the values it produces: a learning rate
    /// large enough to overflow gives infinite weights. `Network::fit` and
    /// `Network::train_on_batch` check after every step and undo it.
    ///
    /// # Errors
    /// As for [`Optimizer::check`] and [`Optimizer::begin_step`]; on an error
    /// no parameter and no state has changed.
    fn step(&mut self, params: &mut [&mut Param<T>]) -> Result<()> {
        self.validate()?;
        for (index, param) in params.iter().enumerate() {
            self.check(index, param)?;
        }
        self.begin_step(params.len())?;
        for (index, param) in params.iter_mut().enumerate() {
            self.update(index, param)?;
        }
        Ok(())
    }
}

/// An optimizer's state, ready to be saved: the step count, named tensors,
/// and what the state belongs to (the algorithm with its hyper-parameters,
/// and the parameters' names).
///
/// Names are `"{index}.{name}"` with PyTorch's state names, e.g.
/// `"3.exp_avg"` for the first moment of parameter 3.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OptimizerState<T> {
    /// Number of steps taken (PyTorch keeps one `step` per parameter; here
    /// every parameter is updated on every step, so one count serves all).
    pub step: u64,
    /// The named state tensors, ordered by parameter index.
    pub tensors: Vec<(String, Tensor<T>)>,
    /// The algorithm and every hyper-parameter but the learning rate, as
    /// [`Algorithm::config`] writes it (`"Adam { beta1: 0.9, … }"`); a state
    /// loads only into an optimizer whose config gives the same text.
    pub algorithm: String,
    /// The name ([`Param::name`]) and shape of each parameter the state was
    /// made for, by index (`("", [])` for an index without state); empty
    /// before the first step. Its length is the number of parameters every
    /// step must have.
    pub params: Vec<(String, Vec<usize>)>,
}

impl<T> OptimizerState<T> {
    /// The tensor with the given name, if present.
    pub fn get(&self, name: &str) -> Option<&Tensor<T>> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

/// Any of the built-in optimizer configs; [`GradientDescent`] runs it.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Algorithm {
    /// Stochastic gradient descent with optional momentum.
    Sgd(Sgd),
    /// Adam with coupled (L2) weight decay.
    Adam(Adam),
    /// Adam with decoupled weight decay.
    AdamW(AdamW),
    /// RMSprop, optionally centered and with momentum.
    RmsProp(RmsProp),
    /// Adagrad with optional learning-rate decay.
    AdaGrad(AdaGrad),
}

/// Dispatches one expression to the config inside an [`Algorithm`].
macro_rules! with_rule {
    ($alg:expr, $r:ident => $body:expr) => {
        match $alg {
            Algorithm::Sgd($r) => $body,
            Algorithm::Adam($r) => $body,
            Algorithm::AdamW($r) => $body,
            Algorithm::RmsProp($r) => $body,
            Algorithm::AdaGrad($r) => $body,
        }
    };
}

impl Algorithm {
    /// PyTorch's class name: `"SGD"`, `"Adam"`, `"AdamW"`, `"RMSprop"` or `"Adagrad"`.
    pub fn name(&self) -> &'static str {
        with_rule!(self, r => rule_name(r))
    }

    /// Checks the hyper-parameters.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) naming the
    /// field and its value; see each config's `validate`.
    pub fn validate(&self) -> Result<()> {
        self.validate_for::<f64>()
    }

    /// The checks of [`Algorithm::validate`], made again after rounding
    /// every hyper-parameter to `T`.
    ///
    /// # Errors
    /// As for [`Algorithm::validate`].
    pub fn validate_for<T: Scalar>(&self) -> Result<()> {
        with_rule!(self, r => r.validate_for::<T>())
    }

    /// The algorithm and every hyper-parameter except the learning rate
    /// (which schedules change and checkpoints keep apart), as text:
    /// `"Adam { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, amsgrad: false }"`.
    /// Saved states record it, and refuse to load under another.
    pub fn config(&self) -> String {
        let mut a = *self;
        *a.lr_mut() = 0.0;
        let text = with_rule!(&a, r => format!("{r:?}"));
        text.replacen("lr: 0.0, ", "", 1)
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        with_rule!(self, r => r.lr)
    }

    pub(crate) fn lr_mut(&mut self) -> &mut f64 {
        with_rule!(self, r => &mut r.lr)
    }

    pub(crate) fn op(&self) -> &'static str {
        with_rule!(self, r => r.op())
    }

    pub(crate) fn state_names(&self) -> &'static [&'static str] {
        with_rule!(self, r => r.state_names())
    }

    pub(crate) fn initial_value(&self) -> f64 {
        with_rule!(self, r => r.initial_value())
    }

    pub(crate) fn apply<T: Scalar>(
        &self,
        step: u64,
        first: bool,
        w: &mut [T],
        g: &[T],
        state: &mut [Tensor<T>],
    ) -> Result<()> {
        let op = self.op();
        if g.len() != w.len()
            || state.len() >= MAX_SLICES
            || state.iter().any(|s| s.len() != w.len())
        {
            return Err(crate::Error::invalid_state(
                op,
                "internal: state and parameter lengths differ",
            ));
        }
        // Every rule is element-wise, so long parameters are updated in
        // blocks split between the products' threads, with the same values.
        let mut slices: [&mut [T]; MAX_SLICES] = Default::default();
        let count = 1 + state.len();
        slices[0] = w;
        for (d, s) in slices[1..].iter_mut().zip(state.iter_mut()) {
            *d = s.as_mut_slice();
        }
        let failed = std::sync::OnceLock::new();
        par_blocks(g.len(), BLOCK, &mut slices[..count], &|at, parts| {
            if let [w, state @ ..] = parts
                && let Err(e) = with_rule!(self, r => r.apply(step, first, w, &g[at], state))
            {
                let _ = failed.set(e);
            }
        });
        failed.into_inner().map_or(Ok(()), Err)
    }
}

fn rule_name<R: UpdateRule>(_: &R) -> &'static str {
    R::NAME
}

/// What each built-in config provides to [`GradientDescent`].
pub(crate) trait UpdateRule {
    /// PyTorch's class name.
    const NAME: &'static str;
    /// The name used as `op` in errors, e.g. `"Adam update"`.
    fn op(&self) -> &'static str;
    /// PyTorch's state names, in the order `apply` receives the tensors.
    fn state_names(&self) -> &'static [&'static str];
    /// The value state tensors start at (Adagrad's `initial_accumulator_value`).
    fn initial_value(&self) -> f64 {
        0.0
    }
    /// Updates `w` in place; `state` holds one slice per
    /// [`state_names`](UpdateRule::state_names) entry, all of `w`'s length
    /// (checked by the caller); `first` is true on the parameter's first update.
    /// Must be element-wise (each value from its own weight, gradient and
    /// state alone): [`Algorithm::apply`] passes a long parameter in parts,
    /// one per thread.
    fn apply<T: Scalar>(
        &self,
        step: u64,
        first: bool,
        w: &mut [T],
        g: &[T],
        state: &mut [&mut [T]],
    ) -> Result<()>;
}

macro_rules! config_conversions {
    ($($config:ident),*) => {$(
        impl From<$config> for Algorithm {
            fn from(c: $config) -> Self {
                Algorithm::$config(c)
            }
        }

        /// Boxes a [`GradientDescent`] running this config, so a config can be
        /// written where a `Box<dyn Optimizer<T>>` is expected
        /// (`optimizer: Adam { lr: 1e-3, ..Default::default() }.into()`).
        ///
        /// `From` cannot fail, so the hyper-parameters are checked, as they
        /// are in `T`, before they are first used: by [`Optimizer::validate`]
        /// (which `Network::fit` calls before its first step) and by
        /// [`Optimizer::begin_step`], which returns the error with nothing
        /// changed. Use [`GradientDescent::new`] to check at construction.
        impl<T: Scalar> From<$config> for Box<dyn Optimizer<T>> {
            fn from(c: $config) -> Self {
                Box::new(GradientDescent::<T>::unchecked(c.into()))
            }
        }
    )*};
}

config_conversions!(Sgd, Adam, AdamW, RmsProp, AdaGrad);

/// Boxes a [`GradientDescent`] running this algorithm; checked as for the configs.
impl<T: Scalar> From<Algorithm> for Box<dyn Optimizer<T>> {
    fn from(a: Algorithm) -> Self {
        Box::new(GradientDescent::<T>::unchecked(a))
    }
}

/// PyTorch's `torch.lerp` for one element: `a + w·(b − a)` when `|w| < ½`,
/// else `b − (b − a)·(1 − w)` (the form that is exact at `w = 1`).
pub(crate) fn lerp<T: Scalar>(a: T, b: T, w: T) -> T {
    if w.abs() < T::from_f64(0.5) {
        a + w * (b - a)
    } else {
        b - (b - a) * (T::one() - w)
    }
}

/// `Err(InvalidArgument)` unless `value` is finite and `≥ 0`, in `f64` and in `T`.
pub(crate) fn check_non_negative<T: Scalar>(name: &'static str, value: f64) -> Result<()> {
    crate::scalar::checked_hyper::<T>(name, value, Rule::NonNegative).map(|_| ())
}

/// `Err(InvalidArgument)` unless `value` is finite and `> 0`, in `f64` and in `T`.
pub(crate) fn check_positive<T: Scalar>(name: &'static str, value: f64) -> Result<()> {
    crate::scalar::checked_hyper::<T>(name, value, Rule::Positive).map(|_| ())
}

/// `Err(InvalidArgument)` unless `0 ≤ value < 1`, in `f64` and in `T`.
pub(crate) fn check_beta<T: Scalar>(name: &'static str, value: f64) -> Result<()> {
    crate::scalar::checked_hyper::<T>(name, value, Rule::Unit).map(|_| ())
}

#[cfg(test)]
pub(crate) mod test_util;

#[cfg(test)]
mod convergence_tests;
