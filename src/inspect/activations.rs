//! [`ActivationReport`]: what every layer's output looks like for a batch.
//!
//! The network is run layer by layer on a batch and each layer's output is
//! summarised: mean, population std and histogram ([`TensorStats`]), and for
//! activation layers the two classic failure signs:
//!
//! - **saturation** (sigmoid, tanh): the fraction of outputs on the flat
//!   tails, where the derivative is nearly zero, as decided by
//!   [`ActivationKind::is_saturated`] (sigmoid `y < 0.01` or `y > 0.99`,
//!   tanh `│y│ > 0.99`);
//! - **dead ReLUs** (ReLU, LeakyReLU with slope 0): the fraction of outputs
//!   exactly zero ([`ActivationKind::is_dead`]), which pass no gradient, and
//!   the fraction of dead *units*: columns (of a feature map: channels) that
//!   are zero for every sample of the batch. About half the outputs of a
//!   healthy ReLU layer are zero; a dead unit is the real problem, as it
//!   never learns again.

use std::borrow::Cow;
use std::fmt;

use super::stats::{TensorStats, check_settings, fraction, percent, sig};
use crate::error::shape_str;
use crate::layer::activation::ActivationKind;
use crate::{Error, Mode, Network, Result, Scalar, Tensor};

/// One layer's output for the batch.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerActivations {
    /// Index of the layer in the network.
    pub layer: usize,
    /// The layer's kind, e.g. `"ReLU"`.
    pub layer_kind: Cow<'static, str>,
    /// The function, for an activation layer.
    pub activation: Option<ActivationKind>,
    /// The output's shape, batch first.
    pub shape: Vec<usize>,
    /// Statistics of every output value.
    pub stats: TensorStats,
    /// Fraction of outputs saturated, for a sigmoid or tanh layer.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub saturated: Option<f64>,
    /// Fraction of outputs exactly zero, for a ReLU (or LeakyReLU(0)) layer.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub dead: Option<f64>,
    /// Fraction of units zero for every sample, for a ReLU layer: columns of
    /// a 2-D output, channels of a feature map `[n, c, h, w]` (zero at every
    /// position of every sample).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub dead_units: Option<f64>,
    /// The output itself, row-major, as `f64`: kept for pictures
    /// ([`activation_histograms`](crate::svg::activation_histograms)).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::vec"))]
    pub values: Vec<f64>,
}

/// Activation statistics of every layer for one batch, from
/// [`Network::activation_report`].
///
/// `Display` prints one row per layer (and one for the input): index, kind,
/// shape, mean, std, min, max, % saturated, % dead outputs, % dead units;
/// "—" where a measure does not apply.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ActivationReport {
    /// The mode the network was run in.
    pub mode: Mode,
    /// The number of samples.
    pub batch: usize,
    /// The input batch's shape, `[batch, input_shape…]`.
    pub input_shape: Vec<usize>,
    /// The number of histogram bins.
    pub bins: usize,
    /// Statistics of the input batch.
    pub input: TensorStats,
    /// One entry per layer, in order.
    pub layers: Vec<LayerActivations>,
}

/// Whether `kind` has flat tails (sigmoid, tanh): its largest outputs count
/// as saturated.
fn can_saturate(kind: ActivationKind) -> bool {
    kind.is_saturated(1.0f64)
}

/// Whether `kind` can output a dead zero (ReLU, LeakyReLU(0)).
fn can_die(kind: ActivationKind) -> bool {
    kind.is_dead(0.0f64)
}

impl LayerActivations {
    /// Summarises the output `y` of layer `layer`.
    pub(super) fn measure<T: Scalar>(
        layer: usize,
        layer_kind: &'static str,
        activation: Option<ActivationKind>,
        y: &Tensor<T>,
        bins: usize,
    ) -> Result<Self> {
        let stats = TensorStats::of(y, 0.0, bins)?;
        let values: Vec<f64> = y.as_slice().iter().map(|v| v.as_f64()).collect();
        let count = |f: &dyn Fn(f64) -> bool| {
            fraction(values.iter().filter(|&&v| f(v)).count(), values.len())
        };
        let (mut saturated, mut dead, mut dead_units) = (None, None, None);
        if let Some(kind) = activation {
            if can_saturate(kind) {
                saturated = Some(count(&|v| kind.is_saturated(v)));
            }
            if can_die(kind) {
                dead = Some(count(&|v| kind.is_dead(v)));
                // A unit is a column of a [n, units] output, a channel of an
                // [n, c, …] feature map (every sample and every position).
                if let [n, units, ref rest @ ..] = *y.shape() {
                    let inner: usize = rest.iter().product();
                    let dead_cols = (0..units)
                        .filter(|&j| {
                            (0..n).all(|i| {
                                let start = (i * units + j) * inner;
                                values[start..start + inner]
                                    .iter()
                                    .all(|&v| kind.is_dead(v))
                            })
                        })
                        .count();
                    dead_units = Some(fraction(dead_cols, units));
                }
            }
        }
        Ok(LayerActivations {
            layer,
            layer_kind: Cow::Borrowed(layer_kind),
            activation,
            shape: y.shape().to_vec(),
            stats,
            saturated,
            dead,
            dead_units,
            values,
        })
    }
}

/// The state tensors (batch norm's running statistics) of every layer, so a
/// forward pass in training mode can be undone.
pub(super) struct Buffers<T>(crate::network::Snapshot<T>);

impl<T: Scalar> Buffers<T> {
    /// Saves the network's parameters, buffers and random streams (a probe
    /// in training mode moves batch norm's statistics and dropout's stream).
    pub(super) fn save(net: &mut Network<T>) -> Self {
        let mut snap = crate::network::Snapshot::default();
        net.save_into(&mut snap);
        Buffers(snap)
    }

    pub(super) fn restore(self, net: &mut Network<T>) {
        net.restore_from(&self.0);
    }
}

/// Checks that `x` is a non-empty batch `[n, inputs]`.
pub(super) fn check_batch<T: Scalar>(
    op: &'static str,
    net: &Network<T>,
    x: &Tensor<T>,
) -> Result<usize> {
    match x.shape().split_first() {
        Some((&n, sample)) if sample == net.input_shape() && n > 0 => Ok(n),
        Some((0, sample)) if sample == net.input_shape() => Err(Error::invalid_shape(
            op,
            x.shape(),
            "the batch is empty: it needs at least one row",
        )),
        _ => Err(net.input_error(op, x.shape())),
    }
}

impl<T: Scalar> Network<T> {
    /// [`Network::activation_report_with`] in inference mode ([`Mode::Eval`]):
    /// dropout off, batch norm on its running statistics.
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::prelude::*;
    /// # fn main() -> weightwise::Result<()> {
    /// let mut rng = StdRng::seed_from_u64(1);
    /// let mut net = Network::<f64>::builder(3)
    ///     .dense(4, Init::he_normal()).relu()
    ///     .dense(1, Init::xavier_uniform()).sigmoid()
    ///     .build(&mut rng)?;
    /// let x = Tensor::from_rows(&[[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])?;
    /// let report = net.activation_report(&x, 10)?;
    /// assert_eq!(report.layers.len(), 4);
    /// assert!(report.layers[1].dead.is_some());      // ReLU
    /// assert!(report.layers[3].saturated.is_some()); // sigmoid
    /// println!("{report}");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Network::activation_report_with`].
    pub fn activation_report(&mut self, x: &Tensor<T>, bins: usize) -> Result<ActivationReport> {
        self.activation_report_with(x, Mode::Eval, bins)
    }

    /// Runs the batch `x` through the layers one by one in `mode` and
    /// summarises each layer's output ([`LayerActivations`]), with histograms
    /// of `bins` bins. In training mode batch norm's running statistics are
    /// restored afterwards, so the report changes no saved state (dropout's
    /// random stream does advance).
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`] if `x` is not `[n ≥ 1, inputs]`;
    /// [`Error::InvalidArgument`] if `bins` is 0; any layer's error.
    pub fn activation_report_with(
        &mut self,
        x: &Tensor<T>,
        mode: Mode,
        bins: usize,
    ) -> Result<ActivationReport> {
        check_settings("activation_report", 0.0, bins)?;
        let batch = check_batch("activation_report", self, x)?;
        let input = TensorStats::of(x, 0.0, bins)?;
        let saved = (mode == Mode::Train).then(|| Buffers::save(self));
        let layers = self.probe_forward(x, mode, bins);
        if let Some(s) = saved {
            s.restore(self);
        }
        Ok(ActivationReport {
            mode,
            batch,
            input_shape: x.shape().to_vec(),
            bins,
            input,
            layers: layers?,
        })
    }

    /// The forward pass, layer by layer, measuring each output.
    pub(super) fn probe_forward(
        &mut self,
        x: &Tensor<T>,
        mode: Mode,
        bins: usize,
    ) -> Result<Vec<LayerActivations>> {
        let mut out = Vec::with_capacity(self.layers().len());
        let mut y = x;
        for (i, layer) in self.layers_mut().iter_mut().enumerate() {
            let (kind, act) = (layer.kind(), layer.activation());
            y = layer.forward(y, mode)?;
            out.push(LayerActivations::measure(i, kind, act, y, bins)?);
        }
        Ok(out)
    }
}

/// `—` for a measure that does not apply.
pub(super) fn opt_percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), percent)
}

/// ```text
/// activations for a batch of 2 in Eval mode
///   #  layer      shape           mean        std        min        max  saturated     dead   dead units
///  in  input      2×3              0.5      1.041         -1          2          —        —          —
///   0  Dense      2×4           0.1234 …
///   1  ReLU       2×4           …                                          —    50.0%      25.0%
/// ```
impl fmt::Display for ActivationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "activations for a batch of {} in {:?} mode",
            self.batch, self.mode
        )?;
        writeln!(
            f,
            "{:>3}  {:<10} {:<12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}  {:>10}",
            "#", "layer", "shape", "mean", "std", "min", "max", "saturated", "dead", "dead units"
        )?;
        let row = |f: &mut fmt::Formatter<'_>,
                   i: &str,
                   kind: &str,
                   shape: &[usize],
                   s: &TensorStats,
                   l: Option<&LayerActivations>| {
            write!(
                f,
                "{i:>3}  {kind:<10} {:<12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}  {:>10}",
                shape_str(shape),
                sig(s.mean),
                sig(s.std),
                sig(s.min),
                sig(s.max),
                opt_percent(l.and_then(|l| l.saturated)),
                opt_percent(l.and_then(|l| l.dead)),
                opt_percent(l.and_then(|l| l.dead_units)),
            )?;
            if s.non_finite > 0 {
                write!(f, "  {} non-finite", s.non_finite)?;
            }
            writeln!(f)
        };
        row(f, "in", "input", &self.input_shape, &self.input, None)?;
        for l in &self.layers {
            row(
                f,
                &l.layer.to_string(),
                &l.layer_kind,
                &l.shape,
                &l.stats,
                Some(l),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::batch_norm::BatchNorm;
    use crate::layer::dense::Dense;
    use crate::{Activation, Layer};

    /// 2 → Dense([[1, 0], [0, −1], [−1, −1]], bias [0, 0, −10]) → ReLU → Dense([[1, 1, 1]]) → sigmoid.
    fn net<T: Scalar>() -> Network<T> {
        let mut net = Network::new(2).unwrap();
        let w = Tensor::from_rows(&[[1.0, 0.0], [0.0, -1.0], [-1.0, -1.0]])
            .unwrap()
            .cast();
        let b = Tensor::from_slice(&[0.0, 0.0, -10.0]).cast();
        net.push(Box::new(Dense::from_weights(w, Some(b)).unwrap()))
            .unwrap();
        net.push(Box::new(Activation::relu())).unwrap();
        let w = Tensor::from_rows(&[[1.0, 1.0, 1.0]]).unwrap().cast();
        net.push(Box::new(Dense::from_weights(w, None).unwrap()))
            .unwrap();
        net.push(Box::new(Activation::sigmoid())).unwrap();
        net
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                #[test]
                fn dead_saturated_and_moments_by_hand() {
                    let mut n = net::<T>();
                    // x = [[2, 1], [−1, 3], [10, 0]]
                    // Dense 0 → [[2, −1, −13], [−1, −3, −8], [10, 0, −20]]
                    // ReLU    → [[2, 0, 0], [0, 0, 0], [10, 0, 0]]: 7 of 9 zero;
                    //   unit 1 and unit 2 are zero for every sample: 2 of 3 dead units.
                    // Dense 2 → [2, 0, 10]; sigmoid → [0.8808, 0.5, 0.99995]:
                    //   σ(10) > 0.99 is saturated, 1 of 3.
                    let x = Tensor::from_rows(&[[2.0, 1.0], [-1.0, 3.0], [10.0, 0.0]])
                        .unwrap()
                        .cast();
                    let r = n.activation_report(&x, 4).unwrap();
                    assert_eq!((r.mode, r.batch, r.bins), (Mode::Eval, 3, 4));
                    assert_eq!(r.layers.len(), 4);
                    let relu = &r.layers[1];
                    assert_eq!((relu.layer, &*relu.layer_kind), (1, "ReLU"));
                    assert_eq!(relu.activation, Some(ActivationKind::Relu));
                    assert_eq!(relu.shape, vec![3, 3]);
                    assert!((relu.dead.unwrap() - 7.0 / 9.0).abs() < 1e-12);
                    assert!((relu.dead_units.unwrap() - 2.0 / 3.0).abs() < 1e-12);
                    assert_eq!(relu.saturated, None);
                    // ReLU output mean 12/9, values as f64.
                    assert!((relu.stats.mean - 12.0 / 9.0).abs() < 1e-6);
                    assert_eq!(
                        relu.values,
                        vec![2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0, 0.0, 0.0]
                    );
                    let dense = &r.layers[2];
                    assert_eq!(
                        (dense.activation, dense.saturated, dense.dead),
                        (None, None, None)
                    );
                    assert_eq!(dense.values, vec![2.0, 0.0, 10.0]);
                    let sig = &r.layers[3];
                    assert!((sig.saturated.unwrap() - 1.0 / 3.0).abs() < 1e-12);
                    assert_eq!((sig.dead, sig.dead_units), (None, None));
                    // Input: [2, 1, −1, 3, 10, 0], mean 15/6.
                    assert!((r.input.mean - 2.5).abs() < 1e-12);
                    assert_eq!(r.input.count, 6);
                }
            }
        };
    }
    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);

    #[test]
    fn dead_units_of_a_feature_map_are_channels() {
        // [2 samples, 3 channels, 1×2]: channel 1 is zero everywhere (dead);
        // channel 0 is zero in sample 0 only, channel 2 at one position only.
        let y = Tensor::from_vec(
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 4.0, 1.0, 0.0, 0.0, 0.0, 2.0, 3.0],
            &[2, 3, 1, 2],
        )
        .unwrap();
        let l = LayerActivations::measure(1, "ReLU", Some(ActivationKind::Relu), &y, 4).unwrap();
        assert!((l.dead_units.unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert!((l.dead.unwrap() - 8.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn the_layer_trait_tells_activations_apart() {
        let relu: Box<dyn Layer<f64>> = Box::new(Activation::relu());
        assert_eq!(relu.activation(), Some(ActivationKind::Relu));
        let tanh: Box<dyn Layer<f32>> = Box::new(Activation::tanh());
        assert_eq!(tanh.activation(), Some(ActivationKind::Tanh));
        let dense: Box<dyn Layer<f64>> =
            Box::new(Dense::from_weights(Tensor::ones(&[1, 1]).unwrap(), None).unwrap());
        assert_eq!(dense.activation(), None);
        assert!(can_saturate(ActivationKind::Sigmoid) && can_saturate(ActivationKind::Tanh));
        assert!(!can_saturate(ActivationKind::Relu) && !can_saturate(ActivationKind::Identity));
        assert!(can_die(ActivationKind::Relu));
        assert!(can_die(ActivationKind::leaky_relu(0.0).unwrap()));
        assert!(
            !can_die(ActivationKind::leaky_relu(0.01).unwrap()) && !can_die(ActivationKind::Tanh)
        );
    }

    #[test]
    fn training_mode_restores_batch_norm_statistics() {
        let mut n = Network::<f64>::new(2).unwrap();
        n.push(Box::new(BatchNorm::new(2).unwrap())).unwrap();
        let before = n.tensor("0.running_mean").unwrap().clone();
        let x = Tensor::from_rows(&[[1.0, 5.0], [3.0, 9.0]]).unwrap();
        let r = n.activation_report_with(&x, Mode::Train, 3).unwrap();
        // Batch statistics in training mode: column 0 becomes ±1/√(1 + 1e-5),
        // column 1 ±2/√(4 + 1e-5): mean 0, std within 1e-5 of 1.
        assert_eq!(r.mode, Mode::Train);
        assert!(r.layers[0].stats.mean.abs() < 1e-12);
        assert!((r.layers[0].stats.std - 1.0).abs() < 1e-5);
        assert_eq!(n.tensor("0.running_mean").unwrap(), &before);
    }

    #[test]
    fn display_rows() {
        let mut n = net::<f64>();
        let x = Tensor::from_rows(&[[2.0, 1.0], [-1.0, 3.0], [10.0, 0.0]]).unwrap();
        let text = n.activation_report(&x, 4).unwrap().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "activations for a batch of 3 in Eval mode");
        assert!(lines[1].contains("saturated") && lines[1].contains("dead units"));
        assert!(lines[2].starts_with(" in  input      3×2"), "{text}");
        assert!(lines[3].starts_with("  0  Dense      3×3"), "{text}");
        // ReLU: no saturation, 7/9 = 77.8% dead outputs, 2/3 = 66.7% dead units.
        assert!(lines[4].starts_with("  1  ReLU       3×3"), "{text}");
        assert!(
            lines[4].trim_end().ends_with("—    77.8%       66.7%"),
            "{text}"
        );
        // Sigmoid: 1/3 = 33.3% saturated.
        assert!(lines[6].starts_with("  3  Sigmoid    3×1"), "{text}");
        assert!(
            lines[6].trim_end().ends_with("33.3%        —           —"),
            "{text}"
        );
    }

    #[test]
    fn errors() {
        let mut n = net::<f64>();
        let x = Tensor::from_rows(&[[1.0, 2.0]]).unwrap();
        assert!(matches!(
            n.activation_report(&x, 0).unwrap_err(),
            Error::InvalidArgument { .. }
        ));
        let e = n
            .activation_report(&Tensor::zeros(&[2, 3]).unwrap(), 4)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "activation_report: shape 2×3 is invalid: the network takes a batch [n, 2]: one \
             sample of shape 2 per row"
        );
        assert!(
            n.activation_report(&Tensor::zeros(&[0, 2]).unwrap(), 4)
                .is_err()
        );
        assert!(
            n.activation_report(&Tensor::zeros(&[2]).unwrap(), 4)
                .is_err()
        );
    }
}
