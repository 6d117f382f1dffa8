//! The sampling the initializers share: standard normals, the truncated
//! normal (by rejection, and the mass check that bounds it) and the
//! orthonormal columns of [`Init::Orthogonal`](super::Init::Orthogonal).

use rand::{Rng, RngExt};

use crate::special::erfc;
use crate::{Error, Result};

/// A standard normal sample by the Box–Muller transform (two uniforms, one
/// normal), written here so the numbers depend only on the `Rng`'s stream.
pub(super) fn standard_normal(rng: &mut dyn Rng) -> f64 {
    loop {
        let u1: f64 = rng.random();
        if u1 > 0.0 {
            let u2: f64 = rng.random();
            return (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        }
    }
}

/// `P(a ≤ Z ≤ b)` for a standard normal `Z`, computed on the side of the mean
/// where it does not cancel: `Φ(b) − Φ(a) = (erfc(a/√2) − erfc(b/√2)) / 2`.
pub(super) fn normal_mass(a: f64, b: f64) -> f64 {
    let (a, b) = if a + b < 0.0 { (-b, -a) } else { (a, b) };
    0.5 * (erfc(a / std::f64::consts::SQRT_2) - erfc(b / std::f64::consts::SQRT_2))
}

/// `N(mean, std²)` restricted to `[low, high]` by rejection. [`Init::validate`](super::Init::validate)
/// has checked the interval holds at least 1% of the mass, so a million failed
/// draws in a row (probability below 10⁻⁴³⁰⁰) means something else is wrong.
pub(super) fn truncated(
    rng: &mut dyn Rng,
    mean: f64,
    std: f64,
    low: f64,
    high: f64,
) -> Result<f64> {
    for _ in 0..1_000_000 {
        let x = mean + std * standard_normal(rng);
        if (low..=high).contains(&x) {
            return Ok(x);
        }
    }
    Err(Error::invalid_arg(
        "truncated normal bounds",
        format!("[{low}, {high}] for N({mean}, {std}²)"),
        "no sample fell inside in a million draws",
    ))
}

/// `Σ xᵢ·yᵢ` with four running sums, so the compiler can vectorise it.
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (xc, yc) = (x.chunks_exact(4), y.chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in xc.zip(yc) {
        for k in 0..4 {
            acc[k] += a[k] * b[k];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Gram–Schmidt on `count` vectors of length `len` stored one after another
/// in `a` (the columns of a tall `len × count` matrix, `len ≥ count`), in
/// place: afterwards they are orthonormal and equal the `Q` of the QR
/// factorisation with a positive diagonal in `R`, which is what PyTorch's
/// `orthogonal_` produces after its sign correction.
///
/// Each vector is projected off the previous ones twice (modified
/// Gram–Schmidt with one re-orthogonalisation, "twice is enough"), so the
/// result is orthonormal to a few ulps whatever the matrix's conditioning.
pub(super) fn orthonormalize(a: &mut [f64], len: usize, count: usize) {
    for j in 0..count {
        let (done, rest) = a.split_at_mut(j * len);
        let v = &mut rest[..len];
        for _pass in 0..2 {
            for q in done.chunks_exact(len) {
                let dot = dot(q, v);
                v.iter_mut().zip(q).for_each(|(y, x)| *y -= dot * x);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_and_normal_mass_are_accurate() {
        // Reference values from Python's math.erfc / math.erf.
        let rel = |a: f64, b: f64| (a - b).abs() / b.abs();
        assert!(rel(erfc(0.0), 1.0) < 2e-7);
        assert!(rel(erfc(1.0), 0.157_299_207_050_285_13) < 2e-7);
        assert!(rel(erfc(2.0), 0.004_677_734_981_047_265) < 2e-7);
        assert!(rel(erfc(-1.0), 1.842_700_792_949_715) < 2e-7);
        // P(|Z| ≤ 2) = erf(√2).
        assert!(rel(normal_mass(-2.0, 2.0), 0.954_499_736_103_641_6) < 2e-7);
        // A far tail does not cancel: P(5 ≤ Z ≤ 6) = 2.8566e-7, and mirrored.
        assert!(rel(normal_mass(5.0, 6.0), 2.856_649_842_341_569e-7) < 1e-6);
        assert!(rel(normal_mass(-6.0, -5.0), 2.856_649_842_341_569e-7) < 1e-6);
    }
}
