//! [`RmsProp`]: PyTorch's `torch.optim.RMSprop`, plain or centered, with optional momentum.

use super::{UpdateRule, check_non_negative, check_positive, lerp};
use crate::{Error, Result, Scalar};

/// RMSprop (Hinton's lecture 6e), PyTorch's `torch.optim.RMSprop`.
///
/// With gradient `g`, weight `w`, smoothing constant `α`, per step:
///
/// ```text
/// g ← g + wd·w                              (if weight_decay ≠ 0)
/// v ← α·v + (1 − α)·g²                      (square_avg)
/// centered:  ḡ ← ḡ + (1 − α)·(g − ḡ)        (grad_avg, = α·ḡ + (1 − α)·g)
///            denom = √(v − ḡ²) + ε
/// otherwise: denom = √v + ε
/// momentum > 0:  b ← μ·b + g/denom,  w ← w − lr·b   (momentum_buffer, starts at 0)
/// otherwise:     w ← w − lr·g/denom
/// ```
///
/// State names are PyTorch's: `square_avg`, plus `momentum_buffer` when
/// `momentum > 0` and `grad_avg` when centered. PyTorch puts ε outside the
/// square root, as here; Keras's RMSprop defaults to `rho = 0.9`, `ε = 1e-7`.
/// Weight decay applies to every parameter (see the [module docs](super)).
///
/// ```
/// use weightwise::optim::{GradientDescent, RmsProp};
/// let opt = GradientDescent::<f32>::new(RmsProp { centered: true, momentum: 0.9, ..Default::default() });
/// assert!(opt.is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct RmsProp {
    /// Learning rate. Defaults to `1e-2`.
    pub lr: f64,
    /// Smoothing constant `α` of the running averages, in `[0, 1]`. Defaults to `0.99`.
    pub alpha: f64,
    /// Added to the denominator for stability, `> 0`. Defaults to `1e-8`.
    pub eps: f64,
    /// L2 penalty coefficient added to the gradient, `g + wd·w`. Defaults to `0.0`.
    pub weight_decay: f64,
    /// Momentum factor `μ`; 0 turns momentum off. Defaults to `0.0`.
    pub momentum: f64,
    /// Normalise by the estimated variance `v − ḡ²` instead of `v`. Defaults to `false`.
    pub centered: bool,
}

impl Default for RmsProp {
    fn default() -> Self {
        RmsProp {
            lr: 1e-2,
            alpha: 0.99,
            eps: 1e-8,
            weight_decay: 0.0,
            momentum: 0.0,
            centered: false,
        }
    }
}

impl RmsProp {
    /// Checks the hyper-parameters. PyTorch only asks `α ≥ 0`; here `α ≤ 1`
    /// is required too (above 1 the average of squares turns negative), and
    /// `eps = 0` is rejected.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field and value when `lr`,
    /// `momentum` or `weight_decay` is negative or not finite, `alpha` is
    /// outside `[0, 1]`, or `eps ≤ 0`.
    pub fn validate(&self) -> Result<()> {
        self.validate_for::<f64>()
    }

    /// The same checks, made again after rounding every value to `T`
    /// (`eps = 1e-50` is valid in `f64` but zero in `f32`).
    /// [`GradientDescent`](super::GradientDescent) runs it for its own `T`.
    ///
    /// # Errors
    /// As for `validate`, the message naming the type.
    pub fn validate_for<T: Scalar>(&self) -> Result<()> {
        check_non_negative::<T>("RMSprop.lr", self.lr)?;
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(Error::invalid_arg(
                "RMSprop.alpha",
                self.alpha,
                "must be in [0, 1]",
            ));
        }
        check_positive::<T>("RMSprop.eps", self.eps)?;
        check_non_negative::<T>("RMSprop.weight_decay", self.weight_decay)?;
        check_non_negative::<T>("RMSprop.momentum", self.momentum)
    }
}

impl UpdateRule for RmsProp {
    const NAME: &'static str = "RMSprop";

    fn op(&self) -> &'static str {
        "RMSprop update"
    }

    fn state_names(&self) -> &'static [&'static str] {
        match (self.momentum > 0.0, self.centered) {
            (false, false) => &["square_avg"],
            (true, false) => &["square_avg", "momentum_buffer"],
            (false, true) => &["square_avg", "grad_avg"],
            (true, true) => &["square_avg", "momentum_buffer", "grad_avg"],
        }
    }

    fn apply<T: Scalar>(
        &self,
        _step: u64,
        _first: bool,
        w: &mut [T],
        g: &[T],
        state: &mut [&mut [T]],
    ) -> Result<()> {
        let (v, buf, gavg) = match (self.momentum > 0.0, self.centered, state) {
            (false, false, [v]) => (v, None, None),
            (true, false, [v, b]) => (v, Some(b), None),
            (false, true, [v, a]) => (v, None, Some(a)),
            (true, true, [v, b, a]) => (v, Some(b), Some(a)),
            _ => {
                return Err(Error::invalid_state(
                    "RMSprop update",
                    "internal: unexpected state",
                ));
            }
        };
        let v = &mut **v;
        let mut buf = buf.map(|b| &mut **b);
        let mut gavg = gavg.map(|a| &mut **a);
        let neg_lr = T::from_f64(-self.lr);
        let wd = T::from_f64(self.weight_decay);
        let alpha = T::from_f64(self.alpha);
        let one_minus_alpha = T::from_f64(1.0 - self.alpha);
        let mu = T::from_f64(self.momentum);
        let eps = T::from_f64(self.eps);
        // Indexing keeps the optional buffers in one loop; all lengths were
        // checked equal by the caller.
        #[allow(clippy::needless_range_loop)]
        for i in 0..w.len() {
            let mut gi = g[i];
            if self.weight_decay != 0.0 {
                gi += wd * w[i];
            }
            v[i] = v[i] * alpha + one_minus_alpha * gi * gi;
            let avg = match gavg.as_deref_mut() {
                Some(ga) => {
                    ga[i] = lerp(ga[i], gi, one_minus_alpha);
                    (v[i] + (-T::one()) * ga[i] * ga[i]).sqrt() + eps
                }
                None => v[i].sqrt() + eps,
            };
            match buf.as_deref_mut() {
                Some(b) => {
                    b[i] = b[i] * mu + gi / avg;
                    w[i] += neg_lr * b[i];
                }
                None => w[i] += neg_lr * gi / avg,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::test_util::{assert_close, for_f32_and_f64, run};
    use crate::optim::{GradientDescent, Optimizer};

    fn plain<T: Scalar>() {
        // lr = 0.01, α = 0.99, w = [1, 1], g = [0.5, −2].
        // t = 1: v = 0.01·g² = [0.0025, 0.04], √v = [0.05, 0.2];
        //   w = [1 − 0.01·0.5/(0.05 + 1e-8), 1 + 0.01·2/(0.2 + 1e-8)]
        //     = [1 − 0.0999999800…, 1 + 0.0999999950…] = [0.90000002, 1.099999995].
        // t = 2, g = [0.5, 1]: v = 0.99·v + 0.01·g² = [0.004975, 0.0496];
        //   w₀ = 0.90000002 − 0.01·0.5/(√0.004975 + 1e-8) = 0.90000002 − 0.005/0.0705336899
        //      = 0.8291119095494123
        //   w₁ = 1.099999995 − 0.01·1/(√0.0496 + 1e-8) = 1.099999995 − 0.01/0.2227105745
        //      = 1.0550986715094353
        let rms = RmsProp::default();
        let (opt, p) = run::<T>(rms, &[1.0, 1.0], &[&[0.5, -2.0]]);
        assert_close(&p.value, &[0.90000002, 1.099999995]);
        assert_close(opt.state().get("0.square_avg").unwrap(), &[0.0025, 0.04]);
        let (opt, p) = run::<T>(rms, &[1.0, 1.0], &[&[0.5, -2.0], &[0.5, 1.0]]);
        assert_close(&p.value, &[0.8291119095494123, 1.0550986715094353]);
        assert_eq!(opt.state().tensors.len(), 1);
    }

    fn centered<T: Scalar>() {
        // As `plain`, centered. t = 1: ḡ = 0.01·g = [0.005, −0.02];
        //   v − ḡ² = 0.01·g² − 0.0001·g² = 0.0099·g², √ = 0.099498743710662·|g|;
        //   w = w − 0.01·sign(g)/0.0994987437… (ε ≈ 1e-8 relative) = [0.899496238676095, 1.1005037764754164].
        // t = 2, g = [0.5, 1]: v = [0.004975, 0.0496];
        //   ḡ = ḡ + 0.01·(g − ḡ) = [0.00995, −0.0098];
        //   w₀ = 0.899496238676095 − 0.005/(√(0.004975 − 0.00995²) + 1e-8) = 0.8278920868083515
        //   w₁ = 1.1005037764754164 − 0.01/(√(0.0496 − 0.0098²) + 1e-8) = 1.0555589187563423
        let rms = RmsProp {
            centered: true,
            ..Default::default()
        };
        let (opt, p) = run::<T>(rms, &[1.0, 1.0], &[&[0.5, -2.0]]);
        assert_close(&p.value, &[0.899496238676095, 1.1005037764754164]);
        assert_close(opt.state().get("0.grad_avg").unwrap(), &[0.005, -0.02]);
        let (opt, p) = run::<T>(rms, &[1.0, 1.0], &[&[0.5, -2.0], &[0.5, 1.0]]);
        assert_close(&p.value, &[0.8278920868083515, 1.0555589187563423]);
        assert_close(opt.state().get("0.grad_avg").unwrap(), &[0.00995, -0.0098]);
    }

    fn momentum<T: Scalar>() {
        // μ = 0.9, lr = 0.01, w = 1, g = 0.5 twice.
        // t = 1: v = 0.0025, g/denom = 0.5/(0.05 + 1e-8) = 9.999998000000394 = b;
        //   w = 1 − 0.01·b = 0.900000019999996.
        // t = 2: v = 0.004975, g/denom = 0.5/(0.0705336798983 + 1e-8) = 7.0888112450…;
        //   b = 0.9·9.999998 + 7.0888112450 = 16.088809245058727;
        //   w = 0.900000019999996 − 0.16088809245058727 = 0.7391119275494087.
        let rms = RmsProp {
            momentum: 0.9,
            ..Default::default()
        };
        let (opt, p) = run::<T>(rms, &[1.0], &[&[0.5], &[0.5]]);
        assert_close(&p.value, &[0.7391119275494087]);
        assert_close(
            opt.state().get("0.momentum_buffer").unwrap(),
            &[16.088809245058727],
        );
    }

    fn weight_decay<T: Scalar>() {
        // wd = 0.5, w = 2, g = 0: g' = 1; v = 0.01; w = 2 − 0.01·1/(0.1 + 1e-8) = 1.900000009999999.
        let rms = RmsProp {
            weight_decay: 0.5,
            ..Default::default()
        };
        let (_, p) = run::<T>(rms, &[2.0], &[&[0.0]]);
        assert_close(&p.value, &[1.900000009999999]);
    }

    for_f32_and_f64!(plain, centered, momentum, weight_decay);

    #[test]
    fn defaults_are_pytorchs() {
        let d = RmsProp::default();
        assert_eq!(
            (d.lr, d.alpha, d.eps, d.weight_decay, d.momentum, d.centered),
            (1e-2, 0.99, 1e-8, 0.0, 0.0, false)
        );
        assert!(d.validate().is_ok());
    }

    #[test]
    fn invalid_hyper_parameters() {
        let d = RmsProp::default();
        let cases = [
            (RmsProp { lr: -1.0, ..d }, "invalid RMSprop.lr = -1"),
            (
                RmsProp { alpha: -0.1, ..d },
                "invalid RMSprop.alpha = -0.1: must be in [0, 1]",
            ),
            (RmsProp { alpha: 1.5, ..d }, "invalid RMSprop.alpha = 1.5"),
            (RmsProp { eps: 0.0, ..d }, "invalid RMSprop.eps = 0"),
            (
                RmsProp {
                    weight_decay: -0.1,
                    ..d
                },
                "invalid RMSprop.weight_decay = -0.1",
            ),
            (
                RmsProp {
                    momentum: -0.9,
                    ..d
                },
                "invalid RMSprop.momentum = -0.9",
            ),
            (
                RmsProp {
                    momentum: f64::NAN,
                    ..d
                },
                "invalid RMSprop.momentum = NaN",
            ),
        ];
        for (cfg, msg) in cases {
            let err = cfg.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }));
            assert!(err.to_string().starts_with(msg), "{err} vs {msg}");
            assert!(GradientDescent::<f64>::new(cfg).is_err());
        }
    }
}
