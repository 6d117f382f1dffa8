//! Saving and restoring everything a call can change in a network, so that
//! a call that fails changes nothing.

use super::Network;
use crate::{Scalar, Tensor};

/// A copy of a network's state: every parameter and buffer (batch norm's
/// running statistics), and the position of every layer's random stream
/// (kept inside the layer, see [`Layer::save_stream`](crate::Layer::save_stream)).
///
/// Reused across calls: after the first save of a network, saving again
/// allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Snapshot<T> {
    tensors: Vec<Tensor<T>>,
}

impl<T: Scalar> Network<T> {
    /// Copies the network's state into `snap`.
    pub(crate) fn save_into(&mut self, snap: &mut Snapshot<T>) {
        let mut k = 0;
        let tensors = &mut snap.tensors;
        let mut keep = |t: &Tensor<T>| {
            if tensors.len() <= k {
                tensors.push(Tensor::default());
            }
            tensors[k].assign(t);
            k += 1;
        };
        for layer in self.layers.iter_mut() {
            layer.visit_params(&mut |p| keep(&p.value));
            layer.visit_buffers(&mut |_, t| keep(t));
            layer.save_stream();
        }
        tensors.truncate(k);
    }

    /// Puts back the state `snap` saved (from this network, unchanged in
    /// structure since).
    pub(crate) fn restore_from(&mut self, snap: &Snapshot<T>) {
        let mut saved = snap.tensors.iter();
        let mut put = |t: &mut Tensor<T>| {
            if let Some(s) = saved.next() {
                t.assign(s);
            }
        };
        for layer in self.layers.iter_mut() {
            layer.visit_params_mut(&mut |p| put(&mut p.value));
            layer.visit_buffers_mut(&mut |_, t| put(t));
            layer.restore_stream();
        }
    }
}
