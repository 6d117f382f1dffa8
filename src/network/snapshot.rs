//! Saving and restoring everything a call can change in a network, so that
//! a call that fails changes nothing.

use super::Network;
use crate::{Scalar, Tensor};

/// A copy of a network's state: every buffer (batch norm's running
/// statistics), the position of every layer's random stream (kept inside
/// the layer, see [`Layer::save_stream`](crate::Layer::save_stream)), and
/// the parameters, all of them ([`Network::save_into`]) or, for a training
/// step, the first few in the stable order, each saved just before the
/// update changes it ([`Network::save_state_into`], then
/// [`Snapshot::keep_param`]).
///
/// Reused across calls: after the first save of a network, saving again
/// allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Snapshot<T> {
    /// Every buffer, layer by layer.
    buffers: Vec<Tensor<T>>,
    /// The first `saved_params` parameters, in the stable order.
    params: Vec<Tensor<T>>,
    /// How many of `params` hold a saved value.
    saved_params: usize,
}

impl<T: Scalar> Snapshot<T> {
    /// Saves the value of the next parameter in the stable order (the first
    /// after [`Network::save_state_into`]): a copy, allocation-free once
    /// `self` has seen a network of this structure.
    pub(crate) fn keep_param(&mut self, value: &Tensor<T>) {
        let k = self.saved_params;
        if self.params.len() <= k {
            self.params.push(Tensor::default());
        }
        self.params[k].assign(value);
        self.saved_params = k + 1;
    }

    /// The saved value of parameter number `k` in the stable order, if it
    /// was saved.
    pub(crate) fn saved_param(&self, k: usize) -> Option<&Tensor<T>> {
        self.params[..self.saved_params].get(k)
    }
}

impl<T: Scalar> Network<T> {
    /// Copies the network's whole state into `snap`: parameters, buffers
    /// and random streams.
    pub(crate) fn save_into(&mut self, snap: &mut Snapshot<T>) {
        self.save_state_into(snap);
        for layer in self.layers.iter() {
            layer.visit_params(&mut |p| snap.keep_param(&p.value));
        }
    }

    /// Copies the buffers and the random streams into `snap`, and no
    /// parameter (a training step saves each with [`Snapshot::keep_param`]
    /// right before its update, since nothing earlier changes them).
    pub(crate) fn save_state_into(&mut self, snap: &mut Snapshot<T>) {
        let mut k = 0;
        let buffers = &mut snap.buffers;
        for layer in self.layers.iter_mut() {
            layer.visit_buffers(&mut |_, t| {
                if buffers.len() <= k {
                    buffers.push(Tensor::default());
                }
                buffers[k].assign(t);
                k += 1;
            });
            layer.save_stream();
        }
        buffers.truncate(k);
        snap.saved_params = 0;
    }

    /// Puts back the state `snap` saved (from this network, unchanged in
    /// structure since): the saved parameters, every buffer, every stream.
    pub(crate) fn restore_from(&mut self, snap: &Snapshot<T>) {
        let mut params = snap.params[..snap.saved_params].iter();
        let mut buffers = snap.buffers.iter();
        for layer in self.layers.iter_mut() {
            layer.visit_params_mut(&mut |p| {
                if let Some(s) = params.next() {
                    p.value.assign(s);
                }
            });
            layer.visit_buffers_mut(&mut |_, t| {
                if let Some(s) = buffers.next() {
                    t.assign(s);
                }
            });
            layer.restore_stream();
        }
    }
}
