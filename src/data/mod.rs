//! Data for training: [`Dataset`] (features and targets, split and batched),
//! encodings ([`one_hot`], [`Standardizer`]), numeric CSV ([`read_csv`]) and
//! the data sets shipped inside the crate ([`datasets`]).
//!
//! A typical preparation, with every random choice drawn from the caller's
//! generator so that a seed fixes the run:
//!
//! ```
//! use rand::{SeedableRng, rngs::StdRng};
//! use weightwise::data::{Dataset, Standardizer};
//! # fn main() -> weightwise::Result<()> {
//! let mut rng = StdRng::seed_from_u64(42);
//! let iris = weightwise::data::datasets::iris_all::<f64>()?;
//! let (train, val) = iris.split(0.2, &mut rng)?;
//! let scaler = Standardizer::fit(train.features())?;
//! let train = Dataset::new(scaler.transform(train.features())?, train.targets().clone())?;
//! let val = Dataset::new(scaler.transform(val.features())?, val.targets().clone())?;
//! assert_eq!((train.len(), val.len()), (120, 30));
//! # Ok(()) }
//! ```

mod csv;
mod dataset;
mod encode;

#[path = "builtin.rs"]
pub mod datasets;

pub use csv::{Column, Targets, parse_csv, read_csv};
pub use dataset::{Batches, Dataset};
pub use encode::{Standardizer, one_hot, one_hot_tensor, to_labels};
