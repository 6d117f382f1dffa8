//! [`GradientDescent`]: the stateful optimizer that runs any built-in [`Algorithm`].

use std::fmt;

use super::{Algorithm, Optimizer, OptimizerState};
use crate::error::shape_str;
use crate::{Error, Param, Result, Scalar, Tensor};

/// Loaded states may name parameter indices below this bound only, so a
/// corrupt file cannot make the optimizer allocate an enormous table.
const MAX_PARAM_INDEX: usize = 1 << 20;

/// One parameter's state: its parameter's name and shape, and one tensor
/// per state name.
#[derive(Clone)]
struct Slot<T> {
    name: String,
    shape: Vec<usize>,
    tensors: Vec<Tensor<T>>,
    /// True until the first update (SGD's momentum buffer starts as the gradient).
    fresh: bool,
}

/// Runs one of the built-in optimizers ([`Sgd`](super::Sgd),
/// [`Adam`](super::Adam), [`AdamW`](super::AdamW),
/// [`RmsProp`](super::RmsProp), [`AdaGrad`](super::AdaGrad)) and keeps its
/// per-parameter state.
///
/// State for parameter `index` is created on its first update (the only
/// allocation) and kept in a `Vec` indexed by `index`; later updates reuse
/// it, so after the first step [`Optimizer::step`] allocates nothing.
///
/// One step count serves all parameters and drives Adam's bias corrections
/// and Adagrad's decay. PyTorch keeps a count per parameter; the two agree
/// whenever every parameter is updated on every step, as a network's
/// training loop does.
///
/// ```
/// use weightwise::optim::{GradientDescent, Optimizer, Sgd};
/// use weightwise::{Param, ParamKind, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut opt = GradientDescent::new(Sgd { lr: 0.1, momentum: 0.9, ..Default::default() })?;
/// let mut w = Param::new("weight", ParamKind::Weight, Tensor::from_slice(&[1.0f64]));
/// w.grad = Tensor::from_slice(&[0.5]);
/// opt.step(&mut [&mut w])?; // b = g = 0.5;              w = 1 − 0.1·0.5 = 0.95
/// opt.step(&mut [&mut w])?; // b = 0.9·0.5 + 0.5 = 0.95; w = 0.95 − 0.095 = 0.855
/// assert!((w.value.as_slice()[0] - 0.855).abs() < 1e-12);
/// assert!(GradientDescent::<f64>::new(Sgd { lr: -1.0, ..Default::default() }).is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GradientDescent<T> {
    algorithm: Algorithm,
    step: u64,
    slots: Vec<Option<Slot<T>>>,
    /// `algorithm.config()`, which the learning rate does not change.
    config: String,
    /// The number of parameters every step has, fixed by the first step
    /// (or a loaded state); `None` before.
    params: Option<usize>,
    /// Whether `algorithm` has passed validation (configs converted with
    /// `From` are checked on first use).
    checked: bool,
}

impl<T: Scalar> GradientDescent<T> {
    /// An optimizer running `algorithm`, with no state yet.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an invalid hyper-parameter, naming the
    /// field and its value.
    pub fn new(algorithm: impl Into<Algorithm>) -> Result<Self> {
        let algorithm = algorithm.into();
        algorithm.validate_for::<T>()?;
        Ok(GradientDescent {
            checked: true,
            ..Self::unchecked(algorithm)
        })
    }

    /// An optimizer whose config is validated on first use.
    pub(crate) fn unchecked(algorithm: Algorithm) -> Self {
        GradientDescent {
            config: algorithm.config(),
            algorithm,
            step: 0,
            slots: Vec::new(),
            params: None,
            checked: false,
        }
    }

    /// The algorithm and its hyper-parameters (the learning rate as last set).
    pub fn algorithm(&self) -> &Algorithm {
        &self.algorithm
    }

    /// Number of steps begun since creation, the last [`Optimizer::reset`]
    /// or the loaded state's count.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    fn ensure_checked(&mut self) -> Result<()> {
        if !self.checked {
            self.algorithm.validate_for::<T>()?;
            self.checked = true;
        }
        Ok(())
    }

    /// The name and shape of each parameter with state, by index
    /// (`("", [])` for an index without state).
    fn param_names(&self) -> Vec<(String, Vec<usize>)> {
        let mut names: Vec<(String, Vec<usize>)> = self
            .slots
            .iter()
            .map(|s| {
                s.as_ref()
                    .map_or_else(Default::default, |s| (s.name.clone(), s.shape.clone()))
            })
            .collect();
        names.resize(
            self.params.unwrap_or(0).max(names.len()),
            Default::default(),
        );
        names
    }

    /// Builds the slots of a saved state, or says what is wrong with it.
    fn slots_from(
        &self,
        tensors: Vec<(String, Tensor<T>)>,
        params: &[(String, Vec<usize>)],
    ) -> Result<Vec<Option<Slot<T>>>> {
        let alg = self.algorithm.name();
        let names = self.algorithm.state_names();
        let bad = |reason: String| Error::Format {
            source_name: format!("{alg} optimizer state"),
            reason,
        };
        if params.len() > MAX_PARAM_INDEX {
            return Err(bad(format!(
                "{} parameters is too many (limit {MAX_PARAM_INDEX})",
                params.len()
            )));
        }
        let mut partial: Vec<Vec<Option<Tensor<T>>>> = vec![vec![None; names.len()]; params.len()];
        for (key, tensor) in tensors {
            let (index, name) = key
                .split_once('.')
                .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n)))
                .ok_or_else(|| bad(format!("\"{key}\" is not of the form \"index.name\"")))?;
            if index >= params.len() || params[index].0.is_empty() {
                return Err(bad(format!(
                    "\"{key}\": the state lists no parameter {index} (it lists {})",
                    params.len()
                )));
            }
            let pos = names.iter().position(|n| *n == name).ok_or_else(|| {
                bad(format!(
                    "\"{key}\": {alg} with this config keeps {:?}",
                    names
                ))
            })?;
            let entry = &mut partial[index][pos];
            if entry.is_some() {
                return Err(bad(format!("\"{key}\" appears twice")));
            }
            *entry = Some(tensor);
        }
        let mut slots = Vec::with_capacity(partial.len());
        for (index, (entry, (pname, pshape))) in partial.into_iter().zip(params).enumerate() {
            if pname.is_empty() {
                slots.push(None);
                continue;
            }
            let mut tensors = Vec::with_capacity(names.len());
            for (name, t) in names.iter().zip(entry) {
                let t = t.ok_or_else(|| bad(format!("\"{index}.{name}\" is missing")))?;
                if t.shape() != pshape.as_slice() {
                    return Err(bad(format!(
                        "\"{index}.{name}\" has shape {}, its parameter \"{pname}\" {}",
                        shape_str(t.shape()),
                        shape_str(pshape)
                    )));
                }
                tensors.push(t);
            }
            slots.push(Some(Slot {
                name: pname.clone(),
                shape: pshape.clone(),
                tensors,
                fresh: false,
            }));
        }
        Ok(slots)
    }
}

impl<T: Scalar> Optimizer<T> for GradientDescent<T> {
    fn begin_step(&mut self, params: usize) -> Result<()> {
        self.ensure_checked()?;
        match self.params {
            Some(n) if n != params => {
                return Err(Error::invalid_arg(
                    "number of parameters",
                    params,
                    format!(
                        "{}: the optimizer's state was made for {}; a step must update the \
                         same parameters every time (reset the optimizer to start over)",
                        self.algorithm.op(),
                        crate::error::count(n, "parameter")
                    ),
                ));
            }
            _ => self.params = Some(params),
        }
        self.step += 1;
        Ok(())
    }

    fn check(&self, index: usize, param: &Param<T>) -> Result<()> {
        let op = self.algorithm.op();
        let shape = param.value.shape();
        if param.grad.shape() != shape {
            return Err(Error::shape_mismatch(
                op,
                shape,
                param.grad.shape(),
                "a parameter's gradient must have its value's shape",
            ));
        }
        if let Some(n) = self.params
            && index >= n
        {
            return Err(Error::invalid_arg(
                "parameter index",
                index,
                format!(
                    "{op}: the optimizer's state was made for {}",
                    crate::error::count(n, "parameter")
                ),
            ));
        }
        if let Some(Some(s)) = self.slots.get(index)
            && (s.shape != shape || s.name != param.name)
        {
            let reason = format!(
                "parameter {index} (\"{}\") has shape {}, but the optimizer state kept for \
                 index {index} belongs to \"{}\" of shape {} (parameters must come in the same \
                 order every step)",
                param.name,
                shape_str(shape),
                s.name,
                shape_str(&s.shape)
            );
            return Err(if s.shape != shape {
                Error::invalid_shape(op, shape, reason)
            } else {
                Error::invalid_arg(
                    "parameter",
                    format!("{index} (\"{}\")", param.name),
                    format!("{op}: {reason}"),
                )
            });
        }
        Ok(())
    }

    fn update(&mut self, index: usize, param: &mut Param<T>) -> Result<()> {
        self.ensure_checked()?;
        let op = self.algorithm.op();
        if self.step == 0 {
            return Err(Error::invalid_state(
                op,
                "update called before begin_step (call begin_step once per step, or use step)",
            ));
        }
        self.check(index, param)?;
        let shape = param.value.shape();
        if self.slots.len() <= index {
            self.slots.resize_with(index + 1, || None);
        }
        let slot = &mut self.slots[index];
        if slot.is_none() {
            let init = T::from_f64(self.algorithm.initial_value());
            let tensors = self
                .algorithm
                .state_names()
                .iter()
                .map(|_| Tensor::full(shape, init))
                .collect::<Result<Vec<_>>>()?;
            *slot = Some(Slot {
                name: param.name.to_string(),
                shape: shape.to_vec(),
                tensors,
                fresh: true,
            });
        }
        let Some(s) = slot.as_mut() else {
            return Err(Error::invalid_state(op, "internal: state slot missing"));
        };
        self.algorithm.apply(
            self.step,
            s.fresh,
            param.value.as_mut_slice(),
            param.grad.as_slice(),
            &mut s.tensors,
        )?;
        s.fresh = false;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.algorithm.lr()
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        super::check_non_negative::<T>("learning rate", lr)?;
        *self.algorithm.lr_mut() = lr;
        Ok(())
    }

    fn reset(&mut self) {
        self.step = 0;
        self.slots.clear();
        self.params = None;
    }

    fn state(&self) -> OptimizerState<T> {
        let names = self.algorithm.state_names();
        let mut tensors = Vec::new();
        for (index, slot) in self.slots.iter().enumerate() {
            if let Some(s) = slot {
                for (name, t) in names.iter().zip(&s.tensors) {
                    tensors.push((format!("{index}.{name}"), t.clone()));
                }
            }
        }
        OptimizerState {
            step: self.step,
            tensors,
            algorithm: self.config.clone(),
            params: self.param_names(),
        }
    }

    /// Reuses `dst`'s tensors and names when the state has the same layout
    /// as last time, so a training step that saves its optimizer's state
    /// allocates nothing.
    fn state_into(&self, dst: &mut OptimizerState<T>) {
        let names = self.algorithm.state_names();
        let same_layout = dst.params.len() == self.params.unwrap_or(0)
            && dst.params.iter().zip(&self.slots).all(|(d, s)| {
                s.as_ref()
                    .map_or(d.0.is_empty(), |s| d.0 == s.name && d.1 == s.shape)
            })
            && dst.params.len() >= self.slots.len()
            && dst.algorithm == self.config
            && dst.tensors.len() == self.slots.iter().flatten().count() * names.len();
        if !same_layout {
            *dst = self.state();
            return;
        }
        dst.step = self.step;
        let mut k = 0;
        for s in self.slots.iter().flatten() {
            for t in &s.tensors {
                dst.tensors[k].1.assign(t);
                k += 1;
            }
        }
    }

    /// Replaces the step count and all per-parameter state.
    ///
    /// Checked eagerly: every name must be `"{index}.{name}"` with one of the
    /// state names this config keeps (e.g. `max_exp_avg_sq` only with
    /// `amsgrad`), each index present must have all of them, and they must
    /// share one shape. Checked lazily: that shape against the parameter's,
    /// on the next [`update`](Optimizer::update) of that index. Indices
    /// absent from `state` start afresh on their next update.
    ///
    /// # Errors
    /// [`Error::Format`] describing the first problem; the optimizer is then
    /// unchanged.
    fn load_state(&mut self, state: OptimizerState<T>) -> Result<()> {
        let config = &self.config;
        if state.algorithm != *config {
            return Err(Error::Format {
                source_name: format!("{} optimizer state", self.algorithm.name()),
                reason: format!(
                    "the state was made by {}, this optimizer is {config}",
                    if state.algorithm.is_empty() {
                        "an unnamed algorithm"
                    } else {
                        &state.algorithm
                    }
                ),
            });
        }
        let slots = self.slots_from(state.tensors, &state.params)?;
        self.slots = slots;
        self.params = (!state.params.is_empty()).then_some(state.params.len());
        self.step = state.step;
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        self.algorithm.validate_for::<T>()
    }
}

impl<T> fmt::Debug for GradientDescent<T> {
    /// The algorithm, the step count and how many parameters have state
    /// (not the state tensors themselves).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GradientDescent")
            .field("algorithm", &self.algorithm)
            .field("step", &self.step)
            .field(
                "params_with_state",
                &self.slots.iter().filter(|s| s.is_some()).count(),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests;
