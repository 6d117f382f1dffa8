//! # weightwise
//!
//! Neural networks in pure Rust where the **weights** are first-class: how they
//! start ([`init`]), how they move ([`loss`], [`optim`], learning-rate
//! [`Schedule`]s), how they are kept in check ([`regularize`], [`constraint`]),
//! and how you see ([`inspect`], [`svg`]) and keep them (`io`, safetensors).
//! Gradients are written by hand, layer by layer, and proven by finite
//! differences ([`gradcheck`]).
//!
//! ## A tour in seven steps
//!
//! **1. Data.** A [`Dataset`] is features plus targets, one sample per row.
//! Two real data sets ship with the crate ([`datasets::digits`], [`datasets::iris`]);
//! [`data::read_csv`] reads your own.
//!
//! **2. A network** reads like its diagram; each dense layer names its
//! [`Init`]ializer, and the fans come from the layer's shape:
//!
//! ```
//! use rand::{SeedableRng, rngs::StdRng};
//! use weightwise::prelude::*;
//! # fn main() -> weightwise::Result<()> {
//! let mut rng = StdRng::seed_from_u64(42);
//! let (train, test) = datasets::digits::<f32>()?;
//! let mut net = Network::<f32>::builder(64)
//!     .dense(32, Init::he_normal()).relu()   // N(0, 2/fan_in): keeps ReLU signals alive
//!     .dense(10, Init::xavier_uniform())     // U(±√(6/(fan_in+fan_out)))
//!     .build(&mut rng)?;
//! println!("{net}"); // layer, output shape, parameter count
//!
//! // 3. Check the start before a single step: activations and gradients per layer.
//! let audit = net.audit_init(&train.features().rows(0..128)?)?;
//! assert!(audit.is_healthy(), "{audit}");
//!
//! // 4. Train: a loss, an optimizer, a penalty, shuffled mini-batches.
//! let history = net.fit(&train, &mut Fit {
//!     loss: Loss::softmax_cross_entropy().into(),
//!     optimizer: Adam { lr: 3e-3, ..Default::default() }.into(),
//!     regularizer: Some(L2::new(1e-4)?.into()),  // (λ/2)·‖W‖², weights only
//!     epochs: 5,
//!     validation: Some(&test),
//!     ..Default::default()
//! }, &mut rng)?;
//! let accuracy = net.evaluate(&test, &Loss::softmax_cross_entropy())?.accuracy.unwrap();
//! assert!(accuracy > 0.9);
//!
//! // 5. See the weights: statistics per parameter, pictures as SVG.
//! println!("{}", net.weight_report());
//! let tiles = weightwise::svg::unit_tiles(&net, 0, (8, 8))?; // what each unit looks for
//! let curves = weightwise::svg::training_curves(&history)?;  // train vs validation
//! # let _ = (tiles, curves);
//! # Ok(()) }
//! ```
//!
//! **6. Keep them**: `net.save_model(path)` writes one file, the weights under
//! PyTorch's names (`0.weight`, `0.bias`, …, so PyTorch, candle and burn read
//! them) and the architecture as versioned JSON, from which
//! `Network::load_model(path)` rebuilds the network with no code (see `io::model`);
//! `net.save_safetensors(path)` writes the weights alone, and
//! `net.save_checkpoint(path, &optimizer, epoch)` also keeps the optimizer's
//! state so a run resumes exactly.
//!
//! **7. Serve them**: a [`Network`] is `Clone + Send + Sync`.
//! [`Network::predict`] takes `&self`, and [`Network::predict_with`] computes
//! in a caller-owned [`Workspace`] without allocating, so one
//! `Arc<Network>` answers many threads at once.
//!
//! Every building block also stands alone, for your own loop or layer:
//! [`Layer::forward`] / [`Layer::backward`], [`LossFn::loss_and_grad`],
//! [`Optimizer::step`], and [`gradcheck::layer`] to prove a backward pass.
//!
//! ## Conventions
//! - Tensors are row-major; a batch has the batch dimension first: `[n, features]`
//!   rows, or `[n, c, h, w]` image-shaped samples (PyTorch's NCHW) for a network
//!   built with [`Network::builder_shape`].
//! - A dense weight has PyTorch's layout `[out, in]`, and `y = x·Wᵀ + b`.
//! - L2 is `(λ/2)·‖w‖²` with gradient `λ·w`: `λ` equals PyTorch's `weight_decay`
//!   and twice Keras' `l2` factor.
//! - Losses are means by default (PyTorch's `reduction='mean'`); sums and
//!   unreduced per-sample losses on request ([`loss::Reduction`],
//!   [`LossFn::unreduced`]).
//! - Randomness always comes from a caller's [`rand::Rng`] or a seed: the same
//!   seed gives the same weights and the same training run. The API takes
//!   `rand` 0.10, re-exported as [`weightwise::rand`](crate::rand) (and
//!   [`rand_distr`]) so your generators always match.
//! - Fallible operations return [`Result`]; errors name the operation and the
//!   shapes or values (`matmul: left is 3×4, right is 5×2 (inner dimensions differ)`).
//!   A NaN or infinite loss or gradient stops training with an error that says
//!   where.
//!
//! ## Guarantees
//! - **A call that returns `Err` changes nothing.** The network's parameters
//!   and buffers, every layer's random stream (dropout's masks) and the
//!   optimizer's state are exactly as they were before the call. A training
//!   step saves them first and puts them back on any error, including the
//!   check after the update that every weight is still finite: `fit`
//!   and `train_on_batch` then return [`Error::NonFinite`] naming the
//!   parameter, its layer, the epoch and the step, and the network keeps
//!   the weights of the last completed step. Diagnostic probes
//!   ([`Network::audit_init`]) leave the network and its streams as they
//!   were. (Gradients and per-layer caches are scratch, not state.)
//! - **No input makes safe code panic**, except the documented `Index`
//!   implementation of [`Tensor`] (use [`Tensor::get`]). Shape arithmetic is
//!   checked: a tensor's shape is valid when the product of its non-zero
//!   dimensions fits in `isize::MAX` bytes of `f64`, and sizes that cannot be
//!   allocated are errors.
//! - **Hyper-parameters are checked where they are built, in `T`**: a value
//!   valid in `f64` but not after rounding to `f32` (`eps = 1e-50` becomes 0)
//!   is an error. Optimizer configs converted with `.into()` are checked
//!   before their first use, with nothing changed
//!   ([`GradientDescent::new`](optim::GradientDescent::new) checks at once).
//! - **State belongs to what made it**: an optimizer's state is tied to the
//!   number, names and shapes of its parameters, and a checkpoint records the
//!   algorithm and its hyper-parameters and refuses to load into another.
//! - **Files are untrusted**: weight files and checkpoints with duplicate
//!   names, inconsistent offsets, values that overflow the network's type or
//!   (unless [`LoadOptions::allow_non_finite`](io::LoadOptions::allow_non_finite))
//!   NaN or infinite values are refused with an error naming the tensor.
//!
//! ## Feature flags
//! - `safetensors` (default): reading and writing weights and checkpoints in
//!   the safetensors format (adds the `safetensors` and `serde_json` crates).
//! - `ndarray` (off by default): [`interop::ndarray`](interop/ndarray/index.html), conversions between
//!   [`Tensor`] and `ndarray` arrays of any dimension (borrowing or moving
//!   where the layout allows) and [`Dataset`]s from `(Array2, Array1/Array2)`
//!   pairs (adds the `ndarray` crate, 0.16 or 0.17).
//! - `serde` (off by default): `Serialize` and `Deserialize` for the
//!   configurations and records a user logs or stores — the optimizer
//!   configs ([`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`AdaGrad`],
//!   [`Algorithm`]; missing fields take the defaults), [`Schedule`],
//!   [`LrSchedule`], [`Warmup`], [`optim::Plateau`], [`L1`], [`L2`],
//!   [`ElasticNet`], [`ActivationKind`], [`Constraint`], [`Constraints`],
//!   [`Clip`], [`EarlyStopping`], [`History`] and [`EpochRecord`],
//!   [`WeightReport`], [`ActivationReport`], [`InitAudit`] and
//!   [`TensorStats`] (adds the `serde` crate, which the default
//!   `safetensors` feature already builds). A type whose constructor checks
//!   it ([`L1`], [`L2`], [`ElasticNet`], [`ActivationKind`], [`Constraints`])
//!   is validated again when read, with the constructor's error; the configs
//!   with public fields are checked where they are used, as a literal is. In
//!   text formats a NaN or infinite figure is written as `"NaN"`, `"inf"` or
//!   `"-inf"`, since JSON has no such numbers.
//!
//! Items that need a feature say so in their first lines. Without a
//! feature, the crate still reads and writes numpy's `.npy` files
//! ([`data::npy`]) and writes training logs as CSV ([`History::to_csv`]).
//!
//! ## Minimum supported Rust version
//! Rust 1.89 (edition 2024, let-chains; AVX-512 intrinsics in the GEMM
//! kernels). Derived rather than tested, since CI has a single toolchain:
//! those language features set the floor, no dependency asks for more than
//! 1.85, and clippy's `incompatible_msrv` lint (on in CI) rejects any
//! standard-library API newer than 1.89.

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms)]

pub mod constraint;
pub mod data;
mod elementwise;
pub mod error;
mod fsio;
mod gemm;
pub mod gradcheck;
pub mod init;
pub mod inspect;
#[cfg(feature = "ndarray")]
pub mod interop;
#[cfg(feature = "safetensors")]
pub mod io;
pub mod layer;
pub mod loss;
pub mod network;
pub mod optim;
pub mod prune;
pub mod regularize;
pub mod report;
pub mod scalar;
#[cfg(feature = "serde")]
mod serde_float;
#[cfg(feature = "serde")]
mod serde_validated;
pub(crate) mod special;
pub mod svg;
pub mod tensor;
pub mod train;

/// The `rand` this crate's API takes (`&mut dyn rand::Rng`, version 0.10),
/// re-exported so that `use weightwise::rand::…` always matches it, whatever
/// `rand` your own project depends on.
pub use rand;
/// The `rand_distr` this crate uses (version 0.6), re-exported for
/// [`Tensor::random`] and the initializers' distributions.
pub use rand_distr;

pub use constraint::{Constraint, Constraints};
pub use data::{Dataset, datasets};
pub use error::{Error, Result};
#[doc(hidden)]
pub use gemm::__bench;
pub use gemm::{num_threads, set_num_threads};
pub use init::{Init, InitFn, Initializer};
pub use inspect::{ActivationReport, AuditThresholds, Flag, InitAudit, TensorStats, WeightReport};
#[cfg(feature = "safetensors")]
pub use io::{LoadOptions, load_checkpoint, save_checkpoint};
pub use layer::activation::{Activation, ActivationKind};
pub use layer::avg_pool::{AvgPool2d, GlobalAvgPool2d};
pub use layer::batch_norm::BatchNorm;
pub use layer::batch_norm2d::BatchNorm2d;
pub use layer::conv2d::{Conv2d, Conv2dOptions};
pub use layer::dense::Dense;
pub use layer::dropout::Dropout;
pub use layer::flatten::Flatten;
pub use layer::max_pool::MaxPool2d;
pub use layer::softmax::Softmax;
pub use layer::{Layer, Mode, Param, ParamKind};
pub use layer::{LayerConfig, LayerRegistry};
pub use loss::{Loss, LossFn, Reduction};
pub use network::{Network, NetworkBuilder, Workspace};
pub use optim::{
    AdaGrad, Adam, AdamW, Algorithm, GradientDescent, LambdaSchedule, LrSchedule, Optimizer,
    OptimizerState, Plateau, ReduceLrOnPlateau, RmsProp, Schedule, ScheduleFn, Sgd, Warmup,
};
pub use regularize::{ElasticNet, L1, L2, Penalty, PenaltyFn, Regularization, Regularizer};
pub use scalar::Scalar;
pub use tensor::Tensor;
pub use train::{Clip, Control, EarlyStopping, EpochRecord, Evaluation, Fit, History};

/// The names most programs need, in one `use weightwise::prelude::*`.
pub mod prelude {
    pub use crate::data::{Standardizer, one_hot};
    #[cfg(feature = "safetensors")]
    pub use crate::io::{LoadOptions, load_checkpoint, save_checkpoint};
    pub use crate::{
        Activation, ActivationKind, AdaGrad, Adam, AdamW, AvgPool2d, BatchNorm, BatchNorm2d, Clip,
        Constraint, Constraints, Control, Conv2d, Conv2dOptions, Dataset, Dense, Dropout,
        EarlyStopping, ElasticNet, EpochRecord, Error, Evaluation, Fit, Flatten, GlobalAvgPool2d,
        History, Init, InitAudit, InitFn, Initializer, L1, L2, LambdaSchedule, Layer, Loss, LossFn,
        LrSchedule, MaxPool2d, Mode, Network, NetworkBuilder, Optimizer, Param, ParamKind, Penalty,
        PenaltyFn, Plateau, ReduceLrOnPlateau, Reduction, Regularization, Regularizer, Result,
        RmsProp, Scalar, Schedule, ScheduleFn, Sgd, Softmax, Tensor, Warmup, WeightReport,
        Workspace, datasets,
    };
}
