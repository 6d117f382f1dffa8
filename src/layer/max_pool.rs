//! [`MaxPool2d`]: the maximum over each window of an NCHW batch, PyTorch's
//! `nn.MaxPool2d(kernel_size, stride=kernel_size, padding=0, dilation=1)`.
//!
//! ```text
//! y[b, c, oy, ox] = max over taps (i, j) inside the input of x[b, c, oy·sh − ph + i·dh, ox·sw − pw + j·dw]
//! dx[b, c, p]    += dy[b, c, oy, ox]  for the one position p that gave the maximum
//! ```
//!
//! Padding is implicit negative infinity (it never wins), and PyTorch's rule
//! that padding is at most half the effective kernel is enforced. Windows are
//! scanned row by row, left to right; on a tie the **first** maximum in that
//! order is the one recorded and the only one that receives the gradient, as
//! in PyTorch. A NaN in a window wins over every number (it propagates, as
//! `torch.max_pool2d` does). Output sizes use `ceil_mode=False`, PyTorch's default.

use crate::gemm::par_items;
use crate::layer::conv2d::IntoPair;
use crate::layer::window::{
    PoolCache, Window2d, dims4, for_each_window, pair_config, pair_from_config,
    resize_for_overwrite,
};
use crate::layer::{Layer, LayerConfig, Mode};
use crate::{Result, Scalar, Tensor};

/// Index recorded for a window that holds no input element (possible only
/// with a large dilation); its output is −∞ and it passes no gradient.
const NONE: usize = usize::MAX;

/// The flat input index of each output's maximum, kept for the backward
/// pass ([`NONE`] for an empty window).
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PoolWorkspace {
    argmax: Vec<usize>,
}

/// `y = max_pool(x)` into `out`, recording in `ws` the flat input index of
/// each output's maximum. Checks the input before writing anything. The
/// planes are split between the products' threads.
pub(crate) fn max_pool2d_forward<T: Scalar>(
    win: &Window2d,
    x: &Tensor<T>,
    out: &mut Tensor<T>,
    ws: &mut PoolWorkspace,
) -> Result<()> {
    const OP: &str = "MaxPool2d forward";
    let [n, c, h, w] = dims4(OP, x.shape())?;
    let (oh, ow) = win.output_hw(OP, x.shape())?;
    resize_for_overwrite(out, &[n, c, oh, ow])?;
    ws.argmax.resize(n * c * oh * ow, NONE);
    let xs = x.as_slice();
    let fast = *win == Window2d::new((2, 2)).with_stride_of_kernel();
    let (y, argmax) = ((out.as_mut_slice(), oh * ow), (&mut ws.argmax[..], oh * ow));
    par_items(n * c, y, argmax, &|first, y, argmax| {
        let planes = y.len() / (oh * ow).max(1);
        let base = first * h * w;
        let xs = &xs[base..][..planes * h * w];
        if fast {
            max_pool_2x2((xs, base), [planes, h, w], (oh, ow), y, argmax);
        } else {
            for_each_window(win, planes, (h, w), (oh, ow), |k, taps| {
                let mut best = T::neg_infinity();
                let mut at = NONE;
                taps.for_each(|idx| {
                    let v = xs[idx];
                    // Strictly greater: the first maximum stays. NaN always takes over.
                    if v > best || v.is_nan() || at == NONE {
                        best = v;
                        at = idx;
                    }
                });
                y[k] = best;
                argmax[k] = if at == NONE { NONE } else { base + at };
            });
        }
    });
    Ok(())
}

/// The common 2×2, stride-2 window over `planes` planes of `h × w` (`xs`,
/// whose first value is input index `base`, which `argmax` is counted from): the
/// same scan order and tie rule as the general walk (strictly greater wins,
/// a NaN always takes over), written without branches, since which of four
/// random values wins is unpredictable.
fn max_pool_2x2<T: Scalar>(
    (xs, base): (&[T], usize),
    [planes, h, w]: [usize; 3],
    (oh, ow): (usize, usize),
    y: &mut [T],
    argmax: &mut [usize],
) {
    for r in 0..planes * oh {
        let (p, oy) = (r / oh, r % oh);
        let top = p * h * w + 2 * oy * w;
        let upper = &xs[top..top + 2 * ow];
        let lower = &xs[top + w..top + w + 2 * ow];
        let y_row = &mut y[r * ow..(r + 1) * ow];
        let at_row = &mut argmax[r * ow..(r + 1) * ow];
        for ox in 0..ow {
            let mut best = upper[2 * ox];
            let mut off = 0;
            let rest = [
                (upper[2 * ox + 1], 1),
                (lower[2 * ox], w),
                (lower[2 * ox + 1], w + 1),
            ];
            for (v, o) in rest {
                // `|` rather than `||`: no jumps (ten times faster on random data).
                let take = (v > best) | v.is_nan();
                best = if take { v } else { best };
                off = if take { o } else { off };
            }
            y_row[ox] = best;
            at_row[ox] = base + top + 2 * ox + off;
        }
    }
}

/// `dx = 0`, then `dx[argmax[k]] += dy[k]` for every output `k`, the planes
/// split between the products' threads (each window lies in its own plane).
pub(crate) fn max_pool2d_backward<T: Scalar>(
    argmax: &[usize],
    in_shape: &[usize],
    dy: &[T],
    dx: &mut Tensor<T>,
) -> Result<()> {
    let [n, c, h, w] = dims4("MaxPool2d backward", in_shape)?;
    resize_for_overwrite(dx, in_shape)?;
    let per_out = dy.len() / (n * c).max(1);
    par_items(
        n * c,
        (dx.as_mut_slice(), h * w),
        (&mut [0u8; 0][..], 0),
        &|first, d, _| {
            d.fill(T::zero());
            let outs = first * per_out..(first + d.len() / (h * w).max(1)) * per_out;
            for (&at, &g) in argmax[outs.clone()].iter().zip(&dy[outs]) {
                if at != NONE {
                    d[at - first * h * w] += g;
                }
            }
        },
    );
    Ok(())
}

/// Max pooling over NCHW batches, PyTorch's `nn.MaxPool2d`; see the [module docs](self).
///
/// ```
/// use weightwise::layer::max_pool::MaxPool2d;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut pool = MaxPool2d::<f64>::new(2)?; // stride defaults to the kernel
/// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4])?;
/// assert_eq!(pool.forward(&x, Mode::Train)?.as_slice(), &[5.0, 7.0, 13.0, 15.0]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MaxPool2d<T> {
    win: Window2d,
    ws: PoolWorkspace,
    cache: PoolCache<T>,
}

impl<T: Scalar> MaxPool2d<T> {
    /// Max pooling with a `kernel` (one size or `(kh, kw)`), stride equal to
    /// the kernel, no padding, no dilation (PyTorch's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a zero kernel size.
    pub fn new(kernel: impl IntoPair) -> Result<Self> {
        let kernel = kernel.pair();
        let mut win = Window2d::new(kernel);
        win.stride = kernel;
        Self::with_window(win)
    }

    /// Max pooling with every setting given.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a zero
    /// kernel, stride or dilation, or padding above half the effective kernel.
    pub fn with_window(win: Window2d) -> Result<Self> {
        win.validate("MaxPool2d")?;
        win.validate_pool_padding("MaxPool2d")?;
        Ok(MaxPool2d {
            win,
            ws: PoolWorkspace::default(),
            cache: PoolCache::default(),
        })
    }

    /// Sets the stride.
    ///
    /// # Errors
    /// As for [`MaxPool2d::with_window`].
    pub fn with_stride(self, stride: impl IntoPair) -> Result<Self> {
        Self::with_window(Window2d {
            stride: stride.pair(),
            ..self.win
        })
    }

    /// Sets the implicit (−∞) padding.
    ///
    /// # Errors
    /// As for [`MaxPool2d::with_window`].
    pub fn with_padding(self, padding: impl IntoPair) -> Result<Self> {
        Self::with_window(Window2d {
            padding: padding.pair(),
            ..self.win
        })
    }

    /// Sets the dilation.
    ///
    /// # Errors
    /// As for [`MaxPool2d::with_window`].
    pub fn with_dilation(self, dilation: impl IntoPair) -> Result<Self> {
        Self::with_window(Window2d {
            dilation: dilation.pair(),
            ..self.win
        })
    }

    /// The window: kernel, stride, padding, dilation.
    pub fn window(&self) -> Window2d {
        self.win
    }

    /// Rebuilds a layer from its model-file description
    /// `MaxPool2d(kernel_size, stride, padding, dilation)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a missing or invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        let win = Window2d {
            kernel: pair_from_config(config, "kernel_size")?,
            stride: pair_from_config(config, "stride")?,
            padding: pair_from_config(config, "padding")?,
            dilation: pair_from_config(config, "dilation")?,
        };
        Ok(Box::new(Self::with_window(win)?))
    }
}

impl<T: Scalar> Layer<T> for MaxPool2d<T> {
    fn kind(&self) -> &'static str {
        "MaxPool2d"
    }

    /// `[n, c, h, w]` → `[n, c, oh, ow]`.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        const OP: &str = "MaxPool2d output_shape";
        let [n, c, _, _] = dims4(OP, input)?;
        let (oh, ow) = self.win.output_hw(OP, input)?;
        Ok(vec![n, c, oh, ow])
    }

    /// The pooling into `out`, with this thread's reusable index buffers.
    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        thread_local! {
            static WS: std::cell::RefCell<PoolWorkspace> = std::cell::RefCell::default();
        }
        WS.with_borrow_mut(|ws| max_pool2d_forward(&self.win, x, out, ws))
    }

    /// `MaxPool2d(kernel_size, stride, padding, dilation)`.
    fn config(&self) -> Option<LayerConfig> {
        let w = self.win;
        Some(
            LayerConfig::new("MaxPool2d")
                .with("kernel_size", pair_config(w.kernel))
                .with("stride", pair_config(w.stride))
                .with("padding", pair_config(w.padding))
                .with("dilation", pair_config(w.dilation)),
        )
    }

    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        let (win, ws) = (&self.win, &mut self.ws);
        self.cache
            .forward(x, |x, out| max_pool2d_forward(win, x, out, ws))
    }

    /// The gradient goes to the first maximum of each window.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        let argmax = &self.ws.argmax;
        self.cache
            .backward("MaxPool2d backward", dy, |in_shape, dy, dx| {
                max_pool2d_backward(argmax, in_shape, dy.as_slice(), dx)
            })
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};
    use rand_distr::Uniform;

    use super::*;
    use crate::{Error, gradcheck};

    fn random(shape: &[usize], seed: u64) -> Tensor<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        Tensor::random(shape, &Uniform::new(-1.0, 1.0).unwrap(), &mut rng).unwrap()
    }

    /// The definition: maximum over the in-bounds taps, first one on ties.
    fn direct(x: &Tensor<f64>, win: Window2d) -> (Tensor<f64>, Vec<[usize; 4]>) {
        let [n, c, h, w] = <[usize; 4]>::try_from(x.shape()).unwrap();
        let (oh, ow) = win.output_hw("t", x.shape()).unwrap();
        let mut y = Tensor::zeros(&[n, c, oh, ow]).unwrap();
        let mut at = Vec::new();
        for b in 0..n {
            for ch in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut best = (f64::NEG_INFINITY, [0; 4]);
                        let mut found = false;
                        for i in 0..win.kernel.0 {
                            for j in 0..win.kernel.1 {
                                let iy = (oy * win.stride.0 + i * win.dilation.0) as isize
                                    - win.padding.0 as isize;
                                let ix = (ox * win.stride.1 + j * win.dilation.1) as isize
                                    - win.padding.1 as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                    continue;
                                }
                                let idx = [b, ch, iy as usize, ix as usize];
                                let v = x[&idx[..]];
                                if !found || v > best.0 {
                                    best = (v, idx);
                                    found = true;
                                }
                            }
                        }
                        y[&[b, ch, oy, ox][..]] = best.0;
                        at.push(best.1);
                    }
                }
            }
        }
        (y, at)
    }

    fn windows() -> Vec<([usize; 4], Window2d)> {
        let w = |k, s, p, d| Window2d {
            kernel: k,
            stride: s,
            padding: p,
            dilation: d,
        };
        vec![
            ([2, 3, 4, 4], w((2, 2), (2, 2), (0, 0), (1, 1))),
            ([1, 2, 7, 5], w((3, 3), (2, 2), (1, 1), (1, 1))),
            ([2, 1, 6, 7], w((2, 3), (1, 2), (1, 0), (1, 1))),
            ([1, 2, 9, 8], w((3, 2), (2, 1), (2, 1), (2, 3))),
            ([1, 1, 5, 5], w((3, 3), (1, 1), (0, 0), (1, 1))),
            // The 2×2, stride-2 fast path, on odd sizes too.
            ([2, 2, 5, 7], w((2, 2), (2, 2), (0, 0), (1, 1))),
        ]
    }

    #[test]
    fn forward_matches_the_definition_and_gradchecks() {
        for (ci, (shape, win)) in windows().into_iter().enumerate() {
            let x = random(&shape, ci as u64);
            let mut pool = MaxPool2d::with_window(win).unwrap();
            let (want, _) = direct(&x, win);
            assert_eq!(pool.forward(&x, Mode::Train).unwrap(), &want, "case {ci}");
            assert_eq!(pool.output_shape(&shape).unwrap(), want.shape());
            // Distinct random values: max is differentiable away from ties.
            let r = gradcheck::layer(&mut pool, &x).unwrap();
            assert!(r.max_rel_error < 1e-6, "case {ci}: {r}");
            let mut pool32 = MaxPool2d::<f32>::with_window(win).unwrap();
            assert_eq!(
                pool32.forward(&x.cast(), Mode::Eval).unwrap(),
                &want.cast::<f32>()
            );
        }
    }

    #[test]
    fn ties_send_the_gradient_to_the_first_maximum_in_scan_order() {
        // torch: x = ones(1,1,2,2) → MaxPool2d(2) → backward(ones) gives [[1, 0], [0, 0]].
        let mut pool = MaxPool2d::<f64>::new(2).unwrap();
        let x = Tensor::ones(&[1, 1, 2, 2]).unwrap();
        pool.forward(&x, Mode::Train).unwrap();
        let dx = pool
            .backward(&Tensor::ones(&[1, 1, 1, 1]).unwrap())
            .unwrap();
        assert_eq!(dx.as_slice(), &[1.0, 0.0, 0.0, 0.0]);
        // Overlapping windows of a constant row (kernel 3, stride 1, padding 1): each
        // window's first in-bounds element gets its gradient: positions 0, 0, 1, 2.
        let mut pool = MaxPool2d::<f64>::new((1, 3))
            .unwrap()
            .with_stride(1)
            .unwrap()
            .with_padding((0, 1))
            .unwrap();
        let x = Tensor::full(&[1, 1, 1, 4], 2.0).unwrap();
        pool.forward(&x, Mode::Train).unwrap();
        let dx = pool
            .backward(&Tensor::from_vec(vec![1.0, 10.0, 100.0, 1000.0], &[1, 1, 1, 4]).unwrap())
            .unwrap();
        assert_eq!(dx.as_slice(), &[11.0, 100.0, 1000.0, 0.0]);
        // The direct definition agrees on where each maximum is.
        let (_, at) = direct(&x, pool.window());
        assert_eq!(
            at.iter().map(|a| a[3]).collect::<Vec<_>>(),
            vec![0, 0, 1, 2]
        );
    }

    #[test]
    fn nan_propagates_and_padding_never_wins() {
        let mut pool = MaxPool2d::<f64>::new(2).unwrap().with_padding(1).unwrap();
        let x = Tensor::from_vec(vec![-5.0, -6.0, f64::NAN, -7.0], &[1, 1, 2, 2]).unwrap();
        let y = pool.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.shape(), &[1, 1, 2, 2]);
        assert_eq!(y.as_slice()[..2], [-5.0, -6.0]);
        assert!(y.as_slice()[2].is_nan());
        assert_eq!(y.as_slice()[3], -7.0);
    }

    #[test]
    fn errors() {
        assert!(MaxPool2d::<f64>::new(0).is_err());
        assert!(
            MaxPool2d::<f64>::new(2)
                .unwrap()
                .with_stride((0, 1))
                .is_err()
        );
        let err = MaxPool2d::<f64>::new(3)
            .unwrap()
            .with_padding(2)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("at most half the effective kernel"),
            "{err}"
        );
        assert!(
            MaxPool2d::<f64>::new(3)
                .unwrap()
                .with_dilation(2)
                .unwrap()
                .with_padding(2)
                .is_ok()
        );
        let mut pool = MaxPool2d::<f64>::new(2).unwrap();
        let err = pool
            .backward(&Tensor::ones(&[1, 1, 1, 1]).unwrap())
            .unwrap_err();
        assert!(matches!(err, Error::InvalidState { .. }), "{err}");
        assert!(
            pool.forward(&Tensor::ones(&[4, 4]).unwrap(), Mode::Train)
                .is_err()
        );
        assert!(
            pool.forward(&Tensor::ones(&[1, 1, 1, 4]).unwrap(), Mode::Train)
                .is_err()
        );
        let x = random(&[1, 2, 4, 4], 0);
        pool.forward(&x, Mode::Train).unwrap();
        let before = pool.clone();
        assert!(
            pool.forward(&Tensor::ones(&[1, 1, 1, 4]).unwrap(), Mode::Train)
                .is_err()
        );
        assert!(
            pool.backward(&Tensor::ones(&[1, 2, 2, 3]).unwrap())
                .is_err()
        );
        assert_eq!(pool, before);
        assert_eq!(pool.kind(), "MaxPool2d");
        assert_eq!(pool.num_params(), 0);
    }
}
