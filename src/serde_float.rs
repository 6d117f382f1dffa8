//! serde for `f64` record fields that may be NaN or infinite (a gradient
//! norm that exploded, the statistics of an all-NaN tensor).
//!
//! JSON has no NaN or infinity: `serde_json` writes them as `null` and then
//! cannot read `null` back into an `f64`. So in human-readable formats a
//! non-finite value is written as the string `"NaN"`, `"inf"` or `"-inf"`
//! (what Python's `float()` and pandas read), a finite one as a number;
//! binary formats get the `f64` itself. Reading accepts a number, one of
//! those strings, or `null` (as NaN, for JSON that another tool wrote).
//!
//! Use as `#[serde(with = "crate::serde_float")]` on an `f64` field, and
//! `…::option`, `…::vec`, `…::named` on `Option<f64>`, `Vec<f64>` and
//! `Vec<(String, f64)>`.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The string a human-readable format holds for a non-finite value.
fn name(x: f64) -> &'static str {
    if x.is_nan() {
        "NaN"
    } else if x > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

pub(crate) fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
    if x.is_finite() || !s.is_human_readable() {
        s.serialize_f64(*x)
    } else {
        s.serialize_str(name(*x))
    }
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"a number, "NaN", "inf" or "-inf""#)
    }
    fn visit_f64<E>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_unit<E>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_none<E>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" | "nan" => Ok(f64::NAN),
            "inf" | "Infinity" => Ok(f64::INFINITY),
            "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    if d.is_human_readable() {
        d.deserialize_any(FloatVisitor)
    } else {
        d.deserialize_f64(FloatVisitor)
    }
}

/// An `f64` through the functions above, for `Option<f64>`.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
struct Float(#[serde(with = "self")] f64);

/// `Option<f64>`: `None` as `null`/none, `Some` as [`serialize`] writes it.
pub(crate) mod option {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        x.map(Float).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Float>::deserialize(d)?.map(|f| f.0))
    }
}

/// `Vec<f64>`, each element as [`serialize`] writes it.
pub(crate) mod vec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(x.iter().map(|&v| Float(v)))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<Float>::deserialize(d)?
            .into_iter()
            .map(|f| f.0)
            .collect())
    }
}

/// `Vec<(String, f64)>`, each number as [`serialize`] writes it.
pub(crate) mod named {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(x.iter().map(|(n, v)| (n, Float(*v))))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, f64)>, D::Error> {
        let v = Vec::<(String, Float)>::deserialize(d)?;
        Ok(v.into_iter().map(|(n, f)| (n, f.0)).collect())
    }
}

/// `[f64; N]`, each element as [`serialize`] writes it; reading checks the length.
pub(crate) mod array {
    use super::*;

    pub(crate) fn serialize<S: Serializer, const N: usize>(
        x: &[f64; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(x.iter().map(|&v| Float(v)))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[f64; N], D::Error> {
        let v = super::vec::deserialize(d)?;
        let len = v.len();
        v.try_into()
            .map_err(|_| de::Error::invalid_length(len, &format!("{N} numbers").as_str()))
    }
}

/// `(f64, f64)`, each number as [`serialize`] writes it.
pub(crate) mod pair {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(x: &(f64, f64), s: S) -> Result<S::Ok, S::Error> {
        (Float(x.0), Float(x.1)).serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<(f64, f64), D::Error> {
        let (a, b) = <(Float, Float)>::deserialize(d)?;
        Ok((a.0, b.0))
    }
}
