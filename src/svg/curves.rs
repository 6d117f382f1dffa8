//! Training curves from a [`History`].

use super::{LineChartOptions, Series, Svg, grid, line_chart_with};
use crate::svg::color::TABLEAU10;
use crate::{History, Result};

/// Loss per epoch, training (solid) and validation (dashed, same colour),
/// where overfitting shows as the curves part; beside it the accuracies when
/// the loss is a classification loss. Epochs are numbered from 1 on the x axis.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) for an empty history.
pub fn training_curves(history: &History) -> Result<Svg> {
    let named = [("", history)];
    compare_runs(&named, "Training curves")
}

/// Several runs in one picture (e.g. one per optimizer or learning rate):
/// one colour per run, training solid and validation dashed; a second chart
/// with accuracies when any run has them.
///
/// # Errors
/// [`Error::InvalidArgument`](crate::Error::InvalidArgument) when no run has an epoch.
pub fn compare_runs(runs: &[(&str, &History)], title: &str) -> Result<Svg> {
    if runs.iter().all(|(_, h)| h.epochs.is_empty()) {
        return Err(crate::Error::invalid_arg(
            "history",
            "empty",
            "a training curve needs at least one epoch",
        ));
    }
    let label = |name: &str, what: &str| {
        if name.is_empty() {
            what.to_string()
        } else {
            format!("{name} {what}")
        }
    };
    let point = |e: &crate::EpochRecord, v: f64| (e.epoch as f64 + 1.0, v);
    let mut losses = Vec::new();
    let mut accs = Vec::new();
    let mut loss_colors = Vec::new();
    let mut acc_colors = Vec::new();
    for (i, (name, h)) in runs.iter().enumerate() {
        let color = TABLEAU10[i % TABLEAU10.len()];
        losses.push(Series::new(
            label(name, "train loss"),
            h.epochs.iter().map(|e| point(e, e.train_loss)).collect(),
        ));
        loss_colors.push(color);
        if h.epochs.iter().any(|e| e.val_loss.is_some()) {
            losses.push(
                Series::new(
                    label(name, "validation loss"),
                    h.epochs
                        .iter()
                        .map(|e| point(e, e.val_loss.unwrap_or(f64::NAN)))
                        .collect(),
                )
                .dashed(),
            );
            loss_colors.push(color);
        }
        if h.epochs.iter().any(|e| e.train_accuracy.is_some()) {
            accs.push(Series::new(
                label(name, "train accuracy"),
                h.epochs
                    .iter()
                    .map(|e| point(e, e.train_accuracy.unwrap_or(f64::NAN)))
                    .collect(),
            ));
            acc_colors.push(color);
        }
        if h.epochs.iter().any(|e| e.val_accuracy.is_some()) {
            accs.push(
                Series::new(
                    label(name, "validation accuracy"),
                    h.epochs
                        .iter()
                        .map(|e| point(e, e.val_accuracy.unwrap_or(f64::NAN)))
                        .collect(),
                )
                .dashed(),
            );
            acc_colors.push(color);
        }
    }
    // One run: mark its best epoch and where early stopping ended it.
    let mut marks = Vec::new();
    if let [(_, h)] = runs {
        if let Some(b) = h.best_epoch {
            marks.push((b as f64 + 1.0, format!("best epoch {}", b + 1)));
        }
        if h.stopped_early
            && let Some(last) = h.last()
        {
            marks.push((last.epoch as f64 + 1.0, "early stop".to_string()));
        }
    }
    let loss_chart = line_chart_with(
        &losses,
        &format!("{title}: loss"),
        "epoch",
        "loss",
        &LineChartOptions {
            log_y: true,
            colors: loss_colors,
            x_marks: marks.clone(),
            ..Default::default()
        },
    )?;
    if accs.is_empty() {
        return Ok(loss_chart);
    }
    let acc_chart = line_chart_with(
        &accs,
        &format!("{title}: accuracy"),
        "epoch",
        "accuracy",
        &LineChartOptions {
            colors: acc_colors,
            x_marks: marks,
            ..Default::default()
        },
    )?;
    Ok(grid(vec![loss_chart, acc_chart], 2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EpochRecord;

    fn record(epoch: usize, loss: f64, val: Option<f64>, acc: Option<f64>) -> EpochRecord {
        EpochRecord {
            epoch,
            train_loss: loss,
            train_objective: loss,
            train_accuracy: acc,
            val_loss: val,
            val_accuracy: acc.map(|a| a - 0.1),
            learning_rate: 1e-3,
            next_learning_rate: 1e-3,
            seconds: 0.1,
            gradients: Vec::new(),
        }
    }

    #[test]
    fn curves_have_train_and_validation_series() {
        let h = History {
            epochs: (0..5)
                .map(|e| {
                    record(
                        e,
                        1.0 / (e as f64 + 1.0),
                        Some(0.5),
                        Some(0.5 + 0.1 * e as f64),
                    )
                })
                .collect(),
            ..Default::default()
        };
        let s = training_curves(&h).unwrap().to_string();
        super::super::wellformed::check(&s).unwrap();
        for text in [
            "train loss",
            "validation loss",
            "train accuracy",
            "validation accuracy",
            "epoch",
        ] {
            assert!(s.contains(text), "missing {text}");
        }
        assert!(s.contains("stroke-dasharray"));
        let regression = History {
            epochs: vec![record(0, 1.0, None, None), record(1, 0.5, None, None)],
            ..Default::default()
        };
        let s = training_curves(&regression).unwrap().to_string();
        assert!(!s.contains("accuracy") && !s.contains("validation"));
        let two = compare_runs(&[("sgd", &h), ("adam", &regression)], "Optimizers").unwrap();
        assert!(two.to_string().contains("sgd train loss"));
        assert!(training_curves(&History::default()).is_err());
    }
}
