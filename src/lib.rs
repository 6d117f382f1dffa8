//! # weightwise
//!
//! Neural networks in pure Rust where the **weights** are first-class: how they
//! start (initialization), how they move (loss, gradient descent, learning
//! rate), how they are kept in check (L1/L2 regularization), and how you see
//! and keep them.
//!
//! ## A tour
//!
//! Everything is built on [`Tensor<T>`], a dense row-major array of `f32` or
//! `f64` ([`Scalar`]). Operations that can meet bad input return
//! [`Result`], whose [`Error`] names the operation and the shapes:
//!
//! ```
//! use weightwise::prelude::*;
//! # fn main() -> weightwise::Result<()> {
//! let x = Tensor::from_rows(&[[1.0f32, 2.0], [3.0, 4.0]])?;
//! let w = Tensor::from_rows(&[[0.5f32, -1.0], [0.25, 2.0]])?;
//! // A dense layer computes y = x·Wᵀ + b without materialising the transpose.
//! let y = x.matmul_t(&w)?.add_row(&Tensor::from_slice(&[0.1, 0.2]))?;
//! assert_eq!(y.shape(), &[2, 2]);
//! let err = x.matmul(&Tensor::zeros(&[3, 1])?).unwrap_err();
//! assert_eq!(err.to_string(), "matmul: left is 2×2, right is 3×1 (inner dimensions differ)");
//! # Ok(()) }
//! ```
//!
//! ## Conventions
//! - Tensors are row-major; a batch is a 2-D tensor with one sample per row.
//! - Randomness always comes from a caller's [`rand::Rng`]: the same seed gives
//!   the same numbers.
//!
//! ## Minimum supported Rust version
//! Rust 1.85 (edition 2024).

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(rust_2018_idioms)]

pub mod error;
mod gemm;
pub mod scalar;
pub mod tensor;

pub use error::{Error, Result};
#[doc(hidden)]
pub use gemm::__bench;
pub use gemm::{num_threads, set_num_threads};
pub use scalar::Scalar;
pub use tensor::Tensor;

/// The names most programs need, in one `use weightwise::prelude::*`.
pub mod prelude {
    pub use crate::{Error, Result, Scalar, Tensor};
}
