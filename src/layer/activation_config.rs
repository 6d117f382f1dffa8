//! Activations in a model file: [`ActivationKind`] to and from a [`LayerConfig`].
//!
//! Type tags and arguments are PyTorch's: `ReLU()`, `LeakyReLU(negative_slope)`,
//! `ELU(alpha)`, `SELU()`, `GELU(approximate='none' | 'tanh')`, `Sigmoid()`,
//! `Tanh()`, `Identity()`, `Softplus(beta, threshold)`.

use super::activation::{Activation, ActivationKind};
use super::{Layer, LayerConfig};
use crate::{Result, Scalar};

/// Every type tag an activation is saved under.
pub(crate) const CONFIG_TYPES: [&str; 9] = [
    "ReLU",
    "LeakyReLU",
    "ELU",
    "SELU",
    "GELU",
    "Sigmoid",
    "Tanh",
    "Identity",
    "Softplus",
];

impl ActivationKind {
    /// The model-file description: PyTorch's class name and arguments.
    ///
    /// ```
    /// use weightwise::ActivationKind;
    /// # fn main() -> weightwise::Result<()> {
    /// let c = ActivationKind::leaky_relu(0.2)?.config();
    /// assert_eq!(c.type_name, "LeakyReLU");
    /// assert_eq!(ActivationKind::from_config(&c)?, ActivationKind::leaky_relu(0.2)?);
    /// # Ok(()) }
    /// ```
    pub fn config(self) -> LayerConfig {
        let c = LayerConfig::new(self.name());
        match self {
            ActivationKind::LeakyRelu { negative_slope } => {
                c.with("negative_slope", negative_slope)
            }
            ActivationKind::Elu { alpha } => c.with("alpha", alpha),
            ActivationKind::Gelu => c.with("approximate", "none"),
            ActivationKind::GeluTanh => c.with("approximate", "tanh"),
            ActivationKind::Softplus { beta, threshold } => {
                c.with("beta", beta).with("threshold", threshold)
            }
            ActivationKind::Relu
            | ActivationKind::Selu
            | ActivationKind::Sigmoid
            | ActivationKind::Tanh
            | ActivationKind::Identity => c,
        }
    }

    /// The activation a model-file description names. Arguments PyTorch
    /// would default may be left out (`GELU` is `approximate='none'`,
    /// `LeakyReLU` 0.01, `ELU` 1, `Softplus` β 1 and threshold 20).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a type
    /// that is not an activation or an invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Self> {
        let or = |name: &str, default: f64| match config.get(name) {
            None => Ok(default),
            Some(_) => config.f64(name),
        };
        match config.type_name.as_str() {
            "ReLU" => Ok(ActivationKind::Relu),
            "LeakyReLU" => ActivationKind::leaky_relu(or("negative_slope", 0.01)?),
            "ELU" => ActivationKind::elu(or("alpha", 1.0)?),
            "SELU" => Ok(ActivationKind::Selu),
            "GELU" => match config.get("approximate").map(|_| config.str("approximate")) {
                None => Ok(ActivationKind::Gelu),
                Some(Ok("none")) => Ok(ActivationKind::Gelu),
                Some(Ok("tanh")) => Ok(ActivationKind::GeluTanh),
                _ => Err(config.unsupported("approximate", "'none' or 'tanh'")),
            },
            "Sigmoid" => Ok(ActivationKind::Sigmoid),
            "Tanh" => Ok(ActivationKind::Tanh),
            "Identity" => Ok(ActivationKind::Identity),
            "Softplus" => ActivationKind::softplus(or("beta", 1.0)?, or("threshold", 20.0)?),
            _ => Err(crate::Error::invalid_arg(
                "activation type",
                format!("'{}'", config.type_name),
                format!("expected one of {}", CONFIG_TYPES.join(", ")),
            )),
        }
    }
}

impl<T: Scalar> Activation<T> {
    /// Rebuilds the layer from its model-file description (see
    /// [`ActivationKind::from_config`]).
    ///
    /// # Errors
    /// As for [`ActivationKind::from_config`].
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(Activation::new(ActivationKind::from_config(
            config,
        )?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_and_defaults_apply() {
        let kinds = [
            ActivationKind::Relu,
            ActivationKind::leaky_relu(0.2).unwrap(),
            ActivationKind::elu(0.5).unwrap(),
            ActivationKind::Selu,
            ActivationKind::Gelu,
            ActivationKind::GeluTanh,
            ActivationKind::Sigmoid,
            ActivationKind::Tanh,
            ActivationKind::Identity,
            ActivationKind::softplus(2.0, 3.0).unwrap(),
        ];
        for k in kinds {
            let c = k.config();
            assert!(CONFIG_TYPES.contains(&c.type_name.as_str()));
            assert_eq!(ActivationKind::from_config(&c).unwrap(), k);
        }
        let bare = |t: &str| ActivationKind::from_config(&LayerConfig::new(t)).unwrap();
        assert_eq!(bare("LeakyReLU"), ActivationKind::leaky_relu(0.01).unwrap());
        assert_eq!(bare("ELU"), ActivationKind::elu(1.0).unwrap());
        assert_eq!(bare("GELU"), ActivationKind::Gelu);
        assert_eq!(
            bare("Softplus"),
            ActivationKind::softplus(1.0, 20.0).unwrap()
        );
        let bad = LayerConfig::new("GELU").with("approximate", "erf");
        assert!(ActivationKind::from_config(&bad).is_err());
        let bad = LayerConfig::new("ELU").with("alpha", -1.0);
        assert!(ActivationKind::from_config(&bad).is_err());
        assert!(ActivationKind::from_config(&LayerConfig::new("Linear")).is_err());
    }
}
