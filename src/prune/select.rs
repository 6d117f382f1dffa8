//! Which weights go: PyTorch's `l1_unstructured`, `global_unstructured`,
//! `ln_structured` and `custom_from_mask`, on a network's parameters.

use super::masks::split_name;
use crate::{Error, Network, ParamKind, Result, Scalar, Tensor};

/// How much to prune, as PyTorch's `amount`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Amount {
    /// A fraction in `[0, 1]` of the entries (or channels) **not yet
    /// pruned**; the count is `round(fraction · remaining)` with Python's
    /// `round`, ties to even (`round(0.5 · 5) = 2`).
    Fraction(f64),
    /// An absolute number of entries (or channels) to prune now, at most
    /// the number not yet pruned.
    Count(usize),
}

impl Amount {
    /// Checks the amount on its own (PyTorch's `_validate_pruning_amount_init`).
    fn validate(self) -> Result<()> {
        match self {
            Amount::Fraction(f) if !(0.0..=1.0).contains(&f) => Err(Error::invalid_arg(
                "pruning amount",
                f,
                "a fraction must be in [0, 1]",
            )),
            _ => Ok(()),
        }
    }

    /// How many of `remaining` to prune (`_compute_nparams_toprune` and
    /// `_validate_pruning_amount`).
    fn count(self, op: &'static str, remaining: usize) -> Result<usize> {
        match self {
            Amount::Fraction(f) => Ok(round_half_even(f * remaining as f64)),
            Amount::Count(k) if k <= remaining => Ok(k),
            Amount::Count(k) => Err(Error::invalid_arg(
                "pruning amount",
                k,
                format!("{op}: only {remaining} are left to prune"),
            )),
        }
    }
}

/// Python 3's `round` of a non-negative float: to nearest, ties to even.
fn round_half_even(v: f64) -> usize {
    let floor = v.floor();
    let diff = v - floor;
    let r = if diff > 0.5 || (diff == 0.5 && floor % 2.0 != 0.0) {
        floor + 1.0
    } else {
        floor
    };
    r as usize
}

/// The current value of parameter `(layer, name)`, copied.
fn value_of<T: Scalar>(net: &Network<T>, layer: usize, name: &str) -> Tensor<T> {
    let mut out = Tensor::default();
    net.visit_params(&mut |i, p| {
        if i == layer && p.name == name {
            out = p.value.clone();
        }
    });
    out
}

/// The names of every weight of the network ([`ParamKind::Weight`]: dense
/// matrices, convolution kernels), the usual set to prune globally.
pub fn weight_names<T: Scalar>(net: &Network<T>) -> Vec<String> {
    let mut out = Vec::new();
    net.visit_params(&mut |i, p| {
        if p.kind == ParamKind::Weight {
            out.push(format!("{i}.{}", p.name));
        }
    });
    out
}

/// A parameter to prune: where it is, its values and its current mask.
struct Target<T> {
    layer: usize,
    name: &'static str,
    value: Tensor<T>,
    mask: Tensor<T>,
}

fn target<T: Scalar>(net: &Network<T>, op: &'static str, name: &str) -> Result<Target<T>> {
    let (layer, local, shape) = net.find_param(op, name)?;
    let value = value_of(net, layer, local);
    if !value.all_finite() {
        return Err(Error::non_finite(format!("{op}: parameter {name}")));
    }
    let mask = match net.masks_ref().get(layer, local) {
        Some(m) => m.clone(),
        None => Tensor::ones(&shape)?,
    };
    Ok(Target {
        layer,
        name: local,
        value,
        mask,
    })
}

/// Prunes the `k` entries of smallest `|w|` among those not yet pruned,
/// over the concatenation of `targets` (flattened row-major, in order);
/// among equal magnitudes the earlier entry goes first.
fn prune_smallest<T: Scalar>(
    op: &'static str,
    targets: &mut [Target<T>],
    amount: Amount,
) -> Result<usize> {
    let mut alive: Vec<(f64, usize, usize)> = Vec::new();
    for (t, tg) in targets.iter().enumerate() {
        for (j, (v, m)) in tg
            .value
            .as_slice()
            .iter()
            .zip(tg.mask.as_slice())
            .enumerate()
        {
            if *m != T::zero() {
                alive.push((v.as_f64().abs(), t, j));
            }
        }
    }
    let k = amount.count(op, alive.len())?;
    // A stable sort by magnitude keeps the flat order among ties.
    alive.sort_by(|a, b| a.0.total_cmp(&b.0));
    for &(_, t, j) in &alive[..k] {
        targets[t].mask.as_mut_slice()[j] = T::zero();
    }
    Ok(k)
}

/// PyTorch's `prune.l1_unstructured(module, name, amount)`: zeroes the
/// entries of smallest absolute value of parameter `name` (`"0.weight"`).
///
/// The amount counts entries **not yet pruned** (PyTorch's
/// `PruningContainer` for `'unstructured'` methods): pruning 20 % twice
/// leaves `0.8² = 64 %`. Ties in `|w|` are broken by position, the earlier
/// entry (row-major) going first; PyTorch's `topk` leaves that order
/// unspecified. Returns the number of entries pruned now. The mask is kept
/// in the network ([`Network::mask`]), the pruned weights are zeroed, and
/// training holds them at zero.
///
/// ```
/// use weightwise::{Network, Tensor, layer::dense::Dense, prune::{self, Amount}};
/// # fn main() -> weightwise::Result<()> {
/// let mut net = Network::<f64>::new(3)?;
/// let w = Tensor::from_rows(&[[0.5, -0.1, 2.0], [0.3, -3.0, 0.2]])?;
/// net.push(Box::new(Dense::from_weights(w, None)?))?;
/// assert_eq!(prune::l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.5))?, 3);
/// assert_eq!(net.tensor("0.weight")?.as_slice(), &[0.5, 0.0, 2.0, 0.0, -3.0, 0.0]);
/// assert_eq!(net.mask("0.weight").unwrap().as_slice(), &[1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown parameter name (listing the
/// known ones), a fraction outside `[0, 1]` or a count above the entries
/// left; [`Error::NonFinite`] if the parameter holds NaN or ∞. Nothing
/// changes on error.
pub fn l1_unstructured<T: Scalar>(
    net: &mut Network<T>,
    name: &str,
    amount: Amount,
) -> Result<usize> {
    const OP: &str = "l1_unstructured";
    amount.validate()?;
    let mut t = [target(net, OP, name)?];
    let k = prune_smallest(OP, &mut t, amount)?;
    let [t] = t;
    net.put_mask(t.layer, t.name, t.mask);
    Ok(k)
}

/// PyTorch's `prune.global_unstructured(parameters, L1Unstructured, amount)`:
/// the entries of smallest `|w|` over all the named parameters together,
/// so layers lose different fractions (typically the large layers most).
/// The amount counts the entries not yet pruned across all of them. Ties
/// are broken by position in the concatenation (parameters in the order
/// given, each row-major). Returns the number pruned now.
///
/// [`weight_names`] lists every weight, the usual choice.
///
/// # Errors
/// As for [`l1_unstructured`]; [`Error::InvalidArgument`] for no names or
/// a name given twice.
pub fn global_unstructured<T: Scalar, S: AsRef<str>>(
    net: &mut Network<T>,
    names: &[S],
    amount: Amount,
) -> Result<usize> {
    const OP: &str = "global_unstructured";
    amount.validate()?;
    if names.is_empty() {
        return Err(Error::invalid_arg(
            "global_unstructured parameters",
            "[]",
            "name at least one parameter",
        ));
    }
    let mut targets = Vec::with_capacity(names.len());
    for (k, n) in names.iter().enumerate() {
        let n = n.as_ref();
        if names[..k].iter().any(|m| m.as_ref() == n) {
            return Err(Error::invalid_arg(
                "global_unstructured parameters",
                format!("'{n}'"),
                "named twice",
            ));
        }
        targets.push(target(net, OP, n)?);
    }
    let k = prune_smallest(OP, &mut targets, amount)?;
    for t in targets {
        net.put_mask(t.layer, t.name, t.mask);
    }
    Ok(k)
}

/// The `Lₙ` norm used to rank channels: `(Σ|x|ⁿ)^(1/n)` for `n > 0`, the
/// largest `|x|` for `n = ∞`, the smallest for `n = −∞`, and the number of
/// non-zeros for `n = 0` (`torch.norm`'s `p`).
fn norm(values: impl Iterator<Item = f64>, n: f64) -> f64 {
    if n == f64::INFINITY {
        values.fold(0.0, |m, v| m.max(v.abs()))
    } else if n == f64::NEG_INFINITY {
        values.fold(f64::INFINITY, |m, v| m.min(v.abs()))
    } else if n == 0.0 {
        values.filter(|v| *v != 0.0).count() as f64
    } else {
        values.map(|v| v.abs().powf(n)).sum::<f64>().powf(1.0 / n)
    }
}

/// Flat offsets of channel `c` along `dim` of a row-major `shape`.
fn channel_offsets(shape: &[usize], dim: usize, c: usize) -> impl Iterator<Item = usize> {
    let inner: usize = shape[dim + 1..].iter().product();
    let outer: usize = shape[..dim].iter().product();
    let len = shape[dim];
    (0..outer).flat_map(move |o| (0..inner).map(move |i| (o * len + c) * inner + i))
}

/// PyTorch's `prune.ln_structured(module, name, amount, n, dim)`: zeroes
/// whole channels along `dim` of parameter `name`, those of smallest `Lₙ`
/// norm (taken over all the other dimensions). For a dense weight
/// `[units, inputs]`, `dim = 0` removes units (rows) and `dim = 1` inputs
/// (columns); for a convolution kernel `[out, in, kh, kw]`, `dim = 0`
/// removes filters.
///
/// As in PyTorch, only channels not yet entirely pruned are ranked, the
/// amount counts them (`round(fraction · remaining)`, ties to even), the
/// kept channels are the largest norms (ties: the earlier channel is kept)
/// and the previous mask is kept on top. Norms are taken of the current
/// weights, in which earlier unstructured pruning has already put zeros
/// (PyTorch ranks `weight_orig`, which still holds the pruned values).
/// The bias is not touched: a pruned unit still adds its bias, as in
/// PyTorch; [`remove_pruned_units`](super::remove_pruned_units) folds that
/// constant into the next layer. Returns the number of channels pruned now.
///
/// # Errors
/// As for [`l1_unstructured`]; [`Error::InvalidShape`] for a parameter of
/// fewer than 2 dimensions; [`Error::InvalidArgument`] for `dim` outside
/// the parameter's dimensions or `n` NaN or negative (other than `−∞`).
pub fn ln_structured<T: Scalar>(
    net: &mut Network<T>,
    name: &str,
    amount: Amount,
    n: f64,
    dim: usize,
) -> Result<usize> {
    const OP: &str = "ln_structured";
    amount.validate()?;
    if n.is_nan() || (n < 0.0 && n != f64::NEG_INFINITY) {
        return Err(Error::invalid_arg(
            "ln_structured norm n",
            n,
            "must be ≥ 0, ∞ or −∞",
        ));
    }
    let mut t = target(net, OP, name)?;
    let shape = t.value.shape().to_vec();
    if shape.len() < 2 {
        return Err(Error::invalid_shape(
            OP,
            &shape,
            "structured pruning needs a parameter of at least 2 dimensions (channels)",
        ));
    }
    if dim >= shape.len() {
        return Err(Error::invalid_arg(
            "ln_structured dim",
            dim,
            format!("parameter {name} has {} dimensions", shape.len()),
        ));
    }
    // Channels with any mask entry left are still alive.
    let alive: Vec<usize> = (0..shape[dim])
        .filter(|&c| channel_offsets(&shape, dim, c).any(|o| t.mask.as_slice()[o] != T::zero()))
        .collect();
    let k = amount.count(OP, alive.len())?;
    if k > 0 {
        let mut ranked: Vec<(f64, usize)> = alive
            .iter()
            .map(|&c| {
                let vals = channel_offsets(&shape, dim, c).map(|o| t.value.as_slice()[o].as_f64());
                (norm(vals, n), c)
            })
            .collect();
        // Largest first; a stable sort keeps the earlier channel among ties.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        for &(_, c) in &ranked[alive.len() - k..] {
            for o in channel_offsets(&shape, dim, c) {
                t.mask.as_mut_slice()[o] = T::zero();
            }
        }
    }
    net.put_mask(t.layer, t.name, t.mask);
    Ok(k)
}

/// PyTorch's `prune.custom_from_mask(module, name, mask)`: prunes where
/// `mask` is 0, on top of any mask already there (the product is kept).
///
/// # Errors
/// [`Error::InvalidArgument`] for an unknown name or a mask entry other
/// than 0 or 1; [`Error::ShapeMismatch`] for a mask of another shape.
pub fn custom_from_mask<T: Scalar>(
    net: &mut Network<T>,
    name: &str,
    mask: &Tensor<T>,
) -> Result<()> {
    const OP: &str = "custom_from_mask";
    let (layer, local, shape) = net.find_param(OP, name)?;
    if mask.shape() != shape.as_slice() {
        return Err(Error::shape_mismatch(
            OP,
            &shape,
            mask.shape(),
            "the mask needs the parameter's shape",
        ));
    }
    if let Some(v) = mask
        .as_slice()
        .iter()
        .find(|v| **v != T::zero() && **v != T::one())
    {
        return Err(Error::invalid_arg(
            "pruning mask entry",
            v,
            "a mask holds only 0 (pruned) and 1 (kept)",
        ));
    }
    let combined = match net.masks_ref().get(layer, local) {
        Some(old) => old.mul(mask)?,
        None => mask.clone(),
    };
    net.put_mask(layer, local, combined);
    Ok(())
}

/// PyTorch's `prune.remove(module, name)`: makes the pruning of `name`
/// permanent by dropping its mask. The weights keep their zeros, but
/// training no longer holds them there.
///
/// # Errors
/// [`Error::InvalidArgument`] if `name` is not a pruned parameter.
pub fn remove<T: Scalar>(net: &mut Network<T>, name: &str) -> Result<()> {
    match split_name(name) {
        Some((layer, local)) if net.drop_mask(layer, local) => Ok(()),
        _ => Err(Error::invalid_arg(
            "prune::remove parameter",
            format!("'{name}'"),
            "it has no pruning mask",
        )),
    }
}
