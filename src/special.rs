//! Special functions: the error function, the standard normal distribution
//! and the logistic sigmoid.
//!
//! The exact GELU, `x·Φ(x)`, needs the standard normal CDF `Φ`, which is the
//! error function in disguise:
//!
//! ```text
//! erf(x)  = 2/√π ∫₀ˣ e^(−t²) dt          erfc(x) = 1 − erf(x)
//! Φ(x)    = ½·erfc(−x/√2) = ½·(1 + erf(x/√2))
//! φ(x)    = e^(−x²/2) / √(2π)            (Φ' = φ)
//! ```
//!
//! `erf` and `erfc` are computed on three ranges, each with a method that
//! converges fast there and loses nothing to cancellation:
//!
//! * `|x| < 1`: the Maclaurin series, written as a small correction to `x`,
//!
//!   ```text
//!   erf(x) = x + x·c(x²),   c(y) = (2/√π − 1) + 2/√π · Σₙ₌₁ (−y)ⁿ / (n!·(2n+1))
//!   ```
//!
//!   (at most 18 terms; `|x·c|` is at most 19 % of the result, so its rounding
//!   barely shows and the result is within about an ulp);
//! * `1 ≤ x < 2.5`: `erfc(x) = e^(−x²)·g(x)` with `g(x) = e^(x²)·erfc(x)`, a
//!   smooth, slowly varying function (0.43 down to 0.22 on this range),
//!   evaluated as a degree-19 polynomial in `t = (x − 1.75)/0.75 ∈ [−1, 1]`
//!   (Horner's rule; the coefficients alternate and shrink ~3× per degree).
//!   The coefficients are a Chebyshev fit computed with mpmath at 40 digits,
//!   `mpmath.chebyfit(lambda t: g(1.75 + 0.75*t), [-1, 1], 20)`, whose maximum
//!   error is 1.3e-19, below 2⁻⁶¹ relative to `g`;
//! * `x ≥ 2.5`: Laplace's continued fraction (A&S 7.1.14)
//!
//!   ```text
//!   √π · e^(x²) · erfc(x) = 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + …))))
//!   ```
//!
//!   evaluated from the bottom up with `⌈8 + 230/x²⌉` partial numerators
//!   (45 at `x = 2.5`, fewer beyond), which was checked against a 40-digit
//!   evaluation to converge below 2⁻⁵⁶ relative at every `x ≥ 2`.
//!
//! Negative arguments use `erf(−x) = −erf(x)` and `erfc(−x) = 2 − erfc(x)`;
//! for `|x| ≥ 1`, `erf(x) = 1 − erfc(x)` loses nothing since `erfc(x) < 0.16`.
//! `e^(−x²)` is formed with the rounding error of `x²` put back in (by a fused
//! multiply–add), so the factor does not lose `x²·ε` of relative accuracy.
//! Over the real line `erf` is within about 2 ulps of the true value (the tests
//! pin it to 1e-15 relative). `erfc` keeps the same relative accuracy for
//! `x ≥ 1`; for `x < 1` it is `1 − erf(x)`, accurate to ~1e-16 absolute.

use std::f64::consts::{FRAC_1_SQRT_2, FRAC_2_SQRT_PI, PI};

use crate::Scalar;

/// Numerically stable logistic sigmoid `σ(x) = 1/(1 + e⁻ˣ)`: `1/(1 + e⁻ˣ)`
/// for `x ≥ 0`, `eˣ/(1 + eˣ)` below, so `e^(|x|)` is never formed and nothing
/// overflows. Shared by the sigmoid activation and the binary cross-entropy
/// on logits.
pub(crate) fn sigmoid<T: Scalar>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// `1/√π`.
const FRAC_1_SQRT_PI: f64 = FRAC_2_SQRT_PI / 2.0;

/// `2/√π − 1` rounded once (mpmath, 50 digits: 0.12837916709551257389…).
const TWO_OVER_SQRT_PI_MINUS_ONE: f64 = 0.128_379_167_095_512_6;

/// Where the continued fraction takes over from the fitted polynomial.
const CF_LIMIT: f64 = 2.5;

/// Beyond this `erfc(x)` is below half the smallest subnormal
/// (erfc(27.3) ≈ 4.4e-326, mpmath).
const ERFC_UNDERFLOW: f64 = 27.3;

/// `g(1.75 + 0.75·t) = e^(x²)·erfc(x)` on `t ∈ [−1, 1]`, lowest degree
/// first; see the module docs for how they were computed.
const G_FIT: [f64; 20] = [
    0.284_972_234_737_436_4,
    -0.098_232_259_135_863_9,
    0.031_367_041_923_986_61,
    -0.009_390_935_492_460_704,
    0.002_659_179_124_193_206,
    -0.000_716_891_445_601_743_8,
    0.000_184_956_078_344_325_56,
    -4.585_616_724_029_061_6e-5,
    1.096_289_358_373_853_8e-5,
    -2.534_510_249_694_388e-6,
    5.680_168_034_250_995e-7,
    -1.236_618_996_811_611_5e-7,
    2.620_004_363_909_859e-8,
    -5.410_933_478_381_352_5e-9,
    1.091_502_268_377_980_7e-9,
    -2.150_471_770_390_772_4e-10,
    4.087_655_321_391_735e-11,
    -7.727_035_763_061_652e-12,
    1.705_138_017_485_802_5e-12,
    -3.079_976_964_515_226_4e-13,
];

/// `e^(−x²)` with the rounding error of `x²` compensated:
/// `x² = s + e` exactly with `s = fl(x²)`, `e = fma(x, x, −s)`, so
/// `e^(−x²) = e^(−s)·e^(−e) ≈ e^(−s)·(1 − e)` (|e| ≤ ulp(s)/2, so the
/// dropped `e²/2` is far below rounding).
fn exp_neg_sq(x: f64) -> f64 {
    let s = x * x;
    if !s.is_finite() {
        return (-s).exp();
    }
    let e = x.mul_add(x, -s);
    (-s).exp() * (1.0 - e)
}

/// `e^(−x²/2)`, compensated as in [`exp_neg_sq`] (halving is exact).
fn exp_neg_half_sq(x: f64) -> f64 {
    let s = x * x;
    if !s.is_finite() {
        return (-s).exp();
    }
    let e = x.mul_add(x, -s);
    (-0.5 * s).exp() * (1.0 - 0.5 * e)
}

/// `erf(x)` for `|x| < 1` by the Maclaurin series, as `x + x·c(x²)`.
fn erf_small(x: f64) -> f64 {
    let y = x * x;
    // Σₙ₌₁ (−y)ⁿ/(n!·(2n+1)); p holds (−y)ⁿ/n!. For y < 1 the terms fall
    // at least as fast as 1/n!, so 18 of them reach 1e-17; stop earlier when
    // a term no longer changes the sum.
    let mut p = 1.0;
    let mut sum = 0.0;
    for n in 1..=20 {
        let nf = f64::from(n);
        p *= -y / nf;
        let next = sum + p / (2.0 * nf + 1.0);
        if next == sum {
            break;
        }
        sum = next;
    }
    let c = FRAC_2_SQRT_PI.mul_add(sum, TWO_OVER_SQRT_PI_MINUS_ONE);
    x.mul_add(c, x)
}

/// `erfc(x)` for `1 ≤ x < 2.5`, from the fitted `g`.
fn erfc_mid(x: f64) -> f64 {
    let t = (x - 1.75) / 0.75;
    let g = G_FIT
        .iter()
        .rev()
        .fold(0.0_f64, |acc, &c| acc.mul_add(t, c));
    exp_neg_sq(x) * g
}

/// `√π·e^(x²)·erfc(x)` for `x ≥ 2.5` by the continued fraction, bottom up.
fn erfc_scaled_cf(x: f64) -> f64 {
    // ⌈8 + 230/x²⌉ partial numerators reach 2⁻⁵⁶ relative for x ≥ 2 (see module docs).
    let n = (8.0 + 230.0 / (x * x)).ceil() as u32;
    let mut t = x;
    for k in (1..=n).rev() {
        t = x + f64::from(k) * 0.5 / t;
    }
    1.0 / t
}

/// `erfc(x)` for `x ≥ 1` (either method).
fn erfc_positive_tail(x: f64) -> f64 {
    if x < CF_LIMIT {
        erfc_mid(x)
    } else if x > ERFC_UNDERFLOW {
        0.0
    } else {
        exp_neg_sq(x) * FRAC_1_SQRT_PI * erfc_scaled_cf(x)
    }
}

/// The error function `erf(x) = 2/√π ∫₀ˣ e^(−t²) dt`.
///
/// Odd, increasing, `erf(±∞) = ±1`, `erf(NaN) = NaN`; within about 2 ulps
/// of the true value everywhere (see the [module docs](self) for the method).
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    let a = x.abs();
    if a < 1.0 {
        erf_small(x)
    } else {
        (1.0 - erfc_positive_tail(a)).copysign(x)
    }
}

/// The complementary error function `erfc(x) = 1 − erf(x)`, computed
/// directly (without cancellation) for `x ≥ 1`, where it is small.
///
/// `erfc(−∞) = 2`, `erfc(+∞) = 0`, `erfc(NaN) = NaN`.
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x >= 1.0 {
        erfc_positive_tail(x)
    } else if x <= -1.0 {
        2.0 - erfc_positive_tail(-x)
    } else {
        1.0 - erf_small(x)
    }
}

/// The standard normal density `φ(x) = e^(−x²/2)/√(2π)`.
pub fn normal_pdf(x: f64) -> f64 {
    exp_neg_half_sq(x) / (2.0 * PI).sqrt()
}

/// The standard normal distribution function `Φ(x) = P(Z ≤ x) = ½·erfc(−x/√2)`.
///
/// In the left tail (`x < −√2`) it is computed as `½·erfc(|x|/√2)`, which
/// keeps its relative accuracy where `½(1 + erf(x/√2))` would cancel.
pub fn normal_cdf(x: f64) -> f64 {
    let z = x * FRAC_1_SQRT_2;
    if z < -1.0 {
        0.5 * erfc(-z)
    } else {
        0.5 * (1.0 + erf(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b { 0.0 } else { (a - b).abs() / b.abs() }
    }

    /// Reference values: erf(0.5), erf(1), erf(2), erf(3) are the published
    /// values (A&S Table 7.1, to 16 digits; they agree with a 50-digit mpmath
    /// evaluation of the defining integral). The others were evaluated with
    /// mpmath at 50 digits and rounded to the nearest f64.
    const ERF_TABLE: &[(f64, f64)] = &[
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.0, 0.995_322_265_018_952_7),
        (3.0, 0.999_977_909_503_001_4),
        (1e-10, 1.128_379_167_095_512_6e-10), // ≈ 2x/√π, the x³ term is 1e-30 smaller
        (0.1, 0.112_462_916_018_284_9),
        (2.4999, 0.999_592_830_099_666_6),
        (2.5, 0.999_593_047_982_555),
        (4.0, 0.999_999_984_582_742_1),
        (5.0, 0.999_999_999_998_462_6),
    ];

    #[test]
    fn erf_plus_erfc_is_one_and_erf_is_monotone() {
        // Over [−8, 8], erf + erfc = 1 to rounding and erf never decreases,
        // including across the handovers at ±1 and ±2.5.
        let mut prev = -1.0;
        let mut x = -8.0;
        while x <= 8.0 {
            let (e, c) = (erf(x), erfc(x));
            assert!((e + c - 1.0).abs() <= 3e-16, "x = {x}");
            assert!(e >= prev, "erf decreases at {x}");
            prev = e;
            x += 1.0 / 512.0;
        }
        for x in [1.0f64, 2.5] {
            let below = x - 1e-15;
            assert!(erf(below) <= erf(x) && erfc(below) >= erfc(x));
        }
    }

    #[test]
    fn erf_matches_reference_values() {
        for &(x, want) in ERF_TABLE {
            let got = erf(x);
            assert!(rel(got, want) < 1e-15, "erf({x}) = {got:e}, want {want:e}");
            assert_eq!(erf(-x), -got, "erf is odd at {x}");
        }
    }

    #[test]
    fn erf_special_values() {
        assert_eq!(erf(0.0), 0.0);
        assert!(erf(-0.0).is_sign_negative());
        assert_eq!(erf(f64::INFINITY), 1.0);
        assert_eq!(erf(f64::NEG_INFINITY), -1.0);
        assert!(erf(f64::NAN).is_nan());
        assert_eq!(erf(30.0), 1.0);
        assert_eq!(erf(1e300), 1.0);
        // erf(x) ≈ 2x/√π for subnormal x (whose own precision is ~5e-14).
        assert!(rel(erf(1e-310), FRAC_2_SQRT_PI * 1e-310) < 1e-12);
    }

    #[test]
    fn erfc_tail_and_special_values() {
        // erfc(3) and erfc(5) from mpmath at 50 digits, rounded to f64.
        assert!(rel(erfc(3.0), 2.209_049_699_858_544e-5) < 1e-15);
        assert!(rel(erfc(5.0), 1.537_459_794_428_035e-12) < 1e-14);
        // erfc(10) = 2.088487583762545e-45 (mpmath, 50 digits).
        assert!(rel(erfc(10.0), 2.088_487_583_762_545e-45) < 2e-15);
        assert_eq!(erfc(f64::INFINITY), 0.0);
        assert_eq!(erfc(f64::NEG_INFINITY), 2.0);
        assert_eq!(erfc(40.0), 0.0);
        assert!(erfc(f64::NAN).is_nan());
        assert_eq!(erfc(0.0), 1.0);
        // erfc(−x) = 2 − erfc(x).
        for x in [0.3, 1.7, 2.6, 6.0] {
            assert!((erfc(-x) - (2.0 - erfc(x))).abs() < 1e-15);
        }
    }

    #[test]
    fn methods_agree_at_the_handovers() {
        // At x = 1 the Maclaurin series and the fitted g both converge; at
        // x = 2.5 the fitted g and the continued fraction do. Each pair must
        // give the same value to within rounding.
        let small = erf_small(1.0);
        let mid = 1.0 - erfc_mid(1.0);
        assert!(rel(small, mid) < 3e-16, "{small} vs {mid}");
        let mid = erfc_mid(CF_LIMIT);
        let cf = exp_neg_sq(CF_LIMIT) * FRAC_1_SQRT_PI * erfc_scaled_cf(CF_LIMIT);
        assert!(rel(mid, cf) < 2e-15, "{mid} vs {cf}");
    }

    #[test]
    fn derivative_matches_central_differences() {
        // d/dx erf(x) = 2/√π·e^(−x²); central differences with h = 1e-5 have
        // truncation error h²·|erf'''|/6 ≈ 1e-10 and rounding error ε/h ≈ 1e-11.
        let h = 1e-5;
        let mut x = -4.0;
        while x <= 4.0 {
            let numeric = (erf(x + h) - erf(x - h)) / (2.0 * h);
            let analytic = FRAC_2_SQRT_PI * (-x * x).exp();
            assert!(
                (numeric - analytic).abs() < 1e-9,
                "x = {x}: numeric {numeric}, analytic {analytic}"
            );
            x += 0.0625;
        }
    }

    #[test]
    fn normal_helpers() {
        // φ(0) = 1/√(2π); Φ(0) = ½; Φ(1) = ½(1 + erf(1/√2)) = 0.8413447460685429
        // (mpmath ncdf(1), 50 digits, rounded).
        assert_eq!(normal_pdf(0.0), 1.0 / (2.0 * PI).sqrt());
        assert_eq!(normal_cdf(0.0), 0.5);
        assert!(rel(normal_cdf(1.0), 0.841_344_746_068_542_9) < 1e-15);
        assert!(rel(normal_cdf(-1.0), 0.158_655_253_931_457_05) < 1e-15);
        // Left tail keeps relative accuracy: Φ(−10) = 7.619853024160525e-24 (mpmath).
        assert!(rel(normal_cdf(-10.0), 7.619_853_024_160_525e-24) < 1e-13);
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        // Φ' = φ by central differences.
        let h = 1e-5;
        for x in [-3.0, -0.7, 0.0, 0.4, 2.2] {
            let numeric = (normal_cdf(x + h) - normal_cdf(x - h)) / (2.0 * h);
            assert!((numeric - normal_pdf(x)).abs() < 1e-9);
        }
        // φ(3) = e^(−4.5)/√(2π) = 0.0044318484119380075 (mpmath).
        assert!(rel(normal_pdf(3.0), 0.004_431_848_411_938_007_5) < 1e-15);
    }
}
