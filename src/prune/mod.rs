//! Pruning: which weights go, held at zero while training, and physically
//! removed.
//!
//! L1 regularization ([`L1`](crate::L1)) drives weights to exact zeros
//! through training; pruning decides which weights go, after or during
//! training, by a rule. The rules are PyTorch's `torch.nn.utils.prune`:
//!
//! | function | PyTorch | which entries go |
//! |---|---|---|
//! | [`l1_unstructured`] | `l1_unstructured` | the smallest `|w|` of one parameter |
//! | [`global_unstructured`] | `global_unstructured(…, L1Unstructured)` | the smallest `|w|` over several parameters together |
//! | [`ln_structured`] | `ln_structured` | whole channels (dense units, conv filters) of smallest `Lₙ` norm |
//! | [`custom_from_mask`] | `custom_from_mask` | where a given mask is 0 |
//! | [`remove`] | `remove` | (drops the mask, keeping the zeros) |
//!
//! An [`Amount`] is a fraction of the entries not yet pruned, rounded as
//! Python's `round` does, or a count. Each call multiplies into the
//! parameter's mask ([`Network::mask`](crate::Network::mask)): pruning accumulates as PyTorch's
//! `PruningContainer` does.
//!
//! ## Masks hold during training
//! The network keeps its masks. Every training step ([`Network::fit`](crate::Network::fit),
//! `train_on_batch`) zeroes the gradients of pruned weights right after the
//! backward pass ([`Network::mask_gradients`](crate::Network::mask_gradients)) and zeroes the pruned
//! weights after the update, the proximal step and the constraints
//! ([`Network::apply_masks`](crate::Network::apply_masks)). So, whatever the optimizer (momentum, Adam's
//! moments, weight decay), regularizer or constraint, a pruned weight is
//! exactly `0.0` after every step; clipping sees only live gradients. This
//! is PyTorch's `weight = weight_orig · mask` reparametrization, stored the
//! other way round: the weight itself is masked, so saving, inspecting and
//! running need nothing special. In a loop of your own,
//! [`Network::compute_gradients`](crate::Network::compute_gradients) masks
//! the gradients (or call [`Network::mask_gradients`](crate::Network::mask_gradients)
//! after your own backward pass); call [`Network::apply_masks`](crate::Network::apply_masks)
//! after the optimizer step.
//!
//! Checkpoints ([`save_checkpoint`](crate::io::save_checkpoint)) keep the
//! masks (as `"mask.0.weight"` tensors), so a resumed run is the same run.
//! Model and weight files (`save_model`, `save_safetensors`) hold the
//! masked weights only, as PyTorch's `prune.remove` leaves them: a network
//! loaded from one has its zeros but no masks.
//!
//! ## Schedules, removal, reports
//! [`IterativePruning`] prunes a fraction and fine-tunes, round after
//! round; [`remove_pruned_units`] turns structurally pruned units into a
//! smaller network with the same outputs; [`sparsity_report`] tabulates
//! zeros and masked entries per parameter.
//!
//! ```
//! use rand::{SeedableRng, rngs::StdRng};
//! use weightwise::{prelude::*, prune::{self, Amount}};
//! # fn main() -> weightwise::Result<()> {
//! let mut rng = StdRng::seed_from_u64(0);
//! let (train, _) = datasets::digits::<f32>()?;
//! let mut net = Network::<f32>::builder(64).dense(32, Init::he_normal()).relu()
//!     .dense(10, Init::xavier_uniform()).build(&mut rng)?;
//! let weights = prune::weight_names(&net); // ["0.weight", "2.weight"]
//! prune::global_unstructured(&mut net, &weights, Amount::Fraction(0.8))?;
//! net.fit(&train, &mut Fit { epochs: 1, ..Default::default() }, &mut rng)?;
//! let report = prune::sparsity_report(&net);
//! assert!((report.weight_sparsity() - 0.8).abs() < 1e-3); // still 80 % zeros after training
//! # Ok(()) }
//! ```

mod iterative;
mod masks;
mod remove;
mod report;
mod select;

pub use iterative::{IterativePruning, Method, PruneRound};
pub use masks::Masks;
pub use remove::{UnitRemoval, remove_pruned_units};
pub use report::{ParamSparsity, SparsityReport, sparsity_report};
pub use select::{
    Amount, custom_from_mask, global_unstructured, l1_unstructured, ln_structured, remove,
    weight_names,
};

#[cfg(test)]
mod tests;
