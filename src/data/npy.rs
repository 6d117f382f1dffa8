//! numpy's `.npy` files: [`read_npy`], [`write_npy`], [`write_npy_labels`],
//! and [`Dataset::from_npy`].
//!
//! The format (numpy's `numpy.lib.format`, versions 1.0 to 3.0): the magic
//! bytes `\x93NUMPY`, a major and a minor version byte, the header length
//! (a little-endian `u16` in version 1.0, `u32` in 2.0 and 3.0), then the
//! header — a Python dict literal such as
//! `{'descr': '<f8', 'fortran_order': False, 'shape': (1797, 64), }` padded
//! with spaces to a 64-byte boundary and ended by `\n` — then the array's
//! elements, nothing else.
//!
//! What weightwise reads:
//!
//! | `descr` | numpy dtype | as `T` |
//! |---|---|---|
//! | `<f4` | `float32` | exact into `f32` and `f64` |
//! | `<f8` | `float64` | exact into `f64`; rounded to nearest into `f32` (a finite value that overflows `f32` is an error) |
//! | `<i8`, `<i4`, `\|u1` | `int64`, `int32`, `uint8` (labels, pixel counts) | exact, or an error naming the value that `T` cannot hold exactly (beyond 2²⁴ for `f32`, 2⁵³ for `f64`) |
//!
//! Arrays in C (row-major) order only. A Fortran-order array, a big-endian
//! or any other dtype, a structured dtype and a pickled object array are
//! [`Error::Format`] errors that say how to re-save the array in numpy.
//!
//! What weightwise writes: a `Tensor<f32>` as `<f4`, a `Tensor<f64>` as
//! `<f8`, class labels as `<i8`; C order, format version 1.0, byte for byte
//! what `np.save` writes for the same array (numpy 2.4; the tests compare
//! against files numpy wrote).
//!
//! ## Safety of reading
//! A file is untrusted input. It is read whole into memory sized by its real
//! length; the header length is checked against the bytes that follow it
//! and against numpy's own limit of 10,000 bytes, the header is parsed by a
//! small non-recursive parser that accepts only the three keys, and the
//! element count (product of the shape, overflow-checked) times the element
//! size must equal the bytes after the header exactly, before anything is
//! decoded or allocated. Every problem is an [`Error::Format`] naming the
//! file, never a panic (a property test corrupts files at random).
//!
//! ```
//! use weightwise::Tensor;
//! use weightwise::data::npy::{npy_bytes, parse_npy};
//! # fn main() -> weightwise::Result<()> {
//! let x = Tensor::from_rows(&[[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]])?;
//! let bytes = npy_bytes(&x)?;
//! assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
//! assert_eq!(parse_npy::<f32>(&bytes, "x.npy")?, x);
//! // Widening is exact; the file's dtype is float32 either way.
//! assert_eq!(parse_npy::<f64>(&bytes, "x.npy")?, x.cast::<f64>());
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::path::Path;

use super::Dataset;
use crate::{Error, Result, Scalar, Tensor};

/// `\x93NUMPY`: the first six bytes of every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// numpy's `_MAX_HEADER_SIZE`: longer headers are refused (numpy refuses
/// them too unless told the file is trusted).
const MAX_HEADER: usize = 10_000;
/// numpy's `ARRAY_ALIGN`: magic, length and header end on this boundary.
const ALIGN: usize = 64;
/// numpy's `GROWTH_AXIS_MAX_DIGITS`: spare spaces numpy leaves after the
/// header dict so that the first axis can grow in place.
const GROWTH_DIGITS: usize = 21;

/// The element types weightwise reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dtype {
    F4,
    F8,
    I8,
    I4,
    U1,
}

impl Dtype {
    fn parse(descr: &str) -> std::result::Result<Self, String> {
        match descr {
            "<f4" => Ok(Dtype::F4),
            "<f8" => Ok(Dtype::F8),
            "<i8" => Ok(Dtype::I8),
            "<i4" => Ok(Dtype::I4),
            "|u1" | "<u1" => Ok(Dtype::U1),
            d if d.starts_with('>') => Err(format!(
                "dtype '{d}' is big-endian; weightwise reads little-endian arrays \
                 (save arr.astype(arr.dtype.newbyteorder('<')) instead)"
            )),
            d => Err(format!(
                "dtype '{d}' is not supported: weightwise reads float32 ('<f4'), float64 ('<f8'), \
                 int64 ('<i8'), int32 ('<i4') and uint8 ('|u1') (save arr.astype(np.float32) instead)"
            )),
        }
    }

    fn size(self) -> usize {
        match self {
            Dtype::F8 | Dtype::I8 => 8,
            Dtype::F4 | Dtype::I4 => 4,
            Dtype::U1 => 1,
        }
    }
}

/// The parsed header: element type and shape, C order checked.
#[derive(Debug)]
struct Header {
    dtype: Dtype,
    shape: Vec<usize>,
}

/// A cursor over the header text: the grammar is numpy's dict literal,
/// without nesting beyond the shape's one tuple, so nothing recurses.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_space(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Consumes `token` (after spaces) if it is next.
    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.text[self.pos..].starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: &str, what: &str) -> std::result::Result<(), String> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(format!("{what}: expected '{token}' at byte {}", self.pos))
        }
    }

    /// A quoted string without escapes: `'…'` or `"…"`.
    fn string(&mut self, what: &str) -> std::result::Result<&'a str, String> {
        self.skip_space();
        let rest = &self.text[self.pos..];
        let quote = match rest.chars().next() {
            Some(q @ ('\'' | '"')) => q,
            Some('[') => {
                return Err(format!(
                    "{what} is a list: structured dtypes (record arrays) are not supported"
                ));
            }
            _ => {
                return Err(format!(
                    "{what}: expected a quoted string at byte {}",
                    self.pos
                ));
            }
        };
        let body = &rest[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| format!("{what}: unterminated string at byte {}", self.pos))?;
        let s = &body[..end];
        if s.contains('\\') {
            return Err(format!("{what}: escapes are not expected in '{s}'"));
        }
        self.pos += end + 2;
        Ok(s)
    }

    /// A non-negative integer (with Python 2's optional `L` suffix).
    fn dim(&mut self) -> std::result::Result<usize, String> {
        self.skip_space();
        let rest = &self.text[self.pos..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!(
                "shape: expected a non-negative integer at byte {}",
                self.pos
            ));
        }
        let n = rest[..digits]
            .parse::<usize>()
            .map_err(|_| format!("shape: dimension {} is too large", &rest[..digits]))?;
        self.pos += digits;
        self.eat("L");
        Ok(n)
    }

    /// `(d0, d1, …)`, `(d0,)` or `()`.
    fn shape(&mut self) -> std::result::Result<Vec<usize>, String> {
        self.expect("(", "shape")?;
        let mut shape = Vec::new();
        while !self.eat(")") {
            shape.push(self.dim()?);
            if !self.eat(",") {
                self.expect(")", "shape")?;
                if shape.len() == 1 {
                    // `(5)` is the integer 5 in Python, not a tuple.
                    return Err("shape: '(n)' is not a tuple; numpy writes '(n,)'".into());
                }
                break;
            }
        }
        Ok(shape)
    }
}

/// Parses the header dict: exactly the keys `descr`, `fortran_order` and
/// `shape`, each once; C order.
fn parse_header(text: &str) -> std::result::Result<Header, String> {
    let mut c = Cursor { text, pos: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    c.expect("{", "header")?;
    while !c.eat("}") {
        let key = c.string("header key")?;
        c.expect(":", "header")?;
        let fresh = match key {
            "descr" => descr.replace(c.string("descr")?).is_none(),
            "fortran_order" => {
                let v = if c.eat("True") {
                    true
                } else if c.eat("False") {
                    false
                } else {
                    return Err(format!(
                        "fortran_order: expected True or False at byte {}",
                        c.pos
                    ));
                };
                fortran.replace(v).is_none()
            }
            "shape" => shape.replace(c.shape()?).is_none(),
            other => {
                return Err(format!(
                    "unexpected header key '{other}' (a .npy header has descr, fortran_order and shape)"
                ));
            }
        };
        if !fresh {
            return Err(format!("header key '{key}' appears twice"));
        }
        if !c.eat(",") {
            c.expect("}", "header")?;
            break;
        }
    }
    if !c.text[c.pos..].trim().is_empty() {
        return Err(format!(
            "unexpected text after the header dict at byte {}",
            c.pos
        ));
    }
    let (Some(descr), Some(fortran), Some(shape)) = (descr, fortran, shape) else {
        return Err("the header lacks one of descr, fortran_order and shape".into());
    };
    let dtype = Dtype::parse(descr)?;
    if fortran && shape.iter().filter(|&&d| d > 1).count() > 1 {
        return Err(format!(
            "the array is in Fortran (column-major) order; weightwise reads C order \
             (save np.ascontiguousarray(arr) instead; shape {shape:?})"
        ));
    }
    Ok(Header { dtype, shape })
}

/// Splits a file into its validated header and its data bytes.
fn split(bytes: &[u8]) -> std::result::Result<(Header, &[u8]), String> {
    let Some((magic, rest)) = bytes.split_first_chunk::<6>() else {
        return Err(format!(
            "{} bytes is too short for a .npy file",
            bytes.len()
        ));
    };
    if magic != MAGIC {
        return Err("not a .npy file (it does not start with \\x93NUMPY)".into());
    }
    let Some(([major, minor], rest)) = rest.split_first_chunk::<2>() else {
        return Err("truncated before the format version".into());
    };
    let (len, rest) = match (major, minor) {
        (1, 0) => match rest.split_first_chunk::<2>() {
            Some((l, r)) => (usize::from(u16::from_le_bytes(*l)), r),
            None => return Err("truncated before the header length".into()),
        },
        (2 | 3, 0) => match rest.split_first_chunk::<4>() {
            Some((l, r)) => {
                let n = u32::from_le_bytes(*l);
                let n = usize::try_from(n)
                    .map_err(|_| format!("the header length {n} does not fit in memory"))?;
                (n, r)
            }
            None => return Err("truncated before the header length".into()),
        },
        _ => {
            return Err(format!(
                "format version {major}.{minor} is not one weightwise reads (1.0, 2.0, 3.0)"
            ));
        }
    };
    if len > rest.len() {
        return Err(format!(
            "the header length {len} is larger than the {} bytes that follow it (truncated, or not a .npy file)",
            rest.len()
        ));
    }
    if len > MAX_HEADER {
        return Err(format!(
            "the header length {len} exceeds numpy's limit of {MAX_HEADER} bytes"
        ));
    }
    let (header, data) = rest.split_at(len);
    // Versions 1.0 and 2.0 are latin-1, 3.0 UTF-8; a valid header is ASCII.
    let header = std::str::from_utf8(header)
        .ok()
        .filter(|h| h.is_ascii())
        .ok_or("the header is not ASCII text")?;
    let header = parse_header(header)?;
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(header.dtype.size()).map(|b| (n, b)));
    let Some((count, need)) = count else {
        return Err(format!(
            "shape {:?} has more elements than memory can address",
            header.shape
        ));
    };
    if need != data.len() {
        return Err(format!(
            "shape {:?} of {}-byte elements needs {need} bytes of data, the file has {} after the header ({count} elements; truncated or corrupt)",
            header.shape,
            header.dtype.size(),
            data.len()
        ));
    }
    Ok((header, data))
}

/// Each `W`-byte element of `data`, as `T`, through `convert`.
fn decode<T: Scalar, const W: usize>(
    data: &[u8],
    convert: impl Fn([u8; W]) -> std::result::Result<T, String>,
) -> std::result::Result<Vec<T>, String> {
    data.chunks_exact(W)
        .enumerate()
        .map(|(i, c)| {
            let mut a = [0u8; W];
            a.copy_from_slice(c);
            convert(a).map_err(|e| format!("element {i} (flat, C order): {e}"))
        })
        .collect()
}

/// An integer as `T`, if `T` holds it exactly.
fn exact_int<T: Scalar>(v: i64) -> std::result::Result<T, String> {
    // The round trip through f64 and `T` is exact exactly when `T` holds
    // `v` (i128: `as i64` would saturate 2⁶³ to `i64::MAX`).
    let t = T::from_f64(v as f64);
    if t.as_f64() as i128 == i128::from(v) {
        Ok(t)
    } else {
        Err(format!(
            "the integer {v} is not exactly representable as {}",
            T::DTYPE
        ))
    }
}

/// A float as `T`; narrowing rounds to nearest, but a finite value must stay finite.
fn float<T: Scalar>(v: f64) -> std::result::Result<T, String> {
    let t = T::from_f64(v);
    if v.is_finite() && !t.is_finite() {
        return Err(format!("{v:e} overflows {}", T::DTYPE));
    }
    Ok(t)
}

/// Parses `.npy` bytes as a tensor of `T` (see the [module](self) docs for
/// the dtypes read and how they convert). `source_name` (e.g. the file name)
/// starts every error message.
///
/// # Errors
/// [`Error::Format`] naming `source_name` for anything but a well-formed
/// C-order array of a supported dtype, or a value `T` cannot hold.
pub fn parse_npy<T: Scalar>(bytes: &[u8], source_name: &str) -> Result<Tensor<T>> {
    let fail = |reason: String| Error::Format {
        source_name: source_name.to_string(),
        reason,
    };
    let (header, data) = split(bytes).map_err(fail)?;
    let values = match header.dtype {
        Dtype::F4 => decode(data, |b| float(f64::from(f32::from_le_bytes(b)))),
        Dtype::F8 => decode(data, |b| float(f64::from_le_bytes(b))),
        Dtype::I8 => decode(data, |b| exact_int(i64::from_le_bytes(b))),
        Dtype::I4 => decode(data, |b| exact_int(i64::from(i32::from_le_bytes(b)))),
        Dtype::U1 => decode(data, |[b]: [u8; 1]| exact_int(i64::from(b))),
    }
    .map_err(fail)?;
    Tensor::from_vec(values, &header.shape).map_err(|e| fail(e.to_string()))
}

/// Reads a `.npy` file as a tensor of `T`.
///
/// # Errors
/// [`Error::Io`] naming `path` if it cannot be read; otherwise as
/// [`parse_npy`], naming `path`.
pub fn read_npy<T: Scalar>(path: impl AsRef<Path>) -> Result<Tensor<T>> {
    let path = path.as_ref();
    let bytes = crate::fsio::read_file(path)?;
    parse_npy(&bytes, &path.display().to_string())
}

/// Magic, version, length and header for `descr` and `shape`, as `np.save`
/// lays them out (dict keys sorted, numpy's growth spaces, padded to 64).
fn header_bytes(descr: &str, shape: &[usize]) -> Result<Vec<u8>> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (");
    for (i, d) in shape.iter().enumerate() {
        let _ = write!(dict, "{}{d}", if i > 0 { ", " } else { "" });
    }
    dict.push_str(if shape.len() == 1 { ",), }" } else { "), }" });
    if let Some(first) = shape.first() {
        let digits = first.to_string().len();
        dict.extend(std::iter::repeat_n(
            ' ',
            GROWTH_DIGITS.saturating_sub(digits),
        ));
    }
    // Magic, version 1.0, a u16 length, the dict, spaces and '\n'.
    let prefix = MAGIC.len() + 4;
    let total = (prefix + dict.len() + 1).next_multiple_of(ALIGN);
    let len = total - prefix;
    if len > MAX_HEADER {
        return Err(Error::invalid_shape(
            "write .npy",
            shape,
            format!(
                "{} dimensions make a header past numpy's {MAX_HEADER}-byte limit",
                shape.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    // len ≤ MAX_HEADER < u16::MAX, checked above.
    out.extend_from_slice(&(len as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(total - 1, b' ');
    out.push(b'\n');
    Ok(out)
}

/// A tensor as `.npy` bytes: `<f4` for `f32`, `<f8` for `f64`, C order,
/// byte for byte what `np.save` writes for the same array.
///
/// # Errors
/// [`Error::InvalidShape`] for a tensor of so many dimensions (thousands)
/// that the header would pass numpy's 10,000-byte limit.
pub fn npy_bytes<T: Scalar>(t: &Tensor<T>) -> Result<Vec<u8>> {
    let f32s = T::DTYPE == "F32";
    let mut out = header_bytes(if f32s { "<f4" } else { "<f8" }, t.shape())?;
    out.reserve(t.len() * if f32s { 4 } else { 8 });
    for &x in t.as_slice() {
        if f32s {
            // Exact: `x` is an f32 widened to f64.
            out.extend_from_slice(&(x.as_f64() as f32).to_le_bytes());
        } else {
            out.extend_from_slice(&x.as_f64().to_le_bytes());
        }
    }
    Ok(out)
}

/// Class labels as 1-D `.npy` bytes of dtype `<i8` (numpy's `int64`), what
/// `np.save(path, np.array(labels, dtype=np.int64))` writes.
///
/// # Errors
/// [`Error::InvalidArgument`] for a label above `i64::MAX`.
pub fn npy_label_bytes(labels: &[usize]) -> Result<Vec<u8>> {
    let mut out = header_bytes("<i8", &[labels.len()])?;
    out.reserve(labels.len() * 8);
    for (i, &l) in labels.iter().enumerate() {
        let v = i64::try_from(l).map_err(|_| {
            Error::invalid_arg("label", l, format!("at index {i} does not fit in int64"))
        })?;
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Writes a tensor as a `.npy` file (see [`npy_bytes`]); numpy reads it with
/// `np.load(path)`.
///
/// The file is written beside its final name and renamed into place, so an
/// existing file is replaced whole or not at all.
///
/// # Errors
/// As [`npy_bytes`]; [`Error::Io`] naming `path` if it cannot be written
/// (then nothing was changed on disk).
pub fn write_npy<T: Scalar>(path: impl AsRef<Path>, t: &Tensor<T>) -> Result<()> {
    crate::fsio::write_file(path.as_ref(), &npy_bytes(t)?)
}

/// Writes class labels as a 1-D `int64` `.npy` file (see [`npy_label_bytes`]).
///
/// # Errors
/// As [`npy_label_bytes`]; [`Error::Io`] naming `path` if it cannot be
/// written (then nothing was changed on disk).
pub fn write_npy_labels(path: impl AsRef<Path>, labels: &[usize]) -> Result<()> {
    crate::fsio::write_file(path.as_ref(), &npy_label_bytes(labels)?)
}

impl<T: Scalar> Dataset<T> {
    /// A data set from two `.npy` files, as numpy's `np.save` writes them:
    /// `features` a 2-D array `[n, d]`, `targets` a 1-D array `[n]` of class
    /// indices (any supported dtype: `int64` labels are typical) or a 2-D
    /// array `[n, k]` (one-hot rows, regression targets). Values convert to
    /// `T` as [`read_npy`] describes.
    ///
    /// ```no_run
    /// # fn main() -> weightwise::Result<()> {
    /// // In Python: np.save("x.npy", x.astype(np.float32)); np.save("y.npy", y)
    /// let data = weightwise::Dataset::<f32>::from_npy("x.npy", "y.npy")?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`read_npy`] for either file; as [`Dataset::new`] for the shapes
    /// (features not 2-D — reshape images with `x.reshape(len(x), -1)` in
    /// numpy — row counts that differ) and non-finite values.
    pub fn from_npy(features: impl AsRef<Path>, targets: impl AsRef<Path>) -> Result<Self> {
        Dataset::new(read_npy(features)?, read_npy(targets)?)
    }
}

#[cfg(test)]
mod tests;
