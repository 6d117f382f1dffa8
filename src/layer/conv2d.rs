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
//! each a single product on the crate's packed matrix kernel, threaded like
//! any large product. The passes around the products — the lowering (by
//! rows of `col`), laying `Y` out as NCHW with the bias (by sample), `dY`
//! back as `[out_c, n·P]` (by channel) and `col2im` (by sample) — are split
//! between the same threads, each item computed whole by one thread, so
//! results do not depend on the thread count. With few weights (at most
//! 256 per group, e.g. a first layer's `16 × 1 × 3 × 3`) the products skip
//! the packed kernel, whose time would go into storing and reordering a
//! `k = 9` product: `Y` is built sample by sample as scaled rows of `col`,
//! straight in NCHW, and `dW` is dot products straight from `dy`. `db` is
//! sums over `dy`. Without `dx` (a first layer) and with few weights, the
//! reordering of `dY`, the second product and `col2im` are skipped altogether. Every buffer (the column matrix, the product,
//! the output and gradients) is kept and reused, so after the first batch
//! of a given shape neither pass allocates.

use rand::Rng;

use crate::gemm::par_items;
use crate::init::{Fans, Initializer};
use crate::layer::im2col::Lowering;
use crate::layer::window::{Window2d, nchw, pair_config, pair_from_config, resize_for_overwrite};
use crate::layer::{Layer, LayerConfig, Mode, Param, ParamKind, check_backward};
use crate::{Error, Result, Scalar, Tensor};

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

/// Runs `f` with this thread's convolution buffers for `T`: inference through
/// `&self` ([`Layer::infer`]) reuses them instead of allocating a column
/// matrix per call.
fn with_scratch<T: Scalar, R>(f: impl FnOnce(&mut ConvWorkspace<T>) -> R) -> R {
    use std::any::Any;
    use std::cell::RefCell;
    thread_local! {
        static F32: RefCell<ConvWorkspace<f32>> = RefCell::default();
        static F64: RefCell<ConvWorkspace<f64>> = RefCell::default();
    }
    fn typed<U: 'static, T: 'static>(ws: &mut U) -> Option<&mut ConvWorkspace<T>> {
        (ws as &mut dyn Any).downcast_mut::<ConvWorkspace<T>>()
    }
    // `Scalar` is sealed to f32 and f64: one of the two downcasts succeeds.
    F32.with_borrow_mut(|ws32| match typed::<_, T>(ws32) {
        Some(ws) => f(ws),
        None => F64.with_borrow_mut(|ws64| match typed::<_, T>(ws64) {
            Some(ws) => f(ws),
            None => f(&mut ConvWorkspace::default()),
        }),
    })
}

/// Buffers a convolution reuses from call to call: the column matrix, the
/// product before it is laid out as NCHW, and the column-matrix gradient.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ConvWorkspace<T> {
    col: Vec<T>,
    prod: Vec<T>,
    dcol: Vec<T>,
    /// `dWᵀ` of one group, `[kg, ocg]`.
    dwt: Vec<T>,
}

/// `y = conv(x)`: lowers `x` into `ws.col`, multiplies per group, lays the
/// result out as NCHW in `out` and adds the bias. Returns the lowering.
///
/// `weight` must have `spec`'s weight shape and `bias` `[out_c]` (checked by the caller).
pub(crate) fn conv2d_forward<T: Scalar>(
    spec: &ConvSpec,
    weight: &[T],
    bias: Option<&[T]>,
    x: &Tensor<T>,
    ws: &mut ConvWorkspace<T>,
    out: &mut Tensor<T>,
) -> Result<Lowering> {
    let (l, out_shape) = spec.output_shape("Conv2d forward", x.shape())?;
    let (rows, cols) = (l.rows(), l.cols());
    ws.col.resize(rows * cols, T::zero());
    let xs = x.as_slice();
    par_items(rows, (&mut ws.col, cols), none(), &|first, col, _| {
        l.im2col_rows(xs, first, col);
    });
    let oc = spec.out_channels;
    let (ocg, kg) = (oc / spec.groups, rows / spec.groups);
    let plane = l.out.0 * l.out.1;
    if ocg * kg <= DOT_MAX_WEIGHTS {
        resize_for_overwrite(out, &out_shape)?;
        add_small_product(spec, &l, weight, bias, &ws.col, out.as_mut_slice());
        return Ok(l);
    }
    ws.prod.resize(oc * cols, T::zero());
    for g in 0..spec.groups {
        T::gemm(
            ocg,
            kg,
            cols,
            T::one(),
            &weight[g * ocg * kg..],
            kg,
            1,
            &ws.col[g * kg * cols..],
            cols,
            1,
            T::zero(),
            &mut ws.prod[g * ocg * cols..],
            cols,
        )?;
    }
    // prod is [out_c, n·P]; y is [n, out_c, P].
    resize_for_overwrite(out, &out_shape)?;
    let prod = &ws.prod;
    par_items(
        l.dims[0],
        (out.as_mut_slice(), oc * plane),
        none(),
        &|first, y, _| {
            for (b, y_b) in y.chunks_exact_mut(oc * plane).enumerate() {
                for (o, y_bo) in y_b.chunks_exact_mut(plane).enumerate() {
                    let src = &prod[o * cols + (first + b) * plane..][..plane];
                    let shift = bias.map_or(T::zero(), |bias| bias[o]);
                    for (d, &s) in y_bo.iter_mut().zip(src) {
                        *d = s + shift;
                    }
                }
            }
        },
    );
    Ok(l)
}

/// `y = W·col + bias` for a convolution with few weights per group (at most
/// [`DOT_MAX_WEIGHTS`], e.g. a first layer's `16 × 1 × 3 × 3`), written
/// straight into NCHW `y` a sample per item: each output plane is the bias
/// plus `kg` scaled rows of the sample's columns of `col`, four at a time,
/// all in cache. (A packed product with `k = 9` spends its time storing
/// and reordering its output.)
fn add_small_product<T: Scalar>(
    spec: &ConvSpec,
    l: &Lowering,
    weight: &[T],
    bias: Option<&[T]>,
    col: &[T],
    y: &mut [T],
) {
    let (oc, cols, plane) = (spec.out_channels, l.cols(), l.out.0 * l.out.1);
    let (ocg, kg) = (oc / spec.groups, l.rows() / spec.groups);
    par_items(l.dims[0], (y, oc * plane), none(), &|first, y, _| {
        for (k, y_b) in y.chunks_exact_mut((oc * plane).max(1)).enumerate() {
            let b = first + k;
            for (o, y_bo) in y_b.chunks_exact_mut(plane.max(1)).enumerate() {
                let g = o / ocg;
                let row = |r: usize| &col[(g * kg + r) * cols + b * plane..][..plane];
                let w_o = &weight[o * kg..][..kg];
                y_bo.fill(bias.map_or(T::zero(), |bias| bias[o]));
                let mut r = 0;
                while r + 4 <= kg {
                    let (w0, w1, w2, w3) = (w_o[r], w_o[r + 1], w_o[r + 2], w_o[r + 3]);
                    let rows = row(r)
                        .iter()
                        .zip(row(r + 1))
                        .zip(row(r + 2))
                        .zip(row(r + 3));
                    for (d, (((&a, &b), &c), &e)) in y_bo.iter_mut().zip(rows) {
                        *d += w0 * a + w1 * b + w2 * c + w3 * e;
                    }
                    r += 4;
                }
                for (r, &w) in w_o.iter().enumerate().skip(r) {
                    for (d, &v) in y_bo.iter_mut().zip(row(r)) {
                        *d += w * v;
                    }
                }
            }
        }
    });
}

/// No second output for [`par_items`].
fn none() -> (&'static mut [u8], usize) {
    (&mut [], 0)
}

/// Largest `ocg·kg` (weights per group) for which the forward pass and the
/// weight gradient skip the packed kernel: the output is built as scaled
/// rows of `col`, and `dW` as dot products straight from `dy`.
const DOT_MAX_WEIGHTS: usize = 256;

/// `dW += dY · colᵀ` by dot products straight from `dy` (NCHW, no reordering):
/// `dW[o, r] += Σ_b Σ_p dy[b, o, p] · col[g·kg + r, b·P + p]` with `g` the group
/// of output channel `o`, one row of `dW` per item. For a handful of weights
/// (a first layer on one input channel: `16 × 9`) this beats the packed kernel.
fn add_weight_grad_dots<T: Scalar>(
    (spec, l): (&ConvSpec, &Lowering),
    dy: &[T],
    col: &[T],
    dw: &mut [T],
) {
    let (oc, cols, plane) = (spec.out_channels, l.cols(), l.out.0 * l.out.1);
    let (ocg, kg) = (oc / spec.groups, l.rows() / spec.groups);
    par_items(oc, (dw, kg), none(), &|first, dw, _| {
        for (k, dw_o) in dw.chunks_exact_mut(kg).enumerate() {
            let o = first + k;
            let g = o / ocg;
            for b in 0..l.dims[0] {
                let dy_bo = &dy[(b * oc + o) * plane..][..plane];
                for (r, d) in dw_o.iter_mut().enumerate() {
                    *d += dot(dy_bo, &col[(g * kg + r) * cols + b * plane..][..plane]);
                }
            }
        }
    });
}

/// `dW_g += dY_g · col_gᵀ` for one group: `dy` is `[ocg, cols]`, `col` is
/// `[kg, cols]`, `dw` is `[ocg, kg]`.
///
/// Both operands are long rows (`cols = n·oh·ow`) and the result is small,
/// a shape the packed kernel handles best as `dWᵀ = col_g · dY_gᵀ` (the long
/// dimension as its shared one, `kg` rows of output): that product goes into
/// `scratch` and is added back transposed.
fn add_weight_grad<T: Scalar>(
    (ocg, kg, cols): (usize, usize, usize),
    dy: &[T],
    col: &[T],
    dw: &mut [T],
    scratch: &mut Vec<T>,
) -> Result<()> {
    scratch.resize(kg * ocg, T::zero());
    T::gemm(
        kg,
        cols,
        ocg,
        T::one(),
        col,
        cols,
        1,
        dy,
        1,
        cols,
        T::zero(),
        scratch,
        ocg,
    )?;
    for (o, dw_o) in dw.chunks_exact_mut(kg).enumerate() {
        for (r, d) in dw_o.iter_mut().enumerate() {
            *d += scratch[r * ocg + o];
        }
    }
    Ok(())
}

/// `Σ a[i]` with eight running sums (so the loop vectorizes).
fn sum<T: Scalar>(a: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = a.chunks_exact(8);
    let tail: T = chunks.remainder().iter().copied().sum();
    for x in chunks {
        for (a, &xv) in acc.iter_mut().zip(x) {
            *a += xv;
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

/// `Σ a[i]·b[i]` with eight running sums (so the loop vectorizes).
fn dot<T: Scalar>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: T = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for ((a, &xv), &yv) in acc.iter_mut().zip(x).zip(y) {
            *a += xv * yv;
        }
    }
    acc.iter().copied().sum::<T>() + tail
}

/// Given `dy` for the forward pass that produced `ws` (with lowering `l`):
/// adds `dW` and `db` into `(dweight, dbias)`, and when `dx` is `Some`,
/// writes `∂L/∂x` into it. Every pass is split between the products'
/// threads by output channel or by sample, each item computed alone, so
/// the result does not depend on the thread count.
pub(crate) fn conv2d_backward<T: Scalar>(
    spec: &ConvSpec,
    l: &Lowering,
    weight: &[T],
    dy: &Tensor<T>,
    ws: &mut ConvWorkspace<T>,
    (dweight, dbias): (&mut [T], Option<&mut [T]>),
    dx: Option<&mut Tensor<T>>,
) -> Result<()> {
    let (rows, cols) = (l.rows(), l.cols());
    let (n, oc) = (l.dims[0], spec.out_channels);
    let (ocg, kg) = (oc / spec.groups, rows / spec.groups);
    let plane = l.out.0 * l.out.1;
    let dys = dy.as_slice();
    if let Some(db) = dbias {
        par_items(oc, (db, 1), none(), &|first, db, _| {
            for (k, d) in db.iter_mut().enumerate() {
                let o = first + k;
                *d += (0..n)
                    .map(|b| sum(&dys[(b * oc + o) * plane..][..plane]))
                    .sum::<T>();
            }
        });
    }
    let dots = ocg * kg <= DOT_MAX_WEIGHTS;
    if dots {
        add_weight_grad_dots((spec, l), dys, &ws.col, dweight);
    }
    if dots && dx.is_none() {
        return Ok(());
    }
    // dY as [out_c, n·P] for the products, in the product buffer (the
    // forward product is no longer needed), a row (output channel) per item.
    ws.prod.resize(oc * cols, T::zero());
    par_items(oc, (&mut ws.prod, cols), none(), &|first, prod, _| {
        for (k, row) in prod.chunks_exact_mut(cols.max(1)).enumerate() {
            for (b, dst) in row.chunks_exact_mut(plane.max(1)).enumerate() {
                dst.copy_from_slice(&dys[(b * oc + first + k) * plane..][..plane]);
            }
        }
    });
    if !dots {
        for g in 0..spec.groups {
            add_weight_grad(
                (ocg, kg, cols),
                &ws.prod[g * ocg * cols..][..ocg * cols],
                &ws.col[g * kg * cols..][..kg * cols],
                &mut dweight[g * ocg * kg..][..ocg * kg],
                &mut ws.dwt,
            )?;
        }
    }
    let Some(dx) = dx else { return Ok(()) };
    ws.dcol.resize(rows * cols, T::zero());
    for g in 0..spec.groups {
        T::gemm(
            kg,
            ocg,
            cols,
            T::one(),
            &weight[g * ocg * kg..],
            1,
            kg,
            &ws.prod[g * ocg * cols..],
            cols,
            1,
            T::zero(),
            &mut ws.dcol[g * kg * cols..],
            cols,
        )?;
    }
    resize_for_overwrite(dx, &l.dims)?;
    let (dcol, per_sample) = (&ws.dcol, l.dims[1] * l.dims[2] * l.dims[3]);
    par_items(
        n,
        (dx.as_mut_slice(), per_sample),
        none(),
        &|first, dx, _| {
            dx.fill(T::zero());
            l.col2im_add_samples(dcol, first, dx);
        },
    );
    Ok(())
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
            conv2d_forward(&self.spec, self.weight.value.as_slice(), bias, x, ws, out)
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
            self.weight.value.as_slice(),
            self.bias.as_ref().map(|b| b.value.as_slice()),
            x,
            &mut self.ws,
            &mut self.output,
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
