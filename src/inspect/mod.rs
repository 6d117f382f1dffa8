//! Seeing what the weights do: statistics, activation and gradient
//! diagnostics, input importance.
//!
//! - [`TensorStats`] summarises one tensor (mean, population std, extremes,
//!   norms, zero fractions, histogram); [`Network::weight_report`] does so for
//!   every parameter and prints a table.
//! - [`Network::activation_report`] runs a batch layer by layer and reports
//!   each output's spread, saturated fraction (sigmoid, tanh) and dead
//!   fraction (ReLU).
//! - [`Network::audit_init`] is the one call to make before training: it
//!   sends a probe batch forward and a gradient back and flags the layers
//!   where the signal vanishes, explodes, saturates or dies.
//! - [`first_layer_norms`] and [`weight_path_importance`] read which inputs
//!   the weights listen to, from the weights alone.
//! - [`attribution`] (saliency, gradient × input, integrated gradients,
//!   SmoothGrad) and [`occlusion`] say which inputs matter for one output
//!   *at a given input*, from the network's own backward pass.
//!
//! The pictures of all this are in [`crate::svg`] ([`crate::svg::unit_tiles`],
//! [`crate::svg::weight_histograms`], …).
//!
//! [`Network::weight_report`]: crate::Network::weight_report
//! [`Network::activation_report`]: crate::Network::activation_report
//! [`Network::audit_init`]: crate::Network::audit_init

pub mod activations;
pub mod attribution;
pub mod audit;
pub mod importance;
pub mod occlusion;
pub mod stats;
pub mod weights;

pub use activations::{ActivationReport, LayerActivations};
pub use audit::{AUDIT_SEED, AuditThresholds, Flag, InitAudit, LayerAudit};
pub use importance::{first_layer_norms, weight_path_importance};
pub use stats::{DEFAULT_BINS, DEFAULT_NEAR_ZERO, Histogram, TensorStats};
pub use weights::{LayerWeightStats, ParamStats, WeightReport};
