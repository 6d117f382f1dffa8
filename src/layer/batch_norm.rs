//! [`BatchNorm`]: batch normalization over a 2-D batch, PyTorch's
//! `nn.BatchNorm1d(num_features, eps=1e-5, momentum=0.1)` (Ioffe & Szegedy 2015).
//!
//! For a batch `x` of shape `[n, features]`, per feature (column) `j`:
//!
//! ```text
//! Train:  μ = (1/n)·Σᵢ xᵢ                    batch mean
//!         σ² = (1/n)·Σᵢ (xᵢ − μ)²            biased batch variance
//!         x̂ = (x − μ) / √(σ² + ε)            ε inside the square root
//!         y = γ·x̂ + β
//!         running_mean ← (1 − momentum)·running_mean + momentum·μ
//!         running_var  ← (1 − momentum)·running_var  + momentum·σ²·n/(n − 1)
//! Eval:   y = γ·(x − running_mean) / √(running_var + ε) + β
//! ```
//!
//! Exactly PyTorch's conventions: the output is normalized with the *biased*
//! variance, the running variance is updated with the *unbiased* one
//! (`n/(n − 1)`), and `momentum` is the weight of the *new* value. Keras'
//! `BatchNormalization` writes momentum the other way round (the weight of
//! the old value, 0.99 by default, i.e. PyTorch's 0.01) and defaults to
//! `epsilon = 1e-3`.
//!
//! The backward pass in training mode is the closed form of the gradient
//! through the batch statistics (`mean` over the batch, per feature):
//!
//! ```text
//! dx = (γ / √(σ² + ε))·(dy − mean(dy) − x̂·mean(dy ⊙ x̂))
//! dγ += Σᵢ dy ⊙ x̂,   dβ += Σᵢ dy
//! ```
//!
//! In eval mode the running statistics are constants, so `dx = γ·dy / √(running_var + ε)`.

use crate::layer::{Layer, LayerConfig, Mode, Param, ParamKind, check_backward};
use crate::{Error, Result, Scalar, Tensor};

/// Batch normalization of the columns of a `[n, features]` batch, PyTorch's
/// `nn.BatchNorm1d` with `affine=True, track_running_stats=True` on 2-D input.
///
/// Parameters (PyTorch's names): `"weight"` = γ ([`ParamKind::Scale`],
/// starts at ones) and `"bias"` = β ([`ParamKind::Bias`], zeros). Buffers
/// (visited by [`Layer::visit_buffers`]): `"running_mean"` (zeros) and
/// `"running_var"` (ones). PyTorch's third buffer, `num_batches_tracked`, is
/// not kept: it only matters for `momentum=None`, which is not supported.
/// See the [module docs](self) for the formulas.
///
/// ```
/// use weightwise::layer::batch_norm::BatchNorm;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut bn = BatchNorm::<f64>::new(2)?;
/// let x = Tensor::from_rows(&[[1.0, 10.0], [2.0, 20.0], [3.0, 60.0]])?;
/// let y = bn.forward(&x, Mode::Train)?;
/// // Every column now has mean 0 (and variance σ²/(σ² + ε) ≈ 1).
/// for m in y.mean_axis(0)?.as_slice() {
///     assert!(m.abs() < 1e-12);
/// }
/// // running_mean ← 0.9·0 + 0.1·[2, 30]
/// assert!((bn.running_mean().as_slice()[1] - 3.0).abs() < 1e-12);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct BatchNorm<T> {
    features: usize,
    eps: f64,
    momentum: f64,
    weight: Param<T>,
    bias: Param<T>,
    running_mean: Tensor<T>,
    running_var: Tensor<T>,
    /// Scratch: the mean (batch or running) used by the last forward pass, `[features]`.
    mean: Tensor<T>,
    /// Scratch: the biased batch variance of the last training pass, `[features]`.
    var: Tensor<T>,
    /// `1/√(σ² + ε)` of the last forward pass, `[features]`.
    inv_std: Tensor<T>,
    /// The normalized input `x̂` of the last forward pass, `[n, features]`.
    x_hat: Tensor<T>,
    /// Scratch for backward: `Σᵢ dy` and `Σᵢ dy ⊙ x̂`, `[features]`.
    sum_dy: Tensor<T>,
    sum_dy_xhat: Tensor<T>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
    last_mode: Option<Mode>,
}

impl<T: Scalar> BatchNorm<T> {
    /// Batch normalization of `features` columns with PyTorch's defaults
    /// `eps = 1e-5`, `momentum = 0.1`; γ = 1, β = 0, running mean 0, running variance 1.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `features` is zero.
    pub fn new(features: usize) -> Result<Self> {
        if features == 0 {
            return Err(Error::invalid_arg(
                "BatchNorm features",
                features,
                "needs at least one feature",
            ));
        }
        let f = [features];
        Ok(BatchNorm {
            features,
            eps: 1e-5,
            momentum: 0.1,
            weight: Param::new("weight", ParamKind::Scale, Tensor::ones(&f)?),
            bias: Param::new("bias", ParamKind::Bias, Tensor::zeros(&f)?),
            running_mean: Tensor::zeros(&f)?,
            running_var: Tensor::ones(&f)?,
            mean: Tensor::default(),
            var: Tensor::default(),
            inv_std: Tensor::default(),
            x_hat: Tensor::default(),
            sum_dy: Tensor::default(),
            sum_dy_xhat: Tensor::default(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
            last_mode: None,
        })
    }

    /// Rebuilds a layer from its model-file description
    /// `BatchNorm1d(num_features, eps, momentum)`; γ, β and the running
    /// statistics start at their defaults (the file's tensors replace them).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a missing or invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        let layer = BatchNorm::new(config.usize("num_features")?)?
            .with_eps(config.f64("eps")?)?
            .with_momentum(config.f64("momentum")?)?;
        Ok(Box::new(layer))
    }

    /// Sets ε, added to the variance inside the square root (PyTorch's `eps`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `eps` is positive and finite.
    pub fn with_eps(mut self, eps: f64) -> Result<Self> {
        if !(eps > 0.0 && eps.is_finite()) {
            return Err(Error::invalid_arg(
                "BatchNorm eps",
                eps,
                "must be positive and finite",
            ));
        }
        self.eps = eps;
        Ok(self)
    }

    /// Sets the momentum of the running statistics: the weight of the *new*
    /// batch statistic, `running ← (1 − momentum)·running + momentum·batch`
    /// (PyTorch's convention; Keras' momentum is `1 −` this).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] unless `0 ≤ momentum ≤ 1`.
    pub fn with_momentum(mut self, momentum: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&momentum) {
            return Err(Error::invalid_arg(
                "BatchNorm momentum",
                momentum,
                "must be in [0, 1]",
            ));
        }
        self.momentum = momentum;
        Ok(self)
    }

    /// Number of features (columns) normalized.
    pub fn features(&self) -> usize {
        self.features
    }

    /// ε.
    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// The momentum of the running statistics.
    pub fn momentum(&self) -> f64 {
        self.momentum
    }

    /// The running mean, `[features]`, used in eval mode.
    pub fn running_mean(&self) -> &Tensor<T> {
        &self.running_mean
    }

    /// The running (unbiased) variance, `[features]`, used in eval mode.
    pub fn running_var(&self) -> &Tensor<T> {
        &self.running_var
    }

    /// Checks the input and that parameters and buffers (which callers can
    /// replace) still have one element per feature; returns `n`.
    fn check(&self, op: &'static str, x_shape: &[usize]) -> Result<usize> {
        let (n, width) = match *x_shape {
            [n, w] => (n, w),
            _ => {
                return Err(Error::invalid_shape(
                    op,
                    x_shape,
                    format!("expected a 2-D batch [n, {}]", self.features),
                ));
            }
        };
        if width != self.features {
            return Err(Error::shape_mismatch(
                op,
                x_shape,
                &[self.features],
                "the input needs one column per feature",
            ));
        }
        for (name, t) in [
            ("weight", &self.weight.value),
            ("bias", &self.bias.value),
            ("running_mean", &self.running_mean),
            ("running_var", &self.running_var),
        ] {
            if t.shape() != [self.features] {
                return Err(Error::invalid_state(
                    op,
                    format!(
                        "{name} has shape {}, expected {}",
                        crate::error::shape_str(t.shape()),
                        self.features
                    ),
                ));
            }
        }
        Ok(n)
    }

    /// Fills `mean` and the biased `var` with the batch statistics of `x`.
    fn batch_stats(&mut self, x: &Tensor<T>, n: usize) {
        let f = self.features;
        let inv_n = T::one() / T::from_usize(n);
        self.mean.resize_zeroed(&[f]);
        self.var.resize_zeroed(&[f]);
        let (mean, var) = (self.mean.as_mut_slice(), self.var.as_mut_slice());
        for row in x.as_slice().chunks_exact(f) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m *= inv_n);
        // Two passes: Σ(x − μ)² does not cancel catastrophically as Σx² − nμ² can.
        for row in x.as_slice().chunks_exact(f) {
            for ((s, &v), &m) in var.iter_mut().zip(row).zip(mean.iter()) {
                *s += (v - m) * (v - m);
            }
        }
        var.iter_mut().for_each(|s| *s *= inv_n);
    }

    /// `running ← (1 − momentum)·running + momentum·batch`, with the unbiased variance.
    fn update_running(&mut self, n: usize) {
        let m = T::from_f64(self.momentum);
        let keep = T::one() - m;
        let bessel = T::from_usize(n) / T::from_usize(n - 1);
        let rm = self.running_mean.as_mut_slice();
        for (r, &b) in rm.iter_mut().zip(self.mean.as_slice()) {
            *r = keep * *r + m * b;
        }
        let rv = self.running_var.as_mut_slice();
        for (r, &b) in rv.iter_mut().zip(self.var.as_slice()) {
            *r = keep * *r + m * b * bessel;
        }
    }
}

impl<T: Scalar> Layer<T> for BatchNorm<T> {
    fn kind(&self) -> &'static str {
        "BatchNorm"
    }

    /// `[n, features]` → `[n, features]`.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        self.check("BatchNorm output_shape", input)?;
        Ok(input.to_vec())
    }

    /// `y = γ·(x − running_mean)/√(running_var + ε) + β`, computed exactly as
    /// an Eval `forward` computes it (`1/√(v + ε)` first, once per feature).
    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        let n = self.check("BatchNorm infer", x.shape())?;
        let f = self.features;
        let eps = T::from_f64(self.eps);
        out.resize_zeroed(x.shape());
        if n == 0 {
            return Ok(());
        }
        let (rm, rv) = (self.running_mean.as_slice(), self.running_var.as_slice());
        let (gamma, beta) = (self.weight.value.as_slice(), self.bias.value.as_slice());
        // The first output row holds 1/√(v + ε) until it is itself computed, last.
        let (first, rest) = out.as_mut_slice().split_at_mut(f);
        for (s, &v) in first.iter_mut().zip(rv) {
            *s = (v + eps).sqrt().recip();
        }
        let rows = x.as_slice().chunks_exact(f);
        for (x_row, y_row) in rows.clone().skip(1).zip(rest.chunks_exact_mut(f)) {
            for j in 0..f {
                y_row[j] = gamma[j] * ((x_row[j] - rm[j]) * first[j]) + beta[j];
            }
        }
        if let Some(x_row) = rows.take(1).next() {
            for j in 0..f {
                first[j] = gamma[j] * ((x_row[j] - rm[j]) * first[j]) + beta[j];
            }
        }
        Ok(())
    }

    /// `BatchNorm1d(num_features, eps, momentum)`.
    fn config(&self) -> Option<LayerConfig> {
        Some(
            LayerConfig::new("BatchNorm1d")
                .with("num_features", self.features)
                .with("eps", self.eps)
                .with("momentum", self.momentum),
        )
    }

    /// Train: normalize with the batch statistics and update the running ones;
    /// Eval: normalize with the running statistics.
    ///
    /// # Errors
    /// A shape error for an input that is not `[n, features]`;
    /// [`Error::InvalidShape`] in training mode when `n < 2` (PyTorch:
    /// "Expected more than 1 value per channel when training").
    fn forward(&mut self, x: &Tensor<T>, mode: Mode) -> Result<&Tensor<T>> {
        const OP: &str = "BatchNorm forward";
        let n = self.check(OP, x.shape())?;
        let f = self.features;
        let eps = T::from_f64(self.eps);
        self.inv_std.resize_zeroed(&[f]);
        match mode {
            Mode::Train => {
                if n < 2 {
                    return Err(Error::invalid_shape(
                        OP,
                        x.shape(),
                        "expected more than 1 value per channel when training",
                    ));
                }
                self.batch_stats(x, n);
                self.update_running(n);
                for (s, &v) in self
                    .inv_std
                    .as_mut_slice()
                    .iter_mut()
                    .zip(self.var.as_slice())
                {
                    *s = (v + eps).sqrt().recip();
                }
            }
            Mode::Eval => {
                self.mean.assign(&self.running_mean);
                let rv = self.running_var.as_slice();
                for (s, &v) in self.inv_std.as_mut_slice().iter_mut().zip(rv) {
                    *s = (v + eps).sqrt().recip();
                }
            }
        }
        self.x_hat.assign(x);
        self.output.resize_zeroed(x.shape());
        let (mean, inv_std) = (self.mean.as_slice(), self.inv_std.as_slice());
        let (gamma, beta) = (self.weight.value.as_slice(), self.bias.value.as_slice());
        for (xh_row, y_row) in self
            .x_hat
            .as_mut_slice()
            .chunks_exact_mut(f)
            .zip(self.output.as_mut_slice().chunks_exact_mut(f))
        {
            for j in 0..f {
                let xh = (xh_row[j] - mean[j]) * inv_std[j];
                xh_row[j] = xh;
                y_row[j] = gamma[j] * xh + beta[j];
            }
        }
        self.last_mode = Some(mode);
        Ok(&self.output)
    }

    /// `dγ += Σ dy ⊙ x̂`, `dβ += Σ dy`, and returns `dx`: the closed form of
    /// the [module docs](self) after a training pass, `γ·dy/√(running_var + ε)`
    /// after an eval pass.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        const OP: &str = "BatchNorm backward";
        check_backward(OP, self.last_mode.map(|_| &self.output), dy)?;
        let f = self.features;
        self.sum_dy.resize_zeroed(&[f]);
        self.sum_dy_xhat.resize_zeroed(&[f]);
        let (sum_dy, sum_dy_xhat) = (self.sum_dy.as_mut_slice(), self.sum_dy_xhat.as_mut_slice());
        for (g_row, xh_row) in dy
            .as_slice()
            .chunks_exact(f)
            .zip(self.x_hat.as_slice().chunks_exact(f))
        {
            for j in 0..f {
                sum_dy[j] += g_row[j];
                sum_dy_xhat[j] += g_row[j] * xh_row[j];
            }
        }
        self.weight.grad.axpy(T::one(), &self.sum_dy_xhat)?;
        self.bias.grad.axpy(T::one(), &self.sum_dy)?;

        self.grad_input.resize_zeroed(dy.shape());
        let (gamma, inv_std) = (self.weight.value.as_slice(), self.inv_std.as_slice());
        let (sum_dy, sum_dy_xhat) = (self.sum_dy.as_slice(), self.sum_dy_xhat.as_slice());
        let train = self.last_mode == Some(Mode::Train);
        let inv_n = T::one() / T::from_usize(dy.shape()[0].max(1));
        for ((dx_row, g_row), xh_row) in self
            .grad_input
            .as_mut_slice()
            .chunks_exact_mut(f)
            .zip(dy.as_slice().chunks_exact(f))
            .zip(self.x_hat.as_slice().chunks_exact(f))
        {
            for j in 0..f {
                let scale = gamma[j] * inv_std[j];
                dx_row[j] = if train {
                    scale * (g_row[j] - sum_dy[j] * inv_n - xh_row[j] * sum_dy_xhat[j] * inv_n)
                } else {
                    scale * g_row[j]
                };
            }
        }
        Ok(&self.grad_input)
    }

    fn untracked_buffers(&self) -> &'static [&'static str] {
        // PyTorch counts batches for `momentum=None`; this layer has a fixed momentum.
        &["num_batches_tracked"]
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        f(&self.weight);
        f(&self.bias);
    }

    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<T>)) {
        f(&mut self.weight);
        f(&mut self.bias);
    }

    fn visit_buffers<'a>(&'a self, f: &mut dyn FnMut(&'static str, &'a Tensor<T>)) {
        f("running_mean", &self.running_mean);
        f("running_var", &self.running_var);
    }

    fn visit_buffers_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'static str, &'a mut Tensor<T>)) {
        f("running_mean", &mut self.running_mean);
        f("running_var", &mut self.running_var);
    }
}

#[cfg(test)]
mod tests {
    use approx::assert_relative_eq;

    use super::*;
    use crate::gradcheck::GradCheck;

    macro_rules! batch_norm_tests {
        ($name:ident, $t:ty, $tol:expr) => {
            mod $name {
                use super::*;

                fn t(v: &[f64], s: &[usize]) -> Tensor<$t> {
                    Tensor::from_vec(v.iter().map(|&x| <$t>::from_f64(x)).collect(), s).unwrap()
                }

                fn close(a: &Tensor<$t>, b: &Tensor<$t>) {
                    assert_relative_eq!(a, b, epsilon = $tol, max_relative = $tol);
                }

                fn set_param(bn: &mut BatchNorm<$t>, i: usize, v: &[f64]) {
                    bn.params_mut()[i].value = t(v, &[v.len()]);
                }

                /// Batch A: column 0 = [1, 2, 3], column 1 = [1, 6, 8].
                fn batch_a() -> Tensor<$t> {
                    t(&[1.0, 1.0, 2.0, 6.0, 3.0, 8.0], &[3, 2])
                }

                /// ε = 1/3 makes the numbers round: column 0 has μ = 2 and
                /// σ² = (1 + 0 + 1)/3 = 2/3, so σ² + ε = 1; column 1 has μ = 5
                /// and σ² = (16 + 1 + 9)/3 = 26/3, so σ² + ε = 9, √ = 3.
                fn layer_a() -> BatchNorm<$t> {
                    let mut bn = BatchNorm::new(2).unwrap().with_eps(1.0 / 3.0).unwrap();
                    set_param(&mut bn, 0, &[2.0, 0.5]); // γ
                    set_param(&mut bn, 1, &[0.1, -1.0]); // β
                    bn
                }

                #[test]
                fn train_forward_by_hand() {
                    let mut bn = layer_a();
                    // x̂ column 0 = ([1, 2, 3] − 2)/1 = [−1, 0, 1]; y = 2·x̂ + 0.1.
                    // x̂ column 1 = ([1, 6, 8] − 5)/3 = [−4/3, 1/3, 1]; y = 0.5·x̂ − 1.
                    let y = bn.forward(&batch_a(), Mode::Train).unwrap();
                    let want = t(&[-1.9, -5.0 / 3.0, 0.1, -5.0 / 6.0, 2.1, -0.5], &[3, 2]);
                    close(y, &want);
                }

                #[test]
                fn default_eps_is_inside_the_square_root() {
                    let mut bn = BatchNorm::<$t>::new(1).unwrap();
                    assert_eq!((bn.eps(), bn.momentum()), (1e-5, 0.1));
                    // x = [0, 2]: μ = 1, biased σ² = 1, so y = ±1/√(1 + 1e-5).
                    let y = bn.forward(&t(&[0.0, 2.0], &[2, 1]), Mode::Train).unwrap();
                    let v = 1.0 / (1.0 + 1e-5f64).sqrt();
                    close(y, &t(&[-v, v], &[2, 1]));
                }

                #[test]
                fn train_backward_by_hand() {
                    let mut bn = layer_a();
                    bn.forward(&batch_a(), Mode::Train).unwrap();
                    let dy = t(&[1.0, 0.0, 0.0, 0.0, 0.0, 3.0], &[3, 2]);
                    // Column 0: x̂ = [−1, 0, 1], γ/√(σ²+ε) = 2, mean(dy) = 1/3,
                    //   mean(dy ⊙ x̂) = −1/3: dx = 2·([1, 0, 0] − 1/3 + x̂/3) = [2/3, −2/3, 0].
                    // Column 1: x̂ = [−4/3, 1/3, 1], γ/√(σ²+ε) = 0.5/3 = 1/6, mean(dy) = 1,
                    //   mean(dy ⊙ x̂) = 1: dx = ([0, 0, 3] − 1 − x̂)/6 = [1/18, −2/9, 1/6].
                    let dx = bn.backward(&dy).unwrap().clone();
                    let want = t(
                        &[2.0 / 3.0, 1.0 / 18.0, -2.0 / 3.0, -2.0 / 9.0, 0.0, 1.0 / 6.0],
                        &[3, 2],
                    );
                    close(&dx, &want);
                    // dγ = Σ dy ⊙ x̂ = [1·(−1), 3·1] = [−1, 3]; dβ = Σ dy = [1, 3].
                    close(&bn.params()[0].grad, &t(&[-1.0, 3.0], &[2]));
                    close(&bn.params()[1].grad, &t(&[1.0, 3.0], &[2]));
                    // Accumulates.
                    bn.backward(&dy).unwrap();
                    close(&bn.params()[1].grad, &t(&[2.0, 6.0], &[2]));
                }

                #[test]
                fn running_statistics_after_two_steps() {
                    let mut bn = BatchNorm::<$t>::new(2).unwrap();
                    bn.forward(&batch_a(), Mode::Train).unwrap();
                    // Batch A: μ = [2, 5]; unbiased σ² = biased·3/2 = [2/3·3/2, 26/3·3/2] = [1, 13].
                    // running_mean = 0.9·[0, 0] + 0.1·[2, 5] = [0.2, 0.5]
                    // running_var  = 0.9·[1, 1] + 0.1·[1, 13] = [1.0, 2.2]
                    close(bn.running_mean(), &t(&[0.2, 0.5], &[2]));
                    close(bn.running_var(), &t(&[1.0, 2.2], &[2]));
                    // Batch B: columns [0, 4] and [4, 0]: μ = [2, 2], biased σ² = 4,
                    // unbiased σ² = 4·2/1 = 8.
                    bn.forward(&t(&[0.0, 4.0, 4.0, 0.0], &[2, 2]), Mode::Train).unwrap();
                    // running_mean = 0.9·[0.2, 0.5] + 0.1·[2, 2] = [0.38, 0.65]
                    // running_var  = 0.9·[1.0, 2.2] + 0.1·[8, 8] = [1.7, 2.78]
                    close(bn.running_mean(), &t(&[0.38, 0.65], &[2]));
                    close(bn.running_var(), &t(&[1.7, 2.78], &[2]));
                    // Eval passes leave them alone.
                    bn.forward(&batch_a(), Mode::Eval).unwrap();
                    close(bn.running_var(), &t(&[1.7, 2.78], &[2]));
                }

                #[test]
                fn momentum_extremes() {
                    // momentum 0 never moves the running statistics; 1 replaces them.
                    let mut frozen = BatchNorm::<$t>::new(2).unwrap().with_momentum(0.0).unwrap();
                    frozen.forward(&batch_a(), Mode::Train).unwrap();
                    assert_eq!(frozen.running_mean(), &t(&[0.0, 0.0], &[2]));
                    assert_eq!(frozen.running_var(), &t(&[1.0, 1.0], &[2]));
                    let mut latest = BatchNorm::<$t>::new(2).unwrap().with_momentum(1.0).unwrap();
                    latest.forward(&batch_a(), Mode::Train).unwrap();
                    close(latest.running_mean(), &t(&[2.0, 5.0], &[2]));
                    close(latest.running_var(), &t(&[1.0, 13.0], &[2]));
                }

                #[test]
                fn eval_uses_the_running_statistics() {
                    let mut bn = BatchNorm::<$t>::new(2).unwrap().with_eps(1.0).unwrap();
                    bn.visit_buffers_mut(&mut |name, b| {
                        *b = match name {
                            "running_mean" => t(&[1.0, -2.0], &[2]),
                            _ => t(&[3.0, 15.0], &[2]),
                        }
                    });
                    set_param(&mut bn, 0, &[2.0, 3.0]);
                    set_param(&mut bn, 1, &[0.5, 0.0]);
                    // A batch of one is fine in eval mode. √(running_var + ε) = [2, 4];
                    // x̂ = [(3 − 1)/2, (2 + 2)/4] = [1, 1]; y = [2·1 + 0.5, 3·1 + 0] = [2.5, 3].
                    let y = bn.forward(&t(&[3.0, 2.0], &[1, 2]), Mode::Eval).unwrap();
                    close(y, &t(&[2.5, 3.0], &[1, 2]));
                    // Running statistics are constants: dx = γ·dy/√(rv + ε) = [2/2, 3/4];
                    // dγ = dy ⊙ x̂ = [1, 1], dβ = dy = [1, 1].
                    let dx = bn.backward(&t(&[1.0, 1.0], &[1, 2])).unwrap();
                    close(dx, &t(&[1.0, 0.75], &[1, 2]));
                    close(&bn.params()[0].grad, &t(&[1.0, 1.0], &[2]));
                    close(&bn.params()[1].grad, &t(&[1.0, 1.0], &[2]));
                }

                #[test]
                fn metadata_params_and_buffers() {
                    let bn = BatchNorm::<$t>::new(3).unwrap();
                    assert_eq!(bn.kind(), "BatchNorm");
                    assert_eq!(bn.features(), 3);
                    assert_eq!(bn.num_params(), 6);
                    assert_eq!(bn.output_shape(&[5, 3]).unwrap(), vec![5, 3]);
                    let p = bn.params();
                    assert_eq!((p[0].name, p[0].kind), ("weight", ParamKind::Scale));
                    assert_eq!((p[1].name, p[1].kind), ("bias", ParamKind::Bias));
                    assert_eq!(p[0].value, t(&[1.0; 3], &[3]));
                    assert_eq!(p[1].value, t(&[0.0; 3], &[3]));
                    let mut names = Vec::new();
                    bn.visit_buffers(&mut |name, b| names.push((name, b.clone())));
                    assert_eq!(
                        names,
                        vec![("running_mean", t(&[0.0; 3], &[3])), ("running_var", t(&[1.0; 3], &[3]))]
                    );
                }

                #[test]
                fn constructor_errors() {
                    assert!(matches!(
                        BatchNorm::<$t>::new(0),
                        Err(Error::InvalidArgument { name: "BatchNorm features", .. })
                    ));
                    for eps in [0.0, -1e-5, f64::NAN, f64::INFINITY] {
                        let err = BatchNorm::<$t>::new(1).unwrap().with_eps(eps).unwrap_err();
                        assert!(matches!(err, Error::InvalidArgument { name: "BatchNorm eps", .. }));
                    }
                    for m in [-0.1, 1.5, f64::NAN] {
                        let err = BatchNorm::<$t>::new(1).unwrap().with_momentum(m).unwrap_err();
                        assert!(matches!(err, Error::InvalidArgument { name: "BatchNorm momentum", .. }));
                    }
                }

                #[test]
                fn forward_errors() {
                    let mut bn = BatchNorm::<$t>::new(2).unwrap();
                    let err = bn.forward(&t(&[1.0, 2.0], &[1, 2]), Mode::Train).unwrap_err();
                    assert!(err.to_string().contains("more than 1 value per channel"), "{err}");
                    let err = bn.forward(&t(&[0.0; 6], &[2, 3]), Mode::Train).unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "BatchNorm forward: left is 2×3, right is 2 (the input needs one column per feature)"
                    );
                    let err = bn.forward(&t(&[0.0; 4], &[4]), Mode::Eval).unwrap_err();
                    assert!(matches!(err, Error::InvalidShape { op: "BatchNorm forward", .. }));
                    assert!(bn.output_shape(&[4, 3]).is_err());
                    // A replaced parameter or buffer of the wrong size is caught, not a panic.
                    set_param(&mut bn, 0, &[1.0; 3]);
                    let err = bn.forward(&t(&[0.0, 1.0, 2.0, 3.0], &[2, 2]), Mode::Train).unwrap_err();
                    assert!(err.to_string().contains("weight has shape 3, expected 2"), "{err}");
                    let mut bn = BatchNorm::<$t>::new(2).unwrap();
                    bn.visit_buffers_mut(&mut |_, b| *b = t(&[0.0], &[1]));
                    assert!(matches!(
                        bn.forward(&t(&[0.0; 4], &[2, 2]), Mode::Eval),
                        Err(Error::InvalidState { .. })
                    ));
                }

                #[test]
                fn backward_errors() {
                    let mut bn = BatchNorm::<$t>::new(2).unwrap();
                    let err = bn.backward(&t(&[0.0; 4], &[2, 2])).unwrap_err();
                    assert!(matches!(err, Error::InvalidState { op: "BatchNorm backward", .. }));
                    bn.forward(&batch_a(), Mode::Train).unwrap();
                    let err = bn.backward(&t(&[0.0; 4], &[2, 2])).unwrap_err();
                    assert!(matches!(err, Error::ShapeMismatch { op: "BatchNorm backward", .. }));
                }

                #[test]
                fn buffers_are_reused() {
                    let mut bn = layer_a();
                    let x = batch_a();
                    let dy = t(&[1.0, -1.0, 0.5, 2.0, -0.3, 0.7], &[3, 2]);
                    let y0 = bn.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let dx0 = bn.backward(&dy).unwrap().as_slice().as_ptr();
                    let xh0 = bn.x_hat.as_slice().as_ptr();
                    let y1 = bn.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let dx1 = bn.backward(&dy).unwrap().as_slice().as_ptr();
                    assert_eq!((y0, dx0, xh0), (y1, dx1, bn.x_hat.as_slice().as_ptr()));
                }
            }
        };
    }

    batch_norm_tests!(f32_tests, f32, 1e-5);
    batch_norm_tests!(f64_tests, f64, 1e-12);

    fn layer_for_gradcheck() -> BatchNorm<f64> {
        let mut bn = BatchNorm::new(3).unwrap();
        bn.params_mut()[0].value = Tensor::from_slice(&[1.5, -0.7, 0.9]);
        bn.params_mut()[1].value = Tensor::from_slice(&[0.2, 0.0, -0.4]);
        bn.visit_buffers_mut(&mut |name, b| {
            *b = match name {
                "running_mean" => Tensor::from_slice(&[0.1, -0.3, 0.5]),
                _ => Tensor::from_slice(&[0.8, 1.7, 2.5]),
            }
        });
        bn
    }

    fn x() -> Tensor<f64> {
        Tensor::from_rows(&[
            [0.3, -1.2, 0.8],
            [-0.7, 0.1, 1.5],
            [1.1, 0.9, -2.2],
            [0.4, -0.5, 0.6],
        ])
        .unwrap()
    }

    #[test]
    fn gradcheck_train_mode() {
        let mut bn = layer_for_gradcheck();
        let r = GradCheck::default().layer(&mut bn, &x()).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
        // 12 inputs, 3 γ, 3 β.
        assert_eq!(r.checked, 18);
    }

    #[test]
    fn gradcheck_eval_mode() {
        let mut bn = layer_for_gradcheck();
        let eval = GradCheck {
            mode: Mode::Eval,
            ..GradCheck::default()
        };
        let r = eval.layer(&mut bn, &x()).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
    }

    #[test]
    fn train_output_is_standardized() {
        let mut bn = BatchNorm::<f64>::new(3).unwrap();
        let y = bn.forward(&x(), Mode::Train).unwrap().clone();
        for j in 0..3 {
            let col: Vec<f64> = (0..4).map(|i| y[[i, j]]).collect();
            let mean = col.iter().sum::<f64>() / 4.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0;
            assert!(mean.abs() < 1e-12);
            // Biased variance of x̂ is σ²/(σ² + ε), just under 1.
            assert!(var < 1.0 && var > 1.0 - 1e-3, "{var}");
        }
    }
}
