//! Finite-difference gradient checking: proof that a hand-written backward pass is right.
//!
//! Each derivative is estimated by central differences,
//! `∂f/∂θ ≈ (f(θ + h) − f(θ − h)) / 2h`, in `f64`, and compared with the
//! analytic one by the relative error
//!
//! ```text
//! err = |analytic − numeric| / max(|analytic|, |numeric|, floor)
//! ```
//!
//! The `floor` keeps derivatives that are zero or nearly so from turning
//! rounding noise into a large ratio. A layer is checked through the scalar
//! `L = Σ r ⊙ y` with a fixed pseudo-random `r`, so its backward pass receives
//! `∂L/∂y = r` (a random `r`, not ones, so that e.g. softmax, whose outputs sum
//! to one, is really tested).

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use crate::layer::{Layer, Mode};
use crate::loss::LossFn;
use crate::{Error, Network, Result, Tensor};

/// Settings of a check; [`GradCheck::default`] suits most layers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradCheck {
    /// The finite-difference step `h`. Defaults to `1e-5`.
    pub step: f64,
    /// The denominator's floor in the relative error. Defaults to `1e-3`.
    pub floor: f64,
    /// The mode layers are run in. Defaults to [`Mode::Train`].
    pub mode: Mode,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            step: 1e-5,
            floor: 1e-3,
            mode: Mode::Train,
        }
    }
}

/// The outcome of a check: the worst relative error and where it occurred.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// Largest relative error over every checked derivative.
    pub max_rel_error: f64,
    /// Where it occurred, e.g. `"param 0.weight [2, 1]"` or `"input [0, 3]"`.
    pub location: String,
    /// The analytic derivative there.
    pub analytic: f64,
    /// The numeric derivative there.
    pub numeric: f64,
    /// How many derivatives were compared.
    pub checked: usize,
}

impl GradCheckReport {
    fn new() -> Self {
        GradCheckReport {
            max_rel_error: 0.0,
            location: String::new(),
            analytic: 0.0,
            numeric: 0.0,
            checked: 0,
        }
    }

    fn record(
        &mut self,
        floor: f64,
        analytic: f64,
        numeric: f64,
        location: impl FnOnce() -> String,
    ) {
        self.checked += 1;
        let err = (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor);
        if err > self.max_rel_error || err.is_nan() {
            self.max_rel_error = if err.is_nan() { f64::INFINITY } else { err };
            self.location = location();
            self.analytic = analytic;
            self.numeric = numeric;
        }
    }

    /// Returns the report if the largest error is below `tolerance`, or an
    /// [`Error::InvalidState`] naming where it failed.
    ///
    /// # Errors
    /// When `max_rel_error ≥ tolerance`.
    pub fn assert_below(self, tolerance: f64) -> Result<Self> {
        if self.max_rel_error < tolerance {
            Ok(self)
        } else {
            Err(Error::invalid_state("gradcheck", self.to_string()))
        }
    }
}

impl std::fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "max relative error {:.3e} at {} (analytic {:.6e}, numeric {:.6e}) over {} derivatives",
            self.max_rel_error, self.location, self.analytic, self.numeric, self.checked
        )
    }
}

/// Multi-index of flat offset `i` in `shape`, for messages.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            idx[d] = i % n;
            i /= n;
        }
    }
    idx
}

fn projection(shape: &[usize]) -> Result<Tensor<f64>> {
    let mut rng = StdRng::seed_from_u64(0x6772_6164);
    let dist = Uniform::new(-1.0, 1.0).expect("valid bounds");
    Tensor::random(shape, &dist, &mut rng)
}

fn dot(a: &Tensor<f64>, b: &Tensor<f64>) -> f64 {
    a.as_slice()
        .iter()
        .zip(b.as_slice())
        .map(|(x, y)| x * y)
        .sum()
}

impl GradCheck {
    /// Central difference of `f` at element `i` of `x`, restoring it afterwards.
    fn central(
        &self,
        x: &mut Tensor<f64>,
        i: usize,
        mut f: impl FnMut(&Tensor<f64>) -> Result<f64>,
    ) -> Result<f64> {
        let orig = x.as_slice()[i];
        x.as_mut_slice()[i] = orig + self.step;
        let plus = f(x)?;
        x.as_mut_slice()[i] = orig - self.step;
        let minus = f(x)?;
        x.as_mut_slice()[i] = orig;
        Ok((plus - minus) / (2.0 * self.step))
    }

    /// Checks `grad` as the gradient of a scalar function `f` at `x`.
    ///
    /// # Errors
    /// Whatever `f` returns; a shape mismatch between `x` and `grad`.
    pub fn function(
        &self,
        mut f: impl FnMut(&Tensor<f64>) -> Result<f64>,
        x: &Tensor<f64>,
        grad: &Tensor<f64>,
    ) -> Result<GradCheckReport> {
        if x.shape() != grad.shape() {
            return Err(Error::shape_mismatch(
                "gradcheck::function",
                x.shape(),
                grad.shape(),
                "the gradient must have the input's shape",
            ));
        }
        let mut report = GradCheckReport::new();
        let mut x = x.clone();
        for i in 0..x.len() {
            let numeric = self.central(&mut x, i, &mut f)?;
            report.record(self.floor, grad.as_slice()[i], numeric, || {
                format!("input {:?}", unravel(i, x.shape()))
            });
        }
        Ok(report)
    }

    /// Checks a layer's input gradient and every parameter gradient at `x`.
    ///
    /// # Errors
    /// Any error from the layer's `forward` or `backward`.
    pub fn layer(&self, layer: &mut dyn Layer<f64>, x: &Tensor<f64>) -> Result<GradCheckReport> {
        let mode = self.mode;
        let y_shape = layer.forward(x, mode)?.shape().to_vec();
        let r = projection(&y_shape)?;
        layer.zero_grad();
        layer.forward(x, mode)?;
        let dx = layer.backward(&r)?.clone();
        let analytic: Vec<Tensor<f64>> = layer.params().iter().map(|p| p.grad.clone()).collect();
        let names: Vec<&'static str> = layer.params().iter().map(|p| p.name).collect();

        let mut report = GradCheckReport::new();
        let mut xm = x.clone();
        for i in 0..xm.len() {
            let numeric = self.central(&mut xm, i, |xp| Ok(dot(&r, layer.forward(xp, mode)?)))?;
            report.record(self.floor, dx.as_slice()[i], numeric, || {
                format!("input {:?}", unravel(i, x.shape()))
            });
        }
        for (pi, (grad, name)) in analytic.iter().zip(&names).enumerate() {
            for i in 0..grad.len() {
                let numeric = {
                    let mut eval = |delta: f64| -> Result<f64> {
                        let p = &mut layer.params_mut()[pi].value;
                        let orig = p.as_slice()[i];
                        p.as_mut_slice()[i] = orig + delta;
                        let out = dot(&r, layer.forward(x, mode)?);
                        layer.params_mut()[pi].value.as_mut_slice()[i] = orig;
                        Ok(out)
                    };
                    (eval(self.step)? - eval(-self.step)?) / (2.0 * self.step)
                };
                report.record(self.floor, grad.as_slice()[i], numeric, || {
                    format!("param {name} {:?}", unravel(i, grad.shape()))
                });
            }
        }
        Ok(report)
    }

    /// Checks a loss's gradient with respect to the prediction.
    ///
    /// # Errors
    /// Any error from the loss.
    pub fn loss(
        &self,
        loss: &dyn LossFn<f64>,
        pred: &Tensor<f64>,
        target: &Tensor<f64>,
    ) -> Result<GradCheckReport> {
        let mut grad = Tensor::default();
        loss.loss_and_grad(pred, target, &mut grad)?;
        self.function(|p| loss.loss(p, target), pred, &grad)
    }
}

impl GradCheck {
    /// Checks a whole network with a loss: the gradient of
    /// `loss(net(x), target)` with respect to every parameter and to `x`.
    ///
    /// # Errors
    /// Any error from the network or the loss.
    pub fn network(
        &self,
        net: &mut Network<f64>,
        loss: &dyn LossFn<f64>,
        x: &Tensor<f64>,
        target: &Tensor<f64>,
    ) -> Result<GradCheckReport> {
        let mode = self.mode;
        let mut dy = Tensor::default();
        net.zero_grad();
        loss.loss_and_grad(net.forward(x, mode)?, target, &mut dy)?;
        let dx = net.backward(&dy)?.clone();
        let analytic: Vec<(String, Tensor<f64>)> = net
            .named_params()
            .into_iter()
            .map(|(n, p)| (n, p.grad.clone()))
            .collect();

        let mut report = GradCheckReport::new();
        let mut xm = x.clone();
        for i in 0..xm.len() {
            let numeric =
                self.central(&mut xm, i, |xp| loss.loss(net.forward(xp, mode)?, target))?;
            report.record(self.floor, dx.as_slice()[i], numeric, || {
                format!("input {:?}", unravel(i, x.shape()))
            });
        }
        for (pi, (name, grad)) in analytic.iter().enumerate() {
            for i in 0..grad.len() {
                let mut eval = |delta: f64| -> Result<f64> {
                    let mut params = net.params_mut();
                    let v = params[pi].value.as_mut_slice();
                    let orig = v[i];
                    v[i] = orig + delta;
                    let out = loss.loss(net.forward(x, mode)?, target);
                    net.params_mut()[pi].value.as_mut_slice()[i] = orig;
                    out
                };
                let numeric = (eval(self.step)? - eval(-self.step)?) / (2.0 * self.step);
                report.record(self.floor, grad.as_slice()[i], numeric, || {
                    format!("param {name} {:?}", unravel(i, grad.shape()))
                });
            }
        }
        Ok(report)
    }
}

/// [`GradCheck::network`] with the default settings.
///
/// # Errors
/// Any error from the network or the loss.
pub fn network(
    net: &mut Network<f64>,
    loss: &dyn LossFn<f64>,
    x: &Tensor<f64>,
    target: &Tensor<f64>,
) -> Result<GradCheckReport> {
    GradCheck::default().network(net, loss, x, target)
}

/// [`GradCheck::layer`] with the default settings.
///
/// ```
/// use weightwise::{gradcheck, layer::activation::Activation, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut tanh = Activation::tanh();
/// let x = Tensor::from_rows(&[[0.3, -1.2], [0.7, 2.0]])?;
/// let report = gradcheck::layer(&mut tanh, &x)?;
/// assert!(report.max_rel_error < 1e-6, "{report}");
/// # Ok(()) }
/// ```
///
/// # Errors
/// Any error from the layer.
pub fn layer(layer: &mut dyn Layer<f64>, x: &Tensor<f64>) -> Result<GradCheckReport> {
    GradCheck::default().layer(layer, x)
}

/// [`GradCheck::loss`] with the default settings.
///
/// # Errors
/// Any error from the loss.
pub fn loss(
    loss: &dyn LossFn<f64>,
    pred: &Tensor<f64>,
    target: &Tensor<f64>,
) -> Result<GradCheckReport> {
    GradCheck::default().loss(loss, pred, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_check_detects_right_and_wrong_gradients() {
        let x = Tensor::from_slice(&[0.5, -1.5, 2.0]);
        let f = |t: &Tensor<f64>| Ok(t.as_slice().iter().map(|v| v.powi(3)).sum());
        let good = x.map(|v| 3.0 * v * v);
        let r = GradCheck::default().function(f, &x, &good).unwrap();
        assert!(r.max_rel_error < 1e-8, "{r}");
        assert_eq!(r.checked, 3);
        let bad = x.map(|v| 3.0 * v * v + if v > 1.0 { 0.1 } else { 0.0 });
        let r = GradCheck::default().function(f, &x, &bad).unwrap();
        assert!(r.max_rel_error > 1e-3, "{r}");
        assert_eq!(r.location, "input [2]");
        assert!(r.clone().assert_below(1e-6).is_err());
        let wrong_shape = Tensor::from_slice(&[1.0]);
        assert!(GradCheck::default().function(f, &x, &wrong_shape).is_err());
    }

    #[test]
    fn unravel_gives_multi_index() {
        assert_eq!(unravel(5, &[2, 3]), vec![1, 2]);
        assert_eq!(unravel(0, &[4]), vec![0]);
    }
}
