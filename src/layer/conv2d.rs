//! [`Conv2d`]: 2-D convolution over NCHW batches, PyTorch's `nn.Conv2d`.
//!
//! # Layout and formula (PyTorch's)
//!
//! Input `x: [n, in_c, h, w]`, weight `W: [out_c, in_c/groups, kh, kw]`,
//! optional bias `b: [out_c]`, output `y: [n, out_c, oh, ow]` with `oh`, `ow`
//! from the [window arithmetic](crate::layer::window). Output channel `o`
//! belongs to group `g = o / (out_c/groups)` and sees only that group's
//! `in_c/groups` input channels:
//!
//! ```text
//! y[b, o, oy, ox] = bias[o] + Σ_{ci, i, j} W[o, ci, i, j] · x[b, g·(in_c/groups) + ci, oy·sh − ph + i·dh, ox·sw − pw + j·dw]
//! ```
//!
//! with zero padding. Like PyTorch (and unlike the textbook definition) this is a
//! cross-correlation: the kernel is not flipped. A PyTorch `state_dict`'s
//! `weight` and `bias` load without any reordering.
//!
//! # Computation
//!
//! The input is lowered to a column matrix (im2col):
//! `col: [in_c·kh·kw, n·oh·ow]`, so that per group
//!
//! ```text
//! forward:   Y_g  = W_g · col_g                 [out_c/groups, n·oh·ow]
//! backward:  dW_g += dY_g · col_gᵀ
//!            db   += Σ over n, oy, ox of dy
//!            dcol_g = W_gᵀ · dY_g,   dx = col2im(dcol)
//! ```
//!
//! on the crate's packed matrix kernel, threaded like any large product.
//! The batch goes through these in chunks of whole samples whose column
//! matrix fits in a megabyte, so it stays in the core's cache between
//! being lowered, packed and multiplied (`chunked.rs`); the backward pass
//! lowers each chunk again from a kept copy of the input, and `dW`
//! accumulates the chunks in order. The passes around the products — the
//! lowering (by rows of `col`), laying `Y` out as NCHW with the bias (by
//! sample), `dY` back as `[out_c, len·P]` (by channel) and `col2im` (by
//! sample) — are split between the same threads, each item computed whole
//! by one thread, and the chunk size depends on the shapes alone, so results
//! do not depend on the thread count. With few weights (at most
//! 256 per group, e.g. a first layer's `16 × 1 × 3 × 3`) the products skip
//! the packed kernel, whose time would go into storing and reordering a
//! `k = 9` product: `Y` is built sample by sample as scaled rows of `col`,
//! straight in NCHW, and `dW` is dot products straight from `dy`. `db` is
//! sums over `dy`. Without `dx` (a first layer) and with few weights, the
//! reordering of `dY`, the second product and `col2im` are skipped altogether. Every buffer (the column matrix, the product,
//! the output and gradients) is kept and reused, so after the first batch
//! of a given shape neither pass allocates.

use rand::Rng;

use passes::{ConvWorkspace, conv2d_backward, conv2d_forward, with_scratch};

use crate::init::{Fans, Initializer};
use crate::layer::im2col::Lowering;
use crate::layer::window::{Window2d, nchw, pair_config, pair_from_config};
use crate::layer::{Layer, LayerConfig, Mode, Param, ParamKind, check_backward};
use crate::{Error, Result, Scalar, Tensor};

mod chunked;
mod passes;

/// A size given as one number for both axes or as `(height, width)`, as
/// PyTorch accepts `kernel_size=3` or `kernel_size=(3, 5)`.
pub trait IntoPair {
    /// `(height, width)`.
    fn pair(self) -> (usize, usize);
}

impl IntoPair for usize {
    fn pair(self) -> (usize, usize) {
        (self, self)
    }
}

impl IntoPair for (usize, usize) {
    fn pair(self) -> (usize, usize) {
        self
    }
}

/// Stride, padding, dilation and groups of a [`Conv2d`]; the default is
/// PyTorch's: stride 1, padding 0, dilation 1, groups 1.
///
/// ```
/// use weightwise::layer::conv2d::Conv2dOptions;
/// let same = Conv2dOptions::default().padding(1); // 3×3 "same" convolution
/// let down = Conv2dOptions::default().stride(2).padding((1, 0));
/// assert_eq!(down.stride, (2, 2));
/// assert_eq!(down.padding, (1, 0));
/// # let _ = same;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dOptions {
    /// Step between output positions `(sh, sw)`.
    pub stride: (usize, usize),
    /// Zeros added on both sides `(ph, pw)`.
    pub padding: (usize, usize),
    /// Spacing of the kernel taps `(dh, dw)`.
    pub dilation: (usize, usize),
    /// Number of channel groups; both channel counts must be multiples of it.
    pub groups: usize,
}

impl Default for Conv2dOptions {
    fn default() -> Self {
        Conv2dOptions {
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
            groups: 1,
        }
    }
}

impl Conv2dOptions {
    /// Sets the stride.
    pub fn stride(mut self, stride: impl IntoPair) -> Self {
        self.stride = stride.pair();
        self
    }

    /// Sets the zero padding.
    pub fn padding(mut self, padding: impl IntoPair) -> Self {
        self.padding = padding.pair();
        self
    }

    /// Sets the dilation.
    pub fn dilation(mut self, dilation: impl IntoPair) -> Self {
        self.dilation = dilation.pair();
        self
    }

    /// Sets the number of groups.
    pub fn groups(mut self, groups: usize) -> Self {
        self.groups = groups;
        self
    }
}

/// The shape-defining settings of a convolution: what the compute functions need besides tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ConvSpec {
    pub in_channels: usize,
    pub out_channels: usize,
    pub groups: usize,
    pub win: Window2d,
}

impl ConvSpec {
    /// `[out_c, in_c/groups, kh, kw]`.
    fn weight_shape(&self) -> [usize; 4] {
        let (kh, kw) = self.win.kernel;
        [self.out_channels, self.in_channels / self.groups, kh, kw]
    }

    fn validate(&self) -> Result<()> {
        const OP: &str = "Conv2d";
        self.win.validate(OP)?;
        if self.in_channels == 0 || self.out_channels == 0 {
            return Err(Error::invalid_arg(
                OP,
                format!("channels {} → {}", self.in_channels, self.out_channels),
                "a convolution needs at least one input and one output channel",
            ));
        }
        if self.groups == 0
            || !self.in_channels.is_multiple_of(self.groups)
            || !self.out_channels.is_multiple_of(self.groups)
        {
            return Err(Error::invalid_arg(
                OP,
                format!("groups {}", self.groups),
                format!(
                    "must be positive and divide both channel counts ({} and {})",
                    self.in_channels, self.out_channels
                ),
            ));
        }
        Ok(())
    }

    /// Output shape for an NCHW input shape.
    fn output_shape(&self, op: &'static str, x: &[usize]) -> Result<(Lowering, [usize; 4])> {
        let dims = nchw(op, x, self.in_channels)?;
        let out = self.win.output_hw(op, x)?;
        let l = Lowering {
            dims,
            out,
            win: self.win,
        };
        // Shape arithmetic is checked: the column matrix must be addressable.
        l.rows()
            .checked_mul(l.cols())
            .ok_or_else(|| Error::invalid_shape(op, x, "the lowered input overflows usize"))?;
        Ok((l, [dims[0], self.out_channels, out.0, out.1]))
    }
}

/// A 2-D convolution over NCHW batches, PyTorch's
/// `nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`.
///
/// Parameters (PyTorch's names and layouts): `"weight"` `[out_c, in_c/groups, kh, kw]`
/// ([`ParamKind::Weight`]) and `"bias"` `[out_c]` ([`ParamKind::Bias`]).
/// See the [module docs](self) for the formula and how it is computed.
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use weightwise::layer::conv2d::{Conv2d, Conv2dOptions};
/// use weightwise::{Init, Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut rng = StdRng::seed_from_u64(0);
/// // nn.Conv2d(1, 4, 3, padding=1)
/// let mut conv = Conv2d::<f32>::new(1, 4, 3, Conv2dOptions::default().padding(1), &Init::he_normal(), &mut rng)?;
/// assert_eq!(conv.weight().shape(), &[4, 1, 3, 3]);
/// let x = Tensor::ones(&[2, 1, 8, 8])?;
/// assert_eq!(conv.forward(&x, Mode::Train)?.shape(), &[2, 4, 8, 8]);
/// let dx = conv.backward(&Tensor::ones(&[2, 4, 8, 8])?)?;
/// assert_eq!(dx.shape(), &[2, 1, 8, 8]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Conv2d<T> {
    spec: ConvSpec,
    weight: Param<T>,
    bias: Option<Param<T>>,
    ws: ConvWorkspace<T>,
    /// The lowering of the last forward pass; `None` before one.
    last: Option<Lowering>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Scalar> Conv2d<T> {
    /// A convolution from `in_channels` to `out_channels` with a `kernel`
    /// (one size or `(kh, kw)`), its weight filled by `init` with PyTorch's
    /// fans for a convolution — `fan_in = in_c/groups·kh·kw`,
    /// `fan_out = out_c·kh·kw` ([`Fans::of_shape`] of the weight) — so
    /// `Init::he_normal()` is `kaiming_normal_(nonlinearity='relu')` and
    /// `Init::torch_default()` is `nn.Conv2d`'s default. The bias starts at
    /// zero; [`Conv2d::with_bias_init`] draws it instead.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for zero channels, kernel, stride or
    /// dilation, or groups that do not divide both channel counts; whatever `init` returns.
    pub fn new(
        in_channels: usize,
        out_channels: usize,
        kernel: impl IntoPair,
        options: Conv2dOptions,
        init: &dyn Initializer<T>,
        rng: &mut dyn Rng,
    ) -> Result<Self> {
        let spec = ConvSpec {
            in_channels,
            out_channels,
            groups: options.groups,
            win: Window2d {
                kernel: kernel.pair(),
                stride: options.stride,
                padding: options.padding,
                dilation: options.dilation,
            },
        };
        spec.validate()?;
        let shape = spec.weight_shape();
        let mut weight = Tensor::zeros(&shape)?;
        init.fill(&mut weight, Fans::of_shape(&shape)?, rng)?;
        let bias = Tensor::zeros(&[out_channels])?;
        Ok(Self::assemble(spec, weight, Some(bias)))
    }

    /// A convolution with the given weight `[out_c, in_c/groups, kh, kw]` and
    /// optional bias `[out_c]` (a PyTorch `state_dict`'s tensors, unchanged).
    /// The input channel count is `weight.shape()[1]·options.groups`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] for a weight that is not 4-D or has a zero
    /// dimension, [`Error::ShapeMismatch`] for a bias that is not `[out_c]`,
    /// the errors of [`Conv2d::new`] for invalid options.
    pub fn from_weights(
        weight: Tensor<T>,
        bias: Option<Tensor<T>>,
        options: Conv2dOptions,
    ) -> Result<Self> {
        const OP: &str = "Conv2d::from_weights";
        let [oc, icg, kh, kw] = crate::layer::window::dims4(OP, weight.shape())?;
        if weight.is_empty() {
            return Err(Error::invalid_shape(
                OP,
                weight.shape(),
                "every dimension must be positive",
            ));
        }
        let spec = ConvSpec {
            in_channels: icg.checked_mul(options.groups).ok_or_else(|| {
                Error::invalid_arg(
                    OP,
                    format!("groups {}", options.groups),
                    "channel count overflows",
                )
            })?,
            out_channels: oc,
            groups: options.groups,
            win: Window2d {
                kernel: (kh, kw),
                stride: options.stride,
                padding: options.padding,
                dilation: options.dilation,
            },
        };
        spec.validate()?;
        if let Some(b) = &bias
            && b.shape() != [oc]
        {
            return Err(Error::shape_mismatch(
                OP,
                weight.shape(),
                b.shape(),
                "the bias needs one element per output channel",
            ));
        }
        Ok(Self::assemble(spec, weight, bias))
    }

    /// Rebuilds a layer from its model-file description `Conv2d(in_channels,
    /// out_channels, kernel_size, stride, padding, dilation, groups, bias)`
    /// (PyTorch's arguments; sizes as `[h, w]` or one integer). The weights
    /// start at zero: the file's tensors replace them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a missing or invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        let (ic, oc, groups) = (
            config.usize("in_channels")?,
            config.usize("out_channels")?,
            config.usize("groups")?,
        );
        let options = Conv2dOptions {
            stride: pair_from_config(config, "stride")?,
            padding: pair_from_config(config, "padding")?,
            dilation: pair_from_config(config, "dilation")?,
            groups,
        };
        let kernel = pair_from_config(config, "kernel_size")?;
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0);
        let conv = Conv2d::new(ic, oc, kernel, options, &crate::Init::zeros(), &mut rng)?;
        Ok(Box::new(if config.bool("bias")? {
            conv
        } else {
            conv.without_bias()
        }))
    }

    fn assemble(spec: ConvSpec, weight: Tensor<T>, bias: Option<Tensor<T>>) -> Self {
        Conv2d {
            spec,
            weight: Param::new("weight", ParamKind::Weight, weight),
            bias: bias.map(|b| Param::new("bias", ParamKind::Bias, b)),
            ws: ConvWorkspace::default(),
            last: None,
            output: Tensor::default(),
            grad_input: Tensor::default(),
        }
    }

    /// Replaces the bias (adding one if there was none) by one filled by
    /// `init` with the weight's fans, as PyTorch bounds its bias by
    /// `1/√fan_in`: `with_bias_init(&Init::torch_default(), rng)` gives
    /// `nn.Conv2d`'s default bias `U(±1/√(in_c/groups·kh·kw))`.
    ///
    /// # Errors
    /// Whatever `init` returns.
    pub fn with_bias_init(mut self, init: &dyn Initializer<T>, rng: &mut dyn Rng) -> Result<Self> {
        let mut bias = Tensor::zeros(&[self.spec.out_channels])?;
        init.fill(&mut bias, Fans::of_shape(&self.spec.weight_shape())?, rng)?;
        self.bias = Some(Param::new("bias", ParamKind::Bias, bias));
        Ok(self)
    }

    /// Removes the bias (PyTorch's `bias=False`).
    pub fn without_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// The weight, `[out_c, in_c/groups, kh, kw]`.
    pub fn weight(&self) -> &Tensor<T> {
        &self.weight.value
    }

    /// The bias, `[out_c]`, if any.
    pub fn bias(&self) -> Option<&Tensor<T>> {
        self.bias.as_ref().map(|b| &b.value)
    }

    /// Input channels.
    pub fn in_channels(&self) -> usize {
        self.spec.in_channels
    }

    /// Output channels.
    pub fn out_channels(&self) -> usize {
        self.spec.out_channels
    }

    /// Channel groups.
    pub fn groups(&self) -> usize {
        self.spec.groups
    }

    /// The window: kernel, stride, padding, dilation.
    pub fn window(&self) -> Window2d {
        self.spec.win
    }

    /// The parameters must still have their shapes (callers can replace them).
    fn check_params(&self, op: &'static str) -> Result<()> {
        let ws = self.spec.weight_shape();
        let bad = if self.weight.value.shape() != ws || self.weight.grad.shape() != ws {
            Some(("weight", self.weight.value.shape()))
        } else {
            self.bias
                .as_ref()
                .filter(|b| {
                    b.value.shape() != [self.spec.out_channels] || b.grad.shape() != b.value.shape()
                })
                .map(|b| ("bias", b.value.shape()))
        };
        match bad {
            Some((name, shape)) => Err(Error::invalid_state(
                op,
                format!(
                    "{name} has shape {}, expected {}",
                    crate::error::shape_str(shape),
                    crate::error::shape_str(if name == "weight" { &ws } else { &ws[..1] })
                ),
            )),
            None => Ok(()),
        }
    }

    fn backward_into(&mut self, dy: &Tensor<T>, want_dx: bool) -> Result<()> {
        const OP: &str = "Conv2d backward";
        check_backward(OP, self.last.is_some().then_some(&self.output), dy)?;
        self.check_params(OP)?;
        let Some(l) = self.last else { return Ok(()) };
        conv2d_backward(
            &self.spec,
            &l,
            self.weight.value.as_slice(),
            dy,
            &mut self.ws,
            (
                self.weight.grad.as_mut_slice(),
                self.bias.as_mut().map(|b| b.grad.as_mut_slice()),
            ),
            want_dx.then_some(&mut self.grad_input),
        )
    }
}

impl<T: Scalar> Layer<T> for Conv2d<T> {
    fn kind(&self) -> &'static str {
        "Conv2d"
    }

    /// `[n, in_c, h, w]` → `[n, out_c, oh, ow]`.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        Ok(self
            .spec
            .output_shape("Conv2d output_shape", input)?
            .1
            .to_vec())
    }

    /// The convolution into `out`, with this thread's reusable column buffer.
    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        self.check_params("Conv2d infer")?;
        let bias = self.bias.as_ref().map(|b| b.value.as_slice());
        with_scratch(|ws| {
            conv2d_forward(
                &self.spec,
                (self.weight.value.as_slice(), bias),
                x,
                ws,
                out,
                false,
            )
        })?;
        Ok(())
    }

    /// `Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)`.
    fn config(&self) -> Option<LayerConfig> {
        let w = self.spec.win;
        Some(
            LayerConfig::new("Conv2d")
                .with("in_channels", self.spec.in_channels)
                .with("out_channels", self.spec.out_channels)
                .with("kernel_size", pair_config(w.kernel))
                .with("stride", pair_config(w.stride))
                .with("padding", pair_config(w.padding))
                .with("dilation", pair_config(w.dilation))
                .with("groups", self.spec.groups)
                .with("bias", self.bias.is_some()),
        )
    }

    /// The convolution of the batch (the same in both modes).
    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        self.check_params("Conv2d forward")?;
        // conv2d_forward checks the input before it writes anything.
        let l = conv2d_forward(
            &self.spec,
            (
                self.weight.value.as_slice(),
                self.bias.as_ref().map(|b| b.value.as_slice()),
            ),
            x,
            &mut self.ws,
            &mut self.output,
            true,
        )?;
        self.last = Some(l);
        Ok(&self.output)
    }

    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        self.backward_into(dy, true)?;
        Ok(&self.grad_input)
    }

    /// `dW` and `db` without `dx` (no `col2im`, no second product).
    fn backward_params(&mut self, dy: &Tensor<T>) -> Result<()> {
        self.backward_into(dy, false)
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        f(&self.weight);
        if let Some(b) = &self.bias {
            f(b);
        }
    }

    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<T>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

#[cfg(test)]
mod tests;
