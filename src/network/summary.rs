//! The `Display` summary of a network, like Keras' `model.summary()`.

use std::fmt;

use crate::{Network, Scalar};

/// Formats `n` with thousands separators: `17226` → `17,226`.
pub(crate) fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One row per layer: index (the prefix of its parameter names), type, output
/// shape (`batch` standing for the batch dimension) and parameter count; then
/// the total.
///
/// ```text
///  #  layer      output shape    params
///  0  Dense      (batch, 128)     8,320
///  1  ReLU       (batch, 128)         0
///  2  Dense      (batch, 10)      1,290
/// total parameters: 9,610
/// ```
impl<T: Scalar> fmt::Display for Network<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:>3}  {:<10} {:<15} {:>10}",
            "#", "layer", "output shape", "params"
        )?;
        let dims = |s: &[usize]| -> String {
            match s.get(1..) {
                Some(d) if !d.is_empty() => {
                    let d: Vec<String> = d.iter().map(|d| d.to_string()).collect();
                    format!("(batch, {})", d.join(", "))
                }
                _ => "(batch, ?)".to_string(),
            }
        };
        let mut shape = vec![1];
        shape.extend_from_slice(self.input_shape());
        writeln!(
            f,
            "{:>3}  {:<10} {:<15} {:>10}",
            "",
            "input",
            dims(&shape),
            ""
        )?;
        for (i, l) in self.layers().iter().enumerate() {
            // A layer swapped in that does not fit shows "?" rather than failing.
            shape = l.output_shape(&shape).unwrap_or_else(|_| vec![0]);
            writeln!(
                f,
                "{:>3}  {:<10} {:<15} {:>10}",
                i,
                l.kind(),
                dims(&shape),
                thousands(l.num_params())
            )?;
        }
        write!(f, "total parameters: {}", thousands(self.num_params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(17226), "17,226");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
