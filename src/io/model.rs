//! One model file: the weights and the architecture together, so that
//! [`Network::load_model`] rebuilds a network with no code.
//!
//! A model file is a safetensors file whose tensors are exactly those
//! [`Network::save_safetensors`] writes (PyTorch's names and layouts, so
//! `model.load_state_dict(load_file(path), strict=True)` works), and whose
//! `__metadata__` holds, besides `"format": "pt"` and `"weightwise_version"`,
//! the key `"weightwise_model"`: the architecture as JSON,
//!
//! ```json
//! {"schema": 1, "dtype": "F32", "input_shape": [64],
//!  "layers": [{"type": "Linear", "config": {"bias": true, "in_features": 64, "out_features": 32}},
//!             {"type": "BatchNorm1d", "config": {"eps": 0.00001, "momentum": 0.1, "num_features": 32}},
//!             {"type": "ReLU", "config": {}},
//!             {"type": "Dropout", "config": {"p": 0.2}},
//!             {"type": "Linear", "config": {"bias": true, "in_features": 32, "out_features": 10}}]}
//! ```
//!
//! - `schema`: the version of this layout, [`MODEL_SCHEMA`]. A reader refuses
//!   a file of a newer schema rather than guess.
//! - `dtype`: `"F32"` or `"F64"`, the type the network was saved from.
//! - `input_shape`: one sample's shape, without the batch dimension.
//! - `layers`: in order, each a [`LayerConfig`]:
//!   `type` is PyTorch's class name for the built-ins and `config` holds
//!   PyTorch's constructor arguments, so `getattr(torch.nn, type)(**config)`
//!   rebuilds each layer in Python (keys are sorted; floats round-trip exactly).
//!
//! A user layer is saved when it implements [`Layer::config`](crate::Layer::config),
//! and loads when its type is registered in the
//! [`LayerRegistry`] given to
//! [`Network::load_model_with`].

use std::path::Path;

use serde_json::{Map, Value};

use super::network::{commit, network_metadata, stage};
use super::safetensors::{
    Entry, LoadOptions, encode_all, format_error, parse, read_file, write_file,
};
use crate::layer::{ConfigValue, LayerConfig, LayerRegistry};
use crate::{Error, Network, Result, Scalar};

/// The model-file schema this build writes and the newest it reads.
pub const MODEL_SCHEMA: u64 = 1;

/// The metadata key holding the architecture.
pub const MODEL_KEY: &str = "weightwise_model";

fn dtype_name<T: Scalar>() -> &'static str {
    if std::mem::size_of::<T>() == 4 {
        "F32"
    } else {
        "F64"
    }
}

fn value_json(v: &ConfigValue) -> Option<Value> {
    Some(match v {
        ConfigValue::Bool(b) => Value::Bool(*b),
        ConfigValue::Int(i) => Value::from(*i),
        ConfigValue::Float(x) => Value::Number(serde_json::Number::from_f64(*x)?),
        ConfigValue::Str(s) => Value::String(s.clone()),
        ConfigValue::Ints(v) => Value::Array(v.iter().map(|&i| Value::from(i)).collect()),
    })
}

fn json_value(v: &Value) -> Option<ConfigValue> {
    Some(match v {
        Value::Bool(b) => ConfigValue::Bool(*b),
        Value::Number(n) if n.is_i64() => ConfigValue::Int(n.as_i64()?),
        Value::Number(n) if n.is_f64() => ConfigValue::Float(n.as_f64()?),
        Value::String(s) => ConfigValue::Str(s.clone()),
        Value::Array(a) => ConfigValue::Ints(a.iter().map(Value::as_i64).collect::<Option<_>>()?),
        _ => return None,
    })
}

/// The architecture JSON of `net`.
fn architecture<T: Scalar>(net: &Network<T>) -> Result<String> {
    let mut layers = Vec::with_capacity(net.layers().len());
    for (i, layer) in net.layers().iter().enumerate() {
        let Some(config) = layer.config() else {
            return Err(Error::invalid_arg(
                "save_model layer",
                format!("{i} ({})", layer.kind()),
                "it does not describe itself (Layer::config returns None): implement \
                 Layer::config to save it in a model file, or save the weights alone \
                 with save_safetensors",
            ));
        };
        let mut args = Map::new();
        for (name, value) in &config.args {
            let v = value_json(value).ok_or_else(|| {
                Error::invalid_arg(
                    "save_model layer argument",
                    format!("{i}.{name} = {value}"),
                    "a model file holds finite numbers only",
                )
            })?;
            args.insert(name.clone(), v);
        }
        let mut entry = Map::new();
        entry.insert("type".into(), Value::String(config.type_name));
        entry.insert("config".into(), Value::Object(args));
        layers.push(Value::Object(entry));
    }
    let mut root = Map::new();
    root.insert("schema".into(), Value::from(MODEL_SCHEMA));
    root.insert("dtype".into(), Value::from(dtype_name::<T>()));
    root.insert(
        "input_shape".into(),
        Value::from(net.input_shape().to_vec()),
    );
    root.insert("layers".into(), Value::Array(layers));
    Ok(Value::Object(root).to_string())
}

/// Rebuilds the (weightless) network the architecture JSON describes.
fn rebuild<T: Scalar>(json: &str, registry: &LayerRegistry<T>, source: &str) -> Result<Network<T>> {
    let bad = |what: String| format_error(source, format!("model architecture: {what}"));
    let root: Value = serde_json::from_str(json).map_err(|e| bad(format!("not JSON ({e})")))?;
    let schema = root["schema"]
        .as_u64()
        .ok_or_else(|| bad("no \"schema\" version number".into()))?;
    if schema > MODEL_SCHEMA {
        return Err(bad(format!(
            "written with schema {schema} by a newer weightwise; this build reads schema \
             {MODEL_SCHEMA} and older: upgrade weightwise to load it"
        )));
    }
    let dtype = root["dtype"].as_str().unwrap_or("(missing)");
    if dtype != dtype_name::<T>() {
        return Err(bad(format!(
            "the model was saved as {dtype}, loaded as {}: load it as Network::<{}>",
            dtype_name::<T>(),
            if dtype == "F32" { "f32" } else { "f64" }
        )));
    }
    let shape: Vec<usize> = root["input_shape"]
        .as_array()
        .and_then(|a| a.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
        .ok_or_else(|| bad("\"input_shape\" is not a list of sizes".into()))?;
    let mut net = Network::with_input_shape(&shape).map_err(|e| bad(e.to_string()))?;
    let layers = root["layers"]
        .as_array()
        .ok_or_else(|| bad("\"layers\" is not a list".into()))?;
    for (i, entry) in layers.iter().enumerate() {
        let type_name = entry["type"]
            .as_str()
            .ok_or_else(|| bad(format!("layer {i} has no \"type\"")))?;
        let mut config = LayerConfig::new(type_name);
        for (name, v) in entry["config"].as_object().into_iter().flatten() {
            let value = json_value(v)
                .ok_or_else(|| bad(format!("layer {i} ({type_name}): unsupported {name} = {v}")))?;
            config = config.with(name, value);
        }
        let layer = registry
            .build(&config)
            .map_err(|e| bad(format!("layer {i}: {e}")))?;
        net.push(layer)
            .map_err(|e| bad(format!("layer {i} ({type_name}): {e}")))?;
    }
    Ok(net)
}

impl<T: Scalar> Network<T> {
    /// The model file's bytes: see [`Network::save_model`].
    ///
    /// # Errors
    /// As for [`Network::save_model`], without the I/O.
    pub fn to_model_bytes(&self) -> Result<Vec<u8>> {
        self.model_bytes("model bytes")
    }

    fn model_bytes(&self, source: &str) -> Result<Vec<u8>> {
        let mut meta = network_metadata();
        meta.insert(MODEL_KEY.to_string(), architecture(self)?);
        encode_all(&self.named_tensors(), Some(&meta), source)
    }

    /// Saves the whole model in one file: every parameter and buffer as
    /// [`Network::save_safetensors`] writes them, and the architecture (each
    /// layer's type and hyper-parameters, the dtype, the input shape) as
    /// versioned JSON in the metadata; see the [module docs](self).
    /// [`Network::load_model`] rebuilds it with no code, and PyTorch loads its
    /// tensors with `load_state_dict(strict=True)`.
    ///
    /// ```
    /// use weightwise::rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::prelude::*;
    /// # fn main() -> weightwise::Result<()> {
    /// let path = std::env::temp_dir().join(format!("ww-doc-model-{}.safetensors", std::process::id()));
    /// let net = Network::<f32>::builder(4)
    ///     .dense(8, Init::he_normal()).batch_norm().relu().dropout(0.1)
    ///     .dense(3, Init::xavier_uniform())
    ///     .build(&mut StdRng::seed_from_u64(0))?;
    /// net.save_model(&path)?;
    /// let loaded = Network::<f32>::load_model(&path)?; // no architecture in code
    /// let x = Tensor::from_rows(&[[1.0, 2.0, 3.0, 4.0]])?;
    /// assert_eq!(loaded.predict(&x)?, net.predict(&x)?);
    /// # std::fs::remove_file(&path).ok();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the layer if one cannot describe
    /// itself ([`Layer::config`](crate::Layer::config) returns `None`) or has
    /// a non-finite hyper-parameter; [`Error::Io`] naming `path` if it cannot
    /// be written.
    pub fn save_model(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.model_bytes(&path.display().to_string())?;
        write_file(path, &bytes)
    }

    /// Rebuilds a network from a model file written by [`Network::save_model`]
    /// (or by Python, see the README), knowing the built-in layers: same as
    /// [`Network::load_model_with`] with [`LayerRegistry::builtin`].
    ///
    /// # Errors
    /// As for [`Network::load_model_with`].
    pub fn load_model(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_model_with(path, &LayerRegistry::builtin())
    }

    /// Rebuilds a network from a model file, building each layer with the
    /// constructor `registry` holds for its type, then loading every tensor
    /// strictly (every name, dtype and shape checked, as by
    /// [`Network::load_safetensors`]).
    ///
    /// # Errors
    /// [`Error::Io`] naming `path` if it cannot be read; [`Error::Format`]
    /// naming `path` for a corrupt file, a file with no architecture (weights
    /// only: build the network in code and use `load_safetensors`), a newer
    /// schema, another dtype than `T`, a layer type the registry does not know
    /// or whose arguments it rejects, or tensors that do not match the layers.
    pub fn load_model_with(path: impl AsRef<Path>, registry: &LayerRegistry<T>) -> Result<Self> {
        let path = path.as_ref();
        let bytes = read_file(path)?;
        Self::from_model_bytes_named(&bytes, registry, &path.display().to_string())
    }

    /// [`Network::load_model_with`] on bytes already in memory.
    ///
    /// # Errors
    /// As for [`Network::load_model_with`], with the source named `"model bytes"`.
    pub fn from_model_bytes(bytes: &[u8], registry: &LayerRegistry<T>) -> Result<Self> {
        Self::from_model_bytes_named(bytes, registry, "model bytes")
    }

    fn from_model_bytes_named(
        bytes: &[u8],
        registry: &LayerRegistry<T>,
        source: &str,
    ) -> Result<Self> {
        let (entries, meta) = parse(bytes, source)?;
        let json = meta.get(MODEL_KEY).ok_or_else(|| {
            format_error(
                source,
                format!(
                    "no '{MODEL_KEY}' metadata: the file holds weights only; build the \
                     network in code and load them with load_safetensors"
                ),
            )
        })?;
        let mut net = rebuild(json, registry, source)?;
        let refs: Vec<&Entry<'_>> = entries.iter().collect();
        let staged = stage(&net, &refs, &LoadOptions::default(), source)?;
        commit(&mut net, staged);
        Ok(net)
    }
}

#[cfg(test)]
mod tests;
