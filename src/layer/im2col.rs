//! Lowering a convolution to one matrix product: `im2col` and its adjoint `col2im`.
//!
//! For an NCHW input `x` of shape `[n, c, h, w]` and a [`Window2d`] giving an
//! output of `oh × ow`, the column matrix has one row per kernel tap and
//! one column per output position of every sample:
//!
//! ```text
//! col[(ci·kh + i)·kw + j,  b·oh·ow + oy·ow + ox] = x[b, ci, oy·sh − ph + i·dh, ox·sw − pw + j·dw]
//! ```
//!
//! (zero where the position falls in the padding). The rows of channel
//! group `g` are a contiguous block, which is what makes grouped convolution
//! a product per group. `col2im` is the transpose of that linear map: it adds
//! every column entry back onto the input position it was read from.
//!
//! Along a row, for a fixed output row `oy`, consecutive `ox` read input
//! positions `sw` apart, so with stride 1 each run is a plain slice copy.

use std::ops::Range;

use crate::Scalar;
use crate::gemm::{none, par_items};
use crate::layer::window::{Window2d, outputs_inside};

/// The sizes both directions need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lowering {
    /// Input `[n, c, h, w]`.
    pub dims: [usize; 4],
    /// Output `(oh, ow)`.
    pub out: (usize, usize),
    pub win: Window2d,
}

impl Lowering {
    /// Rows of the column matrix: `c·kh·kw`.
    pub fn rows(&self) -> usize {
        self.dims[1] * self.win.kernel.0 * self.win.kernel.1
    }

    /// Columns of the column matrix: `n·oh·ow`.
    pub fn cols(&self) -> usize {
        self.dims[0] * self.out.0 * self.out.1
    }

    /// Calls `f(src, dst, len)` for every stretch of `len` consecutive
    /// entries of a row of `col` starting at offset `dst`, for the rows
    /// `rows` and the columns of the samples `samples`: `src` is the input
    /// offset of the first one (the others follow `sw` apart), or `None` for
    /// a stretch that reads padding.
    #[inline]
    fn walk(
        &self,
        rows: Range<usize>,
        samples: Range<usize>,
        mut f: impl FnMut(Option<usize>, usize, usize),
    ) {
        let [_, _, h, w] = self.dims;
        let (oh, ow) = self.out;
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = self.win;
        let (plane, per_sample) = (oh * ow, self.dims[1] * h * w);
        let ncols = self.cols();
        for r in rows {
            let (ci, i, j) = (r / (kh * kw), r / kw % kh, r % kw);
            let (oy_lo, oy_hi) = outputs_inside(h, oh, sh, ph, i * dh);
            let (ox_lo, ox_hi) = outputs_inside(w, ow, sw, pw, j * dw);
            let row = r * ncols;
            for b in samples.clone() {
                let base = row + b * plane;
                if oy_lo > 0 {
                    f(None, base, oy_lo * ow);
                }
                for oy in oy_lo..oy_hi {
                    let dst = base + oy * ow;
                    let iy = oy * sh + i * dh - ph;
                    let src = b * per_sample + (ci * h + iy) * w;
                    if ox_lo > 0 {
                        f(None, dst, ox_lo);
                    }
                    if ox_hi > ox_lo {
                        let ix = ox_lo * sw + j * dw - pw;
                        f(Some(src + ix), dst + ox_lo, ox_hi - ox_lo);
                    }
                    if ow > ox_hi {
                        f(None, dst + ox_hi, ow - ox_hi);
                    }
                }
                if oh > oy_hi {
                    f(None, base + oy_hi * ow, (oh - oy_hi) * ow);
                }
            }
        }
    }

    /// Fills `col` (`rows() × cols()`, row-major) from `x` (`[n, c, h, w]`).
    #[cfg(test)]
    pub fn im2col<T: Scalar>(&self, x: &[T], col: &mut [T]) {
        self.im2col_rows(x, 0, col);
    }

    /// Fills the rows `first..` of `col` that `col_rows` holds (whole rows,
    /// `cols()` values each) from `x` (`[n, c, h, w]`).
    pub fn im2col_rows<T: Scalar>(&self, x: &[T], first: usize, col_rows: &mut [T]) {
        debug_assert_eq!(x.len(), self.dims.iter().product::<usize>());
        let ncols = self.cols();
        if ncols == 0 {
            return;
        }
        let rows = first..first + col_rows.len() / ncols;
        let (sw, offset) = (self.win.stride.1, first * ncols);
        self.walk(rows, 0..self.dims[0], |src, dst, len| {
            let out = &mut col_rows[dst - offset..][..len];
            match src {
                None => out.fill(T::zero()),
                Some(src) if sw == 1 => {
                    // A loop, not `copy_from_slice`: runs are short (an output row).
                    for (o, v) in out.iter_mut().zip(&x[src..src + len]) {
                        *o = *v;
                    }
                }
                Some(src) => {
                    for (o, v) in out.iter_mut().zip(x[src..].iter().step_by(sw)) {
                        *o = *v;
                    }
                }
            }
        });
    }

    /// [`im2col_rows`](Self::im2col_rows) for all of `col` (`rows() ×
    /// cols()`), its rows split between the products' threads (each row is
    /// written by one thread, so the result does not depend on how many).
    pub fn im2col_threaded<T: Scalar>(&self, x: &[T], col: &mut [T]) {
        let cols = self.cols();
        par_items(self.rows(), (col, cols), none(), &|first, col, _| {
            self.im2col_rows(x, first, col);
        });
    }

    /// Adds every entry of `col` onto the input position it was read from:
    /// `dx += col2im(col)`, with `dx` of shape `[n, c, h, w]`.
    #[cfg(test)]
    pub fn col2im_add<T: Scalar>(&self, col: &[T], dx: &mut [T]) {
        self.col2im_add_samples(col, 0, dx);
    }

    /// Adds every entry of `col` that was read from the samples `first..`
    /// that `dx_samples` holds (whole samples, `c·h·w` values each) back onto
    /// its input position there.
    pub fn col2im_add_samples<T: Scalar>(&self, col: &[T], first: usize, dx_samples: &mut [T]) {
        debug_assert_eq!(col.len(), self.rows() * self.cols());
        let per_sample = self.dims[1] * self.dims[2] * self.dims[3];
        if per_sample == 0 {
            return;
        }
        let samples = first..first + dx_samples.len() / per_sample;
        let (sw, offset) = (self.win.stride.1, first * per_sample);
        self.walk(0..self.rows(), samples, |src, dst, len| {
            let Some(src) = src else { return };
            let from = &col[dst..dst + len];
            let dx = &mut dx_samples[src - offset..];
            if sw == 1 {
                for (d, &v) in dx[..len].iter_mut().zip(from) {
                    *d += v;
                }
            } else {
                for (d, &v) in dx.iter_mut().step_by(sw).zip(from) {
                    *d += v;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, element by element.
    fn naive(l: &Lowering, x: &[f64]) -> Vec<f64> {
        let [n, c, h, w] = l.dims;
        let (oh, ow) = l.out;
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = l.win;
        let mut col = vec![f64::NAN; l.rows() * l.cols()];
        for ci in 0..c {
            for i in 0..kh {
                for j in 0..kw {
                    for b in 0..n {
                        for oy in 0..oh {
                            for ox in 0..ow {
                                let iy = (oy * sh + i * dh) as isize - ph as isize;
                                let ix = (ox * sw + j * dw) as isize - pw as isize;
                                let v = if (0..h as isize).contains(&iy)
                                    && (0..w as isize).contains(&ix)
                                {
                                    x[((b * c + ci) * h + iy as usize) * w + ix as usize]
                                } else {
                                    0.0
                                };
                                let r = (ci * kh + i) * kw + j;
                                col[r * l.cols() + (b * oh + oy) * ow + ox] = v;
                            }
                        }
                    }
                }
            }
        }
        col
    }

    fn lowering(dims: [usize; 4], win: Window2d) -> Lowering {
        let out = win.output_hw("t", &dims).unwrap();
        Lowering { dims, out, win }
    }

    #[test]
    fn im2col_matches_the_definition_and_col2im_is_its_transpose() {
        let wins = [
            Window2d::new((3, 3)),
            Window2d {
                kernel: (2, 3),
                stride: (2, 1),
                padding: (1, 2),
                dilation: (1, 1),
            },
            Window2d {
                kernel: (3, 2),
                stride: (1, 3),
                padding: (2, 1),
                dilation: (2, 3),
            },
            Window2d {
                kernel: (1, 1),
                stride: (2, 2),
                padding: (0, 0),
                dilation: (1, 1),
            },
        ];
        for win in wins {
            let l = lowering([2, 3, 7, 6], win);
            let x: Vec<f64> = (0..2 * 3 * 7 * 6)
                .map(|i| (i as f64 * 0.37).sin())
                .collect();
            let mut col = vec![f64::NAN; l.rows() * l.cols()];
            l.im2col(&x, &mut col);
            assert_eq!(col, naive(&l, &x), "{win:?}");
            // ⟨im2col(x), y⟩ = ⟨x, col2im(y)⟩ for every x, y: check on a random y.
            let y: Vec<f64> = (0..col.len()).map(|i| (i as f64 * 0.91).cos()).collect();
            let mut back = vec![0.0; x.len()];
            l.col2im_add(&y, &mut back);
            let lhs: f64 = col.iter().zip(&y).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!(
                (lhs - rhs).abs() < 1e-10 * lhs.abs().max(1.0),
                "{win:?}: {lhs} {rhs}"
            );
        }
    }
}
