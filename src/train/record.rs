//! Recording the weights during `fit`: [`Recording`] asks for it, a
//! [`Timeline`] in the [`History`](super::History) holds what was recorded.
//!
//! A snapshot is taken before the first epoch, after every `every`-th epoch
//! and after the last one. A run resumed at a later epoch
//! ([`Fit::initial_epoch`](super::Fit::initial_epoch)) takes none before its
//! first epoch: it continues an earlier run, whose last snapshot holds its
//! starting weights, and [`History::append`](super::History::append) joins
//! the two. It holds, per parameter, nine quantiles and a
//! fixed-bin histogram of the values, the gradient norm and update-to-weight
//! ratio of the snapshot epoch's last step, and, per activation
//! layer, the dead and saturated fractions of its outputs on a fixed probe
//! batch in inference mode.
//!
//! Recording is off by default and costs nothing then. When on, a step
//! allocates nothing: the last step of a snapshot epoch measures two norms
//! per parameter into buffers kept by the step, and only the snapshot itself
//! allocates (its summaries; a forward pass of the probe). A snapshot costs a
//! few passes over each parameter (a copy, selection of the quantiles'
//! order statistics without a sort, the histogram) and the probe's forward
//! pass. Memory is
//! bounded: past [`Recording::max_snapshots`] every other snapshot is dropped
//! and the interval doubles, as TensorBoard's reservoir keeps a run readable.

use super::history::GradientRecord;
use super::summary::Summarizer;
use crate::inspect::InitAudit;
use crate::layer::activation::ActivationKind;
use crate::{Error, Network, Result, Scalar, Tensor};

/// The quantiles a snapshot keeps, as fractions: 0, 2, 9, 25, 50, 75, 91, 98
/// and 100 % (TensorBoard's distribution bands: about ±0, 1, 1.5, 2 σ of a
/// normal, and the extremes).
pub const QUANTILES: [f64; 9] = [0.0, 0.02, 0.09, 0.25, 0.5, 0.75, 0.91, 0.98, 1.0];

/// The most histogram bins a [`Recording`] may ask for.
const MAX_BINS: usize = 1 << 16;

/// What to record during [`Network::fit`](crate::Network::fit), set in
/// [`Fit::recording`](super::Fit::recording).
///
/// ```
/// use weightwise::{Tensor, train::Recording};
/// # fn main() -> weightwise::Result<()> {
/// let probe = Tensor::<f32>::zeros(&[16, 4])?;
/// let r = Recording::every(5).with_probe(probe);
/// assert_eq!((r.every, r.bins, r.max_snapshots), (5, 40, 200));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Recording<T> {
    /// A snapshot after every `every`-th epoch (and before the first and
    /// after the last). At least 1.
    pub every: usize,
    /// Histogram bins per parameter per snapshot, 1 to 65,536; defaults to 40.
    pub bins: usize,
    /// At most this many snapshots are kept (at least 2; defaults to 200):
    /// beyond it every other one is dropped and `every` doubles.
    pub max_snapshots: usize,
    /// A fixed batch `[n, input shape…]` (`[n, inputs]` for a dense
    /// network, `[n, c, h, w]` for images) sent through the network at each snapshot
    /// (in inference mode) to measure dead and saturated activations, and
    /// through [`Network::audit_init`] before training. None: no activation
    /// measures and no audit.
    pub probe: Option<Tensor<T>>,
}

impl<T: Scalar> Recording<T> {
    /// A snapshot every `every` epochs, 40 bins, at most 200 snapshots, no probe.
    pub fn every(every: usize) -> Self {
        Recording {
            every,
            bins: 40,
            max_snapshots: 200,
            probe: None,
        }
    }

    /// The same recording with a probe batch for the activation measures.
    pub fn with_probe(mut self, probe: Tensor<T>) -> Self {
        self.probe = Some(probe);
        self
    }

    /// Checks the settings and the probe's shape against the network.
    pub(crate) fn validate(&self, net: &Network<T>) -> Result<()> {
        if self.every == 0 {
            return Err(Error::invalid_arg("recording every", 0, "must be ≥ 1"));
        }
        if !(1..=MAX_BINS).contains(&self.bins) {
            return Err(Error::invalid_arg(
                "recording bins",
                self.bins,
                "must be in 1..=65536",
            ));
        }
        if self.max_snapshots < 2 {
            return Err(Error::invalid_arg(
                "recording max_snapshots",
                self.max_snapshots,
                "must be ≥ 2",
            ));
        }
        if let Some(p) = &self.probe
            && !(p.shape().first().is_some_and(|&n| n > 0)
                && p.shape().get(1..) == Some(net.input_shape()))
        {
            return Err(Error::shape_mismatch(
                "fit (recording probe)",
                p.shape(),
                net.input_shape(),
                "the probe must be [n ≥ 1, the network's input shape…]",
            ));
        }
        Ok(())
    }
}

/// A parameter's values at one snapshot.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ParamSnapshot {
    /// The values at [`QUANTILES`] (linear interpolation between order
    /// statistics, as `numpy.quantile`'s default), over finite values only.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::array"))]
    pub quantiles: [f64; 9],
    /// Lower and upper edge of the histogram: the finite minimum and maximum.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::pair"))]
    pub range: (f64, f64),
    /// Counts in equal-width bins over `range` (the maximum in the last bin).
    pub counts: Vec<u32>,
    /// `‖∂L/∂w‖₂` (after clipping and the regularizer's gradient) at the
    /// snapshot epoch's last step, or its mean over the epoch's steps when
    /// [`Fit::record_gradients`](super::Fit::record_gradients) is set; None
    /// before training and for a snapshot that early stopping forced.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub grad_norm: Option<f64>,
    /// `‖Δw‖₂ / ‖w‖₂`, measured as `grad_norm` is.
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub update_ratio: Option<f64>,
}

/// An activation layer's outputs on the probe at one snapshot.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ActivationSnapshot {
    /// Index of the layer in the network.
    pub layer: usize,
    /// Its function.
    pub activation: ActivationKind,
    /// Fraction of units zero for every probe sample (ReLU-like layers): a
    /// unit is a column of an `[n, units]` output, a channel of a feature map
    /// (zero at every position).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub dead_units: Option<f64>,
    /// Fraction of outputs on a flat tail (sigmoid, tanh).
    #[cfg_attr(feature = "serde", serde(with = "crate::serde_float::option"))]
    pub saturated: Option<f64>,
}

/// The state of the network at one point of the run.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Snapshot {
    /// Epochs completed when it was taken: 0 is before training, so it lines
    /// up with the training curves, which number epochs from 1.
    pub epoch: usize,
    /// One entry per parameter, in the order of [`Timeline::params`].
    pub params: Vec<ParamSnapshot>,
    /// One entry per activation layer (empty without a probe).
    pub activations: Vec<ActivationSnapshot>,
}

/// Everything [`Recording`] recorded, in [`History::timeline`](super::History::timeline).
#[derive(Clone, Debug, PartialEq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Timeline {
    /// Full parameter names (`"0.weight"`), the order of every snapshot's `params`.
    pub params: Vec<String>,
    /// The snapshots, oldest first.
    pub snapshots: Vec<Snapshot>,
    /// The interval in the end (larger than asked when snapshots were thinned).
    pub every: usize,
    /// The probe's [`InitAudit`] before the first step, when training
    /// started at epoch 0 with a probe.
    pub init_audit: Option<InitAudit>,
}

impl Timeline {
    /// Appends the snapshots of `later` taken after this timeline's last
    /// (see [`History::append`](super::History::append), which checks that
    /// both record the same parameters).
    pub(crate) fn append(&mut self, later: Timeline) {
        let last = self.snapshots.last().map(|s| s.epoch);
        self.snapshots.extend(
            later
                .snapshots
                .into_iter()
                .filter(|s| last.is_none_or(|l| s.epoch > l)),
        );
        self.every = self.every.max(later.every);
        if self.init_audit.is_none() {
            self.init_audit = later.init_audit;
        }
    }
}

/// The recorder `fit` drives: no work unless recording is on.
pub(crate) struct Recorder<'r, T> {
    settings: &'r Recording<T>,
    timeline: Timeline,
    /// Buffers for the parameters' summaries.
    summarizer: Summarizer,
    last: Option<usize>,
}

impl<'r, T: Scalar> Recorder<'r, T> {
    /// Starts recording (at epoch 0, audit and snapshot of the initial
    /// state), or `None`.
    pub(crate) fn start(
        settings: Option<&'r Recording<T>>,
        net: &mut Network<T>,
        initial_epoch: usize,
    ) -> Result<Option<Self>> {
        let Some(settings) = settings else {
            return Ok(None);
        };
        let mut r = Recorder {
            settings,
            timeline: Timeline {
                params: net.named_params().into_iter().map(|(n, _)| n).collect(),
                every: settings.every,
                ..Default::default()
            },
            summarizer: Summarizer::default(),
            last: None,
        };
        // A run resumed at a later epoch continues an earlier one, whose
        // last snapshot holds these weights.
        if initial_epoch == 0 {
            if let Some(p) = &settings.probe {
                r.timeline.init_audit = Some(net.audit_init(p)?);
            }
            r.snapshot(net, 0, &[])?;
        }
        Ok(Some(r))
    }

    /// Whether epoch `epoch` (counted from 0) ends in a snapshot, so its
    /// steps should sum gradient norms and update ratios.
    pub(crate) fn wants(&self, epoch: usize, last_epoch: usize) -> bool {
        (epoch + 1).is_multiple_of(self.timeline.every) || epoch == last_epoch
    }

    /// After epoch `epoch`: a snapshot if it [`wants`](Self::wants) one.
    pub(crate) fn after_epoch(
        &mut self,
        net: &mut Network<T>,
        epoch: usize,
        last_epoch: usize,
        gradients: &[GradientRecord],
    ) -> Result<()> {
        if self.wants(epoch, last_epoch) {
            self.snapshot(net, epoch + 1, gradients)?;
        }
        Ok(())
    }

    /// Ends recording after `epochs_done` epochs (early stopping may end
    /// before a planned snapshot: the weights are then taken without gradients).
    pub(crate) fn finish(mut self, net: &mut Network<T>, epochs_done: usize) -> Result<Timeline> {
        if self.last != Some(epochs_done) {
            self.snapshot(net, epochs_done, &[])?;
        }
        Ok(self.timeline)
    }

    fn snapshot(
        &mut self,
        net: &mut Network<T>,
        epoch: usize,
        gradients: &[GradientRecord],
    ) -> Result<()> {
        let bins = self.settings.bins;
        let mut params = Vec::with_capacity(self.timeline.params.len());
        let summarizer = &mut self.summarizer;
        net.visit_params(&mut |_, p| {
            let k = params.len();
            let g = gradients.get(k);
            params.push(summarizer.summarize(
                &p.value,
                bins,
                g.map(|g| g.grad_norm),
                g.map(|g| g.update_ratio),
            ));
        });
        let activations = match &self.settings.probe {
            Some(probe) => probe_activations(net, probe)?,
            None => Vec::new(),
        };
        let snaps = &mut self.timeline.snapshots;
        snaps.push(Snapshot {
            epoch,
            params,
            activations,
        });
        self.last = Some(epoch);
        if snaps.len() > self.settings.max_snapshots {
            // Keep the first and every other one after it, and the newest.
            let newest = snaps.pop();
            let mut i = 0;
            snaps.retain(|_| {
                i += 1;
                i % 2 == 1
            });
            snaps.extend(newest);
            self.timeline.every *= 2;
        }
        Ok(())
    }
}

/// The probe sent through the layers in inference mode, measuring each
/// activation layer that can die or saturate on its output in place (the
/// same definitions as [`ActivationReport`](crate::inspect::ActivationReport),
/// without its copies and histograms).
fn probe_activations<T: Scalar>(
    net: &Network<T>,
    probe: &Tensor<T>,
) -> Result<Vec<ActivationSnapshot>> {
    let mut out = Vec::new();
    // Inference through `&self` (no layer cache is touched), ping-ponging
    // between two tensors.
    let (mut a, mut y) = (probe.clone(), Tensor::default());
    for (i, layer) in net.layers().iter().enumerate() {
        layer.infer(&a, &mut y)?;
        std::mem::swap(&mut a, &mut y);
        let y = &a;
        let Some(kind) = layer.activation() else {
            continue;
        };
        let (can_die, can_saturate) = (kind.is_dead(0.0f64), kind.is_saturated(1.0f64));
        let v = y.as_slice();
        // A unit is a column of a [n, units] output, a channel of an
        // [n, c, …] feature map (every sample and every position).
        let dead_units = match *y.shape() {
            [n, units, ref rest @ ..] if can_die && n > 0 => {
                let inner: usize = rest.iter().product();
                let dead = (0..units)
                    .filter(|&j| {
                        (0..n).all(|i| {
                            let start = (i * units + j) * inner;
                            v[start..start + inner].iter().all(|&x| kind.is_dead(x))
                        })
                    })
                    .count();
                Some(dead as f64 / units.max(1) as f64)
            }
            _ => None,
        };
        let saturated = can_saturate.then(|| {
            v.iter().filter(|&&x| kind.is_saturated(x)).count() as f64 / v.len().max(1) as f64
        });
        if dead_units.is_some() || saturated.is_some() {
            out.push(ActivationSnapshot {
                layer: i,
                activation: kind,
                dead_units,
                saturated,
            });
        }
    }
    Ok(out)
}
