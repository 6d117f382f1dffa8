//! Pruned models in checkpoints: the masks come back and training resumes
//! exactly.
#![cfg(feature = "safetensors")]

mod common;

use common::bits;
use rand::{SeedableRng, rngs::StdRng};
use weightwise::io::checkpoint::{checkpoint_to_bytes, load_checkpoint_bytes};
use weightwise::prelude::*;
use weightwise::prune::{self, Amount};

fn model(seed: u64) -> Network<f64> {
    common::digits_mlp::<f64>(32, &mut StdRng::seed_from_u64(seed))
}

fn fit_config<'a>() -> Fit<'a, f64> {
    Fit {
        optimizer: Adam {
            lr: 1e-3,
            ..Default::default()
        }
        .into(),
        regularizer: Some(L2::new(1e-4).unwrap().into()),
        shuffle: false,
        ..Default::default()
    }
}

#[test]
fn pruned_training_resumes_exactly_from_a_checkpoint() {
    let (train, _) = datasets::digits::<f64>().unwrap();
    let train = train.select(&(0..256).collect::<Vec<_>>()).unwrap();
    // Batches in order (no shuffling), so the runs see the same steps.
    let rng = || StdRng::seed_from_u64(1);

    // Uninterrupted: prune, 2 epochs, save, 2 more.
    let mut net = model(0);
    let names = prune::weight_names(&net);
    prune::global_unstructured(&mut net, &names, Amount::Fraction(0.7)).unwrap();
    prune::ln_structured(&mut net, "0.weight", Amount::Count(4), 2.0, 0).unwrap();
    let mut fit = fit_config();
    fit.epochs = 2;
    net.fit(&train, &mut fit, &mut rng()).unwrap();
    let bytes = checkpoint_to_bytes(&net, fit.optimizer.as_ref(), 2).unwrap();
    fit.initial_epoch = 2;
    fit.epochs = 4;
    net.fit(&train, &mut fit, &mut rng()).unwrap();

    // Resumed into a fresh, unpruned network and a fresh optimizer.
    let mut resumed = model(99);
    let mut fit2 = fit_config();
    let epoch = load_checkpoint_bytes(&bytes, &mut resumed, fit2.optimizer.as_mut()).unwrap();
    assert_eq!(epoch, 2);
    let names: Vec<String> = resumed.named_masks().into_iter().map(|(n, _)| n).collect();
    assert_eq!(names, vec!["0.weight", "2.weight"]);
    fit2.initial_epoch = 2;
    fit2.epochs = 4;
    resumed.fit(&train, &mut fit2, &mut rng()).unwrap();
    assert_eq!(bits(&resumed), bits(&net));
    assert_eq!(resumed.named_masks(), net.named_masks());

    // Without the masks (weights only) the run would drift: pruned weights revive.
    let mut unmasked = model(99);
    let mut fit3 = fit_config();
    load_checkpoint_bytes(&bytes, &mut unmasked, fit3.optimizer.as_mut()).unwrap();
    for (name, _) in net.named_masks() {
        prune::remove(&mut unmasked, &name).unwrap();
    }
    fit3.initial_epoch = 2;
    fit3.epochs = 4;
    unmasked.fit(&train, &mut fit3, &mut rng()).unwrap();
    assert_ne!(bits(&unmasked), bits(&net));
}

#[test]
fn a_checkpoint_with_a_bad_mask_is_refused_and_changes_nothing() {
    let mut net = model(0);
    prune::l1_unstructured(&mut net, "0.weight", Amount::Fraction(0.5)).unwrap();
    let opt = fit_config().optimizer;
    let bytes = checkpoint_to_bytes(&net, opt.as_ref(), 0).unwrap();
    // A network of another width: the mask does not fit.
    let mut other = common::digits_mlp::<f64>(16, &mut StdRng::seed_from_u64(0));
    let before = bits(&other);
    let mut opt2 = fit_config().optimizer;
    assert!(load_checkpoint_bytes(&bytes, &mut other, opt2.as_mut()).is_err());
    assert_eq!(bits(&other), before);
    assert!(other.named_masks().is_empty());
}
