//! Which inputs matter for one output, *for this input*: gradient-based
//! attribution.
//!
//! Where [`weight_path_importance`](super::weight_path_importance) reads the
//! weights alone, these methods look at what the network does with a given
//! input `x`. Each explains one output `y_k = f_k(x)` per sample (a
//! [`Target`]: the same index for every sample, or one per sample such as
//! the predicted or the true class) and returns one value per input
//! element, in a tensor of `x`'s shape:
//!
//! | method | value for input `i` | reference |
//! |---|---|---|
//! | [`saliency`] | `∂y_k/∂xᵢ` (signed) | Simonyan et al. 2014; Captum's `Saliency(abs=False)` |
//! | [`gradient_times_input`] | `xᵢ · ∂y_k/∂xᵢ` | Shrikumar et al. 2016; Captum's `InputXGradient` |
//! | [`integrated_gradients`] | `(xᵢ − x'ᵢ) · ∫₀¹ ∂y_k/∂xᵢ(x' + α(x − x')) dα`, by a [`Riemann`] sum | Sundararajan et al. 2017; Captum's `IntegratedGradients` |
//! | [`smooth_grad`] | mean of `∂y_k/∂xᵢ` over `x + ε`, `ε ~ N(0, σ²)` | Smilkov et al. 2017; Captum's `NoiseTunnel(Saliency)` |
//! | [`occlusion`](super::occlusion::occlusion) | mean drop of `y_k` when a patch over `xᵢ` is filled | Zeiler and Fergus 2014; Captum's `Occlusion` |
//!
//! The gradients come from the network's own hand-written backward pass
//! (one forward and one backward pass per batch, with `∂L/∂y` one-hot at
//! the target), run in [`Mode::Eval`] (dropout off, batch norm on its
//! running statistics), so samples do not interact. The parameters'
//! gradients are put back as they were afterwards: attributing in the
//! middle of a training loop disturbs nothing.
//!
//! Outputs are explained as the network produces them: for a classifier
//! trained with [`Loss::softmax_cross_entropy`](crate::Loss::softmax_cross_entropy)
//! these are logits; push a [`Softmax`](crate::Softmax) layer to explain
//! probabilities instead.
//!
//! ```
//! use weightwise::{Network, Tensor, layer::dense::Dense};
//! use weightwise::inspect::attribution::{self, IntegratedGradients};
//! # fn main() -> weightwise::Result<()> {
//! // y = 2·x₀ − 3·x₁ + 1: every method has a closed form here.
//! let mut net = Network::<f64>::new(2)?;
//! let w = Tensor::from_rows(&[[2.0, -3.0]])?;
//! net.push(Box::new(Dense::from_weights(w, Some(Tensor::from_slice(&[1.0])))?))?;
//! let x = Tensor::from_rows(&[[1.0, 2.0]])?;
//! assert_eq!(attribution::saliency(&mut net, &x, 0)?.as_slice(), &[2.0, -3.0]);
//! assert_eq!(attribution::gradient_times_input(&mut net, &x, 0)?.as_slice(), &[2.0, -6.0]);
//! let ig = attribution::integrated_gradients(
//!     &mut net, &x, &Tensor::zeros(&[1, 2])?, 0, &IntegratedGradients::default())?;
//! for (v, want) in ig.values.as_slice().iter().zip([2.0, -6.0]) {
//!     assert!((v - want).abs() < 1e-12);          // (x − x')·w, up to the rule's rounding
//! }
//! assert!(ig.residual[0].abs() < 1e-12);           // Σ = f(x) − f(x') = −4
//! # Ok(()) }
//! ```

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::{Distribution, StandardNormal};

use crate::layer::Mode;
use crate::{Error, Network, Result, Scalar, Tensor};

/// Which output each sample's attribution explains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// Output `k` for every sample.
    Output(usize),
    /// Output `targets[i]` for sample `i` (e.g. each sample's true or
    /// predicted class); one entry per sample.
    PerSample(&'a [usize]),
}

impl From<usize> for Target<'_> {
    fn from(k: usize) -> Self {
        Target::Output(k)
    }
}

impl<'a> From<&'a [usize]> for Target<'a> {
    fn from(targets: &'a [usize]) -> Self {
        Target::PerSample(targets)
    }
}

impl<'a> From<&'a Vec<usize>> for Target<'a> {
    fn from(targets: &'a Vec<usize>) -> Self {
        Target::PerSample(targets)
    }
}

impl Target<'_> {
    /// The output index of each of `n` samples, checked against `outputs`.
    pub(crate) fn resolve(self, op: &'static str, n: usize, outputs: usize) -> Result<Vec<usize>> {
        let all = match self {
            Target::Output(k) => vec![k; n],
            Target::PerSample(t) if t.len() == n => t.to_vec(),
            Target::PerSample(t) => {
                return Err(Error::shape_mismatch(
                    op,
                    &[n],
                    &[t.len()],
                    "one target per sample is needed",
                ));
            }
        };
        if let Some(&bad) = all.iter().find(|&&k| k >= outputs) {
            return Err(Error::invalid_arg(
                "attribution target",
                bad,
                format!("{op}: the network has {outputs} outputs"),
            ));
        }
        Ok(all)
    }
}

/// The batch size of `x` (its first dimension), which must be ≥ 1, with at
/// least one element per sample.
pub(crate) fn batch_size<T: Scalar>(op: &'static str, x: &Tensor<T>) -> Result<usize> {
    match x.shape() {
        [n, ..] if x.ndim() >= 2 && *n > 0 && !x.is_empty() => Ok(*n),
        _ => Err(Error::invalid_shape(
            op,
            x.shape(),
            "attribution needs a batch of at least one sample, [n, features…]",
        )),
    }
}

/// Runs `f` on the network and then puts every parameter gradient back as
/// it was, whatever `f` returns.
pub(crate) fn keeping_grads<T: Scalar, R>(
    net: &mut Network<T>,
    f: impl FnOnce(&mut Network<T>) -> Result<R>,
) -> Result<R> {
    let mut saved = Vec::new();
    net.visit_params(&mut |_, p| saved.push(p.grad.clone()));
    let out = f(net);
    let mut k = 0;
    net.visit_params_mut(&mut |_, p| {
        p.grad.assign(&saved[k]);
        k += 1;
    });
    out
}

/// The target output of every sample for the batch `x`, in inference mode.
pub(crate) fn target_outputs<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    targets: &[usize],
) -> Result<Vec<f64>> {
    let y = net.forward(x, Mode::Eval)?;
    let (_, k) = y.dims2("attribution (network output)")?;
    let y = y.as_slice();
    Ok(targets
        .iter()
        .enumerate()
        .map(|(i, &t)| y[i * k + t].as_f64())
        .collect())
}

/// One forward and one backward pass: `grad` becomes `∂y_{tᵢ}/∂x` for every
/// sample `i` (the one-hot `∂L/∂y` makes each row its own sample's
/// gradient), and the target outputs are returned.
fn input_gradient<T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    targets: &[usize],
    dy: &mut Tensor<T>,
    grad: &mut Tensor<T>,
) -> Result<Vec<f64>> {
    let values = {
        let y = net.forward(x, Mode::Eval)?;
        let (n, k) = y.dims2("attribution (network output)")?;
        dy.resize_zeroed(&[n, k]);
        let ys = y.as_slice();
        let mut values = Vec::with_capacity(n);
        for (i, &t) in targets.iter().enumerate() {
            dy.as_mut_slice()[i * k + t] = T::one();
            values.push(ys[i * k + t].as_f64());
        }
        values
    };
    let g = net.backward(dy)?;
    if g.shape() != x.shape() {
        return Err(Error::shape_mismatch(
            "attribution (input gradient)",
            x.shape(),
            g.shape(),
            "the backward pass must return a gradient of the input's shape",
        ));
    }
    grad.assign(g);
    Ok(values)
}

/// The checks every method starts with; returns the targets.
fn prepare<T: Scalar>(
    op: &'static str,
    net: &Network<T>,
    x: &Tensor<T>,
    target: Target<'_>,
) -> Result<Vec<usize>> {
    let n = batch_size(op, x)?;
    if !x.all_finite() {
        return Err(Error::non_finite(format!("{op}: the input")));
    }
    target.resolve(op, n, net.outputs())
}

/// The saliency `∂y_k/∂x`: the gradient of the target output with respect
/// to each input element, signed (Captum's `Saliency` with `abs=False`;
/// take `|·|` for the classic saliency map). A tensor of `x`'s shape.
///
/// # Errors
/// [`Error::InvalidShape`] for an empty batch; [`Error::NonFinite`] for a
/// NaN or infinite input; [`Error::InvalidArgument`] for a target outside
/// the outputs; [`Error::ShapeMismatch`] for a per-sample target list of the
/// wrong length; any error of the forward or backward pass (e.g. `x` not
/// fitting the network).
pub fn saliency<'a, T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    target: impl Into<Target<'a>>,
) -> Result<Tensor<T>> {
    let targets = prepare("saliency", net, x, target.into())?;
    keeping_grads(net, |net| {
        let (mut dy, mut g) = (Tensor::default(), Tensor::default());
        input_gradient(net, x, &targets, &mut dy, &mut g)?;
        Ok(g)
    })
}

/// Gradient × input, `xᵢ · ∂y_k/∂xᵢ` (Captum's `InputXGradient`). For a
/// linear model `y = w·x + b` it is exactly each input's share `wᵢxᵢ` of
/// `y − b`.
///
/// # Errors
/// As for [`saliency`].
pub fn gradient_times_input<'a, T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    target: impl Into<Target<'a>>,
) -> Result<Tensor<T>> {
    let targets = prepare("gradient_times_input", net, x, target.into())?;
    keeping_grads(net, |net| {
        let (mut dy, mut g) = (Tensor::default(), Tensor::default());
        input_gradient(net, x, &targets, &mut dy, &mut g)?;
        g.zip_apply(x, |g, x| g * x)?;
        Ok(g)
    })
}

/// The rule that turns the path integral of [`integrated_gradients`] into a
/// sum of `m` gradients `Σₖ wₖ · ∇f(x' + αₖ(x − x'))`, with Captum's nodes
/// (`captum.attr._utils.approximation_methods`):
///
/// | rule | nodes `αₖ`, k = 0…m−1 | weights `wₖ` |
/// |---|---|---|
/// | `Left` | `k/m` | `1/m` |
/// | `Right` | `(k+1)/m` | `1/m` |
/// | `Midpoint` | `(k+½)/m` | `1/m` |
/// | `Trapezoid` | `k/(m−1)` (both ends included; needs m ≥ 2) | `1/(m−1)`, halved at both ends |
///
/// The midpoint and trapezoid rules are exact for gradients linear in α
/// and converge as `1/m²` on smooth paths; left and right converge as `1/m`.
/// On a ReLU network the gradient jumps where a unit switches on or off
/// along the path, and every rule converges as `1/m` there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Riemann {
    /// Left endpoints.
    Left,
    /// Right endpoints.
    Right,
    /// Midpoints (the default).
    #[default]
    Midpoint,
    /// The trapezoid rule.
    Trapezoid,
}

impl Riemann {
    /// The nodes `αₖ` and weights `wₖ` of the rule with `steps` gradients;
    /// the weights sum to 1.
    ///
    /// ```
    /// use weightwise::inspect::attribution::Riemann;
    /// # fn main() -> weightwise::Result<()> {
    /// assert_eq!(Riemann::Left.nodes(4)?, vec![(0.0, 0.25), (0.25, 0.25), (0.5, 0.25), (0.75, 0.25)]);
    /// assert_eq!(Riemann::Trapezoid.nodes(3)?, vec![(0.0, 0.25), (0.5, 0.5), (1.0, 0.25)]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for `steps = 0`, or `steps < 2` for the
    /// trapezoid rule.
    pub fn nodes(self, steps: usize) -> Result<Vec<(f64, f64)>> {
        let min = if self == Riemann::Trapezoid { 2 } else { 1 };
        if steps < min {
            return Err(Error::invalid_arg(
                "integrated gradients steps",
                steps,
                format!("the {self:?} rule needs at least {min}"),
            ));
        }
        let m = steps as f64;
        Ok((0..steps)
            .map(|k| {
                let k = k as f64;
                match self {
                    Riemann::Left => (k / m, 1.0 / m),
                    Riemann::Right => ((k + 1.0) / m, 1.0 / m),
                    Riemann::Midpoint => ((k + 0.5) / m, 1.0 / m),
                    Riemann::Trapezoid => {
                        let end = k == 0.0 || k == m - 1.0;
                        let w = 1.0 / (m - 1.0);
                        (k / (m - 1.0), if end { w / 2.0 } else { w })
                    }
                }
            })
            .collect())
    }
}

/// Settings of [`integrated_gradients`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IntegratedGradients {
    /// Number of gradients along the path. Defaults to 100.
    ///
    /// On a ReLU network the gradient jumps wherever a unit switches along
    /// the path, so every rule converges only as `1/steps`. On the digits
    /// model of `examples/digits.rs` (64-128-64-10, 360 test images, black
    /// baseline, midpoint rule) the worst image's completeness residual was
    /// 1.0–1.1 % of `|f(x) − f(x')|` at Captum's 50 steps and 0.34–0.39 % at
    /// 100 (f64–f32; median 0.04 %), hence 100.
    pub steps: usize,
    /// The quadrature rule. Defaults to [`Riemann::Midpoint`].
    pub rule: Riemann,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        IntegratedGradients {
            steps: 100,
            rule: Riemann::Midpoint,
        }
    }
}

/// Attributions with the completeness check of integrated gradients.
#[derive(Clone, Debug, PartialEq)]
pub struct PathAttribution<T> {
    /// One value per input element, `x`'s shape.
    pub values: Tensor<T>,
    /// The explained output at each sample, `f(x)`.
    pub output: Vec<f64>,
    /// The explained output at each sample's baseline, `f(x')`.
    pub baseline_output: Vec<f64>,
    /// Per sample, `Σᵢ attributionᵢ − (f(x) − f(x'))` (Captum's
    /// convergence delta): zero for the exact integral, so it measures the
    /// quadrature error.
    pub residual: Vec<f64>,
}

impl<T> PathAttribution<T> {
    /// The largest `|residual| / |f(x) − f(x')|` over the samples (samples
    /// where the output does not change are skipped; 0 if all are).
    pub fn max_relative_residual(&self) -> f64 {
        self.residual
            .iter()
            .zip(self.output.iter().zip(&self.baseline_output))
            .filter(|(_, (y, b))| (*y - *b) != 0.0)
            .map(|(r, (y, b))| (r / (y - b)).abs())
            .fold(0.0, f64::max)
    }
}

/// Integrated gradients (Sundararajan, Taly and Yan 2017): for each input
/// element `i`,
///
/// ```text
/// IGᵢ(x) = (xᵢ − x'ᵢ) · ∫₀¹ ∂f_k/∂xᵢ (x' + α(x − x')) dα
///        ≈ (xᵢ − x'ᵢ) · Σₖ wₖ · ∂f_k/∂xᵢ (x' + αₖ(x − x'))
/// ```
///
/// with the nodes and weights of `settings.rule` ([`Riemann`]). The exact
/// integral is *complete*: `Σᵢ IGᵢ = f_k(x) − f_k(x')`; the returned
/// [`PathAttribution::residual`] reports how far the sum is from it.
///
/// `baseline` `x'` has `x`'s shape (one baseline per sample) or a batch
/// dimension of 1 (one baseline for all), e.g. `Tensor::zeros(&[1, 64])`
/// for a black image. Sums are accumulated in `f64`.
///
/// # Errors
/// As for [`saliency`]; [`Error::ShapeMismatch`] for a baseline of another
/// shape; [`Error::NonFinite`] for a non-finite baseline;
/// [`Error::InvalidArgument`] for too few steps ([`Riemann::nodes`]).
pub fn integrated_gradients<'a, T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    baseline: &Tensor<T>,
    target: impl Into<Target<'a>>,
    settings: &IntegratedGradients,
) -> Result<PathAttribution<T>> {
    const OP: &str = "integrated_gradients";
    let targets = prepare(OP, net, x, target.into())?;
    let nodes = settings.rule.nodes(settings.steps)?;
    let n = targets.len();
    let per = x.len() / n;
    let shared = match baseline.shape() {
        s if s == x.shape() => false,
        [1, rest @ ..] if rest == &x.shape()[1..] => true,
        _ => {
            return Err(Error::shape_mismatch(
                OP,
                x.shape(),
                baseline.shape(),
                "the baseline needs the input's shape, or a batch of one shared by all samples",
            ));
        }
    };
    if !baseline.all_finite() {
        return Err(Error::non_finite(format!("{OP}: the baseline")));
    }
    let base = |j: usize| -> T {
        if shared {
            baseline.as_slice()[j % per]
        } else {
            baseline.as_slice()[j]
        }
    };
    keeping_grads(net, |net| {
        let full_baseline = Tensor::from_vec((0..x.len()).map(base).collect(), x.shape())?;
        let baseline_output = target_outputs(net, &full_baseline, &targets)?;
        let output = target_outputs(net, x, &targets)?;
        let diff: Vec<f64> = (0..x.len())
            .map(|j| (x.as_slice()[j] - base(j)).as_f64())
            .collect();
        let mut sum = vec![0.0f64; x.len()];
        let (mut point, mut dy, mut g) = (x.clone(), Tensor::default(), Tensor::default());
        for &(alpha, weight) in &nodes {
            for (j, p) in point.as_mut_slice().iter_mut().enumerate() {
                *p = T::from_f64(base(j).as_f64() + alpha * diff[j]);
            }
            input_gradient(net, &point, &targets, &mut dy, &mut g)?;
            for (s, gv) in sum.iter_mut().zip(g.as_slice()) {
                *s += weight * gv.as_f64();
            }
        }
        let values: Vec<T> = sum
            .iter()
            .zip(&diff)
            .map(|(s, d)| T::from_f64(s * d))
            .collect();
        let residual = (0..n)
            .map(|i| {
                let total: f64 = values[i * per..(i + 1) * per]
                    .iter()
                    .map(|v| v.as_f64())
                    .sum();
                total - (output[i] - baseline_output[i])
            })
            .collect();
        Ok(PathAttribution {
            values: Tensor::from_vec(values, x.shape())?,
            output,
            baseline_output,
            residual,
        })
    })
}

/// Settings of [`smooth_grad`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SmoothGrad {
    /// Number of noisy copies averaged. Defaults to 50 (Smilkov et al.).
    pub samples: usize,
    /// The noise's standard deviation as a fraction of each sample's range,
    /// `σ = noise_level · (max(x) − min(x))` (Smilkov et al.'s "noise
    /// level"; they found 10–20 % best). Defaults to 0.15.
    pub noise_level: f64,
    /// Seed of the noise: the same seed gives the same attributions.
    /// Defaults to 0.
    pub seed: u64,
}

impl Default for SmoothGrad {
    fn default() -> Self {
        SmoothGrad {
            samples: 50,
            noise_level: 0.15,
            seed: 0,
        }
    }
}

/// SmoothGrad (Smilkov et al. 2017): the saliency averaged over noisy
/// copies of the input,
///
/// ```text
/// SGᵢ(x) = (1/N) Σₛ ∂f_k/∂xᵢ (x + εₛ),   εₛ ~ N(0, σ²·I),  σ = noise_level·(max x − min x)
/// ```
///
/// with `σ` per sample. The noise is drawn from a `StdRng` seeded with
/// `settings.seed`, in a fixed order (copy by copy, element by element), so
/// the result depends only on the seed. Sums are accumulated in `f64`.
///
/// # Errors
/// As for [`saliency`]; [`Error::InvalidArgument`] for `samples = 0` or a
/// negative or non-finite `noise_level` (checked after conversion to `T`).
pub fn smooth_grad<'a, T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    target: impl Into<Target<'a>>,
    settings: &SmoothGrad,
) -> Result<Tensor<T>> {
    const OP: &str = "smooth_grad";
    if settings.samples == 0 {
        return Err(Error::invalid_arg(
            "SmoothGrad samples",
            0,
            "at least one noisy copy is needed",
        ));
    }
    let level = T::from_f64(settings.noise_level).as_f64();
    if !(level >= 0.0 && level.is_finite()) {
        return Err(Error::invalid_arg(
            "SmoothGrad noise_level",
            settings.noise_level,
            "must be ≥ 0 and finite",
        ));
    }
    let targets = prepare(OP, net, x, target.into())?;
    let per = x.len() / targets.len();
    let sigma: Vec<f64> = x
        .as_slice()
        .chunks(per)
        .map(|s| {
            let (lo, hi) = s
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v.as_f64()), h.max(v.as_f64()))
                });
            level * (hi - lo)
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    keeping_grads(net, |net| {
        let mut sum = vec![0.0f64; x.len()];
        let (mut noisy, mut dy, mut g) = (x.clone(), Tensor::default(), Tensor::default());
        for _ in 0..settings.samples {
            for (j, (p, &v)) in noisy
                .as_mut_slice()
                .iter_mut()
                .zip(x.as_slice())
                .enumerate()
            {
                let z: f64 = StandardNormal.sample(&mut rng);
                *p = T::from_f64(v.as_f64() + sigma[j / per] * z);
            }
            input_gradient(net, &noisy, &targets, &mut dy, &mut g)?;
            for (s, gv) in sum.iter_mut().zip(g.as_slice()) {
                *s += gv.as_f64();
            }
        }
        let m = settings.samples as f64;
        Tensor::from_vec(sum.iter().map(|s| T::from_f64(s / m)).collect(), x.shape())
    })
}

#[cfg(test)]
mod tests;
