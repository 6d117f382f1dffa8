//! `approx` comparisons, so tests can write `assert_relative_eq!(a, b)` on tensors.
//!
//! Tensors of different shapes are never equal; otherwise every element pair
//! must be equal under the scalar comparison.

use approx::{AbsDiffEq, RelativeEq, UlpsEq};

use crate::{Scalar, Tensor};

impl<T: Scalar> AbsDiffEq for Tensor<T> {
    type Epsilon = T;

    fn default_epsilon() -> T {
        T::default_epsilon()
    }

    fn abs_diff_eq(&self, other: &Self, epsilon: T) -> bool {
        self.shape() == other.shape()
            && self
                .as_slice()
                .iter()
                .zip(other.as_slice())
                .all(|(a, b)| a.abs_diff_eq(b, epsilon))
    }
}

impl<T: Scalar> RelativeEq for Tensor<T> {
    fn default_max_relative() -> T {
        T::default_max_relative()
    }

    fn relative_eq(&self, other: &Self, epsilon: T, max_relative: T) -> bool {
        self.shape() == other.shape()
            && self
                .as_slice()
                .iter()
                .zip(other.as_slice())
                .all(|(a, b)| a.relative_eq(b, epsilon, max_relative))
    }
}

impl<T: Scalar> UlpsEq for Tensor<T> {
    fn default_max_ulps() -> u32 {
        T::default_max_ulps()
    }

    fn ulps_eq(&self, other: &Self, epsilon: T, max_ulps: u32) -> bool {
        self.shape() == other.shape()
            && self
                .as_slice()
                .iter()
                .zip(other.as_slice())
                .all(|(a, b)| a.ulps_eq(b, epsilon, max_ulps))
    }
}

#[cfg(test)]
mod tests {
    use approx::{assert_abs_diff_eq, assert_relative_eq, assert_ulps_eq};

    use crate::Tensor;

    #[test]
    fn approx_traits() {
        let a = Tensor::from_slice(&[1.0f64, 2.0]);
        let b = Tensor::from_slice(&[1.0 + 1e-12, 2.0]);
        assert_relative_eq!(a, b, max_relative = 1e-10);
        assert_abs_diff_eq!(a, b, epsilon = 1e-10);
        assert_ulps_eq!(a, a.clone());
        assert!(!approx::relative_eq!(a, Tensor::from_slice(&[1.0, 2.1])));
        let reshaped = a.clone().reshape(&[2, 1]).unwrap();
        assert!(!approx::abs_diff_eq!(a, reshaped, epsilon = 1.0));
        assert!(!approx::relative_eq!(a, reshaped));
        assert!(!approx::ulps_eq!(a, reshaped));
    }
}
