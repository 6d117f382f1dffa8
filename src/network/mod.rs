//! [`Network`]: an ordered stack of layers with forward and backward passes.
//!
//! Layers are numbered from 0 in the order they were added, activations
//! included, exactly as PyTorch numbers an `nn.Sequential`. A parameter's full
//! name is `"{index}.{name}"`, so `nn.Sequential(nn.Linear(64, 128), nn.ReLU(),
//! nn.Linear(128, 10))` and the same weightwise network both have the tensors
//! `0.weight`, `0.bias`, `2.weight`, `2.bias`, with the same shapes (dense
//! weights are `[out, in]`). That is what lets weights move between the two.

mod builder;
mod infer;
mod summary;

use std::fmt::Write as _;

pub use builder::NetworkBuilder;
pub use infer::Workspace;

use crate::layer::{Layer, Mode, Param};
use crate::{Error, Result, Scalar, Tensor};

/// A feed-forward network: layers applied in order to a batch of samples.
///
/// A sample has the network's input shape ([`Network::input_shape`]): a row
/// of width `inputs` for [`Network::builder`]`(inputs)`, or any per-sample
/// shape, e.g. `[1, 8, 8]` for one-channel 8×8 images in PyTorch's NCHW
/// layout, for [`Network::builder_shape`]. A batch adds the batch dimension
/// in front: `[n, inputs]` or `[n, 1, 8, 8]`.
///
/// A network is `Clone` (a deep, independent copy: keep a best model, build
/// an ensemble, hand a copy to a worker) and `Send + Sync`: inference through
/// `&self` ([`Network::predict`], [`Network::predict_with`]) lets many
/// threads serve one `Arc<Network>` at once.
///
/// ```
/// use weightwise::rand::{SeedableRng, rngs::StdRng};
/// use weightwise::prelude::*;
/// # fn main() -> weightwise::Result<()> {
/// let mut rng = StdRng::seed_from_u64(0);
/// let net = Network::<f64>::builder(2)
///     .dense(4, Init::he_normal()).relu()
///     .dense(1, Init::xavier_uniform())
///     .build(&mut rng)?;
/// assert_eq!(net.num_params(), 2 * 4 + 4 + 4 + 1);
/// let y = net.predict(&Tensor::from_rows(&[[0.0, 1.0], [1.0, 0.0]])?)?;
/// assert_eq!(y.shape(), &[2, 1]);
/// println!("{net}"); // a summary table: layer, output shape, parameters
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Network<T: Scalar> {
    /// The shape of one sample, without the batch dimension.
    input_shape: Vec<usize>,
    layers: Vec<Box<dyn Layer<T>>>,
    /// Pruning masks (see [`crate::prune`]), applied by every training step.
    pub(crate) masks: crate::prune::Masks<T>,
}

impl<T: Scalar> Network<T> {
    /// Starts a [`NetworkBuilder`] for samples that are rows of width `inputs`
    /// (input shape `[inputs]`).
    pub fn builder(inputs: usize) -> NetworkBuilder<T> {
        NetworkBuilder::new(vec![inputs])
    }

    /// Starts a [`NetworkBuilder`] for samples of shape `shape` (without the
    /// batch dimension), e.g. `&[1, 8, 8]` for one-channel 8×8 images
    /// (NCHW, as PyTorch). `builder_shape(&[64])` is `builder(64)`.
    pub fn builder_shape(shape: &[usize]) -> NetworkBuilder<T> {
        NetworkBuilder::new(shape.to_vec())
    }

    /// An empty network taking rows of width `inputs`; add layers with [`Network::push`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `inputs` is zero.
    pub fn new(inputs: usize) -> Result<Self> {
        Self::with_input_shape(&[inputs])
    }

    /// An empty network taking samples of shape `shape` (without the batch
    /// dimension); add layers with [`Network::push`].
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `shape` is empty, has a zero dimension,
    /// or has more elements than `usize` can count.
    pub fn with_input_shape(shape: &[usize]) -> Result<Self> {
        let valid = !shape.is_empty()
            && !shape.contains(&0)
            && shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .is_some();
        if !valid {
            return Err(Error::invalid_arg(
                "network input shape",
                format!("{shape:?}"),
                "a sample needs at least one dimension, none of them zero \
                 (e.g. [64] or [1, 8, 8])",
            ));
        }
        Ok(Network {
            input_shape: shape.to_vec(),
            layers: Vec::new(),
            masks: Default::default(),
        })
    }

    /// `[n, input_shape…]`: the shape of a batch of `n` samples.
    fn batch_shape(n: usize, sample: &[usize]) -> Vec<usize> {
        let mut s = Vec::with_capacity(sample.len() + 1);
        s.push(n);
        s.extend_from_slice(sample);
        s
    }

    /// Appends a layer, checking that it accepts the current output shape.
    ///
    /// # Errors
    /// The layer's shape error if it cannot take the previous layer's output.
    pub fn push(&mut self, layer: Box<dyn Layer<T>>) -> Result<()> {
        layer.output_shape(&Self::batch_shape(1, &self.output_shape()))?;
        self.layers.push(layer);
        Ok(())
    }

    /// The shape of one input sample, without the batch dimension: `[64]`
    /// for `builder(64)`, `[1, 8, 8]` for `builder_shape(&[1, 8, 8])`.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Number of input values per sample: the product of
    /// [`Network::input_shape`] (the width of an input row for `builder(inputs)`).
    pub fn inputs(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// The shape of one output sample, without the batch dimension, e.g.
    /// `[10]`. (Layers are checked when pushed; should one swapped in through
    /// [`Network::layers_mut`] not fit, the shape before it is returned.)
    pub fn output_shape(&self) -> Vec<usize> {
        let mut shape = Self::batch_shape(1, &self.input_shape);
        for l in &self.layers {
            match l.output_shape(&shape) {
                Ok(s) if s.len() > 1 => shape = s,
                _ => break,
            }
        }
        shape.split_off(1)
    }

    /// Number of output values per sample: the product of
    /// [`Network::output_shape`] (the width of an output row for a classifier).
    pub fn outputs(&self) -> usize {
        self.output_shape().iter().product()
    }

    /// The layers, in order.
    pub fn layers(&self) -> &[Box<dyn Layer<T>>] {
        &self.layers
    }

    /// The layers, mutably.
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer<T>>] {
        &mut self.layers
    }

    /// Checks that `x` is a batch of samples of the input shape.
    pub(crate) fn check_input(&self, op: &'static str, x: &Tensor<T>) -> Result<()> {
        if x.shape().get(1..) == Some(&self.input_shape[..]) {
            return Ok(());
        }
        Err(Error::shape_mismatch(
            op,
            x.shape(),
            &self.input_shape,
            "the input must be a batch [n, input shape…] of samples of the network's input shape",
        ))
    }

    /// The forward pass of a batch `x` (`[n, input shape…]`) in `mode`; the
    /// result lives in the last layer's buffer.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x.shape()[1..]` is not the input shape;
    /// any layer error.
    pub fn forward<'a>(&'a mut self, x: &'a Tensor<T>, mode: Mode) -> Result<&'a Tensor<T>> {
        self.check_input("Network forward", x)?;
        let mut y = x;
        for layer in self.layers.iter_mut() {
            y = layer.forward(y, mode)?;
        }
        Ok(y)
    }

    /// The backward pass from `dy = ∂L/∂output`: every layer adds its
    /// parameter gradients, and `∂L/∂input` is returned.
    ///
    /// # Errors
    /// [`Error::InvalidState`] before a forward pass; a shape error for a wrongly shaped `dy`.
    pub fn backward<'a>(&'a mut self, dy: &'a Tensor<T>) -> Result<&'a Tensor<T>> {
        let mut g = dy;
        for layer in self.layers.iter_mut().rev() {
            g = layer.backward(g)?;
        }
        Ok(g)
    }

    /// The backward pass for training: like [`Network::backward`], but the
    /// first layer computes only its parameter gradients, since nothing needs
    /// `∂L/∂input` (for a dense first layer that saves a third of its work).
    ///
    /// # Errors
    /// As for [`Network::backward`].
    pub fn backward_params(&mut self, dy: &Tensor<T>) -> Result<()> {
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return Ok(());
        };
        let mut g = dy;
        for layer in rest.iter_mut().rev() {
            g = layer.backward(g)?;
        }
        first.backward_params(g)
    }

    /// Sets every parameter gradient to zero.
    pub fn zero_grad(&mut self) {
        for l in &mut self.layers {
            l.zero_grad();
        }
    }

    /// Number of trainable scalars.
    pub fn num_params(&self) -> usize {
        self.layers.iter().map(|l| l.num_params()).sum()
    }

    /// Calls `f(layer_index, param)` for every parameter, in a stable order
    /// (layer by layer, each layer's own order). Allocates nothing.
    pub fn visit_params<'a>(&'a self, f: &mut dyn FnMut(usize, &'a Param<T>)) {
        for (i, l) in self.layers.iter().enumerate() {
            l.visit_params(&mut |p| f(i, p));
        }
    }

    /// Calls `f(layer_index, param)` for every parameter, mutably, in the same order.
    pub fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(usize, &'a mut Param<T>)) {
        for (i, l) in self.layers.iter_mut().enumerate() {
            l.visit_params_mut(&mut |p| f(i, p));
        }
    }

    /// The parameters, mutably, in the stable order (for an optimizer step).
    pub fn params_mut(&mut self) -> Vec<&mut Param<T>> {
        let mut v = Vec::new();
        self.visit_params_mut(&mut |_, p| v.push(p));
        v
    }

    /// Every parameter with its full name (`"0.weight"`), in the stable order.
    pub fn named_params(&self) -> Vec<(String, &Param<T>)> {
        let mut v = Vec::new();
        self.visit_params(&mut |i, p| v.push((format!("{i}.{}", p.name), p)));
        v
    }

    /// Every tensor a saved model holds, parameters and buffers (batch norm's
    /// running statistics), with full names, in a stable order.
    pub fn named_tensors(&self) -> Vec<(String, &Tensor<T>)> {
        let mut v = Vec::new();
        for (i, l) in self.layers.iter().enumerate() {
            l.visit_params(&mut |p| v.push((format!("{i}.{}", p.name), &p.value)));
            l.visit_buffers(&mut |name, t| v.push((format!("{i}.{name}"), t)));
        }
        v
    }

    /// The parameter or buffer called `name` (`"2.weight"`, `"1.running_mean"`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown name, listing the known ones.
    pub fn tensor(&self, name: &str) -> Result<&Tensor<T>> {
        let all = self.named_tensors();
        match all.iter().position(|(n, _)| n == name) {
            Some(i) => Ok(all[i].1),
            None => Err(self.unknown(name)),
        }
    }

    /// Replaces the parameter or buffer called `name` with `value`, which must
    /// have the same shape: this is how weights from another framework are loaded.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an unknown name, [`Error::ShapeMismatch`]
    /// for a value of another shape.
    pub fn set_tensor(&mut self, name: &str, value: &Tensor<T>) -> Result<()> {
        let (index, local) = name
            .split_once('.')
            .and_then(|(i, n)| Some((i.parse::<usize>().ok()?, n)))
            .ok_or_else(|| self.unknown(name))?;
        let mut found: Option<Result<()>> = None;
        if let Some(layer) = self.layers.get_mut(index) {
            let mut assign = |dst: &mut Tensor<T>| {
                found = Some(if dst.shape() == value.shape() {
                    dst.assign(value);
                    Ok(())
                } else {
                    Err(Error::shape_mismatch(
                        "set_tensor",
                        dst.shape(),
                        value.shape(),
                        "a loaded tensor must have the parameter's shape",
                    ))
                });
            };
            layer.visit_params_mut(&mut |p| {
                if p.name == local {
                    assign(&mut p.value);
                }
            });
            layer.visit_buffers_mut(&mut |n, t| {
                if n == local {
                    assign(t);
                }
            });
        }
        found.unwrap_or_else(|| Err(self.unknown(name)))
    }

    fn unknown(&self, name: &str) -> Error {
        let mut known = String::new();
        for (i, (n, _)) in self.named_tensors().iter().enumerate() {
            if i > 0 {
                known.push_str(", ");
            }
            let _ = write!(known, "{n}");
        }
        Error::invalid_arg(
            "tensor name",
            format!("'{name}'"),
            format!("the network has {known}"),
        )
    }
}
