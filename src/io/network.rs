//! [`Network`] to and from safetensors: every parameter and buffer under its
//! full name, checked name by name, dtype by dtype and shape by shape.

use std::collections::HashMap;
use std::path::Path;

use super::safetensors::{
    Entry, LoadOptions, Metadata, decode, encode_all, format_error, parse, read_file, write_file,
};
use crate::error::shape_str;
use crate::{Network, Result, Scalar, Tensor};

/// The metadata [`Network::save_safetensors`] writes: `"format": "pt"`, as
/// PyTorch's `safetensors.torch.save_file` does, and the weightwise version.
pub(crate) fn network_metadata() -> Metadata {
    Metadata::from([
        ("format".to_string(), "pt".to_string()),
        (
            "weightwise_version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ])
}

/// A buffer PyTorch's counterpart of a layer saves and the layer does not
/// keep ([`Layer::untracked_buffers`](crate::Layer::untracked_buffers), e.g.
/// `BatchNorm1d`'s `I64` `N.num_batches_tracked`): true when `name` is
/// exactly such a buffer of a layer of `net`.
fn is_num_batches_tracked<T: Scalar>(net: &Network<T>, name: &str) -> bool {
    name.split_once('.').is_some_and(|(index, local)| {
        index
            .parse::<usize>()
            .ok()
            .and_then(|i| net.layers().get(i))
            .is_some_and(|l| l.untracked_buffers().contains(&local))
    })
}

/// Checks `entries` against every tensor of `net` and decodes them, without
/// touching the network. All problems are reported together.
pub(crate) fn stage<T: Scalar>(
    net: &Network<T>,
    entries: &[&Entry<'_>],
    opts: &LoadOptions,
    source_name: &str,
) -> Result<HashMap<String, Tensor<T>>> {
    let by_name: HashMap<&str, &Entry<'_>> =
        entries.iter().map(|e| (e.name.as_str(), *e)).collect();
    let mut problems = Vec::new();
    let mut staged = HashMap::new();
    let mut missing = Vec::new();
    let named = net.named_tensors();
    let known: std::collections::HashSet<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    for (name, current) in &named {
        let Some(entry) = by_name.get(name.as_str()) else {
            missing.push(name.clone());
            continue;
        };
        if entry.shape != current.shape() {
            problems.push(format!(
                "'{name}' has shape {} in the file, {} in the network",
                shape_str(&entry.shape),
                shape_str(current.shape())
            ));
            continue;
        }
        match decode::<T>(entry, opts.allow_dtype_conversion) {
            Ok(t) => {
                staged.insert(name.clone(), t);
            }
            Err(p) => problems.push(p),
        }
    }
    if opts.strict && !missing.is_empty() {
        problems.insert(0, format!("missing from the file: {}", quoted(&missing)));
    }
    let mut extra = Vec::new();
    for e in entries {
        if known.contains(e.name.as_str()) {
            continue;
        }
        if is_num_batches_tracked(net, &e.name) {
            if e.dtype != ::safetensors::Dtype::I64 || !e.shape.is_empty() {
                problems.push(format!(
                    "'{}' is {} of shape {}, PyTorch's is an I64 scalar",
                    e.name,
                    e.dtype,
                    shape_str(&e.shape)
                ));
            }
            continue;
        }
        extra.push(e.name.clone());
    }
    if opts.strict && !extra.is_empty() {
        problems.push(format!(
            "in the file but not in the network: {}",
            quoted(&extra)
        ));
    }
    if problems.is_empty() {
        Ok(staged)
    } else {
        Err(format_error(source_name, problems.join("; ")))
    }
}

fn quoted(names: &[String]) -> String {
    let v: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    v.join(", ")
}

/// Moves the staged tensors into the network. Cannot fail: every shape was
/// checked by [`stage`].
pub(crate) fn commit<T: Scalar>(net: &mut Network<T>, mut staged: HashMap<String, Tensor<T>>) {
    for (i, layer) in net.layers_mut().iter_mut().enumerate() {
        layer.visit_params_mut(&mut |p| {
            if let Some(t) = staged.remove(&format!("{i}.{}", p.name)) {
                p.value = t;
            }
        });
        layer.visit_buffers_mut(&mut |name, b| {
            if let Some(t) = staged.remove(&format!("{i}.{name}")) {
                *b = t;
            }
        });
    }
}

impl<T: Scalar> Network<T> {
    /// The network's parameters and buffers as safetensors bytes, as
    /// [`Network::save_safetensors`] writes them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if two
    /// tensors share a name (only possible with custom layers).
    pub fn to_safetensors_bytes(&self) -> Result<Vec<u8>> {
        let tensors = self.named_tensors();
        encode_all(&tensors, Some(&network_metadata()), "safetensors bytes")
    }

    /// Saves every parameter and buffer under its full name (`"0.weight"`,
    /// `"0.bias"`, `"1.running_mean"`, …; see [`Network::named_tensors`]) as
    /// a safetensors file, `F32` for `Network<f32>` and `F64` for
    /// `Network<f64>`, with the metadata `{"format": "pt",
    /// "weightwise_version": "…"}`.
    ///
    /// PyTorch reads it with `model.load_state_dict(safetensors.torch.load_file(path))`
    /// into the `nn.Sequential` of the same layers; a `BatchNorm1d`'s
    /// `num_batches_tracked`, which is not written, is then set to 0 by
    /// PyTorch itself (it fills it in for state dicts without version
    /// information).
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::prelude::*;
    /// # fn main() -> weightwise::Result<()> {
    /// let dir = std::env::temp_dir().join(format!("ww-doc-save-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).map_err(|e| Error::Io { path: dir.display().to_string(), source: e })?;
    /// let path = dir.join("model.safetensors");
    /// let mut rng = StdRng::seed_from_u64(0);
    /// let build = |rng: &mut StdRng| {
    ///     Network::<f32>::builder(4).dense(5, Init::he_normal()).relu().dense(3, Init::xavier_uniform()).build(rng)
    /// };
    /// let net = build(&mut rng)?;
    /// net.save_safetensors(&path)?;
    /// let mut other = build(&mut rng)?; // different weights
    /// other.load_safetensors(&path)?;
    /// assert_eq!(other.tensor("2.weight")?, net.tensor("2.weight")?);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming `path` if it cannot be written;
    /// as for [`Network::to_safetensors_bytes`].
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let tensors = self.named_tensors();
        let bytes = encode_all(
            &tensors,
            Some(&network_metadata()),
            &path.display().to_string(),
        )?;
        write_file(path, &bytes)
    }

    /// Loads every parameter and buffer from a safetensors file, strictly
    /// ([`LoadOptions::default`]): see [`Network::load_safetensors_with`].
    ///
    /// # Errors
    /// As for [`Network::load_safetensors_with`].
    pub fn load_safetensors(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.load_safetensors_with(path, &LoadOptions::default())
    }

    /// Loads every parameter and buffer from a safetensors file written by
    /// weightwise or PyTorch (or candle, burn, …) for a network of the same
    /// architecture, checking **every** name, dtype and shape first. Loading
    /// is all or nothing: on any error the network is unchanged.
    ///
    /// With the default options the file must hold exactly the network's
    /// tensors ([`Network::named_tensors`]), with the network's dtype (`F32`
    /// for `f32`; `F64` for `f64`) and shapes. The one exception is PyTorch's
    /// `N.num_batches_tracked` (an `I64` scalar) for a batch-norm layer `N`,
    /// which our [`BatchNorm`](crate::BatchNorm) does not keep: it is
    /// accepted and ignored. [`LoadOptions::allow_dtype_conversion`] converts
    /// other float dtypes; [`LoadOptions::strict`] `= false` tolerates missing
    /// and unknown tensors.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming `path` if it cannot be read
    /// (e.g. it does not exist). [`Error::Format`](crate::Error::Format)
    /// naming `path` for a truncated or corrupt file (length prefix, JSON
    /// header, offsets), and listing every mismatch: tensors missing from the
    /// file, tensors the network does not have, wrong dtypes, wrong shapes.
    pub fn load_safetensors_with(
        &mut self,
        path: impl AsRef<Path>,
        opts: &LoadOptions,
    ) -> Result<()> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        self.load_bytes_named(&bytes, opts, &path.display().to_string())
    }

    /// [`Network::load_safetensors_with`] on bytes already in memory.
    ///
    /// # Errors
    /// As for [`Network::load_safetensors_with`], with the source named
    /// `"safetensors bytes"`.
    pub fn load_safetensors_bytes(&mut self, bytes: &[u8], opts: &LoadOptions) -> Result<()> {
        self.load_bytes_named(bytes, opts, "safetensors bytes")
    }

    fn load_bytes_named(&mut self, bytes: &[u8], opts: &LoadOptions, source: &str) -> Result<()> {
        let (entries, _) = parse(bytes, source)?;
        let refs: Vec<&Entry<'_>> = entries.iter().collect();
        let staged = stage(self, &refs, opts, source)?;
        commit(self, staged);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
