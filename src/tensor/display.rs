//! A readable, truncated `Display` for tensors.

use std::fmt;

use crate::error::shape_str;
use crate::{Scalar, Tensor};

/// Rows or columns shown at each end before eliding the middle with `…`.
const EDGE: usize = 3;

fn write_list<T: Scalar>(f: &mut fmt::Formatter<'_>, xs: &[T], prec: usize) -> fmt::Result {
    write!(f, "[")?;
    let n = xs.len();
    for (i, x) in xs.iter().enumerate() {
        if n > 2 * EDGE + 1 && i == EDGE {
            write!(f, ", …")?;
        }
        if n > 2 * EDGE + 1 && (EDGE..n - EDGE).contains(&i) {
            continue;
        }
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{x:>w$.prec$}", w = prec + 4)?;
    }
    write!(f, "]")
}

/// Prints the shape, then the values with 4 decimals (or the formatter's
/// precision, as in `{:.2}`), eliding the middle of long rows and columns.
///
/// ```
/// # use weightwise::Tensor;
/// let t = Tensor::from_rows(&[[1.0f32, 2.0], [3.0, 4.0]]).unwrap();
/// assert_eq!(format!("{t:.1}"), "Tensor 2×2\n[[  1.0,   2.0],\n [  3.0,   4.0]]");
/// ```
impl<T: Scalar> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prec = f.precision().unwrap_or(4);
        writeln!(f, "Tensor {}", shape_str(self.shape()))?;
        match *self.shape() {
            [] => write!(f, "{:.prec$}", self.as_slice()[0]),
            [r, c] if c > 0 => {
                let elide = r > 2 * EDGE + 1;
                write!(f, "[")?;
                for i in (0..r).filter(|&i| !elide || i < EDGE || i >= r - EDGE) {
                    if i > 0 {
                        write!(f, ",\n ")?;
                    }
                    if elide && i == r - EDGE {
                        write!(f, "…,\n ")?;
                    }
                    write_list(f, &self.as_slice()[i * c..(i + 1) * c], prec)?;
                }
                write!(f, "]")
            }
            _ => write_list(f, self.as_slice(), prec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large() {
        assert_eq!(
            format!("{:.2}", Tensor::scalar(1.5f64)),
            "Tensor scalar\n1.50"
        );
        let v = Tensor::from_slice(&[1.0f32, 2.0]);
        assert_eq!(format!("{v:.0}"), "Tensor 2\n[   1,    2]");
        let big = Tensor::from_vec((0..100).map(f64::from).collect(), &[10, 10]).unwrap();
        let s = format!("{big:.0}");
        assert!(
            s.starts_with("Tensor 10×10\n[[   0,    1,    2, …,    7,    8,    9],"),
            "{s}"
        );
        assert!(s.contains(",\n …,\n [  70,"), "{s}");
        assert!(s.ends_with("  99]]"), "{s}");
        assert_eq!(s.lines().count(), 1 + 7, "{s}");
        let long = Tensor::from_vec((0..20u8).map(f32::from).collect(), &[20]).unwrap();
        assert_eq!(
            format!("{long:.0}"),
            "Tensor 20\n[   0,    1,    2, …,   17,   18,   19]"
        );
        let cube = Tensor::<f32>::zeros(&[2, 2, 2]).unwrap();
        assert!(format!("{cube}").starts_with("Tensor 2×2×2\n["));
        let empty = Tensor::<f32>::zeros(&[2, 0]).unwrap();
        assert_eq!(format!("{empty}"), "Tensor 2×0\n[]");
    }
}
