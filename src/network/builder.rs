//! [`NetworkBuilder`]: a network that reads like its diagram.

use rand::Rng;

use crate::init::Initializer;
use crate::layer::Layer;
use crate::layer::activation::Activation;
use crate::layer::avg_pool::{AvgPool2d, GlobalAvgPool2d};
use crate::layer::batch_norm::BatchNorm;
use crate::layer::batch_norm2d::BatchNorm2d;
use crate::layer::conv2d::{Conv2d, Conv2dOptions, IntoPair};
use crate::layer::dense::Dense;
use crate::layer::dropout::Dropout;
use crate::layer::flatten::Flatten;
use crate::layer::max_pool::MaxPool2d;
use crate::layer::softmax::Softmax;
use crate::{Error, Network, Result, Scalar};

enum Spec<T: Scalar> {
    Dense {
        units: usize,
        init: Box<dyn Initializer<T>>,
        bias: bool,
    },
    Activation(Activation<T>),
    Softmax,
    Dropout(f64),
    BatchNorm,
    Conv2d {
        out_channels: usize,
        kernel: (usize, usize),
        options: Conv2dOptions,
        init: Box<dyn Initializer<T>>,
    },
    BatchNorm2d,
    Layer(Box<dyn Layer<T>>),
}

/// Builds a [`Network`]: the input width (or per-sample shape) once, then
/// each layer in order.
///
/// Each `dense` names its width and its initializer; the fans are computed
/// from the layer's shape. Nothing is allocated or drawn until
/// [`build`](NetworkBuilder::build), which reports the first invalid
/// setting.
///
/// ```
/// use weightwise::rand::{SeedableRng, rngs::StdRng};
/// use weightwise::prelude::*;
/// # fn main() -> weightwise::Result<()> {
/// let net = Network::<f32>::builder(64)
///     .dense(128, Init::he_normal()).relu()
///     .dense(64, Init::he_normal()).relu()
///     .dense(10, Init::xavier_uniform())
///     .build(&mut StdRng::seed_from_u64(42))?;
/// assert_eq!(net.outputs(), 10);
/// # Ok(()) }
/// ```
pub struct NetworkBuilder<T: Scalar> {
    input_shape: Vec<usize>,
    specs: Vec<Spec<T>>,
    error: Option<Error>,
}

impl<T: Scalar> std::fmt::Debug for NetworkBuilder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkBuilder")
            .field("input_shape", &self.input_shape)
            .field("layers", &self.specs.len())
            .finish()
    }
}

impl<T: Scalar> NetworkBuilder<T> {
    pub(super) fn new(input_shape: Vec<usize>) -> Self {
        NetworkBuilder {
            input_shape,
            specs: Vec::new(),
            error: None,
        }
    }

    fn push(mut self, spec: Spec<T>) -> Self {
        self.specs.push(spec);
        self
    }

    fn push_result(mut self, r: Result<Activation<T>>) -> Self {
        match r {
            Ok(a) => self.push(Spec::Activation(a)),
            Err(e) => {
                self.error.get_or_insert(e);
                self
            }
        }
    }

    /// A [`Dense`] layer of `units` outputs, weights drawn by `init`, bias zero.
    pub fn dense(self, units: usize, init: impl Initializer<T> + 'static) -> Self {
        self.push(Spec::Dense {
            units,
            init: Box::new(init),
            bias: true,
        })
    }

    /// A [`Dense`] layer without a bias.
    pub fn dense_without_bias(self, units: usize, init: impl Initializer<T> + 'static) -> Self {
        self.push(Spec::Dense {
            units,
            init: Box::new(init),
            bias: false,
        })
    }

    /// Any activation layer.
    pub fn activation(self, activation: Activation<T>) -> Self {
        self.push(Spec::Activation(activation))
    }

    /// ReLU: `max(0, x)`.
    pub fn relu(self) -> Self {
        self.activation(Activation::relu())
    }

    /// Leaky ReLU with the given negative slope (PyTorch's default is 0.01).
    pub fn leaky_relu(self, negative_slope: f64) -> Self {
        self.push_result(Activation::leaky_relu(negative_slope))
    }

    /// ELU with the given α (PyTorch's default is 1).
    pub fn elu(self, alpha: f64) -> Self {
        self.push_result(Activation::elu(alpha))
    }

    /// GELU, exact (erf-based), PyTorch's default.
    pub fn gelu(self) -> Self {
        self.activation(Activation::gelu())
    }

    /// Logistic sigmoid.
    pub fn sigmoid(self) -> Self {
        self.activation(Activation::sigmoid())
    }

    /// Hyperbolic tangent.
    pub fn tanh(self) -> Self {
        self.activation(Activation::tanh())
    }

    /// Row-wise softmax. For classification prefer logits with
    /// [`Loss::softmax_cross_entropy`](crate::loss::Loss::softmax_cross_entropy).
    pub fn softmax(self) -> Self {
        self.push(Spec::Softmax)
    }

    /// Inverted dropout with drop probability `p`, seeded from the build `Rng`.
    pub fn dropout(self, p: f64) -> Self {
        self.push(Spec::Dropout(p))
    }

    /// Batch normalization over the features (PyTorch `BatchNorm1d` defaults).
    pub fn batch_norm(self) -> Self {
        self.push(Spec::BatchNorm)
    }

    /// Any layer of your own.
    pub fn layer(self, layer: Box<dyn Layer<T>>) -> Self {
        self.push(Spec::Layer(layer))
    }

    fn push_layer<L: Layer<T> + 'static>(mut self, layer: Result<L>) -> Self {
        match layer {
            Ok(l) => self.push(Spec::Layer(Box::new(l))),
            Err(e) => {
                self.error.get_or_insert(e);
                self
            }
        }
    }

    /// A [`Conv2d`] to `out_channels` channels with a `kernel` (one size or
    /// `(kh, kw)`), the input channels taken from the previous layer's
    /// `[channels, height, width]` output, weights drawn by `init` with
    /// PyTorch's fans (`fan_in = in_c·kh·kw`), bias zero.
    ///
    /// ```
    /// use weightwise::rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::prelude::*;
    /// # fn main() -> weightwise::Result<()> {
    /// let net = Network::<f32>::builder_shape(&[1, 8, 8])
    ///     .conv2d(8, 3, Conv2dOptions::default().padding(1), Init::he_normal()).relu()
    ///     .max_pool2d(2)
    ///     .flatten()
    ///     .dense(10, Init::xavier_uniform())
    ///     .build(&mut StdRng::seed_from_u64(0))?;
    /// assert_eq!(net.layers()[2].output_shape(&[1, 8, 8, 8])?, vec![1, 8, 4, 4]);
    /// assert_eq!(net.outputs(), 10);
    /// # Ok(()) }
    /// ```
    pub fn conv2d(
        self,
        out_channels: usize,
        kernel: impl IntoPair,
        options: Conv2dOptions,
        init: impl Initializer<T> + 'static,
    ) -> Self {
        self.push(Spec::Conv2d {
            out_channels,
            kernel: kernel.pair(),
            options,
            init: Box::new(init),
        })
    }

    /// [`MaxPool2d`] with a `kernel` and stride equal to it (PyTorch's `nn.MaxPool2d(k)`).
    pub fn max_pool2d(self, kernel: impl IntoPair) -> Self {
        self.push_layer(MaxPool2d::new(kernel))
    }

    /// [`AvgPool2d`] with a `kernel` and stride equal to it (PyTorch's `nn.AvgPool2d(k)`).
    pub fn avg_pool2d(self, kernel: impl IntoPair) -> Self {
        self.push_layer(AvgPool2d::new(kernel))
    }

    /// [`GlobalAvgPool2d`]: each channel's mean, `[c, h, w]` → `[c, 1, 1]`.
    pub fn global_avg_pool2d(self) -> Self {
        self.push_layer(Ok(GlobalAvgPool2d::new()))
    }

    /// [`Flatten`]: each sample's values as one row, e.g. `[c, h, w]` → `[c·h·w]`.
    pub fn flatten(self) -> Self {
        self.push_layer(Ok(Flatten::new()))
    }

    /// [`BatchNorm2d`] over the previous layer's channels (PyTorch's defaults).
    pub fn batch_norm2d(self) -> Self {
        self.push(Spec::BatchNorm2d)
    }

    /// Creates the layers, drawing their initial weights (and dropout seeds)
    /// from `rng` in order: the same seed gives the same network.
    ///
    /// # Errors
    /// The first invalid setting: zero inputs or units, an invalid
    /// initializer or activation parameter, a dropout probability outside
    /// [0, 1], a custom layer that does not fit;
    /// [`Error::InvalidState`] for a network without layers.
    pub fn build(self, rng: &mut dyn Rng) -> Result<Network<T>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.specs.is_empty() {
            return Err(Error::invalid_state(
                "NetworkBuilder::build",
                "the network has no layers: add at least one (e.g. .dense(units, init))",
            ));
        }
        let mut net = Network::with_input_shape(&self.input_shape)?;
        for spec in self.specs {
            let width = net.outputs();
            let layer: Box<dyn Layer<T>> = match spec {
                Spec::Dense { units, init, bias } => {
                    let d = Dense::new(width, units, init.as_ref(), rng)?;
                    Box::new(if bias { d } else { d.without_bias() })
                }
                Spec::Activation(a) => Box::new(a),
                Spec::Softmax => Box::new(Softmax::new()),
                Spec::Dropout(p) => Box::new(Dropout::new(p, rng.next_u64())?),
                Spec::BatchNorm => Box::new(BatchNorm::new(width)?),
                Spec::Conv2d {
                    out_channels,
                    kernel,
                    options,
                    init,
                } => {
                    let c = image_channels(&net, "conv2d")?;
                    Box::new(Conv2d::new(
                        c,
                        out_channels,
                        kernel,
                        options,
                        init.as_ref(),
                        rng,
                    )?)
                }
                Spec::BatchNorm2d => {
                    Box::new(BatchNorm2d::new(image_channels(&net, "batch_norm2d")?)?)
                }
                Spec::Layer(l) => l,
            };
            net.push(layer)?;
        }
        Ok(net)
    }
}

/// The channel count of the network's current `[channels, height, width]` output.
fn image_channels<T: Scalar>(net: &Network<T>, op: &'static str) -> Result<usize> {
    match *net.output_shape() {
        [c, _, _] => Ok(c),
        ref other => Err(Error::invalid_shape(
            op,
            other,
            "needs samples of shape [channels, height, width] (build with Network::builder_shape)",
        )),
    }
}
