//! [`Dropout`]: inverted dropout, PyTorch's `nn.Dropout(p)` (Srivastava et al. 2014).
//!
//! ```text
//! Train:  mᵢ ~ Bernoulli(1 − p),   y = x ⊙ m / (1 − p),   dx = dy ⊙ m / (1 − p)
//! Eval:   y = x,                                          dx = dy
//! ```
//!
//! Each element is zeroed with probability `p`; the survivors are scaled by
//! `1/(1 − p)` during training ("inverted" dropout), so `E[y] = x` and nothing
//! needs rescaling at inference. `p = 1` zeroes everything, as in PyTorch.
//! Keras' `Dropout(rate)` is the same computation with `rate = p`.

use rand::rngs::ChaCha12Rng;
use rand::{RngExt, SeedableRng};

use crate::layer::{Layer, LayerConfig, Mode, check_backward};
use crate::scalar::{Rule, checked_hyper};
use crate::{Result, Scalar, Tensor};

/// Inverted dropout with drop probability `p`, holding its own seeded random
/// number generator so the same seed gives the same sequence of masks.
///
/// The mask of the last training pass is kept (as `0` or `1/(1 − p)` per
/// element) for the backward pass and for inspection ([`Dropout::mask`]).
/// Works on tensors of any shape.
///
/// ```
/// use weightwise::layer::dropout::Dropout;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut drop = Dropout::<f64>::new(0.5, 42)?;
/// let x = Tensor::ones(&[4, 8])?;
/// // Training: each element is 0 or 1/(1 − 0.5) = 2.
/// let y = drop.forward(&x, Mode::Train)?;
/// assert!(y.as_slice().iter().all(|&v| v == 0.0 || v == 2.0));
/// // Inference: the identity.
/// assert_eq!(drop.forward(&x, Mode::Eval)?, &x);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Dropout<T> {
    p: f64,
    /// The mask stream: `StdRng`'s generator (ChaCha12) under its own name,
    /// which can report and set its position, so a clone can copy it and a
    /// failed call can rewind it.
    rng: ChaCha12Rng,
    /// The stream's position as [`Layer::save_stream`] last saw it.
    saved_pos: u128,
    frozen: bool,
    /// `0` where dropped, `1/(1 − p)` where kept; empty before the first training pass.
    mask: Tensor<T>,
    has_mask: bool,
    output: Tensor<T>,
    grad_input: Tensor<T>,
    /// The mode of the last forward pass, `None` before any.
    last_mode: Option<Mode>,
}

impl<T: Scalar> Clone for Dropout<T> {
    /// A copy whose mask stream continues from the same point, independently.
    fn clone(&self) -> Self {
        let mut rng = ChaCha12Rng::from_seed(self.rng.get_seed());
        rng.set_stream(self.rng.get_stream());
        rng.set_word_pos(self.rng.get_word_pos());
        Dropout {
            p: self.p,
            rng,
            saved_pos: self.saved_pos,
            frozen: self.frozen,
            mask: self.mask.clone(),
            has_mask: self.has_mask,
            output: self.output.clone(),
            grad_input: self.grad_input.clone(),
            last_mode: self.last_mode,
        }
    }
}

impl<T: Scalar> Dropout<T> {
    /// Dropout with drop probability `p`, its masks drawn from a
    /// [`StdRng`](rand::rngs::StdRng)-identical stream seeded with `seed`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) unless `0 ≤ p ≤ 1` (in `f64` and in `T`).
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        checked_hyper::<T>("dropout probability", p, Rule::Closed01)?;
        Ok(Dropout {
            p,
            rng: ChaCha12Rng::seed_from_u64(seed),
            saved_pos: 0,
            frozen: false,
            mask: Tensor::default(),
            has_mask: false,
            output: Tensor::default(),
            grad_input: Tensor::default(),
            last_mode: None,
        })
    }

    /// Rebuilds a layer from its model-file description `Dropout(p)`. The
    /// mask stream is seeded with 0 (a model file keeps no random state):
    /// training the loaded network is reproducible run to run.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a missing `p` or one outside [0, 1].
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        Ok(Box::new(Dropout::new(config.f64("p")?, 0)?))
    }

    /// The drop probability `p`.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Freezes (or unfreezes) the mask.
    ///
    /// While frozen, a training forward pass whose input has the shape of the
    /// kept mask reuses that mask instead of drawing a new one (an input of
    /// another shape, or the first pass, still draws one, which is then kept).
    ///
    /// Why: dropout makes the layer a *different* function at every call. A
    /// finite-difference gradient check evaluates the layer many times at
    /// nearby inputs and needs them all to be the same function, and when
    /// debugging a training step it helps to replay it with the same mask.
    /// Do not train with a frozen mask: it would drop the same units forever.
    pub fn freeze_mask(&mut self, frozen: bool) {
        self.frozen = frozen;
    }

    /// Whether the mask is frozen (see [`Dropout::freeze_mask`]).
    pub fn is_mask_frozen(&self) -> bool {
        self.frozen
    }

    /// The mask of the last training pass: `0` where an element was dropped,
    /// `1/(1 − p)` where it was kept; `None` before any training pass.
    pub fn mask(&self) -> Option<&Tensor<T>> {
        self.has_mask.then_some(&self.mask)
    }

    fn draw_mask(&mut self, shape: &[usize]) -> Result<()> {
        self.mask.resize_zeroed(shape)?;
        // p = 1 would make the scale infinite; every element is dropped then anyway.
        let keep = if self.p < 1.0 {
            T::from_f64(1.0 / (1.0 - self.p))
        } else {
            T::zero()
        };
        for m in self.mask.as_mut_slice() {
            // random() is uniform in [0, 1): dropped with probability exactly p.
            let u: f64 = self.rng.random();
            *m = if u < self.p { T::zero() } else { keep };
        }
        self.has_mask = true;
        Ok(())
    }
}

impl<T: Scalar> Layer<T> for Dropout<T> {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    /// The input's shape, whatever it is.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(input.to_vec())
    }

    /// The identity, as an Eval `forward`.
    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        out.assign(x);
        Ok(())
    }

    /// `Dropout(p)`.
    fn config(&self) -> Option<LayerConfig> {
        Some(LayerConfig::new("Dropout").with("p", self.p))
    }

    /// Train: `y = x ⊙ m/(1 − p)` with a fresh mask (unless frozen); Eval: `y = x`.
    fn forward(&mut self, x: &Tensor<T>, mode: Mode) -> Result<&Tensor<T>> {
        self.output.assign(x);
        if mode == Mode::Train {
            if !(self.frozen && self.has_mask && self.mask.shape() == x.shape()) {
                self.draw_mask(x.shape())?;
            }
            self.output.zip_apply(&self.mask, |v, m| v * m)?;
        }
        self.last_mode = Some(mode);
        Ok(&self.output)
    }

    /// Saves the mask stream's position.
    fn save_stream(&mut self) {
        self.saved_pos = self.rng.get_word_pos();
    }

    /// Rewinds (or advances) the mask stream to the position saved last.
    fn restore_stream(&mut self) {
        self.rng.set_word_pos(self.saved_pos);
    }

    /// After a training pass `dx = dy ⊙ m/(1 − p)`; after an inference pass `dx = dy`.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        check_backward("Dropout backward", self.last_mode.map(|_| &self.output), dy)?;
        self.grad_input.assign(dy);
        if self.last_mode == Some(Mode::Train) {
            self.grad_input.zip_apply(&self.mask, |g, m| g * m)?;
        }
        Ok(&self.grad_input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::gradcheck::GradCheck;

    #[test]
    fn stream_is_std_rngs_and_rewinds() {
        use rand::{Rng, rngs::StdRng};
        let mut a = ChaCha12Rng::seed_from_u64(7);
        let mut b = StdRng::seed_from_u64(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut d = Dropout::<f64>::new(0.5, 3).unwrap();
        let x = Tensor::ones(&[4, 5]).unwrap();
        d.save_stream();
        let first = d.forward(&x, Mode::Train).unwrap().clone();
        d.restore_stream();
        assert_eq!(d.forward(&x, Mode::Train).unwrap(), &first);
        assert_ne!(d.forward(&x, Mode::Train).unwrap(), &first);
    }

    macro_rules! dropout_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;

                /// Fraction of zeros and mean of `Dropout(p)` applied to a tensor of ones.
                fn stats(p: f64, n: usize, seed: u64) -> (f64, f64) {
                    let mut d = Dropout::<$t>::new(p, seed).unwrap();
                    let x = Tensor::<$t>::ones(&[n / 100, 100]).unwrap();
                    let y = d.forward(&x, Mode::Train).unwrap();
                    let dropped = y.as_slice().iter().filter(|&&v| v == 0.0).count();
                    // Summed in f64: an f32 running sum of 10⁵ terms would bias the mean.
                    let sum: f64 = y.as_slice().iter().map(|v| v.as_f64()).sum();
                    (dropped as f64 / n as f64, sum / n as f64)
                }

                #[test]
                fn mask_statistics_match_p() {
                    let n = 100_000;
                    for (i, p) in [0.1, 0.3, 0.5, 0.9].into_iter().enumerate() {
                        let (frac, mean) = stats(p, n, i as u64);
                        // The number dropped is Binomial(n, p): σ of the fraction is √(p(1−p)/n).
                        let sigma = (p * (1.0 - p) / n as f64).sqrt();
                        assert!((frac - p).abs() < 5.0 * sigma, "p={p}: dropped {frac}");
                        // The mean is (kept/n)/(1 − p): its σ is σ_fraction/(1 − p); E[mean] = 1.
                        assert!(
                            (mean - 1.0).abs() < 5.0 * sigma / (1.0 - p),
                            "p={p}: mean {mean}"
                        );
                    }
                }

                #[test]
                fn survivors_are_scaled_and_backward_uses_the_mask() {
                    let mut d = Dropout::<$t>::new(0.25, 9).unwrap();
                    let x =
                        Tensor::from_vec((1..=40).map(|i| i as $t).collect(), &[4, 10]).unwrap();
                    let y = d.forward(&x, Mode::Train).unwrap().clone();
                    let m = d.mask().unwrap().clone();
                    let keep = (1.0 / 0.75) as $t; // 1/(1 − p)
                    let mut dropped = 0;
                    for ((&xi, &yi), &mi) in x.as_slice().iter().zip(y.as_slice()).zip(m.as_slice())
                    {
                        if mi == 0.0 {
                            dropped += 1;
                            assert_eq!(yi, 0.0);
                        } else {
                            assert_eq!(mi, keep);
                            assert_eq!(yi, xi * keep);
                        }
                    }
                    assert!(dropped > 0 && dropped < 40, "{dropped}");
                    let dy = Tensor::full(&[4, 10], 3.0 as $t).unwrap();
                    // dx = dy ⊙ m/(1 − p): 3·4/3 = 4 where kept, 0 where dropped.
                    let dx = d.backward(&dy).unwrap();
                    for (&g, &mi) in dx.as_slice().iter().zip(m.as_slice()) {
                        assert_eq!(g, if mi == 0.0 { 0.0 } else { 3.0 * keep });
                    }
                }

                #[test]
                fn same_seed_same_masks() {
                    let x = Tensor::<$t>::ones(&[8, 16]).unwrap();
                    let run = |seed| {
                        let mut d = Dropout::<$t>::new(0.5, seed).unwrap();
                        let a = d.forward(&x, Mode::Train).unwrap().clone();
                        let b = d.forward(&x, Mode::Train).unwrap().clone();
                        (a, b)
                    };
                    let (a1, b1) = run(5);
                    assert_eq!((a1.clone(), b1.clone()), run(5));
                    // Successive passes draw new masks; another seed gives other masks.
                    assert_ne!(a1, b1);
                    assert_ne!(a1, run(6).0);
                }

                #[test]
                fn eval_is_the_identity() {
                    let mut d = Dropout::<$t>::new(0.9, 1).unwrap();
                    let x =
                        Tensor::from_vec(vec![1.0, -2.0, 3.5, 0.0, 7.0, -1.5], &[2, 3]).unwrap();
                    assert_eq!(d.forward(&x, Mode::Eval).unwrap(), &x);
                    assert!(d.mask().is_none());
                    let dy = x.scale(2.0);
                    assert_eq!(d.backward(&dy).unwrap(), &dy);
                    // Also after a training pass: Eval ignores the kept mask.
                    d.forward(&x, Mode::Train).unwrap();
                    assert_eq!(d.forward(&x, Mode::Eval).unwrap(), &x);
                    assert_eq!(d.backward(&dy).unwrap(), &dy);
                }

                #[test]
                fn p_zero_keeps_all_and_p_one_drops_all() {
                    let x = Tensor::from_vec(vec![1.0, -2.0, 3.0, 4.0], &[2, 2]).unwrap();
                    let mut keep = Dropout::<$t>::new(0.0, 3).unwrap();
                    assert_eq!(keep.forward(&x, Mode::Train).unwrap(), &x);
                    assert_eq!(keep.backward(&x).unwrap(), &x);
                    let mut drop = Dropout::<$t>::new(1.0, 3).unwrap();
                    assert_eq!(drop.p(), 1.0);
                    let zeros = Tensor::zeros(&[2, 2]).unwrap();
                    assert_eq!(drop.forward(&x, Mode::Train).unwrap(), &zeros);
                    assert_eq!(drop.backward(&x).unwrap(), &zeros);
                }

                #[test]
                fn frozen_mask_is_reused_for_the_same_shape() {
                    let mut d = Dropout::<$t>::new(0.5, 11).unwrap();
                    assert!(!d.is_mask_frozen());
                    d.freeze_mask(true);
                    assert!(d.is_mask_frozen());
                    let x = Tensor::<$t>::ones(&[6, 10]).unwrap();
                    let a = d.forward(&x, Mode::Train).unwrap().clone();
                    let b = d.forward(&x.scale(2.0), Mode::Train).unwrap().clone();
                    assert_eq!(b, a.scale(2.0));
                    // Another shape draws (and keeps) a new mask.
                    let small = Tensor::<$t>::ones(&[2, 10]).unwrap();
                    d.forward(&small, Mode::Train).unwrap();
                    assert_eq!(d.mask().unwrap().shape(), &[2, 10]);
                    d.freeze_mask(false);
                    let c = d.forward(&small, Mode::Train).unwrap().clone();
                    let e = d.forward(&small, Mode::Train).unwrap().clone();
                    assert_ne!(c, e);
                }

                #[test]
                fn errors() {
                    for p in [-0.1, 1.1, f64::NAN, f64::INFINITY] {
                        let err = Dropout::<$t>::new(p, 0).unwrap_err();
                        assert!(
                            matches!(
                                err,
                                Error::InvalidArgument {
                                    name: "dropout probability",
                                    ..
                                }
                            ),
                            "{err}"
                        );
                    }
                    let mut d = Dropout::<$t>::new(0.5, 0).unwrap();
                    let dy = Tensor::<$t>::ones(&[2, 2]).unwrap();
                    assert!(matches!(
                        d.backward(&dy),
                        Err(Error::InvalidState {
                            op: "Dropout backward",
                            ..
                        })
                    ));
                    d.forward(&dy, Mode::Train).unwrap();
                    let err = d.backward(&Tensor::ones(&[4]).unwrap()).unwrap_err();
                    assert!(
                        matches!(
                            err,
                            Error::ShapeMismatch {
                                op: "Dropout backward",
                                ..
                            }
                        ),
                        "{err}"
                    );
                }

                #[test]
                fn metadata_and_buffer_reuse() {
                    let mut d = Dropout::<$t>::new(0.2, 4).unwrap();
                    assert_eq!(d.kind(), "Dropout");
                    assert_eq!(d.num_params(), 0);
                    assert_eq!(d.output_shape(&[3, 5, 7]).unwrap(), vec![3, 5, 7]);
                    let x = Tensor::<$t>::ones(&[5, 7]).unwrap();
                    let y0 = d.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let m0 = d.mask().unwrap().as_slice().as_ptr();
                    let dx0 = d.backward(&x).unwrap().as_slice().as_ptr();
                    let y1 = d.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let m1 = d.mask().unwrap().as_slice().as_ptr();
                    let dx1 = d.backward(&x).unwrap().as_slice().as_ptr();
                    assert_eq!((y0, m0, dx0), (y1, m1, dx1));
                }
            }
        };
    }

    dropout_tests!(f32_tests, f32);
    dropout_tests!(f64_tests, f64);

    #[test]
    fn gradcheck_train_with_frozen_mask_and_eval() {
        let x = Tensor::from_rows(&[[0.3, -1.2, 0.8, 2.0], [-0.7, 0.1, 1.5, -0.4]]).unwrap();
        let mut d = Dropout::new(0.4, 21).unwrap();
        d.freeze_mask(true);
        let r = GradCheck::default().layer(&mut d, &x).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
        let m = d.mask().unwrap();
        assert!(m.as_slice().contains(&0.0) && m.as_slice().iter().any(|&v| v > 0.0));
        let eval = GradCheck {
            mode: Mode::Eval,
            ..GradCheck::default()
        };
        let r = eval.layer(&mut d, &x).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
    }

    #[test]
    fn works_on_nchw_feature_maps() {
        // Each element of a [n, c, h, w] map is dropped on its own (nn.Dropout, not Dropout2d).
        let x = Tensor::from_vec(
            (0..2 * 3 * 4 * 5)
                .map(|i| f64::from(i) * 0.1 - 3.0)
                .collect(),
            &[2, 3, 4, 5],
        )
        .unwrap();
        let mut d = Dropout::new(0.5, 4).unwrap();
        assert_eq!(d.output_shape(x.shape()).unwrap(), x.shape());
        let y = d.forward(&x, Mode::Train).unwrap().clone();
        assert_eq!(y.shape(), x.shape());
        let m = d.mask().unwrap().clone();
        assert_eq!(m.shape(), x.shape());
        assert_eq!(y, x.mul(&m).unwrap());
        let dx = d.backward(&Tensor::ones(x.shape()).unwrap()).unwrap();
        assert_eq!(dx, &m);
        d.freeze_mask(true);
        let r = GradCheck::default().layer(&mut d, &x).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
    }

    #[test]
    fn gradcheck_without_freezing_sees_a_different_function_each_call() {
        // Why freeze_mask exists: each perturbed forward draws a new mask, so the
        // finite differences measure the change of mask, not the derivative.
        let x = Tensor::from_rows(&[[0.3, -1.2, 0.8, 2.0], [-0.7, 0.1, 1.5, -0.4]]).unwrap();
        let mut d = Dropout::new(0.4, 21).unwrap();
        let r = GradCheck::default().layer(&mut d, &x).unwrap();
        assert!(r.max_rel_error > 0.1, "{r}");
    }
}
