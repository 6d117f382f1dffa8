//! [`Window2d`]: the sliding window shared by convolution and pooling, with
//! PyTorch's output-size arithmetic, and the NCHW shape checks those layers use.
//!
//! Along each spatial axis, with input size `L`, kernel `k`, stride `s`,
//! zero padding `p` on both sides and dilation `d` (PyTorch's `nn.Conv2d`,
//! `nn.MaxPool2d`, `nn.AvgPool2d` with `ceil_mode=False`):
//!
//! ```text
//! effective kernel  e   = d·(k − 1) + 1
//! output size       out = ⌊(L + 2p − e) / s⌋ + 1,   defined when L + 2p ≥ e
//! output o reads input positions  o·s − p + t·d,  t = 0 … k − 1
//! ```

use crate::layer::check_backward;
use crate::{Error, Result, Scalar, Tensor};

/// A 2-D sliding window: `(height, width)` pairs of kernel, stride, padding
/// and dilation. See the [module docs](self) for the arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window2d {
    /// Kernel size `(kh, kw)`.
    pub kernel: (usize, usize),
    /// Step between windows `(sh, sw)`.
    pub stride: (usize, usize),
    /// Implicit padding added to both sides `(ph, pw)`.
    pub padding: (usize, usize),
    /// Spacing between kernel taps `(dh, dw)`; 1 is a dense kernel.
    pub dilation: (usize, usize),
}

impl Window2d {
    /// A window with stride 1, no padding and no dilation.
    pub fn new(kernel: (usize, usize)) -> Self {
        Window2d {
            kernel,
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 1),
        }
    }

    /// The same window with its stride set to its kernel (pooling's default).
    pub(crate) fn with_stride_of_kernel(mut self) -> Self {
        self.stride = self.kernel;
        self
    }

    /// Checks that kernel, stride and dilation are positive; `op` names the caller.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the first zero.
    pub(crate) fn validate(&self, op: &'static str) -> Result<()> {
        for (what, (h, w)) in [
            ("kernel", self.kernel),
            ("stride", self.stride),
            ("dilation", self.dilation),
        ] {
            if h == 0 || w == 0 {
                return Err(Error::invalid_arg(
                    op,
                    format!("{what} ({h}, {w})"),
                    format!("the {what} must be positive along both axes"),
                ));
            }
        }
        Ok(())
    }

    /// Checks PyTorch's pooling rule that padding is at most half the
    /// effective kernel (`p ≤ e/2`), so every window holds an input element.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the padding is larger.
    pub(crate) fn validate_pool_padding(&self, op: &'static str) -> Result<()> {
        let (eh, ew) = self.effective_kernel();
        if self.padding.0 > eh / 2 || self.padding.1 > ew / 2 {
            return Err(Error::invalid_arg(
                op,
                format!("padding {:?}", self.padding),
                format!("pooling padding must be at most half the effective kernel {eh}×{ew}"),
            ));
        }
        Ok(())
    }

    /// `d·(k − 1) + 1` along each axis (saturating; validated windows never saturate in practice).
    pub fn effective_kernel(&self) -> (usize, usize) {
        let e = |k: usize, d: usize| d.saturating_mul(k.saturating_sub(1)).saturating_add(1);
        (
            e(self.kernel.0, self.dilation.0),
            e(self.kernel.1, self.dilation.1),
        )
    }

    /// The output size along one axis, or `None` when the padded input is
    /// smaller than the effective kernel or the arithmetic overflows.
    fn out_len(len: usize, k: usize, s: usize, p: usize, d: usize) -> Option<usize> {
        let e = d.checked_mul(k.checked_sub(1)?)?.checked_add(1)?;
        let padded = len.checked_add(p.checked_mul(2)?)?;
        Some(padded.checked_sub(e)? / s + 1)
    }

    /// The output `(height, width)` for an input of `(h, w)`.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] (naming `op` and the NCHW `shape`) when the
    /// padded input is smaller than the effective kernel.
    pub(crate) fn output_hw(&self, op: &'static str, shape: &[usize]) -> Result<(usize, usize)> {
        let (h, w) = (shape[2], shape[3]);
        let oh = Self::out_len(
            h,
            self.kernel.0,
            self.stride.0,
            self.padding.0,
            self.dilation.0,
        );
        let ow = Self::out_len(
            w,
            self.kernel.1,
            self.stride.1,
            self.padding.1,
            self.dilation.1,
        );
        match (oh, ow) {
            (Some(oh), Some(ow)) => Ok((oh, ow)),
            _ => {
                let (eh, ew) = self.effective_kernel();
                Err(Error::invalid_shape(
                    op,
                    shape,
                    format!(
                        "the padded input {}×{} is smaller than the effective kernel {eh}×{ew}",
                        h.saturating_add(2 * self.padding.0),
                        w.saturating_add(2 * self.padding.1)
                    ),
                ))
            }
        }
    }

    /// For output index `o` along an axis: the range of kernel taps `t` whose
    /// input position `o·s − p + t·d` falls inside `0..len`.
    #[inline]
    pub(crate) fn taps(
        o: usize,
        len: usize,
        k: usize,
        s: usize,
        p: usize,
        d: usize,
    ) -> (usize, usize) {
        let start = (o * s) as isize - p as isize;
        // First t with start + t·d ≥ 0, last with start + t·d < len.
        let lo = if start >= 0 {
            0
        } else {
            ((-start) as usize).div_ceil(d)
        };
        let hi = if (len as isize) <= start {
            0
        } else {
            (((len as isize - 1 - start) as usize) / d + 1).min(k)
        };
        (lo.min(hi), hi)
    }
}

/// For kernel tap `t` along an axis: the range of output indices `o` whose
/// input position `o·s − p + t·d` falls inside `0..len` (of `0..out`).
#[inline]
pub(crate) fn outputs_inside(
    len: usize,
    out: usize,
    s: usize,
    p: usize,
    td: usize,
) -> (usize, usize) {
    // o·s + td − p ≥ 0  ⇔  o ≥ ⌈(p − td)/s⌉;   o·s + td − p ≤ len − 1  ⇔  o ≤ ⌊(len − 1 + p − td)/s⌋.
    let lo = p.saturating_sub(td).div_ceil(s).min(out);
    let hi = match (len + p).checked_sub(td + 1) {
        Some(v) => (v / s + 1).min(out),
        None => 0,
    };
    (lo, hi.max(lo))
}

/// The in-bounds taps of one pooling window, in scan order (row by row,
/// left to right): input offsets `first + i·row_step + j·col_step` for
/// `i < rows`, `j < cols`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Taps {
    /// Offset of the first in-bounds tap.
    pub first: usize,
    /// In-bounds kernel rows.
    pub rows: usize,
    /// Offset between kernel rows (`dh·w`).
    pub row_step: usize,
    /// In-bounds kernel columns.
    pub cols: usize,
    /// Offset between kernel columns (`dw`).
    pub col_step: usize,
}

impl Taps {
    /// Number of in-bounds taps.
    pub fn count(&self) -> usize {
        self.rows * self.cols
    }

    /// Calls `f` with every tap's offset, in scan order.
    #[inline]
    pub fn for_each(&self, mut f: impl FnMut(usize)) {
        for i in 0..self.rows {
            let row = self.first + i * self.row_step;
            for j in 0..self.cols {
                f(row + j * self.col_step);
            }
        }
    }
}

/// Calls `f(k, taps)` for every output of `planes` consecutive `h × w`
/// planes pooled by `win` to `oh × ow`: `k` is the output's index and
/// `taps` its window's in-bounds taps, both counted from the first plane.
/// Pooling layers share this walk (forward and backward).
pub(crate) fn for_each_window(
    win: &Window2d,
    planes: usize,
    (h, w): (usize, usize),
    (oh, ow): (usize, usize),
    mut f: impl FnMut(usize, Taps),
) {
    let Window2d {
        kernel: (kh, kw),
        stride: (sh, sw),
        padding: (ph, pw),
        dilation: (dh, dw),
    } = *win;
    for p in 0..planes {
        for oy in 0..oh {
            let (ilo, ihi) = Window2d::taps(oy, h, kh, sh, ph, dh);
            for ox in 0..ow {
                let (jlo, jhi) = Window2d::taps(ox, w, kw, sw, pw, dw);
                // The first in-bounds position (≥ 0 by the choice of ilo and jlo).
                let (y0, x0) = (oy * sh + ilo * dh, ox * sw + jlo * dw);
                let first = (p * h + y0.saturating_sub(ph)) * w + x0.saturating_sub(pw);
                let taps = Taps {
                    first,
                    rows: ihi - ilo,
                    row_step: dh * w,
                    cols: jhi - jlo,
                    col_step: dw,
                };
                f((p * oh + oy) * ow + ox, taps);
            }
        }
    }
}

/// Gives `t` the shape `shape` for a pass that overwrites every element:
/// zero-filled when the shape changes, left as it is (stale values) when it
/// already has that shape, sparing a pass over memory per call.
///
/// # Errors
/// As [`Tensor::resize_zeroed`].
pub(crate) fn resize_for_overwrite<T: Scalar>(t: &mut Tensor<T>, shape: &[usize]) -> Result<()> {
    if t.shape() == shape {
        Ok(())
    } else {
        t.resize_zeroed(shape)
    }
}

/// What a pooling layer keeps between its passes: the input shape of the
/// last forward pass (empty before one), its output and the input gradient.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct PoolCache<T> {
    in_shape: Vec<usize>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
}

impl<T: Scalar> PoolCache<T> {
    /// Runs `f(x, output)` (which checks `x` before writing anything) and
    /// records the input shape for the backward pass.
    pub fn forward(
        &mut self,
        x: &Tensor<T>,
        f: impl FnOnce(&Tensor<T>, &mut Tensor<T>) -> Result<()>,
    ) -> Result<&Tensor<T>> {
        f(x, &mut self.output)?;
        self.in_shape.clear();
        self.in_shape.extend_from_slice(x.shape());
        Ok(&self.output)
    }

    /// Checks `dy` against the last forward pass (an error naming `op` when
    /// there was none or the shapes differ, with nothing changed), then runs
    /// `f(input shape, dy, input gradient)`.
    pub fn backward(
        &mut self,
        op: &'static str,
        dy: &Tensor<T>,
        f: impl FnOnce(&[usize], &Tensor<T>, &mut Tensor<T>) -> Result<()>,
    ) -> Result<&Tensor<T>> {
        let has_forward = !self.in_shape.is_empty();
        check_backward(op, has_forward.then_some(&self.output), dy)?;
        f(&self.in_shape, dy, &mut self.grad_input)?;
        Ok(&self.grad_input)
    }
}

/// A `(height, width)` pair as a model file keeps it: `[h, w]`.
pub(crate) fn pair_config((h, w): (usize, usize)) -> Vec<i64> {
    // Sizes of existing layers fit in i64 on every supported (64-bit) target.
    vec![h as i64, w as i64]
}

/// The pair `name` of a model-file description: `[h, w]`, or one integer `n`
/// (as PyTorch's `kernel_size=3`) for `(n, n)`.
///
/// # Errors
/// [`Error::InvalidArgument`] when it is missing, negative or not one or two integers.
pub(crate) fn pair_from_config(
    config: &crate::layer::LayerConfig,
    name: &str,
) -> Result<(usize, usize)> {
    if let Ok(n) = config.usize(name) {
        return Ok((n, n));
    }
    match config.ints(name)? {
        &[h, w] => match (usize::try_from(h), usize::try_from(w)) {
            (Ok(h), Ok(w)) => Ok((h, w)),
            _ => Err(config.unsupported(name, "non-negative sizes")),
        },
        _ => Err(config.unsupported(name, "one size or a pair [height, width]")),
    }
}

/// `[n, c, h, w]` of an NCHW shape; `op` names the caller.
///
/// # Errors
/// [`Error::InvalidShape`] for a shape that is not 4-D.
pub(crate) fn dims4(op: &'static str, shape: &[usize]) -> Result<[usize; 4]> {
    match *shape {
        [n, c, h, w] => Ok([n, c, h, w]),
        _ => Err(Error::invalid_shape(
            op,
            shape,
            "expected a 4-D batch [batch, channels, height, width]",
        )),
    }
}

/// `dims4` plus a check of the channel count.
///
/// # Errors
/// As for [`dims4`]; [`Error::ShapeMismatch`] when the channels differ from `channels`.
pub(crate) fn nchw(op: &'static str, shape: &[usize], channels: usize) -> Result<[usize; 4]> {
    let d = dims4(op, shape)?;
    if d[1] != channels {
        return Err(Error::shape_mismatch(
            op,
            shape,
            &[channels],
            "the input's channel count (dimension 1) differs from the layer's",
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_follow_pytorch() {
        let shape = |h, w| [2, 3, h, w];
        // nn.Conv2d(3, 8, 3)(28×28) → 26×26; padding 1 keeps 28; stride 2 → 14.
        let mut win = Window2d::new((3, 3));
        assert_eq!(win.output_hw("t", &shape(28, 28)).unwrap(), (26, 26));
        win.padding = (1, 1);
        assert_eq!(win.output_hw("t", &shape(28, 28)).unwrap(), (28, 28));
        win.stride = (2, 2);
        assert_eq!(win.output_hw("t", &shape(28, 28)).unwrap(), (14, 14));
        // Non-square kernel (2, 5), dilation (1, 2): effective 2×9; 7×11 → 6×3.
        let win = Window2d {
            kernel: (2, 5),
            stride: (1, 1),
            padding: (0, 0),
            dilation: (1, 2),
        };
        assert_eq!(win.effective_kernel(), (2, 9));
        assert_eq!(win.output_hw("t", &shape(7, 11)).unwrap(), (6, 3));
        let err = win.output_hw("t", &shape(7, 8)).unwrap_err();
        assert!(
            err.to_string()
                .contains("smaller than the effective kernel 2×9"),
            "{err}"
        );
    }

    #[test]
    fn validation() {
        assert!(Window2d::new((3, 0)).validate("t").is_err());
        let mut w = Window2d::new((3, 3));
        w.stride = (0, 1);
        assert!(w.validate("t").unwrap_err().to_string().contains("stride"));
        w.stride = (1, 1);
        w.padding = (2, 1);
        assert!(w.validate("t").is_ok());
        assert!(w.validate_pool_padding("t").is_err());
        w.dilation = (2, 2); // effective 5: padding 2 allowed
        assert!(w.validate_pool_padding("t").is_ok());
        assert!(dims4("t", &[1, 2, 3]).is_err());
        assert!(nchw("t", &[1, 2, 3, 3], 3).is_err());
        assert_eq!(nchw("t", &[1, 2, 3, 4], 2).unwrap(), [1, 2, 3, 4]);
    }

    #[test]
    fn pairs_in_model_files() {
        use crate::layer::{LayerConfig, LayerRegistry};
        let c = LayerConfig::new("X")
            .with("one", 3usize)
            .with("two", vec![2i64, 5])
            .with("neg", vec![-1i64, 2])
            .with("three", vec![1i64, 2, 3])
            .with("flag", true);
        assert_eq!(pair_from_config(&c, "one").unwrap(), (3, 3));
        assert_eq!(pair_from_config(&c, "two").unwrap(), (2, 5));
        assert_eq!(pair_config((2, 5)), vec![2, 5]);
        for bad in ["neg", "three", "flag", "missing"] {
            let err = pair_from_config(&c, bad).unwrap_err();
            assert!(err.to_string().contains(&format!("X.{bad}")), "{err}");
        }
        // Every new layer describes itself and is rebuilt from its description.
        let registry = LayerRegistry::<f64>::builtin();
        let layers: Vec<Box<dyn crate::Layer<f64>>> = vec![
            Box::new(crate::layer::avg_pool::GlobalAvgPool2d::new()),
            Box::new(
                crate::layer::avg_pool::AvgPool2d::new((2, 3))
                    .unwrap()
                    .with_count_include_pad(false),
            ),
            Box::new(crate::layer::flatten::Flatten::new()),
        ];
        for l in layers {
            let config = l.config().unwrap();
            assert_eq!(registry.build(&config).unwrap().config(), Some(config));
        }
        let bad = LayerConfig::new("AdaptiveAvgPool2d").with("output_size", 2usize);
        assert!(registry.build(&bad).is_err());
        let bad = LayerConfig::new("Flatten")
            .with("start_dim", 0usize)
            .with("end_dim", -1i64);
        assert!(registry.build(&bad).is_err());
        let bad = LayerConfig::new("Flatten")
            .with("start_dim", 1usize)
            .with("end_dim", 2i64);
        assert!(registry.build(&bad).is_err());
    }

    #[test]
    fn outputs_inside_match_brute_force() {
        for len in 1..7 {
            for out in 0..8 {
                for s in 1..4 {
                    for p in 0..3 {
                        for td in 0..5 {
                            let inside: Vec<usize> = (0..out)
                                .filter(|&o| {
                                    let pos = (o * s + td) as isize - p as isize;
                                    (0..len as isize).contains(&pos)
                                })
                                .collect();
                            let (lo, hi) = outputs_inside(len, out, s, p, td);
                            assert_eq!(
                                (lo..hi).collect::<Vec<_>>(),
                                inside,
                                "{len} {out} {s} {p} {td}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn taps_match_brute_force() {
        for len in 1..7 {
            for k in 1..4 {
                for s in 1..3 {
                    for p in 0..3 {
                        for d in 1..3 {
                            for o in 0..6 {
                                let inside: Vec<usize> = (0..k)
                                    .filter(|&t| {
                                        let pos = (o * s + t * d) as isize - p as isize;
                                        (0..len as isize).contains(&pos)
                                    })
                                    .collect();
                                let (lo, hi) = Window2d::taps(o, len, k, s, p, d);
                                assert_eq!(
                                    (lo..hi).collect::<Vec<_>>(),
                                    inside,
                                    "{len} {k} {s} {p} {d} {o}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
