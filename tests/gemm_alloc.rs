//! After warm-up, a matrix product performs no heap allocation, single- and
//! multi-threaded (the packing buffers and the worker threads are reused).

mod common;

use common::counting::{Counting, allocations};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The MLP training-step products (forward, dW = xᵀ·dy, dx = dy·Wᵀ) and a
/// square one, as (m, k, n, A transposed, B transposed).
const SHAPES: [(usize, usize, usize, bool, bool); 8] = [
    (128, 784, 256, false, false),
    (784, 128, 256, true, false),
    (128, 256, 784, false, true),
    (128, 256, 128, false, false),
    (256, 128, 128, true, false),
    (128, 128, 10, false, false),
    (10, 128, 128, true, false),
    (300, 300, 300, false, false),
];

/// Runs every shape once in f32 and f64, C ← A·B + C.
fn step(a32: &[f32], b32: &[f32], c32: &mut [f32], a64: &[f64], b64: &[f64], c64: &mut [f64]) {
    for &(m, k, n, ta, tb) in &SHAPES {
        let (rsa, csa) = if ta { (1, m) } else { (k, 1) };
        let (rsb, csb) = if tb { (1, k) } else { (n, 1) };
        weightwise::__bench::gemm_f32(m, k, n, 1.0, a32, rsa, csa, b32, rsb, csb, 1.0, c32, n)
            .expect("operands fit");
        weightwise::__bench::gemm_f64(m, k, n, 1.0, a64, rsa, csa, b64, rsb, csb, 0.0, c64, n)
            .expect("operands fit");
    }
}

#[test]
fn gemm_does_not_allocate_after_warm_up() {
    const LEN: usize = 784 * 300;
    let a32 = vec![0.5f32; LEN];
    let b32 = vec![0.25f32; LEN];
    let mut c32 = vec![0.0f32; LEN];
    let a64 = vec![0.5f64; LEN];
    let b64 = vec![0.25f64; LEN];
    let mut c64 = vec![0.0f64; LEN];
    for threads in [2, 1] {
        weightwise::set_num_threads(threads).unwrap();
        step(&a32, &b32, &mut c32, &a64, &b64, &mut c64); // warm-up
        let before = allocations();
        for _ in 0..5 {
            step(&a32, &b32, &mut c32, &a64, &b64, &mut c64);
        }
        let after = allocations();
        assert_eq!(
            after - before,
            0,
            "{threads} thread(s): allocations after warm-up"
        );
    }
    assert_eq!(c64[0], 0.5 * 0.25 * 300.0);
}
