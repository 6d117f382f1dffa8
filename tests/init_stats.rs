//! Statistical tests of every initializer on a large tensor, in f32 and f64.
//!
//! Each initializer fills a 256 × 512 weight (n = 131 072 values; fan_in 512,
//! fan_out 256, fan_avg 384) and the sample is held to the formula with
//! tolerances derived from n, not tuned to pass:
//!
//! - **mean**: the sample mean x̄ has standard error σ/√n, so we require
//!   `|x̄ − μ| ≤ 5·σ/√n`. Under the null hypothesis the probability of failing
//!   is P(|Z| > 5) ≈ 5.7·10⁻⁷.
//! - **variance**: the sample variance s² (divisor n − 1) has standard error
//!   `SE(s²) = √((μ₄ − σ⁴·(n−3)/(n−1)) / n) ≈ √((μ₄ − σ⁴)/n) = σ²·√((κ − 1)/n)`
//!   with κ = μ₄/σ⁴ the kurtosis: κ = 3 for a normal, giving the familiar
//!   σ²·√(2/n) (we use n − 1 for it, a hair wider); κ = 9/5 for a uniform
//!   (μ₄ = L⁴/5 and σ² = L²/3 on [−L, L]), giving σ²·√(0.8/n); for a truncated
//!   normal κ is computed below from its moments. We require
//!   `|s² − σ²| ≤ 5·SE(s²)` (s² is a mean of n terms, so it is close to normal).
//! - **shape**: for normals, the fraction p̂ of samples within one σ of the mean
//!   must be within 5·√(p(1−p)/n) of p = erf(1/√2) = 0.682 689 492 137 086
//!   (a binomial proportion), which tells a normal from a uniform of the same
//!   variance (p = 1/√3 = 0.577).
//! - **bounds**: uniform and truncated samples must lie in `[low, high]`
//!   exactly. In f32 the bounds are rounded to f32 first: rounding is
//!   monotone, so `low ≤ x ≤ high` in f64 gives `round(low) ≤ round(x) ≤ round(high)`.
//! - **edges**: where the density at a bound is f > 0, no sample falling within
//!   t = 20/(n·f) of it has probability (1 − f·t)ⁿ ≈ e⁻²⁰ ≈ 2·10⁻⁹, so the
//!   bounds must also be (nearly) reached: a too-narrow range fails.
//!
//! Orthogonal weights are checked by `WᵀW = gain²·I` (tall) or `WWᵀ = gain²·I`
//! (wide) to 1e-10 in f64; determinism by refilling with the same seed, and
//! f32 by equality with the f64 weights rounded.

use std::f64::consts::PI;

use rand::{SeedableRng, rngs::StdRng};
use weightwise::Tensor;
use weightwise::init::{Distribution, FanMode, Fans, Init, Initializer, Nonlinearity, gain};
use weightwise::scalar::Scalar;

const ROWS: usize = 256;
const COLS: usize = 512;
const SEED: u64 = 20_240_601;

/// P(|Z| ≤ 1) = erf(1/√2), from Python's `math.erf(1 / math.sqrt(2))`.
const WITHIN_ONE_SIGMA: f64 = 0.682_689_492_137_086;
/// P(|Z| ≤ 2) = erf(√2), from Python's `math.erf(math.sqrt(2))`.
const MASS_2: f64 = 0.954_499_736_103_641_6;

/// The standard normal density φ(x).
fn phi(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * PI).sqrt()
}

/// Variance and kurtosis of a standard normal truncated to [−2, 2].
///
/// For Z truncated to [−c, c] with mass M, integrating by parts gives the
/// recursion `E[Z^k] = (k−1)·E[Z^(k−2)] − 2·c^(k−1)·φ(c)/M` for even k, so
/// `m₂ = 1 − 2cφ(c)/M` and `m₄ = 3m₂ − 2c³φ(c)/M`; κ = m₄/m₂².
fn truncated_2_sigma() -> (f64, f64) {
    let c = 2.0;
    let m2 = 1.0 - 2.0 * c * phi(c) / MASS_2;
    let m4 = 3.0 * m2 - 2.0 * c.powi(3) * phi(c) / MASS_2;
    (m2, m4 / (m2 * m2))
}

/// What a filled tensor should look like.
#[derive(Clone, Copy, Debug)]
struct Expect {
    mean: f64,
    std: f64,
    /// κ = μ₄/σ⁴ of the distribution.
    kurtosis: f64,
    /// Check the one-σ fraction of a normal.
    normal: bool,
    /// `(low, high, density at low, density at high)`; density 0 skips the edge check.
    bounds: Option<(f64, f64, f64, f64)>,
}

impl Expect {
    fn normal(mean: f64, std: f64) -> Self {
        Expect {
            mean,
            std,
            kurtosis: 3.0,
            normal: true,
            bounds: None,
        }
    }

    /// U(low, high): mean (low+high)/2, σ = (high−low)/√12, κ = 9/5, density 1/(high−low).
    fn uniform(low: f64, high: f64) -> Self {
        let f = 1.0 / (high - low);
        Expect {
            mean: 0.5 * (low + high),
            std: (high - low) / 12f64.sqrt(),
            kurtosis: 1.8,
            normal: false,
            bounds: Some((low, high, f, f)),
        }
    }

    /// U(−limit, limit).
    fn symmetric_uniform(limit: f64) -> Self {
        Expect::uniform(-limit, limit)
    }

    /// N(mean, sigma²) truncated to mean ± 2·sigma.
    fn truncated_2_sigma(mean: f64, sigma: f64) -> Self {
        let (m2, kurtosis) = truncated_2_sigma();
        // Density at the cut: φ(2)/(σ·M).
        let f = phi(2.0) / (sigma * MASS_2);
        Expect {
            mean,
            std: sigma * m2.sqrt(),
            kurtosis,
            normal: false,
            bounds: Some((mean - 2.0 * sigma, mean + 2.0 * sigma, f, f)),
        }
    }
}

fn fill<T: Scalar>(init: Init, seed: u64) -> Tensor<T> {
    fill_shape(init, &[ROWS, COLS], seed)
}

fn fill_shape<T: Scalar>(init: Init, shape: &[usize], seed: u64) -> Tensor<T> {
    let mut w = Tensor::<T>::zeros(shape).unwrap();
    let fans = Fans::of_shape(w.shape()).unwrap();
    init.fill(&mut w, fans, &mut StdRng::seed_from_u64(seed))
        .unwrap();
    w
}

/// `Err` with the first check that fails.
fn check<T: Scalar>(name: &str, w: &Tensor<T>, e: Expect) -> Result<(), String> {
    let xs: Vec<f64> = w.as_slice().iter().map(|x| x.as_f64()).collect();
    let n = xs.len() as f64;
    // Two-pass moments, in f64.
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);

    let mean_tol = 5.0 * e.std / n.sqrt();
    // Written so that NaN fails too.
    let ok = (mean - e.mean).abs() <= mean_tol;
    if !ok {
        return Err(format!(
            "{name} {}: mean {mean} vs {} (tolerance {mean_tol})",
            T::DTYPE,
            e.mean
        ));
    }
    let sigma2 = e.std * e.std;
    let var_tol = 5.0 * sigma2 * ((e.kurtosis - 1.0) / (n - 1.0)).sqrt();
    let ok = (var - sigma2).abs() <= var_tol;
    if !ok {
        return Err(format!(
            "{name} {}: variance {var} vs {sigma2} (tolerance {var_tol})",
            T::DTYPE
        ));
    }
    if e.normal {
        let inside = xs.iter().filter(|x| (*x - e.mean).abs() <= e.std).count() as f64 / n;
        let p = WITHIN_ONE_SIGMA;
        let tol = 5.0 * (p * (1.0 - p) / n).sqrt();
        let ok = (inside - p).abs() <= tol;
        if !ok {
            return Err(format!(
                "{name} {}: {inside} within one σ vs {p} (tolerance {tol})",
                T::DTYPE
            ));
        }
    }
    if let Some((low, high, f_low, f_high)) = e.bounds {
        let (lo_t, hi_t) = (T::from_f64(low), T::from_f64(high));
        if !w.as_slice().iter().all(|&x| lo_t <= x && x <= hi_t) {
            return Err(format!(
                "{name} {}: a value outside [{low}, {high}]",
                T::DTYPE
            ));
        }
        let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let max = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if f_low > 0.0 && min - low > 20.0 / (n * f_low) {
            return Err(format!("{name}: min {min} far from {low}"));
        }
        if f_high > 0.0 && high - max > 20.0 / (n * f_high) {
            return Err(format!("{name}: max {max} far from {high}"));
        }
    }
    Ok(())
}

/// Every initializer with its expected distribution on a 256 × 512 weight.
fn cases() -> Vec<(&'static str, Init, Expect)> {
    let (fan_in, fan_out, fan_avg) = (512.0f64, 256.0f64, 384.0f64);
    // Keras keeps the variance scale/n after truncating at ±2σ' by drawing from
    // σ' = √(scale/n)/0.8796…: 0.8796 must be √m₂ of the truncated standard normal.
    let keras_sigma = |var: f64| var.sqrt() / 0.879_625_661_034_239_8;
    let half_normal_mean = (2.0 / PI).sqrt();
    // Half-normal |Z|: m = √(2/π), variance 1 − m², E|Z|³ = 2m, E Z⁴ = 3, so the
    // fourth central moment is 3 − 8m² + 6m² − 3m⁴ = 3 − 2m² − 3m⁴.
    let m2 = half_normal_mean.powi(2);
    let half_normal_kurtosis = (3.0 - 2.0 * m2 - 3.0 * m2 * m2) / (1.0 - m2).powi(2);
    let leaky = gain(Nonlinearity::LeakyRelu(0.2)).unwrap();
    vec![
        (
            "he_normal",
            Init::he_normal(),
            Expect::normal(0.0, (2.0 / fan_in).sqrt()),
        ),
        (
            "he_uniform",
            Init::he_uniform(),
            Expect::symmetric_uniform((6.0 / fan_in).sqrt()),
        ),
        (
            "xavier_normal",
            Init::xavier_normal(),
            Expect::normal(0.0, (2.0 / (fan_in + fan_out)).sqrt()),
        ),
        (
            "xavier_uniform",
            Init::xavier_uniform(),
            Expect::symmetric_uniform((6.0 / (fan_in + fan_out)).sqrt()),
        ),
        (
            "xavier_uniform_gain(5/3)",
            Init::xavier_uniform_gain(5.0 / 3.0),
            Expect::symmetric_uniform(5.0 / 3.0 * (6.0 / (fan_in + fan_out)).sqrt()),
        ),
        (
            "xavier_normal_gain(0.5)",
            Init::xavier_normal_gain(0.5),
            Expect::normal(0.0, 0.5 * (2.0 / (fan_in + fan_out)).sqrt()),
        ),
        (
            "lecun_normal",
            Init::lecun_normal(),
            Expect::normal(0.0, (1.0 / fan_in).sqrt()),
        ),
        (
            "lecun_uniform",
            Init::lecun_uniform(),
            Expect::symmetric_uniform((3.0 / fan_in).sqrt()),
        ),
        (
            "torch_default",
            Init::torch_default(),
            Expect::symmetric_uniform(1.0 / fan_in.sqrt()),
        ),
        (
            "kaiming_normal(fan_out, tanh)",
            Init::kaiming_normal(FanMode::FanOut, gain(Nonlinearity::Tanh).unwrap()),
            Expect::normal(0.0, 5.0 / 3.0 / fan_out.sqrt()),
        ),
        (
            "kaiming_uniform(fan_out, leaky 0.2)",
            Init::kaiming_uniform(FanMode::FanOut, leaky),
            Expect::symmetric_uniform(leaky * (3.0 / fan_out).sqrt()),
        ),
        (
            "variance_scaling(0.5, fan_avg, normal)",
            Init::variance_scaling(0.5, FanMode::FanAvg, Distribution::Normal),
            Expect::normal(0.0, (0.5 / fan_avg).sqrt()),
        ),
        (
            "keras he_normal (truncated)",
            Init::variance_scaling(2.0, FanMode::FanIn, Distribution::TruncatedNormal),
            Expect::truncated_2_sigma(0.0, keras_sigma(2.0 / fan_in)),
        ),
        (
            "keras glorot_normal (truncated)",
            Init::variance_scaling(1.0, FanMode::FanAvg, Distribution::TruncatedNormal),
            Expect::truncated_2_sigma(0.0, keras_sigma(1.0 / fan_avg)),
        ),
        (
            "normal(0.3, 0.05)",
            Init::normal(0.3, 0.05),
            Expect::normal(0.3, 0.05),
        ),
        (
            "uniform(-0.1, 0.3)",
            Init::uniform(-0.1, 0.3),
            Expect::uniform(-0.1, 0.3),
        ),
        (
            "trunc_normal_ PyTorch defaults",
            Init::truncated_normal(0.0, 1.0, -2.0, 2.0),
            Expect::truncated_2_sigma(0.0, 1.0),
        ),
        (
            "trunc_normal(0.5, 0.25, 0, 1)",
            Init::truncated_normal(0.5, 0.25, 0.0, 1.0),
            Expect::truncated_2_sigma(0.5, 0.25),
        ),
        (
            // [mean, mean + 10σ]: a half-normal (the mass beyond 10σ, 7.6e-24, is nil).
            "trunc_normal half-normal",
            Init::truncated_normal(1.0, 0.1, 1.0, 2.0),
            Expect {
                mean: 1.0 + 0.1 * half_normal_mean,
                std: 0.1 * (1.0 - m2).sqrt(),
                kurtosis: half_normal_kurtosis,
                normal: false,
                // Density at the mean is 2φ(0)/σ; the upper edge is never reached.
                bounds: Some((1.0, 2.0, 2.0 * phi(0.0) / 0.1, 0.0)),
            },
        ),
    ]
}

#[test]
fn keras_truncation_constant_is_the_truncated_std() {
    let (m2, kurtosis) = truncated_2_sigma();
    assert!((m2.sqrt() - 0.879_625_661_034_239_8).abs() < 1e-15);
    // A truncated normal has lighter tails than a normal.
    assert!(kurtosis < 3.0 && kurtosis > 1.8, "{kurtosis}");
    // The two erf constants against Simpson's rule on φ (error ~h⁴, far below 1e-12).
    let simpson = |a: f64, b: f64| {
        let m = 2000;
        let h = (b - a) / f64::from(m);
        let inner: f64 = (1..m)
            .map(|i| phi(a + f64::from(i) * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
            .sum();
        (phi(a) + phi(b) + inner) * h / 3.0
    };
    assert!((simpson(-2.0, 2.0) - MASS_2).abs() < 1e-12);
    assert!((simpson(-1.0, 1.0) - WITHIN_ONE_SIGMA).abs() < 1e-12);
}

fn moments_bounds_and_shape<T: Scalar>() {
    for (i, (name, init, expect)) in cases().into_iter().enumerate() {
        let w = fill::<T>(init, SEED + i as u64);
        if let Err(e) = check(name, &w, expect) {
            panic!("{e}");
        }
    }
}

#[test]
fn moments_bounds_and_shape_f32() {
    moments_bounds_and_shape::<f32>();
}

#[test]
fn moments_bounds_and_shape_f64() {
    moments_bounds_and_shape::<f64>();
}

#[test]
fn the_checks_reject_a_wrong_distribution() {
    // The tolerances are tight enough to see a 5% error in σ, a uniform passed
    // off as a normal, and a range 1% too narrow.
    let he = fill::<f64>(Init::he_normal(), SEED);
    let run = |w: &Tensor<f64>, e: Expect| check("probe", w, e).is_err();
    let sigma = (2.0f64 / 512.0).sqrt();
    assert!(!run(&he, Expect::normal(0.0, sigma)));
    assert!(run(&he, Expect::normal(0.0, sigma * 1.05)));
    assert!(run(&he, Expect::normal(sigma * 0.05, sigma)));
    let limit = (3.0f64).sqrt() * sigma;
    let same_variance_uniform = fill::<f64>(Init::uniform(-limit, limit), SEED);
    assert!(run(&same_variance_uniform, Expect::normal(0.0, sigma)));
    assert!(run(
        &same_variance_uniform,
        Expect::symmetric_uniform(limit * 1.01)
    ));
}

/// Max |G − gain²·I| over the Gram matrix of the short side of `w`, in f64.
fn gram_error(w: &Tensor<f64>, g: f64) -> f64 {
    let (r, c) = w.dims2("gram").unwrap();
    let gram = if r >= c { w.t_matmul(w) } else { w.matmul_t(w) }.unwrap();
    let k = r.min(c);
    let mut worst = 0.0f64;
    for i in 0..k {
        for j in 0..k {
            let want = if i == j { g * g } else { 0.0 };
            worst = worst.max((gram[[i, j]] - want).abs());
        }
    }
    worst
}

#[test]
fn orthogonal_gram_is_gain_squared_identity() {
    for (shape, g) in [
        ([512usize, 256usize], 1.5f64),
        ([256, 512], 1.5),
        ([200, 200], 1.0),
    ] {
        let init = Init::orthogonal(g);
        let fans = Fans::of_shape(&shape).unwrap();
        let mut w64 = Tensor::<f64>::zeros(&shape).unwrap();
        init.fill(&mut w64, fans, &mut StdRng::seed_from_u64(SEED))
            .unwrap();
        let err = gram_error(&w64, g);
        assert!(err <= 1e-10 * g * g, "{shape:?}: {err}");

        let mut w32 = Tensor::<f32>::zeros(&shape).unwrap();
        init.fill(&mut w32, fans, &mut StdRng::seed_from_u64(SEED))
            .unwrap();
        assert_eq!(w32, w64.cast::<f32>(), "{shape:?}: f32 is f64 rounded");
        // Rounding each element to f32 perturbs it by |δ| ≤ ε|x| (ε = 2⁻²⁴), so an
        // entry of the Gram matrix moves by ≤ 2ε·Σ|xᵢxⱼ| ≤ 2ε·gain² (Cauchy–Schwarz,
        // every short-side vector has norm gain), computed here in f64.
        let err32 = gram_error(&w32.cast::<f64>(), g);
        let eps = f64::from(f32::EPSILON) / 2.0;
        assert!(
            err32 <= (2.0 * eps + 1e-10) * g * g,
            "{shape:?} f32: {err32}"
        );
    }
}

#[test]
fn same_seed_same_weights_and_f32_is_f64_rounded() {
    let mut all: Vec<Init> = cases().into_iter().map(|(_, init, _)| init).collect();
    all.push(Init::orthogonal(1.0));
    all.push(Init::constant(0.1));
    // Smaller than the statistics' tensor: equality needs no sample size.
    const SHAPE: &[usize] = &[64, 128];
    for init in all {
        let a = fill_shape::<f64>(init, SHAPE, SEED);
        let b = fill_shape::<f64>(init, SHAPE, SEED);
        assert_eq!(a, b, "{init:?}");
        let single = fill_shape::<f32>(init, SHAPE, SEED);
        assert_eq!(single, a.cast::<f32>(), "{init:?}");
        if !matches!(init, Init::Constant(_)) {
            assert_ne!(a, fill_shape::<f64>(init, SHAPE, SEED + 1), "{init:?}");
        }
    }
}
