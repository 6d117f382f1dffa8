//! Conversions to and from other crates' types, each behind its cargo
//! feature: [`ndarray`] (feature `ndarray`).

pub mod ndarray;
