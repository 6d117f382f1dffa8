//! A network as a building block another program holds: cloned, shared
//! between threads through `&self`, and shaped for images.

mod common;

use std::sync::Arc;

use common::bits;
use weightwise::layer::{Layer, LayerConfig, Mode};
use weightwise::prelude::*;
use weightwise::rand::{SeedableRng, rngs::StdRng};

fn assert_shareable<X: Clone + Send + Sync + 'static>() {}

#[test]
fn networks_layers_and_workspaces_are_clone_send_sync() {
    assert_shareable::<Network<f32>>();
    assert_shareable::<Network<f64>>();
    assert_shareable::<Box<dyn Layer<f64>>>();
    assert_shareable::<Dense<f32>>();
    assert_shareable::<BatchNorm<f32>>();
    assert_shareable::<Dropout<f32>>();
    assert_shareable::<Activation<f32>>();
    assert_shareable::<Softmax<f32>>();
    assert_shareable::<Workspace<f64>>();
}

/// The digits MLP with batch norm and dropout, trained for one epoch.
fn trained_mlp() -> (Network<f64>, Dataset<f64>, Dataset<f64>) {
    let (train, test) = datasets::digits::<f64>().unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = Network::<f64>::builder(64)
        .dense(32, Init::he_normal())
        .batch_norm()
        .relu()
        .dropout(0.2)
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    net.fit(
        &train,
        &mut Fit {
            epochs: 1,
            ..Default::default()
        },
        &mut rng,
    )
    .unwrap();
    (net, train, test)
}

#[test]
fn a_clone_is_deep_and_independent() {
    let (mut net, train, _) = trained_mlp();
    let before = bits(&net);
    let mut copy = net.clone();
    assert_eq!(bits(&copy), before);
    let one_epoch = |n: &mut Network<f64>| {
        let mut fit = Fit {
            epochs: 1,
            ..Default::default()
        };
        n.fit(&train, &mut fit, &mut StdRng::seed_from_u64(9))
            .unwrap()
    };
    let copy_history = one_epoch(&mut copy);
    assert_eq!(
        bits(&net),
        before,
        "training the clone changed the original"
    );
    assert_ne!(bits(&copy), before, "the clone did not train");
    // The clone carries everything, the dropout streams included: the same
    // epoch on the original retraces the clone's run bit for bit.
    let history = one_epoch(&mut net);
    assert_eq!(bits(&net), bits(&copy));
    assert_eq!(
        history.last().unwrap().train_loss.to_bits(),
        copy_history.last().unwrap().train_loss.to_bits()
    );
}

#[test]
fn predict_through_self_is_bitwise_the_eval_forward() {
    let (mut net, _, test) = trained_mlp();
    let x = test.features();
    let want = net.forward(x, Mode::Eval).unwrap().clone();
    assert_eq!(net.predict(x).unwrap(), want);
    assert_eq!(net.predict_batched(x).unwrap(), want);
    let mut ws = Workspace::new();
    for _ in 0..2 {
        assert_eq!(net.predict_with(x, &mut ws).unwrap(), &want);
    }
}

#[test]
fn four_threads_serve_one_network_with_the_single_threaded_results() {
    let (net, _, test) = trained_mlp();
    let net = Arc::new(net);
    // 1,000 requests of 1 to 8 rows each.
    let requests: Vec<Tensor<f64>> = (0..1000)
        .map(|i| {
            let start = (i * 7) % (test.len() - 8);
            test.features().rows(start..start + 1 + i % 8).unwrap()
        })
        .collect();
    let expected: Vec<Tensor<f64>> = requests.iter().map(|x| net.predict(x).unwrap()).collect();
    let requests = Arc::new(requests);
    let workers: Vec<_> = (0..4)
        .map(|t| {
            let (net, requests) = (Arc::clone(&net), Arc::clone(&requests));
            std::thread::spawn(move || {
                let mut ws = Workspace::new();
                // Each thread walks the requests from a different start.
                (0..requests.len())
                    .map(|k| {
                        let i = (k + t * 250) % requests.len();
                        (i, net.predict_with(&requests[i], &mut ws).unwrap().clone())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for w in workers {
        let results = w.join().unwrap();
        assert_eq!(results.len(), 1000);
        for (i, y) in results {
            assert_eq!(y, expected[i], "request {i}");
        }
    }
}

/// A user layer: flattens `[n, d1, d2, …]` to `[n, d1·d2·…]`. Deriving
/// `Clone` is all it takes to be clonable inside a network.
#[derive(Clone, Debug, Default)]
struct Flatten {
    out: Tensor<f64>,
    grad: Tensor<f64>,
    input_shape: Vec<usize>,
}

impl Layer<f64> for Flatten {
    fn kind(&self) -> &'static str {
        "Flatten"
    }
    fn output_shape(&self, input: &[usize]) -> weightwise::Result<Vec<usize>> {
        Ok(vec![input[0], input[1..].iter().product()])
    }
    fn infer(&self, x: &Tensor<f64>, out: &mut Tensor<f64>) -> weightwise::Result<()> {
        out.resize_zeroed(&self.output_shape(x.shape())?)?;
        out.as_mut_slice().copy_from_slice(x.as_slice());
        Ok(())
    }
    fn config(&self) -> Option<LayerConfig> {
        Some(LayerConfig::new("Flatten"))
    }
    fn forward(&mut self, x: &Tensor<f64>, _: Mode) -> weightwise::Result<&Tensor<f64>> {
        self.input_shape = x.shape().to_vec();
        let mut out = std::mem::take(&mut self.out);
        self.infer(x, &mut out)?;
        self.out = out;
        Ok(&self.out)
    }
    fn backward(&mut self, dy: &Tensor<f64>) -> weightwise::Result<&Tensor<f64>> {
        self.grad.resize_zeroed(&self.input_shape)?;
        self.grad.as_mut_slice().copy_from_slice(dy.as_slice());
        Ok(&self.grad)
    }
}

#[test]
fn a_network_takes_samples_of_any_shape() {
    let mut net = Network::<f64>::builder_shape(&[1, 2, 3])
        .layer(Box::new(Flatten::default()))
        .dense(4, Init::he_normal())
        .relu()
        .dense(2, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(1))
        .unwrap();
    assert_eq!(net.input_shape(), &[1, 2, 3]);
    assert_eq!(net.inputs(), 6);
    assert_eq!(net.output_shape(), vec![2]);
    let summary = net.to_string();
    assert!(summary.contains("(batch, 1, 2, 3)"), "{summary}");
    assert!(summary.contains("(batch, 6)"), "{summary}");

    let x = Tensor::from_vec(
        (0..18).map(|i| i as f64 / 9.0 - 1.0).collect(),
        &[3, 1, 2, 3],
    )
    .unwrap();
    let y = net.forward(&x, Mode::Eval).unwrap().clone();
    assert_eq!(y.shape(), &[3, 2]);
    assert_eq!(net.clone().predict(&x).unwrap(), y);
    // A batch of rows is not a batch of [1, 2, 3] samples.
    let rows = Tensor::zeros(&[3, 6]).unwrap();
    let e = net.predict(&rows).unwrap_err().to_string();
    assert!(e.contains("3×6") && e.contains("1×2×3"), "{e}");
    assert!(net.forward(&rows, Mode::Eval).is_err());
    // Without the flatten, a dense layer cannot take images: the build says so.
    let e = Network::<f64>::builder_shape(&[1, 2, 3])
        .dense(4, Init::he_normal())
        .build(&mut StdRng::seed_from_u64(1))
        .unwrap_err();
    assert!(e.to_string().contains("Dense"), "{e}");
    for bad in [&[][..], &[0], &[2, 0]] {
        assert!(Network::<f64>::with_input_shape(bad).is_err(), "{bad:?}");
    }
    assert!(Network::<f64>::with_input_shape(&[usize::MAX, 2]).is_err());
}
