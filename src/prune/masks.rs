//! Where masks live: in the network, beside the parameters they hold at
//! zero, and how they are applied.

use crate::{Error, Network, Result, Scalar, Tensor};

/// The pruning masks of a network: for each pruned parameter, a tensor of
/// its shape holding 1 (kept) or 0 (pruned). PyTorch keeps the same tensor
/// as the buffer `weight_mask` beside `weight_orig`.
#[derive(Clone, Debug, PartialEq)]
pub struct Masks<T> {
    /// `(layer index, parameter name, mask)`, in the order they were set.
    entries: Vec<(usize, &'static str, Tensor<T>)>,
}

impl<T> Default for Masks<T> {
    fn default() -> Self {
        Masks {
            entries: Vec::new(),
        }
    }
}

impl<T: Scalar> Masks<T> {
    /// Whether no parameter is masked.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn get(&self, layer: usize, name: &str) -> Option<&Tensor<T>> {
        self.entries
            .iter()
            .find(|(l, n, _)| *l == layer && *n == name)
            .map(|(_, _, m)| m)
    }

    pub(crate) fn set(&mut self, layer: usize, name: &'static str, mask: Tensor<T>) {
        match self
            .entries
            .iter_mut()
            .find(|(l, n, _)| *l == layer && *n == name)
        {
            Some(e) => e.2 = mask,
            None => self.entries.push((layer, name, mask)),
        }
    }

    pub(crate) fn remove(&mut self, layer: usize, name: &str) -> bool {
        let before = self.entries.len();
        self.entries
            .retain(|(l, n, _)| !(*l == layer && *n == name));
        before != self.entries.len()
    }
}

/// Sets `values[j] = 0` wherever `mask[j] == 0`. (Assigning, not
/// multiplying: a pruned entry becomes `+0` even if it held `−w`, NaN or ∞.)
fn zero_where_masked<T: Scalar>(values: &mut [T], mask: &Tensor<T>) {
    for (v, m) in values.iter_mut().zip(mask.as_slice()) {
        if *m == T::zero() {
            *v = T::zero();
        }
    }
}

/// Splits `"2.weight"` into `(2, "weight")`.
pub(crate) fn split_name(name: &str) -> Option<(usize, &str)> {
    let (i, local) = name.split_once('.')?;
    Some((i.parse().ok()?, local))
}

impl<T: Scalar> Network<T> {
    /// The pruning mask of parameter `name` (`"0.weight"`), if it is pruned:
    /// 1 where a weight is kept, 0 where it is held at zero. See [`crate::prune`].
    pub fn mask(&self, name: &str) -> Option<&Tensor<T>> {
        let (layer, local) = split_name(name)?;
        self.masks.get(layer, local)
    }

    /// Every mask with its parameter's full name, in the network's parameter order.
    pub fn named_masks(&self) -> Vec<(String, &Tensor<T>)> {
        let mut out = Vec::new();
        self.visit_params(&mut |i, p| {
            if let Some(m) = self.masks.get(i, p.name) {
                out.push((format!("{i}.{}", p.name), m));
            }
        });
        out
    }

    /// Zeroes every pruned weight (`w ← 0` where the mask is 0). Training
    /// with [`Network::fit`] and `train_on_batch` does this after every
    /// update; call it after an optimizer step in a loop of your own.
    pub fn apply_masks(&mut self) {
        if self.masks.is_empty() {
            return;
        }
        let masks = std::mem::take(&mut self.masks);
        self.visit_params_mut(&mut |i, p| {
            if let Some(m) = masks.get(i, p.name) {
                zero_where_masked(p.value.as_mut_slice(), m);
            }
        });
        self.masks = masks;
    }

    /// Zeroes the gradient of every pruned weight, so clipping, the
    /// optimizer's moments and the update see only the live weights (as the
    /// gradient of PyTorch's `weight_orig` through `weight = weight_orig ·
    /// mask` is zero there). Training does this right after the backward pass.
    pub fn mask_gradients(&mut self) {
        if self.masks.is_empty() {
            return;
        }
        let masks = std::mem::take(&mut self.masks);
        self.visit_params_mut(&mut |i, p| {
            if let Some(m) = masks.get(i, p.name) {
                zero_where_masked(p.grad.as_mut_slice(), m);
            }
        });
        self.masks = masks;
    }

    /// The layer index, local name and shape of parameter `name`.
    pub(crate) fn find_param(
        &self,
        op: &'static str,
        name: &str,
    ) -> Result<(usize, &'static str, Vec<usize>)> {
        let mut found = None;
        let mut known = Vec::new();
        self.visit_params(&mut |i, p| {
            let full = format!("{i}.{}", p.name);
            if full == name {
                found = Some((i, p.name, p.value.shape().to_vec()));
            }
            known.push(full);
        });
        found.ok_or_else(|| {
            Error::invalid_arg(
                "parameter name",
                format!("'{name}'"),
                format!("{op}: the network has {}", known.join(", ")),
            )
        })
    }

    /// Replaces the mask of the parameter at `(layer, name)` and zeroes the
    /// weights it prunes.
    pub(crate) fn put_mask(&mut self, layer: usize, name: &'static str, mask: Tensor<T>) {
        self.masks.set(layer, name, mask);
        self.apply_masks();
    }

    /// Drops the mask of `(layer, name)`; the weights stay as they are.
    pub(crate) fn drop_mask(&mut self, layer: usize, name: &str) -> bool {
        self.masks.remove(layer, name)
    }

    pub(crate) fn masks_ref(&self) -> &Masks<T> {
        &self.masks
    }

    pub(crate) fn replace_masks(&mut self, masks: Masks<T>) -> Masks<T> {
        std::mem::replace(&mut self.masks, masks)
    }
}
