//! One self-contained HTML file about a training run: [`History::report`].
//!
//! The file has no script and loads nothing: every picture is inline SVG,
//! the style sheet is inline CSS, the font is the reader's sans-serif. It
//! holds, in order: the run in figures, the network, the init audit (when
//! recorded), the training curves and learning rate, the weights over time
//! (update ratios, dead and saturated units, per parameter the distribution
//! as percentile bands and as stacked histograms), the final weights
//! (histograms, the first convolution's filters, unit tiles, heatmaps) and the weight table. It reads at a
//! laptop's width (pictures scale down to the column) and prints to PDF with
//! no picture split across pages.
//!
//! ```no_run
//! use rand::{SeedableRng, rngs::StdRng};
//! use weightwise::{prelude::*, train::Recording};
//! # fn main() -> weightwise::Result<()> {
//! let mut rng = StdRng::seed_from_u64(0);
//! let (train, test) = datasets::digits::<f32>()?;
//! let mut net = Network::<f32>::builder(64)
//!     .dense(32, Init::he_normal()).relu()
//!     .dense(10, Init::xavier_uniform())
//!     .build(&mut rng)?;
//! let probe = train.features().rows(0..256)?;
//! let history = net.fit(&train, &mut Fit {
//!     epochs: 20,
//!     validation: Some(&test),
//!     recording: Some(Recording::every(1).with_probe(probe)),
//!     ..Default::default()
//! }, &mut rng)?;
//! history.report(&net).title("digits").image_shape((8, 8)).save("report.html")?;
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::path::Path;

use crate::inspect::stats::{percent, sig};
use crate::svg::{self, Svg, escape};
use crate::{Error, History, Network, Result, Scalar};

/// A report on a run and the network it trained, from [`History::report`].
#[derive(Debug)]
pub struct Report<'a, T: Scalar> {
    history: &'a History,
    net: &'a Network<T>,
    title: String,
    image: Option<(usize, usize)>,
}

impl History {
    /// A [`Report`] on this run and `net`, the network it trained; pictures
    /// over time need [`Fit::recording`](crate::Fit::recording).
    pub fn report<'a, T: Scalar>(&'a self, net: &'a Network<T>) -> Report<'a, T> {
        Report {
            history: self,
            net,
            title: "Training report".into(),
            image: None,
        }
    }
}

const STYLE: &str = "
:root { color-scheme: light; }
body { font-family: Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #f6f6f4; line-height: 1.45; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; background: white; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #1f77b4; padding-bottom: 3px; margin-top: 1.8em; }
h3 { font-size: 1.02em; margin: 1.2em 0 0.3em; }
p.lead { color: #444; margin-top: 0; }
nav { font-size: 0.92em; margin: 0.6em 0 1em; }
nav a { margin-right: 1em; color: #1f77b4; }
dl.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 6px 16px; margin: 0.5em 0; }
dl.figures div { background: #f3f6f9; padding: 6px 10px; border-radius: 4px; }
dt { font-size: 0.8em; color: #555; }
dd { margin: 0; font-size: 1.15em; font-weight: bold; }
pre { background: #f7f7f7; padding: 8px 10px; overflow-x: auto; font-size: 0.82em; border-radius: 4px; }
.figs { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 14px 20px; align-items: start; }
figure { margin: 0; }
figure.wide { grid-column: 1 / -1; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { font-size: 0.85em; color: #555; margin-top: 2px; }
table { border-collapse: collapse; font-size: 0.86em; width: 100%; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e2e2e2; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
thead th { border-bottom: 2px solid #999; }
.table-wrap { overflow-x: auto; }
.note { color: #666; font-size: 0.9em; }
@media print {
  body { background: white; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  figure, tr, dl.figures div { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .figs { display: block; }
  figure { margin-bottom: 10px; }
}
@page { size: A4; margin: 12mm; }
";

impl<T: Scalar> Report<'_, T> {
    /// The page's heading and `<title>`. Defaults to "Training report".
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Draws the first dense layer's units as `(height, width)` images and
    /// the pixel importance as one, e.g. `(8, 8)` for 64 pixels. Without it,
    /// an input count that is a perfect square (4 or more) is taken as a
    /// square image.
    pub fn image_shape(mut self, image: (usize, usize)) -> Self {
        self.image = Some(image);
        self
    }

    /// Writes the report to `path`, creating missing parent directories.
    ///
    /// # Errors
    /// As [`Report::to_html`]; [`Error::Io`] naming the path.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let html = self.to_html()?;
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        std::fs::write(path, html).map_err(io)
    }

    /// The report as one HTML document (XHTML-compatible markup: every tag
    /// closed, every attribute quoted).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a history without epochs; an image
    /// shape that does not match the first dense layer's inputs.
    pub fn to_html(&self) -> Result<String> {
        let h = self.history;
        let Some(last) = h.last() else {
            return Err(Error::invalid_arg(
                "history",
                "empty",
                "report: the run has no epoch",
            ));
        };
        let mut body = String::new();
        let sections = [
            ("run", "The run"),
            ("network", "Network"),
            ("audit", "Initialization audit"),
            ("curves", "Training curves"),
            ("time", "Weights over time"),
            ("final", "Final weights"),
            ("table", "Weight table"),
        ];
        let _ = write!(body, "<h1>{}</h1>\n<nav>", escape(&self.title));
        for (id, name) in sections {
            let _ = write!(body, "<a href=\"#{id}\">{name}</a>");
        }
        body.push_str("</nav>\n");

        // The run in figures.
        section(&mut body, sections[0]);
        let mut figs: Vec<(&str, String)> = vec![
            ("epochs", h.epochs.len().to_string()),
            ("final training loss", sig(last.train_loss)),
        ];
        if let Some(v) = last.val_loss {
            figs.push(("final validation loss", sig(v)));
        }
        match (last.val_accuracy, last.train_accuracy) {
            (Some(a), _) => figs.push(("final validation accuracy", percent(a))),
            (None, Some(a)) => figs.push(("final training accuracy", percent(a))),
            (None, None) => {}
        }
        if let Some(b) = h.best_epoch {
            figs.push(("best epoch (monitored loss)", (b + 1).to_string()));
        }
        figs.push((
            "stopped early",
            if h.stopped_early { "yes" } else { "no" }.into(),
        ));
        figs.push(("training time", format!("{:.2} s", h.seconds())));
        figs.push(("parameters", self.net.num_params().to_string()));
        body.push_str("<dl class=\"figures\">");
        for (k, v) in figs {
            let _ = write!(body, "<div><dt>{k}</dt><dd>{}</dd></div>", escape(&v));
        }
        body.push_str("</dl>\n");

        section(&mut body, sections[1]);
        let _ = writeln!(body, "<pre>{}</pre>", escape(&self.net.to_string()));

        section(&mut body, sections[2]);
        match h.timeline.as_ref().and_then(|t| t.init_audit.as_ref()) {
            Some(a) => {
                let _ = writeln!(
                    body,
                    "<p><strong>{}</strong></p>\n<pre>{}</pre>",
                    escape(&a.summary()),
                    escape(&a.to_string())
                );
            }
            None => body.push_str(
                "<p class=\"note\">Not recorded: give <code>Fit::recording</code> a probe batch \
                 and start at epoch 0.</p>\n",
            ),
        }

        section(&mut body, sections[3]);
        let mut curves = vec![(
            svg::training_curves(h)?,
            "Loss per epoch on a log axis (training solid, validation dashed), and accuracy.",
        )];
        // A constant rate is a sentence, not a chart.
        let lr = h.epochs[0].learning_rate;
        let constant = h
            .epochs
            .iter()
            .all(|e| e.learning_rate == lr && e.next_learning_rate == lr);
        if !constant {
            curves.push((svg::learning_rate(h)?, "The learning rate each epoch used."));
        }
        figures(&mut body, curves);
        if constant {
            let _ = writeln!(
                body,
                "<p class=\"note\">The learning rate was {} throughout.</p>",
                sig(lr)
            );
        }

        section(&mut body, sections[4]);
        self.over_time(&mut body)?;

        section(&mut body, sections[5]);
        self.final_weights(&mut body)?;

        section(&mut body, sections[6]);
        self.weight_table(&mut body)?;

        Ok(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
             <title>{}</title><style>{STYLE}</style></head>\n<body><main>\n{body}</main></body></html>\n",
            escape(&self.title)
        ))
    }

    fn over_time(&self, body: &mut String) -> Result<()> {
        let Some(t) = self
            .history
            .timeline
            .as_ref()
            .filter(|t| !t.snapshots.is_empty())
        else {
            body.push_str(
                "<p class=\"note\">Not recorded: set <code>Fit::recording</code> \
                 (e.g. <code>Some(Recording::every(1))</code>) to see the weights move.</p>\n",
            );
            return Ok(());
        };
        let every = match t.every {
            1 => "after every epoch".to_string(),
            k => format!("every {k} epochs"),
        };
        let _ = writeln!(
            body,
            "<p class=\"lead\">{} snapshots, one {every} and one of the initial weights \
             (epoch 0).</p>",
            t.snapshots.len(),
        );
        let mut charts = Vec::new();
        if let Ok(s) = svg::update_ratios(t) {
            charts.push((s, "How far each step moves a parameter relative to its size; near 1e-3 is the usual healthy range."));
        }
        if let Ok(s) = svg::activation_health(t) {
            charts.push((s, "Units that output zero for the whole probe batch (dead) or sit on a flat tail (saturated) pass no gradient."));
        }
        figures(body, charts);
        for (i, name) in t.params.iter().enumerate() {
            let _ = writeln!(body, "<h3>{}</h3>", escape(name));
            figures(
                body,
                [
                    (
                        svg::weight_bands(t, i)?,
                        "Percentile bands of the values at each snapshot.",
                    ),
                    (
                        svg::weight_ridges(t, i)?,
                        "Histograms at selected snapshots, oldest at the top.",
                    ),
                ],
            );
        }
        Ok(())
    }

    fn final_weights(&self, body: &mut String) -> Result<()> {
        let net = self.net;
        let mut charts = vec![(
            svg::weight_histograms(net, 30)?,
            "Each parameter's values after training.",
        )];
        let dense: Vec<usize> = (0..net.layers().len())
            .filter(|&i| net.layers()[i].weight_matrix().is_some())
            .collect();
        let side = (net.inputs() as f64).sqrt().round() as usize;
        let image = self
            .image
            .or((side >= 2 && side * side == net.inputs()).then_some((side, side)));
        // The first convolution's filters (a layer with a 4-D weight).
        if let Some(filters) = (0..net.layers().len())
            .find_map(|i| svg::conv_filters(net, i, &svg::TilesOptions::default()).ok())
        {
            charts.push((
                filters,
                "The first convolution's filters, each on its own colour scale.",
            ));
        }
        // Unit tiles when the first dense layer reads the inputs themselves.
        let reads_inputs = |&i: &usize| {
            net.layers()[i]
                .weight_matrix()
                .is_some_and(|w| w.value.shape().get(1) == Some(&net.inputs()))
        };
        if let (Some(img), Some(first)) = (image, dense.first().filter(|i| reads_inputs(i))) {
            charts.push((
                svg::unit_tiles(net, *first, img)?,
                "Each first-layer unit's incoming weights as an image; grey tiles are dead units.",
            ));
            if let Ok(imp) = crate::inspect::importance::weight_path_importance(net) {
                charts.push((
                    svg::importance_image(
                        &imp,
                        img,
                        "input importance from the weights",
                        "share of the total |weight| path product that starts at each input",
                    )?,
                    "Weights only: |W| products summed over paths to the outputs, per input; \
                     the shares sum to 1.",
                ));
            }
        }
        for &i in &dense {
            charts.push((
                svg::weight_heatmap(net, i)?,
                "The weight matrix: rows are units, columns inputs.",
            ));
        }
        figures(body, charts);
        Ok(())
    }

    fn weight_table(&self, body: &mut String) -> Result<()> {
        let r = self.net.weight_report();
        body.push_str(
            "<div class=\"table-wrap\"><table><thead><tr><th>parameter</th><th>layer</th>\
             <th>shape</th><th>mean</th><th>std</th><th>min</th><th>max</th><th>‖·‖₂</th>\
             <th>exactly 0</th><th>near 0</th></tr></thead><tbody>\n",
        );
        for p in &r.params {
            let s = &p.stats;
            let shape: Vec<String> = p.shape.iter().map(|d| d.to_string()).collect();
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&p.name),
                escape(&p.layer_kind),
                shape.join("×"),
                sig(s.mean),
                sig(s.std),
                sig(s.min),
                sig(s.max),
                sig(s.l2),
                percent(s.zero_fraction),
                percent(s.near_zero_fraction)
            );
        }
        let _ = writeln!(
            body,
            "</tbody></table></div>\n<p class=\"note\">near 0: |w| ≤ {}</p>",
            sig(r.near_zero)
        );
        Ok(())
    }
}

/// Opens a section `(id, heading)`.
fn section(body: &mut String, (id, name): (&str, &str)) {
    let _ = writeln!(body, "<h2 id=\"{id}\">{name}</h2>");
}

/// Pictures with captions in a responsive grid.
fn figures<'c>(body: &mut String, charts: impl IntoIterator<Item = (Svg, &'c str)>) {
    body.push_str("<div class=\"figs\">\n");
    for (chart, caption) in charts {
        let _ = writeln!(
            body,
            "<figure{}>{}<figcaption>{}</figcaption></figure>",
            if chart.width() > 760.0 {
                " class=\"wide\""
            } else {
                ""
            },
            chart.inline(),
            escape(caption)
        );
    }
    body.push_str("</div>\n");
}

#[cfg(test)]
mod tests;
