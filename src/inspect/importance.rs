//! Which inputs do the weights listen to? Two readings straight from the
//! weight matrices, no data needed.
//!
//! - [`first_layer_norms`]: for the first dense layer, weight `W` of shape
//!   `[units, inputs]`, input `j` gets `‖W[:, j]‖₂ = √(Σᵢ W[i, j]²)`, the
//!   norm of the weights leaving it. An input whose column is near zero is
//!   ignored by the whole network (what L1 regularization does to useless
//!   inputs).
//! - [`weight_path_importance`]: the total weight of all paths from input `j`
//!   to any output, `s = 1ᵀ·│W_L│·…·│W_1│`, normalised to sum 1 (Olden and
//!   Jackson's connection-weight idea with absolute values, so paths cannot
//!   cancel). Biases are ignored, activation layers are skipped, and every
//!   other non-dense layer (batch norm, dropout, softmax) counts as the
//!   identity: it keeps each feature in its own column.
//!
//! Both return one number per input, to be drawn with
//! [`importance_image`](crate::svg::importance_image) when the inputs are pixels.

use crate::{Error, Network, Result, Scalar, Tensor};

/// The weight matrix of every layer that declares one
/// ([`Layer::weight_matrix`](crate::Layer::weight_matrix)), in order, with its index.
pub(crate) fn dense_weights<T: Scalar>(net: &Network<T>) -> Vec<(usize, &Tensor<T>)> {
    net.layers()
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.weight_matrix().map(|p| (i, &p.value)))
        .filter(|(_, w)| w.ndim() == 2)
        .collect()
}

fn no_dense(op: &'static str) -> Error {
    Error::invalid_state(
        op,
        "the network has no layer with a weight matrix (a Dense layer, or one declaring Layer::weight_matrix)",
    )
}

/// The L2 norm of each input's column in the first dense layer's weight,
/// `nᵢ = ‖W[:, j]‖₂`: a vector of length `inputs`.
///
/// ```
/// use weightwise::{Network, Tensor, layer::dense::Dense, inspect};
/// # fn main() -> weightwise::Result<()> {
/// let mut net = Network::<f64>::new(3)?;
/// // Input 0 feeds both units with 3 and 4; input 2 is ignored.
/// let w = Tensor::from_rows(&[[3.0, 1.0, 0.0], [4.0, 0.0, 0.0]])?;
/// net.push(Box::new(Dense::from_weights(w, None)?))?;
/// assert_eq!(inspect::first_layer_norms(&net)?, vec![5.0, 1.0, 0.0]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidState`] if the network has no dense layer.
pub fn first_layer_norms<T: Scalar>(net: &Network<T>) -> Result<Vec<f64>> {
    let (_, w) = *dense_weights(net)
        .first()
        .ok_or_else(|| no_dense("first_layer_norms"))?;
    let (_, inputs) = w.dims2("first_layer_norms")?;
    let mut sq = vec![0.0f64; inputs];
    for row in w.as_slice().chunks(inputs) {
        for (s, v) in sq.iter_mut().zip(row) {
            *s += v.as_f64() * v.as_f64();
        }
    }
    Ok(sq.into_iter().map(f64::sqrt).collect())
}

/// The share of all absolute weight paths that start at each input,
/// `s = 1ᵀ·│W_L│·…·│W_1│ / Σ(1ᵀ·│W_L│·…·│W_1│)`, over the dense layers in
/// order; see the [module docs](self). The result has length `inputs` and
/// sums to 1.
///
/// ```
/// use weightwise::{Activation, Network, Tensor, layer::dense::Dense, inspect};
/// # fn main() -> weightwise::Result<()> {
/// let mut net = Network::<f64>::new(2)?;
/// net.push(Box::new(Dense::from_weights(Tensor::from_rows(&[[1.0, -1.0], [2.0, 0.0]])?, None)?))?;
/// net.push(Box::new(Activation::relu()))?;
/// net.push(Box::new(Dense::from_weights(Tensor::from_rows(&[[1.0, 1.0]])?, None)?))?;
/// // 1ᵀ·|W₂| = [1, 1]; [1, 1]·|W₁| = [3, 1]; normalised: [0.75, 0.25].
/// assert_eq!(inspect::weight_path_importance(&net)?, vec![0.75, 0.25]);
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`Error::InvalidState`] if the network has no dense layer, if a layer
/// other than a dense one changes the width (it cannot count as the
/// identity), or if every path has zero weight; [`Error::NonFinite`] if a
/// weight is NaN or infinite.
pub fn weight_path_importance<T: Scalar>(net: &Network<T>) -> Result<Vec<f64>> {
    const OP: &str = "weight_path_importance";
    let dense = dense_weights(net);
    if dense.is_empty() {
        return Err(no_dense(OP));
    }
    let mut shape = vec![1, net.inputs()];
    for (i, l) in net.layers().iter().enumerate() {
        let next = l.output_shape(&shape)?;
        let linear = l.weight_matrix().is_some_and(|p| p.value.ndim() == 2);
        if !linear && next != shape {
            return Err(Error::invalid_state(
                OP,
                format!(
                    "layer {i} ({}) changes the width from {} to {} and cannot count as the identity",
                    l.kind(),
                    shape[1],
                    next.get(1).copied().unwrap_or(0)
                ),
            ));
        }
        shape = next;
    }
    // Row vector v, from the output back: v ← v·|W|, renormalised at each
    // step (the final normalisation makes the scale irrelevant, and this way
    // deep products cannot overflow).
    let (_, last) = dense[dense.len() - 1];
    let mut v = vec![1.0f64; last.shape()[0]];
    for &(i, w) in dense.iter().rev() {
        let (units, inputs) = w.dims2(OP)?;
        let mut next = vec![0.0f64; inputs];
        for (r, row) in w.as_slice().chunks(inputs).enumerate().take(units) {
            for (n, x) in next.iter_mut().zip(row) {
                *n += v[r] * x.as_f64().abs();
            }
        }
        if next.iter().any(|x| !x.is_finite()) {
            return Err(Error::non_finite(format!("{OP}: weights of layer {i}")));
        }
        let total: f64 = next.iter().sum();
        if total == 0.0 {
            return Err(Error::invalid_state(
                OP,
                format!("every path through layer {i} has zero weight"),
            ));
        }
        v = next.into_iter().map(|x| x / total).collect();
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::dense::Dense;
    use crate::{Activation, BatchNorm, Dropout, Layer, Mode, Param, ParamKind};

    fn dense<T: Scalar>(rows: &[&[f64]]) -> Box<dyn Layer<T>> {
        let w: Tensor<f64> = Tensor::from_rows(rows).unwrap();
        Box::new(Dense::from_weights(w.cast(), Some(Tensor::ones(&[rows.len()]).unwrap())).unwrap())
    }

    /// 3 → Dense [[1, −2, 0], [0, 3, 4]] → tanh → BatchNorm → Dense [[2, −1]] → Dropout.
    fn net<T: Scalar>() -> Network<T> {
        let mut n = Network::new(3).unwrap();
        n.push(dense(&[&[1.0, -2.0, 0.0], &[0.0, 3.0, 4.0]]))
            .unwrap();
        n.push(Box::new(Activation::tanh())).unwrap();
        n.push(Box::new(BatchNorm::new(2).unwrap())).unwrap();
        n.push(dense(&[&[2.0, -1.0]])).unwrap();
        n.push(Box::new(Dropout::new(0.5, 1).unwrap())).unwrap();
        n
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;

                #[test]
                fn first_layer_column_norms_by_hand() {
                    // Columns (1, 0), (−2, 3), (0, 4): norms 1, √13, 4. Biases are ignored.
                    let got = first_layer_norms(&net::<$t>()).unwrap();
                    let want = [1.0, 13f64.sqrt(), 4.0];
                    for (g, w) in got.iter().zip(want) {
                        assert!((g - w).abs() < 1e-6, "{got:?}");
                    }
                    assert_eq!(got.len(), 3);
                }

                #[test]
                fn path_importance_by_hand() {
                    // 1ᵀ·|W₃| = [2, 1]; [2, 1]·|W₀| = [2·1 + 1·0, 2·2 + 1·3, 2·0 + 1·4]
                    // = [2, 7, 4], sum 13 → [2/13, 7/13, 4/13]. tanh, batch norm and
                    // dropout in between do not change it.
                    let got = weight_path_importance(&net::<$t>()).unwrap();
                    let want = [2.0 / 13.0, 7.0 / 13.0, 4.0 / 13.0];
                    for (g, w) in got.iter().zip(want) {
                        assert!((g - w).abs() < 1e-12, "{got:?}");
                    }
                    assert!((got.iter().sum::<f64>() - 1.0).abs() < 1e-12);
                }
            }
        };
    }
    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);

    #[test]
    fn single_layer_and_deep_products_stay_finite() {
        // One layer: 1ᵀ·|W| = column sums of |W| = [1, 5, 4] / 10.
        let mut n = Network::<f64>::new(3).unwrap();
        n.push(dense(&[&[1.0, -2.0, 0.0], &[0.0, 3.0, 4.0]]))
            .unwrap();
        assert_eq!(weight_path_importance(&n).unwrap(), vec![0.1, 0.5, 0.4]);
        // 60 layers of 1e10·I: the raw product would be 1e600; renormalised it is [½, ½].
        let mut deep = Network::<f64>::new(2).unwrap();
        for _ in 0..60 {
            deep.push(dense(&[&[1e10, 0.0], &[0.0, 1e10]])).unwrap();
        }
        assert_eq!(weight_path_importance(&deep).unwrap(), vec![0.5, 0.5]);
    }

    /// A layer of our own that halves the width, to test the identity rule.
    #[derive(Clone, Debug)]
    struct Halve(Tensor<f64>, Param<f64>);
    impl Layer<f64> for Halve {
        fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> Result<()> {
            out.assign(&self.0);
            let _ = x;
            Ok(())
        }
        fn kind(&self) -> &'static str {
            "Halve"
        }
        fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
            Ok(vec![input[0], input[1] / 2])
        }
        fn forward(&mut self, _x: &Tensor<f64>, _mode: Mode) -> Result<&Tensor<f64>> {
            Ok(&self.0)
        }
        fn backward(&mut self, dy: &Tensor<f64>) -> Result<&Tensor<f64>> {
            let _ = dy;
            Ok(&self.0)
        }
        fn visit_params<'a>(&'a self, f: &mut dyn FnMut(&'a Param<f64>)) {
            f(&self.1);
        }
    }

    #[test]
    fn errors() {
        // No dense layer at all (a custom layer with a "weight" is not one).
        let mut n = Network::<f64>::new(2).unwrap();
        n.push(Box::new(Activation::relu())).unwrap();
        let e = first_layer_norms(&n).unwrap_err();
        assert_eq!(
            e.to_string(),
            "first_layer_norms: the network has no layer with a weight matrix (a Dense layer, or one declaring Layer::weight_matrix)"
        );
        let w = Param::new("weight", ParamKind::Weight, Tensor::ones(&[2, 2]).unwrap());
        n.push(Box::new(Halve(Tensor::default(), w.clone())))
            .unwrap();
        assert!(first_layer_norms(&n).is_err());
        assert_eq!(
            weight_path_importance(&n).unwrap_err().to_string(),
            "weight_path_importance: the network has no layer with a weight matrix (a Dense layer, or one declaring Layer::weight_matrix)"
        );
        // A width-changing custom layer cannot be the identity.
        let mut n = Network::<f64>::new(4).unwrap();
        n.push(Box::new(Halve(Tensor::default(), w))).unwrap();
        n.push(dense(&[&[1.0, 1.0]])).unwrap();
        let e = weight_path_importance(&n).unwrap_err();
        assert!(
            e.to_string()
                .contains("layer 0 (Halve) changes the width from 4 to 2"),
            "{e}"
        );
        // All-zero weights: no path carries anything.
        let mut n = Network::<f64>::new(2).unwrap();
        n.push(dense(&[&[0.0, 0.0]])).unwrap();
        let e = weight_path_importance(&n).unwrap_err();
        assert!(matches!(e, Error::InvalidState { .. }), "{e}");
        assert!(e.to_string().contains("zero weight"));
        // A NaN weight.
        let mut n = Network::<f64>::new(2).unwrap();
        n.push(dense(&[&[f64::NAN, 1.0]])).unwrap();
        assert!(matches!(
            weight_path_importance(&n).unwrap_err(),
            Error::NonFinite { .. }
        ));
    }
}
