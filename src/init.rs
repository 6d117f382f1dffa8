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
//!
//! For a dense weight of shape `[out, in]` (PyTorch's layout), fan_in = `in`
//! and fan_out = `out`; the layer computes them, you never pass them.
//!
//! Sampling is done in `f64` and rounded, so the same seed gives the same
//! weights in `f32` and `f64`.

use std::fmt::Debug;

use rand::{Rng, RngExt};

use crate::{Error, Result, Scalar, Tensor};

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
    pub fn of_shape(shape: &[usize]) -> Fans {
        match shape {
            [] => Fans {
                fan_in: 1,
                fan_out: 1,
            },
            [n] => Fans {
                fan_in: *n,
                fan_out: *n,
            },
            [out, inp, rest @ ..] => {
                let field: usize = rest.iter().product();
                Fans {
                    fan_in: inp * field,
                    fan_out: out * field,
                }
            }
        }
    }
}

/// Which fan a variance-scaling initializer divides by.
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
    /// `N(0, scale/n)`.
    Normal,
    /// Keras' truncated normal: `N(0, σ²)` cut at ±2σ with `σ = √(scale/n) / 0.87962566103423978`,
    /// which restores the variance `scale/n` after truncation.
    TruncatedNormal,
}

/// A nonlinearity, for [`gain`].
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
    /// Leaky ReLU with negative slope α: gain √(2/(1+α²)).
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
/// assert_eq!(gain(Nonlinearity::Relu), 2f64.sqrt());
/// assert_eq!(gain(Nonlinearity::Tanh), 5.0 / 3.0);
/// ```
pub fn gain(nonlinearity: Nonlinearity) -> f64 {
    match nonlinearity {
        Nonlinearity::Linear | Nonlinearity::Sigmoid => 1.0,
        Nonlinearity::Tanh => 5.0 / 3.0,
        Nonlinearity::Relu => 2f64.sqrt(),
        Nonlinearity::LeakyRelu(a) => (2.0 / (1.0 + a * a)).sqrt(),
        Nonlinearity::Selu => 0.75,
    }
}

/// Anything that can fill a weight tensor given its fans and the caller's `Rng`.
///
/// [`Init`] covers the usual rules; implement this for your own.
pub trait Initializer<T: Scalar>: Debug {
    /// Overwrites every element of `w`, whose fans are `fans`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for invalid parameters or zero fans.
    fn fill(&self, w: &mut Tensor<T>, fans: Fans, rng: &mut dyn Rng) -> Result<()>;
}

/// The standard initializers. Constructing one never fails; its parameters
/// are checked when it fills a tensor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// Every weight equal to the value.
    Constant(f64),
    /// `U(low, high)`.
    Uniform {
        /// Lower bound (inclusive).
        low: f64,
        /// Upper bound (exclusive); must exceed `low`.
        high: f64,
    },
    /// `N(mean, std²)`.
    Normal {
        /// Mean.
        mean: f64,
        /// Standard deviation; must be positive.
        std: f64,
    },
    /// `N(mean, std²)` conditioned on `low ≤ w ≤ high` (PyTorch's `trunc_normal_`:
    /// absolute bounds, resampled until inside).
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
    /// PyTorch `kaiming_uniform_(nonlinearity='relu')`.
    pub fn he_uniform() -> Init {
        Init::kaiming_uniform(FanMode::FanIn, gain(Nonlinearity::Relu))
    }

    /// He/Kaiming normal for ReLU: `N(0, 2/fan_in)`.
    /// PyTorch `kaiming_normal_(nonlinearity='relu')`.
    pub fn he_normal() -> Init {
        Init::kaiming_normal(FanMode::FanIn, gain(Nonlinearity::Relu))
    }

    /// Kaiming uniform with a mode and a gain: `U(±gain·√(3/fan))`.
    pub fn kaiming_uniform(mode: FanMode, gain: f64) -> Init {
        Init::variance_scaling(gain * gain, mode, Distribution::Uniform)
    }

    /// Kaiming normal with a mode and a gain: `σ = gain/√fan`.
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
    /// is `"bound"` (uniform), `"std"` (normal) or `"value"` (constant), for
    /// docs and summaries.
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
            Init::TruncatedNormal { std, low, high, .. } => {
                positive("std", std)?;
                ordered(low, high)
            }
            Init::VarianceScaling { scale, mode, .. } => {
                positive("scale", scale)?;
                if fan(mode, fans) > 0.0 {
                    Ok(())
                } else {
                    Err(Error::invalid_arg(
                        "fans",
                        format!("in={} out={}", fans.fan_in, fans.fan_out),
                        "variance scaling needs a non-zero fan",
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

/// A standard normal sample by the Box–Muller transform (two uniforms, one
/// normal), written here so the numbers depend only on the `Rng`'s stream.
fn standard_normal(rng: &mut dyn Rng) -> f64 {
    loop {
        let u1: f64 = rng.random();
        if u1 > 0.0 {
            let u2: f64 = rng.random();
            return (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        }
    }
}

/// `N(mean, std²)` restricted to `[low, high]` by rejection; errors when the
/// interval holds too little of the distribution to hit in 10 000 tries.
fn truncated(rng: &mut dyn Rng, mean: f64, std: f64, low: f64, high: f64) -> Result<f64> {
    for _ in 0..10_000 {
        let x = mean + std * standard_normal(rng);
        if (low..=high).contains(&x) {
            return Ok(x);
        }
    }
    Err(Error::invalid_arg(
        "truncated normal bounds",
        format!("[{low}, {high}] for N({mean}, {std}²)"),
        "the interval holds almost none of the distribution",
    ))
}

/// Modified Gram–Schmidt on the columns of a `rows × cols` (rows ≥ cols)
/// row-major matrix, in place: the result has orthonormal columns and equals
/// `Q` of the QR factorisation with a positive diagonal in `R`, which is what
/// PyTorch's `orthogonal_` produces after its sign correction.
fn orthonormalize_columns(a: &mut [f64], rows: usize, cols: usize) {
    for j in 0..cols {
        for prev in 0..j {
            let dot: f64 = (0..rows)
                .map(|i| a[i * cols + j] * a[i * cols + prev])
                .sum();
            for i in 0..rows {
                a[i * cols + j] -= dot * a[i * cols + prev];
            }
        }
        let norm = (0..rows)
            .map(|i| a[i * cols + j].powi(2))
            .sum::<f64>()
            .sqrt();
        for i in 0..rows {
            a[i * cols + j] /= norm;
        }
    }
}

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
                let rows = w.shape().first().copied().unwrap_or(1);
                let cols = n.checked_div(rows).unwrap_or(0);
                if w.ndim() < 2 {
                    return Err(Error::invalid_shape(
                        "orthogonal init",
                        w.shape(),
                        "needs at least 2 dimensions",
                    ));
                }
                // Work on the tall orientation, then transpose back if needed.
                let (tall_r, tall_c) = (rows.max(cols), rows.min(cols));
                let mut a: Vec<f64> = (0..n).map(|_| standard_normal(rng)).collect();
                orthonormalize_columns(&mut a, tall_r, tall_c);
                if rows < cols {
                    let mut t = vec![0.0; n];
                    for i in 0..tall_r {
                        for j in 0..tall_c {
                            t[j * tall_r + i] = a[i * tall_c + j];
                        }
                    }
                    a = t;
                }
                a.iter_mut().for_each(|x| *x *= gain);
                a
            }
        };
        for (dst, v) in w.as_mut_slice().iter_mut().zip(values) {
            *dst = T::from_f64(v);
        }
        Ok(())
    }
}
