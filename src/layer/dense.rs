//! [`Dense`]: the fully connected layer, `y = x·Wᵀ + b` (PyTorch's `nn.Linear`,
//! Keras' `Dense` without its activation).
//!
//! # Weight layout: `[units, inputs]`, as PyTorch
//!
//! The weight is stored as a `units × inputs` matrix: **row `i` of `W` holds
//! the incoming weights of unit `i`**, and `W[i, j]` connects input `j` to
//! unit `i`. This is PyTorch's `nn.Linear.weight` layout, so a PyTorch state
//! dict (`weight` of shape `[out_features, in_features]`, `bias` of shape
//! `[out_features]`) loads without transposing. Keras stores its `kernel` the
//! other way round, `[inputs, units]`: transpose a Keras kernel before
//! loading it with [`Dense::from_weights`].
//!
//! # Formulas
//! For a batch `x` of shape `[n, inputs]` (one sample per row):
//!
//! ```text
//! forward:   y  = x·Wᵀ + b            y: [n, units]
//! backward:  dW += dyᵀ·x              [units, inputs]
//!            db += Σₙ dy[n, :]         [units]
//!            dx  = dy·W               [n, inputs]
//! ```
//!
//! The transposes are never formed: [`Tensor::gemm`] reads them through strides.

use rand::Rng;

use crate::init::{Fans, Initializer};
use crate::layer::{Layer, LayerConfig, Mode, Param, ParamKind, check_backward};
use crate::{Error, Result, Scalar, Tensor};

/// A fully connected layer: `y = x·Wᵀ + b`, PyTorch's `nn.Linear(inputs, units)`.
///
/// The weight has shape `[units, inputs]` (row `i` = unit `i`'s incoming
/// weights; see the [module docs](self)), the optional bias `[units]`.
/// Parameters are visited as `"weight"` ([`ParamKind::Weight`]) then `"bias"`
/// ([`ParamKind::Bias`]), PyTorch's names, so a state dict maps one to one.
///
/// The forward pass copies its input into a buffer the layer keeps (the
/// weight gradient needs it) in both modes; the output and input-gradient
/// buffers are kept too, so after the first batch of a given size neither
/// pass allocates.
///
/// ```
/// use rand::{SeedableRng, rngs::StdRng};
/// use weightwise::layer::dense::Dense;
/// use weightwise::{Init, Layer, Mode, Tensor};
/// # fn main() -> weightwise::Result<()> {
/// let mut rng = StdRng::seed_from_u64(42);
/// let mut layer = Dense::<f32>::new(3, 2, &Init::he_uniform(), &mut rng)?;
/// assert_eq!(layer.weight().shape(), &[2, 3]); // [units, inputs]
/// let x = Tensor::from_rows(&[[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]])?;
/// let y = layer.forward(&x, Mode::Train)?;
/// assert_eq!(y.shape(), &[2, 2]);
/// let dx = layer.backward(&Tensor::ones(&[2, 2])?)?;
/// assert_eq!(dx.shape(), &[2, 3]);
/// // Bias starts at zero (as Keras), so its gradient is Σ dy = 2 per unit.
/// assert_eq!(layer.params()[1].grad.as_slice(), &[2.0, 2.0]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Dense<T> {
    inputs: usize,
    units: usize,
    weight: Param<T>,
    bias: Option<Param<T>>,
    /// The last forward pass's input, kept for `dW = dyᵀ·x`.
    input: Tensor<T>,
    output: Tensor<T>,
    grad_input: Tensor<T>,
    has_forward: bool,
}

impl<T: Scalar> Dense<T> {
    /// A layer of `units` units over `inputs` inputs, the weight filled by
    /// `init` with fans `Fans::of_shape(&[units, inputs])` (fan_in = `inputs`,
    /// fan_out = `units`), drawing from `rng`.
    ///
    /// The bias starts at zero, as in Keras; PyTorch's `nn.Linear` instead
    /// draws it from `U(±1/√inputs)`, which
    /// `.with_bias_init(&Init::torch_default(), rng)` reproduces. For PyTorch's
    /// full default use [`Init::torch_default`](crate::Init::torch_default)
    /// for the weight as well.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `inputs` or `units` is zero, or whatever
    /// `init` returns (e.g. invalid initializer parameters).
    pub fn new(
        inputs: usize,
        units: usize,
        init: &dyn Initializer<T>,
        rng: &mut dyn Rng,
    ) -> Result<Self> {
        if inputs == 0 {
            return Err(Error::invalid_arg(
                "Dense inputs",
                inputs,
                "a dense layer needs at least one input",
            ));
        }
        if units == 0 {
            return Err(Error::invalid_arg(
                "Dense units",
                units,
                "a dense layer needs at least one unit",
            ));
        }
        let shape = [units, inputs];
        let mut weight = Tensor::zeros(&shape)?;
        init.fill(&mut weight, Fans::of_shape(&shape), rng)?;
        let bias = Tensor::zeros(&[units])?;
        Ok(Self::assemble(weight, Some(bias)))
    }

    fn assemble(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Self {
        let (units, inputs) = (weight.shape()[0], weight.shape()[1]);
        Dense {
            inputs,
            units,
            weight: Param::new("weight", ParamKind::Weight, weight),
            bias: bias.map(|b| Param::new("bias", ParamKind::Bias, b)),
            input: Tensor::default(),
            output: Tensor::default(),
            grad_input: Tensor::default(),
            has_forward: false,
        }
    }

    /// Replaces the bias (adding one if [`Dense::without_bias`] removed it) by
    /// one filled by `init`.
    ///
    /// The fans passed to `init` are the **weight's**, `[units, inputs]`, as
    /// PyTorch does: `nn.Linear` bounds its bias by `1/√fan_in` with fan_in
    /// the weight's input count, so `with_bias_init(&Init::torch_default(), rng)`
    /// gives PyTorch's `U(±1/√inputs)` bias.
    ///
    /// # Errors
    /// Whatever `init` returns.
    pub fn with_bias_init(mut self, init: &dyn Initializer<T>, rng: &mut dyn Rng) -> Result<Self> {
        let mut bias = Tensor::zeros(&[self.units])?;
        init.fill(&mut bias, Fans::of_shape(&[self.units, self.inputs]), rng)?;
        self.bias = Some(Param::new("bias", ParamKind::Bias, bias));
        Ok(self)
    }

    /// Removes the bias: `y = x·Wᵀ` (PyTorch's `bias=False`, Keras' `use_bias=False`).
    pub fn without_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    /// A layer with the given weight (`[units, inputs]`, PyTorch's layout) and
    /// optional bias (`[units]`), e.g. from a PyTorch `nn.Linear` state dict.
    ///
    /// ```
    /// # use weightwise::{layer::dense::Dense, Layer, Mode, Tensor};
    /// # fn main() -> weightwise::Result<()> {
    /// // Unit 0 adds the two inputs, unit 1 takes their difference.
    /// let w = Tensor::from_rows(&[[1.0, 1.0], [1.0, -1.0]])?;
    /// let mut layer = Dense::from_weights(w, Some(Tensor::from_slice(&[0.0, 10.0])))?;
    /// let y = layer.forward(&Tensor::from_rows(&[[3.0f64, 2.0]])?, Mode::Eval)?;
    /// assert_eq!(y.as_slice(), &[5.0, 11.0]);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if the weight is not 2-D or has a zero
    /// dimension, [`Error::ShapeMismatch`] if the bias is not `[units]`.
    pub fn from_weights(weight: Tensor<T>, bias: Option<Tensor<T>>) -> Result<Self> {
        let (units, inputs) = weight.dims2("Dense::from_weights")?;
        if units == 0 || inputs == 0 {
            return Err(Error::invalid_shape(
                "Dense::from_weights",
                weight.shape(),
                "the weight [units, inputs] needs at least one unit and one input",
            ));
        }
        if let Some(b) = &bias
            && b.shape() != [units]
        {
            return Err(Error::shape_mismatch(
                "Dense::from_weights",
                weight.shape(),
                b.shape(),
                "the bias needs one element per unit (the weight's rows)",
            ));
        }
        Ok(Self::assemble(weight, bias))
    }

    /// The weight, `[units, inputs]`: row `i` holds unit `i`'s incoming weights.
    pub fn weight(&self) -> &Tensor<T> {
        &self.weight.value
    }

    /// The bias, `[units]`, or `None` for a layer built [`Dense::without_bias`].
    pub fn bias(&self) -> Option<&Tensor<T>> {
        self.bias.as_ref().map(|b| &b.value)
    }

    /// Number of inputs (columns of the weight; PyTorch's `in_features`).
    pub fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of units (rows of the weight; PyTorch's `out_features`).
    pub fn units(&self) -> usize {
        self.units
    }

    /// Rebuilds a layer from its model-file description `Linear(in_features,
    /// out_features, bias)`, with zero weights (the file's tensors replace them).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a missing or invalid argument.
    pub fn from_config(config: &LayerConfig) -> Result<Box<dyn Layer<T>>> {
        let (inputs, units) = (config.usize("in_features")?, config.usize("out_features")?);
        let layer = Dense::new(
            inputs,
            units,
            &crate::Init::zeros(),
            &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0),
        )?;
        Ok(Box::new(if config.bool("bias")? {
            layer
        } else {
            layer.without_bias()
        }))
    }

    fn check_input(&self, op: &'static str, shape: &[usize]) -> Result<usize> {
        let [n, width] = *shape else {
            return Err(Error::invalid_shape(
                op,
                shape,
                format!("expected a 2-D batch [n, {}]", self.inputs),
            ));
        };
        if width != self.inputs {
            return Err(Error::shape_mismatch(
                op,
                shape,
                &[self.units, self.inputs],
                "the input's width must equal the weight's column count [units, inputs]",
            ));
        }
        Ok(n)
    }
}

impl<T: Scalar> Layer<T> for Dense<T> {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    /// `[n, inputs]` → `[n, units]`.
    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
        let n = self.check_input("Dense output_shape", input)?;
        Ok(vec![n, self.units])
    }

    /// `y = x·Wᵀ + b`, computed as `forward` computes it.
    fn infer(&self, x: &Tensor<T>, out: &mut Tensor<T>) -> Result<()> {
        self.check_input("Dense infer", x.shape())?;
        Tensor::gemm(T::one(), x, false, &self.weight.value, true, T::zero(), out)?;
        if let Some(b) = &self.bias {
            out.add_row_in_place(&b.value)?;
        }
        Ok(())
    }

    /// `Linear(in_features, out_features, bias)`.
    fn config(&self) -> Option<LayerConfig> {
        Some(
            LayerConfig::new("Linear")
                .with("in_features", self.inputs)
                .with("out_features", self.units)
                .with("bias", self.bias.is_some()),
        )
    }

    /// `y = x·Wᵀ + b`; the same in both modes.
    fn forward(&mut self, x: &Tensor<T>, _mode: Mode) -> Result<&Tensor<T>> {
        self.check_input("Dense forward", x.shape())?;
        Tensor::gemm(
            T::one(),
            x,
            false,
            &self.weight.value,
            true,
            T::zero(),
            &mut self.output,
        )?;
        if let Some(b) = &self.bias {
            self.output.add_row_in_place(&b.value)?;
        }
        self.input.assign(x);
        self.has_forward = true;
        Ok(&self.output)
    }

    /// `dW += dyᵀ·x`, `db += Σₙ dy`, returns `dx = dy·W`.
    fn backward(&mut self, dy: &Tensor<T>) -> Result<&Tensor<T>> {
        self.backward_params(dy)?;
        Tensor::gemm(
            T::one(),
            dy,
            false,
            &self.weight.value,
            false,
            T::zero(),
            &mut self.grad_input,
        )?;
        Ok(&self.grad_input)
    }

    /// `dW += dyᵀ·x` and `db += Σ dy` without `dx = dy·W`, a third of the
    /// backward pass's arithmetic, for a first layer whose input needs no gradient.
    fn backward_params(&mut self, dy: &Tensor<T>) -> Result<()> {
        check_backward(
            "Dense backward",
            self.has_forward.then_some(&self.output),
            dy,
        )?;
        Tensor::gemm(
            T::one(),
            dy,
            true,
            &self.input,
            false,
            T::one(),
            &mut self.weight.grad,
        )?;
        if let Some(b) = &mut self.bias {
            dy.add_column_sums_into(&mut b.grad)?;
        }
        Ok(())
    }

    fn weight_matrix(&self) -> Option<&Param<T>> {
        Some(&self.weight)
    }

    fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<T>)) {
        f(&self.weight);
        if let Some(b) = &self.bias {
            f(b);
        }
    }

    fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(&'a mut Param<T>)) {
        f(&mut self.weight);
        if let Some(b) = &mut self.bias {
            f(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use rand::{SeedableRng, rngs::StdRng};

    use super::*;
    use crate::Init;
    use crate::gradcheck::{self, GradCheck};

    /// An initializer that records the fans it was given and fills with 0.25.
    #[derive(Debug, Default)]
    struct RecordFans(Cell<Option<Fans>>);

    impl<T: Scalar> Initializer<T> for RecordFans {
        fn fill(&self, w: &mut Tensor<T>, fans: Fans, _rng: &mut dyn Rng) -> Result<()> {
            self.0.set(Some(fans));
            w.fill(T::from_f64(0.25));
            Ok(())
        }
    }

    macro_rules! dense_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;

                fn t(v: &[f64], s: &[usize]) -> Tensor<$t> {
                    Tensor::from_vec(v.iter().map(|&x| <$t>::from_f64(x)).collect(), s).unwrap()
                }

                /// W = [[1, 2, 3], [−1, 0, 0.5]], b = [0.5, −1].
                fn layer() -> Dense<$t> {
                    let w = t(&[1.0, 2.0, 3.0, -1.0, 0.0, 0.5], &[2, 3]);
                    Dense::from_weights(w, Some(t(&[0.5, -1.0], &[2]))).unwrap()
                }

                #[test]
                fn forward_and_backward_by_hand() {
                    let mut d = layer();
                    let x = t(&[1.0, 0.0, -1.0, 2.0, 1.0, 0.0], &[2, 3]);
                    // y[0] = [1·1 + 0·2 − 1·3 + 0.5, −1·1 + 0 − 1·0.5 − 1] = [−1.5, −2.5]
                    // y[1] = [2·1 + 1·2 + 0·3 + 0.5, −2·1 + 0 + 0 − 1]      = [4.5, −3]
                    let y = d.forward(&x, Mode::Train).unwrap();
                    assert_eq!(
                        y.as_slice(),
                        t(&[-1.5, -2.5, 4.5, -3.0], &[2, 2]).as_slice()
                    );
                    let dy = t(&[1.0, 0.0, 0.5, -1.0], &[2, 2]);
                    // dx = dy·W: row 0 = 1·W[0] = [1, 2, 3];
                    // row 1 = 0.5·W[0] − 1·W[1] = [0.5 + 1, 1 − 0, 1.5 − 0.5] = [1.5, 1, 1]
                    let dx = d.backward(&dy).unwrap().clone();
                    assert_eq!(dx, t(&[1.0, 2.0, 3.0, 1.5, 1.0, 1.0], &[2, 3]));
                    // dW[i] = Σₙ dy[n, i]·x[n]: unit 0: 1·[1, 0, −1] + 0.5·[2, 1, 0] = [2, 0.5, −1];
                    // unit 1: 0·x[0] − 1·[2, 1, 0] = [−2, −1, 0]. db = column sums of dy = [1.5, −1].
                    let dw = t(&[2.0, 0.5, -1.0, -2.0, -1.0, 0.0], &[2, 3]);
                    assert_eq!(d.params()[0].grad, dw);
                    assert_eq!(d.params()[1].grad, t(&[1.5, -1.0], &[2]));
                    // A second backward accumulates: the gradients double.
                    d.backward(&dy).unwrap();
                    assert_eq!(d.params()[0].grad, dw.scale(2.0));
                    assert_eq!(d.params()[1].grad, t(&[3.0, -2.0], &[2]));
                    d.zero_grad();
                    assert_eq!(d.params()[1].grad, t(&[0.0, 0.0], &[2]));
                }

                #[test]
                fn without_bias_is_x_times_w_transposed() {
                    let mut d = layer().without_bias();
                    assert!(d.bias().is_none());
                    assert_eq!(d.params().len(), 1);
                    assert_eq!(d.num_params(), 6);
                    let x = t(&[1.0, 0.0, -1.0], &[1, 3]);
                    // [1 − 3, −1 − 0.5] = [−2, −1.5]
                    assert_eq!(
                        d.forward(&x, Mode::Eval).unwrap(),
                        &t(&[-2.0, -1.5], &[1, 2])
                    );
                    d.backward(&t(&[1.0, 1.0], &[1, 2])).unwrap();
                    // dW = dyᵀ·x: both rows equal x.
                    assert_eq!(
                        d.params()[0].grad,
                        t(&[1.0, 0.0, -1.0, 1.0, 0.0, -1.0], &[2, 3])
                    );
                }

                #[test]
                fn metadata_and_params() {
                    let d = layer();
                    assert_eq!(d.kind(), "Dense");
                    assert_eq!((d.inputs(), d.units()), (3, 2));
                    assert_eq!(d.weight().shape(), &[2, 3]);
                    assert_eq!(d.bias().unwrap().shape(), &[2]);
                    assert_eq!(d.output_shape(&[7, 3]).unwrap(), vec![7, 2]);
                    assert_eq!(d.num_params(), 8);
                    let p = d.params();
                    assert_eq!((p[0].name, p[0].kind), ("weight", ParamKind::Weight));
                    assert_eq!((p[1].name, p[1].kind), ("bias", ParamKind::Bias));
                    assert_eq!(p[0].grad.shape(), &[2, 3]);
                }

                #[test]
                fn shape_errors_name_the_operation() {
                    let mut d = layer();
                    let err = d.forward(&t(&[0.0; 8], &[2, 4]), Mode::Train).unwrap_err();
                    assert!(matches!(
                        err,
                        Error::ShapeMismatch {
                            op: "Dense forward",
                            ..
                        }
                    ));
                    assert!(
                        err.to_string()
                            .starts_with("Dense forward: left is 2×4, right is 2×3"),
                        "{err}"
                    );
                    let err = d.forward(&t(&[0.0; 3], &[3]), Mode::Train).unwrap_err();
                    assert!(
                        matches!(
                            err,
                            Error::InvalidShape {
                                op: "Dense forward",
                                ..
                            }
                        ),
                        "{err}"
                    );
                    assert!(d.output_shape(&[5, 4]).is_err());
                    assert!(d.output_shape(&[3]).is_err());
                }

                #[test]
                fn backward_errors() {
                    let mut d = layer();
                    let err = d.backward(&t(&[0.0; 2], &[1, 2])).unwrap_err();
                    assert!(
                        matches!(
                            err,
                            Error::InvalidState {
                                op: "Dense backward",
                                ..
                            }
                        ),
                        "{err}"
                    );
                    d.forward(&t(&[0.0; 6], &[2, 3]), Mode::Train).unwrap();
                    let err = d.backward(&t(&[0.0; 3], &[1, 3])).unwrap_err();
                    assert!(
                        matches!(
                            err,
                            Error::ShapeMismatch {
                                op: "Dense backward",
                                ..
                            }
                        ),
                        "{err}"
                    );
                }

                #[test]
                fn constructor_errors() {
                    let mut rng = StdRng::seed_from_u64(0);
                    let init = Init::xavier_uniform();
                    assert!(matches!(
                        Dense::<$t>::new(0, 2, &init, &mut rng),
                        Err(Error::InvalidArgument {
                            name: "Dense inputs",
                            ..
                        })
                    ));
                    assert!(matches!(
                        Dense::<$t>::new(2, 0, &init, &mut rng),
                        Err(Error::InvalidArgument {
                            name: "Dense units",
                            ..
                        })
                    ));
                    // Invalid initializer parameters surface from `new` and `with_bias_init`.
                    assert!(Dense::<$t>::new(2, 2, &Init::normal(0.0, -1.0), &mut rng).is_err());
                    let d = Dense::<$t>::new(2, 2, &init, &mut rng).unwrap();
                    assert!(
                        d.with_bias_init(&Init::uniform(1.0, 0.0), &mut rng)
                            .is_err()
                    );
                    let w = t(&[1.0; 6], &[2, 3]);
                    let err = Dense::from_weights(w.clone(), Some(t(&[0.0; 3], &[3]))).unwrap_err();
                    assert!(
                        err.to_string()
                            .starts_with("Dense::from_weights: left is 2×3, right is 3"),
                        "{err}"
                    );
                    assert!(Dense::from_weights(w.clone(), Some(t(&[0.0; 2], &[1, 2]))).is_err());
                    assert!(Dense::from_weights(t(&[1.0; 6], &[6]), None).is_err());
                    assert!(Dense::from_weights(t(&[], &[0, 3]), None).is_err());
                    assert!(Dense::from_weights(t(&[], &[2, 0]), None).is_err());
                    assert!(Dense::from_weights(w, None).unwrap().bias().is_none());
                }

                #[test]
                fn initializers_get_the_weight_fans() {
                    let mut rng = StdRng::seed_from_u64(1);
                    let rec = RecordFans::default();
                    let d = Dense::<$t>::new(5, 3, &rec, &mut rng).unwrap();
                    assert_eq!(
                        rec.0.get(),
                        Some(Fans {
                            fan_in: 5,
                            fan_out: 3
                        })
                    );
                    assert!(d.weight().as_slice().iter().all(|&w| w == 0.25));
                    // Bias starts at zero (Keras' convention).
                    assert!(d.bias().unwrap().as_slice().iter().all(|&b| b == 0.0));
                    rec.0.set(None);
                    let d = d.without_bias().with_bias_init(&rec, &mut rng).unwrap();
                    // The bias sees the weight's fans, as PyTorch bounds it by 1/√fan_in.
                    assert_eq!(
                        rec.0.get(),
                        Some(Fans {
                            fan_in: 5,
                            fan_out: 3
                        })
                    );
                    assert_eq!(d.params()[1].name, "bias");
                    assert_eq!(d.bias().unwrap().as_slice(), &[0.25; 3]);
                }

                #[test]
                fn torch_default_bounds_and_determinism() {
                    let build = |seed| {
                        let mut rng = StdRng::seed_from_u64(seed);
                        Dense::<$t>::new(16, 8, &Init::torch_default(), &mut rng)
                            .and_then(|d| d.with_bias_init(&Init::torch_default(), &mut rng))
                            .unwrap()
                    };
                    let d = build(3);
                    // nn.Linear(16, 8): weight and bias in U(±1/√16) = U(±0.25).
                    assert!(d.weight().max_abs() <= 0.25);
                    assert!(d.bias().unwrap().max_abs() <= 0.25);
                    assert!(d.bias().unwrap().max_abs() > 0.0);
                    assert_eq!(d, build(3));
                    assert_ne!(d.weight(), build(4).weight());
                }

                #[test]
                fn buffers_are_reused() {
                    let mut d = layer();
                    let x = t(&[0.5, -1.0, 2.0, 1.0, 0.0, -0.5], &[2, 3]);
                    let dy = t(&[1.0, -1.0, 0.5, 2.0], &[2, 2]);
                    let y0 = d.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let dx0 = d.backward(&dy).unwrap().as_slice().as_ptr();
                    let x0 = d.input.as_slice().as_ptr();
                    let y1 = d.forward(&x, Mode::Train).unwrap().as_slice().as_ptr();
                    let dx1 = d.backward(&dy).unwrap().as_slice().as_ptr();
                    assert_eq!((y0, dx0, x0), (y1, dx1, d.input.as_slice().as_ptr()));
                }
            }
        };
    }

    dense_tests!(f32_tests, f32);
    dense_tests!(f64_tests, f64);

    fn random_layer(seed: u64, bias: bool) -> Dense<f64> {
        let mut rng = StdRng::seed_from_u64(seed);
        let d = Dense::new(4, 3, &Init::xavier_normal(), &mut rng).unwrap();
        if bias {
            d.with_bias_init(&Init::torch_default(), &mut rng).unwrap()
        } else {
            d.without_bias()
        }
    }

    #[test]
    fn gradcheck_with_and_without_bias() {
        let x = Tensor::from_rows(&[
            [0.3, -1.2, 0.8, 2.0],
            [-0.7, 0.1, 1.5, -0.4],
            [1.1, 0.9, -2.2, 0.6],
        ])
        .unwrap();
        for bias in [true, false] {
            let mut d = random_layer(7, bias);
            let r = gradcheck::layer(&mut d, &x).unwrap();
            assert!(r.max_rel_error < 1e-6, "{r}");
            // 12 input derivatives, 12 weights, 3 biases.
            assert_eq!(r.checked, if bias { 27 } else { 24 });
            let eval = GradCheck {
                mode: Mode::Eval,
                ..GradCheck::default()
            };
            assert!(eval.layer(&mut d, &x).unwrap().max_rel_error < 1e-6);
        }
    }

    #[test]
    fn loads_a_pytorch_linear_state_dict_layout() {
        // torch.nn.Linear(2, 3).weight has shape [3, 2]: out_features × in_features.
        let w = Tensor::from_rows(&[[1.0f64, 0.0], [0.0, 1.0], [1.0, 1.0]]).unwrap();
        let mut d = Dense::from_weights(w, None).unwrap();
        assert_eq!((d.inputs(), d.units()), (2, 3));
        let x = Tensor::from_rows(&[[2.0, 5.0]]).unwrap();
        // Unit i = row i of W dotted with x: [2, 5, 7].
        assert_eq!(
            d.forward(&x, Mode::Eval).unwrap().as_slice(),
            &[2.0, 5.0, 7.0]
        );
    }
}
