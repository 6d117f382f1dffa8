//! Inference through `&self`: [`Workspace`], [`Network::predict_with`],
//! [`Network::predict`] and [`Network::predict_batched`].

use crate::{Network, Result, Scalar, Tensor};

/// The buffers one inference call works in, owned by the caller so that a
/// shared `&Network` (or `Arc<Network>`) can serve many threads at once:
/// give each thread its own workspace.
///
/// Two tensors are used in turn (layer `i` reads one and writes the other);
/// once they have grown to the largest intermediate output, a
/// [`Network::predict_with`] call allocates nothing.
///
/// ```
/// use std::sync::Arc;
/// use weightwise::rand::{SeedableRng, rngs::StdRng};
/// use weightwise::prelude::*;
/// # fn main() -> weightwise::Result<()> {
/// let net = Arc::new(
///     Network::<f32>::builder(3)
///         .dense(8, Init::he_normal()).relu().dense(2, Init::xavier_uniform())
///         .build(&mut StdRng::seed_from_u64(0))?,
/// );
/// let x = Tensor::from_rows(&[[1.0, 2.0, 3.0]])?;
/// let expected = net.predict(&x)?;
/// let worker = {
///     let (net, x) = (Arc::clone(&net), x.clone());
///     std::thread::spawn(move || {
///         let mut ws = Workspace::new();
///         net.predict_with(&x, &mut ws).cloned()
///     })
/// };
/// assert_eq!(worker.join().unwrap()?, expected);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Workspace<T> {
    buffers: [Tensor<T>; 2],
}

impl<T: Scalar> Workspace<T> {
    /// An empty workspace; it grows on first use and is then reused.
    pub fn new() -> Self {
        Workspace {
            buffers: [Tensor::default(), Tensor::default()],
        }
    }
}

impl<T: Scalar> Network<T> {
    /// The output for a batch `x` (`[n, input shape…]`) in inference mode
    /// (dropout off, batch norm on its running statistics), computed through
    /// `&self` in the caller's `ws` and returned as a view into it.
    ///
    /// Bitwise equal to [`Network::forward`]`(x, Mode::Eval)`, but the
    /// network is not touched, so any number of threads may call it at once
    /// on one shared network, each with its own [`Workspace`]. Once the
    /// workspace has served a batch of this size, a call allocates nothing.
    /// A network with no layers returns a copy of `x`.
    ///
    /// # Errors
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if
    /// `x.shape()[1..]` is not the input shape; any layer's shape error.
    pub fn predict_with<'w>(
        &self,
        x: &Tensor<T>,
        ws: &'w mut Workspace<T>,
    ) -> Result<&'w Tensor<T>> {
        self.check_input("Network predict", x)?;
        let [a, b] = &mut ws.buffers;
        let Some((first, rest)) = self.layers().split_first() else {
            a.assign(x);
            return Ok(a);
        };
        first.infer(x, a)?;
        let (mut src, mut dst) = (a, b);
        for layer in rest {
            layer.infer(src, dst)?;
            std::mem::swap(&mut src, &mut dst);
        }
        Ok(src)
    }

    /// The output for `x` in inference mode, through `&self`, as a new
    /// tensor: [`Network::predict_with`] with a fresh [`Workspace`]. Use
    /// `predict_with` and keep the workspace to serve without allocating.
    ///
    /// # Errors
    /// As for [`Network::predict_with`].
    pub fn predict(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let mut ws = Workspace::new();
        self.predict_with(x, &mut ws)?;
        let [a, b] = ws.buffers;
        // The result is in whichever buffer the last layer wrote.
        Ok(
            if self.layers().len() % 2 == 1 || self.layers().is_empty() {
                a
            } else {
                b
            },
        )
    }

    /// The outputs for every sample of `x` in inference mode, computed in
    /// batches of 256 samples so memory stays bounded on large inputs.
    ///
    /// # Errors
    /// As for [`Network::predict_with`].
    pub fn predict_batched(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        const BATCH: usize = 256;
        self.check_input("predict_batched", x)?;
        let n = x.shape()[0];
        let sample = self.inputs();
        let mut out_shape = vec![n];
        out_shape.extend(self.output_shape());
        let mut values = Vec::with_capacity(out_shape.iter().product());
        let (mut ws, mut chunk) = (Workspace::new(), Tensor::default());
        for start in (0..n).step_by(BATCH) {
            let rows = (start + BATCH).min(n) - start;
            let mut shape = x.shape().to_vec();
            shape[0] = rows;
            chunk.resize_zeroed(&shape);
            chunk
                .as_mut_slice()
                .copy_from_slice(&x.as_slice()[start * sample..(start + rows) * sample]);
            values.extend_from_slice(self.predict_with(&chunk, &mut ws)?.as_slice());
        }
        Tensor::from_vec(values, &out_shape)
    }
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::StdRng};

    use crate::layer::Mode;
    use crate::network::Workspace;
    use crate::prelude::*;

    fn net(layers: usize) -> Network<f64> {
        let mut b = Network::<f64>::builder(3);
        for i in 0..layers {
            b = if i % 2 == 0 {
                b.dense(4, Init::he_normal())
            } else {
                b.tanh()
            };
        }
        b.build(&mut StdRng::seed_from_u64(1)).unwrap()
    }

    #[test]
    fn predict_equals_eval_forward_for_every_depth() {
        let x = Tensor::from_rows(&[[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]).unwrap();
        for layers in 0..5 {
            let mut n = net(layers);
            let want = n.forward(&x, Mode::Eval).unwrap().clone();
            assert_eq!(n.predict(&x).unwrap(), want, "{layers} layers");
            let mut ws = Workspace::new();
            assert_eq!(n.predict_with(&x, &mut ws).unwrap(), &want);
            assert_eq!(n.predict_batched(&x).unwrap(), want);
        }
    }

    #[test]
    fn predict_rejects_a_wrong_input_shape() {
        let n = net(2);
        let e = n.predict(&Tensor::zeros(&[2, 4]).unwrap()).unwrap_err();
        assert!(e.to_string().contains("Network predict"), "{e}");
        assert!(n.predict(&Tensor::zeros(&[3]).unwrap()).is_err());
        assert!(n.predict_batched(&Tensor::zeros(&[2, 2]).unwrap()).is_err());
    }
}
