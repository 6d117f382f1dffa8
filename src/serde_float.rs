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
//! Use as `#[serde(with = "crate::serde_float")]` on an `f64` field and
//! `#[serde(with = "crate::serde_float::option")]` on an `Option<f64>`.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize)]
    struct R {
        #[serde(with = "super")]
        x: f64,
        #[serde(with = "super::option")]
        y: Option<f64>,
    }

    fn same(a: f64, b: f64) -> bool {
        a == b || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn non_finite_values_round_trip_through_json() {
        for x in [0.0, -1.5, 1e-300, f64::MAX, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            for y in [None, Some(x), Some(0.25)] {
                let json = serde_json::to_string(&R { x, y }).unwrap();
                let back: R = serde_json::from_str(&json).unwrap();
                assert!(same(back.x, x), "{json}");
                assert_eq!(back.y.is_some(), y.is_some(), "{json}");
                if let (Some(a), Some(b)) = (back.y, y) {
                    assert!(same(a, b), "{json}");
                }
            }
        }
        let json = serde_json::to_string(&R { x: f64::NAN, y: Some(f64::NEG_INFINITY) }).unwrap();
        assert_eq!(json, r#"{"x":"NaN","y":"-inf"}"#);
        let r: R = serde_json::from_str(r#"{"x":null,"y":3}"#).unwrap();
        assert!(r.x.is_nan() && r.y == Some(3.0));
        let e = serde_json::from_str::<R>(r#"{"x":"big","y":null}"#).unwrap_err();
        assert!(e.to_string().contains(r#"a number, "NaN", "inf" or "-inf""#), "{e}");
    }
}
