//! Scales (data value → pixel) and "nice" tick values, after d3-scale.

/// A map from a data interval (the domain) to a pixel interval (the range),
/// linear or base-10 logarithmic.
///
/// Linear: `px = r0 + (v − d0)/(d1 − d0) · (r1 − r0)`; logarithmic: the same
/// with `log10` applied to `v`, `d0` and `d1`. A zero-width domain maps every
/// value to the middle of the range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    domain: (f64, f64),
    range: (f64, f64),
    log: bool,
}

impl Scale {
    /// A linear scale.
    pub fn linear(domain: (f64, f64), range: (f64, f64)) -> Self {
        Scale {
            domain,
            range,
            log: false,
        }
    }

    /// A base-10 logarithmic scale; the domain must be positive (callers
    /// drop values ≤ 0 before building one).
    pub fn log(domain: (f64, f64), range: (f64, f64)) -> Self {
        Scale {
            domain,
            range,
            log: true,
        }
    }

    /// The domain widened outward to round values so that it starts and ends
    /// on a tick (d3's `scale.nice()`): multiples of the tick step for a
    /// linear scale, `{1, 2, 5}·10ᵏ` for a logarithmic one.
    ///
    /// ```
    /// use weightwise::svg::Scale;
    /// let s = Scale::linear((0.13, 0.92), (0.0, 100.0)).nice(5);
    /// assert_eq!(s.domain(), (0.0, 1.0));
    /// let s = Scale::log((0.03, 2.4), (0.0, 100.0)).nice(5);
    /// assert_eq!(s.domain(), (0.02, 5.0));
    /// ```
    pub fn nice(mut self, count: usize) -> Self {
        let (mut lo, mut hi) = self.domain;
        if !(lo.is_finite() && hi.is_finite()) || lo >= hi {
            return self;
        }
        if self.log {
            if lo > 0.0 {
                lo = log_step_below(lo);
                hi = log_step_above(hi);
            }
        } else {
            // Two passes settle the step (widening can change it once).
            for _ in 0..2 {
                let step = tick_step(lo, hi, count);
                if step <= 0.0 {
                    break;
                }
                lo = round_to_step((lo / step + 1e-9).floor(), step);
                hi = round_to_step((hi / step - 1e-9).ceil(), step);
            }
        }
        self.domain = (lo, hi);
        self
    }

    /// The data interval.
    pub fn domain(&self) -> (f64, f64) {
        self.domain
    }

    /// The pixel interval.
    pub fn range(&self) -> (f64, f64) {
        self.range
    }

    /// True for a logarithmic scale.
    pub fn is_log(&self) -> bool {
        self.log
    }

    /// The pixel position of `v`.
    pub fn map(&self, v: f64) -> f64 {
        let f = |x: f64| if self.log { x.log10() } else { x };
        let (d0, d1) = (f(self.domain.0), f(self.domain.1));
        let (r0, r1) = self.range;
        if d1 == d0 || !(d1 - d0).is_finite() {
            return (r0 + r1) / 2.0;
        }
        r0 + (f(v) - d0) / (d1 - d0) * (r1 - r0)
    }

    /// About `count` round values inside the domain: [`nice_ticks`] for a
    /// linear scale; `{1, 2, 5}·10ᵏ` (or powers of ten when the domain spans
    /// more than four decades) for a logarithmic one.
    pub fn ticks(&self, count: usize) -> Vec<f64> {
        let (lo, hi) = self.domain;
        if !self.log || lo <= 0.0 {
            return nice_ticks(lo, hi, count);
        }
        let (k0, k1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        let decades = k1 - k0;
        let stride = (decades as usize).div_ceil(count.max(1)).max(1);
        let mults: &[f64] = if decades <= 4 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut out = Vec::new();
        for k in k0..=k1 {
            if !((k - k0) as usize).is_multiple_of(stride) {
                continue;
            }
            for &m in mults {
                let v = pow10_times(m, k);
                if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                    out.push(v);
                }
            }
        }
        out
    }
}

/// The step between d3-style ticks: `1`, `2` or `5 × 10ᵏ`, chosen so that
/// about `count` steps cover `[lo, hi]` (d3's `tickIncrement`); 0 for an
/// empty or non-finite interval.
fn tick_step(lo: f64, hi: f64, count: usize) -> f64 {
    let raw = (hi - lo).abs() / count.max(1) as f64;
    if !(raw > 0.0 && raw.is_finite()) {
        return 0.0;
    }
    let base = 10f64.powf(raw.log10().floor());
    let err = raw / base;
    let factor = if err >= 50f64.sqrt() {
        10.0
    } else if err >= 10f64.sqrt() {
        5.0
    } else if err >= 2f64.sqrt() {
        2.0
    } else {
        1.0
    };
    factor * base
}

/// `i · step`, computed as `i / (1/step)` for steps below one so that, for
/// example, `3 × 0.2` gives `0.6` rather than `0.6000000000000001`.
fn round_to_step(i: f64, step: f64) -> f64 {
    let v = if step < 1.0 {
        i / (1.0 / step).round()
    } else {
        i * step
    };
    if v == 0.0 { 0.0 } else { v }
}

/// `m · 10ᵏ` without the rounding error of multiplying by a negative power.
fn pow10_times(m: f64, k: i32) -> f64 {
    if k < 0 {
        m / 10f64.powi(-k)
    } else {
        m * 10f64.powi(k)
    }
}

/// The largest `{1, 2, 5}·10ᵏ` not above `v > 0`.
fn log_step_below(v: f64) -> f64 {
    let k = v.log10().floor() as i32;
    [5.0, 2.0, 1.0]
        .iter()
        .map(|&m| pow10_times(m, k))
        .find(|&c| c <= v * (1.0 + 1e-9))
        .unwrap_or_else(|| pow10_times(1.0, k))
}

/// The smallest `{1, 2, 5}·10ᵏ` not below `v > 0`.
fn log_step_above(v: f64) -> f64 {
    let k = v.log10().floor() as i32;
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|&m| pow10_times(m, k))
        .find(|&c| c >= v * (1.0 - 1e-9))
        .unwrap_or_else(|| pow10_times(1.0, k + 1))
}

/// About `count` round tick values covering `[lo, hi]` (in either order), as
/// d3's `ticks`: every multiple of a step of `1`, `2` or `5 × 10ᵏ` inside the
/// interval. Empty for non-finite bounds; `[lo]` when `lo == hi`.
///
/// ```
/// use weightwise::svg::nice_ticks;
/// assert_eq!(nice_ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
/// assert_eq!(nice_ticks(-3.0, 17.0, 4), [0.0, 5.0, 10.0, 15.0]);
/// ```
pub fn nice_ticks(lo: f64, hi: f64, count: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return Vec::new();
    }
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    let step = tick_step(lo, hi, count);
    if step == 0.0 {
        return vec![lo];
    }
    let (i0, i1) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    let n = (i1 - i0).max(-1.0) as i64;
    (0..=n)
        .map(|j| round_to_step(i0 + j as f64, step))
        .collect()
}

/// Formats a tick value with as many decimals as the tick `step` needs
/// (`0.2` → one decimal, `0.05` → two), switching to exponent notation for
/// very small steps or very large values (`1e-5`, `2e6`).
///
/// ```
/// use weightwise::svg::format_tick;
/// assert_eq!(format_tick(0.6000000000000001, 0.2), "0.6");
/// assert_eq!(format_tick(1500.0, 500.0), "1500");
/// assert_eq!(format_tick(0.00003, 0.00001), "3e-5");
/// ```
pub fn format_tick(v: f64, step: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v };
    let step = step.abs();
    if (step > 0.0 && step < 1e-4) || v.abs() >= 1e6 {
        // Shortest round-trip form after rounding to the step's precision.
        let digits = if step > 0.0 && v != 0.0 {
            ((v.abs().log10().floor() - step.log10().floor()).max(0.0) as usize).min(15)
        } else {
            0
        };
        let s = format!("{v:.digits$e}");
        return match s.split_once('e') {
            Some((m, e)) if m.contains('.') => {
                format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
            }
            _ => s,
        };
    }
    let decimals = if step > 0.0 && step < 1.0 {
        (-step.log10() - 1e-9).ceil().max(0.0) as usize
    } else {
        0
    };
    format!("{v:.decimals$}")
}

/// `v` with three significant digits, for legends (`0.7342` → `0.734`).
pub(crate) fn format_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{}", if v == 0.0 { 0.0 } else { v });
    }
    let mag = v.abs().log10().floor();
    if !(-3.0..5.0).contains(&mag) {
        let s = format!("{v:.2e}");
        return match s.split_once('e') {
            Some((m, e)) => format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.')),
            None => s,
        };
    }
    let decimals = (2.0 - mag).max(0.0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_follow_d3() {
        // d3.ticks(0, 1, 5): step 1/5 = 0.2 is already 2×10⁻¹.
        assert_eq!(nice_ticks(0.0, 1.0, 5), [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        // d3.ticks(0, 1, 10): step 0.1.
        assert_eq!(nice_ticks(0.0, 1.0, 10).len(), 11);
        assert_eq!(nice_ticks(0.0, 1.0, 10)[3], 0.3);
        // span 20 / 4 = 5 → step 5 (error 5 ≥ √10).
        assert_eq!(nice_ticks(-3.0, 17.0, 4), [0.0, 5.0, 10.0, 15.0]);
        // span 2.3 / 5 = 0.46 → error 4.6 ≥ √10 → step 0.5.
        assert_eq!(nice_ticks(0.05, 2.35, 5), [0.5, 1.0, 1.5, 2.0]);
        // span 0.003 / 5 = 0.0006 → error 6 < √50 → step 0.0005.
        assert_eq!(
            nice_ticks(-0.0015, 0.0015, 5),
            [-0.0015, -0.001, -0.0005, 0.0, 0.0005, 0.001, 0.0015]
        );
        // reversed bounds, degenerate and non-finite intervals
        assert_eq!(nice_ticks(1.0, 0.0, 5), nice_ticks(0.0, 1.0, 5));
        assert_eq!(nice_ticks(2.0, 2.0, 5), [2.0]);
        assert!(nice_ticks(0.0, f64::NAN, 5).is_empty());
    }

    #[test]
    fn nice_domain_and_map() {
        let s = Scale::linear((0.13, 0.92), (0.0, 100.0)).nice(5);
        assert_eq!(s.domain(), (0.0, 1.0));
        assert_eq!(s.map(0.25), 25.0);
        // Inverted pixel ranges (y axes) work the same way.
        let y = Scale::linear((-1.0, 1.0), (200.0, 0.0));
        assert_eq!(y.map(0.0), 100.0);
        assert_eq!(y.map(1.0), 0.0);
        // Zero-width domain → middle of the range.
        assert_eq!(Scale::linear((3.0, 3.0), (0.0, 10.0)).map(3.0), 5.0);
        // -7.3..41 with ~5 ticks: step 10 → -10..50.
        assert_eq!(
            Scale::linear((-7.3, 41.0), (0.0, 1.0)).nice(5).domain(),
            (-10.0, 50.0)
        );
    }

    #[test]
    fn log_scale_ticks_and_nice() {
        let s = Scale::log((0.03, 2.4), (0.0, 100.0)).nice(5);
        assert_eq!(s.domain(), (0.02, 5.0));
        assert_eq!(s.ticks(5), [0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]);
        // log10(1) is 1/2 of the way from log10(0.1) to log10(10).
        assert!((Scale::log((0.1, 10.0), (0.0, 100.0)).map(1.0) - 50.0).abs() < 1e-9);
        // Eight decades, ~4 ticks → every second power of ten.
        let wide = Scale::log((1e-6, 100.0), (0.0, 1.0));
        assert_eq!(wide.ticks(4), [1e-6, 1e-4, 1e-2, 1.0, 100.0]);
        assert!(Scale::log((1.0, 10.0), (0.0, 1.0)).is_log());
    }

    #[test]
    fn tick_formatting() {
        assert_eq!(format_tick(0.6000000000000001, 0.2), "0.6");
        assert_eq!(format_tick(0.05, 0.05), "0.05");
        // Every tick of a 0.5 step carries one decimal, as d3 does; never "-0.0".
        assert_eq!(format_tick(-0.0, 0.5), "0.0");
        assert_eq!(format_tick(0.1, 0.1), "0.1");
        assert_eq!(format_tick(20.0, 10.0), "20");
        assert_eq!(format_tick(0.00003, 0.00001), "3e-5");
        assert_eq!(format_tick(0.000025, 0.000005), "2.5e-5");
        assert_eq!(format_tick(2e6, 1e6), "2e6");
        assert_eq!(format_sig(0.73421), "0.734");
        assert_eq!(format_sig(-12.0), "-12");
        assert_eq!(format_sig(1234.6), "1235");
        assert_eq!(format_sig(0.000123), "1.23e-4");
        assert_eq!(format_sig(0.0), "0");
    }
}
