//! Occlusion: which image regions matter, by covering them up.
//!
//! No gradients: a patch slides over each image, is filled with a constant,
//! and the drop of the explained output is credited to every pixel under the
//! patch (Zeiler and Fergus 2014; Captum's `Occlusion`). See
//! [`attribution`](super::attribution) for the gradient-based methods.

use super::attribution::{Target, batch_size, keeping_grads, target_outputs};
use crate::{Error, Network, Result, Scalar, Tensor};

/// Settings of [`occlusion`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Occlusion {
    /// How each sample's values are laid out, `[channels, height, width]`
    /// row-major (as a `[n, c, h, w]` batch). `None` reads it from the
    /// input, which must then be `[n, c, h, w]` or `[n, h, w]`; a batch of
    /// flat rows (`[n, 64]` for 8×8 digits) needs it given. Defaults to `None`.
    pub image: Option<[usize; 3]>,
    /// Patch `(height, width)`, covering all channels. Defaults to `(2, 2)`.
    pub patch: (usize, usize),
    /// Step between patches `(down, across)`. Defaults to `(1, 1)`.
    pub stride: (usize, usize),
    /// The value a covered pixel takes. Defaults to 0.
    pub fill: f64,
}

impl Default for Occlusion {
    fn default() -> Self {
        Occlusion {
            image: None,
            patch: (2, 2),
            stride: (1, 1),
            fill: 0.0,
        }
    }
}

/// Patch positions along a side of `len`: `0, s, 2s, …` while the patch
/// fits, i.e. `⌊(len − p)/s⌋ + 1` of them (Captum's count).
fn positions(len: usize, patch: usize, stride: usize) -> impl Iterator<Item = usize> {
    (0..=(len - patch)).step_by(stride)
}

impl Occlusion {
    fn checked<T: Scalar>(
        &self,
        op: &'static str,
        x_shape: &[usize],
        per: usize,
    ) -> Result<[usize; 3]> {
        let image = match (self.image, x_shape) {
            (Some(img), _) => img,
            (None, [_, c, h, w]) => [*c, *h, *w],
            (None, [_, h, w]) => [1, *h, *w],
            (None, _) => {
                return Err(Error::invalid_shape(
                    op,
                    x_shape,
                    "the input is not image-shaped ([n, c, h, w] or [n, h, w]); give Occlusion::image",
                ));
            }
        };
        let [c, h, w] = image;
        if c.checked_mul(h).and_then(|v| v.checked_mul(w)) != Some(per) {
            return Err(Error::shape_mismatch(
                op,
                x_shape,
                &image,
                "each sample must hold channels·height·width values",
            ));
        }
        let (ph, pw) = self.patch;
        let (sh, sw) = self.stride;
        if ph == 0 || pw == 0 || ph > h || pw > w {
            return Err(Error::invalid_arg(
                "occlusion patch",
                format!("{ph}×{pw}"),
                format!("must be at least 1×1 and fit in the {h}×{w} image"),
            ));
        }
        if sh == 0 || sw == 0 {
            return Err(Error::invalid_arg(
                "occlusion stride",
                format!("{sh}×{sw}"),
                "both steps must be ≥ 1",
            ));
        }
        if !T::from_f64(self.fill).as_f64().is_finite() {
            return Err(Error::invalid_arg(
                "occlusion fill",
                self.fill,
                "must be finite (in the network's scalar type)",
            ));
        }
        Ok(image)
    }
}

/// Occlusion attribution: for every patch position, the images are copied
/// with the patch (all channels) set to `fill`, and each pixel under the
/// patch is credited `f_k(x) − f_k(x with the patch filled)`; a pixel's
/// attribution is the mean over the patches that covered it (Captum's
/// `Occlusion`: the sum divided by the number of covering windows).
/// Positive values mark regions whose removal lowers the output.
///
/// Patches start at 0 and step by `stride` while they fit, so with a
/// stride that does not divide `side − patch`, the last rows or columns are
/// never covered; they get 0. One forward pass of the whole batch per patch
/// position, in inference mode.
///
/// ```
/// use weightwise::{Network, Tensor, layer::dense::Dense};
/// use weightwise::inspect::occlusion::{occlusion, Occlusion};
/// # fn main() -> weightwise::Result<()> {
/// // y = Σ wᵢxᵢ on a 2×2 image: a 1×1 patch filled with 0 removes wᵢxᵢ.
/// let mut net = Network::<f64>::new(4)?;
/// net.push(Box::new(Dense::from_weights(Tensor::from_rows(&[[1.0, -2.0, 3.0, 0.5]])?, None)?))?;
/// let x = Tensor::from_rows(&[[1.0, 1.0, 2.0, 4.0]])?;
/// let o = Occlusion { image: Some([1, 2, 2]), patch: (1, 1), ..Default::default() };
/// assert_eq!(occlusion(&mut net, &x, 0, &o)?.as_slice(), &[1.0, -2.0, 6.0, 2.0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// As for [`saliency`](super::attribution::saliency);
/// [`Error::InvalidShape`] if the image layout cannot be read from the
/// input; [`Error::ShapeMismatch`] if `image` does not hold each sample's
/// values; [`Error::InvalidArgument`] for a patch of zero size or larger
/// than the image, a zero stride, or a non-finite fill.
pub fn occlusion<'a, T: Scalar>(
    net: &mut Network<T>,
    x: &Tensor<T>,
    target: impl Into<Target<'a>>,
    settings: &Occlusion,
) -> Result<Tensor<T>> {
    const OP: &str = "occlusion";
    let n = batch_size(OP, x)?;
    let per = x.len() / n;
    let [c, h, w] = settings.checked::<T>(OP, x.shape(), per)?;
    if !x.all_finite() {
        return Err(Error::non_finite(format!("{OP}: the input")));
    }
    let targets = target.into().resolve(OP, n, net.outputs())?;
    let (ph, pw) = settings.patch;
    let (sh, sw) = settings.stride;
    let fill = T::from_f64(settings.fill);
    keeping_grads(net, |net| {
        let output = target_outputs(net, x, &targets)?;
        let mut sum = vec![0.0f64; h * w * n];
        let mut count = vec![0usize; h * w];
        let mut covered = x.clone();
        for top in positions(h, ph, sh) {
            for left in positions(w, pw, sw) {
                let cells =
                    || (top..top + ph).flat_map(move |r| (left..left + pw).map(move |q| r * w + q));
                covered.assign(x);
                let data = covered.as_mut_slice();
                for i in 0..n {
                    for ch in 0..c {
                        let at = i * per + ch * h * w;
                        for p in cells() {
                            data[at + p] = fill;
                        }
                    }
                }
                let occluded = target_outputs(net, &covered, &targets)?;
                for p in cells() {
                    count[p] += 1;
                    for i in 0..n {
                        sum[i * h * w + p] += output[i] - occluded[i];
                    }
                }
            }
        }
        let mut values = Vec::with_capacity(x.len());
        for i in 0..n {
            for _ in 0..c {
                for p in 0..h * w {
                    values.push(if count[p] == 0 {
                        T::zero()
                    } else {
                        T::from_f64(sum[i * h * w + p] / count[p] as f64)
                    });
                }
            }
        }
        Tensor::from_vec(values, x.shape())
    })
}
