//! Deserializing the types whose constructors validate (feature `serde`):
//! each is read into its plain fields, then built by its own constructor, so
//! a stored `{"lambda": -1}` is the same error as `L2::new(-1.0)`.

use serde::Deserialize;

use crate::regularize::{ElasticNet, L1, L1Mode, L2};
use crate::{ActivationKind, Constraint, Constraints};
use crate::{Error, Result};

/// The fields of an [`L2`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct L2Fields {
    lambda: f64,
}

impl TryFrom<L2Fields> for L2 {
    type Error = Error;
    fn try_from(f: L2Fields) -> Result<Self> {
        L2::new(f.lambda)
    }
}

/// The fields of an [`L1`]; the mode defaults to proximal, as `L1::new`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct L1Fields {
    lambda: f64,
    #[serde(default)]
    mode: L1Mode,
}

impl TryFrom<L1Fields> for L1 {
    type Error = Error;
    fn try_from(f: L1Fields) -> Result<Self> {
        match f.mode {
            L1Mode::Proximal => L1::new(f.lambda),
            L1Mode::Subgradient => L1::subgradient(f.lambda),
        }
    }
}

/// The fields of an [`ElasticNet`]; the mode defaults to proximal.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ElasticNetFields {
    l1: f64,
    l2: f64,
    #[serde(default)]
    mode: L1Mode,
}

impl TryFrom<ElasticNetFields> for ElasticNet {
    type Error = Error;
    fn try_from(f: ElasticNetFields) -> Result<Self> {
        match f.mode {
            L1Mode::Proximal => ElasticNet::new(f.l1, f.l2),
            L1Mode::Subgradient => ElasticNet::subgradient(f.l1, f.l2),
        }
    }
}

/// The variants of an [`ActivationKind`] with their plain parameters, in the
/// same externally tagged form the derived `Serialize` writes.
#[derive(Deserialize)]
pub(crate) enum ActivationKindFields {
    Relu,
    LeakyRelu { negative_slope: f64 },
    Elu { alpha: f64 },
    Selu,
    Gelu,
    GeluTanh,
    Sigmoid,
    Tanh,
    Identity,
    Softplus { beta: f64, threshold: f64 },
}

impl TryFrom<ActivationKindFields> for ActivationKind {
    type Error = Error;
    fn try_from(f: ActivationKindFields) -> Result<Self> {
        use ActivationKindFields as F;
        Ok(match f {
            F::Relu => ActivationKind::Relu,
            F::LeakyRelu { negative_slope } => ActivationKind::leaky_relu(negative_slope)?,
            F::Elu { alpha } => ActivationKind::elu(alpha)?,
            F::Selu => ActivationKind::Selu,
            F::Gelu => ActivationKind::Gelu,
            F::GeluTanh => ActivationKind::GeluTanh,
            F::Sigmoid => ActivationKind::Sigmoid,
            F::Tanh => ActivationKind::Tanh,
            F::Identity => ActivationKind::Identity,
            F::Softplus { beta, threshold } => ActivationKind::softplus(beta, threshold)?,
        })
    }
}

/// The fields of a [`Constraints`] plan.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConstraintsFields {
    per_layer: Vec<(usize, Constraint)>,
}

impl TryFrom<ConstraintsFields> for Constraints {
    type Error = Error;
    fn try_from(f: ConstraintsFields) -> Result<Self> {
        let mut plan = Constraints::new();
        for (layer, c) in f.per_layer {
            if plan.get(layer).is_some() {
                return Err(Error::invalid_arg(
                    "Constraints layer",
                    layer,
                    "is given more than one constraint",
                ));
            }
            plan = plan.layer(layer, c);
        }
        Ok(plan)
    }
}
