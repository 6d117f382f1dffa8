//! Mutation fuzzing of the loaders: weight files, checkpoints and CSV text.
//!
//! Valid inputs are mutated at random (byte flips, truncations, insertions,
//! edits of the safetensors header's JSON) and fed to the loaders. Every
//! call must return (no panic), allocate no single block beyond a bound,
//! and, when it returns `Err`, leave the network and the optimizer bitwise
//! unchanged. Runs for about two seconds; set `WW_FUZZ_SECS` for longer.

#![cfg(feature = "safetensors")]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::bits;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use weightwise::io::checkpoint::{checkpoint_to_bytes, load_checkpoint_bytes};
use weightwise::optim::{Adam, GradientDescent, Optimizer};
use weightwise::prelude::*;

/// The largest single allocation seen, so a size read from a corrupt file
/// cannot make a loader reserve gigabytes.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only records sizes.
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

/// No loader may allocate more than this at once for inputs of a few KB.
const MAX_BLOCK: usize = 16 << 20;

fn budget() -> Duration {
    let secs = std::env::var("WW_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.7);
    Duration::from_secs_f64(secs)
}

fn net(seed: u64) -> Network<f32> {
    Network::<f32>::builder(3)
        .dense(4, Init::he_normal())
        .batch_norm()
        .relu()
        .dense(2, Init::xavier_uniform())
        .build(&mut StdRng::seed_from_u64(seed))
        .unwrap()
}

/// One random mutation of `base`.
fn mutate(base: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let mut v = base.to_vec();
    let header_end = v
        .get(..8)
        .map(|p| 8 + u64::from_le_bytes(p.try_into().unwrap_or([0; 8])) as usize)
        .unwrap_or(0)
        .min(v.len());
    for _ in 0..rng.random_range(1..4) {
        if v.is_empty() {
            v.push(rng.random());
            continue;
        }
        let i = rng.random_range(0..v.len());
        match rng.random_range(0..6) {
            0 => v[i] ^= 1 << rng.random_range(0..8),
            1 => v.truncate(i),
            2 => v.insert(i, rng.random()),
            3 => {
                // A header edit: a digit, a quote or a bracket somewhere in the JSON.
                if header_end > 8 {
                    let j = rng.random_range(8..header_end);
                    let c = b"0123456789\"{}[],:-e.F"[rng.random_range(0..21)];
                    if j < v.len() {
                        v[j] = c;
                    }
                }
            }
            4 => {
                // Duplicate a slice of the header (repeated keys, entries).
                if header_end > 9 && header_end <= v.len() {
                    let a = rng.random_range(8..header_end);
                    let b = rng.random_range(a..header_end);
                    let piece = v[a..b].to_vec();
                    let at = rng.random_range(8..header_end);
                    v.splice(at..at, piece);
                }
            }
            _ => v[i] = rng.random(),
        }
    }
    v
}

#[test]
fn mutated_weight_files_and_checkpoints_never_panic_and_change_nothing_on_err() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut source = net(1);
    let mut opt = GradientDescent::<f32>::new(Adam::default()).unwrap();
    let x = Tensor::from_rows(&[[0.1f32, 0.2, 0.3], [0.3, -0.2, 0.1]]).unwrap();
    let y = Tensor::from_rows(&[[1.0f32, 0.0], [0.0, 1.0]]).unwrap();
    source.compute_gradients(&x, &y, &Loss::mse()).unwrap();
    opt.step(&mut source.params_mut()).unwrap();
    let weights = source.to_safetensors_bytes().unwrap();
    let checkpoint = checkpoint_to_bytes(&source, &opt, 3).unwrap();

    let mut target = net(2);
    let mut target_opt = GradientDescent::<f32>::new(Adam::default()).unwrap();
    let (deadline, mut runs, mut errs) = (Instant::now() + budget(), 0usize, 0usize);
    while Instant::now() < deadline || runs < 200 {
        let (before, before_opt) = (bits(&target), target_opt.state());
        let which = runs % 2;
        let bytes = mutate(if which == 0 { &weights } else { &checkpoint }, &mut rng);
        let result = catch_unwind(AssertUnwindSafe(|| {
            if which == 0 {
                target.load_safetensors_bytes(&bytes, &LoadOptions::default())
            } else {
                load_checkpoint_bytes(&bytes, &mut target, &mut target_opt).map(|_| ())
            }
        }));
        let result = result.unwrap_or_else(|_| panic!("a loader panicked on {bytes:?}"));
        if result.is_err() {
            errs += 1;
            assert_eq!(bits(&target), before, "an Err changed the network");
            assert_eq!(
                target_opt.state(),
                before_opt,
                "an Err changed the optimizer"
            );
        } else {
            // A mutation the loaders accept (a flipped low mantissa bit):
            // start the next run from a fresh pair.
            target = net(2);
            target_opt = GradientDescent::<f32>::new(Adam::default()).unwrap();
        }
        runs += 1;
    }
    assert!(
        errs > runs / 2,
        "{errs} errors in {runs} runs: mutations too weak"
    );
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < MAX_BLOCK,
        "a loader allocated {largest} bytes at once"
    );
}

#[test]
fn mutated_csv_never_panics() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut text = String::from("a,b,label\n");
    for i in 0..40 {
        text.push_str(&format!("{}.5,{},{}\n", i, -i * 3, i % 3));
    }
    let base = text.into_bytes();
    let (deadline, mut runs) = (Instant::now() + budget(), 0usize);
    while Instant::now() < deadline || runs < 200 {
        let bytes = mutate(&base, &mut rng);
        let text = String::from_utf8_lossy(&bytes);
        let r = catch_unwind(AssertUnwindSafe(|| {
            weightwise::data::parse_csv::<f64>(&text, "fuzz.csv").map(|(_, t)| t.len())
        }));
        assert!(r.is_ok(), "parse_csv panicked on {text:?}");
        runs += 1;
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest < MAX_BLOCK,
        "parse_csv allocated {largest} bytes at once"
    );
}
