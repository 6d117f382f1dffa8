use rand::{SeedableRng, rngs::StdRng};

use crate::prelude::*;
use crate::svg::wellformed::check;
use crate::train::{QUANTILES, Recording};

/// A small classifier on the digits, trained with recording on.
fn run(recording: Option<Recording<f64>>, epochs: usize) -> (Network<f64>, History) {
    let mut rng = StdRng::seed_from_u64(3);
    let (train, test) = datasets::digits::<f64>().unwrap();
    let train = train.select(&(0..300).collect::<Vec<_>>()).unwrap();
    let mut net = Network::<f64>::builder(64)
        .dense(12, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .tanh()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let history = net
        .fit(
            &train,
            &mut Fit {
                epochs,
                validation: Some(&test),
                early_stopping: Some(EarlyStopping {
                    patience: 2,
                    ..Default::default()
                }),
                recording,
                ..Default::default()
            },
            &mut rng,
        )
        .unwrap();
    (net, history)
}

fn probe() -> Tensor<f64> {
    datasets::digits::<f64>()
        .unwrap()
        .0
        .features()
        .rows(0..64)
        .unwrap()
}

#[test]
fn recording_takes_a_snapshot_before_training_and_every_k_epochs() {
    let (net, h) = run(Some(Recording::every(2).with_probe(probe())), 5);
    let t = h.timeline.as_ref().unwrap();
    let epochs: Vec<usize> = t.snapshots.iter().map(|s| s.epoch).collect();
    let done = h.epochs.len();
    let mut want: Vec<usize> = (0..=done).step_by(2).collect();
    if want.last() != Some(&done) {
        want.push(done);
    }
    assert_eq!(epochs, want);
    assert_eq!(t.params.len(), 6);
    assert!(t.init_audit.is_some());
    // The epoch-0 snapshot has no gradients; the others do, as fit measures them.
    assert!(t.snapshots[0].params[0].grad_norm.is_none());
    let s = &t.snapshots[1].params[0];
    assert!(s.grad_norm.unwrap() > 0.0 && s.update_ratio.unwrap() > 0.0);
    // The last snapshot's quantiles and histogram describe the final weights
    // (no early stop restored others here unless the run stopped).
    let w = net.tensor("0.weight").unwrap();
    let last = &t.snapshots.last().unwrap().params[0];
    if !h.stopped_early {
        let mut v: Vec<f64> = w.as_slice().to_vec();
        v.sort_by(f64::total_cmp);
        assert_eq!(last.quantiles[0], v[0]);
        assert_eq!(last.quantiles[8], v[v.len() - 1]);
        assert_eq!(QUANTILES[4], 0.5);
    }
    assert_eq!(last.counts.iter().sum::<u32>() as usize, w.len());
    // One ReLU (dead units) and one tanh (saturated) layer measured.
    let acts = &t.snapshots[0].activations;
    assert_eq!(acts.len(), 2);
    assert!(acts[0].dead_units.is_some() && acts[0].saturated.is_none());
    assert!(acts[1].saturated.is_some() && acts[1].dead_units.is_none());
    // Gradients are not copied into the epoch records unless asked for.
    assert!(h.epochs.iter().all(|e| e.gradients.is_empty()));
}

#[test]
fn recording_off_records_nothing_and_changes_nothing() {
    let (a, ha) = run(None, 3);
    let (b, hb) = run(Some(Recording::every(1).with_probe(probe())), 3);
    assert!(ha.timeline.is_none());
    // Recording reads the network, never changes the run.
    assert_eq!(a.tensor("0.weight").unwrap(), b.tensor("0.weight").unwrap());
    assert_eq!(ha.train_losses(), hb.train_losses());
}

#[test]
fn snapshots_are_thinned_to_the_bound() {
    let r = Recording {
        max_snapshots: 4,
        ..Recording::every(1)
    };
    let (_, h) = run(Some(r), 9);
    let t = h.timeline.unwrap();
    assert!(t.snapshots.len() <= 4, "{}", t.snapshots.len());
    assert!(t.every > 1);
    assert_eq!(t.snapshots[0].epoch, 0);
    assert_eq!(t.snapshots.last().unwrap().epoch, h.epochs.len());
}

#[test]
fn invalid_recording_is_refused_before_any_step() {
    let mut rng = StdRng::seed_from_u64(0);
    let (train, _) = datasets::digits::<f64>().unwrap();
    let mut net = Network::<f64>::builder(64)
        .dense(10, Init::he_normal())
        .build(&mut rng)
        .unwrap();
    let before = net.clone();
    for r in [
        Recording::every(0),
        Recording {
            bins: 0,
            ..Recording::every(1)
        },
        Recording {
            bins: (1 << 16) + 1,
            ..Recording::every(1)
        },
        Recording {
            max_snapshots: 1,
            ..Recording::every(1)
        },
        Recording::every(1).with_probe(Tensor::zeros(&[4, 63]).unwrap()),
        Recording::every(1).with_probe(Tensor::zeros(&[0, 64]).unwrap()),
        Recording::every(1).with_probe(Tensor::zeros(&[4, 1, 8, 8]).unwrap()),
    ] {
        let err = net
            .fit(
                &train,
                &mut Fit {
                    recording: Some(r),
                    ..Default::default()
                },
                &mut rng,
            )
            .unwrap_err();
        assert!(err.to_string().contains("recording"), "{err}");
        assert_eq!(
            net.tensor("0.weight").unwrap(),
            before.tensor("0.weight").unwrap()
        );
    }
}

/// An image network records with an image-shaped probe; a unit of a
/// feature map is a channel. Its report draws the final weights it can.
#[test]
fn a_conv_network_records_dead_channels_and_reports() {
    use crate::Conv2dOptions;
    let (train, _) = datasets::digits::<f64>().unwrap();
    let train = train
        .split_at(64)
        .unwrap()
        .0
        .with_feature_shape(&[1, 8, 8])
        .unwrap();
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = Network::<f64>::builder_shape(&[1, 8, 8])
        .conv2d(4, 3, Conv2dOptions::default().padding(1), Init::he_normal())
        .relu()
        .flatten()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let probe = train.features().clone();
    assert!(
        net.fit(
            &train,
            &mut Fit {
                epochs: 2,
                recording: Some(
                    Recording::every(1).with_probe(probe.clone().reshape(&[64, 64]).unwrap())
                ),
                ..Default::default()
            },
            &mut rng
        )
        .is_err()
    );
    let h = net
        .fit(
            &train,
            &mut Fit {
                epochs: 2,
                recording: Some(Recording::every(1).with_probe(probe)),
                ..Default::default()
            },
            &mut rng,
        )
        .unwrap();
    let t = h.timeline.as_ref().unwrap();
    let a = &t.snapshots[2].activations;
    assert_eq!((a.len(), a[0].layer), (1, 1));
    let dead = a[0].dead_units.unwrap();
    assert!(
        (0.0..=1.0).contains(&dead) && (dead * 4.0).fract() == 0.0,
        "{dead}"
    );
    let html = h.report(&net).to_html().unwrap();
    assert_self_contained(&html);
    check(html.strip_prefix("<!DOCTYPE html>\n").unwrap()).unwrap();
}

/// Training in chunks and appending the histories gives the epochs and
/// snapshots of one run, each once.
#[test]
fn histories_of_chunks_append_into_one_run() {
    let (train, _) = datasets::digits::<f64>().unwrap();
    let train = train.split_at(100).unwrap().0;
    let mut rng = StdRng::seed_from_u64(5);
    let mut net = Network::<f64>::builder(64)
        .dense(8, Init::he_normal())
        .relu()
        .dense(10, Init::xavier_uniform())
        .build(&mut rng)
        .unwrap();
    let mut fit = Fit {
        epochs: 3,
        recording: Some(Recording::every(1).with_probe(probe())),
        ..Default::default()
    };
    let mut h = net.fit(&train, &mut fit, &mut rng).unwrap();
    (fit.initial_epoch, fit.epochs) = (3, 5);
    let later = net.fit(&train, &mut fit, &mut rng).unwrap();
    // A resumed run takes no snapshot before its first epoch.
    let resumed = later.timeline.as_ref().unwrap();
    let epochs: Vec<usize> = resumed.snapshots.iter().map(|s| s.epoch).collect();
    assert_eq!((epochs, resumed.init_audit.is_none()), (vec![4, 5], true));
    let before = h.clone();
    // Out of order, or another network's timeline: an error, nothing changed.
    let e = h.append(before.clone()).unwrap_err().to_string();
    assert!(
        e.contains("History::append") && e.contains("after epoch"),
        "{e}"
    );
    let mut other = later.clone();
    other.timeline.as_mut().unwrap().params[0] = "9.weight".into();
    let e = h.append(other).unwrap_err().to_string();
    assert!(
        e.contains("History::append") && e.contains("9.weight"),
        "{e}"
    );
    assert_eq!(h, before);
    let best = |h: &History| h.best_epoch.unwrap();
    let expect_best = if later.epochs[best(&later) - 3].train_loss < h.epochs[best(&h)].train_loss {
        best(&later)
    } else {
        best(&h)
    };
    h.append(later).unwrap();
    let epochs: Vec<usize> = h.epochs.iter().map(|e| e.epoch).collect();
    assert_eq!(epochs, [0, 1, 2, 3, 4]);
    let t = h.timeline.as_ref().unwrap();
    let snaps: Vec<usize> = t.snapshots.iter().map(|s| s.epoch).collect();
    assert_eq!(snaps, [0, 1, 2, 3, 4, 5]);
    assert!(t.init_audit.is_some());
    assert_eq!(h.best_epoch, Some(expect_best));
    // A history without a timeline takes the later one's.
    let mut plain = History {
        timeline: None,
        ..before.clone()
    };
    let mut next = before.clone();
    next.epochs.iter_mut().for_each(|e| e.epoch += 3);
    plain.append(next).unwrap();
    assert_eq!(plain.timeline, before.timeline);
    let html = h.report(&net).to_html().unwrap();
    assert!(html.contains("6 snapshots"));
}

/// Joined histories keep to `Recording::max_snapshots`, thinned as the
/// recorder thins: first and newest kept, every other one dropped.
#[test]
fn appended_histories_are_thinned_to_the_bound() {
    let (train, _) = datasets::digits::<f64>().unwrap();
    let train = train.split_at(100).unwrap().0;
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = Network::<f64>::builder(64)
        .dense(10, Init::he_normal())
        .build(&mut rng)
        .unwrap();
    let mut fit = Fit {
        epochs: 3,
        recording: Some(Recording {
            max_snapshots: 4,
            ..Recording::every(1)
        }),
        ..Default::default()
    };
    let mut h = net.fit(&train, &mut fit, &mut rng).unwrap();
    (fit.initial_epoch, fit.epochs) = (3, 9);
    let later = net.fit(&train, &mut fit, &mut rng).unwrap();
    let (a, b) = (h.timeline.clone().unwrap(), later.timeline.clone().unwrap());
    assert_eq!((a.max_snapshots, b.max_snapshots), (Some(4), Some(4)));
    let joined: Vec<usize> = a
        .snapshots
        .iter()
        .chain(&b.snapshots)
        .map(|s| s.epoch)
        .collect();
    assert!(joined.len() > 4, "{joined:?}");
    // The recorder's rule, applied to the unthinned join until it fits.
    let (mut expect, mut every) = (joined, a.every.max(b.every));
    while expect.len() > 4 {
        let newest = expect.pop().unwrap();
        expect = expect.into_iter().step_by(2).collect();
        expect.push(newest);
        every *= 2;
    }
    h.append(later).unwrap();
    let t = h.timeline.as_ref().unwrap();
    let snaps: Vec<usize> = t.snapshots.iter().map(|s| s.epoch).collect();
    assert_eq!(snaps, expect);
    assert_eq!((snaps[0], *snaps.last().unwrap()), (0, 9));
    assert_eq!((t.every, t.max_snapshots), (every, Some(4)));
    // Without a limit (a timeline stored before it was kept), nothing is dropped.
    let mut unbounded = h.clone();
    let mut more = h.clone();
    unbounded.timeline.as_mut().unwrap().max_snapshots = None;
    more.epochs.iter_mut().for_each(|e| e.epoch += 20);
    let mt = more.timeline.as_mut().unwrap();
    mt.max_snapshots = None;
    mt.snapshots.iter_mut().for_each(|s| s.epoch += 20);
    unbounded.append(more).unwrap();
    assert_eq!(unbounded.timeline.unwrap().snapshots.len(), 2 * snaps.len());
}

/// External references an HTML page could load: none may appear.
fn assert_self_contained(html: &str) {
    assert!(
        !html.to_ascii_lowercase().contains("http"),
        "a URL in the report"
    );
    for attr in ["src=", "href="] {
        for (i, _) in html.match_indices(attr) {
            let value = &html[i + attr.len()..];
            assert!(
                value.starts_with("\"#"),
                "external {attr} at byte {i}: {}",
                &value[..40.min(value.len())]
            );
        }
    }
    for banned in ["<script", "<link", "<img", "<iframe", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in the report");
    }
}

#[test]
fn report_is_self_contained_well_formed_and_complete() {
    let (net, h) = run(Some(Recording::every(1).with_probe(probe())), 6);
    let html = h
        .report(&net)
        .title("digits <test> & co")
        .to_html()
        .unwrap();
    assert_self_contained(&html);
    let doc = html
        .strip_prefix("<!DOCTYPE html>\n")
        .expect("doctype first");
    check(doc).unwrap();
    for section in [
        "id=\"run\"",
        "id=\"network\"",
        "id=\"audit\"",
        "id=\"curves\"",
        "id=\"time\"",
        "id=\"final\"",
        "id=\"table\"",
    ] {
        assert!(html.contains(section), "{section} missing");
    }
    assert!(html.contains("<title>digits &lt;test&gt; &amp; co</title>"));
    // A constant learning rate is a sentence; a changing one is charted.
    assert!(html.contains("The learning rate was 0.001 throughout."));
    assert!(!html.contains("Learning rate"));
    let mut varied = h.clone();
    varied.epochs[1].learning_rate = 5e-4;
    let html = varied.report(&net).to_html().unwrap();
    assert!(html.contains("Learning rate") && !html.contains("throughout."));
    assert!(html.contains("Update ratio"));
    assert!(html.contains("Dead and saturated"));
    assert!(html.contains("0.weight: distribution over epochs"));
    assert!(html.contains("4.bias: histograms over epochs"));
    assert!(html.contains("layer 0 (Dense 64→12)")); // unit tiles, 64 = 8×8
    assert_eq!(html.matches("<tr><td>").count(), 6); // the weight table
    // Without recording the report still holds the run, and says what is missing.
    let (net, h) = run(None, 2);
    let html = h.report(&net).to_html().unwrap();
    assert_self_contained(&html);
    check(html.strip_prefix("<!DOCTYPE html>\n").unwrap()).unwrap();
    assert!(html.contains("Not recorded"));
    assert!(History::default().report(&net).to_html().is_err());
    assert!(h.report(&net).image_shape((7, 9)).to_html().is_err());
}

#[test]
fn report_saves_to_a_new_directory() {
    let (net, h) = run(None, 2);
    let dir = std::env::temp_dir().join(format!("weightwise-report-{}", std::process::id()));
    let path = dir.join("a/report.html");
    h.report(&net).save(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        h.report(&net).to_html().unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
