//! [`AdaGrad`]: PyTorch's `torch.optim.Adagrad`.

use super::{UpdateRule, check_non_negative, check_positive};
use crate::{Error, Result, Scalar};

/// Adagrad (Duchi et al., 2011), PyTorch's `torch.optim.Adagrad`.
///
/// With gradient `g`, weight `w` and the step count `t` (from 1), per step:
///
/// ```text
/// g ← g + wd·w                          (if weight_decay ≠ 0)
/// clr = lr / (1 + (t − 1)·lr_decay)     (computed in f64)
/// s ← s + g²                            (sum, starts at initial_accumulator_value)
/// w ← w − clr·g / (√s + ε)
/// ```
///
/// The state name is PyTorch's `sum`. Keras's Adagrad starts the
/// accumulator at 0.1 and has ε = 1e-7; PyTorch's defaults are used here.
/// Weight decay applies to every parameter (see the [module docs](super)).
///
/// ```
/// use weightwise::optim::{AdaGrad, GradientDescent};
/// let opt = GradientDescent::<f32>::new(AdaGrad { lr: 0.1, lr_decay: 1e-3, ..Default::default() });
/// assert!(opt.is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct AdaGrad {
    /// Learning rate. Defaults to `1e-2`.
    pub lr: f64,
    /// Decay of the learning rate per step, `lr/(1 + (t − 1)·lr_decay)`. Defaults to `0.0`.
    pub lr_decay: f64,
    /// L2 penalty coefficient added to the gradient, `g + wd·w`. Defaults to `0.0`.
    pub weight_decay: f64,
    /// Starting value of the sum of squared gradients. Defaults to `0.0`.
    pub initial_accumulator_value: f64,
    /// Added to the denominator for stability, `> 0`. Defaults to `1e-10`.
    pub eps: f64,
}

impl Default for AdaGrad {
    fn default() -> Self {
        AdaGrad {
            lr: 1e-2,
            lr_decay: 0.0,
            weight_decay: 0.0,
            initial_accumulator_value: 0.0,
            eps: 1e-10,
        }
    }
}

impl AdaGrad {
    /// Checks the hyper-parameters (PyTorch's rules, except that `eps = 0`
    /// is rejected).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field and value when `lr`,
    /// `lr_decay`, `weight_decay` or `initial_accumulator_value` is negative
    /// or not finite, or `eps ≤ 0`.
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
        check_non_negative::<T>("Adagrad.lr", self.lr)?;
        check_non_negative::<T>("Adagrad.lr_decay", self.lr_decay)?;
        check_non_negative::<T>("Adagrad.weight_decay", self.weight_decay)?;
        check_non_negative::<T>(
            "Adagrad.initial_accumulator_value",
            self.initial_accumulator_value,
        )?;
        check_positive::<T>("Adagrad.eps", self.eps)
    }
}

impl UpdateRule for AdaGrad {
    const NAME: &'static str = "Adagrad";

    fn op(&self) -> &'static str {
        "Adagrad update"
    }

    fn state_names(&self) -> &'static [&'static str] {
        &["sum"]
    }

    fn initial_value(&self) -> f64 {
        self.initial_accumulator_value
    }

    fn apply<T: Scalar>(
        &self,
        step: u64,
        _first: bool,
        w: &mut [T],
        g: &[T],
        state: &mut [&mut [T]],
    ) -> Result<()> {
        let [sum] = state else {
            return Err(Error::invalid_state(
                "Adagrad update",
                "internal: unexpected state",
            ));
        };
        let clr = self.lr / (1.0 + (step as f64 - 1.0) * self.lr_decay);
        let neg_clr = T::from_f64(-clr);
        let wd = T::from_f64(self.weight_decay);
        let eps = T::from_f64(self.eps);
        for ((w, &g), s) in w.iter_mut().zip(g).zip(sum.iter_mut()) {
            let g = if self.weight_decay != 0.0 {
                g + wd * *w
            } else {
                g
            };
            *s += T::one() * g * g;
            *w += neg_clr * g / (s.sqrt() + eps);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::test_util::{assert_close, for_f32_and_f64, run};
    use crate::optim::{GradientDescent, Optimizer};

    fn lr_decay<T: Scalar>() {
        // lr = 1, lr_decay = 1, w = [0, 0].
        // t = 1, g = [3, 4]: clr = 1/(1 + 0) = 1; s = [9, 16];
        //   w = −[3/(3 + 1e-10), 4/(4 + 1e-10)] = [−0.9999999999666667, −0.999999999975].
        // t = 2, g = [4, 3]: clr = 1/(1 + 1·1) = 0.5; s = [25, 25];
        //   w = w − 0.5·[4/(5 + 1e-10), 3/(5 + 1e-10)] = [−1.3999999999586668, −1.299999999969].
        let ada = AdaGrad {
            lr: 1.0,
            lr_decay: 1.0,
            ..Default::default()
        };
        let (opt, p) = run::<T>(ada, &[0.0, 0.0], &[&[3.0, 4.0], &[4.0, 3.0]]);
        assert_close(&p.value, &[-1.3999999999586668, -1.299999999969]);
        assert_close(opt.state().get("0.sum").unwrap(), &[25.0, 25.0]);
    }

    fn initial_accumulator<T: Scalar>() {
        // lr = 0.1, lr_decay = 0.5, s₀ = 0.1, w = 1, g = 1 twice.
        // t = 1: clr = 0.1; s = 1.1; w = 1 − 0.1/√1.1 = 0.9046537410845317.
        // t = 2: clr = 0.1/1.5 = 0.0666…; s = 2.1; w = w − 0.0666…/√2.1 = 0.8586493704648827.
        let ada = AdaGrad {
            lr: 0.1,
            lr_decay: 0.5,
            initial_accumulator_value: 0.1,
            ..Default::default()
        };
        let (_, p) = run::<T>(ada, &[1.0], &[&[1.0], &[1.0]]);
        assert_close(&p.value, &[0.8586493704648827]);
    }

    fn weight_decay<T: Scalar>() {
        // wd = 0.5, lr = 0.1, w = 2, g = 0: g' = 1, s = 1, w = 2 − 0.1·1/(1 + 1e-10) = 1.90000000001.
        let ada = AdaGrad {
            lr: 0.1,
            weight_decay: 0.5,
            ..Default::default()
        };
        let (_, p) = run::<T>(ada, &[2.0], &[&[0.0]]);
        assert_close(&p.value, &[1.90000000001]);
    }

    for_f32_and_f64!(lr_decay, initial_accumulator, weight_decay);

    #[test]
    fn defaults_are_pytorchs() {
        let d = AdaGrad::default();
        assert_eq!(
            (
                d.lr,
                d.lr_decay,
                d.weight_decay,
                d.initial_accumulator_value,
                d.eps
            ),
            (1e-2, 0.0, 0.0, 0.0, 1e-10)
        );
        assert!(d.validate().is_ok());
    }

    #[test]
    fn invalid_hyper_parameters() {
        let d = AdaGrad::default();
        let cases = [
            (AdaGrad { lr: -0.5, ..d }, "invalid Adagrad.lr = -0.5"),
            (
                AdaGrad {
                    lr_decay: -1.0,
                    ..d
                },
                "invalid Adagrad.lr_decay = -1",
            ),
            (
                AdaGrad {
                    weight_decay: -1.0,
                    ..d
                },
                "invalid Adagrad.weight_decay = -1",
            ),
            (
                AdaGrad {
                    initial_accumulator_value: -0.1,
                    ..d
                },
                "invalid Adagrad.initial_accumulator_value = -0.1",
            ),
            (
                AdaGrad { eps: 0.0, ..d },
                "invalid Adagrad.eps = 0: must be finite and > 0",
            ),
        ];
        for (cfg, msg) in cases {
            let err = cfg.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }));
            assert!(err.to_string().starts_with(msg), "{err} vs {msg}");
            assert!(GradientDescent::<f32>::new(cfg).is_err());
        }
    }
}
