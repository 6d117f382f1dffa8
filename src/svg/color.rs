//! Colour maps: diverging (weights, centred on zero), sequential, categorical.

use std::fmt;

/// An sRGB colour; displays as `#rrggbb`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl fmt::Display for Rgb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

impl Rgb {
    /// `a + t·(b − a)` per channel, `t ∈ [0, 1]`, rounded.
    pub(crate) fn lerp(a: Rgb, b: Rgb, t: f64) -> Rgb {
        let ch = |x: u8, y: u8| (f64::from(x) + t * (f64::from(y) - f64::from(x))).round() as u8;
        Rgb(ch(a.0, b.0), ch(a.1, b.1), ch(a.2, b.2))
    }
}

/// Colour for a missing (non-finite) value: mid grey.
pub(crate) const MISSING: Rgb = Rgb(0xb0, 0xb0, 0xb0);

/// ColorBrewer's RdBu (11 classes) reversed, from −1 (dark blue) to +1 (dark
/// red), with the centre made pure white so that a zero weight is invisible.
const RDBU_R: [Rgb; 11] = [
    Rgb(0x05, 0x30, 0x61),
    Rgb(0x21, 0x66, 0xac),
    Rgb(0x43, 0x93, 0xc3),
    Rgb(0x92, 0xc5, 0xde),
    Rgb(0xd1, 0xe5, 0xf0),
    Rgb(0xff, 0xff, 0xff),
    Rgb(0xfd, 0xdb, 0xc7),
    Rgb(0xf4, 0xa5, 0x82),
    Rgb(0xd6, 0x60, 0x4d),
    Rgb(0xb2, 0x18, 0x2b),
    Rgb(0x67, 0x00, 0x1f),
];

/// matplotlib's viridis sampled at 0, 1/8, …, 1.
const VIRIDIS: [Rgb; 9] = [
    Rgb(0x44, 0x01, 0x54),
    Rgb(0x48, 0x28, 0x78),
    Rgb(0x3e, 0x49, 0x89),
    Rgb(0x31, 0x68, 0x8e),
    Rgb(0x26, 0x82, 0x8e),
    Rgb(0x1f, 0x9e, 0x89),
    Rgb(0x35, 0xb7, 0x79),
    Rgb(0x6e, 0xce, 0x58),
    Rgb(0xfd, 0xe7, 0x25),
];

/// The Tableau 10 palette (Tableau's 2016 default): blue, orange, red, teal,
/// green, yellow, purple, pink, brown, grey.
pub const TABLEAU10: [Rgb; 10] = [
    Rgb(0x4e, 0x79, 0xa7),
    Rgb(0xf2, 0x8e, 0x2b),
    Rgb(0xe1, 0x57, 0x59),
    Rgb(0x76, 0xb7, 0xb2),
    Rgb(0x59, 0xa1, 0x4f),
    Rgb(0xed, 0xc9, 0x48),
    Rgb(0xb0, 0x7a, 0xa1),
    Rgb(0xff, 0x9d, 0xa7),
    Rgb(0x9c, 0x75, 0x5f),
    Rgb(0xba, 0xb0, 0xac),
];

/// Piecewise-linear interpolation through evenly spaced anchors, `t ∈ [0, 1]`.
fn ramp(anchors: &[Rgb], t: f64) -> Rgb {
    let pos = t.clamp(0.0, 1.0) * (anchors.len() - 1) as f64;
    let i = (pos.floor() as usize).min(anchors.len() - 2);
    Rgb::lerp(anchors[i], anchors[i + 1], pos - i as f64)
}

/// The diverging map for weights, `t ∈ [−1, 1]` (clamped): blue for negative,
/// white at zero, red for positive (matplotlib's `RdBu_r`). Use
/// `t = w / max|w|` so that the colour limits are symmetric, `±max|w|`. The
/// two halves have matched lightness, so `w` and `−w` look equally strong.
/// A NaN gives mid grey.
///
/// ```
/// use weightwise::svg::{Rgb, diverging};
/// assert_eq!(diverging(0.0), Rgb(255, 255, 255));
/// assert_eq!(diverging(1.0).to_string(), "#67001f"); // dark red
/// assert_eq!(diverging(-1.0).to_string(), "#053061"); // dark blue
/// ```
pub fn diverging(t: f64) -> Rgb {
    if t.is_nan() {
        return MISSING;
    }
    ramp(&RDBU_R, (t.clamp(-1.0, 1.0) + 1.0) / 2.0)
}

/// The sequential map, `t ∈ [0, 1]` (clamped): matplotlib's viridis, dark
/// purple → blue → green → yellow. A NaN gives mid grey.
pub fn sequential(t: f64) -> Rgb {
    if t.is_nan() {
        return MISSING;
    }
    ramp(&VIRIDIS, t)
}

/// Colour number `i` of the categorical palette [`TABLEAU10`], cycling.
pub fn categorical(i: usize) -> Rgb {
    TABLEAU10[i % TABLEAU10.len()]
}

/// `v / limit` on `scale` (its centre when `limit` is 0); [`MISSING`] for a
/// non-finite `v`.
pub(crate) fn scaled(v: f64, limit: f64, scale: fn(f64) -> Rgb) -> Rgb {
    if !v.is_finite() {
        MISSING
    } else if limit > 0.0 {
        scale(v / limit)
    } else {
        scale(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// CIE L* lightness of an sRGB colour (D65).
    fn lightness(c: Rgb) -> f64 {
        let lin = |v: u8| {
            let v = f64::from(v) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        let y = 0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2);
        116.0 * y.cbrt() - 16.0
    }

    #[test]
    fn diverging_is_centred_and_mirrored() {
        assert_eq!(diverging(0.0), Rgb(255, 255, 255));
        assert_eq!(diverging(-0.0), Rgb(255, 255, 255));
        for k in 1..=50 {
            let t = f64::from(k) / 50.0;
            let (pos, neg) = (diverging(t), diverging(-t));
            // Positive is red (r > b), negative is blue (b > r).
            assert!(pos.0 > pos.2 && neg.2 > neg.0, "{t}: {pos} {neg}");
            // Equal strength: ColorBrewer's anchors differ by at most 4.1 L*
            // (#b2182b 38.4 vs #2166ac 42.5); sampling the interpolants at
            // steps of 0.001 (same formulas, in Python) gives at most 4.63.
            assert!(
                (lightness(pos) - lightness(neg)).abs() < 4.7,
                "{t}: {pos} {neg}"
            );
            // Stronger weights are darker.
            assert!(lightness(diverging(t)) <= lightness(diverging(t - 0.02)) + 1e-9);
            assert!(lightness(diverging(-t)) <= lightness(diverging(0.02 - t)) + 1e-9);
        }
        // The anchors at ±0.2k are the mirrored ColorBrewer classes.
        for k in 1..=5 {
            let t = f64::from(k) / 5.0;
            assert_eq!(diverging(t), RDBU_R[5 + k as usize]);
            assert_eq!(diverging(-t), RDBU_R[5 - k as usize]);
        }
        // Clamped outside ±1; NaN is grey.
        assert_eq!(diverging(7.0), diverging(1.0));
        assert_eq!(diverging(-7.0), diverging(-1.0));
        assert_eq!(diverging(f64::NAN), MISSING);
    }

    #[test]
    fn interpolation_halfway() {
        // Halfway between white (255,255,255) and #fddbc7 (253,219,199):
        // (254, 237, 227).
        assert_eq!(diverging(0.1), Rgb(254, 237, 227));
        assert_eq!(diverging(0.1).to_string(), "#feede3");
    }

    #[test]
    fn sequential_and_categorical() {
        assert_eq!(sequential(0.0), VIRIDIS[0]);
        assert_eq!(sequential(1.0), VIRIDIS[8]);
        assert_eq!(sequential(0.5), VIRIDIS[4]);
        assert_eq!(sequential(f64::NAN), MISSING);
        // viridis gets lighter monotonically.
        for k in 1..=40 {
            let t = f64::from(k) / 40.0;
            assert!(lightness(sequential(t)) > lightness(sequential(t - 0.025)));
        }
        assert_eq!(categorical(0).to_string(), "#4e79a7");
        assert_eq!(categorical(11), TABLEAU10[1]);
    }
}
