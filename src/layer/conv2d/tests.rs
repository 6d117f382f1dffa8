use std::cell::Cell;

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Uniform;

use super::*;
use crate::Init;
use crate::gradcheck;

fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    Tensor::random(shape, &Uniform::new(-1.0, 1.0).unwrap(), &mut rng).unwrap()
}

/// The definition in the module docs, one output at a time, in f64.
fn direct(
    x: &Tensor<f64>,
    w: &Tensor<f64>,
    b: Option<&Tensor<f64>>,
    o: Conv2dOptions,
) -> Tensor<f64> {
    let [n, c, h, wd] = <[usize; 4]>::try_from(x.shape()).unwrap();
    let [oc, icg, kh, kw] = <[usize; 4]>::try_from(w.shape()).unwrap();
    let ((sh, sw), (ph, pw), (dh, dw)) = (o.stride, o.padding, o.dilation);
    let oh = (h + 2 * ph - dh * (kh - 1) - 1) / sh + 1;
    let ow = (wd + 2 * pw - dw * (kw - 1) - 1) / sw + 1;
    let ocg = oc / o.groups;
    assert_eq!(icg * o.groups, c);
    let mut y = Tensor::zeros(&[n, oc, oh, ow]).unwrap();
    for bi in 0..n {
        for co in 0..oc {
            let g = co / ocg;
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut s = b.map_or(0.0, |b| b.as_slice()[co]);
                    for ci in 0..icg {
                        for i in 0..kh {
                            for j in 0..kw {
                                let iy = (oy * sh + i * dh) as isize - ph as isize;
                                let ix = (ox * sw + j * dw) as isize - pw as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                s += w[&[co, ci, i, j][..]]
                                    * x[&[bi, g * icg + ci, iy as usize, ix as usize][..]];
                            }
                        }
                    }
                    y[&[bi, co, oy, ox][..]] = s;
                }
            }
        }
    }
    y
}

/// (input shape, out channels, kernel, options) covering strides, padding,
/// dilation, odd sizes, non-square kernels and groups.
/// Input shape, output channels, kernel, options.
type Case = ([usize; 4], usize, (usize, usize), Conv2dOptions);

fn cases() -> Vec<Case> {
    let d = Conv2dOptions::default();
    vec![
        ([2, 1, 5, 5], 2, (3, 3), d),
        ([2, 2, 5, 7], 3, (3, 3), d.padding(1)),
        ([1, 3, 7, 6], 2, (2, 3), d.stride((2, 1)).padding((1, 2))),
        (
            [2, 2, 7, 8],
            2,
            (3, 2),
            d.dilation((2, 3)).padding((2, 1)).stride((1, 2)),
        ),
        ([2, 4, 5, 5], 6, (3, 1), d.groups(2).padding((1, 0))),
        ([1, 4, 6, 5], 4, (2, 2), d.groups(4).stride(2)),
        ([3, 1, 4, 4], 1, (1, 1), d),
        ([1, 2, 3, 3], 3, (3, 3), d.stride(3).padding(1)),
        // More than 256 weights per group: the packed matrix kernel rather
        // than scaled rows and dot products.
        ([2, 8, 6, 5], 9, (3, 3), d.padding(1)),
        ([2, 6, 7, 6], 8, (2, 3), d.stride((2, 1)).padding((1, 2))),
        ([1, 8, 5, 6], 16, (3, 3), d.groups(2).padding(1)),
    ]
}

fn layer(case: &Case, seed: u64) -> Conv2d<f64> {
    let (shape, oc, k, o) = *case;
    let w = random(&[oc, shape[1] / o.groups, k.0, k.1], seed);
    let b = random(&[oc], seed + 1);
    Conv2d::from_weights(w, Some(b), o).unwrap()
}

#[test]
fn forward_matches_a_direct_convolution() {
    for (ci, case) in cases().iter().enumerate() {
        let mut conv = layer(case, ci as u64);
        let x = random(&case.0, 100 + ci as u64);
        let want = direct(&x, conv.weight(), conv.bias(), case.3);
        let got = conv.forward(&x, Mode::Train).unwrap().clone();
        assert_eq!(got.shape(), want.shape(), "case {ci}");
        assert_eq!(conv.output_shape(&case.0).unwrap(), want.shape());
        let err = got.sub(&want).unwrap().max_abs();
        assert!(err < 1e-13, "case {ci}: {err}");
        // f32 agrees to f32 rounding.
        let mut conv32 = Conv2d::<f32>::from_weights(
            conv.weight().cast(),
            conv.bias().map(|b| b.cast()),
            case.3,
        )
        .unwrap();
        let got32 = conv32.forward(&x.cast(), Mode::Eval).unwrap().cast::<f64>();
        assert!(got32.sub(&want).unwrap().max_abs() < 1e-5, "case {ci}");
    }
}

#[test]
fn a_small_case_by_hand() {
    // One 3×3 input, a 2×2 kernel [[1, 0], [0, −1]] (x[i,j] − x[i+1,j+1]), bias 0.5.
    let x = Tensor::from_vec(
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0],
        &[1, 1, 3, 3],
    )
    .unwrap();
    let w = Tensor::from_vec(vec![1.0, 0.0, 0.0, -1.0], &[1, 1, 2, 2]).unwrap();
    let b = Tensor::from_slice(&[0.5]);
    let mut conv = Conv2d::from_weights(w, Some(b), Conv2dOptions::default()).unwrap();
    let y = conv.forward(&x, Mode::Train).unwrap();
    // [1−5, 2−6; 4−8, 5−10] + 0.5
    assert_eq!(y.as_slice(), &[-3.5, -3.5, -3.5, -4.5]);
    // dy = ones: dW[i, j] = Σ of the 2×2 block of x at (i, j); db = 4.
    conv.backward(&Tensor::ones(&[1, 1, 2, 2]).unwrap())
        .unwrap();
    assert_eq!(conv.params()[0].grad.as_slice(), &[12.0, 16.0, 24.0, 29.0]);
    assert_eq!(conv.params()[1].grad.as_slice(), &[4.0]);
}

#[test]
fn gradcheck_every_case() {
    for (ci, case) in cases().iter().enumerate() {
        let x = random(&case.0, 200 + ci as u64);
        for bias in [true, false] {
            let mut conv = layer(case, ci as u64);
            if !bias {
                conv = conv.without_bias();
            }
            let r = gradcheck::layer(&mut conv, &x).unwrap();
            assert!(r.max_rel_error < 1e-6, "case {ci}: {r}");
            let n_params = conv.num_params();
            assert_eq!(r.checked, x.len() + n_params, "case {ci}");
        }
    }
}

#[test]
fn backward_params_gives_the_same_parameter_gradients() {
    let case = &cases()[3];
    let x = random(&case.0, 7);
    let mut a = layer(case, 1);
    let mut b = a.clone();
    let dy = random(&a.output_shape(&case.0).unwrap(), 8);
    a.forward(&x, Mode::Train).unwrap();
    a.backward(&dy).unwrap();
    b.forward(&x, Mode::Train).unwrap();
    b.backward_params(&dy).unwrap();
    assert_eq!(a.params()[0].grad, b.params()[0].grad);
    assert_eq!(a.params()[1].grad, b.params()[1].grad);
    // Gradients accumulate.
    a.backward(&dy).unwrap();
    assert_eq!(a.params()[1].grad, b.params()[1].grad.scale(2.0));
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Large enough for the matrix kernel to split the products.
    let case = (
        [8, 16, 14, 14],
        32,
        (3, 3),
        Conv2dOptions::default().padding(1),
    );
    let x = random(&case.0, 3);
    let dy = random(&[8, 32, 14, 14], 4);
    let run = |threads| {
        crate::set_num_threads(threads).unwrap();
        let mut conv = layer(&case, 5);
        let y = conv.forward(&x, Mode::Train).unwrap().clone();
        let dx = conv.backward(&dy).unwrap().clone();
        (y, dx, conv.params()[0].grad.clone())
    };
    let prev = crate::num_threads();
    let one = run(1);
    let two = run(2);
    crate::set_num_threads(prev).unwrap();
    assert_eq!(one, two);
}

/// A batch that takes several chunks (one sample's column matrix is over a
/// megabyte) gives what its samples give one at a time — the outputs and
/// input gradients, and the weight and bias gradients summed — so the
/// chunking is proven by the single-chunk cases' gradient checks.
#[test]
fn chunks_give_what_the_samples_give_one_at_a_time() {
    let case = (
        [3, 16, 30, 30],
        8,
        (3, 3),
        Conv2dOptions::default().padding(1),
    );
    let (l, _) = layer(&case, 0).spec.output_shape("test", &case.0).unwrap();
    assert!(
        chunked::chunk_samples::<f64>(&l) < case.0[0],
        "several chunks"
    );
    let x = random(&case.0, 11);
    let mut batch = layer(&case, 12);
    let dy = random(&batch.output_shape(&case.0).unwrap(), 13);
    let y = batch.forward(&x, Mode::Train).unwrap().clone();
    let dx = batch.backward(&dy).unwrap().clone();
    let err = y
        .sub(&direct(&x, batch.weight(), batch.bias(), case.3))
        .unwrap();
    assert!(err.max_abs() < 1e-12, "{}", err.max_abs());
    let mut one = layer(&case, 12);
    let (per_x, per_y) = (x.len() / 3, y.len() / 3);
    for b in 0..3 {
        let shape = |s: &[usize]| [1, s[1], s[2], s[3]];
        let xb = Tensor::from_slice(&x.as_slice()[b * per_x..][..per_x])
            .reshape(&shape(x.shape()))
            .unwrap();
        let dyb = Tensor::from_slice(&dy.as_slice()[b * per_y..][..per_y])
            .reshape(&shape(y.shape()))
            .unwrap();
        let yb = one.forward(&xb, Mode::Train).unwrap();
        assert_eq!(
            yb.as_slice(),
            &y.as_slice()[b * per_y..][..per_y],
            "sample {b}"
        );
        let dxb = one.backward(&dyb).unwrap();
        assert_eq!(
            dxb.as_slice(),
            &dx.as_slice()[b * per_x..][..per_x],
            "sample {b}"
        );
    }
    for (p, q) in batch.params().iter().zip(one.params()) {
        let err = p.grad.sub(&q.grad).unwrap().max_abs();
        assert!(err < 1e-10 * (1.0 + q.grad.max_abs()), "{}: {err}", p.name);
    }
}

#[test]
fn buffers_are_reused() {
    let case = &cases()[1];
    let mut conv = layer(case, 0);
    let x = random(&case.0, 1);
    let dy = random(&conv.output_shape(&case.0).unwrap(), 2);
    let mut ptrs = || {
        let y = conv.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
        let dx = conv.backward(&dy).unwrap().as_slice().as_ptr();
        (
            y,
            dx,
            conv.ws.col.as_ptr(),
            conv.ws.input.as_ptr(),
            conv.ws.chunk.as_ptr(),
            conv.ws.prod.as_ptr(),
            conv.ws.dcol.as_ptr(),
        )
    };
    let first = ptrs();
    assert_eq!(first, ptrs());
}

/// An initializer that records the fans it was given.
#[derive(Debug, Default)]
struct RecordFans(Cell<Option<Fans>>);

impl Initializer<f64> for RecordFans {
    fn fill(&self, w: &mut Tensor<f64>, fans: Fans, _rng: &mut dyn Rng) -> Result<()> {
        self.0.set(Some(fans));
        w.fill(0.5);
        Ok(())
    }
}

#[test]
fn fans_come_from_the_receptive_field_as_pytorch() {
    let mut rng = StdRng::seed_from_u64(0);
    let rec = RecordFans::default();
    let o = Conv2dOptions::default().groups(2);
    let conv = Conv2d::new(6, 4, (3, 5), o, &rec, &mut rng).unwrap();
    assert_eq!(conv.weight().shape(), &[4, 3, 3, 5]);
    // torch.nn.init._calculate_fan_in_and_fan_out: fan_in = size(1)·k, fan_out = size(0)·k.
    assert_eq!(
        rec.0.get(),
        Some(Fans {
            fan_in: 45,
            fan_out: 60
        })
    );
    assert_eq!(conv.bias().unwrap().as_slice(), &[0.0; 4]);
    let conv = conv.with_bias_init(&rec, &mut rng).unwrap();
    assert_eq!(conv.bias().unwrap().as_slice(), &[0.5; 4]);
    // he_normal has std √(2/fan_in): over 64·32·9 draws the sample std is within 2%.
    let conv = Conv2d::<f64>::new(
        32,
        64,
        3,
        Conv2dOptions::default(),
        &Init::he_normal(),
        &mut rng,
    )
    .unwrap();
    let w = conv.weight().as_slice();
    let var = w.iter().map(|v| v * v).sum::<f64>() / w.len() as f64;
    let want: f64 = 2.0 / (32.0 * 9.0);
    assert!(
        (var.sqrt() / want.sqrt() - 1.0).abs() < 0.02,
        "{var} vs {want}"
    );
    // torch_default: U(±1/√fan_in) for weight and bias.
    let conv = Conv2d::<f64>::new(
        4,
        8,
        3,
        Conv2dOptions::default(),
        &Init::torch_default(),
        &mut rng,
    )
    .and_then(|c| c.with_bias_init(&Init::torch_default(), &mut rng))
    .unwrap();
    let bound = 1.0 / 36f64.sqrt();
    assert!(conv.weight().max_abs() <= bound && conv.weight().max_abs() > 0.9 * bound);
    assert!(conv.bias().unwrap().max_abs() <= bound);
}

#[test]
fn errors_name_the_call_and_change_nothing() {
    let mut rng = StdRng::seed_from_u64(0);
    let init = Init::he_normal();
    let d = Conv2dOptions::default();
    let new =
        |i, o, k, opts| Conv2d::<f64>::new(i, o, k, opts, &init, &mut StdRng::seed_from_u64(0));
    assert!(new(0, 2, (3, 3), d).is_err());
    assert!(new(2, 0, (3, 3), d).is_err());
    assert!(new(2, 2, (0, 3), d).is_err());
    assert!(new(2, 2, (3, 3), d.stride((1, 0))).is_err());
    assert!(new(2, 2, (3, 3), d.dilation(0)).is_err());
    let err = new(4, 6, (3, 3), d.groups(4)).unwrap_err();
    assert!(
        err.to_string()
            .contains("divide both channel counts (4 and 6)"),
        "{err}"
    );
    assert!(new(4, 6, (3, 3), d.groups(0)).is_err());
    assert!(Conv2d::<f64>::new(1, 1, 3, d, &Init::normal(0.0, -1.0), &mut rng).is_err());
    // from_weights
    assert!(Conv2d::from_weights(random(&[2, 3, 3], 0), None, d).is_err());
    assert!(Conv2d::from_weights(random(&[2, 0, 3, 3], 0), None, d).is_err());
    let err = Conv2d::from_weights(random(&[2, 1, 3, 3], 0), Some(random(&[3], 0)), d).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Conv2d::from_weights: left is 2×1×3×3, right is 3"),
        "{err}"
    );
    assert!(Conv2d::from_weights(random(&[3, 1, 3, 3], 0), None, d.groups(2)).is_err());

    let mut conv = layer(&cases()[1], 0); // 2 → 3 channels, 3×3, padding 1
    let err = conv.backward(&random(&[2, 3, 5, 7], 0)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidState {
                op: "Conv2d backward",
                ..
            }
        ),
        "{err}"
    );
    let x = random(&[2, 2, 5, 7], 1);
    let y = conv.forward(&x, Mode::Train).unwrap().clone();
    let before = conv.clone();
    let err = conv
        .forward(&random(&[2, 3, 5, 7], 0), Mode::Train)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("Conv2d forward: left is 2×3×5×7, right is 2"),
        "{err}"
    );
    let err = conv
        .forward(&random(&[2, 2, 5], 0), Mode::Train)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidShape {
                op: "Conv2d forward",
                ..
            }
        ),
        "{err}"
    );
    let small = Conv2d::from_weights(random(&[1, 2, 3, 3], 0), None, d).unwrap();
    let err = small.output_shape(&[1, 2, 2, 5]).unwrap_err();
    assert!(
        err.to_string()
            .contains("smaller than the effective kernel 3×3"),
        "{err}"
    );
    let err = conv.backward(&random(&[2, 3, 5, 6], 0)).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ShapeMismatch {
                op: "Conv2d backward",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(conv, before);
    assert_eq!(conv.forward(&x, Mode::Train).unwrap(), &y);
    // A parameter replaced by one of another shape is reported, not read out of bounds.
    conv.params_mut()[0].value = random(&[3, 2, 2, 2], 0);
    let err = conv.forward(&x, Mode::Train).unwrap_err();
    assert!(
        err.to_string()
            .contains("weight has shape 3×2×2×2, expected 3×2×3×3"),
        "{err}"
    );
}

#[test]
fn metadata() {
    let conv = layer(&cases()[4], 0);
    assert_eq!(conv.kind(), "Conv2d");
    assert_eq!(
        (conv.in_channels(), conv.out_channels(), conv.groups()),
        (4, 6, 2)
    );
    assert_eq!(conv.window().kernel, (3, 1));
    assert_eq!(conv.window().padding, (1, 0));
    let p = conv.params();
    assert_eq!((p[0].name, p[0].kind), ("weight", ParamKind::Weight));
    assert_eq!((p[1].name, p[1].kind), ("bias", ParamKind::Bias));
    assert_eq!(conv.num_params(), 6 * 2 * 3 + 6);
}
