//! The passes of a [`Conv2d`](super::Conv2d): lowering, the products (or,
//! with few weights, scaled rows and dot products), the NCHW reordering and
//! `col2im`, each split between the products' threads. See the
//! [layer's docs](super) for the formulas.

use crate::gemm::{none, par_items};
use crate::layer::im2col::Lowering;
use crate::layer::window::resize_for_overwrite;
use crate::{Result, Scalar, Tensor};

use super::{ConvSpec, chunked};

/// Runs `f` with this thread's convolution buffers for `T`: inference through
/// `&self` ([`Layer::infer`]) reuses them instead of allocating a column
/// matrix per call.
pub(super) fn with_scratch<T: Scalar, R>(f: impl FnOnce(&mut ConvWorkspace<T>) -> R) -> R {
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

/// Buffers a convolution reuses from call to call.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct ConvWorkspace<T> {
    /// The whole batch's column matrix (few weights only, see [`DOT_MAX_WEIGHTS`]).
    pub(super) col: Vec<T>,
    /// A copy of the input of the last training forward pass (packed path:
    /// the backward pass lowers it again, chunk by chunk).
    pub(super) input: Vec<T>,
    /// One chunk's column matrix.
    pub(super) chunk: Vec<T>,
    /// One chunk's product, or its `dY` as `[out_c, len·P]`.
    pub(super) prod: Vec<T>,
    /// One chunk's column-matrix gradient.
    pub(super) dcol: Vec<T>,
    /// `dWᵀ` of every group, `[groups, kg, ocg]`, summed over the chunks.
    pub(super) dwt: Vec<T>,
}

/// `y = conv(x)` into `out`, by scaled rows of the whole column matrix for
/// few weights, else chunk by chunk on the packed kernel. With `keep_input`
/// (a training pass) the packed path keeps a copy of `x` for the backward
/// pass. Returns the lowering.
///
/// `weight` must have `spec`'s weight shape and `bias` `[out_c]` (checked by the caller).
pub(super) fn conv2d_forward<T: Scalar>(
    spec: &ConvSpec,
    (weight, bias): (&[T], Option<&[T]>),
    x: &Tensor<T>,
    ws: &mut ConvWorkspace<T>,
    out: &mut Tensor<T>,
    keep_input: bool,
) -> Result<Lowering> {
    let (l, out_shape) = spec.output_shape("Conv2d forward", x.shape())?;
    let xs = x.as_slice();
    resize_for_overwrite(out, &out_shape)?;
    if uses_dots(spec, &l) {
        let (rows, cols) = (l.rows(), l.cols());
        ws.col.resize(rows * cols, T::zero());
        l.im2col_threaded(xs, &mut ws.col);
        add_small_product(spec, &l, weight, bias, &ws.col, out.as_mut_slice());
        return Ok(l);
    }
    if keep_input {
        ws.input.clear();
        ws.input.extend_from_slice(xs);
    }
    chunked::forward(spec, &l, (weight, bias), xs, ws, out.as_mut_slice())?;
    Ok(l)
}

/// Whether the products skip the packed kernel: at most
/// [`DOT_MAX_WEIGHTS`] weights per group.
fn uses_dots(spec: &ConvSpec, l: &Lowering) -> bool {
    (spec.out_channels / spec.groups) * (l.rows() / spec.groups) <= DOT_MAX_WEIGHTS
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
pub(super) fn conv2d_backward<T: Scalar>(
    spec: &ConvSpec,
    l: &Lowering,
    weight: &[T],
    dy: &Tensor<T>,
    ws: &mut ConvWorkspace<T>,
    (dweight, dbias): (&mut [T], Option<&mut [T]>),
    dx: Option<&mut Tensor<T>>,
) -> Result<()> {
    let (n, oc) = (l.dims[0], spec.out_channels);
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
    let dots = uses_dots(spec, l);
    if dots {
        add_weight_grad_dots((spec, l), dys, &ws.col, &mut *dweight);
    }
    if dots && dx.is_none() {
        return Ok(());
    }
    let dx = match dx {
        Some(dx) => {
            resize_for_overwrite(dx, &l.dims)?;
            Some(dx.as_mut_slice())
        }
        None => None,
    };
    let input = std::mem::take(&mut ws.input);
    let done = chunked::backward(
        spec,
        l,
        weight,
        (&input, dys),
        ws,
        (!dots).then_some(dweight),
        dx,
    );
    ws.input = input;
    done
}
