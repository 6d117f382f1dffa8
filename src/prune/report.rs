//! How sparse a network is, parameter by parameter.

use std::fmt;

use crate::error::shape_str;
use crate::{Network, ParamKind, Scalar};

/// One parameter's line of a [`SparsityReport`].
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSparsity {
    /// Full name, `"0.weight"`.
    pub name: String,
    /// Its role.
    pub kind: ParamKind,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Number of entries.
    pub total: usize,
    /// Entries exactly zero (pruned, or zeroed by proximal L1).
    pub zeros: usize,
    /// Entries held at zero by a pruning mask (0 if it has none).
    pub masked: usize,
}

impl ParamSparsity {
    /// `zeros / total`.
    pub fn sparsity(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            self.zeros as f64 / self.total as f64
        }
    }
}

/// Per-parameter sparsity of a network: how many entries are exactly zero
/// and how many a pruning mask holds there; printed as a table.
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use weightwise::{prelude::*, prune::{self, Amount}};
/// # fn main() -> weightwise::Result<()> {
/// let mut net = Network::<f32>::builder(8).dense(4, Init::he_normal()).relu()
///     .dense(2, Init::xavier_uniform()).build(&mut StdRng::seed_from_u64(0))?;
/// prune::l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.25))?;
/// let report = prune::sparsity_report(&net);
/// assert_eq!(report.params[0].masked, 8);
/// assert_eq!(report.weight_sparsity(), 8.0 / 40.0);
/// println!("{report}");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct SparsityReport {
    /// One line per parameter, in the network's order.
    pub params: Vec<ParamSparsity>,
}

impl SparsityReport {
    /// Zeros over entries across all weights ([`ParamKind::Weight`]).
    pub fn weight_sparsity(&self) -> f64 {
        let (z, t) = self
            .params
            .iter()
            .filter(|p| p.kind == ParamKind::Weight)
            .fold((0, 0), |(z, t), p| (z + p.zeros, t + p.total));
        if t == 0 { 0.0 } else { z as f64 / t as f64 }
    }

    /// Number of non-zero entries across all parameters.
    pub fn nonzero_params(&self) -> usize {
        self.params.iter().map(|p| p.total - p.zeros).sum()
    }
}

/// The [`SparsityReport`] of `net`.
pub fn sparsity_report<T: Scalar>(net: &Network<T>) -> SparsityReport {
    let mut params = Vec::new();
    net.visit_params(&mut |i, p| {
        let zeros = p
            .value
            .as_slice()
            .iter()
            .filter(|v| **v == T::zero())
            .count();
        let masked = net.masks_ref().get(i, p.name).map_or(0, |m| {
            m.as_slice().iter().filter(|v| **v == T::zero()).count()
        });
        params.push(ParamSparsity {
            name: format!("{i}.{}", p.name),
            kind: p.kind,
            shape: p.value.shape().to_vec(),
            total: p.value.len(),
            zeros,
            masked,
        });
    });
    SparsityReport { params }
}

impl fmt::Display for SparsityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>10} {:>9} {:>9} {:>9} {:>9}",
            "parameter", "shape", "entries", "zeros", "masked", "sparsity"
        )?;
        let (mut total, mut zeros, mut masked) = (0, 0, 0);
        for p in &self.params {
            writeln!(
                f,
                "{:<12} {:>10} {:>9} {:>9} {:>9} {:>8.1}%",
                p.name,
                shape_str(&p.shape),
                p.total,
                p.zeros,
                p.masked,
                100.0 * p.sparsity()
            )?;
            total += p.total;
            zeros += p.zeros;
            masked += p.masked;
        }
        let all = if total == 0 {
            0.0
        } else {
            zeros as f64 / total as f64
        };
        writeln!(
            f,
            "{:<12} {:>10} {:>9} {:>9} {:>9} {:>8.1}%",
            "total",
            "",
            total,
            zeros,
            masked,
            100.0 * all
        )?;
        write!(
            f,
            "weights only: {:.1}% zero",
            100.0 * self.weight_sparsity()
        )
    }
}
