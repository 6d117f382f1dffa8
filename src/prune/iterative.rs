//! Iterative pruning: prune a little, fine-tune, repeat.

use rand::Rng;

use super::report::sparsity_report;
use super::select::{Amount, global_unstructured, l1_unstructured, ln_structured, weight_names};
use crate::{Dataset, Error, Fit, Network, Result, Scalar};

/// What each round of [`IterativePruning`] prunes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Method {
    /// [`global_unstructured`] over every weight ([`weight_names`]).
    Global,
    /// [`l1_unstructured`] on every weight, layer by layer.
    PerLayer,
    /// [`ln_structured`] on every weight with this norm `n` and `dim`; for
    /// dense weights `dim = 0` prunes units. (The last layer's weight is
    /// skipped when `dim = 0`: its units are the network's outputs.)
    Structured {
        /// The norm's order (`torch.norm`'s `p`).
        n: f64,
        /// The channel dimension.
        dim: usize,
    },
}

/// A schedule: `rounds` times, prune `fraction` of the weights still alive
/// with `method`, then train `epochs_per_round` epochs with the caller's
/// [`Fit`] (fine-tuning, during which the masks hold the pruned weights at
/// zero). After `r` rounds the pruned share is `1 − (1 − fraction)ʳ`;
/// [`IterativePruning::to_sparsity`] picks the fraction for a target.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IterativePruning {
    /// What to prune.
    pub method: Method,
    /// Share of the still-alive weights (or channels) pruned each round.
    pub fraction: f64,
    /// Number of prune-then-fine-tune rounds.
    pub rounds: usize,
    /// Training epochs after each pruning (0: one-shot rounds, no fine-tuning).
    pub epochs_per_round: usize,
}

/// What one round of [`IterativePruning::run`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct PruneRound {
    /// The round, from 1.
    pub round: usize,
    /// Entries pruned in this round.
    pub pruned: usize,
    /// Share of all weights that are zero after the round's fine-tuning.
    pub weight_sparsity: f64,
    /// The epoch the round's fine-tuning ended before (`Fit::epochs` then).
    pub epoch: usize,
    /// Validation loss after fine-tuning, if the [`Fit`] had validation data.
    pub val_loss: Option<f64>,
    /// Validation accuracy after fine-tuning, for classification losses.
    pub val_accuracy: Option<f64>,
}

impl IterativePruning {
    /// The schedule that reaches `sparsity` of the weights in `rounds`
    /// rounds, each pruning `1 − (1 − sparsity)^(1/rounds)` of those alive.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a sparsity outside `[0, 1)` or zero rounds.
    pub fn to_sparsity(
        method: Method,
        sparsity: f64,
        rounds: usize,
        epochs_per_round: usize,
    ) -> Result<Self> {
        if !(0.0..1.0).contains(&sparsity) {
            return Err(Error::invalid_arg(
                "target sparsity",
                sparsity,
                "must be in [0, 1)",
            ));
        }
        if rounds == 0 {
            return Err(Error::invalid_arg(
                "pruning rounds",
                0,
                "must be at least 1",
            ));
        }
        Ok(IterativePruning {
            method,
            fraction: 1.0 - (1.0 - sparsity).powf(1.0 / rounds as f64),
            rounds,
            epochs_per_round,
        })
    }

    fn prune_once<T: Scalar>(&self, net: &mut Network<T>) -> Result<usize> {
        let amount = Amount::Fraction(self.fraction);
        let names = weight_names(net);
        match self.method {
            Method::Global => global_unstructured(net, &names, amount),
            Method::PerLayer => names.iter().map(|n| l1_unstructured(net, n, amount)).sum(),
            Method::Structured { n, dim } => {
                let skip_last = usize::from(dim == 0);
                names[..names.len().saturating_sub(skip_last)]
                    .iter()
                    .map(|name| ln_structured(net, name, amount, n, dim))
                    .sum()
            }
        }
    }

    /// Runs the schedule on `net`, training with `fit` on `train` (its
    /// `initial_epoch` and `epochs` are advanced round by round and left at
    /// the last round's values; the optimizer keeps its state across
    /// rounds). Returns one [`PruneRound`] per round.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a fraction outside `[0, 1]` or zero
    /// rounds; any pruning or training error (training errors leave the
    /// rounds before them done).
    pub fn run<T: Scalar>(
        &self,
        net: &mut Network<T>,
        train: &Dataset<T>,
        fit: &mut Fit<'_, T>,
        rng: &mut dyn Rng,
    ) -> Result<Vec<PruneRound>> {
        if !(0.0..=1.0).contains(&self.fraction) {
            return Err(Error::invalid_arg(
                "pruning fraction per round",
                self.fraction,
                "must be in [0, 1]",
            ));
        }
        if self.rounds == 0 {
            return Err(Error::invalid_arg(
                "pruning rounds",
                0,
                "must be at least 1",
            ));
        }
        let mut out = Vec::with_capacity(self.rounds);
        let mut epoch = fit.initial_epoch;
        for round in 1..=self.rounds {
            let pruned = self.prune_once(net)?;
            let (mut val_loss, mut val_accuracy) = (None, None);
            if self.epochs_per_round > 0 {
                fit.initial_epoch = epoch;
                fit.epochs = epoch + self.epochs_per_round;
                let history = net.fit(train, fit, rng)?;
                if let Some(last) = history.epochs.last() {
                    val_loss = last.val_loss;
                    val_accuracy = last.val_accuracy;
                    epoch = last.epoch + 1;
                }
            }
            out.push(PruneRound {
                round,
                pruned,
                weight_sparsity: sparsity_report(net).weight_sparsity(),
                epoch,
                val_loss,
                val_accuracy,
            });
        }
        Ok(out)
    }
}
