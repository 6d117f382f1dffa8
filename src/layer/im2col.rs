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

use crate::Scalar;
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
    /// entries of a row of `col` starting at offset `dst`: `src` is the input
    /// offset of the first one (the others follow `sw` apart), or `None` for
    /// a stretch that reads padding.
    #[inline]
    fn walk(&self, mut f: impl FnMut(Option<usize>, usize, usize)) {
        let [n, c, h, w] = self.dims;
        let (oh, ow) = self.out;
        let Window2d {
            kernel: (kh, kw),
            stride: (sh, sw),
            padding: (ph, pw),
            dilation: (dh, dw),
        } = self.win;
        let (plane, per_sample) = (oh * ow, c * h * w);
        let ncols = self.cols();
        for ci in 0..c {
            for i in 0..kh {
                let (oy_lo, oy_hi) = outputs_inside(h, oh, sh, ph, i * dh);
                for j in 0..kw {
                    let (ox_lo, ox_hi) = outputs_inside(w, ow, sw, pw, j * dw);
                    let row = ((ci * kh + i) * kw + j) * ncols;
                    for b in 0..n {
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
        }
    }

    /// Fills `col` (`rows() × cols()`, row-major) from `x` (`[n, c, h, w]`).
    pub fn im2col<T: Scalar>(&self, x: &[T], col: &mut [T]) {
        debug_assert_eq!(x.len(), self.dims.iter().product::<usize>());
        debug_assert_eq!(col.len(), self.rows() * self.cols());
        let sw = self.win.stride.1;
        self.walk(|src, dst, len| {
            let out = &mut col[dst..dst + len];
            match src {
                None => out.fill(T::zero()),
                Some(src) if sw == 1 => out.copy_from_slice(&x[src..src + len]),
                Some(src) => {
                    for (o, v) in out.iter_mut().zip(x[src..].iter().step_by(sw)) {
                        *o = *v;
                    }
                }
            }
        });
    }

    /// Adds every entry of `col` onto the input position it was read from:
    /// `dx += col2im(col)`, with `dx` of shape `[n, c, h, w]`.
    pub fn col2im_add<T: Scalar>(&self, col: &[T], dx: &mut [T]) {
        debug_assert_eq!(dx.len(), self.dims.iter().product::<usize>());
        debug_assert_eq!(col.len(), self.rows() * self.cols());
        let sw = self.win.stride.1;
        self.walk(|src, dst, len| {
            let Some(src) = src else { return };
            let from = &col[dst..dst + len];
            if sw == 1 {
                for (d, &v) in dx[src..src + len].iter_mut().zip(from) {
                    *d += v;
                }
            } else {
                for (d, &v) in dx[src..].iter_mut().step_by(sw).zip(from) {
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
