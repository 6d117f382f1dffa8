use rand::{SeedableRng, rngs::StdRng};

use super::*;
use crate::io::safetensors::{from_bytes, to_bytes};
use crate::layer::{Layer, Mode};
use crate::prelude::*;

fn small() -> Network<f64> {
    Network::<f64>::builder(3)
        .dense(4, Init::he_normal())
        .batch_norm()
        .leaky_relu(0.2)
        .dropout(0.25)
        .layer(Box::new(Activation::gelu_tanh()))
        .dense_without_bias(2, Init::xavier_uniform())
        .softmax()
        .build(&mut StdRng::seed_from_u64(7))
        .unwrap()
}

/// The file's tensors and metadata, with the architecture JSON edited by `edit`.
fn edited(net: &Network<f64>, edit: impl Fn(&str) -> String) -> Vec<u8> {
    let (tensors, mut meta) = from_bytes::<f64>(&net.to_model_bytes().unwrap()).unwrap();
    let json = edit(&meta[MODEL_KEY]);
    meta.insert(MODEL_KEY.to_string(), json);
    let refs: Vec<(String, &crate::Tensor<f64>)> =
        tensors.iter().map(|(n, t)| (n.clone(), t)).collect();
    to_bytes(&refs, Some(&meta)).unwrap()
}

#[test]
fn the_schema_is_pinned() {
    let (_, meta) = from_bytes::<f64>(&small().to_model_bytes().unwrap()).unwrap();
    assert_eq!(meta["format"], "pt");
    assert_eq!(
        meta[MODEL_KEY],
        concat!(
            r#"{"dtype":"F64","input_shape":[3],"layers":["#,
            r#"{"config":{"bias":true,"in_features":3,"out_features":4},"type":"Linear"},"#,
            r#"{"config":{"eps":0.00001,"momentum":0.1,"num_features":4},"type":"BatchNorm1d"},"#,
            r#"{"config":{"negative_slope":0.2},"type":"LeakyReLU"},"#,
            r#"{"config":{"p":0.25},"type":"Dropout"},"#,
            r#"{"config":{"approximate":"tanh"},"type":"GELU"},"#,
            r#"{"config":{"bias":false,"in_features":4,"out_features":2},"type":"Linear"},"#,
            r#"{"config":{"dim":1},"type":"Softmax"}],"schema":1}"#
        )
    );
}

#[test]
fn a_model_round_trips_bit_for_bit() {
    let mut net = small();
    // Move the running statistics away from their defaults.
    let x =
        crate::Tensor::from_rows(&[[1.0, -2.0, 0.5], [0.3, 0.1, -1.0], [2.0, 2.0, 2.0]]).unwrap();
    net.forward(&x, Mode::Train).unwrap();
    let loaded =
        Network::<f64>::from_model_bytes(&net.to_model_bytes().unwrap(), &LayerRegistry::builtin())
            .unwrap();
    assert_eq!(loaded.named_tensors(), net.named_tensors());
    assert_eq!(loaded.input_shape(), net.input_shape());
    assert_eq!(loaded.predict(&x).unwrap(), net.predict(&x).unwrap());
    assert_eq!(loaded.to_string(), net.to_string());
}

#[test]
fn newer_schemas_unknown_layers_and_other_dtypes_are_clear_errors() {
    let net = small();
    let builtin = LayerRegistry::builtin();
    let load = |bytes: &[u8]| {
        Network::<f64>::from_model_bytes(bytes, &builtin)
            .unwrap_err()
            .to_string()
    };

    let e = load(&edited(&net, |j| j.replace("\"schema\":1", "\"schema\":2")));
    assert!(
        e.contains("schema 2 by a newer weightwise") && e.contains("upgrade"),
        "{e}"
    );
    let e = load(&edited(&net, |j| {
        j.replace("\"schema\":1", "\"schema\":\"1\"")
    }));
    assert!(e.contains("no \"schema\""), "{e}");

    let renamed = edited(&net, |j| j.replace("LeakyReLU", "Swish"));
    let e = load(&renamed);
    assert!(
        e.contains("layer 2") && e.contains("'Swish'") && e.contains("LayerRegistry::register"),
        "{e}"
    );
    // Registering a constructor for the type makes the file load.
    let mut registry = LayerRegistry::builtin();
    registry.register("Swish", |_| Ok(Box::new(Activation::relu())));
    let loaded = Network::<f64>::from_model_bytes(&renamed, &registry).unwrap();
    assert_eq!(loaded.layers()[2].kind(), "ReLU");

    let e =
        Network::<f32>::from_model_bytes(&net.to_model_bytes().unwrap(), &LayerRegistry::builtin())
            .unwrap_err()
            .to_string();
    assert!(
        e.contains("saved as F64") && e.contains("Network::<f64>"),
        "{e}"
    );

    let e = load(&edited(&net, |j| j.replace("\"p\":0.25", "\"p\":1.5")));
    assert!(
        e.contains("layer 3") && e.contains("dropout probability"),
        "{e}"
    );
    let e = load(&edited(&net, |j| j.replace("\"p\":0.25", "\"p\":null")));
    assert!(e.contains("unsupported p = null"), "{e}");
    let e = load(&edited(&net, |j| {
        j.replace("\"input_shape\":[3]", "\"input_shape\":[5]")
    }));
    assert!(e.contains("layer 0"), "{e}");
    let e = load(&edited(&net, |j| {
        j.replace("\"out_features\":4", "\"out_features\":5")
    }));
    assert!(e.contains("layer 1") || e.contains("shape"), "{e}");
    let e = load(&edited(&net, |_| "[".to_string()));
    assert!(e.contains("not JSON"), "{e}");
    let e = load(&edited(&net, |j| {
        j.replace("\"layers\":[", "\"layers\":{\"a\":[")
            .replace("],\"schema", "]},\"schema")
    }));
    assert!(e.contains("\"layers\" is not a list"), "{e}");

    // Weights only: the message says what to do instead.
    let e = load(&net.to_safetensors_bytes().unwrap());
    assert!(
        e.contains("weights only") && e.contains("load_safetensors"),
        "{e}"
    );
}

#[test]
fn saving_a_layer_that_cannot_describe_itself_names_it() {
    #[derive(Clone, Debug)]
    struct Opaque(crate::Tensor<f64>);
    impl Layer<f64> for Opaque {
        fn kind(&self) -> &'static str {
            "Opaque"
        }
        fn infer(&self, x: &crate::Tensor<f64>, out: &mut crate::Tensor<f64>) -> Result<()> {
            out.assign(x);
            Ok(())
        }
        fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>> {
            Ok(input.to_vec())
        }
        fn forward(&mut self, x: &crate::Tensor<f64>, _: Mode) -> Result<&crate::Tensor<f64>> {
            self.0.assign(x);
            Ok(&self.0)
        }
        fn backward(&mut self, dy: &crate::Tensor<f64>) -> Result<&crate::Tensor<f64>> {
            self.0.assign(dy);
            Ok(&self.0)
        }
    }
    let mut net = small();
    net.push(Box::new(Opaque(crate::Tensor::default())))
        .unwrap();
    let e = net.to_model_bytes().unwrap_err().to_string();
    assert!(
        e.contains("7 (Opaque)") && e.contains("Layer::config"),
        "{e}"
    );
    let dir = std::env::temp_dir().join(format!("ww-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    assert!(net.save_model(dir.join("m.safetensors")).is_err());
    assert!(!dir.join("m.safetensors").exists());
    let e = Network::<f64>::load_model(dir.join("missing.safetensors")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}
