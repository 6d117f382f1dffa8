//! Named tensors to and from the [safetensors] format.
//!
//! Layout: an 8-byte little-endian `u64` header length `N`, `N` bytes of
//! UTF-8 JSON `{"name": {"dtype": "F32", "shape": [5, 4], "data_offsets":
//! [0, 80]}, …, "__metadata__": {"format": "pt"}}`, then the data buffer;
//! offsets are relative to the buffer, tensors are little-endian and
//! row-major, and the buffers of consecutive tensors touch with no gap or
//! overlap. An `f32` tensor is written as `F32`, an `f64` tensor as `F64`.
//!
//! Reading checks, in order: the 8-byte length prefix is there; the header
//! length `N` fits in the bytes that follow and in the format's 100 MB
//! limit; the header is UTF-8 JSON of the right form (parsed by the
//! `safetensors` crate's `Metadata`, which checks with overflow checks that
//! the offsets run from 0 with no gap or overlap and that each tensor's byte
//! length is its element count × dtype size); the last offset equals the
//! data's real length. Nothing is allocated from a size in the header
//! before it has been checked against the file's real length, and no input
//! makes it panic (a property test corrupts files at random).
//!
//! ```
//! use std::collections::BTreeMap;
//! use weightwise::Tensor;
//! use weightwise::io::safetensors::{from_bytes, to_bytes};
//! # fn main() -> weightwise::Result<()> {
//! let w = Tensor::from_rows(&[[1.0f32, 2.0], [3.0, 4.0]])?;
//! let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
//! let bytes = to_bytes(&[("w".to_string(), &w)], Some(&meta))?;
//! let (tensors, metadata) = from_bytes::<f32>(&bytes)?;
//! assert_eq!(tensors, vec![("w".to_string(), w)]);
//! assert_eq!(metadata["format"], "pt");
//! // The wrong element type is an error, not a silent conversion.
//! assert!(from_bytes::<f64>(&bytes).is_err());
//! # Ok(()) }
//! ```
//!
//! [safetensors]: https://github.com/huggingface/safetensors

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use ::safetensors::{Dtype, View};

use crate::{Error, Result, Scalar, Tensor};

/// The free-form `"__metadata__"` map of a safetensors header (strings to
/// strings), e.g. `{"format": "pt"}`; sorted by key.
pub type Metadata = BTreeMap<String, String>;

/// Tensors with their names, as [`load_tensors`] returns them.
pub type NamedTensors<T> = Vec<(String, Tensor<T>)>;

/// Options for [`Network::load_safetensors_with`](crate::Network::load_safetensors_with).
///
/// The default is strict, as PyTorch's `load_state_dict(strict=True)`:
/// every tensor of the network must be in the file with the network's own
/// dtype and shape, and the file may hold nothing else (except PyTorch's
/// `N.num_batches_tracked` of a batch-norm layer, see
/// [`Network::load_safetensors`](crate::Network::load_safetensors)).
///
/// ```
/// use weightwise::io::LoadOptions;
/// let opts = LoadOptions { allow_dtype_conversion: true, ..Default::default() };
/// assert!(opts.strict);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Convert floating-point tensors of another dtype (`F16`, `BF16`, `F32`,
    /// `F64`) to the network's type instead of failing. `F32` → `f64` is
    /// exact; `F64` → `f32` rounds to nearest. Integer dtypes are never
    /// converted. Default `false`: an `F32` file loaded into a
    /// `Network<f64>` is an error, so precision is never changed silently.
    pub allow_dtype_conversion: bool,
    /// When `true` (the default), a tensor of the network missing from the
    /// file, or a tensor in the file the network does not have, is an error.
    /// When `false` (PyTorch's `strict=False`), missing tensors keep their
    /// current values and unknown ones are ignored; dtype and shape
    /// mismatches of the tensors that are loaded are still errors.
    pub strict: bool,
    /// Accept NaN and infinite values in the file. Default `false`: a
    /// non-finite value is an error naming the tensor, the element and the
    /// value, since weights that are not finite are almost always a failed
    /// run saved by mistake. (A finite value that overflows the network's
    /// type on conversion, `1e300` into `f32`, is always an error.)
    pub allow_non_finite: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            allow_dtype_conversion: false,
            strict: true,
            allow_non_finite: false,
        }
    }
}

/// One tensor of a parsed file: its header entry and its bytes.
#[derive(Debug)]
pub(crate) struct Entry<'a> {
    pub(crate) name: String,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) data: &'a [u8],
}

const LEN_PREFIX: usize = 8;
/// The `safetensors` crate's limit on the JSON header's length (100 MB).
const MAX_HEADER: usize = 100_000_000;

pub(crate) fn format_error(source_name: &str, reason: impl Into<String>) -> Error {
    Error::Format {
        source_name: source_name.to_string(),
        reason: reason.into(),
    }
}

/// Validates a whole file and lists its tensors in file order (by offset).
pub(crate) fn parse<'a>(bytes: &'a [u8], source_name: &str) -> Result<(Vec<Entry<'a>>, Metadata)> {
    let Some((prefix, rest)) = bytes.split_first_chunk::<LEN_PREFIX>() else {
        return Err(format_error(
            source_name,
            format!(
                "{} bytes is too short for a safetensors file, which starts with an 8-byte header length",
                bytes.len()
            ),
        ));
    };
    let n = u64::from_le_bytes(*prefix);
    if n > rest.len() as u64 {
        return Err(format_error(
            source_name,
            format!(
                "the header length {n} is larger than the {} bytes that follow it (truncated, or not a safetensors file)",
                rest.len()
            ),
        ));
    }
    // Checked above: n ≤ rest.len() ≤ usize::MAX.
    let n = n as usize;
    if n > MAX_HEADER {
        return Err(format_error(
            source_name,
            format!("the header length {n} exceeds the format's limit of {MAX_HEADER} bytes"),
        ));
    }
    let (header, buffer) = rest.split_at(n);
    let header = std::str::from_utf8(header)
        .map_err(|e| format_error(source_name, format!("the header is not UTF-8: {e}")))?;
    let value: serde_json::Value = serde_json::from_str(header)
        .map_err(|e| format_error(source_name, format!("invalid header: {e}")))?;
    // A JSON map keeps the last of two equal keys; the file is refused instead.
    if let Some(key) = duplicate_key(header) {
        return Err(format_error(
            source_name,
            format!("the header names '{key}' twice"),
        ));
    }
    let serde_json::Value::Object(map) = value else {
        return Err(format_error(source_name, "the header is not a JSON object"));
    };
    let mut metadata = Metadata::new();
    let mut entries = Vec::with_capacity(map.len());
    for (name, info) in map {
        if name == "__metadata__" {
            metadata = serde_json::from_value(info).map_err(|e| {
                format_error(
                    source_name,
                    format!("__metadata__ must map strings to strings: {e}"),
                )
            })?;
            continue;
        }
        let info = TensorInfo::from_json(info)
            .map_err(|e| format_error(source_name, format!("tensor '{name}': {e}")))?;
        entries.push((name, info));
    }
    // Consecutive tensors' bytes must touch, from 0 to the end of the data;
    // every message names the tensor at fault.
    entries.sort_by_key(|(_, i)| (i.data_offsets.0, i.data_offsets.1));
    let mut at = 0usize;
    let mut previous: Option<&str> = None;
    for (name, info) in &entries {
        let (begin, end) = info.data_offsets;
        let bad = |reason: String| format_error(source_name, format!("tensor '{name}': {reason}"));
        if end < begin {
            return Err(bad(format!("data offsets [{begin}, {end}] run backwards")));
        }
        if begin > at {
            return Err(bad(format!(
                "its data starts at byte {begin}, but {} ends at byte {at} (a gap of {} bytes \
                 that belongs to no tensor)",
                previous.map_or("nothing".to_string(), |p| format!("tensor '{p}'")),
                begin - at
            )));
        }
        if begin < at {
            return Err(bad(format!(
                "its data [{begin}, {end}] overlaps tensor '{}', which ends at byte {at}",
                previous.unwrap_or("")
            )));
        }
        let bits = info.dtype.bitsize();
        let needed = info
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .and_then(|n| n.checked_mul(bits))
            .filter(|b| b % 8 == 0)
            .map(|b| b / 8);
        if needed != Some(end - begin) {
            return Err(bad(format!(
                "shape {} of {} needs {} bytes, its data offsets [{begin}, {end}] hold {}",
                crate::error::shape_str(&info.shape),
                info.dtype,
                needed.map_or_else(|| "more than usize::MAX".to_string(), |n| n.to_string()),
                end - begin
            )));
        }
        at = end;
        previous = Some(name);
    }
    if at != buffer.len() {
        return Err(format_error(
            source_name,
            format!(
                "the header describes {at} bytes of data, the file has {} after the header \
                 (truncated or corrupt)",
                buffer.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (name, info) in entries {
        let (begin, end) = info.data_offsets;
        // In range: the offsets were checked to tile [0, buffer.len()].
        let data = buffer.get(begin..end).ok_or_else(|| {
            format_error(source_name, format!("tensor '{name}': data out of range"))
        })?;
        out.push(Entry {
            name,
            dtype: info.dtype,
            shape: info.shape,
            data,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((out, metadata))
}

/// One tensor's header entry.
struct TensorInfo {
    dtype: Dtype,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

impl TensorInfo {
    /// Reads `{"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}`,
    /// nothing more and nothing less.
    fn from_json(v: serde_json::Value) -> std::result::Result<Self, String> {
        let serde_json::Value::Object(mut m) = v else {
            return Err("the entry is not a JSON object".into());
        };
        let mut take = |key: &str| {
            m.remove(key)
                .ok_or_else(|| format!("the entry has no \"{key}\""))
        };
        let dtype: Dtype =
            serde_json::from_value(take("dtype")?).map_err(|e| format!("dtype: {e}"))?;
        let shape: Vec<usize> =
            serde_json::from_value(take("shape")?).map_err(|e| format!("shape: {e}"))?;
        let offsets: [usize; 2] = serde_json::from_value(take("data_offsets")?)
            .map_err(|e| format!("data_offsets: {e}"))?;
        if let Some(k) = m.keys().next() {
            return Err(format!("unknown field \"{k}\""));
        }
        Ok(TensorInfo {
            dtype,
            shape,
            data_offsets: (offsets[0], offsets[1]),
        })
    }
}

/// The first key that appears twice in one JSON object of `json` (which
/// must already be known to be valid JSON), decoded.
fn duplicate_key(json: &str) -> Option<String> {
    // One entry per open object (its keys so far) or array (`None`).
    let mut stack: Vec<Option<std::collections::HashSet<String>>> = Vec::new();
    let mut expect_key = false;
    let bytes = json.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i;
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if expect_key && let Some(Some(keys)) = stack.last_mut() {
                    let raw = json.get(start..=i.min(bytes.len() - 1))?;
                    let key: String = serde_json::from_str(raw).ok()?;
                    if !keys.insert(key.clone()) {
                        return Some(key);
                    }
                }
                expect_key = false;
            }
            b'{' => {
                stack.push(Some(Default::default()));
                expect_key = true;
            }
            b'[' => stack.push(None),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => expect_key = matches!(stack.last(), Some(Some(_))),
            _ => {}
        }
        i += 1;
    }
    None
}

fn dtype_of<T: Scalar>() -> Dtype {
    if T::DTYPE == "F32" {
        Dtype::F32
    } else {
        Dtype::F64
    }
}

/// IEEE half precision (binary16) to `f64`, exactly.
fn f16_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exponent = i32::from((h >> 10) & 0x1f);
    let fraction = f64::from(h & 0x3ff);
    match exponent {
        // Zero and subnormals: fraction · 2⁻²⁴.
        0 => sign * fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => sign * f64::INFINITY,
        31 => f64::NAN,
        // Normal: (1 + fraction/1024) · 2^(exponent − 15).
        e => sign * (1.0 + fraction / 1024.0) * 2f64.powi(e - 15),
    }
}

/// bfloat16 (the upper half of an `f32`) to `f64`, exactly.
fn bf16_to_f64(b: u16) -> f64 {
    f64::from(f32::from_bits(u32::from(b) << 16))
}

/// Reads elements of `W` bytes, converting each through `f64` to `T`.
/// A finite value that is not finite in `T` (an overflowing conversion,
/// `1e300` into `f32`) is always an error; a NaN or infinity in the file is
/// one unless `allow_non_finite`. Errors name the element and its value.
fn read_as<T: Scalar, const W: usize>(
    data: &[u8],
    allow_non_finite: bool,
    convert: impl Fn([u8; W]) -> f64,
) -> std::result::Result<Vec<T>, String> {
    let mut out = Vec::new();
    out.try_reserve_exact(data.len() / W)
        .map_err(|_| format!("cannot allocate {} elements", data.len() / W))?;
    for (i, c) in data.chunks_exact(W).enumerate() {
        let mut a = [0u8; W];
        a.copy_from_slice(c);
        let v = convert(a);
        let t = T::from_f64(v);
        if v.is_finite() && !t.is_finite() {
            return Err(format!(
                "element {i} = {} overflows {} (its largest value is {:e})",
                crate::error::num(v),
                T::DTYPE,
                T::max_value().as_f64()
            ));
        }
        if !v.is_finite() && !allow_non_finite {
            return Err(format!(
                "element {i} is {v} (LoadOptions::allow_non_finite accepts non-finite values)"
            ));
        }
        out.push(t);
    }
    Ok(out)
}

/// Decodes one tensor as `T`, by the rules of `opts` (dtype conversion,
/// non-finite values). Errors name the tensor.
pub(crate) fn decode<T: Scalar>(
    entry: &Entry<'_>,
    opts: &LoadOptions,
) -> std::result::Result<Tensor<T>, String> {
    let want = dtype_of::<T>();
    if entry.dtype != want && !opts.allow_dtype_conversion {
        return Err(format!(
            "'{}' is {} in the file, {} is wanted (allow_dtype_conversion converts floating-point dtypes)",
            entry.name, entry.dtype, want
        ));
    }
    let d = entry.data;
    let ok = opts.allow_non_finite;
    let values: std::result::Result<Vec<T>, String> = match entry.dtype {
        Dtype::F32 => read_as::<T, 4>(d, ok, |b| f64::from(f32::from_le_bytes(b))),
        Dtype::F64 => read_as::<T, 8>(d, ok, f64::from_le_bytes),
        Dtype::F16 => read_as::<T, 2>(d, ok, |b| f16_to_f64(u16::from_le_bytes(b))),
        Dtype::BF16 => read_as::<T, 2>(d, ok, |b| bf16_to_f64(u16::from_le_bytes(b))),
        other => {
            return Err(format!(
                "'{}' is {other}, which is not a floating-point dtype weightwise can read as {want}",
                entry.name
            ));
        }
    };
    let values = values.map_err(|e| format!("'{}': {e}", entry.name))?;
    Tensor::from_vec(values, &entry.shape).map_err(|e| format!("'{}': {e}", entry.name))
}

struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Borrowed(&self.bytes)
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

fn encode<T: Scalar>(t: &Tensor<T>) -> Raw {
    let dtype = dtype_of::<T>();
    let mut bytes = Vec::with_capacity(t.len() * dtype.bitsize() / 8);
    for &x in t.as_slice() {
        if dtype == Dtype::F32 {
            // Exact: `x` is an f32 widened to f64.
            bytes.extend_from_slice(&(x.as_f64() as f32).to_le_bytes());
        } else {
            bytes.extend_from_slice(&x.as_f64().to_le_bytes());
        }
    }
    Raw {
        dtype,
        shape: t.shape().to_vec(),
        bytes,
    }
}

pub(crate) fn encode_all<T: Scalar>(
    tensors: &[(String, &Tensor<T>)],
    metadata: Option<&Metadata>,
    source_name: &str,
) -> Result<Vec<u8>> {
    let mut seen = std::collections::HashSet::with_capacity(tensors.len());
    for (name, _) in tensors {
        if name == "__metadata__" {
            return Err(Error::invalid_arg(
                "tensor name",
                "'__metadata__'",
                "it is reserved for the safetensors header's metadata",
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(Error::invalid_arg(
                "tensor name",
                format!("'{name}'"),
                "appears twice; safetensors names must be unique",
            ));
        }
    }
    let raws = tensors.iter().map(|(n, t)| (n.as_str(), encode(t)));
    let info = metadata.map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect());
    ::safetensors::serialize(raws, info)
        .map_err(|e| format_error(source_name, format!("cannot write safetensors: {e}")))
}

/// Serializes named tensors (and optional metadata) to safetensors bytes.
///
/// Tensors are stored as `F32` or `F64`; the file orders them by name (the
/// `safetensors` crate's choice), and names are what identify them.
///
/// # Errors
/// [`Error::InvalidArgument`] for a name used twice or the reserved name
/// `"__metadata__"`; [`Error::Format`] if the header would exceed the
/// format's 100 MB limit.
pub fn to_bytes<T: Scalar>(
    tensors: &[(String, &Tensor<T>)],
    metadata: Option<&Metadata>,
) -> Result<Vec<u8>> {
    encode_all(tensors, metadata, "safetensors bytes")
}

/// Parses safetensors bytes into tensors (in file order) and the metadata
/// (empty when the header has none). Every tensor must have `T`'s dtype;
/// load with the file's type and use [`Tensor::cast`] to convert.
///
/// # Errors
/// [`Error::Format`] (source `"safetensors bytes"`) for a truncated or
/// corrupt file, or a tensor of another dtype.
pub fn from_bytes<T: Scalar>(bytes: &[u8]) -> Result<(NamedTensors<T>, Metadata)> {
    decode_all(bytes, "safetensors bytes", &LoadOptions::default())
}

/// [`from_bytes`] with [`LoadOptions`]' dtype conversion and non-finite
/// rules (`strict` does not apply: every tensor is returned).
///
/// # Errors
/// As for [`from_bytes`].
pub fn from_bytes_with<T: Scalar>(
    bytes: &[u8],
    opts: &LoadOptions,
) -> Result<(NamedTensors<T>, Metadata)> {
    decode_all(bytes, "safetensors bytes", opts)
}

fn decode_all<T: Scalar>(
    bytes: &[u8],
    source_name: &str,
    opts: &LoadOptions,
) -> Result<(NamedTensors<T>, Metadata)> {
    let (entries, metadata) = parse(bytes, source_name)?;
    let tensors = entries
        .iter()
        .map(|e| {
            decode(e, opts)
                .map(|t| (e.name.clone(), t))
                .map_err(|reason| format_error(source_name, reason))
        })
        .collect::<Result<_>>()?;
    Ok((tensors, metadata))
}

pub(crate) use crate::fsio::{read_file, write_file};

/// Saves named tensors (and optional metadata) as a safetensors file.
///
/// The file is written beside its final name and renamed into place, so an
/// existing file is replaced whole or not at all.
///
/// # Errors
/// As for [`to_bytes`]; [`Error::Io`] naming `path` if it cannot be written.
pub fn save_tensors<T: Scalar>(
    path: impl AsRef<Path>,
    tensors: &[(String, &Tensor<T>)],
    metadata: Option<&Metadata>,
) -> Result<()> {
    let path = path.as_ref();
    let bytes = encode_all(tensors, metadata, &path.display().to_string())?;
    write_file(path, &bytes)
}

/// Loads every tensor of a safetensors file (in file order) and its metadata.
/// Every tensor must have `T`'s dtype.
///
/// # Errors
/// [`Error::Io`] naming `path` if it cannot be read; [`Error::Format`]
/// naming `path` for a truncated or corrupt file or a tensor of another dtype.
pub fn load_tensors<T: Scalar>(path: impl AsRef<Path>) -> Result<(NamedTensors<T>, Metadata)> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    decode_all(&bytes, &path.display().to_string(), &LoadOptions::default())
}

#[cfg(test)]
mod tests;
