//! [`BatchNorm2d`]: batch normalization per channel of an NCHW batch,
//! PyTorch's `nn.BatchNorm2d(num_features, eps=1e-5, momentum=0.1)`.
//!
//! The formulas are [`BatchNorm`]'s with the statistics of channel `c` taken
//! over every sample *and* every position, `m = n·h·w` values:
//!
//! ```text
//! μ_c = (1/m)·Σ_{b, y, x} x[b, c, y, x],   σ²_c = (1/m)·Σ (x − μ_c)²      (biased, for the output)
//! y[b, c, y, x] = γ_c·(x[b, c, y, x] − μ_c)/√(σ²_c + ε) + β_c
//! running_var_c ← (1 − momentum)·running_var_c + momentum·σ²_c·m/(m − 1)  (unbiased, as PyTorch)
//! ```
//!
//! Training needs `m ≥ 2`. Parameters `"weight"` (γ) and `"bias"` (β) and
//! buffers `"running_mean"`, `"running_var"` have PyTorch's names and shape `[channels]`.

use crate::layer::batch_norm::BatchNorm;
use crate::layer::{Layer, LayerConfig, Mode, Param};
use crate::{Result, Scalar, Tensor};

/// Batch normalization of each channel of a `[n, channels, h, w]` batch,
/// PyTorch's `nn.BatchNorm2d` with `affine=True, track_running_stats=True`.
/// See the [module docs](self).
///
/// ```
/// use weightwise::layer::batch_norm2d::BatchNorm2d;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut bn = BatchNorm2d::<f64>::new(2)?;
/// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[2, 2, 2, 2])?;
/// let y = bn.forward(&x, Mode::Train)?.clone();
/// // Channel 0 holds 0..4 and 8..12: mean 5.5, so running_mean ← 0.1·5.5.
/// assert!((bn.running_mean().as_slice()[0] - 0.55).abs() < 1e-12);
/// assert!(y.as_slice()[..4].iter().all(|v| *v < 0.0));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm2d<T>(BatchNorm<T>);

impl<T: Scalar> BatchNorm2d<T> {
    /// Normalization of `channels` channels with PyTorch's defaults
    /// `eps = 1e-5`, `momentum = 0.1`; γ = 1, β = 0, running mean 0, running variance 1.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if `channels` is zero.
    pub fn new(channels: usize) -> Result<Self> {
        BatchNorm::with_layout(channels, true).map(BatchNorm2d)
    }

    /// Sets ε (see [`BatchNorm::with_eps`]).
    ///
    /// # Errors
    /// Unless `eps` is positive and finite.
    pub fn with_eps(self, eps: f64) -> Result<Self> {
        self.0.with_eps(eps).map(BatchNorm2d)
    }

    /// Sets the momentum, the weight of the new batch statistic (see [`BatchNorm::with_momentum`]).
    ///
    /// # Errors
    /// Unless `0 ≤ momentum ≤ 1`.
    pub fn with_momentum(self, momentum: f64) -> Result<Self> {
        self.0.with_momentum(momentum).map(BatchNorm2d)
    }

    /// Rebuilds a layer from its model-file description
    /// `BatchNorm2d(num_features, eps, momentum)`; the file's tensors replace
    /// γ, β and the running statistics.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a missing or invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        let layer = BatchNorm2d::new(config.usize("num_features")?)?
            .with_eps(config.f64("eps")?)?
            .with_momentum(config.f64("momentum")?)?;
        Ok(Box::new(layer))
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.0.features()
    }

    /// ε.
    pub fn eps(&self) -> f64 {
        self.0.eps()
    }

    /// The momentum of the running statistics.
    pub fn momentum(&self) -> f64 {
        self.0.momentum()
    }

    /// The running mean, `[channels]`.
    pub fn running_mean(&self) -> &Tensor<T> {
        self.0.running_mean()
    }

    /// The running (unbiased) variance, `[channels]`.
    pub fn running_var(&self) -> &Tensor<T> {
        self.0.running_var()
    }
}

impl<T: Scalar> Layer<T> for BatchNorm2d<T> {
    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        self.0.infer(x, out)
    }

    /// `BatchNorm2d(num_features, eps, momentum)`.
    fn config(&self) -> Option<LayerConfig> {
        self.0.config()
    }

    /// `[n, channels, h, w]` → the same shape.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.0.output_shape(input)
    }

    /// Train: normalize with the batch statistics per channel and update the
    /// running ones; Eval: normalize with the running statistics.
    fn forward(&mut self, x: &Tensor<T>, mode: Mode) -> Result<&Tensor<T>> {
        self.0.forward(x, mode)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        self.0.backward(dy)
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        self.0.visit_params(f);
    }

    /// PyTorch's `num_batches_tracked`, as for [`BatchNorm`].
    fn untracked_buffers(&self) -> &'static [&'static str] {
        self.0.untracked_buffers()
    }

    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<T>)) {
        self.0.visit_params_mut(f);
    }

    fn visit_buffers<'a>(&'a self, f: &mut dyn FnMut(&'static str, &'a Tensor<T>)) {
        self.0.visit_buffers(f);
    }

    fn visit_buffers_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'static str, &'a mut Tensor<T>)) {
        self.0.visit_buffers_mut(f);
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::Uniform;

    use super::*;
    use crate::gradcheck::GradCheck;
    use crate::{Error, ParamKind};

    fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        Tensor::random(shape, &Uniform::new(-2.0, 2.0).unwrap(), &mut rng).unwrap()
    }

    /// Moves channel `c` of NCHW `x` into column `c` of a `[n·h·w, c]` matrix.
    fn channels_last(x: &Tensor<f64>) -> Tensor<f64> {
        let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).unwrap();
        let mut out = Tensor::zeros(&[n * h * w, c]).unwrap();
        for b in 0..n {
            for ch in 0..c {
                for p in 0..h * w {
                    out[[b * h * w + p, ch]] = x.as_slice()[(b * c + ch) * h * w + p];
                }
            }
        }
        out
    }

    #[test]
    fn equals_batch_norm_over_every_position_as_a_sample() {
        // BatchNorm2d on [n, c, h, w] is BatchNorm1d on the [n·h·w, c] matrix of positions.
        let x = random(&[3, 2, 3, 5], 0);
        let dy = random(&[3, 2, 3, 5], 1);
        let mut bn2 = BatchNorm2d::new(2).unwrap().with_momentum(0.3).unwrap();
        let mut bn1 = BatchNorm::new(2).unwrap().with_momentum(0.3).unwrap();
        for (i, v) in [[1.5, -0.5], [0.2, 0.7]].into_iter().enumerate() {
            bn2.params_mut()[i].value = Tensor::from_slice(&v);
            bn1.params_mut()[i].value = Tensor::from_slice(&v);
        }
        for mode in [Mode::Train, Mode::Train, Mode::Eval] {
            let y2 = channels_last(bn2.forward(&x, mode).unwrap());
            let y1 = bn1.forward(&channels_last(&x), mode).unwrap().clone();
            assert!(y2.sub(&y1).unwrap().max_abs() < 1e-13, "{mode:?}");
            let dx2 = channels_last(bn2.backward(&dy).unwrap());
            let dx1 = bn1.backward(&channels_last(&dy)).unwrap().clone();
            assert!(dx2.sub(&dx1).unwrap().max_abs() < 1e-13, "{mode:?}");
        }
        for (a, b) in bn2.params().iter().zip(bn1.params()) {
            assert!(a.grad.sub(&b.grad).unwrap().max_abs() < 1e-12);
        }
        // m = 3·3·5 = 45 values per channel: the running variance used 45/44.
        assert!(bn2.running_var().sub(bn1.running_var()).unwrap().max_abs() < 1e-14);
        assert!(
            bn2.running_mean()
                .sub(bn1.running_mean())
                .unwrap()
                .max_abs()
                < 1e-14
        );
    }

    #[test]
    fn gradcheck_both_modes() {
        let x = random(&[2, 3, 3, 2], 2);
        for mode in [Mode::Train, Mode::Eval] {
            let mut bn = BatchNorm2d::new(3).unwrap();
            bn.params_mut()[0].value = Tensor::from_slice(&[1.5, -0.7, 0.9]);
            bn.params_mut()[1].value = Tensor::from_slice(&[0.1, 0.2, -0.3]);
            bn.visit_buffers_mut(&mut |name, t| {
                *t = Tensor::from_slice(if name == "running_mean" {
                    &[0.3, -0.2, 0.1]
                } else {
                    &[1.4, 0.6, 2.0]
                })
            });
            let check = GradCheck {
                mode,
                ..GradCheck::default()
            };
            let r = check.layer(&mut bn, &x).unwrap();
            assert!(r.max_rel_error < 1e-6, "{mode:?}: {r}");
        }
    }

    #[test]
    fn metadata_and_errors() {
        let mut bn = BatchNorm2d::<f32>::new(4).unwrap();
        assert_eq!(bn.kind(), "BatchNorm2d");
        assert_eq!((bn.channels(), bn.eps(), bn.momentum()), (4, 1e-5, 0.1));
        assert_eq!(bn.num_params(), 8);
        let p = bn.params();
        assert_eq!((p[0].name, p[0].kind), ("weight", ParamKind::Scale));
        let mut names = Vec::new();
        bn.visit_buffers(&mut |n, _| names.push(n));
        assert_eq!(names, ["running_mean", "running_var"]);
        assert!(BatchNorm2d::<f32>::new(0).is_err());
        assert!(BatchNorm2d::<f32>::new(2).unwrap().with_eps(0.0).is_err());
        assert!(
            BatchNorm2d::<f32>::new(2)
                .unwrap()
                .with_momentum(2.0)
                .is_err()
        );
        let err = bn
            .forward(&Tensor::ones(&[2, 4]).unwrap(), Mode::Train)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidShape {
                    op: "BatchNorm2d forward",
                    ..
                }
            ),
            "{err}"
        );
        let err = bn
            .forward(&Tensor::ones(&[2, 3, 2, 2]).unwrap(), Mode::Train)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("one channel (dimension 1) per feature"),
            "{err}"
        );
        // One value per channel cannot be normalized in training (PyTorch's rule); h·w = 2 can.
        assert!(
            bn.forward(&Tensor::ones(&[1, 4, 1, 1]).unwrap(), Mode::Train)
                .is_err()
        );
        assert!(
            bn.forward(&Tensor::ones(&[1, 4, 1, 2]).unwrap(), Mode::Train)
                .is_ok()
        );
        assert_eq!(bn.output_shape(&[5, 4, 3, 3]).unwrap(), vec![5, 4, 3, 3]);
    }
}
