//! Which micro-kernel family the products use, and forcing one for tests
//! and benchmarks.

use std::sync::atomic::{AtomicU8, Ordering};

/// Which micro-kernel family a product uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Isa {
    /// The best the CPU supports: AVX-512F, else AVX2+FMA, else portable.
    Best,
    /// AVX2+FMA if available (never AVX-512), else portable.
    Avx2,
    /// The portable kernel.
    Portable,
}

/// Kernel family forced for all later products: 0 = best, 1 = AVX2, 2 = portable.
pub(super) static FORCE_ISA: AtomicU8 = AtomicU8::new(0);

/// Forces (or stops forcing) the portable micro-kernel for all later products,
/// e.g. to test or benchmark the fallback path on an AVX2 machine.
pub(crate) fn set_force_portable(on: bool) {
    FORCE_ISA.store(if on { 2 } else { 0 }, Ordering::Relaxed);
}

/// Forces (or stops forcing) the AVX2 micro-kernels (no AVX-512) for all
/// later products, e.g. to benchmark them on an AVX-512 machine.
pub(crate) fn set_force_avx2(on: bool) {
    FORCE_ISA.store(u8::from(on), Ordering::Relaxed);
}
