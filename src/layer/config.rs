//! [`LayerConfig`]: a layer's type tag and hyper-parameters, as a model file keeps them.

use std::fmt;

use crate::{Error, Result};

/// One hyper-parameter value in a [`LayerConfig`].
///
/// In a model file these are JSON values: `true`, `64`, `0.1`, `"tanh"`, `[3, 3]`.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigValue {
    /// A flag, e.g. `Linear`'s `bias`.
    Bool(bool),
    /// An integer, e.g. `in_features`.
    Int(i64),
    /// A real number, e.g. `Dropout`'s `p` (kept exactly: JSON round-trips every `f64`).
    Float(f64),
    /// A string, e.g. `GELU`'s `approximate`.
    Str(String),
    /// A list of integers, e.g. a kernel size `[3, 3]`.
    Ints(Vec<i64>),
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x:?}"),
            ConfigValue::Str(s) => write!(f, "{s:?}"),
            ConfigValue::Ints(v) => write!(f, "{v:?}"),
        }
    }
}

impl From<bool> for ConfigValue {
    fn from(v: bool) -> Self {
        ConfigValue::Bool(v)
    }
}

impl From<usize> for ConfigValue {
    /// # Panics
    /// Never on a 64-bit target; on a wider one, for a value past `i64::MAX`.
    fn from(v: usize) -> Self {
        ConfigValue::Int(i64::try_from(v).expect("a usize fits in i64 on 64-bit targets"))
    }
}

impl From<i64> for ConfigValue {
    fn from(v: i64) -> Self {
        ConfigValue::Int(v)
    }
}

impl From<f64> for ConfigValue {
    fn from(v: f64) -> Self {
        ConfigValue::Float(v)
    }
}

impl From<&str> for ConfigValue {
    fn from(v: &str) -> Self {
        ConfigValue::Str(v.to_string())
    }
}

impl From<Vec<i64>> for ConfigValue {
    fn from(v: Vec<i64>) -> Self {
        ConfigValue::Ints(v)
    }
}

/// What a model file records about one layer: a type tag and named
/// hyper-parameters, in order. The built-in layers use PyTorch's class names
/// and argument names, so `getattr(torch.nn, type)(**args)` rebuilds them.
///
/// ```
/// use weightwise::layer::LayerConfig;
/// # fn main() -> weightwise::Result<()> {
/// let c = LayerConfig::new("Linear")
///     .with("in_features", 64usize)
///     .with("out_features", 10usize)
///     .with("bias", true);
/// assert_eq!(c.usize("out_features")?, 10);
/// assert!(c.bool("bias")?);
/// // A missing or mistyped argument is an error naming the layer type.
/// assert!(c.f64("p").is_err());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LayerConfig {
    /// The type tag a [`LayerRegistry`](super::LayerRegistry) looks up, e.g. `"Linear"`.
    pub type_name: String,
    /// The hyper-parameters, by name, in the order they were given.
    pub args: Vec<(String, ConfigValue)>,
}

impl LayerConfig {
    /// A description of type `type_name` with no arguments yet.
    pub fn new(type_name: impl Into<String>) -> Self {
        LayerConfig {
            type_name: type_name.into(),
            args: Vec::new(),
        }
    }

    /// Adds (or replaces) the argument `name`.
    pub fn with(mut self, name: &str, value: impl Into<ConfigValue>) -> Self {
        let value = value.into();
        match self.args.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.args.push((name.to_string(), value)),
        }
        self
    }

    /// The argument `name`, if present.
    pub fn get(&self, name: &str) -> Option<&ConfigValue> {
        self.args.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn bad(&self, name: &str, want: &str) -> Error {
        let value = match self.get(name) {
            Some(v) => v.to_string(),
            None => "(missing)".to_string(),
        };
        Error::invalid_arg(
            "layer configuration",
            format!("{}.{name} = {value}", self.type_name),
            format!("expected {want}"),
        )
    }

    /// The argument `name` as a non-negative integer.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the type and argument when it is
    /// missing, negative or not an integer.
    pub fn usize(&self, name: &str) -> Result<usize> {
        match self.get(name) {
            Some(&ConfigValue::Int(i)) => usize::try_from(i).map_err(|_| self.bad(name, "≥ 0")),
            _ => Err(self.bad(name, "a non-negative integer")),
        }
    }

    /// The argument `name` as a real number (an integer is accepted: `1` is `1.0`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is missing or not a number.
    pub fn f64(&self, name: &str) -> Result<f64> {
        match self.get(name) {
            Some(&ConfigValue::Float(x)) => Ok(x),
            Some(&ConfigValue::Int(i)) => Ok(i as f64),
            _ => Err(self.bad(name, "a number")),
        }
    }

    /// The argument `name` as a flag.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is missing or not `true`/`false`.
    pub fn bool(&self, name: &str) -> Result<bool> {
        match self.get(name) {
            Some(&ConfigValue::Bool(b)) => Ok(b),
            _ => Err(self.bad(name, "true or false")),
        }
    }

    /// The argument `name` as a string.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is missing or not a string.
    pub fn str(&self, name: &str) -> Result<&str> {
        match self.get(name) {
            Some(ConfigValue::Str(s)) => Ok(s),
            _ => Err(self.bad(name, "a string")),
        }
    }

    /// The argument `name` as a list of integers.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when it is missing or not a list of integers.
    pub fn ints(&self, name: &str) -> Result<&[i64]> {
        match self.get(name) {
            Some(ConfigValue::Ints(v)) => Ok(v),
            _ => Err(self.bad(name, "a list of integers")),
        }
    }

    /// An error for an argument whose value this layer does not support,
    /// naming the type, the argument and `reason` (for constructors).
    pub fn unsupported(&self, name: &str, reason: &str) -> Error {
        self.bad(name, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_check_types_and_name_the_layer() {
        let c = LayerConfig::new("X")
            .with("n", 3usize)
            .with("neg", -1i64)
            .with("p", 0.5)
            .with("s", "tanh")
            .with("k", vec![3i64, 3])
            .with("n", 4usize);
        assert_eq!(c.args.len(), 5, "with replaces an existing argument");
        assert_eq!(c.usize("n").unwrap(), 4);
        assert_eq!(c.f64("n").unwrap(), 4.0);
        assert_eq!(c.f64("p").unwrap(), 0.5);
        assert_eq!(c.str("s").unwrap(), "tanh");
        assert_eq!(c.ints("k").unwrap(), &[3, 3]);
        let e = c.usize("neg").unwrap_err().to_string();
        assert!(e.contains("X.neg = -1"), "{e}");
        let e = c.bool("missing").unwrap_err().to_string();
        assert!(e.contains("X.missing = (missing)"), "{e}");
        assert!(c.usize("p").is_err());
        assert!(c.str("n").is_err());
        assert!(c.ints("s").is_err());
        assert!(c.unsupported("s", "'none'").to_string().contains("'none'"));
    }
}
