//! Tests of the loss trait, the reductions and label smoothing.

use super::*;
use crate::gradcheck;

fn t(v: &[f64], s: &[usize]) -> Tensor<f64> {
    Tensor::from_vec(v.to_vec(), s).unwrap()
}

fn elementwise_losses() -> [Loss; 5] {
    [
        Loss::mse(),
        Loss::mae(),
        Loss::huber(1.0),
        Loss::binary_cross_entropy(),
        Loss::hinge(),
    ]
}

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
    assert_eq!(Loss::huber(1.5).kind(), LossKind::Huber { delta: 1.5 });
    assert_ne!(Loss::huber(1.5), Loss::huber(2.0));
}

#[derive(Debug)]
struct SumLoss;
impl LossFn<f64> for SumLoss {
    fn loss_and_grad(&self, p: &Tensor<f64>, _: &Tensor<f64>, g: &mut Tensor<f64>) -> Result<f64> {
        g.resize_zeroed(p.shape());
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
    let target = t(&[1.0, 0.0], &[2]);
    for loss in elementwise_losses() {
        let msg = loss.loss(&pred, &target).unwrap_err().to_string();
        assert_eq!(
            msg,
            format!(
                "{}: left is 3×1, right is 2 (the target must have the prediction's shape, or be a plain column [n] for a one-output network)",
                loss.name()
            )
        );
    }
}

#[test]
fn empty_batches_are_errors() {
    let empty = Tensor::<f64>::zeros(&[0, 1]).unwrap();
    for loss in elementwise_losses() {
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
        for loss in elementwise_losses()
            .into_iter()
            .chain([Loss::softmax_cross_entropy()])
        {
            let l = loss.loss(&pred, &target).unwrap();
            // Hinge with y = −1 (from 0) and ŷ = −∞ is max(0, 1 − ∞) = 0:
            // the sample is infinitely well classified, a finite loss is right.
            if !(loss == Loss::hinge() && bad == f64::NEG_INFINITY) {
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
    for loss in elementwise_losses()
        .into_iter()
        .chain([Loss::softmax_cross_entropy()])
    {
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

/// Each built-in's loss of one element (or row), written out from the textbook
/// formula in f64, independently of the implementation.
fn naive_element(loss: &Loss, p: f64, y: f64) -> f64 {
    match loss.kind() {
        LossKind::Mse => (p - y) * (p - y),
        LossKind::Mae => (p - y).abs(),
        LossKind::Huber { delta } => {
            let d = (p - y).abs();
            if d < delta {
                0.5 * d * d
            } else {
                delta * (d - 0.5 * delta)
            }
        }
        LossKind::BinaryCrossEntropy => {
            let s = 1.0 / (1.0 + (-p).exp());
            -(y * s.ln() + (1.0 - y) * (1.0 - s).ln())
        }
        LossKind::Hinge => (1.0 - y * p).max(0.0),
        LossKind::SoftmaxCrossEntropy => unreachable!("a row loss"),
    }
}

/// `−Σ_c y'_c·ln(e^{x_c}/Σ_k e^{x_k})` with `y' = (1 − ε)·y + ε/C`, naively.
fn naive_ce_row(x: &[f64], y: &[f64], eps: f64) -> f64 {
    let z: f64 = x.iter().map(|v| v.exp()).sum();
    let c = x.len() as f64;
    x.iter()
        .zip(y)
        .map(|(&xc, &yc)| -((1.0 - eps) * yc + eps / c) * (xc.exp() / z).ln())
        .sum()
}

#[test]
fn reductions_match_pytorch_definitions_for_every_elementwise_loss() {
    // PyTorch: 'none' is ℓ per element, 'sum' is Σℓ, 'mean' is Σℓ/N over all
    // N = 6 elements (not the 2 rows).
    let pred = t(&[0.3, -1.7, 2.2, 0.45, -0.6, 1.35], &[2, 3]);
    let probs = t(&[1.0, 0.0, 1.0, 0.0, 0.25, 1.0], &[2, 3]);
    let signs = t(&[1.0, -1.0, -1.0, 1.0, 1.0, -1.0], &[2, 3]);
    let values = t(&[0.0, 0.5, 1.0, -2.0, 0.1, 1.0], &[2, 3]);
    let cases = [
        (Loss::mse(), &values),
        (Loss::mae(), &values),
        (Loss::huber(1.0), &values),
        (Loss::huber(0.5), &values),
        (Loss::binary_cross_entropy(), &probs),
        (Loss::hinge(), &signs),
    ];
    for (loss, target) in cases {
        let each: Vec<f64> = pred
            .as_slice()
            .iter()
            .zip(target.as_slice())
            .map(|(&p, &y)| naive_element(&loss, p, y))
            .collect();
        let sum: f64 = each.iter().sum();
        let name = loss.name();
        let (mut g_mean, mut g_sum, mut g_none) =
            (Tensor::default(), Tensor::default(), Tensor::default());
        let mean = loss.loss_and_grad(&pred, target, &mut g_mean).unwrap();
        let summed = loss.with_reduction(Reduction::Sum);
        assert_eq!(LossFn::<f64>::reduction(&summed), Reduction::Sum);
        let total = summed.loss_and_grad(&pred, target, &mut g_sum).unwrap();
        let mut none = Tensor::default();
        loss.unreduced(&pred, target, &mut none, &mut g_none)
            .unwrap();
        assert!(
            (mean - sum / 6.0).abs() < 1e-12,
            "{name}: {mean} vs {}",
            sum / 6.0
        );
        assert!((total - sum).abs() < 1e-12, "{name}: {total} vs {sum}");
        assert_eq!(none.shape(), &[2, 3], "{name}");
        for (a, b) in none.as_slice().iter().zip(&each) {
            assert!((a - b).abs() < 1e-12, "{name}: {a} vs {b}");
        }
        // The sum's gradient is the unreduced one; the mean's is it over N.
        assert_eq!(g_none, g_sum, "{name}");
        for (a, b) in g_mean.as_slice().iter().zip(g_sum.as_slice()) {
            assert!((a - b / 6.0).abs() < 1e-15, "{name}");
        }
        let report = gradcheck::loss(&summed, &pred, target).unwrap();
        assert!(report.max_rel_error < 1e-6, "{name} sum: {report}");
    }
}

#[test]
fn cross_entropy_reductions_are_over_samples() {
    // PyTorch's CrossEntropyLoss: 'none' gives one loss per row [n]; 'mean'
    // divides by n = 2 rows, not by the 6 logits.
    let pred = t(&[0.3, -1.7, 2.2, 0.45, -0.6, 1.35], &[2, 3]);
    let indices = t(&[2.0, 0.0], &[2]);
    let rows = [
        naive_ce_row(&[0.3, -1.7, 2.2], &[0.0, 0.0, 1.0], 0.0),
        naive_ce_row(&[0.45, -0.6, 1.35], &[1.0, 0.0, 0.0], 0.0),
    ];
    let ce = Loss::softmax_cross_entropy();
    let mean = ce.loss(&pred, &indices).unwrap();
    assert!((mean - (rows[0] + rows[1]) / 2.0).abs() < 1e-12);
    let sum = ce
        .with_reduction(Reduction::Sum)
        .loss(&pred, &indices)
        .unwrap();
    assert!((sum - (rows[0] + rows[1])).abs() < 1e-12);
    let (mut none, mut g) = (Tensor::default(), Tensor::default());
    ce.unreduced(&pred, &indices, &mut none, &mut g).unwrap();
    assert_eq!(none.shape(), &[2]);
    assert!((none.as_slice()[0] - rows[0]).abs() < 1e-12);
    assert!((none.as_slice()[1] - rows[1]).abs() < 1e-12);
    // Unreduced gradient: softmax − onehot per row, no 1/n.
    let z: f64 = [0.3f64, -1.7, 2.2].iter().map(|v| v.exp()).sum();
    assert!((g.as_slice()[2] - (2.2f64.exp() / z - 1.0)).abs() < 1e-12);
    assert!((g.as_slice()[0] - 0.3f64.exp() / z).abs() < 1e-12);
}

#[test]
fn label_smoothing_follows_pytorch_by_hand() {
    // Logits [0, ln 3] → softmax [¼, ¾]; class 0, ε = 0.3, C = 2:
    //   y' = [0.7 + 0.15, 0.15] = [0.85, 0.15]
    //   loss = 0.85·ln 4 + 0.15·ln(4/3)
    //   grad = softmax − y' = [0.25 − 0.85, 0.75 − 0.15] = [−0.6, 0.6]
    let pred = t(&[0.0, 3f64.ln()], &[1, 2]);
    let ce = Loss::softmax_cross_entropy()
        .with_label_smoothing(0.3)
        .unwrap();
    assert_eq!(ce.label_smoothing(), 0.3);
    let mut g = Tensor::default();
    let l = ce.loss_and_grad(&pred, &t(&[0.0], &[1]), &mut g).unwrap();
    let want = 0.85 * 4f64.ln() + 0.15 * (4.0f64 / 3.0).ln();
    assert!((l - want).abs() < 1e-12, "{l} vs {want}");
    assert!((g.as_slice()[0] + 0.6).abs() < 1e-12 && (g.as_slice()[1] - 0.6).abs() < 1e-12);
    // The same target as a probability row gives the same, as in PyTorch.
    let l2 = ce.loss(&pred, &t(&[1.0, 0.0], &[1, 2])).unwrap();
    assert!((l2 - want).abs() < 1e-12);
}

#[test]
fn label_smoothing_matches_the_naive_formula_and_gradchecks() {
    let pred = t(&[0.3, -1.7, 2.2, 0.45, -0.6, 1.35], &[2, 3]);
    let indices = t(&[2.0, 0.0], &[2]);
    let probs = t(&[0.2, 0.5, 0.3, 0.0, 1.0, 0.0], &[2, 3]);
    for eps in [0.0, 0.1, 0.5, 1.0] {
        let ce = Loss::softmax_cross_entropy()
            .with_label_smoothing(eps)
            .unwrap();
        let by_index = [
            naive_ce_row(&[0.3, -1.7, 2.2], &[0.0, 0.0, 1.0], eps),
            naive_ce_row(&[0.45, -0.6, 1.35], &[1.0, 0.0, 0.0], eps),
        ];
        let by_prob = [
            naive_ce_row(&[0.3, -1.7, 2.2], &[0.2, 0.5, 0.3], eps),
            naive_ce_row(&[0.45, -0.6, 1.35], &[0.0, 1.0, 0.0], eps),
        ];
        for (target, rows) in [(&indices, by_index), (&probs, by_prob)] {
            let l = ce.loss(&pred, target).unwrap();
            assert!((l - (rows[0] + rows[1]) / 2.0).abs() < 1e-12, "ε {eps}");
            for loss in [ce, ce.with_reduction(Reduction::Sum)] {
                let report = gradcheck::loss(&loss, &pred, target).unwrap();
                assert!(report.max_rel_error < 1e-6, "ε {eps}: {report}");
            }
        }
    }
}

#[test]
fn label_smoothing_is_checked_when_built() {
    for bad in [-0.1, 1.5, f64::NAN] {
        let err = Loss::softmax_cross_entropy()
            .with_label_smoothing(bad)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    name: "label_smoothing",
                    ..
                }
            ),
            "{err}"
        );
    }
    let err = Loss::mse().with_label_smoothing(0.1).unwrap_err();
    assert!(
        err.to_string()
            .contains("softmax_cross_entropy only, not to mse"),
        "{err}"
    );
}

#[test]
fn one_output_networks_take_a_plain_target_column() {
    // [n, 1] predictions against [n] targets (and the other way round) hold
    // the same numbers: same loss, gradient in the prediction's shape.
    let col = t(&[0.5, -1.0, 2.0], &[3, 1]);
    let flat = t(&[0.0, 1.0, 1.0], &[3]);
    let as_col = t(&[0.0, 1.0, 1.0], &[3, 1]);
    for loss in elementwise_losses() {
        let mut g = Tensor::default();
        let a = loss.loss_and_grad(&col, &flat, &mut g).unwrap();
        assert_eq!(g.shape(), &[3, 1]);
        assert_eq!(a, loss.loss(&col, &as_col).unwrap(), "{}", loss.name());
    }
    // Two outputs with a column of targets: the message says what fits.
    let two = t(&[0.0; 6], &[3, 2]);
    let err = Loss::mse().loss(&two, &flat).unwrap_err().to_string();
    assert!(err.contains("one column per network output"), "{err}");
    let err = Loss::softmax_cross_entropy()
        .loss(&col, &two)
        .unwrap_err()
        .to_string();
    assert!(err.contains("binary_cross_entropy"), "{err}");
}

#[test]
fn a_user_loss_without_unreduced_says_so() {
    let (mut l, mut g) = (Tensor::default(), Tensor::default());
    let p = t(&[1.0], &[1]);
    let err = SumLoss.unreduced(&p, &p, &mut l, &mut g).unwrap_err();
    assert!(
        err.to_string().contains("implement LossFn::unreduced"),
        "{err}"
    );
    assert_eq!(LossFn::<f64>::reduction(&SumLoss), Reduction::Mean);
    assert_eq!(SumLoss.accuracy(&p, &p, &mut Vec::new()).unwrap(), None);
    let boxed: Box<dyn LossFn<f32>> = Loss::mse().into();
    assert_eq!(boxed.name(), "mse");
}

/// A loss with fixed per-sample weights, to check `weighted_loss_and_grad`.
#[derive(Debug)]
struct Weighted(Loss, Tensor<f64>);

impl LossFn<f64> for Weighted {
    fn loss_and_grad(
        &self,
        pred: &Tensor<f64>,
        target: &Tensor<f64>,
        grad: &mut Tensor<f64>,
    ) -> Result<f64> {
        let mut losses = Tensor::default();
        weighted_loss_and_grad(&self.0, pred, target, &self.1, &mut losses, grad)
    }
}

#[test]
fn sample_weights_give_pytorchs_weighted_mean_and_gradcheck() {
    let pred = t(&[0.3, -1.7, 2.2, 0.45, -0.6, 1.35], &[2, 3]);
    let values = t(&[0.0, 0.5, 1.0, -2.0, 0.1, 1.0], &[2, 3]);
    let w = t(&[3.0, 0.5], &[2]);
    // MSE: Σ_i w_i Σ_j ℓ_ij / (3·Σw), ℓ by the naive formula.
    let row = |i: usize| -> f64 {
        (0..3)
            .map(|j| naive_element(&Loss::mse(), pred[[i, j]], values[[i, j]]))
            .sum()
    };
    let want = (3.0 * row(0) + 0.5 * row(1)) / (3.0 * 3.5);
    let got = Weighted(Loss::mse(), w.clone())
        .loss(&pred, &values)
        .unwrap();
    assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    let sum = Weighted(Loss::mse().with_reduction(Reduction::Sum), w.clone())
        .loss(&pred, &values)
        .unwrap();
    assert!((sum - (3.0 * row(0) + 0.5 * row(1))).abs() < 1e-12);
    // Cross-entropy: Σ w_i ℓ_i / Σ w_i, as CrossEntropyLoss(weight=…) divides.
    let indices = t(&[2.0, 0.0], &[2]);
    let rows = [
        naive_ce_row(&[0.3, -1.7, 2.2], &[0.0, 0.0, 1.0], 0.1),
        naive_ce_row(&[0.45, -0.6, 1.35], &[1.0, 0.0, 0.0], 0.1),
    ];
    let ce = Loss::softmax_cross_entropy()
        .with_label_smoothing(0.1)
        .unwrap();
    let got = Weighted(ce, w.clone()).loss(&pred, &indices).unwrap();
    assert!((got - (3.0 * rows[0] + 0.5 * rows[1]) / 3.5).abs() < 1e-12);
    // Equal weights are the plain loss.
    let ones = t(&[2.0, 2.0], &[2]);
    let plain = Loss::mse().loss(&pred, &values).unwrap();
    assert!((Weighted(Loss::mse(), ones).loss(&pred, &values).unwrap() - plain).abs() < 1e-15);
    let probs = t(&[1.0, 0.0, 1.0, 0.0, 0.25, 1.0], &[2, 3]);
    let cases = [
        (Loss::mse(), &values),
        (Loss::huber(0.5).with_reduction(Reduction::Sum), &values),
        (Loss::binary_cross_entropy(), &probs),
        (ce, &indices),
        (ce.with_reduction(Reduction::Sum), &indices),
    ];
    for (loss, target) in cases {
        let report = gradcheck::loss(&Weighted(loss, w.clone()), &pred, target).unwrap();
        assert!(report.max_rel_error < 1e-6, "{}: {report}", loss.name());
    }
    // Zero total weight: loss 0, gradient 0; wrong weight shape: an error.
    let zero = t(&[0.0, 0.0], &[2]);
    let mut g = Tensor::default();
    let l = Weighted(Loss::mse(), zero)
        .loss_and_grad(&pred, &values, &mut g)
        .unwrap();
    assert_eq!(l, 0.0);
    assert!(g.as_slice().iter().all(|&v| v == 0.0));
    let err = Weighted(Loss::mse(), t(&[1.0; 3], &[3]))
        .loss(&pred, &values)
        .unwrap_err();
    assert!(matches!(err, Error::ShapeMismatch { .. }), "{err}");
}
