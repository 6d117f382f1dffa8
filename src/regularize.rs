//! Weight penalties: L2, L1 and elastic net, and a plan saying which parameters they touch.
//!
//! A penalty `Ω(w)` is added to the (batch-mean) loss once per step, and its
//! gradient `∂Ω/∂w` to each regularized parameter's gradient:
//!
//! ```text
//! L2:          Ω(w) = (λ/2)·‖w‖²                     ∂Ω/∂w = λ·w
//! L1:          Ω(w) = λ·‖w‖₁                         ∂Ω/∂w = λ·sign(w)   (subgradient mode)
//! ElasticNet:  Ω(w) = l1·‖w‖₁ + (l2/2)·‖w‖²          ∂Ω/∂w = l1·sign(w) + l2·w
//! ```
//!
//! # How λ maps to other libraries
//! - **PyTorch** `SGD(..., weight_decay=wd)` and `Adam(..., weight_decay=wd)`
//!   add `wd·w` to the gradient: that is [`L2::new`]`(wd)`. (`AdamW`'s
//!   *decoupled* decay shrinks the weights outside the adaptive step and is an
//!   optimizer option, not a penalty.)
//! - **Keras** `regularizers.l2(k)` adds `k·Σw²` to the loss, whose gradient is
//!   `2k·w`: that is `L2::new(2k)`. Keras `l1(k)` is [`L1::subgradient`]`(k)`,
//!   and `l1_l2(l1=a, l2=b)` is [`ElasticNet::subgradient`]`(a, 2b)`.
//! - **scikit-learn** `MLPClassifier(alpha=α)` divides the penalty by the
//!   number of samples in the batch: it adds `(α/n)·w` to the gradient of the
//!   batch-mean loss, so it is `L2::new(α / batch_size)`.
//!
//! # L1: proximal (default) or subgradient
//! The L1 norm has a kink at zero, and the two ways of handling it behave differently:
//! - **Proximal** ([`L1::new`], the default): the L1 part contributes nothing
//!   to the gradient. After the optimizer's update, [`Regularizer::proximal`]
//!   soft-thresholds every weight (ISTA, proximal gradient descent):
//!   `w ← sign(w)·max(|w| − lr·λ, 0)`. Weights whose pull from the loss is weaker
//!   than λ land on **exactly zero** and stay there: a sparse network, which is
//!   what one asks L1 for.
//! - **Subgradient** ([`L1::subgradient`]): `λ·sign(w)` (with `sign(0) = 0`) is
//!   added to the gradient, exactly what a PyTorch user gets from
//!   `loss + λ * w.abs().sum()` or a Keras user from `l1(λ)`. A weight that
//!   should be zero overshoots by `lr·λ` each step and oscillates around zero,
//!   rarely equal to it.
//!
//! The penalty *value* is `λ·‖w‖₁` in both modes. With an adaptive optimizer
//! (Adam), the proximal step uses the plain learning rate: a common, simple
//! approximation of the proximal step in Adam's metric.
//!
//! # What is regularized
//! A [`Regularization`] plan applies its penalty to every
//! [`ParamKind::Weight`] by default, skipping biases and batch-norm scales
//! (PyTorch's `weight_decay` applies to every parameter; Keras' and
//! scikit-learn's regularizers to kernels only, which is what is done here).
//! Biases and scales can be included, and single layers given another penalty
//! or none. The plan walks the parameters through a visitor, so it plugs into
//! a network's `visit_params` / `visit_params_mut` and allocates nothing per
//! step.
//!
//! A training step uses it in this order: add the penalty to the loss (for
//! reporting), [`Regularization::add_gradients`] after the backward pass, the
//! optimizer's update, then [`Regularization::apply_proximal`] with the
//! learning rate just used (then any [`constraint`](crate::constraint)s).
//!
//! ```
//! use weightwise::prelude::*;
//! use weightwise::regularize::{L1, L2, Regularization};
//! # fn main() -> weightwise::Result<()> {
//! // Layer 0: a 2×2 weight and a bias; layer 2: a 1×2 weight.
//! let mut params = vec![
//!     (0, Param::new("weight", ParamKind::Weight, Tensor::from_rows(&[[1.0f64, -2.0], [0.5, 0.0]])?)),
//!     (0, Param::new("bias", ParamKind::Bias, Tensor::from_slice(&[3.0, 3.0]))),
//!     (2, Param::new("weight", ParamKind::Weight, Tensor::from_rows(&[[0.25f64, -0.75]])?)),
//! ];
//! let reg: Regularization<f64> = Regularization::new(L2::new(0.1)?)
//!     .layer(2, Some(L1::new(0.01)?.into()));
//! // Layer 0: 0.1/2·(1 + 4 + 0.25) = 0.2625; bias skipped; layer 2: 0.01·(0.25 + 0.75) = 0.01.
//! let penalty = reg.penalty(|f| params.iter().for_each(|(l, p)| f(*l, p)));
//! assert!((penalty - 0.2725).abs() < 1e-12);
//! reg.add_gradients(|f| params.iter_mut().for_each(|(l, p)| f(*l, p)))?;
//! assert_eq!(params[0].1.grad.as_slice(), &[0.1, -0.2, 0.05, 0.0]); // λ·w
//! assert_eq!(params[1].1.grad.as_slice(), &[0.0, 0.0]);             // bias untouched
//! // After the optimizer's step (here none), soft-threshold layer 2 with lr = 10:
//! // 0.25 − 10·0.01 = 0.15, −0.75 + 0.1 = −0.65.
//! reg.apply_proximal(|f| params.iter_mut().for_each(|(l, p)| f(*l, p)), 10.0)?;
//! assert!((params[2].1.value[[0, 0]] - 0.15).abs() < 1e-12);
//! # Ok(()) }
//! ```

use std::fmt::Debug;
use std::sync::Arc;

use crate::{Error, Param, ParamKind, Result, Scalar, Tensor};

/// `PenaltyFn`, the open trait of weight penalties under the crate's naming
/// pattern (built-ins [`Penalty`] from [`L1`], [`L2`], [`ElasticNet`], open
/// trait `PenaltyFn`, as [`Loss`](crate::Loss) / [`LossFn`](crate::LossFn)):
/// the same trait as [`Regularizer`], its first name.
pub use self::Regularizer as PenaltyFn;

/// A differentiable (or proximable) penalty on one weight tensor.
///
/// Implement it for a custom penalty and wrap it with [`Penalty::new`]. Also
/// named [`PenaltyFn`].
pub trait Regularizer<T: Scalar>: Debug + Send + Sync {
    /// The penalty `Ω(w)`.
    fn penalty(&self, w: &Tensor<T>) -> T;

    /// Adds `∂Ω/∂w` (the part handled by gradient descent) into `grad`, which
    /// has `w`'s shape.
    fn add_gradient(&self, w: &Tensor<T>, grad: &mut Tensor<T>);

    /// The proximal step applied after the optimizer's update with learning
    /// rate `lr`, for the part of `Ω` not in [`Regularizer::add_gradient`].
    /// Does nothing by default.
    fn proximal(&self, w: &mut Tensor<T>, lr: T) {
        let _ = (w, lr);
    }
}

/// Checks a penalty coefficient: finite and ≥ 0.
fn check_coefficient(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::invalid_arg(name, value, "must be finite and ≥ 0"))
    }
}

/// `sign(x)` with `sign(0) = 0` (PyTorch's `torch.sign`); NaN stays NaN.
fn sign0<T: Scalar>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        x * T::zero()
    }
}

/// Soft-thresholding `sign(x)·max(|x| − t, 0)`, the proximal operator of `t·|x|`; NaN stays NaN.
fn soft_threshold<T: Scalar>(x: T, t: T) -> T {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else if x.is_nan() {
        x
    } else {
        T::zero()
    }
}

fn l1_norm<T: Scalar>(w: &Tensor<T>) -> T {
    w.as_slice().iter().map(|x| x.abs()).sum()
}

/// `‖w‖² = Σwᵢ²`, in eight interleaved partial sums (lane `j` adds the
/// elements `j, j + 8, …`) added together at the end: the compiler can keep
/// them in vector registers, where one running sum is a chain of dependent
/// additions (it was a tenth of a digits training epoch with L2). The order
/// is fixed, so the value is the same on every run and thread count.
fn squared_norm<T: Scalar>(w: &Tensor<T>) -> T {
    let w = w.as_slice();
    let mut lanes = [T::zero(); 8];
    let mut chunks = w.chunks_exact(8);
    for chunk in &mut chunks {
        for (acc, &x) in lanes.iter_mut().zip(chunk) {
            *acc += x * x;
        }
    }
    for (acc, &x) in lanes.iter_mut().zip(chunks.remainder()) {
        *acc += x * x;
    }
    lanes.into_iter().sum()
}

/// How the non-differentiable L1 part is handled; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum L1Mode {
    /// Soft-threshold after the update: exact zeros. The default.
    #[default]
    Proximal,
    /// Add `λ·sign(w)` to the gradient, as PyTorch's autograd of `λ·|w|` and Keras' `l1` do.
    Subgradient,
}

/// Ridge penalty / weight decay: `Ω(w) = (λ/2)·‖w‖²`, `∂Ω/∂w = λ·w`.
///
/// `λ` equals PyTorch's `weight_decay`; Keras' `l2(k)` is `λ = 2k`;
/// scikit-learn's MLP `alpha` is `λ = alpha / batch_size` (see the [module docs](self)).
///
/// ```
/// use weightwise::{regularize::{L2, Regularizer}, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let w = Tensor::from_slice(&[3.0f64, -4.0]);
/// let l2 = L2::new(0.1)?;
/// assert!((l2.penalty(&w) - 1.25).abs() < 1e-12); // 0.1/2 · 25
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "crate::serde_validated::L2Fields")
)]
pub struct L2 {
    lambda: f64,
}

impl L2 {
    /// An L2 penalty of strength `lambda`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `lambda` is negative or not finite.
    pub fn new(lambda: f64) -> Result<Self> {
        Ok(L2 {
            lambda: check_coefficient("L2 lambda", lambda)?,
        })
    }

    /// The strength λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }
}

impl<T: Scalar> Regularizer<T> for L2 {
    fn penalty(&self, w: &Tensor<T>) -> T {
        T::from_f64(self.lambda / 2.0) * squared_norm(w)
    }

    fn add_gradient(&self, w: &Tensor<T>, grad: &mut Tensor<T>) {
        let lambda = T::from_f64(self.lambda);
        for (g, &x) in grad.as_mut_slice().iter_mut().zip(w.as_slice()) {
            *g += lambda * x;
        }
    }
}

/// Lasso penalty: `Ω(w) = λ·‖w‖₁`, proximal (exact zeros) by default.
///
/// See the [module docs](self) for the two modes.
///
/// ```
/// use weightwise::{regularize::{L1, Regularizer}, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut w = Tensor::from_slice(&[0.5f64, -0.05, 0.02]);
/// let l1 = L1::new(0.1)?;
/// // After an optimizer step with lr = 0.5: threshold 0.05.
/// l1.proximal(&mut w, 0.5);
/// assert_eq!(w.as_slice(), &[0.45, 0.0, 0.0]);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "crate::serde_validated::L1Fields")
)]
pub struct L1 {
    lambda: f64,
    mode: L1Mode,
}

impl L1 {
    /// A proximal L1 penalty of strength `lambda`: no gradient term, soft-thresholding after each update.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `lambda` is negative or not finite.
    pub fn new(lambda: f64) -> Result<Self> {
        Ok(L1 {
            lambda: check_coefficient("L1 lambda", lambda)?,
            mode: L1Mode::Proximal,
        })
    }

    /// A subgradient L1 penalty: adds `λ·sign(w)` to the gradient (`sign(0) = 0`),
    /// as `loss + λ·w.abs().sum()` does in PyTorch and `l1(λ)` in Keras.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `lambda` is negative or not finite.
    pub fn subgradient(lambda: f64) -> Result<Self> {
        Ok(L1 {
            mode: L1Mode::Subgradient,
            ..L1::new(lambda)?
        })
    }

    /// The strength λ.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// How the kink at zero is handled.
    pub fn mode(&self) -> L1Mode {
        self.mode
    }
}

impl<T: Scalar> Regularizer<T> for L1 {
    fn penalty(&self, w: &Tensor<T>) -> T {
        T::from_f64(self.lambda) * l1_norm(w)
    }

    fn add_gradient(&self, w: &Tensor<T>, grad: &mut Tensor<T>) {
        if self.mode == L1Mode::Subgradient {
            let lambda = T::from_f64(self.lambda);
            for (g, &x) in grad.as_mut_slice().iter_mut().zip(w.as_slice()) {
                *g += lambda * sign0(x);
            }
        }
    }

    fn proximal(&self, w: &mut Tensor<T>, lr: T) {
        if self.mode == L1Mode::Proximal {
            let t = lr * T::from_f64(self.lambda);
            w.map_in_place(|x| soft_threshold(x, t));
        }
    }
}

/// Elastic net: `Ω(w) = l1·‖w‖₁ + (l2/2)·‖w‖²`.
///
/// The L2 part always goes through the gradient (`l2·w`); the L1 part is
/// proximal by default ([`ElasticNet::new`]) or a subgradient
/// ([`ElasticNet::subgradient`]), as for [`L1`]. Keras' `l1_l2(l1=a, l2=b)`
/// is `ElasticNet::subgradient(a, 2b)`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "crate::serde_validated::ElasticNetFields")
)]
pub struct ElasticNet {
    l1: f64,
    l2: f64,
    mode: L1Mode,
}

impl ElasticNet {
    /// An elastic net with a proximal L1 part.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `l1` or `l2` is negative or not finite.
    pub fn new(l1: f64, l2: f64) -> Result<Self> {
        Ok(ElasticNet {
            l1: check_coefficient("ElasticNet l1", l1)?,
            l2: check_coefficient("ElasticNet l2", l2)?,
            mode: L1Mode::Proximal,
        })
    }

    /// An elastic net whose L1 part adds `l1·sign(w)` to the gradient.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `l1` or `l2` is negative or not finite.
    pub fn subgradient(l1: f64, l2: f64) -> Result<Self> {
        Ok(ElasticNet {
            mode: L1Mode::Subgradient,
            ..ElasticNet::new(l1, l2)?
        })
    }

    /// The L1 strength.
    pub fn l1(&self) -> f64 {
        self.l1
    }

    /// The L2 strength.
    pub fn l2(&self) -> f64 {
        self.l2
    }

    /// How the L1 part's kink at zero is handled.
    pub fn mode(&self) -> L1Mode {
        self.mode
    }
}

impl<T: Scalar> Regularizer<T> for ElasticNet {
    fn penalty(&self, w: &Tensor<T>) -> T {
        T::from_f64(self.l1) * l1_norm(w) + T::from_f64(self.l2 / 2.0) * squared_norm(w)
    }

    fn add_gradient(&self, w: &Tensor<T>, grad: &mut Tensor<T>) {
        let (l1, l2) = (T::from_f64(self.l1), T::from_f64(self.l2));
        let sub = self.mode == L1Mode::Subgradient;
        for (g, &x) in grad.as_mut_slice().iter_mut().zip(w.as_slice()) {
            *g += l2 * x;
            if sub {
                *g += l1 * sign0(x);
            }
        }
    }

    fn proximal(&self, w: &mut Tensor<T>, lr: T) {
        if self.mode == L1Mode::Proximal {
            let t = lr * T::from_f64(self.l1);
            w.map_in_place(|x| soft_threshold(x, t));
        }
    }
}

/// A shareable regularizer: any [`Regularizer`] behind an `Arc`, cheap to clone.
///
/// Built from [`L1`], [`L2`], [`ElasticNet`] with `.into()`, or from a custom
/// regularizer with [`Penalty::new`].
#[derive(Clone, Debug)]
pub struct Penalty<T>(Arc<dyn Regularizer<T>>);

impl<T: Scalar> Penalty<T> {
    /// Wraps a regularizer.
    pub fn new(r: impl Regularizer<T> + 'static) -> Self {
        Penalty(Arc::new(r))
    }
}

impl<T: Scalar> Regularizer<T> for Penalty<T> {
    fn penalty(&self, w: &Tensor<T>) -> T {
        self.0.penalty(w)
    }
    fn add_gradient(&self, w: &Tensor<T>, grad: &mut Tensor<T>) {
        self.0.add_gradient(w, grad);
    }
    fn proximal(&self, w: &mut Tensor<T>, lr: T) {
        self.0.proximal(w, lr);
    }
}

/// Which parameters a penalty applies to, with per-layer overrides.
///
/// By default the penalty applies to [`ParamKind::Weight`] parameters only;
/// [`include_biases`](Regularization::include_biases) and
/// [`include_scales`](Regularization::include_scales) add biases (and batch
/// norm's β) and batch norm's γ. [`layer`](Regularization::layer) gives one
/// layer another penalty or none; the kinds regularized stay the same.
///
/// Built from a penalty with `.into()`, as a training configuration takes it:
/// `regularizer: Some(L2::new(1e-4)?.into())`. See the [module docs](self) for
/// an example.
#[derive(Clone, Debug)]
pub struct Regularization<T> {
    default: Penalty<T>,
    biases: bool,
    scales: bool,
    overrides: Vec<(usize, Option<Penalty<T>>)>,
}

impl<T: Scalar> Regularization<T> {
    /// A plan applying `penalty` to every weight.
    pub fn new(penalty: impl Into<Penalty<T>>) -> Self {
        Regularization {
            default: penalty.into(),
            biases: false,
            scales: false,
            overrides: Vec::new(),
        }
    }

    /// Whether [`ParamKind::Bias`] parameters are regularized too. Defaults to `false`.
    pub fn include_biases(mut self, yes: bool) -> Self {
        self.biases = yes;
        self
    }

    /// Whether [`ParamKind::Scale`] parameters (batch norm's γ) are regularized
    /// too. Defaults to `false`. PyTorch's `weight_decay` is
    /// `include_biases(true).include_scales(true)`.
    pub fn include_scales(mut self, yes: bool) -> Self {
        self.scales = yes;
        self
    }

    /// Layer `index` gets `penalty` instead of the default: `None` leaves it
    /// unregularized. A later call for the same layer replaces an earlier one.
    pub fn layer(mut self, index: usize, penalty: Option<Penalty<T>>) -> Self {
        match self.overrides.iter_mut().find(|(i, _)| *i == index) {
            Some(slot) => slot.1 = penalty,
            None => self.overrides.push((index, penalty)),
        }
        self
    }

    /// The penalty applied to a parameter of kind `kind` in layer `layer`, if any.
    pub fn regularizer_for(&self, layer: usize, kind: ParamKind) -> Option<&Penalty<T>> {
        let included = match kind {
            ParamKind::Weight => true,
            ParamKind::Bias => self.biases,
            ParamKind::Scale => self.scales,
        };
        if !included {
            return None;
        }
        match self.overrides.iter().find(|(i, _)| *i == layer) {
            Some((_, p)) => p.as_ref(),
            None => Some(&self.default),
        }
    }

    /// The penalty of one parameter of layer `layer` (zero if it is not regularized).
    pub fn param_penalty(&self, layer: usize, param: &Param<T>) -> T {
        self.regularizer_for(layer, param.kind)
            .map_or(T::zero(), |r| r.penalty(&param.value))
    }

    /// Adds the penalty's gradient into one parameter's `grad`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if the parameter's `grad` does not have its value's shape.
    pub fn add_param_gradient(&self, layer: usize, param: &mut Param<T>) -> Result<()> {
        if let Some(r) = self.regularizer_for(layer, param.kind) {
            check_grad_shape(param)?;
            r.add_gradient(&param.value, &mut param.grad);
        }
        Ok(())
    }

    /// Applies the proximal step to one parameter after an update with learning rate `lr`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `lr` is negative or not finite.
    pub fn param_proximal(&self, layer: usize, param: &mut Param<T>, lr: T) -> Result<()> {
        check_lr(lr)?;
        if let Some(r) = self.regularizer_for(layer, param.kind) {
            r.proximal(&mut param.value, lr);
        }
        Ok(())
    }

    /// The total penalty over the parameters `visit` shows, each with its layer
    /// index: `reg.penalty(|f| net.visit_params(f))`.
    pub fn penalty<'a>(&self, visit: impl FnOnce(&mut dyn FnMut(usize, &'a Param<T>))) -> T
    where
        T: 'a,
    {
        let mut total = T::zero();
        visit(&mut |layer, p| total += self.param_penalty(layer, p));
        total
    }

    /// Adds the penalty's gradient into every regularized parameter's `grad`:
    /// `reg.add_gradients(|f| net.visit_params_mut(f))?`, after the backward pass.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] for a parameter whose `grad` does not have its
    /// value's shape (the first such error; the others are still visited).
    pub fn add_gradients<'a>(
        &self,
        visit: impl FnOnce(&mut dyn FnMut(usize, &'a mut Param<T>)),
    ) -> Result<()>
    where
        T: 'a,
    {
        let mut first = Ok(());
        visit(&mut |layer, p| {
            let r = self.add_param_gradient(layer, p);
            if first.is_ok() {
                first = r;
            }
        });
        first
    }

    /// Applies the proximal step (L1 soft-thresholding) to every regularized
    /// parameter, after the optimizer's update with learning rate `lr`:
    /// `reg.apply_proximal(|f| net.visit_params_mut(f), lr)?`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `lr` is negative or not finite (nothing is changed).
    pub fn apply_proximal<'a>(
        &self,
        visit: impl FnOnce(&mut dyn FnMut(usize, &'a mut Param<T>)),
        lr: T,
    ) -> Result<()>
    where
        T: 'a,
    {
        check_lr(lr)?;
        visit(&mut |layer, p| {
            if let Some(r) = self.regularizer_for(layer, p.kind) {
                r.proximal(&mut p.value, lr);
            }
        });
        Ok(())
    }
}

fn check_grad_shape<T>(param: &Param<T>) -> Result<()> {
    if param.grad.shape() == param.value.shape() {
        Ok(())
    } else {
        Err(Error::shape_mismatch(
            "Regularization::add_gradients",
            param.value.shape(),
            param.grad.shape(),
            "a parameter's gradient must have its value's shape",
        ))
    }
}

fn check_lr<T: Scalar>(lr: T) -> Result<()> {
    if lr.is_finite() && lr >= T::zero() {
        Ok(())
    } else {
        Err(Error::invalid_arg(
            "learning rate",
            lr,
            "must be finite and ≥ 0",
        ))
    }
}

macro_rules! into_penalty {
    ($($ty:ident),*) => {$(
        impl<T: Scalar> From<$ty> for Penalty<T> {
            fn from(r: $ty) -> Self {
                Penalty::new(r)
            }
        }
        impl<T: Scalar> From<$ty> for Regularization<T> {
            fn from(r: $ty) -> Self {
                Regularization::new(r)
            }
        }
    )*};
}
into_penalty!(L1, L2, ElasticNet);

impl<T: Scalar> From<Penalty<T>> for Regularization<T> {
    fn from(p: Penalty<T>) -> Self {
        Regularization::new(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::GradCheck;

    /// A stand-in for the network: params with the visitor signatures the training loop uses.
    struct Net<T> {
        layers: Vec<Vec<Param<T>>>,
    }

    impl<T: Scalar> Net<T> {
        fn visit_params<'a>(&'a self, f: &mut dyn FnMut(usize, &'a Param<T>)) {
            for (i, l) in self.layers.iter().enumerate() {
                for p in l {
                    f(i, p);
                }
            }
        }
        fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(usize, &'a mut Param<T>)) {
            for (i, l) in self.layers.iter_mut().enumerate() {
                for p in l {
                    f(i, p);
                }
            }
        }
    }

    #[test]
    fn squared_norm_sums_every_element_whatever_the_length() {
        for n in 0..40 {
            let v: Vec<f64> = (0..n).map(|i| (i as f64 * 0.7).sin() * 3.0).collect();
            let exact: f64 = v.iter().map(|x| x * x).sum();
            let got = squared_norm(&Tensor::from_slice(&v));
            assert!((got - exact).abs() <= 1e-14 * exact.max(1.0), "n = {n}");
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            let exact32: f64 = v32.iter().map(|&x| f64::from(x).powi(2)).sum();
            let got32 = f64::from(squared_norm(&Tensor::from_slice(&v32)));
            assert!(
                (got32 - exact32).abs() <= 1e-5 * exact32.max(1.0),
                "n = {n}"
            );
        }
    }

    #[test]
    fn coefficients_are_validated() {
        for bad in [-1e-3, f64::NAN, f64::INFINITY] {
            assert!(matches!(L2::new(bad), Err(Error::InvalidArgument { .. })));
            assert!(L1::new(bad).is_err());
            assert!(L1::subgradient(bad).is_err());
            assert!(ElasticNet::new(bad, 0.1).is_err());
            assert!(ElasticNet::new(0.1, bad).is_err());
            assert!(ElasticNet::subgradient(bad, 0.1).is_err());
            assert!(ElasticNet::subgradient(0.1, bad).is_err());
        }
        assert_eq!(
            L2::new(-0.5).unwrap_err().to_string(),
            "invalid L2 lambda = -0.5: must be finite and ≥ 0"
        );
        assert_eq!(
            ElasticNet::new(0.1, -2.0).unwrap_err().to_string(),
            "invalid ElasticNet l2 = -2: must be finite and ≥ 0"
        );
        let l1 = L1::subgradient(0.0).unwrap();
        assert_eq!((l1.lambda(), l1.mode()), (0.0, L1Mode::Subgradient));
        assert_eq!(L1::new(0.3).unwrap().mode(), L1Mode::Proximal);
        assert_eq!(L2::new(0.2).unwrap().lambda(), 0.2);
        let en = ElasticNet::subgradient(0.1, 0.2).unwrap();
        assert_eq!(
            (en.l1(), en.l2(), en.mode()),
            (0.1, 0.2, L1Mode::Subgradient)
        );
        assert_eq!(ElasticNet::new(0.1, 0.2).unwrap().mode(), L1Mode::Proximal);
    }

    #[test]
    fn into_the_training_config_type() {
        let r: Option<Regularization<f32>> = Some(L2::new(1e-4).unwrap().into());
        assert!(r.is_some());
        let _: Regularization<f64> = L1::new(1e-4).unwrap().into();
        let _: Regularization<f64> = ElasticNet::new(1e-4, 1e-3).unwrap().into();
        let p: Penalty<f64> = L2::new(1.0).unwrap().into();
        let _: Regularization<f64> = p.into();
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                fn w() -> Tensor<T> {
                    Tensor::from_rows(&[[1.0, -2.0], [0.5, 0.0]]).unwrap()
                }

                fn grad_of(r: &dyn Regularizer<T>, w: &Tensor<T>) -> Vec<T> {
                    // Start from a non-zero gradient: the contribution must be *added*.
                    let mut g = Tensor::full(w.shape(), 1.0).unwrap();
                    r.add_gradient(w, &mut g);
                    g.as_slice().iter().map(|x| x - 1.0).collect()
                }

                fn close(a: T, b: T) -> bool {
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
                }

                #[test]
                fn penalties_by_hand() {
                    // ‖w‖² = 1 + 4 + 0.25 + 0 = 5.25, ‖w‖₁ = 1 + 2 + 0.5 + 0 = 3.5.
                    let w = w();
                    let l2 = L2::new(0.1).unwrap();
                    assert!(close(Regularizer::<T>::penalty(&l2, &w), 0.2625)); // 0.05·5.25
                    for l1 in [L1::new(0.1).unwrap(), L1::subgradient(0.1).unwrap()] {
                        assert!(close(Regularizer::<T>::penalty(&l1, &w), 0.35)); // 0.1·3.5
                    }
                    for en in [
                        ElasticNet::new(0.1, 0.2).unwrap(),
                        ElasticNet::subgradient(0.1, 0.2).unwrap(),
                    ] {
                        // 0.1·3.5 + 0.1·5.25 = 0.875
                        assert!(close(Regularizer::<T>::penalty(&en, &w), 0.875));
                    }
                }

                #[test]
                fn gradients_by_hand() {
                    let w = w();
                    // L2: λ·w = 0.1·[1, −2, 0.5, 0].
                    let g = grad_of(&L2::new(0.1).unwrap(), &w);
                    assert!(
                        g.iter()
                            .zip([0.1, -0.2, 0.05, 0.0])
                            .all(|(&a, b)| close(a, b))
                    );
                    // L1 subgradient: λ·sign(w), sign(0) = 0.
                    let g = grad_of(&L1::subgradient(0.1).unwrap(), &w);
                    assert!(
                        g.iter()
                            .zip([0.1, -0.1, 0.1, 0.0])
                            .all(|(&a, b)| close(a, b))
                    );
                    // L1 proximal: nothing through the gradient.
                    assert_eq!(grad_of(&L1::new(0.1).unwrap(), &w), vec![0.0; 4]);
                    // ElasticNet subgradient: 0.1·sign(w) + 0.2·w = [0.3, −0.5, 0.2, 0].
                    let g = grad_of(&ElasticNet::subgradient(0.1, 0.2).unwrap(), &w);
                    assert!(
                        g.iter()
                            .zip([0.3, -0.5, 0.2, 0.0])
                            .all(|(&a, b)| close(a, b))
                    );
                    // ElasticNet proximal: only 0.2·w = [0.2, −0.4, 0.1, 0].
                    let g = grad_of(&ElasticNet::new(0.1, 0.2).unwrap(), &w);
                    assert!(
                        g.iter()
                            .zip([0.2, -0.4, 0.1, 0.0])
                            .all(|(&a, b)| close(a, b))
                    );
                }

                #[test]
                fn proximal_by_hand() {
                    // Threshold lr·λ = 0.5·0.2 = 0.1: 1 → 0.9, −2 → −1.9, 0.05 → 0, −0.1 → 0 (|w| = t).
                    let start = || Tensor::<T>::from_slice(&[1.0, -2.0, 0.05, -0.1, 0.0]);
                    let expect = [0.9, -1.9, 0.0, 0.0, 0.0];
                    for r in [
                        Penalty::<T>::from(L1::new(0.2).unwrap()),
                        ElasticNet::new(0.2, 5.0).unwrap().into(),
                    ] {
                        let mut w = start();
                        r.proximal(&mut w, 0.5);
                        assert!(w.as_slice().iter().zip(expect).all(|(&a, b)| close(a, b)));
                    }
                    // Subgradient modes and L2 leave the weights to the optimizer.
                    for r in [
                        Penalty::<T>::from(L1::subgradient(0.2).unwrap()),
                        ElasticNet::subgradient(0.2, 5.0).unwrap().into(),
                        L2::new(0.2).unwrap().into(),
                    ] {
                        let mut w = start();
                        r.proximal(&mut w, 0.5);
                        assert_eq!(w, start());
                    }
                    // NaN is not hidden by the threshold.
                    let mut w = Tensor::<T>::from_slice(&[T::NAN]);
                    Regularizer::<T>::proximal(&L1::new(0.2).unwrap(), &mut w, 0.5);
                    assert!(w.as_slice()[0].is_nan());
                }

                /// Minimises ½‖w − a‖² + λ‖w‖₁ by SGD; the exact minimiser is
                /// soft_threshold(a, λ) = [2, 0, 0, −1] for a = [3, 0.5, −0.2, −2], λ = 1.
                fn lasso(l1: L1, steps: usize) -> Vec<T> {
                    let a: [T; 4] = [3.0, 0.5, -0.2, -2.0];
                    let lr: T = 0.1;
                    let mut w = Tensor::<T>::from_slice(&[1.0, 1.0, -1.0, 1.0]);
                    let mut g = Tensor::<T>::zeros(&[4]).unwrap();
                    for _ in 0..steps {
                        for ((gi, &wi), &ai) in
                            g.as_mut_slice().iter_mut().zip(w.as_slice()).zip(&a)
                        {
                            *gi = wi - ai;
                        }
                        l1.add_gradient(&w, &mut g);
                        w.axpy(-lr, &g).unwrap();
                        l1.proximal(&mut w, lr);
                    }
                    w.into_vec()
                }

                #[test]
                fn proximal_l1_reaches_exact_zeros() {
                    let w = lasso(L1::new(1.0).unwrap(), 300);
                    // |a_i| < λ: exactly zero, not merely small.
                    assert_eq!((w[1], w[2]), (0.0, 0.0));
                    // |a_i| > λ: a_i − λ·sign(a_i), after 300 contractions by 0.9.
                    assert!(close(w[0], 2.0) && close(w[3], -1.0), "{w:?}");
                }

                #[test]
                fn subgradient_l1_hovers_around_zero() {
                    let w = lasso(L1::subgradient(1.0).unwrap(), 300);
                    // The pull λ·sign(w) overshoots zero: each step moves a weight by
                    // about lr·λ = 0.1 across it, so it oscillates within ±0.15 of 0
                    // (for a = 0.5: w ← 0.9w − 0.05 above 0, 0.9w + 0.15 below) and,
                    // in floating point, does not land on it (Python gives 0.0039 and −0.091).
                    for &x in &w[1..3] {
                        assert!(x != 0.0 && x.abs() < 0.2, "{w:?}");
                    }
                    assert!(close(w[0], 2.0) && close(w[3], -1.0), "{w:?}");
                }

                fn net() -> Net<T> {
                    let p = |name, kind, v: &[T]| Param::new(name, kind, Tensor::from_slice(v));
                    Net {
                        layers: vec![
                            vec![
                                p("weight", ParamKind::Weight, &[1.0, -2.0]),
                                p("bias", ParamKind::Bias, &[3.0]),
                            ],
                            vec![
                                p("weight", ParamKind::Scale, &[2.0]),
                                p("bias", ParamKind::Bias, &[-1.0]),
                            ],
                            vec![p("weight", ParamKind::Weight, &[0.5, -0.5])],
                        ],
                    }
                }

                #[test]
                fn plan_selects_kinds_and_layers() {
                    let net = net();
                    let l2 = || L2::new(0.2).unwrap();
                    // Weights only: 0.1·(1 + 4) + 0.1·(0.25 + 0.25) = 0.55.
                    let reg = Regularization::<T>::new(l2());
                    assert!(close(reg.penalty(|f| net.visit_params(f)), 0.55));
                    // + biases 0.1·(9 + 1) = 1.0 → 1.55.
                    let reg = Regularization::<T>::new(l2()).include_biases(true);
                    assert!(close(reg.penalty(|f| net.visit_params(f)), 1.55));
                    // + scales 0.1·4 = 0.4 → 1.95.
                    let reg = reg.include_scales(true);
                    assert!(close(reg.penalty(|f| net.visit_params(f)), 1.95));
                    // Layer 0 unregularized, layer 2 with L1(1): 1·(0.5 + 0.5) = 1.0.
                    let reg = Regularization::<T>::new(l2())
                        .layer(0, Some(L2::new(9.0).unwrap().into()))
                        .layer(0, None)
                        .layer(2, Some(L1::new(1.0).unwrap().into()));
                    assert!(close(reg.penalty(|f| net.visit_params(f)), 1.0));
                    assert!(reg.regularizer_for(0, ParamKind::Weight).is_none());
                    assert!(reg.regularizer_for(2, ParamKind::Bias).is_none());
                    assert!(reg.regularizer_for(5, ParamKind::Weight).is_some());
                    let p = &net.layers[2][0];
                    assert!(close(reg.param_penalty(2, p), 1.0));
                }

                #[test]
                fn plan_gradients_and_proximal_through_the_visitor() {
                    let mut net = net();
                    let reg = Regularization::<T>::new(L2::new(0.2).unwrap())
                        .layer(2, Some(L1::new(1.0).unwrap().into()));
                    reg.add_gradients(|f| net.visit_params_mut(f)).unwrap();
                    // Layer 0 weight: 0.2·[1, −2]; bias and scale untouched; layer 2: proximal L1, no gradient.
                    assert!(close(net.layers[0][0].grad.as_slice()[0], 0.2));
                    assert!(close(net.layers[0][0].grad.as_slice()[1], -0.4));
                    assert_eq!(net.layers[0][1].grad.as_slice(), &[0.0]);
                    assert_eq!(net.layers[1][0].grad.as_slice(), &[0.0]);
                    assert_eq!(net.layers[2][0].grad.as_slice(), &[0.0, 0.0]);
                    // lr = 0.3: layer 2 threshold 0.3 → [0.2, −0.2]; layer 0 (L2) unchanged.
                    reg.apply_proximal(|f| net.visit_params_mut(f), 0.3)
                        .unwrap();
                    let w2 = net.layers[2][0].value.as_slice();
                    assert!(close(w2[0], 0.2) && close(w2[1], -0.2));
                    assert_eq!(net.layers[0][0].value.as_slice(), &[1.0, -2.0]);
                    // Per-parameter form, for a loop over an iterator.
                    let p = &mut net.layers[2][0];
                    reg.param_proximal(2, p, 0.3).unwrap();
                    assert_eq!(p.value.as_slice(), &[0.0, 0.0]);
                }

                #[test]
                fn plan_errors() {
                    let mut net = net();
                    let reg = Regularization::<T>::new(L2::new(0.2).unwrap());
                    for lr in [-0.1, T::NAN, T::INFINITY] {
                        let err = reg
                            .apply_proximal(|f| net.visit_params_mut(f), lr)
                            .unwrap_err();
                        assert!(matches!(
                            err,
                            Error::InvalidArgument {
                                name: "learning rate",
                                ..
                            }
                        ));
                        assert!(reg.param_proximal(0, &mut net.layers[0][0], lr).is_err());
                    }
                    net.layers[2][0].grad = Tensor::zeros(&[3]).unwrap();
                    let err = reg.add_gradients(|f| net.visit_params_mut(f)).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "Regularization::add_gradients: left is 2, right is 3 \
                         (a parameter's gradient must have its value's shape)"
                    );
                    // The well-shaped parameters were still updated.
                    assert!(close(net.layers[0][0].grad.as_slice()[0], 0.2));
                    // An unregularized parameter is not checked.
                    net.layers[0][1].grad = Tensor::zeros(&[7]).unwrap();
                    assert!(reg.add_param_gradient(0, &mut net.layers[0][1]).is_ok());
                }
            }
        };
    }

    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);

    fn check(r: &dyn Regularizer<f64>, w: &Tensor<f64>, smooth: impl Fn(&Tensor<f64>) -> f64) {
        let mut g = Tensor::zeros(w.shape()).unwrap();
        r.add_gradient(w, &mut g);
        let report = GradCheck::default()
            .function(|x| Ok(smooth(x)), w, &g)
            .unwrap();
        assert!(report.max_rel_error < 1e-6, "{r:?}: {report}");
        assert_eq!(report.checked, w.len());
    }

    #[test]
    fn gradients_pass_the_finite_difference_check() {
        // Entries at least 0.1 from the kink of |w| (the step is 1e-5).
        let w = Tensor::from_rows(&[[0.7, -1.3, 0.2], [-0.4, 2.1, -0.15]]).unwrap();
        let l2 = L2::new(0.3).unwrap();
        check(&l2, &w, |x| l2.penalty(x));
        let l1 = L1::subgradient(0.05).unwrap();
        check(&l1, &w, |x| l1.penalty(x));
        let en = ElasticNet::subgradient(0.05, 0.3).unwrap();
        check(&en, &w, |x| en.penalty(x));
        // Proximal modes: the gradient is that of the smooth part alone.
        let en = ElasticNet::new(0.05, 0.3).unwrap();
        check(&en, &w, |x| en.penalty(x) - 0.05 * l1_norm(x));
        let l1 = L1::new(0.05).unwrap();
        check(&l1, &w, |x| l1.penalty(x) - 0.05 * l1_norm(x));
        // Through the plan's type-erased wrapper.
        let p: Penalty<f64> = ElasticNet::subgradient(0.05, 0.3).unwrap().into();
        check(&p, &w, |x| p.penalty(x));
    }

    #[derive(Debug)]
    struct Quartic;

    impl Regularizer<f64> for Quartic {
        fn penalty(&self, w: &Tensor<f64>) -> f64 {
            w.as_slice().iter().map(|x| x.powi(4)).sum()
        }
        fn add_gradient(&self, w: &Tensor<f64>, grad: &mut Tensor<f64>) {
            grad.zip_apply(w, |g, x| g + 4.0 * x.powi(3)).unwrap();
        }
    }

    #[test]
    fn custom_regularizers_plug_in() {
        let w = Tensor::from_slice(&[0.5, -1.5]);
        check(&Quartic, &w, |x| Quartic.penalty(x));
        let reg = Regularization::new(Penalty::new(Quartic));
        let mut p = Param::new("weight", ParamKind::Weight, w);
        // 0.5⁴ + 1.5⁴ = 0.0625 + 5.0625
        assert_eq!(reg.param_penalty(0, &p), 5.125);
        reg.add_param_gradient(0, &mut p).unwrap();
        // 4·0.5³ = 0.5, 4·(−1.5)³ = −13.5
        assert_eq!(p.grad.as_slice(), &[0.5, -13.5]);
        // The default proximal step is a no-op.
        reg.param_proximal(0, &mut p, 1.0).unwrap();
        assert_eq!(p.value.as_slice(), &[0.5, -1.5]);
    }
}
