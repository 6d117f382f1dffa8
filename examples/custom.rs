//! Your own pieces, first-class: a focal loss, a PReLU layer, a closure
//! schedule and `ReduceLrOnPlateau`, each trained with `fit` exactly as the
//! built-ins are, the loss and the layer proven by the public `gradcheck`;
//! then a two-output regression read from a CSV file this example writes.
//!
//! Run with `cargo run --release --example custom`.

use rand::{SeedableRng, rngs::StdRng};
use weightwise::data::{Targets, to_labels};
use weightwise::gradcheck;
use weightwise::prelude::*;

/// Focal loss on logits (Lin et al. 2017, "Focal Loss for Dense Object
/// Detection"), for 0/1 labels: with `p = σ(x)`, `q = p` if `y = 1` else
/// `1 − p`, and `α_t = α` if `y = 1` else `1 − α`,
///
/// ```text
/// ℓ = −α_t·(1 − q)^γ·ln q        ∂ℓ/∂x = α_t·s·(1 − q)^γ·(γ·q·ln q − (1 − q)),   s = ±1 for y = 1/0
/// ```
///
/// averaged over all elements. `γ = 0`, `α = ½` is half the binary
/// cross-entropy; `γ > 0` down-weights the easy examples.
#[derive(Debug)]
struct FocalLoss {
    alpha: f64,
    gamma: f64,
}

impl FocalLoss {
    /// `(ℓ, ∂ℓ/∂x)` of one logit and label.
    fn element(&self, x: f64, y: f64) -> Result<(f64, f64)> {
        if y != 0.0 && y != 1.0 {
            return Err(Error::invalid_arg("focal loss target", y, "must be 0 or 1"));
        }
        let (s, a) = if y == 1.0 {
            (1.0, self.alpha)
        } else {
            (-1.0, 1.0 - self.alpha)
        };
        // q = σ(z) with z = s·x; ln q = −softplus(−z), computed stably.
        let z = s * x;
        let ln_q = -((-z).max(0.0) + (-z.abs()).exp().ln_1p());
        let q = ln_q.exp();
        let w = (1.0 - q).powf(self.gamma);
        Ok((
            -a * w * ln_q,
            a * s * w * (self.gamma * q * ln_q - (1.0 - q)),
        ))
    }
}

impl LossFn<f64> for FocalLoss {
    fn loss_and_grad(
        &self,
        pred: &Tensor<f64>,
        target: &Tensor<f64>,
        grad: &mut Tensor<f64>,
    ) -> Result<f64> {
        let mut losses = Tensor::default();
        self.unreduced(pred, target, &mut losses, grad)?;
        let n = pred.len() as f64;
        grad.map_in_place(|g| g / n);
        Ok(losses.sum() / n)
    }

    fn unreduced(
        &self,
        pred: &Tensor<f64>,
        target: &Tensor<f64>,
        losses: &mut Tensor<f64>,
        grad: &mut Tensor<f64>,
    ) -> Result<()> {
        if pred.len() != target.len() || pred.is_empty() {
            return Err(Error::shape_mismatch(
                "focal loss",
                pred.shape(),
                target.shape(),
                "one 0/1 label per logit",
            ));
        }
        losses.resize_zeroed(pred.shape())?;
        grad.resize_zeroed(pred.shape())?;
        let items = pred.as_slice().iter().zip(target.as_slice());
        let outs = losses.as_mut_slice().iter_mut().zip(grad.as_mut_slice());
        for ((&x, &y), (l, g)) in items.zip(outs) {
            (*l, *g) = self.element(x, y)?;
        }
        Ok(())
    }

    fn accuracy(
        &self,
        pred: &Tensor<f64>,
        target: &Tensor<f64>,
        _: &mut Vec<usize>,
    ) -> Result<Option<(usize, usize)>> {
        let right = pred
            .as_slice()
            .iter()
            .zip(target.as_slice())
            .filter(|&(&x, &y)| (x > 0.0) == (y == 1.0))
            .count();
        Ok(Some((right, pred.len())))
    }

    fn name(&self) -> &'static str {
        "focal"
    }
}

/// PReLU (He et al. 2015; PyTorch `nn.PReLU(num_parameters=features)`):
/// `y = x` if `x > 0`, else `a_j·x`, with a learned slope `a_j` per feature.
#[derive(Clone, Debug)]
struct PRelu {
    slope: Param<f64>,
    x: Tensor<f64>,
    y: Tensor<f64>,
    dx: Tensor<f64>,
}

impl PRelu {
    /// PyTorch's default start, `a = 0.25`.
    fn new(features: usize) -> Result<Self> {
        Ok(PRelu {
            slope: Param::new(
                "weight",
                ParamKind::Scale,
                Tensor::from_vec(vec![0.25; features], &[features])?,
            ),
            x: Tensor::default(),
            y: Tensor::default(),
            dx: Tensor::default(),
        })
    }
}

impl Layer<f64> for PRelu {
    fn kind(&self) -> &'static str {
        "PReLU"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        match input {
            [_, f] if *f == self.slope.value.len() => Ok(input.to_vec()),
            _ => Err(Error::shape_mismatch(
                "PReLU",
                input,
                self.slope.value.shape(),
                "one slope per feature",
            )),
        }
    }

    fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> Result<()> {
        self.output_shape(x.shape())?;
        out.assign(x);
        let f = self.slope.value.len();
        let a = self.slope.value.as_slice();
        for row in out.as_mut_slice().chunks_mut(f) {
            for (v, &aj) in row.iter_mut().zip(a) {
                if *v <= 0.0 {
                    *v *= aj;
                }
            }
        }
        Ok(())
    }

    fn forward(&mut self, x: &Tensor<f64>, _: Mode) -> Result<&Tensor<f64>> {
        self.x.assign(x);
        let mut y = std::mem::take(&mut self.y);
        let result = self.infer(x, &mut y);
        self.y = y;
        result.map(|()| &self.y)
    }

    fn backward(&mut self, dy: &Tensor<f64>) -> Result<&Tensor<f64>> {
        weightwise::layer::check_backward("PReLU", Some(&self.y), dy)?;
        let f = self.slope.value.len();
        self.dx.assign(dy);
        let (a, da) = (self.slope.value.as_slice(), self.slope.grad.as_mut_slice());
        let rows = self
            .x
            .as_slice()
            .chunks(f)
            .zip(self.dx.as_mut_slice().chunks_mut(f));
        for (x, d) in rows {
            for j in 0..f {
                if x[j] <= 0.0 {
                    da[j] += d[j] * x[j]; // ∂y/∂a = x
                    d[j] *= a[j]; // ∂y/∂x = a
                }
            }
        }
        Ok(&self.dx)
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<f64>)) {
        f(&self.slope);
    }

    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<f64>)) {
        f(&mut self.slope);
    }
}

/// Fails the example unless a gradient check passes.
fn proven(what: &str, report: gradcheck::GradCheckReport) -> Result<()> {
    println!("gradcheck {what:<26} {report}");
    if report.max_rel_error < 1e-6 {
        Ok(())
    } else {
        Err(Error::invalid_state("gradcheck", format!("{what} failed")))
    }
}

fn main() -> Result<()> {
    let mut rng = StdRng::seed_from_u64(7);

    // 1. Prove the custom loss and layer, alone and inside a network.
    let focal = FocalLoss {
        alpha: 0.25,
        gamma: 2.0,
    };
    let logits = Tensor::from_rows(&[[1.3], [-0.4], [2.2], [-3.1]])?;
    let labels = Tensor::from_rows(&[[1.0], [0.0], [0.0], [1.0]])?;
    proven("focal loss", gradcheck::loss(&focal, &logits, &labels)?)?;
    let mut prelu = PRelu::new(3)?;
    let x = Tensor::from_rows(&[[0.7, -1.1, 0.3], [-0.2, 0.9, -2.4]])?;
    proven("PReLU layer", gradcheck::layer(&mut prelu, &x)?)?;
    let mut small = Network::<f64>::builder(3)
        .dense(4, Init::xavier_uniform())
        .layer(Box::new(PRelu::new(4)?))
        .dense(1, Init::xavier_uniform())
        .build(&mut rng)?;
    let x3 = Tensor::from_rows(&[[0.5, -1.0, 0.25], [1.5, 0.2, -0.7], [-0.3, 0.8, 1.1]])?;
    let y3 = Tensor::from_slice(&[1.0, 0.0, 1.0]);
    proven(
        "Dense+PReLU+Dense, focal",
        gradcheck::network(&mut small, &focal, &x3, &y3)?,
    )?;

    // 2. "Is it a zero?" on the digits: 1 positive in 10, where focal loss
    //    helps. Targets are a plain column [n] for the one-output network.
    let (train, test) = datasets::digits::<f64>()?;
    let is_zero = |d: &Dataset<f64>| -> Result<Dataset<f64>> {
        let y: Vec<f64> = to_labels(d.targets())?
            .into_iter()
            .map(|c| f64::from(u8::from(c == 0)))
            .collect();
        Dataset::new(d.features().clone(), Tensor::from_slice(&y))
    };
    let (train, test) = (is_zero(&train)?, is_zero(&test)?);
    let zeros = test.targets().sum();
    println!(
        "\n'is it a 0?': {zeros} zeros among {} test digits; always answering 'no' scores {:.3}",
        test.len(),
        1.0 - zeros / test.len() as f64
    );
    let mut net = Network::<f64>::builder(64)
        .dense(32, Init::he_normal())
        .layer(Box::new(PRelu::new(32)?))
        .dense(1, Init::xavier_uniform())
        .build(&mut rng)?;
    // A closure schedule: a linear warm-up over the first epoch's steps,
    // then a cosine over the remaining epochs.
    let epochs = 12;
    let warmup = LambdaSchedule::new(move |epoch, step, base| {
        if epoch == 0 {
            base * ((step + 1) as f64 / 45.0).min(1.0)
        } else {
            let t = (epoch - 1) as f64 / (epochs - 1) as f64;
            base * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
        }
    });
    let history = net.fit(
        &train,
        &mut Fit {
            loss: Box::new(focal),
            optimizer: Adam {
                lr: 3e-3,
                ..Default::default()
            }
            .into(),
            schedule: Some(warmup.into()),
            epochs,
            validation: Some(&test),
            ..Default::default()
        },
        &mut rng,
    )?;
    println!("focal loss + PReLU + closure schedule:");
    for e in history.epochs.iter().step_by(3) {
        println!(
            "  epoch {:>2}  lr {:.2e}  train {:.4}  val {:.4}  val accuracy {:.3}",
            e.epoch,
            e.learning_rate,
            e.train_loss,
            e.val_loss.unwrap_or(f64::NAN),
            e.val_accuracy.unwrap_or(f64::NAN)
        );
    }
    let focal_eval = net.evaluate(
        &test,
        &FocalLoss {
            alpha: 0.25,
            gamma: 2.0,
        },
    )?;
    println!(
        "  test: focal loss {:.4}, accuracy {:.3} ({} samples)",
        focal_eval.loss,
        focal_eval.accuracy.unwrap_or(f64::NAN),
        focal_eval.samples
    );
    println!(
        "  learned PReLU slopes: mean {:.3}",
        net.tensor("1.weight")?.mean()
    );

    // 3. A two-output regression from a CSV file written here:
    //    y1 = sin(πx₁)·x₂, y2 = x₁² − x₂, on a 20×20 grid.
    let dir = std::env::args().nth(1).map_or_else(
        || std::path::PathBuf::from("target/weightwise-out/custom"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let path = dir.join("custom_regression.csv");
    let mut csv = String::from("x1,y1,x2,y2\n");
    for i in 0..20 {
        for j in 0..20 {
            let (x1, x2) = (i as f64 / 9.5 - 1.0, j as f64 / 9.5 - 1.0);
            let (y1, y2) = ((std::f64::consts::PI * x1).sin() * x2, x1 * x1 - x2);
            csv.push_str(&format!("{x1},{y1},{x2},{y2}\n"));
        }
    }
    std::fs::write(&path, csv).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let data = Dataset::<f64>::from_csv_targets(&path, Targets::values(["y1", "y2"]))?;
    let (train, val) = data.split(0.2, &mut rng)?;
    println!(
        "\nregression from {}: features {:?}, targets {:?}",
        path.display(),
        data.features().shape(),
        data.targets().shape()
    );
    let mut net = Network::<f64>::builder(2)
        .dense(32, Init::xavier_uniform_gain(5.0 / 3.0))
        .tanh()
        .dense(32, Init::xavier_uniform_gain(5.0 / 3.0))
        .tanh()
        .dense(2, Init::xavier_uniform())
        .build(&mut rng)?;
    let plateau = ReduceLrOnPlateau::new(Plateau {
        factor: 0.5,
        patience: 5,
        ..Default::default()
    })?;
    let history = net.fit(
        &train,
        &mut Fit {
            loss: Loss::mse().into(),
            optimizer: Adam {
                lr: 1e-2,
                ..Default::default()
            }
            .into(),
            schedule: Some(plateau.into()),
            epochs: 150,
            batch_size: 16,
            validation: Some(&val),
            ..Default::default()
        },
        &mut rng,
    )?;
    let mut last_lr = f64::NAN;
    for e in &history.epochs {
        if e.next_learning_rate != last_lr {
            println!(
                "  epoch {:>3}  val MSE {:.2e}  learning rate from here {:.2e}",
                e.epoch,
                e.val_loss.unwrap_or(f64::NAN),
                e.next_learning_rate
            );
            last_lr = e.next_learning_rate;
        }
    }
    let eval = net.evaluate(&val, &Loss::mse())?;
    let variance = Loss::mse().loss(
        val.targets(),
        &Tensor::zeros(val.targets().shape())?.map(|_| val.targets().mean()),
    )?;
    println!(
        "  validation MSE {:.2e} (predicting the mean: {:.2e})",
        eval.loss, variance
    );
    Ok(())
}
