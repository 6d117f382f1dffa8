//! Weight constraints: projections applied to a layer's weights after each update (Keras semantics).
//!
//! A constraint does not change the loss; after the optimizer's step (and any
//! proximal step of a [`Regularization`](crate::regularize::Regularization))
//! it maps the weights back into an allowed set. Norm constraints work on
//! **units**: with the dense weight layout `[units, inputs]` (PyTorch's
//! `[out, in]`), a unit's incoming weight vector is a **row**.
//!
//! ```text
//! MaxNorm(c):  wᵢ ← wᵢ · min(‖wᵢ‖, c) / (ε + ‖wᵢ‖)     for each row i
//! UnitNorm:    wᵢ ← wᵢ / (ε + ‖wᵢ‖)                   for each row i
//! NonNeg:      w  ← max(w, 0)                          element-wise
//! ```
//!
//! with `ε = 1e-7` (Keras' `backend.epsilon()`), in both `f32` and `f64`.
//!
//! - [`Constraint::MaxNorm`]`(c)` is Keras' `max_norm(c, axis=0)` applied to
//!   Keras' `[inputs, units]` kernel (its `axis=0` sums over the inputs, i.e.
//!   our rows). Keras' formula is followed exactly, which means a row already
//!   inside the ball is still multiplied by `‖wᵢ‖/(ε + ‖wᵢ‖)`, i.e. shrunk by a
//!   relative `≈ ε/‖wᵢ‖` (negligible unless the row is tiny). PyTorch has no
//!   constraint API; its `torch.renorm(w, p=2, dim=0, maxnorm=c)` (and
//!   `nn.Embedding(max_norm=c)`) uses the same factor `c/(ε + ‖wᵢ‖)` for rows
//!   with `‖wᵢ‖ > c` but leaves the other rows exactly unchanged.
//! - [`Constraint::UnitNorm`] is Keras' `unit_norm(axis=0)`; a zero row stays zero.
//! - [`Constraint::NonNeg`] is Keras' `non_neg()`; it works on any shape. NaN is kept.
//!
//! A [`Constraints`] plan says which layer gets which constraint and applies
//! them to those layers' [`ParamKind::Weight`] parameters through the same
//! visitor as the network's `visit_params_mut`, allocating nothing.
//!
//! ```
//! use weightwise::prelude::*;
//! use weightwise::constraint::{Constraint, Constraints};
//! # fn main() -> weightwise::Result<()> {
//! let mut params = vec![
//!     (0, Param::new("weight", ParamKind::Weight, Tensor::from_rows(&[[3.0f64, 4.0], [0.3, 0.4]])?)),
//!     (0, Param::new("bias", ParamKind::Bias, Tensor::from_slice(&[-9.0, 9.0]))),
//!     (1, Param::new("weight", ParamKind::Weight, Tensor::from_rows(&[[-1.0f64, 2.0]])?)),
//! ];
//! let plan = Constraints::new()
//!     .layer(0, Constraint::max_norm(1.0)?)
//!     .layer(1, Constraint::NonNeg);
//! plan.apply(|f| params.iter_mut().for_each(|(l, p)| f(*l, p)))?;
//! // Row 0 had norm 5 > 1: scaled by 1/(5 + 1e-7) to norm ≈ 1; row 1 (norm 0.5) is kept (up to ε).
//! let w0 = &params[0].1.value;
//! assert!((w0[[0, 0]] - 0.6).abs() < 1e-7 && (w0[[1, 1]] - 0.4).abs() < 1e-6);
//! assert_eq!(params[1].1.value.as_slice(), &[-9.0, 9.0]); // biases are not constrained
//! assert_eq!(params[2].1.value.as_slice(), &[0.0, 2.0]);
//! # Ok(()) }
//! ```

use crate::scalar::{Rule, checked_hyper};
use crate::{Error, Param, ParamKind, Result, Scalar, Tensor};

/// Keras' `backend.epsilon()`, used in the norm constraints' denominators.
pub const EPSILON: f64 = 1e-7;

/// A projection applied to a weight tensor after each update; see the [module docs](self).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Constraint {
    /// Each row (a unit's incoming weights) rescaled to norm ≤ `c`: Keras'
    /// `max_norm(c, axis=0)`. Build it with [`Constraint::max_norm`], which checks `c`.
    MaxNorm(f64),
    /// Each row divided by `ε + ‖row‖`: Keras' `unit_norm(axis=0)`.
    UnitNorm,
    /// Negative elements set to zero: Keras' `non_neg()`.
    NonNeg,
}

impl Constraint {
    /// [`Constraint::MaxNorm`] with a checked bound.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `c` is not finite or `c ≤ 0`.
    pub fn max_norm(c: f64) -> Result<Self> {
        check_max_norm::<f64>(c)?;
        Ok(Constraint::MaxNorm(c))
    }

    /// A short name for messages: `"MaxNorm"`, `"UnitNorm"`, `"NonNeg"`.
    pub fn name(&self) -> &'static str {
        match self {
            Constraint::MaxNorm(_) => "MaxNorm",
            Constraint::UnitNorm => "UnitNorm",
            Constraint::NonNeg => "NonNeg",
        }
    }

    /// Whether the constraint works on rows (and so needs a 2-D weight).
    fn needs_rows(&self) -> bool {
        !matches!(self, Constraint::NonNeg)
    }

    /// Projects `w` in place.
    ///
    /// # Errors
    /// [`Error::InvalidShape`] if a norm constraint is given a weight that is
    /// not 2-D `[units, inputs]`; [`Error::InvalidArgument`] for a `MaxNorm`
    /// bound that is not finite or ≤ 0 (possible when the variant is built
    /// directly). `w` is unchanged on error.
    pub fn apply<T: Scalar>(&self, w: &mut Tensor<T>) -> Result<()> {
        if self.needs_rows() && w.ndim() != 2 {
            return Err(Error::invalid_shape(
                self.op(),
                w.shape(),
                "needs a 2-D weight [units, inputs], one unit per row",
            ));
        }
        self.apply_checked(w)
    }

    fn op(&self) -> &'static str {
        match self {
            Constraint::MaxNorm(_) => "Constraint::MaxNorm",
            Constraint::UnitNorm => "Constraint::UnitNorm",
            Constraint::NonNeg => "Constraint::NonNeg",
        }
    }

    /// Checks the bound as it is in `T`: a `MaxNorm` bound must be finite
    /// and `> 0` in `f64` and after rounding to `T` (`1e300` is infinite in
    /// `f32`). The variant can be built directly, so training checks every
    /// constraint with this before its first update.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the bound.
    pub fn validate_for<T: Scalar>(&self) -> Result<()> {
        match *self {
            Constraint::MaxNorm(c) => check_max_norm::<T>(c).map(|_| ()),
            Constraint::UnitNorm | Constraint::NonNeg => Ok(()),
        }
    }

    /// The projection, once the shape is known to fit.
    fn apply_checked<T: Scalar>(&self, w: &mut Tensor<T>) -> Result<()> {
        let eps = T::from_f64(EPSILON);
        match *self {
            Constraint::MaxNorm(c) => {
                let c = check_max_norm::<T>(c)?;
                for_each_row(w, |row, norm| {
                    // Keras: w · clip(norm, 0, c) / (ε + norm); norm ≥ 0, so clip is min.
                    let desired = if norm > c { c } else { norm };
                    scale(row, desired / (eps + norm));
                });
            }
            Constraint::UnitNorm => for_each_row(w, |row, norm| scale(row, (eps + norm).recip())),
            Constraint::NonNeg => w.map_in_place(|x| if x < T::zero() { T::zero() } else { x }),
        }
        Ok(())
    }
}

fn check_max_norm<T: Scalar>(c: f64) -> Result<T> {
    checked_hyper::<T>("MaxNorm bound", c, Rule::Positive)
}

/// Calls `f(row, ‖row‖₂)` on every row of a 2-D tensor.
fn for_each_row<T: Scalar>(w: &mut Tensor<T>, mut f: impl FnMut(&mut [T], T)) {
    let cols = w.shape().get(1).copied().unwrap_or(0);
    if cols == 0 {
        return;
    }
    for row in w.as_mut_slice().chunks_exact_mut(cols) {
        let norm = row.iter().map(|&x| x * x).sum::<T>().sqrt();
        f(row, norm);
    }
}

fn scale<T: Scalar>(row: &mut [T], s: T) {
    row.iter_mut().for_each(|x| *x *= s);
}

/// Which layer's weights get which constraint.
///
/// A constraint applies to the [`ParamKind::Weight`] parameters of its layer
/// (Keras' `kernel_constraint`); other layers and other kinds are left alone.
/// See the [module docs](self) for an example.
///
/// With the `serde` feature, a stored plan that names a layer twice is an
/// error when read (built with [`Constraints::layer`], a plan holds at most
/// one constraint per layer).
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(try_from = "crate::serde_validated::ConstraintsFields")
)]
pub struct Constraints {
    per_layer: Vec<(usize, Constraint)>,
}

impl Constraints {
    /// An empty plan: nothing is constrained.
    pub fn new() -> Self {
        Self::default()
    }

    /// Constrains layer `index`'s weights with `constraint`, replacing any
    /// constraint given earlier for that layer.
    pub fn layer(mut self, index: usize, constraint: Constraint) -> Self {
        match self.per_layer.iter_mut().find(|(i, _)| *i == index) {
            Some(slot) => slot.1 = constraint,
            None => self.per_layer.push((index, constraint)),
        }
        self
    }

    /// The constraint on layer `index`, if any.
    pub fn get(&self, index: usize) -> Option<&Constraint> {
        self.per_layer
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, c)| c)
    }

    /// Checks every constraint's bound in `T` ([`Constraint::validate_for`]);
    /// training calls it before its first update.
    ///
    /// # Errors
    /// The first invalid bound, with its layer named.
    pub fn validate_for<T: Scalar>(&self) -> Result<()> {
        for (layer, c) in &self.per_layer {
            c.validate_for::<T>().map_err(|e| match e {
                Error::InvalidArgument { value, reason, .. } => Error::InvalidArgument {
                    name: "MaxNorm bound",
                    value,
                    reason: format!("{reason} (the constraint on layer {layer})"),
                },
                e => e,
            })?;
        }
        Ok(())
    }

    /// True when no layer is constrained.
    pub fn is_empty(&self) -> bool {
        self.per_layer.is_empty()
    }

    /// Applies layer `layer`'s constraint to `param` if it is a weight.
    ///
    /// # Errors
    /// As for [`Constraint::apply`], with the layer and parameter named.
    pub fn apply_to<T: Scalar>(&self, layer: usize, param: &mut Param<T>) -> Result<()> {
        let Some(c) = self.get(layer) else {
            return Ok(());
        };
        if param.kind != ParamKind::Weight {
            return Ok(());
        }
        if c.needs_rows() && param.value.ndim() != 2 {
            return Err(Error::invalid_shape(
                c.op(),
                param.value.shape(),
                format!(
                    "layer {layer}'s {} needs a 2-D weight [units, inputs], one unit per row",
                    param.name
                ),
            ));
        }
        c.apply_checked(&mut param.value)
    }

    /// Applies every layer's constraint to the parameters `visit` shows, each
    /// with its layer index: `constraints.apply(|f| net.visit_params_mut(f))?`,
    /// after the optimizer's step.
    ///
    /// # Errors
    /// The first error of [`Constraints::apply_to`]; the other parameters are still visited.
    pub fn apply<'a, T: Scalar>(
        &self,
        visit: impl FnOnce(&mut dyn FnMut(usize, &'a mut Param<T>)),
    ) -> Result<()> {
        let mut first = Ok(());
        visit(&mut |layer, p| {
            let r = self.apply_to(layer, p);
            if first.is_ok() {
                first = r;
            }
        });
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_norm_bound_is_checked() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                Constraint::max_norm(bad),
                Err(Error::InvalidArgument { .. })
            ));
        }
        assert_eq!(
            Constraint::max_norm(-2.0).unwrap_err().to_string(),
            "invalid MaxNorm bound = -2: must be finite and > 0"
        );
        // Built directly, the variant is checked when applied, leaving w unchanged.
        let mut w = Tensor::from_rows(&[[3.0f64, 4.0]]).unwrap();
        assert!(Constraint::MaxNorm(0.0).apply(&mut w).is_err());
        assert_eq!(w.as_slice(), &[3.0, 4.0]);
        assert_eq!(Constraint::max_norm(2.0).unwrap(), Constraint::MaxNorm(2.0));
        assert_eq!(Constraint::UnitNorm.name(), "UnitNorm");
    }

    #[test]
    fn max_norm_in_f64_follows_keras_exactly() {
        let mut w = Tensor::from_rows(&[[0.3f64, 0.4]]).unwrap();
        Constraint::max_norm(2.0).unwrap().apply(&mut w).unwrap();
        // norm 0.5 ≤ 2: factor 0.5/(1e-7 + 0.5) < 1, as Keras computes it.
        let f = 0.5 / (1e-7 + 0.5);
        assert_eq!(w.as_slice(), &[0.3 * f, 0.4 * f]);
        assert!(w.as_slice()[0] < 0.3);
    }

    /// The network's visitor signature, to show the plan plugs into it.
    struct Net(Vec<Param<f32>>);

    impl Net {
        fn visit_params_mut<'a>(&'a mut self, f: &mut dyn FnMut(usize, &'a mut Param<f32>)) {
            for (i, p) in self.0.iter_mut().enumerate() {
                f(i, p);
            }
        }
    }

    #[test]
    fn plan_plugs_into_a_network_visitor() {
        let w = |v: &[f32]| {
            Param::new(
                "weight",
                ParamKind::Weight,
                Tensor::from_vec(v.to_vec(), &[1, 2]).unwrap(),
            )
        };
        let mut net = Net(vec![w(&[-1.0, 1.0]), w(&[6.0, 8.0])]);
        let plan = Constraints::new()
            .layer(0, Constraint::NonNeg)
            .layer(1, Constraint::max_norm(5.0).unwrap());
        plan.apply(|f| net.visit_params_mut(f)).unwrap();
        assert_eq!(net.0[0].value.as_slice(), &[0.0, 1.0]);
        // norm 10 > 5: factor 5/(10 + 1e-7), which is 0.5 in f32.
        assert_eq!(net.0[1].value.as_slice(), &[3.0, 4.0]);
    }

    macro_rules! typed_tests {
        ($name:ident, $t:ty) => {
            mod $name {
                use super::*;
                type T = $t;

                fn close(a: &[T], b: &[f64]) -> bool {
                    a.len() == b.len()
                        && a.iter()
                            .zip(b)
                            .all(|(&x, &y)| (f64::from(x) - y).abs() <= 1e-6 * y.abs().max(1e-3))
                }

                fn rows3() -> Tensor<T> {
                    // Row norms: 5, 0.5, 0.
                    Tensor::from_rows(&[[3.0, -4.0], [0.3, 0.4], [0.0, 0.0]]).unwrap()
                }

                #[test]
                fn max_norm_by_hand() {
                    let mut w = rows3();
                    Constraint::max_norm(1.0).unwrap().apply(&mut w).unwrap();
                    // Row 0: factor 1/(5 + 1e-7); row 1: 0.5/(0.5 + 1e-7); row 2: 0·(0/1e-7) = 0.
                    let f0 = 1.0 / (5.0 + 1e-7);
                    let f1 = 0.5 / (0.5 + 1e-7);
                    assert!(close(
                        w.as_slice(),
                        &[3.0 * f0, -4.0 * f0, 0.3 * f1, 0.4 * f1, 0.0, 0.0]
                    ));
                    let n0 = w.row(0).unwrap().iter().map(|x| x * x).sum::<T>().sqrt();
                    assert!(n0 <= 1.0 + 1e-6, "{n0}");
                    // With a bound above every norm, rows only see Keras' ε shrink.
                    let mut w = rows3();
                    Constraint::max_norm(10.0).unwrap().apply(&mut w).unwrap();
                    let f0 = 5.0 / (5.0 + 1e-7);
                    assert!(close(&w.as_slice()[..2], &[3.0 * f0, -4.0 * f0]));
                }

                #[test]
                fn unit_norm_by_hand() {
                    let mut w = rows3();
                    Constraint::UnitNorm.apply(&mut w).unwrap();
                    // Rows divided by ε + norm: [0.6, −0.8], [0.6, 0.8] (up to ε), zero row stays zero.
                    let (f0, f1) = (1.0 / (5.0 + 1e-7), 1.0 / (0.5 + 1e-7));
                    assert!(close(
                        w.as_slice(),
                        &[3.0 * f0, -4.0 * f0, 0.3 * f1, 0.4 * f1, 0.0, 0.0]
                    ));
                }

                #[test]
                fn non_neg_by_hand_on_any_shape() {
                    let mut w = Tensor::<T>::from_slice(&[-1.0, 0.0, 2.5, -0.0, T::NAN]);
                    Constraint::NonNeg.apply(&mut w).unwrap();
                    assert_eq!(&w.as_slice()[..4], &[0.0, 0.0, 2.5, 0.0]);
                    assert!(w.as_slice()[4].is_nan());
                    let mut w = rows3().reshape(&[3, 2, 1]).unwrap();
                    Constraint::NonNeg.apply(&mut w).unwrap();
                    assert_eq!(w.as_slice(), &[3.0, 0.0, 0.3, 0.4, 0.0, 0.0]);
                }

                #[test]
                fn norm_constraints_need_rows() {
                    for c in [Constraint::MaxNorm(1.0), Constraint::UnitNorm] {
                        let mut v = Tensor::<T>::from_slice(&[3.0, 4.0]);
                        let err = c.apply(&mut v).unwrap_err();
                        assert!(matches!(err, Error::InvalidShape { .. }));
                        assert_eq!(v.as_slice(), &[3.0, 4.0]);
                    }
                    assert_eq!(
                        Constraint::UnitNorm
                            .apply(&mut Tensor::<T>::zeros(&[2, 2, 2]).unwrap())
                            .unwrap_err()
                            .to_string(),
                        "Constraint::UnitNorm: shape 2×2×2 is invalid: \
                         needs a 2-D weight [units, inputs], one unit per row"
                    );
                    // Zero columns: nothing to do.
                    let mut e = Tensor::<T>::zeros(&[3, 0]).unwrap();
                    assert!(Constraint::UnitNorm.apply(&mut e).is_ok());
                }

                fn params() -> Vec<(usize, Param<T>)> {
                    vec![
                        (0, Param::new("weight", ParamKind::Weight, rows3())),
                        (
                            0,
                            Param::new("bias", ParamKind::Bias, Tensor::from_slice(&[-1.0, 5.0])),
                        ),
                        (
                            1,
                            Param::new(
                                "weight",
                                ParamKind::Weight,
                                Tensor::from_rows(&[[-2.0, 1.0]]).unwrap(),
                            ),
                        ),
                        (
                            2,
                            Param::new(
                                "weight",
                                ParamKind::Weight,
                                Tensor::from_rows(&[[-2.0, 1.0]]).unwrap(),
                            ),
                        ),
                    ]
                }

                #[test]
                fn plan_applies_to_weights_of_its_layers() {
                    let plan = Constraints::new()
                        .layer(0, Constraint::NonNeg)
                        .layer(0, Constraint::UnitNorm)
                        .layer(1, Constraint::NonNeg);
                    assert_eq!(plan.get(0), Some(&Constraint::UnitNorm));
                    assert!(plan.get(2).is_none() && !plan.is_empty());
                    let mut ps = params();
                    plan.apply(|f| ps.iter_mut().for_each(|(l, p)| f(*l, p)))
                        .unwrap();
                    let f0 = 1.0 / (5.0 + 1e-7);
                    assert!(close(
                        &ps[0].1.value.as_slice()[..2],
                        &[3.0 * f0, -4.0 * f0]
                    ));
                    assert_eq!(ps[1].1.value.as_slice(), &[-1.0, 5.0]); // bias: untouched
                    assert_eq!(ps[2].1.value.as_slice(), &[0.0, 1.0]);
                    assert_eq!(ps[3].1.value.as_slice(), &[-2.0, 1.0]); // layer 2: no constraint
                    // An empty plan changes nothing.
                    let mut ps = params();
                    Constraints::new()
                        .apply(|f| ps.iter_mut().for_each(|(l, p)| f(*l, p)))
                        .unwrap();
                    assert_eq!(ps, params());
                }

                #[test]
                fn plan_errors_name_the_layer() {
                    let plan = Constraints::new()
                        .layer(0, Constraint::MaxNorm(1.0))
                        .layer(1, Constraint::MaxNorm(-1.0));
                    let mut ps = params();
                    ps[0].1 =
                        Param::new("weight", ParamKind::Weight, Tensor::from_slice(&[3.0, 4.0]));
                    let err = plan
                        .apply(|f| ps.iter_mut().for_each(|(l, p)| f(*l, p)))
                        .unwrap_err();
                    assert_eq!(
                        err.to_string(),
                        "Constraint::MaxNorm: shape 2 is invalid: layer 0's weight \
                         needs a 2-D weight [units, inputs], one unit per row"
                    );
                    let err = plan.apply_to(1, &mut ps[2].1).unwrap_err();
                    assert!(matches!(
                        err,
                        Error::InvalidArgument {
                            name: "MaxNorm bound",
                            ..
                        }
                    ));
                    assert_eq!(ps[2].1.value.as_slice(), &[-2.0, 1.0]);
                }
            }
        };
    }

    typed_tests!(f32_tests, f32);
    typed_tests!(f64_tests, f64);
}
