//! [`WeightReport`]: statistics of every parameter of a network, and of
//! every layer's parameters pooled.

use std::borrow::Cow;
use std::fmt;

use super::stats::{DEFAULT_BINS, DEFAULT_NEAR_ZERO, TensorStats, check_settings, percent, sig};
use crate::Network;
use crate::error::shape_str;
use crate::{ParamKind, Result, Scalar};

/// The statistics of one parameter tensor.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ParamStats {
    /// Full name, `"{layer}.{name}"`, e.g. `"0.weight"` (PyTorch's state-dict key).
    pub name: String,
    /// Index of the layer in the network.
    pub layer: usize,
    /// The layer's kind, e.g. `"Dense"`.
    pub layer_kind: Cow<'static, str>,
    /// The parameter's role.
    pub kind: ParamKind,
    /// The parameter's shape (`[units, inputs]` for a dense weight).
    pub shape: Vec<usize>,
    /// Its statistics.
    pub stats: TensorStats,
}

/// The statistics of all of one layer's parameters pooled together (a dense
/// layer's weight and bias as one set of numbers).
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct LayerWeightStats {
    /// Index of the layer in the network.
    pub layer: usize,
    /// The layer's kind.
    pub layer_kind: Cow<'static, str>,
    /// Number of parameter tensors pooled.
    pub tensors: usize,
    /// Statistics over every value of those tensors.
    pub stats: TensorStats,
}

/// Statistics of a network's weights, from [`Network::weight_report`].
///
/// The fields are plain data for programs; `Display` prints a table with one
/// row per parameter (name, layer kind, shape, mean, std, min, max, `‖·‖₂`,
/// % exactly zero, % near zero), then one row per layer that has parameters.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct WeightReport {
    /// One entry per parameter tensor, in the network's stable order.
    pub params: Vec<ParamStats>,
    /// One entry per layer that has parameters, in order.
    pub layers: Vec<LayerWeightStats>,
    /// The near-zero threshold used.
    pub near_zero: f64,
    /// The number of histogram bins used.
    pub bins: usize,
}

impl WeightReport {
    /// The entry for the parameter called `name` (`"2.weight"`).
    pub fn param(&self, name: &str) -> Option<&ParamStats> {
        self.params.iter().find(|p| p.name == name)
    }
}

impl<T: Scalar> Network<T> {
    /// [`Network::weight_report_with`] with the defaults: near zero means
    /// `│w│ ≤ 1e-3` ([`DEFAULT_NEAR_ZERO`]) and histograms have 20 bins
    /// ([`DEFAULT_BINS`]).
    ///
    /// ```
    /// use rand::{SeedableRng, rngs::StdRng};
    /// use weightwise::prelude::*;
    /// # fn main() -> weightwise::Result<()> {
    /// let net = Network::<f32>::builder(4)
    ///     .dense(3, Init::he_normal()).relu()
    ///     .dense(2, Init::xavier_uniform())
    ///     .build(&mut StdRng::seed_from_u64(0))?;
    /// let report = net.weight_report();
    /// assert_eq!(report.params.len(), 4); // 0.weight, 0.bias, 2.weight, 2.bias
    /// assert_eq!(report.param("0.bias").unwrap().stats.zero_fraction, 1.0);
    /// println!("{report}");
    /// # Ok(()) }
    /// ```
    pub fn weight_report(&self) -> WeightReport {
        self.report(DEFAULT_NEAR_ZERO, DEFAULT_BINS)
    }

    /// Statistics ([`TensorStats`]) of every parameter, and of every layer's
    /// parameters pooled, counting `│w│ ≤ near_zero` as near zero, with
    /// histograms of `bins` bins.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) if
    /// `near_zero` is negative or not finite, or `bins` is 0.
    pub fn weight_report_with(&self, near_zero: f64, bins: usize) -> Result<WeightReport> {
        check_settings("weight_report", near_zero, bins)?;
        Ok(self.report(near_zero, bins))
    }

    /// The report, for settings already checked.
    fn report(&self, near_zero: f64, bins: usize) -> WeightReport {
        let mut params = Vec::new();
        let mut layers = Vec::new();
        for (i, layer) in self.layers().iter().enumerate() {
            let ps = layer.params();
            if ps.is_empty() {
                continue;
            }
            for p in &ps {
                params.push(ParamStats {
                    name: format!("{i}.{}", p.name),
                    layer: i,
                    layer_kind: Cow::Borrowed(layer.kind()),
                    kind: p.kind,
                    shape: p.value.shape().to_vec(),
                    stats: TensorStats::of_values(
                        p.value.as_slice().iter().map(|v| v.as_f64()),
                        near_zero,
                        bins,
                    )
                    .expect("settings are checked by the caller"),
                });
            }
            let pooled = ps
                .iter()
                .flat_map(|p| p.value.as_slice().iter().map(|v| v.as_f64()));
            layers.push(LayerWeightStats {
                layer: i,
                layer_kind: Cow::Borrowed(layer.kind()),
                tensors: ps.len(),
                stats: TensorStats::of_values(pooled, near_zero, bins)
                    .expect("settings are checked by the caller"),
            });
        }
        WeightReport {
            params,
            layers,
            near_zero,
            bins,
        }
    }
}

/// Writes the numeric columns shared by both tables.
fn numbers(f: &mut fmt::Formatter<'_>, s: &TensorStats) -> fmt::Result {
    write!(
        f,
        " {:>10} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7}",
        sig(s.mean),
        sig(s.std),
        sig(s.min),
        sig(s.max),
        sig(s.l2),
        percent(s.zero_fraction),
        percent(s.near_zero_fraction)
    )?;
    if s.non_finite > 0 {
        write!(f, "  {} non-finite", s.non_finite)?;
    }
    writeln!(f)
}

/// ```text
/// param        layer      shape            mean        std        min        max       ‖·‖₂  % zero  % near
/// 0.weight     Dense      3×4           -0.1287     0.5907     -1.133      1.018      2.094    0.0%    0.0%
/// 0.bias       Dense      3                   0          0          0          0          0  100.0%  100.0%
/// …
/// layer        kind       tensors
/// 0            Dense      2             …
/// std is the population deviation (ddof 0); near zero means |w| ≤ 0.001
/// ```
impl fmt::Display for WeightReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.params.is_empty() {
            return writeln!(f, "the network has no parameters");
        }
        let head = |f: &mut fmt::Formatter<'_>, a: &str, b: &str, c: &str| {
            writeln!(
                f,
                "{a:<12} {b:<10} {c:<9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7} {:>7}",
                "mean", "std", "min", "max", "‖·‖₂", "% zero", "% near"
            )
        };
        head(f, "param", "layer", "shape")?;
        for p in &self.params {
            write!(
                f,
                "{:<12} {:<10} {:<9}",
                p.name,
                p.layer_kind,
                shape_str(&p.shape)
            )?;
            numbers(f, &p.stats)?;
        }
        writeln!(f)?;
        head(f, "layer", "kind", "tensors")?;
        for l in &self.layers {
            write!(f, "{:<12} {:<10} {:<9}", l.layer, l.layer_kind, l.tensors)?;
            numbers(f, &l.stats)?;
        }
        writeln!(
            f,
            "std is the population deviation (ddof 0); near zero means |w| ≤ {}",
            self.near_zero
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::dense::Dense;
    use crate::{Activation, Error, Tensor};

    /// 2 → 2 (weight [[1, −2], [0, 0.0005]], bias [0.5, 0]) → ReLU → 2 → 1
    /// (weight [[3, 4]], no bias).
    fn net<T: Scalar>() -> Network<T> {
        let mut net = Network::new(2).unwrap();
        let w0 = Tensor::from_rows(&[[1.0, -2.0], [0.0, 0.0005]])
            .unwrap()
            .cast();
        let b0 = Tensor::from_slice(&[0.5, 0.0]).cast();
        net.push(Box::new(Dense::from_weights(w0, Some(b0)).unwrap()))
            .unwrap();
        net.push(Box::new(Activation::relu())).unwrap();
        let w2 = Tensor::from_rows(&[[3.0, 4.0]]).unwrap().cast();
        net.push(Box::new(Dense::from_weights(w2, None).unwrap()))
            .unwrap();
        net
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;

                #[test]
                fn per_parameter_and_per_layer_by_hand() {
                    let r = net::<$t>().weight_report();
                    assert_eq!((r.near_zero, r.bins), (1e-3, 20));
                    let names: Vec<&str> = r.params.iter().map(|p| p.name.as_str()).collect();
                    assert_eq!(names, ["0.weight", "0.bias", "2.weight"]);
                    let w0 = r.param("0.weight").unwrap();
                    assert_eq!(
                        (w0.layer, &*w0.layer_kind, w0.kind),
                        (0, "Dense", ParamKind::Weight)
                    );
                    assert_eq!(w0.shape, vec![2, 2]);
                    // [1, −2, 0, 0.0005]: Σ = −0.9995, μ = −0.249875; L1 = 3.0005;
                    // one exact zero (25%), two within 1e-3 (50%).
                    assert!((w0.stats.mean + 0.249875).abs() < 1e-6);
                    assert!((w0.stats.l1 - 3.0005).abs() < 1e-6);
                    assert_eq!(
                        (w0.stats.zero_fraction, w0.stats.near_zero_fraction),
                        (0.25, 0.5)
                    );
                    // 2.weight = [3, 4]: μ = 3.5, std = 0.5, ‖·‖₂ = 5.
                    let w2 = r.param("2.weight").unwrap();
                    assert_eq!((w2.stats.mean, w2.stats.std, w2.stats.l2), (3.5, 0.5, 5.0));
                    assert!(r.param("1.weight").is_none());
                    // Layer 0 pools [1, −2, 0, 0.0005, 0.5, 0]: 2 zeros of 6, min −2, max 1.
                    assert_eq!(r.layers.len(), 2);
                    let l0 = &r.layers[0];
                    assert_eq!(
                        (l0.layer, &*l0.layer_kind, l0.tensors, l0.stats.count),
                        (0, "Dense", 2, 6)
                    );
                    assert!((l0.stats.zero_fraction - 2.0 / 6.0).abs() < 1e-12);
                    assert_eq!((l0.stats.min, l0.stats.max), (-2.0, 1.0));
                    assert_eq!((r.layers[1].layer, r.layers[1].tensors), (2, 1));
                }
            }
        };
    }
    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);

    #[test]
    fn settings_and_errors() {
        let n = net::<f64>();
        let r = n.weight_report_with(0.6, 4).unwrap();
        // |w| ≤ 0.6 in [1, −2, 0, 0.0005]: two of four.
        assert_eq!(r.param("0.weight").unwrap().stats.near_zero_fraction, 0.5);
        assert_eq!(r.param("0.weight").unwrap().stats.histogram.bins(), 4);
        let e = n.weight_report_with(-1.0, 4).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }));
        assert!(e.to_string().contains("weight_report"), "{e}");
        assert!(n.weight_report_with(f64::NAN, 4).is_err());
        assert!(n.weight_report_with(0.0, 0).is_err());
    }

    #[test]
    fn display_table_rows() {
        let text = net::<f64>().weight_report().to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("param        layer      shape"),
            "{text}"
        );
        assert!(lines[0].contains("‖·‖₂") && lines[0].contains("% near"));
        // 0.weight: mean −0.249875 → "-0.2499", std √(Σ(w−μ)²/4) = 1.0897 (by the
        // formula: deviations 1.249875, −1.750125, 0.249875, 0.250375).
        assert!(
            lines[1].starts_with("0.weight     Dense      2×2"),
            "{text}"
        );
        assert!(
            lines[1].contains("-0.2499")
                && lines[1].contains("25.0%")
                && lines[1].contains("50.0%")
        );
        assert!(lines[2].starts_with("0.bias       Dense      2 "), "{text}");
        assert!(
            lines[3].starts_with("2.weight     Dense      1×2"),
            "{text}"
        );
        assert!(
            lines[3].contains(" 3.5 ") && lines[3].contains(" 5 "),
            "{text}"
        );
        assert!(
            lines[5].starts_with("layer        kind       tensors"),
            "{text}"
        );
        assert!(lines[6].starts_with("0            Dense      2"), "{text}");
        assert!(lines[7].starts_with("2            Dense      1"), "{text}");
        assert!(text.contains("ddof 0") && text.contains("|w| ≤ 0.001"));
        let empty = Network::<f32>::new(3).unwrap();
        assert_eq!(
            empty.weight_report().to_string(),
            "the network has no parameters\n"
        );
    }
}
