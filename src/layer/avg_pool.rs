//! Average pooling over NCHW batches: [`AvgPool2d`] (PyTorch's
//! `nn.AvgPool2d(kernel_size, stride=kernel_size, padding=0, count_include_pad=True)`)
//! and [`GlobalAvgPool2d`] (PyTorch's `nn.AdaptiveAvgPool2d(1)`).
//!
//! ```text
//! y[b, c, oy, ox] = (1/D) · Σ over taps (i, j) inside the input of x[b, c, oy·sh − ph + i, ox·sw − pw + j]
//! dx at each of those positions += dy[b, c, oy, ox] / D
//! ```
//!
//! With `count_include_pad` (PyTorch's default) the divisor `D` is the whole
//! window `kh·kw`, padding included, so a window half in the padding is pulled
//! towards zero; without it, `D` is the number of taps inside the input.
//! (With `ceil_mode=False`, PyTorch's default and the only mode here, a window
//! never reaches past the padding, so these are PyTorch's divisors exactly.)
//! Global average pooling is the mean of each whole `h × w` plane,
//! `y[b, c, 0, 0] = mean(x[b, c])`, `dx = dy/(h·w)`; follow it with
//! [`Flatten`](super::flatten::Flatten) as in PyTorch.

use crate::layer::conv2d::IntoPair;
use crate::layer::window::{
    PoolCache, Taps, Window2d, dims4, for_each_window, pair_config, pair_from_config,
};
use crate::layer::{Layer, LayerConfig, Mode};
use crate::{Result, Scalar, Tensor};

/// The divisor of a window with `taps` in-bounds taps: the whole kernel
/// with `count_include_pad`, else the in-bounds taps.
fn divisor(win: &Window2d, count_include_pad: bool, taps: &Taps) -> usize {
    if count_include_pad {
        win.kernel.0 * win.kernel.1
    } else {
        taps.count()
    }
}

/// `y = avg_pool(x)` into `out`; checks the input before writing anything.
fn avg_pool2d_forward<T: Scalar>(
    win: &Window2d,
    count_include_pad: bool,
    x: &Tensor<T>,
    out: &mut Tensor<T>,
) -> Result<()> {
    const OP: &str = "AvgPool2d forward";
    let dims = dims4(OP, x.shape())?;
    let hw = win.output_hw(OP, x.shape())?;
    out.resize_zeroed(&[dims[0], dims[1], hw.0, hw.1])?;
    let (xs, y) = (x.as_slice(), out.as_mut_slice());
    for_each_window(win, dims[0] * dims[1], (dims[2], dims[3]), hw, |k, taps| {
        let mut s = T::zero();
        taps.for_each(|i| s += xs[i]);
        y[k] = s / T::from_usize(divisor(win, count_include_pad, &taps));
    });
    Ok(())
}

/// `y[b, c] = mean(x[b, c])` into `out` (`[n, c, 1, 1]`); checks the input first.
fn global_avg_pool2d_forward<T: Scalar>(x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
    const OP: &str = "GlobalAvgPool2d";
    let [n, c, h, w] = dims4(OP, x.shape())?;
    if h == 0 || w == 0 {
        return Err(crate::Error::invalid_shape(
            OP,
            x.shape(),
            "the mean of an empty plane is undefined",
        ));
    }
    out.resize_zeroed(&[n, c, 1, 1])?;
    let inv = T::one() / T::from_usize(h * w);
    for (y, xs) in out
        .as_mut_slice()
        .iter_mut()
        .zip(x.as_slice().chunks_exact(h * w))
    {
        *y = xs.iter().copied().sum::<T>() * inv;
    }
    Ok(())
}

/// Average pooling, PyTorch's `nn.AvgPool2d`; see the [module docs](self).
///
/// ```
/// use weightwise::layer::avg_pool::AvgPool2d;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut pool = AvgPool2d::<f64>::new(2)?;
/// let x = Tensor::from_vec((0..16).map(f64::from).collect(), &[1, 1, 4, 4])?;
/// assert_eq!(pool.forward(&x, Mode::Train)?.as_slice(), &[2.5, 4.5, 10.5, 12.5]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AvgPool2d<T> {
    win: Window2d,
    count_include_pad: bool,
    cache: PoolCache<T>,
}

impl<T: Scalar> AvgPool2d<T> {
    /// Average pooling with a `kernel` (one size or `(kh, kw)`), stride equal
    /// to the kernel, no padding, `count_include_pad = true` (PyTorch's defaults).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a zero kernel size.
    pub fn new(kernel: impl IntoPair) -> Result<Self> {
        let kernel = kernel.pair();
        let mut win = Window2d::new(kernel);
        win.stride = kernel;
        Self::build(win, true)
    }

    fn build(win: Window2d, count_include_pad: bool) -> Result<Self> {
        win.validate("AvgPool2d")?;
        win.validate_pool_padding("AvgPool2d")?;
        Ok(AvgPool2d {
            win,
            count_include_pad,
            cache: PoolCache::default(),
        })
    }

    /// Sets the stride.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a zero stride.
    pub fn with_stride(self, stride: impl IntoPair) -> Result<Self> {
        let win = Window2d {
            stride: stride.pair(),
            ..self.win
        };
        Self::build(win, self.count_include_pad)
    }

    /// Sets the implicit zero padding.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for padding
    /// above half the kernel (PyTorch's rule).
    pub fn with_padding(self, padding: impl IntoPair) -> Result<Self> {
        let win = Window2d {
            padding: padding.pair(),
            ..self.win
        };
        Self::build(win, self.count_include_pad)
    }

    /// Whether padding counts in the divisor (PyTorch's `count_include_pad`, default `true`).
    pub fn with_count_include_pad(mut self, include: bool) -> Self {
        self.count_include_pad = include;
        self
    }

    /// The window: kernel, stride, padding (dilation is always 1).
    pub fn window(&self) -> Window2d {
        self.win
    }

    /// Whether padding counts in the divisor.
    pub fn count_include_pad(&self) -> bool {
        self.count_include_pad
    }

    /// Rebuilds a layer from its model-file description
    /// `AvgPool2d(kernel_size, stride, padding, count_include_pad)`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for a missing or invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        let win = Window2d {
            kernel: pair_from_config(config, "kernel_size")?,
            stride: pair_from_config(config, "stride")?,
            padding: pair_from_config(config, "padding")?,
            dilation: (1, 1),
        };
        Ok(Box::new(Self::build(
            win,
            config.bool("count_include_pad")?,
        )?))
    }
}

impl<T: Scalar> Layer<T> for AvgPool2d<T> {
    fn kind(&self) -> &'static str {
        "AvgPool2d"
    }

    /// `[n, c, h, w]` → `[n, c, oh, ow]`.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        const OP: &str = "AvgPool2d output_shape";
        let [n, c, _, _] = dims4(OP, input)?;
        let (oh, ow) = self.win.output_hw(OP, input)?;
        Ok(vec![n, c, oh, ow])
    }

    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        avg_pool2d_forward(&self.win, self.count_include_pad, x, out)
    }

    /// `AvgPool2d(kernel_size, stride, padding, count_include_pad)`.
    fn config(&self) -> Option<LayerConfig> {
        let w = self.win;
        Some(
            LayerConfig::new("AvgPool2d")
                .with("kernel_size", pair_config(w.kernel))
                .with("stride", pair_config(w.stride))
                .with("padding", pair_config(w.padding))
                .with("count_include_pad", self.count_include_pad),
        )
    }

    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        let (win, include) = (&self.win, self.count_include_pad);
        self.cache
            .forward(x, |x, out| avg_pool2d_forward(win, include, x, out))
    }

    /// Each window's gradient, divided by its divisor, onto its in-bounds taps.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        let (win, include) = (&self.win, self.count_include_pad);
        self.cache
            .backward("AvgPool2d backward", dy, |in_shape, dy, grad_input| {
                let [n, c, h, w] = dims4("AvgPool2d backward", in_shape)?;
                let out = (dy.shape()[2], dy.shape()[3]);
                grad_input.resize_zeroed(in_shape)?;
                let (g, dx) = (dy.as_slice(), grad_input.as_mut_slice());
                for_each_window(win, n * c, (h, w), out, |k, taps| {
                    let share = g[k] / T::from_usize(divisor(win, include, &taps));
                    taps.for_each(|i| dx[i] += share);
                });
                Ok(())
            })
    }
}

/// Global average pooling, PyTorch's `nn.AdaptiveAvgPool2d(1)`:
/// `[n, c, h, w]` → `[n, c, 1, 1]`, each plane's mean. See the [module docs](self).
///
/// ```
/// use weightwise::layer::avg_pool::GlobalAvgPool2d;
/// use weightwise::{Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut gap = GlobalAvgPool2d::<f64>::new();
/// let x = Tensor::from_vec((0..8).map(f64::from).collect(), &[1, 2, 2, 2])?;
/// assert_eq!(gap.forward(&x, Mode::Eval)?.as_slice(), &[1.5, 5.5]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GlobalAvgPool2d<T> {
    cache: PoolCache<T>,
}

impl<T: Scalar> GlobalAvgPool2d<T> {
    /// Global average pooling.
    pub fn new() -> Self {
        GlobalAvgPool2d {
            cache: PoolCache::default(),
        }
    }

    /// Rebuilds the layer from its model-file description
    /// `AdaptiveAvgPool2d(output_size=1)` (or `[1, 1]`).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for any other output size.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        if pair_from_config(config, "output_size")? != (1, 1) {
            return Err(config.unsupported("output_size", "1 (global average pooling)"));
        }
        Ok(Box::new(Self::new()))
    }
}

impl<T: Scalar> Layer<T> for GlobalAvgPool2d<T> {
    fn kind(&self) -> &'static str {
        "GlobalAvgPool2d"
    }

    /// `[n, c, h, w]` → `[n, c, 1, 1]`; the plane must not be empty.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        const OP: &str = "GlobalAvgPool2d";
        let [n, c, h, w] = dims4(OP, input)?;
        if h == 0 || w == 0 {
            return Err(crate::Error::invalid_shape(
                OP,
                input,
                "the mean of an empty plane is undefined",
            ));
        }
        Ok(vec![n, c, 1, 1])
    }

    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        global_avg_pool2d_forward(x, out)
    }

    /// `AdaptiveAvgPool2d(output_size=1)`.
    fn config(&self) -> Option<LayerConfig> {
        Some(LayerConfig::new("AdaptiveAvgPool2d").with("output_size", 1usize))
    }

    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        self.cache.forward(x, global_avg_pool2d_forward)
    }

    /// `dx = dy/(h·w)` over each plane.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        self.cache.backward(
            "GlobalAvgPool2d backward",
            dy,
            |in_shape, dy, grad_input| {
                let plane = in_shape[2] * in_shape[3];
                grad_input.resize_zeroed(in_shape)?;
                let inv = T::one() / T::from_usize(plane);
                for (dx, &g) in grad_input
                    .as_mut_slice()
                    .chunks_exact_mut(plane)
                    .zip(dy.as_slice())
                {
                    dx.fill(g * inv);
                }
                Ok(())
            },
        )
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

    #[test]
    fn padding_in_or_out_of_the_divisor() {
        // x = 1..25 as 5×5, AvgPool2d(3, stride=2, padding=1).
        let x = Tensor::from_vec((1..=25).map(f64::from).collect(), &[1, 1, 5, 5]).unwrap();
        let mut pool = AvgPool2d::new(3)
            .unwrap()
            .with_stride(2)
            .unwrap()
            .with_padding(1)
            .unwrap();
        let y = pool.forward(&x, Mode::Train).unwrap().clone();
        assert_eq!(y.shape(), &[1, 1, 3, 3]);
        // Top-left window holds 1 + 2 + 6 + 7 = 16 and five padding zeros: 16/9 with
        // padding counted, 16/4 without. Centre: 7+8+9+12+13+14+17+18+19 = 117, /9 = 13.
        // Top-middle: 2+3+4+7+8+9 = 33: 33/9 and 33/6.
        assert!((y.as_slice()[0] - 16.0 / 9.0).abs() < 1e-15);
        assert!((y.as_slice()[1] - 33.0 / 9.0).abs() < 1e-15);
        assert!((y.as_slice()[4] - 13.0).abs() < 1e-15);
        let mut pool = pool.with_count_include_pad(false);
        assert!(!pool.count_include_pad());
        let y = pool.forward(&x, Mode::Train).unwrap();
        assert_eq!(y.as_slice()[..2], [4.0, 5.5]);
        assert_eq!(y.as_slice()[4], 13.0);
        // The same as PyTorch 2.x prints for both (rounded to 4 places).
        let torch_excl = [4.0, 5.5, 7.0, 11.5, 13.0, 14.5, 19.0, 20.5, 22.0];
        assert_eq!(y.as_slice(), &torch_excl);
    }

    #[test]
    fn gradchecks() {
        let cases = [
            ([2, 2, 4, 4], (2, 2), (2, 2), (0, 0)),
            ([1, 2, 7, 5], (3, 3), (2, 2), (1, 1)),
            ([2, 1, 6, 7], (2, 3), (1, 2), (1, 0)),
            ([1, 1, 5, 6], (3, 2), (3, 1), (1, 1)),
        ];
        for (ci, (shape, k, s, p)) in cases.into_iter().enumerate() {
            let x = random(&shape, ci as u64);
            for include in [true, false] {
                let mut pool = AvgPool2d::new(k)
                    .and_then(|l| l.with_stride(s))
                    .and_then(|l| l.with_padding(p))
                    .unwrap()
                    .with_count_include_pad(include);
                assert_eq!(
                    pool.output_shape(&shape).unwrap(),
                    pool.forward(&x, Mode::Train).unwrap().shape()
                );
                let r = gradcheck::layer(&mut pool, &x).unwrap();
                assert!(r.max_rel_error < 1e-6, "case {ci}: {r}");
            }
        }
        let mut gap = GlobalAvgPool2d::new();
        let x = random(&[2, 3, 5, 3], 9);
        let r = gradcheck::layer(&mut gap, &x).unwrap();
        assert!(r.max_rel_error < 1e-6, "{r}");
        let y = gap.forward(&x, Mode::Eval).unwrap();
        assert_eq!(y.shape(), &[2, 3, 1, 1]);
        let plane1: f64 = x.as_slice()[15..30].iter().sum();
        assert!((y.as_slice()[1] - plane1 / 15.0).abs() < 1e-15);
    }

    #[test]
    fn errors() {
        assert!(AvgPool2d::<f64>::new((2, 0)).is_err());
        assert!(AvgPool2d::<f64>::new(2).unwrap().with_stride(0).is_err());
        assert!(AvgPool2d::<f64>::new(2).unwrap().with_padding(2).is_err());
        let mut pool = AvgPool2d::<f64>::new(2).unwrap();
        assert!(matches!(
            pool.backward(&Tensor::ones(&[1, 1, 1, 1]).unwrap()),
            Err(Error::InvalidState { .. })
        ));
        assert!(
            pool.forward(&Tensor::ones(&[1, 4]).unwrap(), Mode::Train)
                .is_err()
        );
        let x = random(&[1, 1, 4, 4], 0);
        pool.forward(&x, Mode::Train).unwrap();
        let before = pool.clone();
        assert!(
            pool.forward(&Tensor::ones(&[1, 1, 1, 1]).unwrap(), Mode::Train)
                .is_err()
        );
        assert!(
            pool.backward(&Tensor::ones(&[1, 1, 2, 1]).unwrap())
                .is_err()
        );
        assert_eq!(pool, before);
        assert_eq!(pool.kind(), "AvgPool2d");
        let mut gap = GlobalAvgPool2d::<f64>::new();
        assert!(gap.backward(&Tensor::ones(&[1, 1, 1, 1]).unwrap()).is_err());
        assert!(
            gap.forward(&Tensor::ones(&[1, 1, 0, 3]).unwrap(), Mode::Train)
                .is_err()
        );
        assert!(gap.output_shape(&[2, 3]).is_err());
        assert_eq!(gap.kind(), "GlobalAvgPool2d");
    }
}
