//! [`Adam`] and [`AdamW`]: adaptive moment estimation, PyTorch's `torch.optim.Adam` and `AdamW`.

use super::{UpdateRule, check_beta, check_non_negative, check_positive, lerp};
use crate::{Error, Result, Scalar};

/// Adam with coupled (L2) weight decay, PyTorch's `torch.optim.Adam`
/// (Kingma & Ba, 2015).
///
/// With gradient `g`, weight `w` and the step count `t` (from 1), per step:
///
/// ```text
/// g ← g + wd·w                       (if weight_decay ≠ 0: an L2 penalty in the gradient)
/// m ← m + (1 − β₁)·(g − m)           (= β₁·m + (1 − β₁)·g, PyTorch's lerp)
/// v ← β₂·v + (1 − β₂)·g²
/// v_max ← max(v_max, v)              (amsgrad only)
/// denom = √v / √(1 − β₂ᵗ) + ε        (√v_max with amsgrad)
/// w ← w − lr/(1 − β₁ᵗ) · m / denom
/// ```
///
/// which is `w − lr·m̂/(√v̂ + ε)` with `m̂ = m/(1 − β₁ᵗ)`, `v̂ = v/(1 − β₂ᵗ)`.
/// The state names are PyTorch's: `exp_avg` (m), `exp_avg_sq` (v) and, with
/// amsgrad, `max_exp_avg_sq`. The bias corrections are computed in `f64`
/// and rounded to `T`. Weight decay applies to every parameter (see the
/// [module docs](super)). Keras's Adam differs: it adds ε to `√v` before
/// the bias correction (the paper's ε̂) and defaults it to `1e-7`.
///
/// ```
/// use weightwise::optim::{Adam, GradientDescent};
/// let opt = GradientDescent::<f32>::new(Adam { lr: 3e-4, amsgrad: true, ..Default::default() });
/// assert!(opt.is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct Adam {
    /// Learning rate. Defaults to `1e-3`.
    pub lr: f64,
    /// Decay rate `β₁` of the first moment, in `[0, 1)`. Defaults to `0.9`.
    pub beta1: f64,
    /// Decay rate `β₂` of the second moment, in `[0, 1)`. Defaults to `0.999`.
    pub beta2: f64,
    /// Added to the denominator for stability, `> 0`. Defaults to `1e-8`.
    pub eps: f64,
    /// L2 penalty coefficient added to the gradient, `g + wd·w`. Defaults to `0.0`.
    pub weight_decay: f64,
    /// Use the running maximum of `v` (AMSGrad, Reddi et al. 2018). Defaults to `false`.
    pub amsgrad: bool,
}

impl Default for Adam {
    fn default() -> Self {
        Adam {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            amsgrad: false,
        }
    }
}

/// Adam with decoupled weight decay, PyTorch's `torch.optim.AdamW`
/// (Loshchilov & Hutter, 2019).
///
/// The weights first shrink, then take the [`Adam`] step with no decay in
/// the gradient:
///
/// ```text
/// w ← w·(1 − lr·wd)                  (1 − lr·wd computed in f64)
/// w ← Adam update of w with g        (as in Adam with weight_decay = 0)
/// ```
///
/// Same fields as [`Adam`]; only `weight_decay`'s default differs (`1e-2`).
///
/// ```
/// use weightwise::optim::{AdamW, GradientDescent};
/// let opt = GradientDescent::<f64>::new(AdamW { lr: 1e-3, ..Default::default() });
/// assert!(opt.is_ok());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(default))]
pub struct AdamW {
    /// Learning rate. Defaults to `1e-3`.
    pub lr: f64,
    /// Decay rate `β₁` of the first moment, in `[0, 1)`. Defaults to `0.9`.
    pub beta1: f64,
    /// Decay rate `β₂` of the second moment, in `[0, 1)`. Defaults to `0.999`.
    pub beta2: f64,
    /// Added to the denominator for stability, `> 0`. Defaults to `1e-8`.
    pub eps: f64,
    /// Decoupled decay coefficient: `w ← w·(1 − lr·wd)` each step. Defaults to `1e-2`.
    pub weight_decay: f64,
    /// Use the running maximum of `v` (AMSGrad). Defaults to `false`.
    pub amsgrad: bool,
}

impl Default for AdamW {
    fn default() -> Self {
        AdamW {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 1e-2,
            amsgrad: false,
        }
    }
}

/// The five hyper-parameters both variants share, with the field names
/// errors use.
struct Hyper {
    names: [&'static str; 5],
    values: [f64; 5],
}

impl Hyper {
    fn validate<T: Scalar>(&self) -> Result<()> {
        let [lr, b1, b2, eps, wd] = self.names;
        let [vlr, vb1, vb2, veps, vwd] = self.values;
        check_non_negative::<T>(lr, vlr)?;
        check_beta::<T>(b1, vb1)?;
        check_beta::<T>(b2, vb2)?;
        check_positive::<T>(eps, veps)?;
        check_non_negative::<T>(wd, vwd)
    }
}

/// What [`Adam`] and [`AdamW`] share besides the update: their
/// hyper-parameters, named for errors as `"<type>.<field>"`, and the checks.
macro_rules! adam_checks {
    ($ty:ident, $name:literal) => {
        impl $ty {
            fn hyper(&self) -> Hyper {
                Hyper {
                    names: [
                        concat!($name, ".lr"),
                        concat!($name, ".beta1"),
                        concat!($name, ".beta2"),
                        concat!($name, ".eps"),
                        concat!($name, ".weight_decay"),
                    ],
                    values: [self.lr, self.beta1, self.beta2, self.eps, self.weight_decay],
                }
            }

            /// Checks the hyper-parameters (PyTorch's rules, except that
            /// `eps = 0`, which PyTorch accepts, is rejected because it can
            /// divide by zero).
            ///
            /// # Errors
            /// [`Error::InvalidArgument`] naming the field and value when `lr`
            /// or `weight_decay` is negative or not finite, a β is outside
            /// `[0, 1)`, or `eps ≤ 0`.
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
                self.hyper().validate::<T>()
            }
        }
    };
}

adam_checks!(Adam, "Adam");
adam_checks!(AdamW, "AdamW");

fn state_names(amsgrad: bool) -> &'static [&'static str] {
    if amsgrad {
        &["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]
    } else {
        &["exp_avg", "exp_avg_sq"]
    }
}

/// NaN-propagating maximum, as `torch.maximum`.
fn maximum<T: Scalar>(a: T, b: T) -> T {
    if a.is_nan() || b.is_nan() {
        T::nan()
    } else if a > b {
        a
    } else {
        b
    }
}

/// The Adam step of PyTorch's `_single_tensor_adam`, op for op.
fn apply<T: Scalar>(
    h: &Hyper,
    decoupled: bool,
    step: u64,
    w: &mut [T],
    g: &[T],
    state: &mut [&mut [T]],
) -> Result<()> {
    let [lr, beta1, beta2, eps, wd] = h.values;
    // Python-float scalars, computed in f64 as PyTorch does.
    let t = step as f64;
    let bias_correction1 = 1.0 - beta1.powf(t);
    let bias_correction2 = 1.0 - beta2.powf(t);
    let neg_step_size = T::from_f64(-(lr / bias_correction1));
    let bc2_sqrt = T::from_f64(bias_correction2.sqrt());
    let shrink = T::from_f64(1.0 - lr * wd);
    let wd_t = T::from_f64(wd);
    let one_minus_beta1 = T::from_f64(1.0 - beta1);
    let beta2_t = T::from_f64(beta2);
    let one_minus_beta2 = T::from_f64(1.0 - beta2);
    let eps = T::from_f64(eps);
    let (m, v, vmax) = match state {
        [m, v] => (&mut **m, &mut **v, None),
        [m, v, vmax] => (&mut **m, &mut **v, Some(&mut **vmax)),
        _ => {
            return Err(Error::invalid_state(
                "Adam update",
                "internal: unexpected state",
            ));
        }
    };
    if decoupled && wd != 0.0 {
        w.iter_mut().for_each(|wi| *wi *= shrink);
    }
    let coupled = !decoupled && wd != 0.0;
    // The same arithmetic as PyTorch, op for op; written as one pass per case
    // with zipped slices so the compiler vectorizes it (no bounds checks, no
    // per-element branches).
    match vmax {
        None => {
            for (((wi, &g0), mi), vi) in w.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
                let gi = if coupled { g0 + wd_t * *wi } else { g0 };
                *mi = lerp(*mi, gi, one_minus_beta1);
                *vi = *vi * beta2_t + one_minus_beta2 * gi * gi;
                let denom = vi.sqrt() / bc2_sqrt + eps;
                *wi += neg_step_size * *mi / denom;
            }
        }
        Some(vmax) => {
            for ((((wi, &g0), mi), vi), xi) in w
                .iter_mut()
                .zip(g)
                .zip(m.iter_mut())
                .zip(v.iter_mut())
                .zip(vmax.iter_mut())
            {
                let gi = if coupled { g0 + wd_t * *wi } else { g0 };
                *mi = lerp(*mi, gi, one_minus_beta1);
                *vi = *vi * beta2_t + one_minus_beta2 * gi * gi;
                *xi = maximum(*xi, *vi);
                let denom = xi.sqrt() / bc2_sqrt + eps;
                *wi += neg_step_size * *mi / denom;
            }
        }
    }
    Ok(())
}

/// Adam and AdamW share their rule; only the weight decay differs
/// (`decoupled`: AdamW shrinks the weights instead of adding `wd·w` to the gradient).
macro_rules! adam_rule {
    ($ty:ty, $name:literal, $decoupled:literal) => {
        impl UpdateRule for $ty {
            const NAME: &'static str = $name;

            fn op(&self) -> &'static str {
                concat!($name, " update")
            }

            fn state_names(&self) -> &'static [&'static str] {
                state_names(self.amsgrad)
            }

            fn apply<T: Scalar>(
                &self,
                step: u64,
                _first: bool,
                w: &mut [T],
                g: &[T],
                state: &mut [&mut [T]],
            ) -> Result<()> {
                apply(&self.hyper(), $decoupled, step, w, g, state)
            }
        }
    };
}

adam_rule!(Adam, "Adam", false);
adam_rule!(AdamW, "AdamW", true);

#[cfg(test)]
mod tests;
