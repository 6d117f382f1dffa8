//! Training: the fit loop, its configuration, and what it records.
//!
//! [`Network::fit`](crate::Network::fit) trains on a [`Dataset`](crate::data::Dataset)
//! in shuffled mini-batches and returns a [`History`]; [`Network::evaluate`](crate::Network::evaluate)
//! scores a data set in inference mode.
//!
//! ## One training step, in order
//!
//! Every step processes the gradients in this order, and only here
//! (see `step.rs`):
//!
//! 1. **forward and loss** in training mode; a non-finite loss stops training
//!    with [`Error::NonFinite`](crate::Error::NonFinite) naming the epoch and step;
//! 2. **backward**: fresh gradients for every parameter;
//! 3. **non-finite check**: a NaN or infinite gradient stops training with an
//!    error naming the epoch, the step, the parameter and its layer;
//!    Then the gradients of pruned weights are zeroed (see [`crate::prune`]);
//! 4. **clipping** ([`Clip`]): by global norm (PyTorch's `clip_grad_norm_`) or by value;
//! 5. **regularizer gradient**: the coupled penalty gradient (L2's `λ·w`, L1's
//!    subgradient mode) is added, to weights only unless the
//!    [`Regularization`](crate::Regularization) says otherwise; the penalty is
//!    measured here, on the weights the step started from;
//! 6. **optimizer update** (with its own coupled `weight_decay`, if any, and
//!    AdamW's decoupled decay inside it);
//! 7. **proximal L1**: the soft-threshold `w ← sign(w)·max(|w| − lr·λ, 0)` that
//!    makes weights exactly zero;
//! 8. **constraints** ([`Constraints`](crate::Constraints)): max-norm, unit-norm, non-negative;
//! 9. **pruning masks**: every pruned weight is set to exactly zero
//!    ([`Network::apply_masks`](crate::Network::apply_masks));
//! 10. **finite check**: every parameter and buffer must still be finite.
//!
//! A step is all or nothing: before step 1 the network's parameters, buffers
//! and random streams and the optimizer's state are saved (into buffers kept
//! across steps), and any error, at any point above, puts them back before
//! it is returned.
//!
//! Nothing in a step allocates once the first batch has been seen: the batch,
//! the loss gradient and every layer's buffers are kept and reused.

mod config;
mod fit;
mod gradients;
mod history;
mod history_csv;
mod record;
mod step;
mod summary;

pub use config::{Clip, Control, EarlyStopping, Fit};
pub use fit::Evaluation;
pub use history::{EXPLODING_GRADIENT, EpochRecord, GradientRecord, History, VANISHING_GRADIENT};
pub use history_csv::{EPOCH_COLUMNS, GRADIENT_COLUMNS};
pub use record::{ActivationSnapshot, ParamSnapshot, QUANTILES, Recording, Snapshot, Timeline};
pub use step::StepBuffers;
