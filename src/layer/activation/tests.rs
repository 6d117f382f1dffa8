use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use super::*;
use crate::Error;
use crate::gradcheck;

/// Every kind, with non-default parameters where they exist.
fn all_kinds() -> Vec<ActivationKind> {
    vec![
        ActivationKind::Relu,
        ActivationKind::leaky_relu(0.01).unwrap(),
        ActivationKind::leaky_relu(0.2).unwrap(),
        ActivationKind::elu(1.0).unwrap(),
        ActivationKind::elu(0.5).unwrap(),
        ActivationKind::Selu,
        ActivationKind::Gelu,
        ActivationKind::GeluTanh,
        ActivationKind::Sigmoid,
        ActivationKind::Tanh,
        ActivationKind::Identity,
        ActivationKind::softplus(1.0, 20.0).unwrap(),
        ActivationKind::softplus(2.0, 3.0).unwrap(),
    ]
}

/// Uniform(−3, 3) inputs with |x| > 0.01 (away from the kinks at 0) and,
/// for softplus(β=2, t=3), away from its switch at x = 1.5.
fn random_input(shape: &[usize], seed: u64) -> Tensor<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut x: Tensor<f64> =
        Tensor::random(shape, &Uniform::new(-3.0, 3.0).unwrap(), &mut rng).unwrap();
    x.map_in_place(|v: f64| {
        let v = if v.abs() < 0.01 { v.signum() * 0.5 } else { v };
        if (v - 1.5).abs() < 0.01 { 1.7 } else { v }
    });
    x
}

macro_rules! typed_tests {
    ($name:ident, $t:ty, $tol:expr) => {
        mod $name {
            use super::*;
            type T = $t;

            fn forward(kind: ActivationKind, xs: &[f64]) -> Vec<f64> {
                let x: Tensor<T> = Tensor::from_slice(xs).cast();
                let mut layer = Activation::<T>::new(kind);
                let y = layer.forward(&x, Mode::Train).unwrap();
                y.as_slice().iter().map(|v| v.as_f64()).collect()
            }

            /// The derivative through the layer: backward with dy = 1.
            fn slope(kind: ActivationKind, xs: &[f64]) -> Vec<f64> {
                let x: Tensor<T> = Tensor::from_slice(xs).cast();
                let mut layer = Activation::<T>::new(kind);
                layer.forward(&x, Mode::Train).unwrap();
                let ones = Tensor::<T>::ones(x.shape()).unwrap();
                let dx = layer.backward(&ones).unwrap();
                dx.as_slice().iter().map(|v| v.as_f64()).collect()
            }

            fn close(got: &[f64], want: &[f64]) {
                assert_eq!(got.len(), want.len());
                for (g, w) in got.iter().zip(want) {
                    assert!(
                        (g - w).abs() <= $tol * w.abs().max(1.0),
                        "got {got:?}, want {want:?}"
                    );
                }
            }

            #[test]
            fn forward_values() {
                close(
                    &forward(ActivationKind::Relu, &[-2.0, 0.0, 0.5, 3.0]),
                    &[0.0, 0.0, 0.5, 3.0],
                );
                // LeakyReLU(0.01): −2 → −0.02.
                let leaky = ActivationKind::leaky_relu(0.01).unwrap();
                close(&forward(leaky, &[-2.0, 3.0]), &[-0.02, 3.0]);
                // ELU(−1) = e⁻¹ − 1 = −0.6321205588285577; ELU_0.5(−1) = half that.
                let elu = ActivationKind::elu(1.0).unwrap();
                close(
                    &forward(elu, &[-1.0, 2.0]),
                    &[-0.632_120_558_828_557_7, 2.0],
                );
                let elu_half = ActivationKind::elu(0.5).unwrap();
                close(&forward(elu_half, &[-1.0]), &[-0.316_060_279_414_278_85]);
                // SELU(1) = λ; SELU(−1) = λα(e⁻¹ − 1)
                //   = 1.0507009873554805·1.6732632423543772·(−0.6321205588285577).
                close(
                    &forward(ActivationKind::Selu, &[1.0, -1.0]),
                    &[SELU_SCALE, -1.111_330_737_812_562_8],
                );
                // GELU(1) = Φ(1) = 0.8413447460685429; GELU(−1) = −Φ(−1); GELU(2) = 2Φ(2);
                // GELU(−3) = −3Φ(−3) (Φ from mpmath.ncdf, 50 digits).
                close(
                    &forward(ActivationKind::Gelu, &[1.0, -1.0, 0.0, 2.0, -3.0]),
                    &[
                        0.841_344_746_068_542_9,
                        -0.158_655_253_931_457_05,
                        0.0,
                        1.954_499_736_103_641_6,
                        -0.004_049_694_094_890_283_5,
                    ],
                );
                // tanh-GELU(±1) = ±½(1 + tanh(±√(2/π)·1.044715)) (mpmath, 50 digits).
                close(
                    &forward(ActivationKind::GeluTanh, &[1.0, -1.0]),
                    &[0.841_191_990_608_276_7, -0.158_808_009_391_723_3],
                );
                // σ(0) = ½; σ(2) = 1/(1 + e⁻²); σ(−2) = 1 − σ(2).
                close(
                    &forward(ActivationKind::Sigmoid, &[0.0, 2.0, -2.0]),
                    &[0.5, 0.880_797_077_977_882_4, 0.119_202_922_022_117_56],
                );
                // tanh(0.5) = (e − 1)/(e + 1).
                close(
                    &forward(ActivationKind::Tanh, &[0.5, 0.0]),
                    &[0.462_117_157_260_009_74, 0.0],
                );
                close(
                    &forward(ActivationKind::Identity, &[-7.5, 2.0]),
                    &[-7.5, 2.0],
                );
                // softplus(0) = ln 2, softplus(1) = ln(1 + e); above the threshold 20 it is x.
                close(
                    &forward(Activation::<T>::softplus().activation(), &[0.0, 1.0, 30.0]),
                    &[std::f64::consts::LN_2, 1.313_261_687_518_222_8, 30.0],
                );
                // softplus with β = 2 at 0: ln 2 / 2.
                let sp2 = ActivationKind::softplus(2.0, 20.0).unwrap();
                close(&forward(sp2, &[0.0]), &[std::f64::consts::LN_2 / 2.0]);
            }

            #[test]
            fn derivatives_at_kinks_follow_pytorch() {
                close(
                    &slope(ActivationKind::Relu, &[0.0, -1.0, 1.0]),
                    &[0.0, 0.0, 1.0],
                );
                let leaky = ActivationKind::leaky_relu(0.2).unwrap();
                close(&slope(leaky, &[0.0, -1.0, 1.0]), &[0.2, 0.2, 1.0]);
                let elu = ActivationKind::elu(0.5).unwrap();
                close(&slope(elu, &[0.0, 1.0]), &[0.5, 1.0]);
                // SELU'(0) = λα, GELU'(0) = Φ(0) = ½, σ'(0) = ¼, tanh'(0) = 1,
                // softplus'(0) = σ(0) = ½.
                close(
                    &slope(ActivationKind::Selu, &[0.0]),
                    &[SELU_SCALE * SELU_ALPHA],
                );
                close(&slope(ActivationKind::Gelu, &[0.0]), &[0.5]);
                close(&slope(ActivationKind::GeluTanh, &[0.0]), &[0.5]);
                close(&slope(ActivationKind::Sigmoid, &[0.0]), &[0.25]);
                close(&slope(ActivationKind::Tanh, &[0.0]), &[1.0]);
                close(&slope(ActivationKind::Identity, &[3.0]), &[1.0]);
                let sp = ActivationKind::softplus(1.0, 20.0).unwrap();
                close(&slope(sp, &[0.0, 25.0]), &[0.5, 1.0]);
            }

            #[test]
            fn layer_matches_the_f64_formulas() {
                // The typed layer agrees, forward and backward, with ActivationKind's
                // f64 formulas evaluated at the same (rounded-to-T) inputs.
                let xs: Tensor<T> = random_input(&[4, 5], 11).cast();
                let xs: Vec<f64> = xs.as_slice().iter().map(|v| v.as_f64()).collect();
                for kind in all_kinds() {
                    let want_y: Vec<f64> = xs.iter().map(|&v| kind.apply(v)).collect();
                    let want_d: Vec<f64> = xs.iter().map(|&v| kind.derivative(v)).collect();
                    close(&forward(kind, &xs), &want_y);
                    close(&slope(kind, &xs), &want_d);
                }
            }

            #[test]
            fn stable_at_extremes() {
                let xs = [-1000.0, 1000.0];
                // σ(−1000) = e⁻¹⁰⁰⁰/(1 + e⁻¹⁰⁰⁰) underflows to 0; σ(1000) = 1; σ' = 0 at both.
                close(&forward(ActivationKind::Sigmoid, &xs), &[0.0, 1.0]);
                close(&slope(ActivationKind::Sigmoid, &xs), &[0.0, 0.0]);
                // softplus(−1000) = ln(1 + e⁻¹⁰⁰⁰) → 0; softplus(1000) = 1000 (threshold).
                let sp = ActivationKind::softplus(1.0, 20.0).unwrap();
                close(&forward(sp, &xs), &[0.0, 1000.0]);
                close(&slope(sp, &xs), &[0.0, 1.0]);
                // Even with a threshold that never triggers, no overflow.
                let sp_no_threshold = ActivationKind::softplus(1.0, 1e6).unwrap();
                close(&forward(sp_no_threshold, &xs), &[0.0, 1000.0]);
                close(&forward(ActivationKind::Tanh, &xs), &[-1.0, 1.0]);
                close(&slope(ActivationKind::Tanh, &xs), &[0.0, 0.0]);
                close(&forward(ActivationKind::Gelu, &xs), &[0.0, 1000.0]);
                close(&slope(ActivationKind::Gelu, &xs), &[0.0, 1.0]);
                close(&forward(ActivationKind::GeluTanh, &xs), &[0.0, 1000.0]);
                close(&slope(ActivationKind::GeluTanh, &xs), &[0.0, 1.0]);
                let elu = ActivationKind::elu(1.0).unwrap();
                close(&forward(elu, &xs), &[-1.0, 1000.0]);
                close(
                    &forward(ActivationKind::Selu, &xs),
                    &[-SELU_SCALE * SELU_ALPHA, SELU_SCALE * 1000.0],
                );
                // At the largest finite inputs nothing becomes NaN or infinite
                // (x³ and x² overflow inside the tanh-GELU).
                let big = [<T>::MAX.as_f64(), <T>::MIN.as_f64()];
                for kind in all_kinds() {
                    assert!(slope(kind, &big).iter().all(|d| d.is_finite()), "{kind}");
                    assert!(forward(kind, &xs).iter().all(|y| y.is_finite()), "{kind}");
                }
            }

            #[test]
            fn nan_propagates() {
                for kind in all_kinds() {
                    assert!(forward(kind, &[f64::NAN])[0].is_nan(), "{kind}");
                }
            }

            #[test]
            fn errors_and_buffer_reuse() {
                let mut layer = Activation::<T>::tanh();
                let dy = Tensor::<T>::ones(&[2, 3]).unwrap();
                let err = layer.backward(&dy).unwrap_err();
                assert!(
                    matches!(err, Error::InvalidState { op: "Tanh", .. }),
                    "{err}"
                );
                let x = Tensor::<T>::zeros(&[2, 3]).unwrap();
                let p1 = layer.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                let p2 = layer.forward(&x, Mode::Eval).unwrap().as_slice().as_ptr();
                assert_eq!(p1, p2, "output buffer reused");
                let g1 = layer.backward(&dy).unwrap().as_slice().as_ptr();
                let g2 = layer.backward(&dy).unwrap().as_slice().as_ptr();
                assert_eq!(g1, g2, "input-gradient buffer reused");
                let bad = Tensor::<T>::ones(&[3, 2]).unwrap();
                let err = layer.backward(&bad).unwrap_err();
                assert_eq!(
                    err.to_string(),
                    "Tanh: left is 2×3, right is 3×2 \
                     (the output gradient must have the output's shape)"
                );
                // An input-caching kind reuses its input copy too.
                let mut gelu = Activation::<T>::gelu();
                gelu.forward(&x, Mode::Train).unwrap();
                let q1 = gelu.input.as_slice().as_ptr();
                gelu.forward(&x, Mode::Train).unwrap();
                assert_eq!(q1, gelu.input.as_slice().as_ptr());
            }
        }
    };
}

typed_tests!(f64_tests, f64, 1e-14);
typed_tests!(f32_tests, f32, 1e-6);

#[test]
fn gradcheck_every_kind() {
    for (i, kind) in all_kinds().into_iter().enumerate() {
        let x = random_input(&[3, 7], 100 + i as u64);
        let mut layer = Activation::<f64>::new(kind);
        let report = gradcheck::layer(&mut layer, &x).unwrap();
        assert!(report.max_rel_error < 1e-6, "{kind}: {report}");
        assert_eq!(report.checked, 21);
    }
}

#[test]
fn derivative_matches_central_differences() {
    // For every kind, f' (the public formula) against (f(x+h) − f(x−h))/2h,
    // on a grid avoiding the kinks.
    let h = 1e-6;
    for kind in all_kinds() {
        for i in -40..=40 {
            let x = f64::from(i) * 0.1 + 0.037;
            let numeric = (kind.apply(x + h) - kind.apply(x - h)) / (2.0 * h);
            let analytic = kind.derivative(x);
            assert!(
                (numeric - analytic).abs() < 1e-8 * analytic.abs().max(1.0),
                "{kind} at {x}: {numeric} vs {analytic}"
            );
        }
    }
}

#[test]
fn invalid_parameters_are_errors() {
    for bad in [-0.1, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Activation::<f64>::elu(bad),
            Err(Error::InvalidArgument { .. })
        ));
        assert!(Activation::<f32>::leaky_relu(bad).is_err());
        assert!(Activation::<f64>::softplus_with(bad, 20.0).is_err());
    }
    assert!(Activation::<f64>::softplus_with(0.0, 20.0).is_err());
    assert!(Activation::<f64>::softplus_with(1.0, f64::NAN).is_err());
    assert_eq!(
        Activation::<f64>::elu(-1.0).unwrap_err().to_string(),
        "invalid ELU alpha = -1: must be ≥ 0"
    );
    assert_eq!(
        ActivationKind::leaky_relu(f64::INFINITY)
            .unwrap_err()
            .to_string(),
        "invalid LeakyReLU negative_slope = inf: must be finite"
    );
    // Zero is allowed: LeakyReLU(0) and ELU(0) are both ReLU.
    assert!(Activation::<f64>::leaky_relu(0.0).is_ok());
    assert!(Activation::<f64>::elu(0.0).is_ok());
}

#[test]
fn names_display_and_defaults() {
    let names: Vec<&str> = all_kinds().iter().map(|k| k.name()).collect();
    assert_eq!(
        names,
        [
            "ReLU",
            "LeakyReLU",
            "LeakyReLU",
            "ELU",
            "ELU",
            "SELU",
            "GELU",
            "GELU",
            "Sigmoid",
            "Tanh",
            "Identity",
            "Softplus",
            "Softplus"
        ]
    );
    assert_eq!(
        Layer::<f64>::kind(&Activation::<f64>::softplus()),
        "Softplus"
    );
    assert_eq!(
        Activation::<f64>::leaky_relu_default()
            .activation()
            .to_string(),
        "LeakyReLU(negative_slope=0.01)"
    );
    assert_eq!(
        Activation::<f32>::elu_default().activation().to_string(),
        "ELU(alpha=1.0)"
    );
    assert_eq!(
        Activation::<f32>::gelu_tanh().activation().to_string(),
        "GELU(approximate='tanh')"
    );
    assert_eq!(
        Activation::<f32>::gelu().activation().to_string(),
        "GELU(approximate='none')"
    );
    assert_eq!(
        Activation::<f32>::softplus().activation().to_string(),
        "Softplus(beta=1.0, threshold=20.0)"
    );
    assert_eq!(ActivationKind::Relu.to_string(), "ReLU()");
    let layer = Activation::<f64>::selu();
    assert_eq!(layer.output_shape(&[4, 9]).unwrap(), vec![4, 9]);
    assert!(layer.last_output().is_none());
    assert_eq!(layer.num_params(), 0);
}

#[test]
fn saturation_dead_units_and_gains() {
    let s = ActivationKind::Sigmoid;
    assert!(s.is_saturated(0.005) && s.is_saturated(0.995f32));
    assert!(!s.is_saturated(0.01) && !s.is_saturated(0.5) && !s.is_saturated(0.99));
    let t = ActivationKind::Tanh;
    assert!(t.is_saturated(-0.995) && t.is_saturated(0.999));
    assert!(!t.is_saturated(0.99) && !t.is_saturated(0.0));
    assert!(!ActivationKind::Relu.is_saturated(0.0));
    assert!(!s.is_saturated(f64::NAN) && !t.is_saturated(f64::NAN));
    assert!(ActivationKind::Relu.is_dead(0.0) && ActivationKind::Relu.is_dead(-0.0f32));
    assert!(!ActivationKind::Relu.is_dead(1e-30));
    assert!(ActivationKind::leaky_relu(0.0).unwrap().is_dead(0.0));
    assert!(!ActivationKind::leaky_relu(0.01).unwrap().is_dead(0.0));
    assert!(!ActivationKind::Sigmoid.is_dead(0.0));

    use crate::init::Nonlinearity as N;
    assert_eq!(ActivationKind::Relu.nonlinearity(), Some(N::Relu));
    assert_eq!(
        ActivationKind::leaky_relu(0.2).unwrap().nonlinearity(),
        Some(N::LeakyRelu(0.2))
    );
    assert_eq!(ActivationKind::Tanh.nonlinearity(), Some(N::Tanh));
    assert_eq!(ActivationKind::Sigmoid.nonlinearity(), Some(N::Sigmoid));
    assert_eq!(ActivationKind::Selu.nonlinearity(), Some(N::Selu));
    assert_eq!(
        Activation::<f64>::identity().nonlinearity(),
        Some(N::Linear)
    );
    for k in [
        ActivationKind::Gelu,
        ActivationKind::GeluTanh,
        ActivationKind::elu(1.0).unwrap(),
    ] {
        assert_eq!(k.nonlinearity(), None);
    }
    assert_eq!(Activation::<f64>::softplus().nonlinearity(), None);
}

#[test]
fn last_output_is_what_statistics_read() {
    let mut relu = Activation::<f64>::relu();
    let x = Tensor::from_rows(&[[-1.0, 2.0], [0.5, -3.0]]).unwrap();
    relu.forward(&x, Mode::Eval).unwrap();
    let y = relu.last_output().unwrap();
    let dead = y
        .as_slice()
        .iter()
        .filter(|&&v| ActivationKind::Relu.is_dead(v))
        .count();
    assert_eq!(dead, 2);
}
