//! The packed-kernel path of a [`Conv2d`](super::Conv2d): the batch in
//! chunks of whole samples, each chunk's column matrix small enough to stay
//! in the core's cache between being lowered, packed and multiplied.
//!
//! Lowering the whole batch at once makes a column matrix of
//! `in_c·kh·kw × n·oh·ow` values (7.2 MB for the second convolution of W4 at
//! batch 64) that is written by `im2col`, read back by the kernel's packing
//! and again by the weight-gradient product long after it left the cache:
//! with few output channels each of its values takes part in only `out_c`
//! multiply-adds, so that traffic, not the arithmetic, was the time. Chunk
//! by chunk, it stays in L2; the backward pass lowers each chunk again from
//! the kept input (cheaper than keeping the whole matrix).
//!
//! Determinism: every chunk's products are the crate's threaded kernel
//! (which splits rows of the output only), `dW` accumulates the chunks in
//! order, and the chunk size depends on the shapes alone, so results do not
//! depend on the thread count.

use crate::gemm::{none, par_items};
use crate::layer::im2col::Lowering;
use crate::{Result, Scalar};

use super::ConvSpec;
use super::passes::ConvWorkspace;

/// Upper bound, in bytes, of one chunk's column matrix. Measured on W4
/// (Zen 4, 1 MiB L2 per core): 512 KiB and 1 MiB chunks are as fast on one
/// thread (0.67 s per epoch, against 0.80 s for the whole batch at once);
/// on two, 1 MiB matches the whole batch (0.45 s) where 512 KiB lost 10 %
/// to the extra hand-offs between threads.
const CHUNK_BYTES: usize = 1 << 20;

/// Samples per chunk for the lowering `l`: as many as fit [`CHUNK_BYTES`],
/// at least one. Depends on the shapes only.
pub(super) fn chunk_samples<T>(l: &Lowering) -> usize {
    let per_sample = l.rows() * l.out.0 * l.out.1 * size_of::<T>();
    (CHUNK_BYTES / per_sample.max(1)).clamp(1, l.dims[0].max(1))
}

/// The lowering of samples `b0..b0 + len` of `l`'s batch.
fn sub(l: &Lowering, len: usize) -> Lowering {
    let mut c = *l;
    c.dims[0] = len;
    c
}

/// Lowers samples `b0..` of the NCHW batch `xs` (as many as `lc` holds)
/// into the first `lc.rows()·lc.cols()` values of `col`, rows split between
/// the products' threads.
fn lower<T: Scalar>(lc: &Lowering, xs: &[T], b0: usize, col: &mut [T]) {
    let per_sample = lc.dims[1] * lc.dims[2] * lc.dims[3];
    let xc = &xs[b0 * per_sample..][..lc.dims[0] * per_sample];
    lc.im2col_threaded(xc, &mut col[..lc.rows() * lc.cols()]);
}

/// `y = W·col + bias` over NCHW `xs` (checked by the caller: `l` is its
/// lowering, `y` holds `n·out_c·oh·ow` values), chunk by chunk.
pub(super) fn forward<T: Scalar>(
    spec: &ConvSpec,
    l: &Lowering,
    (weight, bias): (&[T], Option<&[T]>),
    xs: &[T],
    ws: &mut ConvWorkspace<T>,
    y: &mut [T],
) -> Result<()> {
    let n = l.dims[0];
    let (oc, rows, plane) = (spec.out_channels, l.rows(), l.out.0 * l.out.1);
    let (ocg, kg) = (oc / spec.groups, rows / spec.groups);
    let per_chunk = chunk_samples::<T>(l);
    ws.chunk.resize(rows * per_chunk * plane, T::zero());
    ws.prod.resize(oc * per_chunk * plane, T::zero());
    for b0 in (0..n).step_by(per_chunk) {
        let lc = sub(l, per_chunk.min(n - b0));
        let cols = lc.cols();
        lower(&lc, xs, b0, &mut ws.chunk);
        for g in 0..spec.groups {
            T::gemm(
                ocg,
                kg,
                cols,
                T::one(),
                &weight[g * ocg * kg..],
                kg,
                1,
                &ws.chunk[g * kg * cols..],
                cols,
                1,
                T::zero(),
                &mut ws.prod[g * ocg * cols..],
                cols,
            )?;
        }
        // prod is [out_c, len·P]; these samples of y are [len, out_c, P].
        let prod = &ws.prod;
        let y_chunk = &mut y[b0 * oc * plane..][..cols * oc];
        par_items(lc.dims[0], (y_chunk, oc * plane), none(), &|first, y, _| {
            for (b, y_b) in y.chunks_exact_mut(oc * plane).enumerate() {
                for (o, y_bo) in y_b.chunks_exact_mut(plane).enumerate() {
                    let src = &prod[o * cols + (first + b) * plane..][..plane];
                    let shift = bias.map_or(T::zero(), |bias| bias[o]);
                    for (d, &s) in y_bo.iter_mut().zip(src) {
                        *d = s + shift;
                    }
                }
            }
        });
    }
    Ok(())
}

/// Given `dys` (NCHW) for the forward pass over `xs` with lowering `l`:
/// adds `dW` into `dweight` when it is `Some`, and writes `∂L/∂x` into `dx`
/// when that is `Some`, chunk by chunk.
pub(super) fn backward<T: Scalar>(
    spec: &ConvSpec,
    l: &Lowering,
    weight: &[T],
    (xs, dys): (&[T], &[T]),
    ws: &mut ConvWorkspace<T>,
    dweight: Option<&mut [T]>,
    mut dx: Option<&mut [T]>,
) -> Result<()> {
    let [n, c, h, w] = l.dims;
    let (oc, rows, plane) = (spec.out_channels, l.rows(), l.out.0 * l.out.1);
    let (ocg, kg) = (oc / spec.groups, rows / spec.groups);
    let per_chunk = chunk_samples::<T>(l);
    ws.chunk.resize(rows * per_chunk * plane, T::zero());
    ws.prod.resize(oc * per_chunk * plane, T::zero());
    if dx.is_some() {
        ws.dcol.resize(rows * per_chunk * plane, T::zero());
    }
    if dweight.is_some() {
        ws.dwt.resize(rows * ocg, T::zero());
    }
    for b0 in (0..n).step_by(per_chunk) {
        let lc = sub(l, per_chunk.min(n - b0));
        let (len, cols) = (lc.dims[0], lc.cols());
        // dY of these samples as [out_c, len·P], a row (output channel) per item.
        let dyc = &dys[b0 * oc * plane..][..len * oc * plane];
        par_items(
            oc,
            (&mut ws.prod[..oc * cols], cols),
            none(),
            &|first, prod, _| {
                for (k, row) in prod.chunks_exact_mut(cols.max(1)).enumerate() {
                    for (b, dst) in row.chunks_exact_mut(plane.max(1)).enumerate() {
                        dst.copy_from_slice(&dyc[(b * oc + first + k) * plane..][..plane]);
                    }
                }
            },
        );
        if dweight.is_some() {
            lower(&lc, xs, b0, &mut ws.chunk);
            // dWᵀ_g += col_g · dY_gᵀ (`[kg, ocg]`): the long dimension shared,
            // `kg` rows of output, which the packed kernel handles best.
            let beta = if b0 == 0 { T::zero() } else { T::one() };
            for g in 0..spec.groups {
                T::gemm(
                    kg,
                    cols,
                    ocg,
                    T::one(),
                    &ws.chunk[g * kg * cols..],
                    cols,
                    1,
                    &ws.prod[g * ocg * cols..],
                    1,
                    cols,
                    beta,
                    &mut ws.dwt[g * kg * ocg..],
                    ocg,
                )?;
            }
        }
        if let Some(dx) = dx.as_deref_mut() {
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
            let dcol = &ws.dcol[..rows * cols];
            let dx_chunk = &mut dx[b0 * c * h * w..][..len * c * h * w];
            par_items(len, (dx_chunk, c * h * w), none(), &|first, dx, _| {
                dx.fill(T::zero());
                lc.col2im_add_samples(dcol, first, dx);
            });
        }
    }
    if let Some(dweight) = dweight {
        for (dw_g, dwt_g) in dweight
            .chunks_exact_mut(ocg * kg)
            .zip(ws.dwt.chunks_exact(kg * ocg))
        {
            for (o, dw_o) in dw_g.chunks_exact_mut(kg).enumerate() {
                for (r, d) in dw_o.iter_mut().enumerate() {
                    *d += dwt_g[r * ocg + o];
                }
            }
        }
    }
    Ok(())
}
