//! Checkpoints: the network, the optimizer's state and the epoch in one
//! safetensors file, so that training resumes exactly where it stopped.
//!
//! Layout (a plain safetensors file, readable by any safetensors reader):
//!
//! | what | where |
//! |---|---|
//! | the network's parameters and buffers | tensors under their full names (`"0.weight"`, `"1.running_mean"`), as [`Network::save_safetensors`] writes them |
//! | the optimizer's state tensors ([`OptimizerState::tensors`]) | tensors under `"optimizer."` + their names (`"optimizer.0.exp_avg"`) |
//! | the pruning masks ([`crate::prune`]) | tensors under `"mask."` + the parameter's name (`"mask.0.weight"`) |
//! | the optimizer's step count | metadata `"optimizer_step"` |
//! | the optimizer's learning rate | metadata `"optimizer_lr"` (shortest decimal that reads back to the same `f64`) |
//! | the epoch | metadata `"epoch"` |
//! | a marker and the version | metadata `"weightwise_checkpoint": "1"`, `"weightwise_version"` |
//!
//! Training `N` steps, and training `k` steps, saving, loading into a fresh
//! network and a fresh optimizer of the same config and training `N − k`
//! more, give the same weights bit for bit (tested). The optimizer's
//! hyper-parameters other than the learning rate are not saved: the
//! optimizer loaded into must be built with the same config. The learning
//! rate is restored, so call [`Optimizer::set_learning_rate`] after loading
//! to change it.
//!
//! Not saved: the random state of [`Dropout`](crate::Dropout) layers (a
//! resumed run draws other masks) and anything outside the network and the
//! optimizer, such as the caller's data-shuffling `Rng`.
//!
//! The weights alone can be read back from a checkpoint with
//! [`Network::load_safetensors_with`] and `LoadOptions { strict: false, .. }`.
//!
//! ```
//! use rand::{SeedableRng, rngs::StdRng};
//! use weightwise::io::{load_checkpoint, save_checkpoint};
//! use weightwise::optim::{Adam, GradientDescent, Optimizer};
//! use weightwise::prelude::*;
//! # fn main() -> weightwise::Result<()> {
//! let dir = std::env::temp_dir().join(format!("ww-doc-ckpt-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
//! let path = dir.join("run.safetensors");
//! let build = |seed| Network::<f64>::builder(2).dense(3, Init::he_normal()).relu().dense(1, Init::xavier_uniform())
//!     .build(&mut StdRng::seed_from_u64(seed));
//! let mut net = build(0)?;
//! let mut opt = GradientDescent::new(Adam { lr: 0.01, ..Default::default() })?;
//! let (x, y) = (Tensor::from_rows(&[[0.0, 1.0], [1.0, 0.0]])?, Tensor::from_rows(&[[1.0], [0.0]])?);
//! net.compute_gradients(&x, &y, &Loss::mse())?;
//! opt.step(&mut net.params_mut())?;
//! save_checkpoint(&path, &net, &opt, 1)?;
//!
//! let mut resumed = build(99)?; // other weights, replaced by the checkpoint's
//! let mut opt2 = GradientDescent::new(Adam { lr: 0.01, ..Default::default() })?;
//! let epoch = load_checkpoint(&path, &mut resumed, &mut opt2)?;
//! assert_eq!(epoch, 1);
//! assert_eq!(opt2.state(), opt.state());
//! assert_eq!(resumed.tensor("0.weight")?, net.tensor("0.weight")?);
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok(()) }
//! ```

use std::path::Path;
use std::str::FromStr;

use super::network::{commit, network_metadata, stage};
use super::safetensors::{
    Entry, LoadOptions, decode, encode_all, format_error, parse, read_file, write_file,
};
use crate::error::shape_str;
use crate::optim::{Optimizer, OptimizerState};
use crate::{Network, Result, Scalar, Tensor};

/// The prefix of the optimizer's tensors in a checkpoint.
pub const OPTIMIZER_PREFIX: &str = "optimizer.";

/// The prefix of the pruning masks in a checkpoint.
pub const MASK_PREFIX: &str = "mask.";

const MARKER: &str = "weightwise_checkpoint";

/// The bytes of a checkpoint, as [`save_checkpoint`] writes them.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if a name is used twice (a custom layer's
/// tensor named like an optimizer entry).
pub fn checkpoint_to_bytes<T: Scalar>(
    net: &Network<T>,
    optimizer: &dyn Optimizer<T>,
    epoch: usize,
) -> Result<Vec<u8>> {
    encode(net, optimizer, epoch, "checkpoint bytes")
}

fn encode<T: Scalar>(
    net: &Network<T>,
    optimizer: &dyn Optimizer<T>,
    epoch: usize,
    source: &str,
) -> Result<Vec<u8>> {
    let state = optimizer.state();
    let prefixed: Vec<String> = state
        .tensors
        .iter()
        .map(|(n, _)| format!("{OPTIMIZER_PREFIX}{n}"))
        .collect();
    let masks = net.named_masks();
    let mut tensors = net.named_tensors();
    tensors.extend(
        prefixed
            .into_iter()
            .zip(state.tensors.iter().map(|(_, t)| t)),
    );
    tensors.extend(
        masks
            .into_iter()
            .map(|(n, m)| (format!("{MASK_PREFIX}{n}"), m)),
    );
    let mut meta = network_metadata();
    meta.remove("format");
    meta.insert(MARKER.to_string(), "1".to_string());
    meta.insert("epoch".to_string(), epoch.to_string());
    meta.insert("optimizer_step".to_string(), state.step.to_string());
    meta.insert(
        "optimizer_lr".to_string(),
        optimizer.learning_rate().to_string(),
    );
    encode_all(&tensors, Some(&meta), source)
}

/// Saves the network's tensors, the optimizer's state and `epoch` (the
/// number of epochs completed) in one safetensors file; see the
/// [module docs](self) for the layout.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) naming `path` if it cannot be written; as for
/// [`checkpoint_to_bytes`].
pub fn save_checkpoint<T: Scalar>(
    path: impl AsRef<Path>,
    net: &Network<T>,
    optimizer: &dyn Optimizer<T>,
    epoch: usize,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode(net, optimizer, epoch, &path.display().to_string())?;
    write_file(path, &bytes)
}

/// Loads a checkpoint written by [`save_checkpoint`] into `net` and
/// `optimizer` (built with the same architecture and config) and returns the
/// epoch it was saved at.
///
/// All or nothing: the network's tensors are checked as by
/// [`Network::load_safetensors`] (strictly, same dtype), the optimizer's
/// against the network's parameter shapes, and on any error neither the
/// network nor the optimizer is changed.
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) naming `path` if it cannot be read; [`Error::Format`](crate::Error::Format)
/// naming `path` for a corrupt file, a file that is not a checkpoint (no
/// `"weightwise_checkpoint"` metadata), unreadable `epoch`,
/// `optimizer_step` or `optimizer_lr` metadata, any mismatch with the
/// network, an optimizer tensor whose index or shape does not fit the
/// network's parameters, or state the optimizer rejects.
pub fn load_checkpoint<T: Scalar>(
    path: impl AsRef<Path>,
    net: &mut Network<T>,
    optimizer: &mut dyn Optimizer<T>,
) -> Result<usize> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    load_checkpoint_bytes_named(&bytes, net, optimizer, &path.display().to_string())
}

impl<T: Scalar> Network<T> {
    /// Saves a checkpoint, in the same order as every other save
    /// (`net.save_safetensors(path)`, `net.save_model(path)`): the network,
    /// the path, then what else the file keeps. Same as
    /// [`save_checkpoint`]`(path, self, optimizer, epoch)`.
    ///
    /// # Errors
    /// As for [`save_checkpoint`].
    pub fn save_checkpoint(
        &self,
        path: impl AsRef<Path>,
        optimizer: &dyn Optimizer<T>,
        epoch: usize,
    ) -> Result<()> {
        save_checkpoint(path, self, optimizer, epoch)
    }

    /// Loads a checkpoint into this network and `optimizer` and returns its
    /// epoch; same as [`load_checkpoint`]`(path, self, optimizer)`.
    ///
    /// # Errors
    /// As for [`load_checkpoint`].
    pub fn load_checkpoint(
        &mut self,
        path: impl AsRef<Path>,
        optimizer: &mut dyn Optimizer<T>,
    ) -> Result<usize> {
        load_checkpoint(path, self, optimizer)
    }
}

/// [`load_checkpoint`] on bytes already in memory.
///
/// # Errors
/// As for [`load_checkpoint`], with the source named `"checkpoint bytes"`.
pub fn load_checkpoint_bytes<T: Scalar>(
    bytes: &[u8],
    net: &mut Network<T>,
    optimizer: &mut dyn Optimizer<T>,
) -> Result<usize> {
    load_checkpoint_bytes_named(bytes, net, optimizer, "checkpoint bytes")
}

fn meta_value<V: FromStr>(meta: &super::Metadata, key: &str, source: &str) -> Result<V> {
    let raw = meta
        .get(key)
        .ok_or_else(|| format_error(source, format!("the checkpoint has no '{key}' metadata")))?;
    raw.parse().map_err(|_| {
        format_error(
            source,
            format!("the checkpoint's '{key}' metadata '{raw}' is not a valid value"),
        )
    })
}

fn load_checkpoint_bytes_named<T: Scalar>(
    bytes: &[u8],
    net: &mut Network<T>,
    optimizer: &mut dyn Optimizer<T>,
    source: &str,
) -> Result<usize> {
    let (entries, meta) = parse(bytes, source)?;
    if !meta.contains_key(MARKER) {
        return Err(format_error(
            source,
            format!("not a weightwise checkpoint (no '{MARKER}' in the metadata)"),
        ));
    }
    let epoch: usize = meta_value(&meta, "epoch", source)?;
    let step: u64 = meta_value(&meta, "optimizer_step", source)?;
    let lr: f64 = meta_value(&meta, "optimizer_lr", source)?;
    if !(lr.is_finite() && lr >= 0.0) {
        return Err(format_error(
            source,
            format!("the checkpoint's learning rate {lr} is not finite and ≥ 0"),
        ));
    }
    let (opt_entries, rest): (Vec<&Entry<'_>>, Vec<&Entry<'_>>) = entries
        .iter()
        .partition(|e| e.name.starts_with(OPTIMIZER_PREFIX));
    let (mask_entries, net_entries): (Vec<&Entry<'_>>, Vec<&Entry<'_>>) = rest
        .into_iter()
        .partition(|e| e.name.starts_with(MASK_PREFIX));
    let staged = stage(net, &net_entries, &LoadOptions::default(), source)?;
    let state = optimizer_state(net, &opt_entries, step, source)?;
    let masks = mask_state(net, &mask_entries, source)?;

    let previous = optimizer.state();
    let previous_lr = optimizer.learning_rate();
    optimizer
        .load_state(state)
        .map_err(|e| format_error(source, format!("the optimizer rejected its state: {e}")))?;
    if let Err(e) = optimizer.set_learning_rate(lr) {
        // Put the optimizer back as it was; its own state loaded before.
        let _ = optimizer.load_state(previous);
        let _ = optimizer.set_learning_rate(previous_lr);
        return Err(e);
    }
    commit(net, staged);
    net.replace_masks(masks);
    net.apply_masks();
    Ok(epoch)
}

/// Decodes the masks and checks each `"mask.{index}.{name}"` against the
/// network's parameter of that name: same shape, entries 0 or 1.
fn mask_state<T: Scalar>(
    net: &Network<T>,
    entries: &[&Entry<'_>],
    source: &str,
) -> Result<crate::prune::Masks<T>> {
    let mut params: Vec<(usize, &'static str, Vec<usize>)> = Vec::new();
    net.visit_params(&mut |i, p| params.push((i, p.name, p.value.shape().to_vec())));
    let mut masks = crate::prune::Masks::default();
    let mut problems = Vec::new();
    for e in entries {
        let full = &e.name[MASK_PREFIX.len()..];
        let found = params.iter().find(|(i, n, _)| format!("{i}.{n}") == full);
        match found {
            None => problems.push(format!("'{}' masks no parameter of the network", e.name)),
            Some((_, _, shape)) if *shape != e.shape => problems.push(format!(
                "'{}' has shape {}, its parameter {}",
                e.name,
                shape_str(&e.shape),
                shape_str(shape)
            )),
            Some(&(i, n, _)) => match decode::<T>(e, false) {
                Ok(t)
                    if t.as_slice()
                        .iter()
                        .all(|v| *v == T::zero() || *v == T::one()) =>
                {
                    masks.set(i, n, t);
                }
                Ok(_) => problems.push(format!("'{}' holds values other than 0 and 1", e.name)),
                Err(p) => problems.push(p),
            },
        }
    }
    if problems.is_empty() {
        Ok(masks)
    } else {
        Err(format_error(source, problems.join("; ")))
    }
}

/// Decodes the optimizer's tensors and checks each `"{index}.{name}"`
/// against parameter `index` of the network.
fn optimizer_state<T: Scalar>(
    net: &Network<T>,
    entries: &[&Entry<'_>],
    step: u64,
    source: &str,
) -> Result<OptimizerState<T>> {
    let mut shapes: Vec<Vec<usize>> = Vec::new();
    net.visit_params(&mut |_, p| shapes.push(p.value.shape().to_vec()));
    let mut problems = Vec::new();
    let mut tensors: Vec<(String, Tensor<T>)> = Vec::with_capacity(entries.len());
    for e in entries {
        let local = &e.name[OPTIMIZER_PREFIX.len()..];
        let index = local
            .split_once('.')
            .and_then(|(i, _)| i.parse::<usize>().ok());
        match index.and_then(|i| shapes.get(i)) {
            None => problems.push(format!(
                "'{}' names no parameter of the network (it has {})",
                e.name,
                shapes.len()
            )),
            Some(shape) if *shape != e.shape => problems.push(format!(
                "'{}' has shape {}, its parameter {}",
                e.name,
                shape_str(&e.shape),
                shape_str(shape)
            )),
            Some(_) => match decode::<T>(e, false) {
                Ok(t) => tensors.push((local.to_string(), t)),
                Err(p) => problems.push(p),
            },
        }
    }
    if !problems.is_empty() {
        return Err(format_error(source, problems.join("; ")));
    }
    // The file orders tensors by name; the optimizer's own order is by index.
    tensors.sort_by_key(|(n, _)| {
        n.split_once('.')
            .and_then(|(i, _)| i.parse::<usize>().ok())
            .unwrap_or(usize::MAX)
    });
    Ok(OptimizerState { step, tensors })
}

#[cfg(test)]
mod tests;
