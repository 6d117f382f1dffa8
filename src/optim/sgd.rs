//! [`Sgd`]: stochastic gradient descent with momentum, PyTorch's `torch.optim.SGD`.

use super::{UpdateRule, check_non_negative};
use crate::{Error, Result, Scalar};

/// Stochastic gradient descent with optional (Nesterov) momentum and weight
/// decay, PyTorch's `torch.optim.SGD`.
///
/// With gradient `g`, weight `w`, momentum `μ`, dampening `τ`, per step:
///
/// ```text
/// g ← g + wd·w                         (if weight_decay ≠ 0)
/// b ← g                                (first step, if μ ≠ 0)
/// b ← μ·b + (1 − τ)·g                  (later steps, if μ ≠ 0)
/// g ← g + μ·b   if nesterov, else  g ← b   (if μ ≠ 0)
/// w ← w − lr·g
/// ```
///
/// The buffer `b` is PyTorch's `momentum_buffer`; note that dampening does
/// not apply on the first step, where the buffer is the gradient itself.
/// Weight decay applies to every parameter (see the [module docs](super)).
/// Keras's SGD keeps `lr` inside the buffer (`v ← μ·v − lr·g`, `w ← w + v`),
/// which agrees with this form while the learning rate is constant.
///
/// ```
/// use weightwise::optim::{GradientDescent, Sgd};
/// let opt = GradientDescent::<f32>::new(Sgd { lr: 0.1, momentum: 0.9, nesterov: true, ..Default::default() });
/// assert!(opt.is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Sgd {
    /// Learning rate. Defaults to `1e-3`.
    pub lr: f64,
    /// Momentum factor `μ`; 0 turns momentum off. Defaults to `0.0`.
    pub momentum: f64,
    /// Dampening `τ` of the momentum's new gradient. Defaults to `0.0`.
    pub dampening: f64,
    /// Nesterov momentum; needs `momentum > 0` and `dampening = 0`. Defaults to `false`.
    pub nesterov: bool,
    /// L2 penalty coefficient added to the gradient, `g + wd·w`. Defaults to `0.0`.
    pub weight_decay: f64,
}

impl Default for Sgd {
    fn default() -> Self {
        Sgd {
            lr: 1e-3,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }
}

impl Sgd {
    /// Checks the hyper-parameters with PyTorch's rules.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the field and value when `lr`,
    /// `momentum` or `weight_decay` is negative or not finite, `dampening` is
    /// not finite, or `nesterov` is set with `momentum = 0` or `dampening ≠ 0`.
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
        check_non_negative::<T>("SGD.lr", self.lr)?;
        check_non_negative::<T>("SGD.momentum", self.momentum)?;
        check_non_negative::<T>("SGD.weight_decay", self.weight_decay)?;
        crate::scalar::checked_hyper::<T>(
            "SGD.dampening",
            self.dampening,
            crate::scalar::Rule::Finite,
        )?;
        if self.nesterov && self.momentum <= 0.0 {
            return Err(Error::invalid_arg(
                "SGD.momentum",
                self.momentum,
                "Nesterov momentum requires momentum > 0",
            ));
        }
        if self.nesterov && self.dampening != 0.0 {
            return Err(Error::invalid_arg(
                "SGD.dampening",
                self.dampening,
                "Nesterov momentum requires zero dampening",
            ));
        }
        Ok(())
    }
}

impl UpdateRule for Sgd {
    const NAME: &'static str = "SGD";

    fn op(&self) -> &'static str {
        "SGD update"
    }

    fn state_names(&self) -> &'static [&'static str] {
        if self.momentum != 0.0 {
            &["momentum_buffer"]
        } else {
            &[]
        }
    }

    fn apply<T: Scalar>(
        &self,
        _step: u64,
        first: bool,
        w: &mut [T],
        g: &[T],
        state: &mut [&mut [T]],
    ) -> Result<()> {
        let neg_lr = T::from_f64(-self.lr);
        let wd = T::from_f64(self.weight_decay);
        let decay = self.weight_decay != 0.0;
        match state {
            [] => {
                for (w, &g) in w.iter_mut().zip(g) {
                    let g = if decay { g + wd * *w } else { g };
                    *w += neg_lr * g;
                }
            }
            [buf] => {
                let mu = T::from_f64(self.momentum);
                let keep = T::from_f64(1.0 - self.dampening);
                for ((w, &g), b) in w.iter_mut().zip(g).zip(buf.iter_mut()) {
                    let g = if decay { g + wd * *w } else { g };
                    *b = if first { g } else { *b * mu + keep * g };
                    let d = if self.nesterov { g + mu * *b } else { *b };
                    *w += neg_lr * d;
                }
            }
            _ => {
                return Err(Error::invalid_state(
                    "SGD update",
                    "internal: unexpected state",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::test_util::{assert_close, for_f32_and_f64, run};

    fn plain<T: Scalar>() {
        // w = [1, −2], g = [0.5, 1], lr = 0.1: w − 0.1·g = [0.95, −2.1].
        let sgd = Sgd {
            lr: 0.1,
            ..Default::default()
        };
        let (opt, p) = run::<T>(sgd, &[1.0, -2.0], &[&[0.5, 1.0]]);
        assert_close(&p.value, &[0.95, -2.1]);
        // No momentum, no state tensors.
        assert!(crate::optim::Optimizer::state(&opt).tensors.is_empty());
    }

    fn weight_decay<T: Scalar>() {
        // g' = g + 0.1·w = [0.5 + 0.1, 1 − 0.2] = [0.6, 0.8];
        // w − 0.1·g' = [1 − 0.06, −2 − 0.08] = [0.94, −2.08].
        let sgd = Sgd {
            lr: 0.1,
            weight_decay: 0.1,
            ..Default::default()
        };
        let (_, p) = run::<T>(sgd, &[1.0, -2.0], &[&[0.5, 1.0]]);
        assert_close(&p.value, &[0.94, -2.08]);
    }

    fn momentum_two_steps<T: Scalar>() {
        // μ = 0.9, lr = 0.1, w = [1, −2].
        // Step 1, g = [0.5, 1]: b = g = [0.5, 1]; w = [0.95, −2.1].
        // Step 2, g = [−1, 0.5]: b = 0.9·[0.5, 1] + [−1, 0.5] = [−0.55, 1.4];
        //   w = [0.95 + 0.055, −2.1 − 0.14] = [1.005, −2.24].
        let sgd = Sgd {
            lr: 0.1,
            momentum: 0.9,
            ..Default::default()
        };
        let (opt, p) = run::<T>(sgd, &[1.0, -2.0], &[&[0.5, 1.0], &[-1.0, 0.5]]);
        assert_close(&p.value, &[1.005, -2.24]);
        let state = crate::optim::Optimizer::state(&opt);
        assert_eq!(state.step, 2);
        assert_close(state.get("0.momentum_buffer").unwrap(), &[-0.55, 1.4]);
    }

    fn dampening<T: Scalar>() {
        // μ = 0.9, τ = 0.5, lr = 0.1, constant g = [0.5, 1], w = [1, −2].
        // Step 1: b = g (no dampening on the first step); w = [0.95, −2.1].
        // Step 2: b = 0.9·[0.5, 1] + 0.5·[0.5, 1] = [0.7, 1.4];
        //   w = [0.95 − 0.07, −2.1 − 0.14] = [0.88, −2.24].
        let sgd = Sgd {
            lr: 0.1,
            momentum: 0.9,
            dampening: 0.5,
            ..Default::default()
        };
        let (_, p) = run::<T>(sgd, &[1.0, -2.0], &[&[0.5, 1.0], &[0.5, 1.0]]);
        assert_close(&p.value, &[0.88, -2.24]);
    }

    fn nesterov<T: Scalar>() {
        // μ = 0.9, lr = 0.1, constant g = [0.5, 1], w = [1, −2].
        // Step 1: b = g; g' = g + 0.9·b = 1.9·g = [0.95, 1.9];
        //   w = [1 − 0.095, −2 − 0.19] = [0.905, −2.19].
        // Step 2: b = 0.9·g + g = 1.9·g; g' = g + 0.9·1.9·g = 2.71·g = [1.355, 2.71];
        //   w = [0.905 − 0.1355, −2.19 − 0.271] = [0.7695, −2.461].
        let sgd = Sgd {
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            ..Default::default()
        };
        let (_, p) = run::<T>(sgd, &[1.0, -2.0], &[&[0.5, 1.0], &[0.5, 1.0]]);
        assert_close(&p.value, &[0.7695, -2.461]);
    }

    fn momentum_with_weight_decay<T: Scalar>() {
        // μ = 0.5, wd = 1, lr = 0.1, w = [2], g = [0] both steps.
        // Step 1: g' = 0 + 1·2 = 2; b = 2; w = 2 − 0.2 = 1.8.
        // Step 2: g' = 1.8; b = 0.5·2 + 1.8 = 2.8; w = 1.8 − 0.28 = 1.52.
        let sgd = Sgd {
            lr: 0.1,
            momentum: 0.5,
            weight_decay: 1.0,
            ..Default::default()
        };
        let (_, p) = run::<T>(sgd, &[2.0], &[&[0.0], &[0.0]]);
        assert_close(&p.value, &[1.52]);
    }

    for_f32_and_f64!(
        plain,
        weight_decay,
        momentum_two_steps,
        dampening,
        nesterov,
        momentum_with_weight_decay
    );

    #[test]
    fn defaults_are_pytorchs() {
        let d = Sgd::default();
        assert_eq!(
            (d.lr, d.momentum, d.dampening, d.nesterov, d.weight_decay),
            (1e-3, 0.0, 0.0, false, 0.0)
        );
        assert!(d.validate().is_ok());
    }

    #[test]
    fn invalid_hyper_parameters() {
        let cases: [(Sgd, &str); 8] = [
            (
                Sgd {
                    lr: -0.1,
                    ..Default::default()
                },
                "invalid SGD.lr = -0.1",
            ),
            (
                Sgd {
                    lr: f64::NAN,
                    ..Default::default()
                },
                "invalid SGD.lr = NaN",
            ),
            (
                Sgd {
                    momentum: -0.5,
                    ..Default::default()
                },
                "invalid SGD.momentum = -0.5",
            ),
            (
                Sgd {
                    weight_decay: -1.0,
                    ..Default::default()
                },
                "invalid SGD.weight_decay = -1",
            ),
            (
                Sgd {
                    dampening: f64::INFINITY,
                    ..Default::default()
                },
                "invalid SGD.dampening = inf",
            ),
            (
                Sgd {
                    nesterov: true,
                    ..Default::default()
                },
                "invalid SGD.momentum = 0: Nesterov momentum requires momentum > 0",
            ),
            (
                Sgd {
                    nesterov: true,
                    momentum: 0.9,
                    dampening: 0.1,
                    ..Default::default()
                },
                "invalid SGD.dampening = 0.1: Nesterov momentum requires zero dampening",
            ),
            (
                Sgd {
                    lr: f64::INFINITY,
                    ..Default::default()
                },
                "invalid SGD.lr = inf",
            ),
        ];
        for (cfg, msg) in cases {
            let err = cfg.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidArgument { .. }));
            assert!(err.to_string().starts_with(msg), "{err} vs {msg}");
            assert!(crate::optim::GradientDescent::<f32>::new(cfg).is_err());
        }
    }
}
