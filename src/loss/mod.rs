//! Losses: how wrong a prediction is, and which way to move.
//!
//! [`LossFn`] is the open trait: anything implementing it trains with
//! [`Network::fit`](crate::Network::fit), [`Network::evaluate`](crate::Network::evaluate)
//! and [`Network::train_on_batch`](crate::Network::train_on_batch), exactly as
//! a built-in does. [`Loss`] is the set of built-in losses; every one follows
//! PyTorch's formula and its three reductions:
//!
//! | loss | per element / row `ℓ` | PyTorch | Keras (same number) |
//! |---|---|---|---|
//! | [`Loss::mse`] | `(ŷ − y)²` | `MSELoss()` | `MeanSquaredError` |
//! | [`Loss::mae`] | `\|ŷ − y\|` | `L1Loss()` | `MeanAbsoluteError` |
//! | [`Loss::huber`] | `½d²` if `\|d\| < δ`, else `δ(\|d\| − ½δ)` | `HuberLoss(delta)` | `Huber(delta)` |
//! | [`Loss::binary_cross_entropy`] | `max(x,0) − x·y + log(1 + e^−\|x\|)` on logits | `BCEWithLogitsLoss()` | `BinaryCrossentropy(from_logits=True)` |
//! | [`Loss::softmax_cross_entropy`] | `−Σ_c y_c·log softmax(x)_c` per row, on logits | `CrossEntropyLoss()` | `(Sparse)CategoricalCrossentropy(from_logits=True)` |
//! | [`Loss::hinge`] | `max(0, 1 − y·ŷ)`, `y ∈ {−1, +1}` | none (`clamp(1 − y·ŷ, min=0).mean()`) | `Hinge` |
//!
//! ## Reductions
//! As PyTorch's `reduction` argument, with the same definitions:
//!
//! | PyTorch | here | element-wise losses (all but cross-entropy) | softmax cross-entropy |
//! |---|---|---|---|
//! | `'mean'` (default) | [`Reduction::Mean`] | `(1/N) Σ ℓ` over **all** `N` elements | `(1/n) Σ ℓ_i` over the `n` rows (samples) |
//! | `'sum'` | [`Reduction::Sum`] | `Σ ℓ` | `Σ ℓ_i` |
//! | `'none'` | [`LossFn::unreduced`] | `ℓ`, the prediction's shape | `ℓ_i`, shape `[n]` |
//!
//! `Loss::mse().with_reduction(Reduction::Sum)` picks one; [`LossFn::unreduced`]
//! gives the unreduced losses of any built-in, with the gradient of their sum.
//! Cross-entropy's label smoothing is [`Loss::with_label_smoothing`].
//!
//! ## Targets
//! The element-wise losses take a target of the prediction's shape. For a
//! network with **one output** (`[n, 1]` predictions) a plain column of
//! targets `[n]` is accepted too, and the other way round: both hold the
//! same `n` numbers in the same order. Any other mismatch is an error that
//! says which shape is expected.
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
//!
//! ## Your own loss
//! Implement [`LossFn::loss_and_grad`]; implement [`LossFn::unreduced`] too
//! for per-sample weights in `fit`, and [`LossFn::accuracy`] for a
//! classification loss whose accuracy should appear in the history.
//! `examples/custom.rs` trains with a focal loss written this way.

mod accuracy;
mod binary;
mod elementwise;
mod regression;
mod softmax_ce;
#[cfg(test)]
mod tests;
mod weighted;

pub use softmax_ce::{class_index, class_indices, class_indices_into};
pub use weighted::weighted_loss_and_grad;

use elementwise::Out;
pub(crate) use elementwise::{elementwise, empty_batch, position, same_elements};

use crate::{Error, Result, Scalar, Tensor};

/// A loss function with its hand-written gradient: the open trait every loss,
/// built-in ([`Loss`]) or yours, implements.
///
/// ```
/// use weightwise::{LossFn, Result, Tensor};
///
/// /// Mean fourth power, `(1/N) Σ (ŷ − y)⁴`.
/// #[derive(Debug)]
/// struct Quartic;
///
/// impl LossFn<f64> for Quartic {
///     fn loss_and_grad(&self, pred: &Tensor<f64>, target: &Tensor<f64>, grad: &mut Tensor<f64>) -> Result<f64> {
///         let n = pred.len() as f64;
///         grad.resize_zeroed(pred.shape());
///         let mut total = 0.0;
///         for ((g, &p), &y) in grad.as_mut_slice().iter_mut().zip(pred.as_slice()).zip(target.as_slice()) {
///             total += (p - y).powi(4);
///             *g = 4.0 * (p - y).powi(3) / n;
///         }
///         Ok(total / n)
///     }
/// }
/// # fn main() -> Result<()> {
/// let p = Tensor::from_rows(&[[0.3], [-0.7]])?;
/// let y = Tensor::from_rows(&[[0.0], [0.2]])?;
/// let report = weightwise::gradcheck::loss(&Quartic, &p, &y)?;
/// assert!(report.max_rel_error < 1e-6);
/// # Ok(()) }
/// ```
pub trait LossFn<T: Scalar>: std::fmt::Debug {
    /// The loss, reduced to one number as the loss is configured to reduce
    /// (a mean unless it says otherwise), and `∂loss/∂pred` written into
    /// `grad` (which is resized, its memory reused).
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

    /// PyTorch's `reduction='none'`: the losses before reduction written into
    /// `losses` (one per sample, or one per element; the first dimension is
    /// the batch's `n` rows), and the gradient of **their sum** with respect
    /// to `pred` into `grad`. `fit` uses it to weight samples
    /// ([`Fit::sample_weights`](crate::Fit::sample_weights)).
    ///
    /// Provided: an [`Error::InvalidState`] saying the loss has no unreduced
    /// form; every built-in overrides it.
    ///
    /// # Errors
    /// As for [`LossFn::loss_and_grad`].
    fn unreduced(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        losses: &mut Tensor<T>,
        grad: &mut Tensor<T>,
    ) -> Result<()> {
        let _ = (pred, target, losses, grad);
        Err(Error::invalid_state(
            "unreduced loss",
            format!(
                "{} gives no per-sample losses: implement LossFn::unreduced to weight samples",
                self.name()
            ),
        ))
    }

    /// How [`LossFn::loss_and_grad`] reduces the losses that
    /// [`LossFn::unreduced`] gives: `fit` applies the same reduction to
    /// weighted samples. Provided: [`Reduction::Mean`].
    fn reduction(&self) -> Reduction {
        Reduction::Mean
    }

    /// How many predictions are right, as `(correct, counted)`, or `None`
    /// when accuracy means nothing for this loss (regression). `fit` and
    /// `evaluate` report it. `scratch` is memory the caller keeps between
    /// calls. Provided: `None`.
    ///
    /// # Errors
    /// Invalid targets, as the loss itself reports them.
    fn accuracy(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        scratch: &mut Vec<usize>,
    ) -> Result<Option<(usize, usize)>> {
        let _ = (pred, target, scratch);
        Ok(None)
    }

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

/// Boxes a built-in loss, so `Fit { loss: Loss::mse().into(), .. }` reads
/// like the optimizer's `Adam { .. }.into()`; a loss of your own is
/// `Box::new(MyLoss)`.
impl<T: Scalar> From<Loss> for Box<dyn LossFn<T>> {
    fn from(loss: Loss) -> Self {
        Box::new(loss)
    }
}

/// How a loss turns the losses of a batch into one number; see the
/// [module docs](self). PyTorch's third mode, `'none'`, is [`LossFn::unreduced`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Reduction {
    /// The mean: over all elements for the element-wise losses, over the
    /// rows for cross-entropy (PyTorch's `'mean'`, the default).
    #[default]
    Mean,
    /// The sum (PyTorch's `'sum'`).
    Sum,
}

/// Which built-in loss a [`Loss`] is, with its parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossKind {
    /// Squared error; see [`Loss::mse`].
    Mse,
    /// Absolute error; see [`Loss::mae`].
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

/// The built-in losses. Each implements [`LossFn<T>`] for `f32` and `f64`.
///
/// Construct them with the lower-case functions ([`Loss::mse`], …), whose docs
/// give the formula and the PyTorch/Keras equivalent, then optionally
/// [`with_reduction`](Loss::with_reduction) and, for cross-entropy,
/// [`with_label_smoothing`](Loss::with_label_smoothing). Constructing a loss
/// never fails; Huber's `δ` is checked when the loss is computed, like
/// [`Init`](crate::Init)'s parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loss {
    kind: LossKind,
    reduction: Reduction,
    label_smoothing: f64,
}

impl From<LossKind> for Loss {
    fn from(kind: LossKind) -> Self {
        Loss {
            kind,
            reduction: Reduction::Mean,
            label_smoothing: 0.0,
        }
    }
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
        LossKind::Mse.into()
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
        LossKind::Mae.into()
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
        LossKind::Huber { delta }.into()
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
        LossKind::BinaryCrossEntropy.into()
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
    /// forms too (without `weight` or `ignore_index`; label smoothing is
    /// [`Loss::with_label_smoothing`];
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
        LossKind::SoftmaxCrossEntropy.into()
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
        LossKind::Hinge.into()
    }

    /// This loss with another [`Reduction`] (PyTorch's `reduction='sum'`):
    /// the gradient is that of the sum, `∂ℓ/∂ŷ` without the `1/N`.
    ///
    /// ```
    /// use weightwise::{loss::{Loss, Reduction}, LossFn, Tensor};
    /// let pred = Tensor::from_slice(&[1.0, 3.0]);
    /// let zero = Tensor::from_slice(&[0.0, 0.0]);
    /// assert_eq!(Loss::mse().with_reduction(Reduction::Sum).loss(&pred, &zero).unwrap(), 10.0);
    /// ```
    pub fn with_reduction(self, reduction: Reduction) -> Loss {
        Loss { reduction, ..self }
    }

    /// Softmax cross-entropy with PyTorch's `label_smoothing = ε`: the
    /// target is mixed with the uniform distribution over the `C` classes,
    ///
    /// ```text
    /// y'_c = (1 − ε)·y_c + ε/C
    /// ℓ_i  = −Σ_c y'_c·log softmax(x_i)_c = (1 − ε)·ℓ_i(y) + (ε/C)·Σ_c −log softmax(x_i)_c
    /// ```
    ///
    /// for class-index targets (`y` one-hot) and probability targets alike,
    /// then reduced as configured. Accuracy still compares with the
    /// unsmoothed class.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `epsilon` is outside `[0, 1]` (PyTorch's
    /// range) or NaN, or if this loss is not softmax cross-entropy.
    pub fn with_label_smoothing(self, epsilon: f64) -> Result<Loss> {
        if self.kind != LossKind::SoftmaxCrossEntropy {
            return Err(Error::invalid_arg(
                "label_smoothing",
                epsilon,
                format!(
                    "applies to softmax_cross_entropy only, not to {}",
                    self.name()
                ),
            ));
        }
        if !(0.0..=1.0).contains(&epsilon) {
            return Err(Error::invalid_arg(
                "label_smoothing",
                epsilon,
                "must be in [0, 1] (PyTorch's range)",
            ));
        }
        Ok(Loss {
            label_smoothing: epsilon,
            ..self
        })
    }

    /// Which built-in this is, with its parameter.
    pub const fn kind(&self) -> LossKind {
        self.kind
    }

    /// The reduction, [`Reduction::Mean`] unless set.
    pub const fn reduction(&self) -> Reduction {
        self.reduction
    }

    /// Cross-entropy's label smoothing `ε`, 0 unless set.
    pub const fn label_smoothing(&self) -> f64 {
        self.label_smoothing
    }

    /// The loss's name in logs and histories: `"mse"`, `"mae"`, `"huber"`,
    /// `"binary_cross_entropy"`, `"softmax_cross_entropy"` or `"hinge"`.
    pub const fn name(&self) -> &'static str {
        match self.kind {
            LossKind::Mse => "mse",
            LossKind::Mae => "mae",
            LossKind::Huber { .. } => "huber",
            LossKind::BinaryCrossEntropy => "binary_cross_entropy",
            LossKind::SoftmaxCrossEntropy => "softmax_cross_entropy",
            LossKind::Hinge => "hinge",
        }
    }

    fn compute<T: Scalar>(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        grad: &mut Tensor<T>,
        out: Out<'_, T>,
    ) -> Result<T> {
        match self.kind {
            LossKind::Mse => regression::mse(pred, target, grad, out),
            LossKind::Mae => regression::mae(pred, target, grad, out),
            LossKind::Huber { delta } => regression::huber(delta, pred, target, grad, out),
            LossKind::BinaryCrossEntropy => binary::binary_cross_entropy(pred, target, grad, out),
            LossKind::SoftmaxCrossEntropy => {
                softmax_ce::softmax_cross_entropy(self.label_smoothing, pred, target, grad, out)
            }
            LossKind::Hinge => binary::hinge(pred, target, grad, out),
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
        let out = match self.reduction {
            Reduction::Mean => Out::Mean,
            Reduction::Sum => Out::Sum,
        };
        self.compute(pred, target, grad, out)
    }

    fn unreduced(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        losses: &mut Tensor<T>,
        grad: &mut Tensor<T>,
    ) -> Result<()> {
        self.compute(pred, target, grad, Out::None(losses))
            .map(|_| ())
    }

    fn reduction(&self) -> Reduction {
        self.reduction
    }

    fn accuracy(
        &self,
        pred: &Tensor<T>,
        target: &Tensor<T>,
        scratch: &mut Vec<usize>,
    ) -> Result<Option<(usize, usize)>> {
        match self.kind {
            LossKind::SoftmaxCrossEntropy => accuracy::argmax(pred, target, scratch).map(Some),
            LossKind::BinaryCrossEntropy | LossKind::Hinge => {
                accuracy::by_sign(pred, target).map(Some)
            }
            _ => Ok(None),
        }
    }

    fn name(&self) -> &'static str {
        Loss::name(self)
    }
}
