//! Layers: the [`Layer`] trait and its implementations.
//!
//! A layer maps a batch (one sample per row) to a batch. Its protocol is the
//! one of Deep Learning from Scratch and micrograd:
//!
//! 1. [`Layer::forward`] computes the output and keeps what the backward pass
//!    needs (the input, a mask, batch statistics);
//! 2. [`Layer::backward`] takes `∂L/∂y`, the gradient of the loss with respect
//!    to the layer's output, *adds* the gradients of the layer's own parameters
//!    into their [`Param::grad`], and returns `∂L/∂x`.
//!
//! Both return a reference to a buffer the layer owns and reuses, so a
//! training step allocates nothing once the first batch has been seen.
//!
//! Parameters are visited in a stable order, each with a name (`"weight"`,
//! `"bias"`), a [`ParamKind`], its value and its gradient.
//!
//! Inference has a third, shared path: [`Layer::infer`] takes `&self` and
//! writes into a buffer the caller owns, so one trained layer (and one
//! [`Network`](crate::Network)) serves many threads at once. Every layer is
//! `Clone + Send + Sync`: a user's layer that derives `Clone` gets
//! [`LayerClone::box_clone`] from a blanket implementation.
//!
//! A layer that describes itself with [`Layer::config`] (a type tag and its
//! hyper-parameters) can be saved in a model file and rebuilt from it through
//! a [`LayerRegistry`].

use std::fmt::Debug;

use crate::{Result, Scalar, Tensor};
use activation::ActivationKind;

pub mod activation;
mod activation_config;
pub mod avg_pool;
pub mod batch_norm;
pub mod batch_norm2d;
mod config;
pub mod conv2d;
pub mod dense;
pub mod dropout;
pub mod flatten;
mod im2col;
pub mod max_pool;
mod registry;
pub mod softmax;
pub mod window;

pub use config::{ConfigValue, LayerConfig};
pub use registry::{LayerConstructor, LayerRegistry};

/// Whether a forward pass is part of training or of inference.
///
/// Dropout and batch normalization behave differently in the two modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Mode {
    /// Training: dropout drops, batch norm uses and updates batch statistics.
    Train,
    /// Inference: dropout is the identity, batch norm uses its running statistics.
    #[default]
    Eval,
}

/// What role a parameter plays, so regularizers and constraints know which to touch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum ParamKind {
    /// A weight that multiplies an input (a dense layer's matrix). Regularized by default.
    Weight,
    /// An additive offset (a dense layer's bias, batch norm's β). Not regularized by default.
    Bias,
    /// A per-feature scale (batch norm's γ). Not regularized by default.
    Scale,
}

/// A trainable tensor with its gradient.
#[derive(Clone, Debug, PartialEq)]
pub struct Param<T> {
    /// The name within its layer, e.g. `"weight"`; PyTorch's names are used.
    pub name: &'static str,
    /// Its role.
    pub kind: ParamKind,
    /// The current value.
    pub value: Tensor<T>,
    /// `∂L/∂value`, accumulated by [`Layer::backward`] until zeroed.
    pub grad: Tensor<T>,
}

impl<T: Scalar> Param<T> {
    /// A parameter with the given value and a zero gradient of the same shape.
    pub fn new(name: &'static str, kind: ParamKind, value: Tensor<T>) -> Self {
        let grad = value.zeros_like();
        Param {
            name,
            kind,
            value,
            grad,
        }
    }
}

/// Cloning a layer behind a `Box<dyn Layer<T>>`.
///
/// Implemented for every `L: Layer<T> + Clone + 'static`, so a user layer
/// that derives (or implements) `Clone` has it with nothing more to write.
pub trait LayerClone<T: Scalar> {
    /// A deep, independent copy of this layer, boxed.
    fn box_clone(&self) -> Box<dyn Layer<T>>;
}

impl<T: Scalar, L: Layer<T> + Clone + 'static> LayerClone<T> for L {
    fn box_clone(&self) -> Box<dyn Layer<T>> {
        Box::new(self.clone())
    }
}

impl<T: Scalar> Clone for Box<dyn Layer<T>> {
    fn clone(&self) -> Self {
        self.box_clone()
    }
}

/// A differentiable building block of a network, with a hand-written backward pass.
///
/// See the [module docs](self) for the protocol. Implementations must return
/// [`Error::InvalidState`](crate::Error::InvalidState) when `backward` is
/// called before `forward`, and [`Error::ShapeMismatch`](crate::Error::ShapeMismatch)
/// when the gradient does not have the output's shape.
///
/// A layer is `Send + Sync` and clonable ([`LayerClone`], automatic for a
/// `Clone` type), so a network of layers can be shared between threads and copied.
pub trait Layer<T: Scalar>: Debug + Send + Sync + LayerClone<T> {
    /// A short name for summaries, e.g. `"Dense"` or `"ReLU"`.
    fn kind(&self) -> &'static str;

    /// Inference through a shared reference: writes into `out` (resized as
    /// needed; no allocation once it has the right capacity) the output for
    /// `x`, bitwise equal to what `forward(x, Mode::Eval)` returns, without
    /// touching the layer. This is what lets many threads serve one network.
    ///
    /// # Errors
    /// A shape error when `x` does not fit the layer, as for [`Layer::forward`].
    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()>;

    /// The layer's description for a model file: a type tag (PyTorch's class
    /// name for the built-ins: `"Linear"`, `"ReLU"`, `"BatchNorm1d"`, …) and
    /// its hyper-parameters, from which a constructor registered in a
    /// [`LayerRegistry`] rebuilds it (the weights come from the file).
    /// `None`, the default, means the layer cannot be saved in a model file.
    fn config(&self) -> Option<LayerConfig> {
        None
    }

    /// The output's shape for an input of shape `input` (batch dimension first).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when the layer
    /// cannot take such an input.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>>;

    /// Computes the output for a batch `x`, keeping what `backward` needs.
    ///
    /// # Errors
    /// A shape error when `x` does not fit the layer.
    fn forward(&mut self, x: &Tensor<T>, mode: Mode) -> Result<&Tensor<T>>;

    /// Given `dy = ∂L/∂y` for the last forward pass, adds the parameter
    /// gradients into each [`Param::grad`] and returns `∂L/∂x`.
    ///
    /// # Errors
    /// [`Error::InvalidState`](crate::Error::InvalidState) before any forward
    /// pass in training mode, a shape error when `dy` differs from the output.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>>;

    // ---- Typed identity: what diagnostics, pictures and files know about a
    // layer. Library code asks these, never `kind()`, so a layer of your own
    // that declares them is treated exactly as a built-in.

    /// The element-wise function this layer applies, if it is an activation
    /// layer ([`Activation`](activation::Activation)); `None` for every other
    /// layer. Diagnostics use it to count saturated and dead outputs.
    fn activation(&self) -> Option<ActivationKind> {
        None
    }

    /// The weight matrix this layer applies, if it is a linear map: one of
    /// its parameters, of shape `[out, in]` (PyTorch's layout, `y = x·Wᵀ`
    /// plus any bias), whose row `i` holds output unit `i`'s incoming
    /// weights. [`Dense`](dense::Dense) returns its `weight`. The weight
    /// pictures ([`svg::unit_tiles`](crate::svg::unit_tiles),
    /// [`svg::weight_heatmap`](crate::svg::weight_heatmap)) and the importance
    /// maps ([`inspect::importance`](crate::inspect::importance)) use every
    /// layer that declares one. Provided: `None`.
    fn weight_matrix(&self) -> Option<&Param<T>> {
        None
    }

    /// Names of buffers that PyTorch's counterpart of this layer saves but
    /// this layer does not keep (`BatchNorm1d`'s `num_batches_tracked`);
    /// loading a weight file skips them. Provided: none.
    fn untracked_buffers(&self) -> &'static [&'static str] {
        &[]
    }

    // ---- end of typed identity.

    /// Like [`Layer::backward`] when `∂L/∂x` is not needed (the first layer of
    /// a network during training): only the parameter gradients are added.
    /// The default calls `backward` and discards `∂L/∂x`; layers whose input
    /// gradient costs real work override it.
    ///
    /// # Errors
    /// As for [`Layer::backward`].
    fn backward_params(&mut self, dy: &Tensor<T>) -> Result<()> {
        self.backward(dy).map(|_| ())
    }

    /// Calls `f` on every trainable parameter, in a stable order.
    fn visit_params<'a>(&'a self, _f: &mut dyn FnMut(&'a Param<T>)) {}

    /// Calls `f` on every trainable parameter, mutably, in the same order.
    fn visit_params_mut<'a>(&'a mut self, _f: &mut dyn FnMut(&'a mut Param<T>)) {}

    /// Calls `f` on every non-trainable state tensor that belongs in a saved
    /// model (batch norm's `running_mean`, `running_var`), with its name.
    fn visit_buffers<'a>(&'a self, _f: &mut dyn FnMut(&'static str, &'a Tensor<T>)) {}

    /// Calls `f` on every state tensor, mutably, in the same order.
    fn visit_buffers_mut<'a>(&'a mut self, _f: &mut dyn FnMut(&'static str, &'a mut Tensor<T>)) {}

    /// Saves the position of the layer's own random stream, if it has one
    /// (dropout's masks), so that [`Layer::restore_stream`] can rewind it.
    /// A failed training step and a diagnostic probe such as
    /// [`Network::audit_init`](crate::Network::audit_init) use the pair to
    /// leave the stream as it was. Must not allocate. Provided: nothing
    /// (a layer without randomness).
    fn save_stream(&mut self) {}

    /// Rewinds the layer's random stream to where [`Layer::save_stream`]
    /// saved it. Provided: nothing.
    fn restore_stream(&mut self) {}

    /// Sets every parameter gradient to zero.
    fn zero_grad(&mut self) {
        self.visit_params_mut(&mut |p| p.grad.fill(T::zero()));
    }

    /// The parameters, collected (allocates; use the visitor in hot loops).
    fn params(&self) -> Vec<&Param<T>> {
        let mut v = Vec::new();
        self.visit_params(&mut |p| v.push(p));
        v
    }

    /// The parameters, mutably.
    fn params_mut(&mut self) -> Vec<&mut Param<T>> {
        let mut v = Vec::new();
        self.visit_params_mut(&mut |p| v.push(p));
        v
    }

    /// Number of trainable scalars.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |p| n += p.value.len());
        n
    }
}

/// The checks every `backward` starts with: a forward pass has happened
/// (`output` is `None` before one), and `dy` has the output's shape.
///
/// # Errors
/// [`Error::InvalidState`](crate::Error::InvalidState) before a forward pass,
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) for a wrongly shaped `dy`.
pub fn check_backward<T: Scalar>(
    op: &'static str,
    output: Option<&Tensor<T>>,
    dy: &Tensor<T>,
) -> Result<()> {
    let Some(y) = output else {
        return Err(crate::Error::invalid_state(
            op,
            "backward called before forward (in training mode)",
        ));
    };
    if y.shape() != dy.shape() {
        return Err(crate::Error::shape_mismatch(
            op,
            y.shape(),
            dy.shape(),
            "the output gradient must have the output's shape",
        ));
    }
    Ok(())
}
