//! Initializers: how the weights start.
//!
//! A bad start makes a deep network's signal vanish or explode before the first
//! step: too small and every layer shrinks the activations, too large and they
//! saturate or blow up. The variance-scaling rules keep the activation variance
//! roughly constant from layer to layer. All of them are one formula (Keras'
//! `VarianceScaling`): with `n` the fan-in, the fan-out or their mean,
//!
//! ```text
//! Var(w) = scale / n
//! uniform:  w ~ U(−limit, limit),  limit = √(3·scale / n)
//! normal:   w ~ N(0, σ²),          σ = √(scale / n)
//! ```
//!
//! | initializer | mode | scale | equals |
//! |---|---|---|---|
//! | [`Init::xavier_uniform`] / [`Init::xavier_normal`] (Glorot) | fan_avg | gain² | PyTorch `xavier_*_`, Keras `glorot_uniform` (Keras' default) |
//! | [`Init::he_uniform`] / [`Init::he_normal`] (Kaiming) | fan_in | 2 | PyTorch `kaiming_*_(nonlinearity='relu')` |
//! | [`Init::lecun_uniform`] / [`Init::lecun_normal`] | fan_in | 1 | Keras `lecun_*` (for SELU) |
//! | [`Init::torch_default`] | fan_in | 1/3 | PyTorch `nn.Linear`'s default, `kaiming_uniform_(a=√5)`: U(±1/√fan_in) |
//!
//! Normal variants here are *untruncated*, as in PyTorch; Keras truncates its
//! `glorot_normal`, `he_normal` and `lecun_normal` at ±2σ (rescaling σ by
//! 1/0.8796), which [`Init::variance_scaling`] with [`Distribution::TruncatedNormal`] gives.
//! (In Keras' `VarianceScaling`, `distribution="normal"` also means the
//! truncated one; its `"untruncated_normal"` is our [`Distribution::Normal`].)
//!
//! For a dense weight of shape `[out, in]` (PyTorch's layout), fan_in = `in`
//! and fan_out = `out`; the layer computes them, you never pass them.
//!
//! Sampling is done in `f64` and rounded, so the same seed gives the same
//! weights in `f32` and `f64`.

use std::fmt::Debug;

use rand::{Rng, RngExt};

use crate::{Error, Result, Scalar, Tensor};

mod sample;

use sample::{normal_mass, orthonormalize, standard_normal, truncated};

/// Number of inputs and outputs a weight tensor connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fans {
    /// Inputs per unit (`in` for a dense `[out, in]` weight).
    pub fan_in: usize,
    /// Outputs per input (`out` for a dense `[out, in]` weight).
    pub fan_out: usize,
}

impl Fans {
    /// The fans of a weight tensor in PyTorch's convention: for `[out, in]`,
    /// fan_in = `in`, fan_out = `out`; for higher ranks the trailing dimensions
    /// (a receptive field) multiply both; a 1-D tensor has fan_in = fan_out = its length.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if a product of dimensions overflows `usize`.
    pub fn of_shape(shape: &[usize]) -> Result<Fans> {
        let overflow = || Error::invalid_shape("Fans::of_shape", shape, "the fan overflows usize");
        Ok(match shape {
            [] => Fans {
                fan_in: 1,
                fan_out: 1,
            },
            [n] => Fans {
                fan_in: *n,
                fan_out: *n,
            },
            [out, inp, rest @ ..] => {
                let field = rest
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .ok_or_else(overflow)?;
                Fans {
                    fan_in: inp.checked_mul(field).ok_or_else(overflow)?,
                    fan_out: out.checked_mul(field).ok_or_else(overflow)?,
                }
            }
        })
    }
}

/// Which fan a variance-scaling initializer divides by (PyTorch's `mode`,
/// Keras' `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Preserves the variance of activations in the forward pass (He, LeCun).
    FanIn,
    /// Preserves the variance of gradients in the backward pass.
    FanOut,
    /// The mean of both, a compromise (Glorot/Xavier).
    FanAvg,
}

/// The distribution a variance-scaling initializer samples from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// `U(−limit, limit)` with `limit = √(3·scale/n)`.
    Uniform,
    /// `N(0, scale/n)`, untruncated (PyTorch's `*_normal_`, Keras'
    /// `"untruncated_normal"`).
    Normal,
    /// Keras' truncated normal: `N(0, σ²)` cut at ±2σ with `σ = √(scale/n) / 0.87962566103423978`,
    /// which restores the variance `scale/n` after truncation.
    TruncatedNormal,
}

/// A nonlinearity, for [`gain`] (PyTorch's `nonlinearity` argument).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Nonlinearity {
    /// Identity (and convolutions): gain 1.
    Linear,
    /// Logistic sigmoid: gain 1.
    Sigmoid,
    /// tanh: gain 5/3.
    Tanh,
    /// ReLU: gain √2.
    Relu,
    /// Leaky ReLU with negative slope α: gain √(2/(1+α²)). PyTorch's default
    /// slope for `calculate_gain('leaky_relu')` is 0.01.
    LeakyRelu(f64),
    /// SELU: gain 3/4.
    Selu,
}

/// The recommended gain for a nonlinearity, with PyTorch's values
/// (`torch.nn.init.calculate_gain`): linear and sigmoid 1, tanh 5/3, ReLU √2,
/// leaky ReLU √(2/(1+α²)), SELU 3/4.
///
/// ```
/// use weightwise::init::{gain, Nonlinearity};
/// assert_eq!(gain(Nonlinearity::Relu)?, 2f64.sqrt());
/// assert_eq!(gain(Nonlinearity::Tanh)?, 5.0 / 3.0);
/// assert!(gain(Nonlinearity::LeakyRelu(f64::NAN)).is_err());
/// # Ok::<(), weightwise::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a leaky-ReLU slope that is not finite.
pub fn gain(nonlinearity: Nonlinearity) -> Result<f64> {
    Ok(match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu(a) => {
            let a = crate::scalar::checked_hyper::<f64>(
                "leaky ReLU slope",
                a,
                crate::scalar::Rule::Finite,
            )?;
            (2.0 / (1.0 + a * a)).sqrt()
        }
        Nonlinearity::Selu => 0.75,
    })
}

/// `InitFn`, the open trait of initializers under the crate's naming pattern
/// (built-ins [`Init`], open trait `InitFn`, as [`Loss`](crate::Loss) /
/// [`LossFn`](crate::LossFn)): the same trait as [`Initializer`], its first name.
pub use self::Initializer as InitFn;

/// Anything that can fill a weight tensor given its fans and the caller's `Rng`.
///
/// [`Init`] covers the usual rules; implement this for your own. Also named
/// [`InitFn`].
pub trait Initializer<T: Scalar>: Debug {
    /// Overwrites every element of `w`, whose fans are `fans`. On error `w`
    /// is left unchanged.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::{Tensor, init::{Fans, Init, Initializer}};
    /// let mut w = Tensor::<f32>::zeros(&[64, 100]).unwrap(); // [out, in]
    /// let fans = Fans::of_shape(w.shape()).unwrap(); // fan_in 100, fan_out 64
    /// Init::he_uniform().fill(&mut w, fans, &mut StdRng::seed_from_u64(0)).unwrap();
    /// let bound = (6.0f32 / 100.0).sqrt();
    /// assert!(w.as_slice().iter().all(|x| x.abs() <= bound));
    /// ```
    ///
    /// # Errors
    /// For [`Init`]: [`Error::InvalidArgument`] for invalid parameters (a
    /// non-positive std, scale or gain, bounds not ordered, a non-finite
    /// value, a truncation interval holding under 1% of the mass) or a zero
    /// fan; [`Error::InvalidShape`] for an orthogonal fill of a tensor with
    /// fewer than 2 dimensions; [`Error::NonFinite`] when a value overflows
    /// `T` (e.g. a constant of 1e39 in `f32`).
    fn fill(&self, w: &mut Tensor<T>, fans: Fans, rng: &mut dyn Rng) -> Result<()>;
}

/// The standard initializers. Constructing one never fails; its parameters
/// are checked when it fills a tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every weight equal to the value.
    Constant(f64),
    /// `U(low, high)` (PyTorch's `uniform_`).
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound; must exceed `low`. Exclusive before rounding: a sample
        /// may round to `high` in the tensor's type.
        high: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation; must be positive.
        std: f64,
    },
    /// `N(mean, std²)` conditioned on `low ≤ w ≤ high` (PyTorch's `trunc_normal_`,
    /// whose defaults are `mean = 0, std = 1, low = −2, high = 2`). The bounds are
    /// absolute values, not multiples of `std`. Sampled by rejection (PyTorch
    /// inverts the CDF; the distribution is the same), so `[low, high]` must hold
    /// at least 1% of the untruncated normal's mass.
    TruncatedNormal {
        /// Mean of the untruncated normal.
        mean: f64,
        /// Standard deviation of the untruncated normal; must be positive.
        std: f64,
        /// Lower cut.
        low: f64,
        /// Upper cut; must exceed `low`.
        high: f64,
    },
    /// The one rule behind Glorot, He and LeCun (see the [module docs](self)).
    VarianceScaling {
        /// Multiplies the variance; must be positive.
        scale: f64,
        /// Which fan to divide by.
        mode: FanMode,
        /// Uniform, normal or truncated normal.
        distribution: Distribution,
    },
    /// A (semi-)orthogonal matrix times `gain` (Saxe et al. 2013; PyTorch's
    /// `orthogonal_`): rows orthonormal if `rows ≤ cols`, columns otherwise.
    Orthogonal {
        /// Multiplies the orthogonal matrix; must be positive.
        gain: f64,
    },
}

impl Init {
    /// All zeros (the default for biases).
    pub fn zeros() -> Init {
        Init::Constant(0.0)
    }

    /// All ones (batch norm's γ).
    pub fn ones() -> Init {
        Init::Constant(1.0)
    }

    /// Every weight equal to `value`.
    pub fn constant(value: f64) -> Init {
        Init::Constant(value)
    }

    /// `U(low, high)`.
    pub fn uniform(low: f64, high: f64) -> Init {
        Init::Uniform { low, high }
    }

    /// `N(mean, std²)`, e.g. `normal(0.0, 0.01)` for the classic "small random" start.
    pub fn normal(mean: f64, std: f64) -> Init {
        Init::Normal { mean, std }
    }

    /// `N(mean, std²)` restricted to `[low, high]`.
    pub fn truncated_normal(mean: f64, std: f64, low: f64, high: f64) -> Init {
        Init::TruncatedNormal {
            mean,
            std,
            low,
            high,
        }
    }

    /// Keras' `VarianceScaling(scale, mode, distribution)`.
    pub fn variance_scaling(scale: f64, mode: FanMode, distribution: Distribution) -> Init {
        Init::VarianceScaling {
            scale,
            mode,
            distribution,
        }
    }

    /// Glorot/Xavier uniform (Glorot & Bengio 2010): `U(±√(6/(fan_in+fan_out)))`.
    /// PyTorch `xavier_uniform_`, Keras `glorot_uniform`.
    pub fn xavier_uniform() -> Init {
        Init::xavier_uniform_gain(1.0)
    }

    /// Glorot/Xavier uniform with a gain: `U(±gain·√(6/(fan_in+fan_out)))`.
    pub fn xavier_uniform_gain(gain: f64) -> Init {
        Init::variance_scaling(gain * gain, FanMode::FanAvg, Distribution::Uniform)
    }

    /// Glorot/Xavier normal: `N(0, 2/(fan_in+fan_out))`. PyTorch `xavier_normal_`.
    pub fn xavier_normal() -> Init {
        Init::xavier_normal_gain(1.0)
    }

    /// Glorot/Xavier normal with a gain: `σ = gain·√(2/(fan_in+fan_out))`.
    pub fn xavier_normal_gain(gain: f64) -> Init {
        Init::variance_scaling(gain * gain, FanMode::FanAvg, Distribution::Normal)
    }

    /// He/Kaiming uniform for ReLU (He et al. 2015): `U(±√(6/fan_in))`.
    /// PyTorch `kaiming_uniform_(nonlinearity='relu')`, Keras `he_uniform`.
    pub fn he_uniform() -> Init {
        // scale = gain(Relu)² = 2, written exactly (√2·√2 rounds to 2 + 4e-16).
        Init::variance_scaling(2.0, FanMode::FanIn, Distribution::Uniform)
    }

    /// He/Kaiming normal for ReLU: `N(0, 2/fan_in)`.
    /// PyTorch `kaiming_normal_(nonlinearity='relu')` (Keras' `he_normal` is truncated).
    pub fn he_normal() -> Init {
        Init::variance_scaling(2.0, FanMode::FanIn, Distribution::Normal)
    }

    /// Kaiming uniform with a mode and a gain: `U(±gain·√(3/fan))`, PyTorch's
    /// `kaiming_uniform_(mode=..., nonlinearity=...)` with `gain` from [`gain`].
    /// PyTorch's default is `FanIn` with the leaky-ReLU gain for slope 0, i.e. √2.
    pub fn kaiming_uniform(mode: FanMode, gain: f64) -> Init {
        Init::variance_scaling(gain * gain, mode, Distribution::Uniform)
    }

    /// Kaiming normal with a mode and a gain: `σ = gain/√fan`, PyTorch's
    /// `kaiming_normal_(mode=..., nonlinearity=...)`.
    pub fn kaiming_normal(mode: FanMode, gain: f64) -> Init {
        Init::variance_scaling(gain * gain, mode, Distribution::Normal)
    }

    /// LeCun uniform: `U(±√(3/fan_in))`.
    pub fn lecun_uniform() -> Init {
        Init::variance_scaling(1.0, FanMode::FanIn, Distribution::Uniform)
    }

    /// LeCun normal: `N(0, 1/fan_in)` (untruncated; Keras truncates).
    pub fn lecun_normal() -> Init {
        Init::variance_scaling(1.0, FanMode::FanIn, Distribution::Normal)
    }

    /// PyTorch's `nn.Linear` default for weights and biases: `U(±1/√fan_in)`.
    ///
    /// PyTorch writes it `kaiming_uniform_(w, a=√5)`: the leaky-ReLU gain with
    /// α = √5 is √(2/(1+5)) = √(1/3), and `gain·√(3/fan_in) = 1/√fan_in`.
    pub fn torch_default() -> Init {
        Init::variance_scaling(1.0 / 3.0, FanMode::FanIn, Distribution::Uniform)
    }

    /// Orthogonal with a gain.
    pub fn orthogonal(gain: f64) -> Init {
        Init::Orthogonal { gain }
    }

    /// The spread this initializer gives for the fans: `(kind, value)` where kind
    /// is `"bound"` (uniform: the largest magnitude, `max(|low|, |high|)`),
    /// `"std"` (normal: for [`Init::TruncatedNormal`] the untruncated normal's
    /// σ, for variance scaling the resulting `√(scale/n)` whether truncated or
    /// not), `"value"` (constant) or `"gain"` (orthogonal), for docs and summaries.
    ///
    /// ```
    /// use weightwise::init::{Fans, Init};
    /// let fans = Fans { fan_in: 50, fan_out: 10 };
    /// let (kind, std) = Init::he_normal().spread(fans).unwrap();
    /// assert_eq!(kind, "std");
    /// assert!((std - 0.2).abs() < 1e-15); // √(2/50)
    /// ```
    ///
    /// # Errors
    /// As for [`Initializer::fill`].
    pub fn spread(&self, fans: Fans) -> Result<(&'static str, f64)> {
        self.validate(fans)?;
        Ok(match *self {
            Init::Constant(v) => ("value", v),
            Init::Uniform { low, high } => ("bound", low.abs().max(high.abs())),
            Init::Normal { std, .. } | Init::TruncatedNormal { std, .. } => ("std", std),
            Init::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let var = scale / fan(mode, fans);
                match distribution {
                    Distribution::Uniform => ("bound", (3.0 * var).sqrt()),
                    Distribution::Normal | Distribution::TruncatedNormal => ("std", var.sqrt()),
                }
            }
            Init::Orthogonal { gain } => ("gain", gain),
        })
    }

    fn validate(&self, fans: Fans) -> Result<()> {
        let positive = |name: &'static str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid_arg(name, v, "must be positive and finite"))
            }
        };
        let ordered = |low: f64, high: f64| {
            if low < high && low.is_finite() && high.is_finite() {
                Ok(())
            } else {
                Err(Error::invalid_arg(
                    "initializer bounds",
                    format!("[{low}, {high}]"),
                    "need finite low < high",
                ))
            }
        };
        match *self {
            Init::Constant(v) if !v.is_finite() => {
                Err(Error::invalid_arg("constant", v, "must be finite"))
            }
            Init::Constant(_) => Ok(()),
            Init::Uniform { low, high } => ordered(low, high),
            Init::Normal { mean, std } => {
                positive("std", std)?;
                if mean.is_finite() {
                    Ok(())
                } else {
                    Err(Error::invalid_arg("mean", mean, "must be finite"))
                }
            }
            Init::TruncatedNormal {
                mean,
                std,
                low,
                high,
            } => {
                positive("std", std)?;
                ordered(low, high)?;
                if !mean.is_finite() {
                    return Err(Error::invalid_arg("mean", mean, "must be finite"));
                }
                let mass = normal_mass((low - mean) / std, (high - mean) / std);
                if mass < MIN_TRUNCATED_MASS {
                    return Err(Error::invalid_arg(
                        "truncated normal bounds",
                        format!("[{low}, {high}] for N({mean}, {std}²)"),
                        format!(
                            "the interval holds {mass:.2e} of the distribution, \
                             less than the {MIN_TRUNCATED_MASS} rejection sampling needs"
                        ),
                    ));
                }
                Ok(())
            }
            Init::VarianceScaling { scale, mode, .. } => {
                positive("scale", scale)?;
                // Both fans, whatever the mode: a weight with no inputs or
                // no outputs connects nothing, and an empty fill is no init.
                if fans.fan_in > 0 && fans.fan_out > 0 && fan(mode, fans) > 0.0 {
                    Ok(())
                } else {
                    Err(Error::invalid_arg(
                        "fans",
                        format!("in={} out={}", fans.fan_in, fans.fan_out),
                        "variance scaling needs non-zero fans (a layer with no inputs or no \
                         outputs)",
                    ))
                }
            }
            Init::Orthogonal { gain } => positive("gain", gain),
        }
    }
}

fn fan(mode: FanMode, fans: Fans) -> f64 {
    match mode {
        FanMode::FanIn => fans.fan_in as f64,
        FanMode::FanOut => fans.fan_out as f64,
        FanMode::FanAvg => (fans.fan_in + fans.fan_out) as f64 / 2.0,
    }
}

/// The smallest probability mass `[low, high]` may hold for
/// [`Init::TruncatedNormal`]: rejection sampling draws `1/mass` normals per
/// weight on average, at most 100 here.
const MIN_TRUNCATED_MASS: f64 = 0.01;

impl<T: Scalar> Initializer<T> for Init {
    fn fill(&self, w: &mut Tensor<T>, fans: Fans, rng: &mut dyn Rng) -> Result<()> {
        self.validate(fans)?;
        let n = w.len();
        let values: Vec<f64> = match *self {
            Init::Constant(v) => vec![v; n],
            Init::Uniform { low, high } => (0..n)
                .map(|_| low + (high - low) * rng.random::<f64>())
                .collect(),
            Init::Normal { mean, std } => {
                (0..n).map(|_| mean + std * standard_normal(rng)).collect()
            }
            Init::TruncatedNormal {
                mean,
                std,
                low,
                high,
            } => (0..n)
                .map(|_| truncated(rng, mean, std, low, high))
                .collect::<Result<_>>()?,
            Init::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let var = scale / fan(mode, fans);
                match distribution {
                    Distribution::Uniform => {
                        let limit = (3.0 * var).sqrt();
                        (0..n)
                            .map(|_| limit * (2.0 * rng.random::<f64>() - 1.0))
                            .collect()
                    }
                    Distribution::Normal => {
                        let std = var.sqrt();
                        (0..n).map(|_| std * standard_normal(rng)).collect()
                    }
                    Distribution::TruncatedNormal => {
                        let std = var.sqrt() / 0.879_625_661_034_239_8;
                        (0..n)
                            .map(|_| truncated(rng, 0.0, std, -2.0 * std, 2.0 * std))
                            .collect::<Result<_>>()?
                    }
                }
            }
            Init::Orthogonal { gain } => {
                if w.ndim() < 2 || n == 0 {
                    return Err(Error::invalid_shape(
                        "orthogonal init",
                        w.shape(),
                        "needs at least 2 dimensions and at least one element",
                    ));
                }
                // As PyTorch: the tensor is viewed as rows × (product of the rest).
                let rows = w.shape()[0];
                let cols = n.checked_div(rows).unwrap_or(0);
                // Orthonormalise the short side's vectors, each stored
                // contiguously: the columns of the tall matrix (len = rows)
                // when rows ≥ cols, else the rows themselves (len = cols).
                let (len, count) = (rows.max(cols), rows.min(cols));
                let mut q: Vec<f64> = (0..n).map(|_| standard_normal(rng)).collect();
                orthonormalize(&mut q, len, count);
                if rows >= cols {
                    // q holds the columns; W is row-major, so transpose.
                    let mut t = vec![0.0; n];
                    for (j, col) in q.chunks_exact(len.max(1)).enumerate() {
                        for (i, &x) in col.iter().enumerate() {
                            t[i * cols + j] = x;
                        }
                    }
                    q = t;
                }
                q.iter_mut().for_each(|x| *x *= gain);
                q
            }
        };
        // Check before writing, so a failed fill leaves `w` untouched.
        if let Some(bad) = values.iter().find(|v| !T::from_f64(**v).is_finite()) {
            return Err(Error::non_finite(format!(
                "{self:?} filling a {} tensor: {bad} is not finite as {}",
                crate::error::shape_str(w.shape()),
                T::DTYPE
            )));
        }
        for (dst, v) in w.as_mut_slice().iter_mut().zip(values) {
            *dst = T::from_f64(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::StdRng};

    const FANS: Fans = Fans {
        fan_in: 50,
        fan_out: 30,
    };

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-15 * b.abs().max(1.0)
    }

    fn arg_name(e: &Error) -> &'static str {
        match e {
            Error::InvalidArgument { name, .. } => name,
            other => panic!("expected InvalidArgument, got {other:?}"),
        }
    }

    #[test]
    fn gain_table_matches_pytorch() {
        // torch.nn.init.calculate_gain
        assert_eq!(gain(Nonlinearity::Linear).unwrap(), 1.0);
        assert_eq!(gain(Nonlinearity::Sigmoid).unwrap(), 1.0);
        assert_eq!(gain(Nonlinearity::Tanh).unwrap(), 5.0 / 3.0);
        assert_eq!(gain(Nonlinearity::Relu).unwrap(), std::f64::consts::SQRT_2);
        assert_eq!(gain(Nonlinearity::Selu).unwrap(), 0.75);
        // √(2/(1+0.01²)) = √(2/1.0001) = 1.4141428569978354 (PyTorch's default slope).
        assert!(close(
            gain(Nonlinearity::LeakyRelu(0.01)).unwrap(),
            1.414_142_856_997_835_4
        ));
        // Slope 0 is plain ReLU; slope √5 is nn.Linear's √(1/3).
        assert_eq!(gain(Nonlinearity::LeakyRelu(0.0)).unwrap(), 2f64.sqrt());
        assert!(close(
            gain(Nonlinearity::LeakyRelu(5f64.sqrt())).unwrap(),
            (1.0f64 / 3.0).sqrt()
        ));
    }

    #[test]
    fn fans_of_shape_follow_pytorch() {
        let f = |fan_in, fan_out| Fans { fan_in, fan_out };
        assert_eq!(Fans::of_shape(&[]).unwrap(), f(1, 1));
        assert_eq!(Fans::of_shape(&[7]).unwrap(), f(7, 7));
        // Dense [out, in] = [10, 20].
        assert_eq!(Fans::of_shape(&[10, 20]).unwrap(), f(20, 10));
        // Conv [out, in, kh, kw] = [8, 3, 5, 5]: receptive field 25, in 3·25, out 8·25.
        assert_eq!(Fans::of_shape(&[8, 3, 5, 5]).unwrap(), f(75, 200));
        assert_eq!(Fans::of_shape(&[0, 4]).unwrap(), f(4, 0));
    }

    #[test]
    fn spread_of_each_named_initializer() {
        // fan_in = 50, fan_out = 30, fan_avg = 40; each value by hand from the formula.
        let cases: [(Init, &str, f64); 16] = [
            (Init::he_normal(), "std", 0.2),                         // √(2/50)
            (Init::he_uniform(), "bound", 0.346_410_161_513_775_46), // √(6/50)
            (Init::xavier_uniform(), "bound", 0.273_861_278_752_583_04), // √(6/80)
            (Init::xavier_normal(), "std", 0.158_113_883_008_418_97), // √(2/80)
            (
                Init::xavier_uniform_gain(2.0),
                "bound",
                0.547_722_557_505_166_1,
            ), // 2·√(6/80)
            (
                Init::xavier_normal_gain(2.0),
                "std",
                0.316_227_766_016_837_94,
            ), // 2·√(2/80)
            (Init::lecun_uniform(), "bound", 0.244_948_974_278_317_8), // √(3/50)
            (Init::lecun_normal(), "std", 0.141_421_356_237_309_5),  // √(1/50)
            (Init::torch_default(), "bound", 0.141_421_356_237_309_5), // 1/√50
            // (5/3)/√30 with the fan-out
            (
                Init::kaiming_normal(FanMode::FanOut, 5.0 / 3.0),
                "std",
                0.304_290_309_725_092_3,
            ),
            (
                Init::kaiming_uniform(FanMode::FanOut, 1.0),
                "bound",
                0.316_227_766_016_837_94,
            ), // √(3/30)
            // Keras-style truncated: the resulting std √(1/40), not the pre-truncation σ.
            (
                Init::variance_scaling(1.0, FanMode::FanAvg, Distribution::TruncatedNormal),
                "std",
                0.158_113_883_008_418_97,
            ),
            (Init::constant(0.5), "value", 0.5),
            (Init::uniform(-0.3, 0.1), "bound", 0.3),
            (Init::truncated_normal(1.0, 0.02, 0.9, 1.1), "std", 0.02),
            (Init::orthogonal(1.5), "gain", 1.5),
        ];
        for (init, kind, value) in cases {
            let (k, v) = init.spread(FANS).unwrap();
            assert_eq!(k, kind, "{init:?}");
            assert!(close(v, value), "{init:?}: {v} vs {value}");
        }
        assert_eq!(Init::zeros().spread(FANS).unwrap(), ("value", 0.0));
        assert_eq!(Init::ones().spread(FANS).unwrap(), ("value", 1.0));
        assert_eq!(Init::normal(0.0, 0.01).spread(FANS).unwrap(), ("std", 0.01));
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;

                type T = $t;

                fn fill(init: Init, shape: &[usize]) -> Result<Tensor<T>> {
                    let mut w = Tensor::<T>::full(shape, 7.0)?;
                    let fans = Fans::of_shape(shape).unwrap();
                    Initializer::<T>::fill(&init, &mut w, fans, &mut StdRng::seed_from_u64(3))?;
                    Ok(w)
                }

                /// Fills a tensor of 7s and checks the error leaves it untouched.
                fn fill_err(init: Init, shape: &[usize], fans: Fans) -> Error {
                    let mut w = Tensor::<T>::full(shape, 7.0).unwrap();
                    let err =
                        Initializer::<T>::fill(&init, &mut w, fans, &mut StdRng::seed_from_u64(3))
                            .unwrap_err();
                    assert!(w.as_slice().iter().all(|&x| x == 7.0), "{init:?} wrote");
                    // spread validates the same way.
                    if !matches!(err, Error::InvalidShape { .. } | Error::NonFinite { .. }) {
                        assert!(init.spread(fans).is_err(), "{init:?}");
                    }
                    err
                }

                #[test]
                fn non_positive_or_non_finite_std_is_an_error() {
                    for std in [0.0, -1.0, f64::NAN, f64::INFINITY] {
                        let e = fill_err(Init::normal(0.0, std), &[4, 3], FANS);
                        assert_eq!(arg_name(&e), "std");
                        let e =
                            fill_err(Init::truncated_normal(0.0, std, -1.0, 1.0), &[4, 3], FANS);
                        assert_eq!(arg_name(&e), "std");
                    }
                    let e = fill_err(Init::normal(f64::NAN, 1.0), &[4, 3], FANS);
                    assert_eq!(arg_name(&e), "mean");
                    let e = fill_err(
                        Init::truncated_normal(f64::INFINITY, 1.0, -1.0, 1.0),
                        &[4, 3],
                        FANS,
                    );
                    assert_eq!(arg_name(&e), "mean");
                }

                #[test]
                fn unordered_or_non_finite_bounds_are_errors() {
                    for (low, high) in [
                        (1.0, 1.0),
                        (2.0, 1.0),
                        (f64::NAN, 1.0),
                        (0.0, f64::INFINITY),
                    ] {
                        let e = fill_err(Init::uniform(low, high), &[4, 3], FANS);
                        assert_eq!(arg_name(&e), "initializer bounds");
                        let e =
                            fill_err(Init::truncated_normal(0.0, 1.0, low, high), &[4, 3], FANS);
                        assert_eq!(arg_name(&e), "initializer bounds");
                    }
                    let e = fill_err(Init::uniform(1.0, 0.5), &[2], FANS);
                    assert_eq!(
                        e.to_string(),
                        "invalid initializer bounds = [1, 0.5]: need finite low < high"
                    );
                }

                #[test]
                fn truncation_holding_too_little_mass_is_an_error() {
                    // P(5 ≤ Z ≤ 6) ≈ 2.9e-7 < 1%.
                    let e = fill_err(Init::truncated_normal(0.0, 1.0, 5.0, 6.0), &[4], FANS);
                    assert_eq!(arg_name(&e), "truncated normal bounds");
                    assert!(e.to_string().contains("2.86e-7"), "{e}");
                    // P(Z ≥ 2.4) = 0.82% is refused, P(Z ≥ 2.3) = 1.07% is sampled.
                    fill_err(Init::truncated_normal(0.0, 1.0, 2.4, 10.0), &[4], FANS);
                    let w = fill(Init::truncated_normal(0.0, 1.0, 2.3, 10.0), &[50]).unwrap();
                    assert!(w.as_slice().iter().all(|&x| (2.3..=10.0).contains(&x)));
                }

                #[test]
                fn non_finite_constant_is_an_error() {
                    for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                        let e = fill_err(Init::constant(v), &[2, 2], FANS);
                        assert_eq!(arg_name(&e), "constant");
                    }
                    assert_eq!(
                        fill(Init::constant(-0.25), &[2, 2]).unwrap().as_slice(),
                        &[-0.25; 4]
                    );
                    assert_eq!(fill(Init::zeros(), &[3]).unwrap().as_slice(), &[0.0; 3]);
                    assert_eq!(fill(Init::ones(), &[3]).unwrap().as_slice(), &[1.0; 3]);
                }

                #[test]
                fn values_that_overflow_the_type_are_errors() {
                    // 1e39 exceeds f32::MAX (3.4e38) but not f64::MAX.
                    let r = fill(Init::constant(1e39), &[2]);
                    if T::DTYPE == "F32" {
                        let mut w = Tensor::<T>::full(&[2], 7.0).unwrap();
                        let e = Initializer::<T>::fill(
                            &Init::constant(1e39),
                            &mut w,
                            FANS,
                            &mut StdRng::seed_from_u64(0),
                        )
                        .unwrap_err();
                        assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
                        assert!(e.to_string().contains("is not finite as F32"), "{e}");
                        assert_eq!(w.as_slice(), &[7.0, 7.0]);
                        assert!(r.is_err());
                    } else {
                        assert_eq!(r.unwrap().as_slice(), &[T::from_f64(1e39); 2]);
                    }
                    // high − low overflows f64 itself.
                    let e = fill_err(Init::uniform(-1e308, 1e308), &[8], FANS);
                    assert!(matches!(e, Error::NonFinite { .. }), "{e:?}");
                }

                #[test]
                fn zero_fans_or_bad_scale_in_variance_scaling_are_errors() {
                    let zero_in = Fans {
                        fan_in: 0,
                        fan_out: 5,
                    };
                    let zero_out = Fans {
                        fan_in: 5,
                        fan_out: 0,
                    };
                    let zero = Fans {
                        fan_in: 0,
                        fan_out: 0,
                    };
                    let e = fill_err(Init::he_normal(), &[5, 0], zero_in);
                    assert_eq!(arg_name(&e), "fans");
                    assert_eq!(
                        e.to_string(),
                        "invalid fans = in=0 out=5: variance scaling needs non-zero fans (a layer \
                         with no inputs or no outputs)"
                    );
                    fill_err(
                        Init::kaiming_uniform(FanMode::FanOut, 1.0),
                        &[0, 5],
                        zero_out,
                    );
                    fill_err(Init::xavier_uniform(), &[0, 0], zero);
                    // Xavier (fan_avg) on a layer with no inputs is refused too.
                    assert!(Init::xavier_normal().spread(zero_in).is_err());
                    fill_err(Init::xavier_uniform(), &[5, 0], zero_in);
                    for scale in [0.0, -2.0, f64::NAN, f64::INFINITY] {
                        let init =
                            Init::variance_scaling(scale, FanMode::FanIn, Distribution::Normal);
                        assert_eq!(arg_name(&fill_err(init, &[2, 2], FANS)), "scale");
                    }
                }

                #[test]
                fn orthogonal_needs_two_dimensions_and_a_positive_gain() {
                    let e = fill_err(Init::orthogonal(1.0), &[6], FANS);
                    assert!(
                        matches!(
                            e,
                            Error::InvalidShape {
                                op: "orthogonal init",
                                ..
                            }
                        ),
                        "{e:?}"
                    );
                    assert_eq!(
                        e.to_string(),
                        "orthogonal init: shape 6 is invalid: needs at least 2 dimensions and at \
                         least one element"
                    );
                    fill_err(Init::orthogonal(1.0), &[], FANS);
                    for g in [0.0, -1.0, f64::NAN] {
                        assert_eq!(
                            arg_name(&fill_err(Init::orthogonal(g), &[2, 2], FANS)),
                            "gain"
                        );
                    }
                }

                #[test]
                fn orthogonal_small_shapes() {
                    let tol = if T::DTYPE == "F32" { 1e-6 } else { 1e-14 };
                    // Square, tall, wide, and a 3-D tensor viewed as 2 × 6.
                    for shape in [&[3usize, 3][..], &[5, 2], &[2, 5], &[2, 3, 2]] {
                        let w = fill(Init::orthogonal(2.0), shape).unwrap();
                        let (r, c) = (shape[0], w.len() / shape[0]);
                        let m = w.reshape(&[r, c]).unwrap();
                        // Gram matrix of the short side: 4·I for gain 2.
                        let g = if r >= c {
                            m.t_matmul(&m)
                        } else {
                            m.matmul_t(&m)
                        }
                        .unwrap();
                        let k = r.min(c);
                        for i in 0..k {
                            for j in 0..k {
                                let want = if i == j { 4.0 } else { 0.0 };
                                assert!(
                                    (g[[i, j]] - want).abs() < tol,
                                    "{shape:?} {i},{j}: {}",
                                    g[[i, j]]
                                );
                            }
                        }
                    }
                    // Empty matrices have no orthogonal basis: refused.
                    assert!(fill(Init::orthogonal(1.0), &[0, 4]).is_err());
                    assert!(fill(Init::orthogonal(1.0), &[4, 0]).is_err());
                }

                #[test]
                fn same_seed_same_weights() {
                    for init in [
                        Init::he_normal(),
                        Init::xavier_uniform(),
                        Init::orthogonal(1.0),
                    ] {
                        let a = fill(init, &[6, 4]).unwrap();
                        let b = fill(init, &[6, 4]).unwrap();
                        assert_eq!(a, b);
                        let mut c = Tensor::<T>::zeros(&[6, 4]).unwrap();
                        Initializer::<T>::fill(
                            &init,
                            &mut c,
                            Fans::of_shape(&[6, 4]).unwrap(),
                            &mut StdRng::seed_from_u64(4),
                        )
                        .unwrap();
                        assert_ne!(a, c);
                    }
                }
            }
        };
    }

    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);
}
