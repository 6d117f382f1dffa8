//! [`LayerRegistry`]: from a type tag to the code that rebuilds the layer.

use super::activation::Activation;
use super::avg_pool::{AvgPool2d, GlobalAvgPool2d};
use super::batch_norm::BatchNorm;
use super::batch_norm2d::BatchNorm2d;
use super::conv2d::Conv2d;
use super::dense::Dense;
use super::dropout::Dropout;
use super::flatten::Flatten;
use super::max_pool::MaxPool2d;
use super::softmax::Softmax;
use super::{Layer, LayerConfig};
use crate::{Error, Result, Scalar};

/// Rebuilds a layer from its [`LayerConfig`], with its parameters at any
/// value (a model file's tensors overwrite them).
pub type LayerConstructor<T> = fn(&LayerConfig) -> Result<Box<dyn Layer<T>>>;

/// Which layer types a model file may name, and how to build each.
///
/// [`LayerRegistry::builtin`] knows every built-in layer; register your own
/// so that model files holding them load too:
///
/// ```
/// use weightwise::layer::{LayerConfig, LayerRegistry};
/// use weightwise::prelude::*;
/// # fn main() -> weightwise::Result<()> {
/// let mut registry = LayerRegistry::<f32>::builtin();
/// // Say "Scale2" is a layer of your own, saved with `config()` returning
/// // `LayerConfig::new("Scale2")`; here an identity stands in for it.
/// registry.register("Scale2", |_config| Ok(Box::new(Activation::identity())));
/// let layer = registry.build(&LayerConfig::new("Scale2"))?;
/// assert_eq!(layer.kind(), "Identity");
/// assert!(registry.build(&LayerConfig::new("Conv9d")).is_err());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct LayerRegistry<T: Scalar> {
    constructors: Vec<(String, LayerConstructor<T>)>,
}

impl<T: Scalar> std::fmt::Debug for LayerRegistry<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.constructors.iter().map(|(n, _)| n))
            .finish()
    }
}

impl<T: Scalar> Default for LayerRegistry<T> {
    /// The same as [`LayerRegistry::builtin`].
    fn default() -> Self {
        Self::builtin()
    }
}

impl<T: Scalar> LayerRegistry<T> {
    /// A registry that knows no layer type.
    pub fn empty() -> Self {
        LayerRegistry {
            constructors: Vec::new(),
        }
    }

    /// A registry of every built-in layer, under PyTorch's class names:
    /// `Linear` ([`Dense`]), `BatchNorm1d` ([`BatchNorm`]), `Dropout`,
    /// `Softmax`, and the activations `ReLU`, `LeakyReLU`, `ELU`, `SELU`,
    /// `GELU`, `Sigmoid`, `Tanh`, `Identity`, `Softplus`.
    pub fn builtin() -> Self {
        let mut r = Self::empty();
        r.register("Linear", Dense::<T>::from_config);
        r.register("BatchNorm1d", BatchNorm::<T>::from_config);
        r.register("BatchNorm2d", BatchNorm2d::<T>::from_config);
        r.register("Conv2d", Conv2d::<T>::from_config);
        r.register("MaxPool2d", MaxPool2d::<T>::from_config);
        r.register("AvgPool2d", AvgPool2d::<T>::from_config);
        r.register("AdaptiveAvgPool2d", GlobalAvgPool2d::<T>::from_config);
        r.register("Flatten", Flatten::<T>::from_config);
        r.register("Dropout", Dropout::<T>::from_config);
        r.register("Softmax", Softmax::<T>::from_config);
        for tag in super::activation_config::CONFIG_TYPES {
            r.register(tag, Activation::<T>::from_config);
        }
        r
    }

    /// Registers (or replaces) the constructor for `type_name`.
    pub fn register(&mut self, type_name: &str, constructor: LayerConstructor<T>) -> &mut Self {
        match self.constructors.iter_mut().find(|(n, _)| n == type_name) {
            Some(slot) => slot.1 = constructor,
            None => self.constructors.push((type_name.to_string(), constructor)),
        }
        self
    }

    /// The registered type names, in registration order.
    pub fn type_names(&self) -> impl Iterator<Item = &str> {
        self.constructors.iter().map(|(n, _)| n.as_str())
    }

    /// Builds the layer `config` describes.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a type this registry does not know
    /// (listing the ones it does); the constructor's error for invalid arguments.
    pub fn build(&self, config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        match self
            .constructors
            .iter()
            .find(|(n, _)| *n == config.type_name)
        {
            Some((_, c)) => c(config),
            None => Err(Error::invalid_arg(
                "layer type",
                format!("'{}'", config.type_name),
                format!(
                    "this build does not know it (known: {}); register a constructor \
                     for it with LayerRegistry::register",
                    self.type_names().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
}
