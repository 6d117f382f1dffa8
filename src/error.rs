//! The crate's one error type.
//!
//! Every public operation that can fail on user input returns
//! [`Result<T>`](crate::Result), whose error names the operation and the
//! shapes or values involved, for example
//! `matmul: left is 3×4, right is 5×2 (inner dimensions differ)`.

use std::fmt::Write as _;

/// Formats a shape the way error messages and summaries show it: `3×4`,
/// `10`, or `scalar` for the empty shape.
pub fn shape_str(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    let mut s = String::new();
    for (i, d) in shape.iter().enumerate() {
        if i > 0 {
            s.push('×');
        }
        let _ = write!(s, "{d}");
    }
    s
}

/// Everything that can go wrong in weightwise.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two operands whose shapes do not fit together.
    #[error("{op}: left is {}, right is {}{}", shape_str(.left), shape_str(.right), reason_suffix(.reason))]
    ShapeMismatch {
        /// The operation, e.g. `"matmul"`.
        op: &'static str,
        /// Shape of the left (or first) operand.
        left: Vec<usize>,
        /// Shape of the right (or second) operand.
        right: Vec<usize>,
        /// Why they do not fit, if more needs saying.
        reason: &'static str,
    },
    /// One operand whose shape is not valid for the operation.
    #[error("{op}: shape {} is invalid: {reason}", shape_str(.shape))]
    InvalidShape {
        /// The operation.
        op: &'static str,
        /// The offending shape.
        shape: Vec<usize>,
        /// What was expected.
        reason: String,
    },
    /// An index outside a tensor's bounds.
    #[error("{op}: index {index:?} is out of bounds for shape {}", shape_str(.shape))]
    IndexOutOfBounds {
        /// The operation.
        op: &'static str,
        /// The index that was asked for.
        index: Vec<usize>,
        /// The tensor's shape.
        shape: Vec<usize>,
    },
    /// A hyper-parameter or argument outside its valid range.
    #[error("invalid {name} = {value}: {reason}")]
    InvalidArgument {
        /// The argument's name, e.g. `"learning rate"`.
        name: &'static str,
        /// The value that was given, printed.
        value: String,
        /// What the valid range is.
        reason: String,
    },
    /// A NaN or infinity where a finite number was needed.
    #[error("non-finite value in {location}")]
    NonFinite {
        /// Where it appeared, e.g. `"loss at epoch 3, step 17"`.
        location: String,
    },
    /// An operation called in the wrong order, e.g. `backward` before `forward`.
    #[error("{op}: {reason}")]
    InvalidState {
        /// The operation.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Malformed input data or file contents.
    #[error("{source_name}: {reason}")]
    Format {
        /// The file or data source, with a line number where one applies.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An I/O error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file that was being read or written.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid_arg(
        name: &'static str,
        value: impl std::fmt::Display,
        reason: impl Into<String>,
    ) -> Self {
        Error::InvalidArgument {
            name,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::ShapeMismatch`].
    pub fn shape_mismatch(
        op: &'static str,
        left: &[usize],
        right: &[usize],
        reason: &'static str,
    ) -> Self {
        Error::ShapeMismatch {
            op,
            left: left.to_vec(),
            right: right.to_vec(),
            reason,
        }
    }

    /// Shorthand for [`Error::InvalidShape`].
    pub fn invalid_shape(op: &'static str, shape: &[usize], reason: impl Into<String>) -> Self {
        Error::InvalidShape {
            op,
            shape: shape.to_vec(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidState`].
    pub fn invalid_state(op: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidState {
            op,
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::NonFinite`].
    pub fn non_finite(location: impl Into<String>) -> Self {
        Error::NonFinite {
            location: location.into(),
        }
    }
}

impl From<std::io::Error> for Error {
    /// An I/O error from your own code (`std::fs::read(path)?` inside a
    /// function returning [`weightwise::Result`](crate::Result)). The crate's
    /// own file operations name the path; here it is not known, so the
    /// error's `path` is `"(I/O)"`.
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            path: "(I/O)".to_string(),
            source,
        }
    }
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_convert_with_question_mark() {
        fn read() -> Result<Vec<u8>> {
            Ok(std::fs::read("/nonexistent/weightwise/file")?)
        }
        let e = read().unwrap_err();
        assert!(matches!(e, Error::Io { .. }));
        assert!(e.to_string().starts_with("(I/O): "), "{e}");
    }

    #[test]
    fn messages_name_the_operation_and_shapes() {
        let e = Error::shape_mismatch("matmul", &[3, 4], &[5, 2], "inner dimensions differ");
        assert_eq!(
            e.to_string(),
            "matmul: left is 3×4, right is 5×2 (inner dimensions differ)"
        );
        let e = Error::shape_mismatch("add", &[3], &[], "");
        assert_eq!(e.to_string(), "add: left is 3, right is scalar");
        let e = Error::invalid_arg("learning rate", -0.1, "must be ≥ 0");
        assert_eq!(e.to_string(), "invalid learning rate = -0.1: must be ≥ 0");
        let e = Error::invalid_shape("reshape", &[2, 3], "6 elements cannot become 7");
        assert!(e.to_string().contains("2×3"));
        assert_eq!(
            Error::non_finite("loss at epoch 1").to_string(),
            "non-finite value in loss at epoch 1"
        );
    }
}
