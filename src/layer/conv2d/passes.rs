//! The passes of a [`Conv2d`](super::Conv2d): lowering, the products (or,
//! with few weights, scaled rows and dot products), the NCHW reordering and
//! `col2im`, each split between the products' threads. See the
//! [layer's docs](super) for the formulas.

use crate::gemm::par_items;
use crate::layer::im2col::Lowering;
use crate::layer::window::resize_for_overwrite;
use crate::{Result, Scalar, Tensor};

use super::ConvSpec;

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

/// Buffers a convolution reuses from call to call: the column matrix, the
/// product before it is laid out as NCHW, and the column-matrix gradient.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct ConvWorkspace<T> {
    pub(super) col: Vec<T>,
    pub(super) prod: Vec<T>,
    pub(super) dcol: Vec<T>,
    /// `dWᵀ` of one group, `[kg, ocg]`.
    dwt: Vec<T>,
}

/// `y = conv(x)`: lowers `x` into `ws.col`, multiplies per group, lays the
/// result out as NCHW in `out` and adds the bias. Returns the lowering.
///
/// `weight` must have `spec`'s weight shape and `bias` `[out_c]` (checked by the caller).
pub(super) fn conv2d_forward<T: Scalar>(
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
pub(super) fn conv2d_backward<T: Scalar>(
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
