//! Deserializing the types whose constructors validate (feature `serde`):
//! each is read into its plain fields, then built by its own constructor, so
//! a stored `{"lambda": -1}` is the same error as `L2::new(-1.0)`.

use serde::Deserialize;

use crate::regularize::{ElasticNet, L1, L1Mode, L2};
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
