//! A [`History`] as CSV, so a run can be plotted in any tool: one file of
//! epochs ([`History::to_csv`]) and one of gradient records in long form
//! ([`History::gradients_to_csv`]).

use std::fmt::Write as _;
use std::path::Path;

use super::History;
use crate::Result;

/// The header of [`History::csv`].
pub const EPOCH_COLUMNS: &str = "epoch,train_loss,train_objective,train_accuracy,val_loss,val_accuracy,learning_rate,next_learning_rate,seconds";

/// The header of [`History::gradients_csv`].
pub const GRADIENT_COLUMNS: &str = "epoch,parameter,grad_norm,update_ratio";

/// A number as the shortest decimal that reads back to the same `f64`, in
/// exponent form when very small or large (`1e-7`), with `NaN`, `inf` and
/// `-inf` for the non-finite, as pandas and R read them.
fn number(out: &mut String, x: f64) {
    let _ = write!(out, "{x:?}");
}

/// An optional number: empty when absent.
fn optional(out: &mut String, x: Option<f64>) {
    if let Some(x) = x {
        number(out, x);
    }
}

/// A text field, quoted as RFC 4180 asks when it holds a comma, a quote or
/// a line break.
fn text(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

impl History {
    /// The epochs as CSV text: the header [`EPOCH_COLUMNS`], then one row per
    /// epoch:
    ///
    /// | column | meaning |
    /// |---|---|
    /// | `epoch` | epoch number, from 0 (from `initial_epoch` when resuming) |
    /// | `train_loss` | mean data loss over the epoch's steps, without the penalty |
    /// | `train_objective` | mean data loss plus regularization penalty |
    /// | `train_accuracy` | training accuracy; empty for a loss without classes |
    /// | `val_loss` | validation loss after the epoch; empty without validation data |
    /// | `val_accuracy` | validation accuracy; empty where it does not apply |
    /// | `learning_rate` | the learning rate of the epoch's first step |
    /// | `next_learning_rate` | the rate after the epoch (after the schedule's end-of-epoch update and the callback) |
    /// | `seconds` | wall-clock seconds the epoch took |
    ///
    /// Numbers are the shortest decimals that read back to the same `f64`
    /// (`1e-7` in exponent form, `NaN` and `inf` for the non-finite);
    /// a missing value is an empty cell (pandas reads it as `NaN`). Lines end
    /// with `\n`. The per-parameter gradient records are in
    /// [`History::gradients_csv`].
    ///
    /// ```
    /// use weightwise::{EpochRecord, History};
    /// let epoch = EpochRecord {
    ///     epoch: 0, train_loss: 0.5, train_objective: 0.625, train_accuracy: Some(0.75),
    ///     val_loss: None, val_accuracy: None, learning_rate: 1e-3, next_learning_rate: 5e-4,
    ///     seconds: 0.25, gradients: Vec::new(),
    /// };
    /// let history = History { epochs: vec![epoch], ..Default::default() };
    /// assert_eq!(
    ///     history.csv(),
    ///     "epoch,train_loss,train_objective,train_accuracy,val_loss,val_accuracy,\
    ///      learning_rate,next_learning_rate,seconds\n\
    ///      0,0.5,0.625,0.75,,,0.001,0.0005,0.25\n"
    /// );
    /// ```
    pub fn csv(&self) -> String {
        let mut out = format!("{EPOCH_COLUMNS}\n");
        for e in &self.epochs {
            let _ = write!(out, "{},", e.epoch);
            number(&mut out, e.train_loss);
            out.push(',');
            number(&mut out, e.train_objective);
            out.push(',');
            optional(&mut out, e.train_accuracy);
            out.push(',');
            optional(&mut out, e.val_loss);
            out.push(',');
            optional(&mut out, e.val_accuracy);
            out.push(',');
            number(&mut out, e.learning_rate);
            out.push(',');
            number(&mut out, e.next_learning_rate);
            out.push(',');
            number(&mut out, e.seconds);
            out.push('\n');
        }
        out
    }

    /// The gradient records in long form: the header [`GRADIENT_COLUMNS`],
    /// then one row per epoch and parameter, in epoch order and, within an
    /// epoch, the network's parameter order:
    ///
    /// | column | meaning |
    /// |---|---|
    /// | `epoch` | epoch number, as in [`History::csv`] |
    /// | `parameter` | full parameter name, e.g. `0.weight` (quoted if it holds a comma or quote) |
    /// | `grad_norm` | mean over the epoch's steps of `‖∂L/∂w‖₂` |
    /// | `update_ratio` | mean over the steps of `‖Δw‖₂ / ‖w‖₂` |
    ///
    /// Only the header when no gradients were recorded (they are, with
    /// [`Fit::record_gradients`](crate::Fit::record_gradients)). Long form
    /// plots directly: `sns.lineplot(data=df, x="epoch", y="grad_norm",
    /// hue="parameter")`.
    pub fn gradients_csv(&self) -> String {
        let mut out = format!("{GRADIENT_COLUMNS}\n");
        for e in &self.epochs {
            for g in &e.gradients {
                let _ = write!(out, "{},", e.epoch);
                text(&mut out, &g.name);
                out.push(',');
                number(&mut out, g.grad_norm);
                out.push(',');
                number(&mut out, g.update_ratio);
                out.push('\n');
            }
        }
        out
    }

    /// Writes [`History::csv`] to `path` (replacing a file whole or not at
    /// all: written beside it, then renamed into place).
    ///
    /// ```
    /// # fn main() -> weightwise::Result<()> {
    /// # let history = weightwise::History::default();
    /// let path = std::env::temp_dir().join("weightwise-doc-history.csv");
    /// history.to_csv(&path)?; // pandas.read_csv(path)
    /// # std::fs::remove_file(&path).unwrap();
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming `path` if it cannot be written.
    pub fn to_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::fsio::write_file(path.as_ref(), self.csv().as_bytes())
    }

    /// Writes [`History::gradients_csv`] to `path`, as [`History::to_csv`] does.
    ///
    /// # Errors
    /// [`Error::Io`](crate::Error::Io) naming `path` if it cannot be written.
    pub fn gradients_to_csv(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::fsio::write_file(path.as_ref(), self.gradients_csv().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::train::{EpochRecord, GradientRecord};

    fn history() -> History {
        let grads = |n: f64| {
            vec![
                GradientRecord {
                    name: "0.weight".into(),
                    grad_norm: n,
                    update_ratio: 1e-3,
                },
                GradientRecord {
                    name: "my,layer \"x\"".into(),
                    grad_norm: f64::NAN,
                    update_ratio: 0.1 + 0.2,
                },
            ]
        };
        let epoch = |e: usize, val: Option<f64>| EpochRecord {
            epoch: e,
            train_loss: 1.0 / 3.0,
            train_objective: 0.5,
            train_accuracy: None,
            val_loss: val,
            val_accuracy: val.map(|v| 1.0 - v),
            learning_rate: 3e-4,
            next_learning_rate: 1.5e-4,
            seconds: 1e-7,
            gradients: grads(e as f64 + 0.5),
        };
        History {
            epochs: vec![epoch(3, Some(0.25)), epoch(4, None)],
            best_epoch: Some(3),
            stopped_early: false,
            timeline: None,
        }
    }

    #[test]
    fn epochs_one_row_each_numbers_round_trip() {
        let h = history();
        let text = h.csv();
        assert_eq!(
            text,
            format!(
                "{EPOCH_COLUMNS}\n\
                 3,0.3333333333333333,0.5,,0.25,0.75,0.0003,0.00015,1e-7\n\
                 4,0.3333333333333333,0.5,,,,0.0003,0.00015,1e-7\n"
            )
        );
        // Every number reads back to the same f64.
        let row: Vec<f64> = text
            .lines()
            .nth(1)
            .unwrap()
            .split(',')
            .filter(|f| !f.is_empty())
            .map(|f| f.parse().unwrap())
            .collect();
        assert_eq!(row, [3.0, 1.0 / 3.0, 0.5, 0.25, 0.75, 3e-4, 1.5e-4, 1e-7]);
        assert_eq!(History::default().csv(), format!("{EPOCH_COLUMNS}\n"));
    }

    #[test]
    fn gradients_in_long_form_with_quoting() {
        let text = history().gradients_csv();
        assert_eq!(
            text,
            format!(
                "{GRADIENT_COLUMNS}\n\
                 3,0.weight,3.5,0.001\n\
                 3,\"my,layer \"\"x\"\"\",NaN,0.30000000000000004\n\
                 4,0.weight,4.5,0.001\n\
                 4,\"my,layer \"\"x\"\"\",NaN,0.30000000000000004\n"
            )
        );
        assert_eq!(
            History::default().gradients_csv(),
            format!("{GRADIENT_COLUMNS}\n")
        );
    }

    #[test]
    fn files_are_written_and_io_errors_name_the_path() {
        let dir = std::env::temp_dir().join(format!("ww-history-csv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let h = history();
        h.to_csv(dir.join("h.csv")).unwrap();
        h.gradients_to_csv(dir.join("g.csv")).unwrap();
        assert_eq!(std::fs::read_to_string(dir.join("h.csv")).unwrap(), h.csv());
        assert_eq!(
            std::fs::read_to_string(dir.join("g.csv")).unwrap(),
            h.gradients_csv()
        );
        let e = h.to_csv(dir.join("missing/h.csv")).unwrap_err();
        assert!(
            matches!(e, Error::Io { .. }) && e.to_string().contains("missing/h.csv"),
            "{e}"
        );
        assert!(h.gradients_to_csv(dir.join("missing/g.csv")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
