//! Pictures of a run over time, from the [`Timeline`] that
//! [`Recording`](crate::train::Recording) keeps: weight distributions as
//! percentile bands and as stacked histograms, update ratios, dead and
//! saturated units, and the learning rate.

use std::fmt::Write as _;

use super::axis::{GRID, INK, LABEL_FONT, TICK_FONT, axis_label, x_axis, x_ticks, y_axis, y_ticks};
use super::color::{Rgb, categorical};
use super::scale::Scale;
use super::{Anchor, LineChartOptions, Series, Svg, line_chart_with, num};
use crate::train::{QUANTILES, Timeline};
use crate::{Error, History, Result};

const PLOT_W: f64 = 520.0;
const PLOT_H: f64 = 260.0;
/// Stacked histograms draw at most this many snapshots.
const MAX_RIDGES: usize = 12;

/// The parameter at `param`, or an error naming how many there are.
fn check(timeline: &Timeline, param: usize, op: &'static str) -> Result<()> {
    if timeline.snapshots.is_empty() {
        return Err(Error::invalid_arg(
            "timeline",
            "empty",
            format!("{op}: no snapshot was recorded"),
        ));
    }
    if param >= timeline.params.len() {
        return Err(Error::invalid_arg(
            "parameter index",
            param,
            format!(
                "{op}: the timeline has {} parameters",
                timeline.params.len()
            ),
        ));
    }
    Ok(())
}

/// The x scale of epochs, ending at the data, and its whole-number ticks.
fn epoch_scale(timeline: &Timeline, px: f64) -> Scale {
    let first = timeline.snapshots.first().map_or(0, |s| s.epoch) as f64;
    let last = timeline.snapshots.last().map_or(1, |s| s.epoch) as f64;
    Scale::linear((first, last.max(first + 1.0)), (px, px + PLOT_W))
}

/// A polygon through `upper` left to right and `lower` back.
fn band(upper: &[(f64, f64)], lower: &[(f64, f64)]) -> String {
    let mut d = String::new();
    for (k, (x, y)) in upper.iter().chain(lower.iter().rev()).enumerate() {
        let _ = write!(
            d,
            "{}{} {}",
            if k == 0 { "M" } else { " L" },
            num(*x),
            num(*y)
        );
    }
    d.push_str(" Z");
    d
}

/// One parameter's distribution across snapshots as nested percentile bands
/// (TensorBoard's "distributions"): from light to dark the 0–100, 2–98, 9–91
/// and 25–75 % ranges ([`QUANTILES`]), the median as a line. A band that
/// widens is a spreading distribution; one that stops moving is a layer that
/// stopped learning.
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty timeline or an index past its parameters.
pub fn weight_bands(timeline: &Timeline, param: usize) -> Result<Svg> {
    check(timeline, param, "weight_bands")?;
    let name = &timeline.params[param];
    let q = |s: &crate::train::Snapshot, i: usize| s.params[param].quantiles[i];
    let (lo, hi) = timeline
        .snapshots
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), s| {
            (a.min(q(s, 0)), b.max(q(s, 8)))
        });
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let y0 = Scale::linear((lo, hi), (PLOT_H, 0.0)).nice(5);
    let ticks_y = y_ticks(&y0);
    let (px, py) = (16.0 + LABEL_FONT + 10.0 + ticks_y.max_width() + 8.0, 48.0);
    let x = epoch_scale(timeline, px);
    let y = Scale::linear((lo, hi), (py + PLOT_H, py)).nice(5);
    let title = format!("{name}: distribution over epochs");
    let mut svg = Svg::new(px + PLOT_W + 24.0, py + PLOT_H + 70.0, &title);
    svg.title_text(&title);
    for v in &ticks_y.values {
        svg.line((px, y.map(*v)), (px + PLOT_W, y.map(*v)), GRID);
    }
    let pts = |i: usize| -> Vec<(f64, f64)> {
        timeline
            .snapshots
            .iter()
            .map(|s| (x.map(s.epoch as f64), y.map(q(s, i))))
            .filter(|p| p.1.is_finite())
            .collect()
    };
    for (k, opacity) in [0.18, 0.3, 0.45, 0.65].into_iter().enumerate() {
        svg.push(&format!(
            "<path class=\"band\" d=\"{}\" fill=\"#1f77b4\" fill-opacity=\"{opacity}\"/>",
            band(&pts(8 - k), &pts(k))
        ));
    }
    let median = pts(4);
    let mut d = String::new();
    for (k, (mx, my)) in median.iter().enumerate() {
        let _ = write!(
            d,
            "{}{} {}",
            if k == 0 { "M" } else { " L" },
            num(*mx),
            num(*my)
        );
    }
    svg.push(&format!(
        "<path class=\"median\" d=\"{d}\" fill=\"none\" stroke=\"#0b3d66\" stroke-width=\"2\"/>"
    ));
    let mut tx = x_ticks(&x);
    tx.keep_integers();
    x_axis(&mut svg, &x, &tx, py + PLOT_H);
    y_axis(&mut svg, &y, &ticks_y, px);
    axis_label(
        &mut svg,
        px + PLOT_W / 2.0,
        py + PLOT_H + 40.0,
        "epoch",
        false,
    );
    axis_label(
        &mut svg,
        16.0 + LABEL_FONT / 2.0,
        py + PLOT_H / 2.0,
        "weight value",
        true,
    );
    let pct = |i: usize| format!("{}", QUANTILES[i] * 100.0);
    let legend = format!(
        "line: median; bands, dark to light: {}–{}, {}–{}, {}–{}, {}–{} % of the values",
        pct(3),
        pct(5),
        pct(2),
        pct(6),
        pct(1),
        pct(7),
        pct(0),
        pct(8)
    );
    svg.text(
        px,
        py + PLOT_H + 62.0,
        &legend,
        TICK_FONT,
        Anchor::Start,
        "",
    );
    Ok(svg)
}

/// One parameter's histograms stacked by epoch (TensorBoard's "histograms"
/// view): the oldest at the top, each row's height scaled to its own largest
/// bin, all on one shared value axis. At most 12 snapshots are drawn, evenly
/// spaced, the first and last always.
///
/// # Errors
/// As [`weight_bands`].
pub fn weight_ridges(timeline: &Timeline, param: usize) -> Result<Svg> {
    check(timeline, param, "weight_ridges")?;
    let n = timeline.snapshots.len();
    let picks: Vec<usize> = if n <= MAX_RIDGES {
        (0..n).collect()
    } else {
        let mut v: Vec<usize> = (0..MAX_RIDGES)
            .map(|k| k * (n - 1) / (MAX_RIDGES - 1))
            .collect();
        v.dedup();
        v
    };
    let snaps: Vec<_> = picks.iter().map(|&i| &timeline.snapshots[i]).collect();
    let (lo, hi) = snaps.iter().fold((f64::MAX, f64::MIN), |(a, b), s| {
        let r = s.params[param].range;
        (a.min(r.0), b.max(r.1))
    });
    let (lo, hi) = if lo < hi {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    };
    let row_h = 22.0;
    let peak = 2.2 * row_h;
    let (px, py) = (96.0, 48.0 + peak - row_h);
    let plot_h = row_h * snaps.len() as f64;
    let x = Scale::linear((lo, hi), (px, px + PLOT_W)).nice(6);
    let name = &timeline.params[param];
    let title = format!("{name}: histograms over epochs");
    let mut svg = Svg::new(px + PLOT_W + 24.0, py + plot_h + 56.0, &title);
    svg.title_text(&title);
    for (k, s) in snaps.iter().enumerate() {
        let p = &s.params[param];
        let base = py + row_h * (k + 1) as f64;
        let max = p.counts.iter().copied().max().unwrap_or(0).max(1) as f64;
        let bins = p.counts.len() as f64;
        let width = p.range.1 - p.range.0;
        let mut d = format!("M{} {}", num(x.map(p.range.0)), num(base));
        for (b, &c) in p.counts.iter().enumerate() {
            let (a, e) = if width > 0.0 {
                (
                    p.range.0 + width * b as f64 / bins,
                    p.range.0 + width * (b + 1) as f64 / bins,
                )
            } else {
                (p.range.0, p.range.1)
            };
            let h = base - peak * c as f64 / max;
            let _ = write!(
                d,
                " L{} {} L{} {}",
                num(x.map(a)),
                num(h),
                num(x.map(e)),
                num(h)
            );
        }
        let _ = write!(d, " L{} {} Z", num(x.map(p.range.1)), num(base));
        let t = k as f64 / (snaps.len().max(2) - 1) as f64;
        let color = Rgb::lerp(categorical(0), Rgb(255, 255, 255), 0.75 * (1.0 - t));
        svg.push(&format!(
            "<path class=\"ridge\" d=\"{d}\" fill=\"{color}\" stroke=\"{INK}\" stroke-width=\"0.6\"/>"
        ));
        svg.text(
            px - 8.0,
            base,
            &format!("epoch {}", s.epoch),
            TICK_FONT,
            Anchor::End,
            "",
        );
    }
    let ticks_x = x_ticks(&x);
    x_axis(&mut svg, &x, &ticks_x, py + plot_h + 4.0);
    axis_label(
        &mut svg,
        px + PLOT_W / 2.0,
        py + plot_h + 44.0,
        "weight value (each row scaled to its tallest bin)",
        false,
    );
    Ok(svg)
}

/// Update-to-weight ratio `‖Δw‖₂/‖w‖₂` per parameter over epochs (each
/// point measured at a snapshot epoch's last step) on a log axis, with the
/// rule-of-thumb 1e-3 line: far below it a layer barely moves, far above it
/// the steps are large for the weights.
///
/// # Errors
/// [`Error::InvalidArgument`] when no snapshot has an update ratio.
pub fn update_ratios(timeline: &Timeline) -> Result<Svg> {
    let series: Vec<Series> = timeline
        .params
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Series::new(
                name.clone(),
                timeline
                    .snapshots
                    .iter()
                    .filter_map(|s| Some((s.epoch as f64, s.params[i].update_ratio?)))
                    .collect(),
            )
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    if series.is_empty() {
        return Err(Error::invalid_arg(
            "timeline",
            "no update ratios",
            "update_ratios: no snapshot after a training epoch",
        ));
    }
    line_chart_with(
        &series,
        "Update ratio ‖Δw‖/‖w‖ of one step",
        "epoch",
        "‖Δw‖ / ‖w‖",
        &LineChartOptions {
            log_y: true,
            y_marks: vec![(1e-3, "1e-3 rule of thumb".into())],
            ..Default::default()
        },
    )
}

/// Per activation layer, over epochs, the share of its units dead on the
/// probe (ReLU-like: zero for every probe sample) or of its outputs
/// saturated (sigmoid, tanh: on a flat tail), in percent.
///
/// # Errors
/// [`Error::InvalidArgument`] when the timeline has no activation measure
/// (recorded without a probe).
pub fn activation_health(timeline: &Timeline) -> Result<Svg> {
    let Some(first) = timeline
        .snapshots
        .iter()
        .find(|s| !s.activations.is_empty())
    else {
        return Err(Error::invalid_arg(
            "timeline",
            "no activations",
            "activation_health: record with a probe batch",
        ));
    };
    let mut series = Vec::new();
    for (k, a) in first.activations.iter().enumerate() {
        let pick = |s: &crate::train::Snapshot, dead: bool| {
            s.activations
                .get(k)
                .and_then(|a| if dead { a.dead_units } else { a.saturated })
        };
        for (dead, what) in [(true, "dead units"), (false, "saturated outputs")] {
            if pick(first, dead).is_some() {
                series.push(Series::new(
                    format!("layer {} {}: % {what}", a.layer, a.activation),
                    timeline
                        .snapshots
                        .iter()
                        .filter_map(|s| Some((s.epoch as f64, 100.0 * pick(s, dead)?)))
                        .collect(),
                ));
            }
        }
    }
    line_chart_with(
        &series,
        "Dead and saturated units on the probe batch",
        "epoch",
        "% of the layer",
        &LineChartOptions::default(),
    )
}

/// The learning rate of each epoch (log axis when it spans more than a
/// factor of 20), epochs numbered from 1.
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty history.
pub fn learning_rate(history: &History) -> Result<Svg> {
    if history.epochs.is_empty() {
        return Err(Error::invalid_arg(
            "history",
            "empty",
            "learning_rate: no epoch",
        ));
    }
    let pts: Vec<(f64, f64)> = history
        .epochs
        .iter()
        .map(|e| (e.epoch as f64 + 1.0, e.learning_rate))
        .collect();
    let (lo, hi) = pts
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let title = if lo == hi {
        format!("Learning rate: {} throughout", super::scale::format_sig(lo))
    } else {
        "Learning rate".to_string()
    };
    line_chart_with(
        &[Series::new("learning rate of the epoch", pts)],
        &title,
        "epoch",
        "learning rate",
        &LineChartOptions {
            log_y: lo > 0.0 && hi / lo > 20.0,
            ..Default::default()
        },
    )
}
