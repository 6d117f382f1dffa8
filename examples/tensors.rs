//! A first look at `Tensor`: construction, arithmetic, products, reductions,
//! and the errors you get when shapes do not fit.
//!
//! Run with `cargo run --release --example tensors`.

use rand::{SeedableRng, rngs::StdRng};
use rand_distr::Normal;
use weightwise::prelude::*;

fn main() -> weightwise::Result<()> {
    let mut rng = StdRng::seed_from_u64(42);

    // A batch of 4 samples with 3 features each, and a 2×3 weight matrix.
    let x = Tensor::from_rows(&[
        [1.0f32, 0.0, 2.0],
        [0.5, 1.5, -1.0],
        [0.0, 0.0, 1.0],
        [2.0, 1.0, 0.0],
    ])?;
    let normal = Normal::new(0.0, 0.5).expect("valid std");
    let w = Tensor::random(&[2, 3], &normal, &mut rng)?;
    let b = Tensor::from_slice(&[0.1, -0.1]);

    // y = x·Wᵀ + b: how much each input matters is exactly what W says.
    let y = x.matmul_t(&w)?.add_row(&b)?;
    println!("x = {x}\n\nW = {w}\n\ny = x·Wᵀ + b = {y}\n");
    println!("column means of y: {}", y.mean_axis(0)?);
    println!(
        "‖W‖₁ = {:.4}, ‖W‖₂ = {:.4}, max|W| = {:.4}",
        w.norm_l1(),
        w.norm_l2(),
        w.max_abs()
    );
    println!("argmax per row of y: {:?}", y.argmax_per_row()?);

    // Mismatched shapes are errors that say what and where, never panics.
    if let Err(e) = x.matmul(&w) {
        println!("\nx·W without the transpose: {e}");
    }
    Ok(())
}
