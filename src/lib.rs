//! # weightwise
//!
//! Neural networks in pure Rust where the **weights** are first-class: how they
//! start (initialization), how they move (loss, gradient descent, learning
//! rate), how they are kept in check (L1/L2 regularization), and how you see
//! and keep them.
//!
//! ## A tour
//!
//! Everything is built on [`Tensor<T>`], a dense row-major array of `f32` or
//! `f64` ([`Scalar`]). Operations that can meet bad input return
//! [`Result`], whose [`Error`] names the operation and the shapes:
//!
//! ```
//! use weightwise::prelude::*;
//! # fn main() -> weightwise::Result<()> {
//! let x = Tensor::from_rows(&[[1.0f32, 2.0], [3.0, 4.0]])?;
//! let w = Tensor::from_rows(&[[0.5f32, -1.0], [0.25, 2.0]])?;
//! // A dense layer computes y = x·Wᵀ + b without materialising the transpose.
//! let y = x.matmul_t(&w)?.add_row(&Tensor::from_slice(&[0.1, 0.2]))?;
//! assert_eq!(y.shape(), &[2, 2]);
//! let err = x.matmul(&Tensor::zeros(&[3, 1])?).unwrap_err();
//! assert_eq!(err.to_string(), "matmul: left is 2×2, right is 3×1 (inner dimensions differ)");
//! # Ok(()) }
//! ```
//!
//! ## Conventions
//! - Tensors are row-major; a batch is a 2-D tensor with one sample per row.
//! - Randomness always comes from a caller's [`rand::Rng`]: the same seed gives
//!   the same numbers.
//!
//! ## Minimum supported Rust version
//! Rust 1.85 (edition 2024).

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms)]

pub mod constraint;
pub mod data;
pub mod error;
mod gemm;
pub mod gradcheck;
pub mod init;
pub mod inspect;
pub mod layer;
pub mod loss;
pub mod network;
pub mod optim;
pub mod regularize;
pub mod scalar;
pub(crate) mod special;
pub mod svg;
pub mod tensor;
pub mod train;

pub use constraint::{Constraint, Constraints};
pub use data::{Dataset, datasets};
pub use error::{Error, Result};
pub use init::{Init, Initializer};
pub use inspect::{ActivationReport, AuditThresholds, Flag, InitAudit, TensorStats, WeightReport};
pub use layer::activation::{Activation, ActivationKind};
pub use layer::batch_norm::BatchNorm;
pub use layer::dense::Dense;
pub use layer::dropout::Dropout;
pub use layer::softmax::Softmax;
pub use layer::{Layer, Mode, Param, ParamKind};
pub use loss::{Loss, LossFn};
pub use network::{Network, NetworkBuilder};
pub use optim::{
    AdaGrad, Adam, AdamW, Algorithm, GradientDescent, LrSchedule, Optimizer, OptimizerState,
    RmsProp, Schedule, Sgd, Warmup,
};
pub use regularize::{ElasticNet, L1, L2, Regularization, Regularizer};
pub use scalar::Scalar;
pub use tensor::Tensor;
pub use train::{Clip, EarlyStopping, EpochRecord, Evaluation, Fit, History};

/// The names most programs need, in one `use weightwise::prelude::*`.
pub mod prelude {
    pub use crate::data::{Standardizer, one_hot};
    pub use crate::{
        Activation, ActivationKind, AdaGrad, Adam, AdamW, BatchNorm, Clip, Constraint, Constraints,
        Dataset, Dense, Dropout, EarlyStopping, ElasticNet, EpochRecord, Error, Evaluation, Fit,
        History, Init, InitAudit, Initializer, L1, L2, Layer, Loss, LossFn, LrSchedule, Mode,
        Network, NetworkBuilder, Optimizer, Param, ParamKind, Regularization, Regularizer, Result,
        RmsProp, Scalar, Schedule, Sgd, Softmax, Tensor, Warmup, WeightReport, datasets,
    };
}
