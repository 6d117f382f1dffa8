//! Saving and loading weights: the [safetensors] format, and checkpoints
//! that resume training exactly.
//!
//! A safetensors file is an 8-byte little-endian `u64` header length `N`,
//! then `N` bytes of JSON mapping each tensor's name to its
//! `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the byte
//! buffer that follows the header), with an optional `"__metadata__"` map of
//! strings to strings; then the data, little-endian and row-major. It is the
//! format PyTorch (`safetensors.torch.save_file`), candle and burn read and
//! write, so weights move between them and weightwise by name:
//! a weightwise [`Network`](crate::Network) names its tensors as PyTorch's
//! `nn.Sequential` does (`"0.weight"`, `"0.bias"`, `"1.running_mean"`).
//!
//! - [`safetensors`]: any named tensors to and from a file or bytes
//!   ([`save_tensors`], [`load_tensors`]), and
//!   [`Network::save_safetensors`](crate::Network::save_safetensors) /
//!   [`Network::load_safetensors`](crate::Network::load_safetensors), which
//!   check every name, dtype and shape and load all or nothing.
//! - [`model`]: one model file, the weights and the architecture together:
//!   [`Network::save_model`](crate::Network::save_model) and
//!   [`Network::load_model`](crate::Network::load_model), which rebuilds the
//!   network with no code.
//! - [`checkpoint`]: the network, the optimizer's state and the epoch in one
//!   file, so a run resumes bit for bit.
//!
//! This module exists with the cargo feature `safetensors` (on by default),
//! which brings in the `safetensors` crate.
//!
//! ## Safety of loading
//! A file is untrusted input. It is read whole into memory sized by its real
//! length; the header length, every offset and every shape are checked
//! against that length before anything is decoded, and every problem is an
//! [`Error::Format`](crate::Error::Format) naming the file, never a panic.
//!
//! [safetensors]: https://github.com/huggingface/safetensors

pub mod checkpoint;
pub mod model;
mod network;
pub mod safetensors;

pub use self::checkpoint::{load_checkpoint, save_checkpoint};
pub use self::safetensors::{LoadOptions, Metadata, NamedTensors, load_tensors, save_tensors};
