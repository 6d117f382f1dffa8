//! Losses: how wrong a prediction is, and which way to move.
//!
//! A [`LossFn`] returns the loss, a mean, and writes its gradient with
//! respect to the prediction into a buffer the caller keeps. [`Loss`] is the
//! set of standard losses; every one follows PyTorch's formula and its default
//! reduction (`reduction='mean'`):
//!
//! | loss | per element / row | PyTorch | Keras (same number) |
//! |---|---|---|---|
//! | [`Loss::mse`] | `(ŷ − y)²` | `MSELoss()` | `MeanSquaredError` |
//! | [`Loss::mae`] | `\|ŷ − y\|` | `L1Loss()` | `MeanAbsoluteError` |
//! | [`Loss::huber`] | `½d²` if `\|d\| < δ`, else `δ(\|d\| − ½δ)` | `HuberLoss(delta)` | `Huber(delta)` |
//! | [`Loss::binary_cross_entropy`] | `max(x,0) − x·y + log(1 + e^−\|x\|)` on logits | `BCEWithLogitsLoss()` | `BinaryCrossentropy(from_logits=True)` |
//! | [`Loss::softmax_cross_entropy`] | `−Σ_c y_c·log softmax(x)_c` per row, on logits | `CrossEntropyLoss()` | `(Sparse)CategoricalCrossentropy(from_logits=True)` |
//! | [`Loss::hinge`] | `max(0, 1 − y·ŷ)`, `y ∈ {−1, +1}` | none (`clamp(1 − y·ŷ, min=0).mean()`) | `Hinge` |
//!
//! The element-wise losses average over **all** elements of the prediction;
//! softmax cross-entropy averages over the rows (samples) of a 2-D batch.
//!
//! Both classification heads take **logits** (raw scores): the sigmoid or
//! softmax is fused into the loss, which is numerically stable for any
//! finite logit and has the simple gradient `(σ(x) − y)/N` or
//! `(softmax(x) − y)/n`. Put no sigmoid or softmax layer in front of them.
//!
//! ## Non-finite predictions
//! A NaN or infinite prediction is not an error here: the loss simply comes
//! out non-finite (as in PyTorch), and the training loop, which checks every
//! loss, reports where it happened. Targets, on the other hand, are data and
//! are validated: a target that is not a valid label is an error naming its
//! position and value.
//!
//! ```
//! use weightwise::{loss::Loss, LossFn, Tensor};
//! # fn main() -> weightwise::Result<()> {
//! // Two samples, two classes; logits [0, 0] with class 1 cost ln 2 each.
//! let logits = Tensor::from_rows(&[[0.0, 0.0], [0.0, 0.0]])?;
//! let classes = Tensor::from_slice(&[1.0, 0.0]);
//! let mut grad = Tensor::default();
//! let l = Loss::softmax_cross_entropy().loss_and_grad(&logits, &classes, &mut grad)?;
//! assert!((l - 2f64.ln()).abs() < 1e-12);
//! // ∂l/∂x = (softmax(x) − onehot(y)) / n = ([½, ½] − [0, 1]) / 2 for row 0.
//! assert_eq!(grad.row(0)?, &[0.25, -0.25]);
//! assert_eq!(Loss::softmax_cross_entropy().name(), "softmax_cross_entropy");
//! # Ok(()) }
//! ```

mod binary;
mod regression;
mod softmax_ce;

pub use softmax_ce::{class_index, class_indices, class_indices_into};

use crate::{Error, Result, Scalar, Tensor};

/// A loss function with its hand-written gradient.
pub trait LossFn<T: Scalar>: std::fmt::Debug {
    /// The loss, and `∂loss/∂pred` written into `grad` (which is resized, its
    /// memory reused).
    ///
    /// When an error is returned, `grad`'s contents are unspecified.
    ///
    /// # Errors
    /// A shape error when `target` does not fit `pred`, an invalid argument
    /// for bad targets (a class index out of range), an empty batch.
    fn loss_and_grad(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        grad: &mut Tensor<T>,
    ) -> Result<T>;

    /// The loss alone.
    ///
    /// # Errors
    /// As for [`LossFn::loss_and_grad`].
    fn loss(&self, pred: &Tensor<T>, target: &Tensor<T>) -> Result<T> {
        let mut grad = Tensor::default();
        self.loss_and_grad(pred, target, &mut grad)
    }

    /// A short name for logs and histories, e.g. `"mse"`. Defaults to the
    /// implementing type's name; [`Loss`] returns [`Loss::name`].
    fn name(&self) -> &'static str {
        std::any::type_name::<Self>()
    }
}

/// The standard losses. Each implements [`LossFn<T>`] for `f32` and `f64`.
///
/// Construct them with the lower-case functions ([`Loss::mse`], …), whose docs
/// give the formula, the reduction and the PyTorch/Keras equivalent.
/// Constructing a loss never fails; a parameter (Huber's `δ`) is checked when
/// the loss is computed, like [`Init`](crate::Init)'s.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Mean squared error; see [`Loss::mse`].
    Mse,
    /// Mean absolute error; see [`Loss::mae`].
    Mae,
    /// Huber loss; see [`Loss::huber`].
    Huber {
        /// Where the quadratic part turns linear; must be positive and finite.
        delta: f64,
    },
    /// Binary cross-entropy on logits; see [`Loss::binary_cross_entropy`].
    BinaryCrossEntropy,
    /// Softmax cross-entropy on logits; see [`Loss::softmax_cross_entropy`].
    SoftmaxCrossEntropy,
    /// Hinge loss; see [`Loss::hinge`].
    Hinge,
}

impl Loss {
    /// Mean squared error, for regression:
    ///
    /// ```text
    /// loss = (1/N) Σ_i (ŷ_i − y_i)²        ∂loss/∂ŷ_i = 2(ŷ_i − y_i)/N
    /// ```
    ///
    /// `N` is the number of elements of the prediction (all of them, not the
    /// batch size). PyTorch `nn.MSELoss()` (`reduction='mean'`); Keras'
    /// `MeanSquaredError` (mean over the last axis, then over the batch) gives
    /// the same number. `pred` and `target` must have the same shape.
    ///
    /// ```
    /// use weightwise::{loss::Loss, LossFn, Tensor};
    /// let pred = Tensor::from_slice(&[1.0, 3.0]);
    /// let target = Tensor::from_slice(&[0.0, 0.0]);
    /// // (1² + 3²) / 2 = 5
    /// assert_eq!(Loss::mse().loss(&pred, &target).unwrap(), 5.0);
    /// ```
    pub fn mse() -> Loss {
        Loss::Mse
    }

    /// Mean absolute error (L1), for regression robust to outliers:
    ///
    /// ```text
    /// loss = (1/N) Σ_i |ŷ_i − y_i|         ∂loss/∂ŷ_i = sign(ŷ_i − y_i)/N
    /// ```
    ///
    /// with `sign(0) = 0`, as PyTorch. Mean over all `N` elements. PyTorch
    /// `nn.L1Loss()`; Keras `MeanAbsoluteError` gives the same number.
    pub fn mae() -> Loss {
        Loss::Mae
    }

    /// Huber loss, quadratic near zero and linear beyond `delta`; with
    /// `d = ŷ − y`:
    ///
    /// ```text
    /// ℓ(d) = ½d²             if |d| < δ      ∂ℓ/∂d = d
    ///      = δ(|d| − ½δ)     otherwise       ∂ℓ/∂d = δ·sign(d)
    /// loss = (1/N) Σ_i ℓ(d_i)
    /// ```
    ///
    /// Mean over all `N` elements. PyTorch `nn.HuberLoss(delta=δ)` (its
    /// default is `δ = 1`); Keras `Huber(delta=δ)` gives the same number.
    /// PyTorch's `SmoothL1Loss(beta)` is this loss divided by `beta`.
    ///
    /// `delta` must be positive and finite (also once rounded to the loss's
    /// float type). The constructor does not check it: computing the loss
    /// returns [`Error::InvalidArgument`] for a bad `delta`.
    pub fn huber(delta: f64) -> Loss {
        Loss::Huber { delta }
    }

    /// Binary cross-entropy on logits, for binary and multi-label
    /// classification; `x` is a logit (no sigmoid before the loss), `y ∈ [0, 1]`:
    ///
    /// ```text
    /// ℓ(x, y) = −[y·log σ(x) + (1 − y)·log(1 − σ(x))]
    ///         = max(x, 0) − x·y + log(1 + e^(−|x|))     (the stable form used)
    /// loss = (1/N) Σ_i ℓ(x_i, y_i)                    ∂loss/∂x_i = (σ(x_i) − y_i)/N
    /// ```
    ///
    /// Mean over all `N` elements; `pred` and `target` have the same shape
    /// (e.g. `[n, 1]` or `[n, labels]`). PyTorch `nn.BCEWithLogitsLoss()`
    /// (without `pos_weight`); Keras `BinaryCrossentropy(from_logits=True)`
    /// gives the same number. Keras' default `from_logits=False` takes
    /// probabilities and clips them to `[1e−7, 1 − 1e−7]`, which differs.
    ///
    /// Soft targets (any value in `[0, 1]`) are allowed; a target outside
    /// `[0, 1]` or NaN is an [`Error::InvalidArgument`] naming its position.
    pub fn binary_cross_entropy() -> Loss {
        Loss::BinaryCrossEntropy
    }

    /// Softmax cross-entropy on logits, the usual multi-class head; `pred`
    /// is a batch of logits `[n, C]` (no softmax layer before the loss):
    ///
    /// ```text
    /// log softmax(x)_c = x_c − logsumexp(x),   logsumexp(x) = m + log Σ_c e^(x_c − m),  m = max_c x_c
    /// loss = (1/n) Σ_rows −Σ_c y_c · log softmax(x)_c
    /// ∂loss/∂x_c = (softmax(x)_c · Σ_k y_k − y_c) / n     = (softmax(x)_c − y_c)/n for a proper target
    /// ```
    ///
    /// The target is either
    /// - **class indices**: a 1-D tensor `[n]` of integral values in `0..C`
    ///   (then `y` is one-hot and a row's loss is `logsumexp(x) − x_class`), or
    /// - **probabilities** (one-hot or soft labels): a tensor `[n, C]` whose
    ///   entries lie in `[0, 1]` and whose rows sum to 1 within `1e−4`.
    ///
    /// Mean over the `n` rows. PyTorch `nn.CrossEntropyLoss()` accepts both
    /// forms too (without `weight`, `ignore_index` or `label_smoothing`;
    /// PyTorch does not check that probability rows sum to 1, we do). Keras:
    /// `SparseCategoricalCrossentropy(from_logits=True)` for indices,
    /// `CategoricalCrossentropy(from_logits=True)` for probabilities.
    ///
    /// # Errors (when computed)
    /// [`Error::InvalidShape`] if `pred` is not 2-D or has no rows or no
    /// columns; [`Error::ShapeMismatch`] if `target` is neither `[n]` nor
    /// `[n, C]`; [`Error::InvalidArgument`] naming the row and the value for a
    /// class index that is negative, non-integral, NaN or `≥ C`, a
    /// probability outside `[0, 1]`, or a row not summing to 1.
    pub fn softmax_cross_entropy() -> Loss {
        Loss::SoftmaxCrossEntropy
    }

    /// Hinge loss, the SVM margin loss for binary classification; `ŷ` is a
    /// raw score, `y ∈ {−1, +1}`:
    ///
    /// ```text
    /// loss = (1/N) Σ_i max(0, 1 − y_i·ŷ_i)     ∂loss/∂ŷ_i = −y_i/N if 1 − y_i·ŷ_i > 0, else 0
    /// ```
    ///
    /// (the gradient at the kink `y·ŷ = 1` is taken as 0). Mean over all `N`
    /// elements. Keras `Hinge` / `keras.losses.hinge`. Like Keras, labels given
    /// as `{0, 1}` are converted to `{−1, +1}` (`0 → −1`); mixing `0` and `−1`
    /// in one target, or any other value, is an [`Error::InvalidArgument`].
    /// PyTorch has no module for it (`HingeEmbeddingLoss` is a different
    /// loss); `torch.clamp(1 - y * pred, min=0).mean()` computes the same.
    pub fn hinge() -> Loss {
        Loss::Hinge
    }

    /// The loss's name in logs and histories: `"mse"`, `"mae"`, `"huber"`,
    /// `"binary_cross_entropy"`, `"softmax_cross_entropy"` or `"hinge"`.
    pub const fn name(&self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::Mae => "mae",
            Loss::Huber { .. } => "huber",
            Loss::BinaryCrossEntropy => "binary_cross_entropy",
            Loss::SoftmaxCrossEntropy => "softmax_cross_entropy",
            Loss::Hinge => "hinge",
        }
    }
}

impl<T: Scalar> LossFn<T> for Loss {
    fn loss_and_grad(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        grad: &mut Tensor<T>,
    ) -> Result<T> {
        match *self {
            Loss::Mse => regression::mse(pred, target, grad),
            Loss::Mae => regression::mae(pred, target, grad),
            Loss::Huber { delta } => regression::huber(delta, pred, target, grad),
            Loss::BinaryCrossEntropy => binary::binary_cross_entropy(pred, target, grad),
            Loss::SoftmaxCrossEntropy => softmax_ce::softmax_cross_entropy(pred, target, grad),
            Loss::Hinge => binary::hinge(pred, target, grad),
        }
    }

    fn name(&self) -> &'static str {
        Loss::name(self)
    }
}

/// Multi-index of flat offset `i` in `shape`, for messages: `[1, 0]`.
fn position(mut i: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (d, &n) in shape.iter().enumerate().rev() {
        if n > 0 {
            idx[d] = i % n;
            i /= n;
        }
    }
    format!("{idx:?}")
}

/// The `[n]`-element mean an empty prediction cannot have.
fn empty_batch(name: &'static str, shape: &[usize]) -> Error {
    Error::invalid_shape(
        name,
        shape,
        "empty batch: a mean over zero elements is undefined",
    )
}

/// The driver of every element-wise loss: checks that `pred` and `target`
/// have the same non-empty shape, resizes `grad`, and for each element calls
/// `f(pred_i, target_i, i)`, which returns `(ℓ_i, ∂ℓ_i/∂pred_i)`. Returns the
/// mean of `ℓ` (summed in `f64`) and writes `∂ℓ_i/∂pred_i / N` into `grad`.
fn elementwise<T: Scalar>(
    name: &'static str,
    pred: &Tensor<T>,
    target: &Tensor<T>,
    grad: &mut Tensor<T>,
    mut f: impl FnMut(T, T, usize) -> Result<(T, T)>,
) -> Result<T> {
    if pred.shape() != target.shape() {
        return Err(Error::shape_mismatch(
            name,
            pred.shape(),
            target.shape(),
            "the target must have the prediction's shape",
        ));
    }
    let n = pred.len();
    if n == 0 {
        return Err(empty_batch(name, pred.shape()));
    }
    grad.resize_zeroed(pred.shape())?;
    let inv_n = T::one() / T::from_usize(n);
    let mut total = 0.0f64;
    let pairs = pred.as_slice().iter().zip(target.as_slice());
    for (i, (g, (&x, &y))) in grad.as_mut_slice().iter_mut().zip(pairs).enumerate() {
        let (value, d) = f(x, y, i)?;
        total += value.as_f64();
        *g = d * inv_n;
    }
    Ok(T::from_f64(total / n as f64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck;

    fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    const ELEMENTWISE: [Loss; 5] = [
        Loss::Mse,
        Loss::Mae,
        Loss::Huber { delta: 1.0 },
        Loss::BinaryCrossEntropy,
        Loss::Hinge,
    ];

    #[test]
    fn names_and_constructors() {
        let all = [
            (Loss::mse(), "mse"),
            (Loss::mae(), "mae"),
            (Loss::huber(1.5), "huber"),
            (Loss::binary_cross_entropy(), "binary_cross_entropy"),
            (Loss::softmax_cross_entropy(), "softmax_cross_entropy"),
            (Loss::hinge(), "hinge"),
        ];
        for (loss, name) in all {
            assert_eq!(loss.name(), name);
            assert_eq!(LossFn::<f32>::name(&loss), name);
            let dynamic: &dyn LossFn<f64> = &loss;
            assert_eq!(dynamic.name(), name);
        }
        assert_eq!(Loss::huber(1.5), Loss::Huber { delta: 1.5 });
        assert_ne!(Loss::huber(1.5), Loss::huber(2.0));
    }

    #[derive(Debug)]
    struct SumLoss;
    impl LossFn<f64> for SumLoss {
        fn loss_and_grad(
            &self,
            p: &Tensor<f64>,
            _: &Tensor<f64>,
            g: &mut Tensor<f64>,
        ) -> Result<f64> {
            g.resize_zeroed(p.shape())?;
            g.fill(1.0);
            Ok(p.sum())
        }
    }

    #[test]
    fn default_name_is_the_type_name_and_default_loss_matches() {
        assert!(LossFn::<f64>::name(&SumLoss).ends_with("SumLoss"));
        let p = t(&[1.0, 2.0], &[2]);
        assert_eq!(SumLoss.loss(&p, &p).unwrap(), 3.0);
    }

    #[test]
    fn elementwise_shape_mismatch_names_loss_and_shapes() {
        let pred = t(&[1.0, 0.0, 1.0], &[3, 1]);
        let target = t(&[1.0, 0.0, 1.0], &[3]);
        for loss in ELEMENTWISE {
            let msg = loss.loss(&pred, &target).unwrap_err().to_string();
            assert_eq!(
                msg,
                format!(
                    "{}: left is 3×1, right is 3 (the target must have the prediction's shape)",
                    loss.name()
                )
            );
        }
    }

    #[test]
    fn empty_batches_are_errors() {
        let empty = Tensor::<f64>::zeros(&[0, 1]).unwrap();
        for loss in ELEMENTWISE {
            let err = loss.loss(&empty, &empty).unwrap_err();
            assert!(matches!(err, Error::InvalidShape { .. }), "{err}");
            assert!(err.to_string().starts_with(loss.name()), "{err}");
            assert!(err.to_string().contains("empty batch"), "{err}");
        }
        let err = Loss::softmax_cross_entropy()
            .loss(&empty, &Tensor::zeros(&[0]).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("empty batch"), "{err}");
    }

    #[test]
    fn non_finite_predictions_give_non_finite_losses_not_errors() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let pred = t(&[0.5, bad], &[1, 2]);
            let target = t(&[1.0, 0.0], &[1, 2]);
            for loss in ELEMENTWISE.into_iter().chain([Loss::SoftmaxCrossEntropy]) {
                let l = loss.loss(&pred, &target).unwrap();
                // Hinge with y = −1 (from 0) and ŷ = −∞ is max(0, 1 − ∞) = 0:
                // the sample is infinitely well classified, a finite loss is right.
                if !(loss == Loss::Hinge && bad == f64::NEG_INFINITY) {
                    assert!(!l.is_finite(), "{} with {bad}: {l}", loss.name());
                }
            }
        }
    }

    #[test]
    fn grad_buffer_is_reused() {
        let pred = t(&[0.3, -0.2, 0.8, 0.1], &[2, 2]);
        let target = t(&[1.0, 0.0, 0.0, 1.0], &[2, 2]);
        let mut grad = Tensor::default();
        for loss in ELEMENTWISE.into_iter().chain([Loss::SoftmaxCrossEntropy]) {
            loss.loss_and_grad(&pred, &target, &mut grad).unwrap();
            let ptr = grad.as_slice().as_ptr();
            loss.loss_and_grad(&pred, &target, &mut grad).unwrap();
            assert_eq!(grad.as_slice().as_ptr(), ptr, "{}", loss.name());
            assert_eq!(grad.shape(), &[2, 2]);
        }
    }

    #[test]
    fn every_loss_passes_the_gradient_check() {
        // Predictions kept away from the kinks: |ŷ − y| ∉ {0, δ} for MAE and
        // Huber (δ = 1), y·ŷ ≠ 1 for hinge.
        let pred = t(&[0.3, -1.7, 2.2, 0.45, -0.6, 1.35], &[2, 3]);
        let binary = t(&[1.0, 0.0, 1.0, 0.0, 0.25, 1.0], &[2, 3]);
        let signs = t(&[1.0, -1.0, -1.0, 1.0, 1.0, -1.0], &[2, 3]);
        let zero_one = t(&[1.0, 0.0, 1.0, 0.0, 0.0, 1.0], &[2, 3]);
        let regression = t(&[0.0, 0.5, 1.0, -2.0, 0.1, 1.0], &[2, 3]);
        let indices = t(&[2.0, 0.0], &[2]);
        let probs = t(&[0.2, 0.5, 0.3, 0.0, 1.0, 0.0], &[2, 3]);
        let cases = [
            (Loss::mse(), &regression),
            (Loss::mae(), &regression),
            (Loss::huber(1.0), &regression),
            (Loss::huber(0.5), &regression),
            (Loss::binary_cross_entropy(), &binary),
            (Loss::hinge(), &signs),
            (Loss::hinge(), &zero_one),
            (Loss::softmax_cross_entropy(), &indices),
            (Loss::softmax_cross_entropy(), &probs),
        ];
        for (loss, target) in cases {
            let report = gradcheck::loss(&loss, &pred, target).unwrap();
            assert!(
                report.max_rel_error < 1e-6,
                "{} {target:?}: {report}",
                loss.name()
            );
            assert_eq!(report.checked, 6);
        }
    }

    #[test]
    fn positions_are_multi_indices() {
        assert_eq!(position(5, &[2, 3]), "[1, 2]");
        assert_eq!(position(3, &[4]), "[3]");
        assert_eq!(position(0, &[]), "[]");
    }
}
