//! Tests of the GEMM against a naive reference accumulated in f64.
//!
//! Tolerance, per element of C: with `s = Σ_p |a_ip·b_pj|`,
//! `|c − ref| ≤ 8·(k+2)·ε·(|alpha|·s + |beta·c₀|)` where ε is the machine
//! epsilon of the element type and `ref = alpha·Σ_p a_ip·b_pj + beta·c₀`
//! computed in f64 (the `+2` covers the roundings of the alpha/beta update).

use super::{Config, Elem, Gemm, Isa, MatRef};
use proptest::prelude::*;

/// Element types under test, with conversions to and from f64.
trait TestElem: Elem + std::fmt::Debug {
    /// Machine epsilon.
    const EPS: f64;
    /// Rounds an f64 to this type.
    fn of(x: f64) -> Self;
    /// Widens to f64.
    fn f(self) -> f64;
}

impl TestElem for f32 {
    const EPS: f64 = f32::EPSILON as f64;
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f(self) -> f64 {
        f64::from(self)
    }
}

impl TestElem for f64 {
    const EPS: f64 = f64::EPSILON;
    fn of(x: f64) -> Self {
        x
    }
    fn f(self) -> f64 {
        self
    }
}

/// SplitMix64: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    /// Next 64 random bits.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }
    /// Uniform in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One test case: shapes, storage layout of the operands and scalars.
#[derive(Clone, Copy, Debug)]
struct Case {
    /// Rows of C.
    m: usize,
    /// Shared dimension.
    k: usize,
    /// Columns of C.
    n: usize,
    /// A is stored transposed (k×m row-major), i.e. the product uses Aᵀ.
    ta: bool,
    /// B is stored transposed (n×k row-major).
    tb: bool,
    /// Extra padding of each stored row of A, B and C.
    pad: usize,
    /// Extra multiplier on the non-unit stride (general strides when > 1).
    spread: usize,
    /// Scale of the product.
    alpha: f64,
    /// Scale of C (C starts NaN-filled when 0).
    beta: f64,
}

/// Builds the strided operands of `case`, with random values from `seed`.
/// Returns `(a, rsa, csa, b, rsb, csb, c, rsc)`.
#[allow(clippy::type_complexity)]
fn operands<T: TestElem>(
    case: &Case,
    seed: u64,
) -> (Vec<T>, usize, usize, Vec<T>, usize, usize, Vec<T>, usize) {
    let Case { m, k, n, pad, .. } = *case;
    let sp = case.spread.max(1);
    let mut rng = Rng(seed);
    // A stored row-major m×k (or k×m when transposed), leading dim padded;
    // `sp > 1` also spreads the contiguous direction to get general strides.
    let (rsa, csa, alen) = if case.ta {
        let ld = m * sp + pad;
        (sp, ld, k * ld)
    } else {
        let ld = k * sp + pad;
        (ld, sp, m * ld)
    };
    let (rsb, csb, blen) = if case.tb {
        let ld = k * sp + pad;
        (sp, ld, n * ld)
    } else {
        let ld = n * sp + pad;
        (ld, sp, k * ld)
    };
    let rsc = n + pad;
    let a = (0..alen.max(1)).map(|_| T::of(rng.unit())).collect();
    let b = (0..blen.max(1)).map(|_| T::of(rng.unit())).collect();
    let c = (0..(m * rsc).max(1))
        .map(|_| {
            if case.beta == 0.0 {
                T::of(f64::NAN)
            } else {
                T::of(rng.unit())
            }
        })
        .collect();
    (a, rsa, csa, b, rsb, csb, c, rsc)
}

/// Runs the GEMM with explicit settings.
#[allow(clippy::too_many_arguments)]
fn run<T: TestElem>(
    cfg: Config,
    case: &Case,
    a: &[T],
    rsa: usize,
    csa: usize,
    b: &[T],
    rsb: usize,
    csb: usize,
    c: &mut [T],
    rsc: usize,
) {
    let g = Gemm {
        m: case.m,
        k: case.k,
        n: case.n,
        alpha: T::of(case.alpha),
        a: MatRef {
            data: a,
            rs: rsa,
            cs: csa,
        },
        b: MatRef {
            data: b,
            rs: rsb,
            cs: csb,
        },
        beta: T::of(case.beta),
    };
    T::gemm(cfg, &g, c, rsc);
}

/// Checks one case with the given settings against the reference; also checks
/// that the padding of C between rows is untouched.
fn check<T: TestElem>(cfg: Config, case: &Case, seed: u64) {
    let (a, rsa, csa, b, rsb, csb, c0, rsc) = operands::<T>(case, seed);
    let mut c = c0.clone();
    run(cfg, case, &a, rsa, csa, &b, rsb, csb, &mut c, rsc);
    let Case { m, k, n, .. } = *case;
    let (alpha, beta) = (T::of(case.alpha).f(), T::of(case.beta).f());
    for i in 0..m {
        for j in 0..n {
            let (mut s, mut sa) = (0.0f64, 0.0f64);
            for p in 0..k {
                let x = a[i * rsa + p * csa].f() * b[p * rsb + j * csb].f();
                s += x;
                sa += x.abs();
            }
            let old = c0[i * rsc + j].f();
            let (want, mag) = if beta == 0.0 {
                (alpha * s, alpha.abs() * sa)
            } else {
                (
                    alpha * s + beta * old,
                    alpha.abs() * sa + (beta * old).abs(),
                )
            };
            let got = c[i * rsc + j].f();
            let tol = 8.0 * (k as f64 + 2.0) * T::EPS * mag;
            assert!(
                (got - want).abs() <= tol,
                "{case:?} cfg={cfg:?} at ({i},{j}): got {got}, want {want}, tol {tol}"
            );
        }
        for j in n..rsc.min(c.len() - i * rsc) {
            let (x, y) = (c[i * rsc + j].f(), c0[i * rsc + j].f());
            assert!(x == y || (x.is_nan() && y.is_nan()), "padding of C written");
        }
    }
}

/// The kernel families this CPU can run, each exactly once: AVX-512F (via
/// `Isa::Best`, only when the CPU has it), AVX2+FMA (only when the CPU has
/// it) and the portable kernel (always).
fn isas() -> Vec<Isa> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if super::x86::has_avx512f() {
            v.push(Isa::Best);
        } else {
            eprintln!("note: CPU lacks avx512f; AVX-512 kernels not tested");
        }
        if super::x86::has_avx2_fma() {
            v.push(Isa::Avx2);
        }
    }
    v.push(Isa::Portable);
    v
}

/// The settings under test: every kernel family [`isas`] lists, one and two
/// threads. Two-thread settings thread every product (no flop threshold).
fn configs() -> Vec<Config> {
    let cfg = |isa, threads| Config {
        isa,
        threads,
        par_min_flops: 0,
    };
    isas()
        .into_iter()
        .flat_map(|isa| [cfg(isa, 1), cfg(isa, 2)])
        .collect()
}

/// On an AVX-512 machine the default choice is the AVX-512 kernel and the
/// test settings cover all three families.
#[test]
fn every_kernel_family_is_tested() {
    let n = isas().len();
    #[cfg(target_arch = "x86_64")]
    {
        let want =
            1 + usize::from(super::x86::has_avx512f()) + usize::from(super::x86::has_avx2_fma());
        assert_eq!(n, want);
    }
    assert!(n >= 1 && configs().len() == 2 * n);
}

/// The alpha/beta pairs cycled through by the shape sweeps.
const SCALARS: [(f64, f64); 4] = [(1.0, 0.0), (-0.75, 1.5), (2.5, 0.0), (1.0, 1.0)];

/// All (m, n) in the edge-size set × a subset of k, all four transpose
/// combinations, for one element type and one setting.
fn sweep_small<T: TestElem>(cfg: Config) {
    const DIMS: [usize; 15] = [0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 31, 33, 64, 65, 100];
    const KS: [usize; 7] = [0, 1, 3, 8, 17, 33, 100];
    let mut idx = 0usize;
    for &m in &DIMS {
        for &n in &DIMS {
            for &k in &KS {
                idx += 1;
                let (alpha, beta) = SCALARS[idx % SCALARS.len()];
                let case = Case {
                    m,
                    k,
                    n,
                    ta: idx % 4 >= 2,
                    tb: idx % 2 == 1,
                    pad: [0, 3][idx % 2],
                    spread: 1,
                    alpha,
                    beta,
                };
                check::<T>(cfg, &case, idx as u64);
            }
        }
    }
}

#[test]
fn small_shapes_f32() {
    for cfg in configs() {
        sweep_small::<f32>(cfg);
    }
}

#[test]
fn small_shapes_f64() {
    for cfg in configs() {
        sweep_small::<f64>(cfg);
    }
}

/// Random shapes up to 300 with all transposes, strides and scalars.
fn sweep_random<T: TestElem>(seed: u64, count: usize) {
    let mut rng = Rng(seed);
    for t in 0..count {
        let case = Case {
            m: 1 + rng.below(300),
            k: 1 + rng.below(300),
            n: 1 + rng.below(300),
            ta: rng.below(2) == 1,
            tb: rng.below(2) == 1,
            pad: rng.below(5),
            spread: 1 + usize::from(t % 5 == 4),
            alpha: rng.unit() * 3.0,
            beta: if rng.below(3) == 0 {
                0.0
            } else {
                rng.unit() * 2.0
            },
        };
        for cfg in configs() {
            check::<T>(cfg, &case, t as u64);
        }
    }
}

#[test]
fn random_shapes_f32() {
    sweep_random::<f32>(1, 12);
}

#[test]
fn random_shapes_f64() {
    sweep_random::<f64>(2, 12);
}

/// Shapes that need several k blocks, several row blocks and several packed
/// B blocks, on both kernels and with 1..=3 threads.
#[test]
fn blocking_boundaries() {
    // k = 4500 spans two k chunks (K_CHUNK_BLOCKS · KC = 4096).
    let shapes = [(150, 600, 40), (300, 257, 33), (7, 1300, 5), (13, 4500, 19)];
    for (t, &(m, k, n)) in shapes.iter().enumerate() {
        let case = Case {
            m,
            k,
            n,
            ta: t == 1,
            tb: t == 2,
            pad: 1,
            spread: 1,
            alpha: 0.5,
            beta: -1.0,
        };
        for cfg in configs() {
            check::<f32>(cfg, &case, 7);
            check::<f64>(cfg, &case, 8);
        }
    }
    // More columns than one packed B block holds (B_BLOCK_BYTES / (4·k)).
    let wide = Case {
        m: 13,
        k: 1500,
        n: 1500,
        ta: false,
        tb: false,
        pad: 0,
        spread: 1,
        alpha: 1.0,
        beta: 0.0,
    };
    for cfg in configs().into_iter().filter(|c| c.threads == 2) {
        check::<f32>(cfg, &wide, 9);
    }
}

/// Results are bitwise identical whatever the number of threads, and with the
/// default settings (threshold on) as with forced threading. With m = 203,
/// two and three threads pack their own copies of B (`OWN_B_ROWS`), five
/// share one.
#[test]
fn thread_count_does_not_change_results() {
    fn same<T: TestElem>(isa: Isa) {
        let case = Case {
            m: 203,
            k: 300,
            n: 150,
            ta: true,
            tb: false,
            pad: 2,
            spread: 1,
            alpha: 1.25,
            beta: 0.5,
        };
        let (a, rsa, csa, b, rsb, csb, c0, rsc) = operands::<T>(&case, 3);
        let mut first: Option<Vec<T>> = None;
        for threads in [1, 2, 3, 5] {
            let cfg = Config {
                isa,
                threads,
                par_min_flops: 0,
            };
            let mut c = c0.clone();
            run(cfg, &case, &a, rsa, csa, &b, rsb, csb, &mut c, rsc);
            match &first {
                None => first = Some(c),
                Some(f) => assert!(f == &c, "threads={threads} differs"),
            }
        }
    }
    for isa in isas() {
        same::<f32>(isa);
        same::<f64>(isa);
    }
}

/// k == 0 and alpha == 0 give C = beta·C without reading A or B (NaNs there
/// must not leak), and m == 0 / n == 0 touch nothing.
#[test]
fn degenerate_products() {
    for cfg in configs() {
        for (k, alpha) in [(0usize, 1.0f64), (4, 0.0)] {
            let a = vec![f64::NAN; 3 * 4];
            let b = vec![f64::NAN; 4 * 2];
            for beta in [0.0, 1.0, -2.0] {
                let mut c = vec![1.5; 3 * 2];
                let case = Case {
                    m: 3,
                    k,
                    n: 2,
                    ta: false,
                    tb: false,
                    pad: 0,
                    spread: 1,
                    alpha,
                    beta,
                };
                run(cfg, &case, &a, 4, 1, &b, 2, 1, &mut c, 2);
                assert!(c.iter().all(|&x| x == 1.5 * beta), "{c:?}");
            }
        }
        let mut c = [7.0f32; 4];
        let empty = Case {
            m: 0,
            k: 5,
            n: 4,
            ta: false,
            tb: false,
            pad: 0,
            spread: 1,
            alpha: 1.0,
            beta: 0.0,
        };
        run(cfg, &empty, &[], 5, 1, &[0.0; 20], 4, 1, &mut c, 4);
        assert_eq!(c, [7.0; 4]);
    }
}

/// The public entry points with their default settings, on the MLP shapes
/// (forward and both backward products) and a square shape large enough to
/// be threaded; checked on sampled entries to stay fast.
#[test]
fn public_entry_mlp_shapes() {
    // (m, k, n, ta, tb): forward x·W, dW = xᵀ·dy, dx = dy·Wᵀ.
    let shapes = [
        (128, 784, 256, false, false),
        (784, 128, 256, true, false),
        (128, 256, 784, false, true),
        (128, 128, 10, false, false),
        (256, 256, 256, false, false),
    ];
    for &(m, k, n, ta, tb) in &shapes {
        let case = Case {
            m,
            k,
            n,
            ta,
            tb,
            pad: 0,
            spread: 1,
            alpha: 1.0,
            beta: 0.0,
        };
        let (a, rsa, csa, b, rsb, csb, mut c, rsc) = operands::<f32>(&case, 11);
        super::gemm(m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, rsc).unwrap();
        let mut rng = Rng(5);
        for _ in 0..64 {
            let (i, j) = (rng.below(m), rng.below(n));
            let (mut s, mut sa) = (0.0f64, 0.0f64);
            for p in 0..k {
                let x = f64::from(a[i * rsa + p * csa]) * f64::from(b[p * rsb + j * csb]);
                s += x;
                sa += x.abs();
            }
            let tol = 8.0 * (k as f64 + 2.0) * f32::EPSILON as f64 * sa;
            assert!((f64::from(c[i * rsc + j]) - s).abs() <= tol);
        }
        let (a, _, _, b, _, _, mut c, _) = operands::<f64>(&case, 12);
        super::gemm(m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, rsc).unwrap();
        let (i, j) = (m - 1, n - 1);
        let s: f64 = (0..k)
            .map(|p| a[i * rsa + p * csa] * b[p * rsb + j * csb])
            .sum();
        assert!((c[i * rsc + j] - s).abs() <= 1e-12 * k as f64);
    }
}

/// Strategy for a random case with small shapes and general strides.
fn case_strategy() -> impl Strategy<Value = Case> {
    (
        (0usize..40, 0usize..40, 0usize..40),
        (any::<bool>(), any::<bool>()),
        (0usize..4, 1usize..3),
        (
            -2.0f64..2.0,
            prop_oneof![Just(0.0), Just(1.0), -2.0f64..2.0],
        ),
    )
        .prop_map(|((m, k, n), (ta, tb), (pad, spread), (alpha, beta))| Case {
            m,
            k,
            n,
            ta,
            tb,
            pad,
            spread,
            alpha,
            beta,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_matches_reference(case in case_strategy(), seed in any::<u64>(), which in 0usize..6) {
        let cfgs = configs();
        let cfg = cfgs[which % cfgs.len()];
        check::<f32>(cfg, &case, seed);
        check::<f64>(cfg, &case, seed);
    }
}

#[test]
fn invalid_thread_counts_are_errors() {
    let before = super::num_threads();
    assert!(super::set_num_threads(0).is_err());
    let err = super::set_num_threads(33).unwrap_err().to_string();
    assert!(err.contains("between 1 and 32"), "{err}");
    assert_eq!(super::num_threads(), before);
}

/// Strides crafted so that the extent of an operand wraps around `usize`,
/// or slices one value too short, or overlapping rows of C: every public
/// entry (the crate-internal `gemm`, `Scalar::gemm` and `__bench`) returns an
/// error naming the operand and writes nothing. Before the checked extents,
/// the first case made a release build write far outside C.
#[test]
fn crafted_strides_are_errors_not_out_of_bounds_writes() {
    use crate::Scalar;
    let a = vec![1.0f32; 64];
    let b = vec![1.0f32; 64];
    // (m, k, n, rsa, csa, rsb, csb, rsc, c_len, operand named)
    let wrap = usize::MAX / 11 + 2; // 11·wrap wraps to a small number
    let cases: [([usize; 9], &str); 9] = [
        ([12, 1, 32, 1, 1, 1, 1, wrap, 64], "C"),
        ([12, 2, 32, 1, 1, 1, 1, usize::MAX, 64], "C"),
        ([2, 2, 2, wrap, 1, 1, 1, 2, 64], "A"),
        ([2, 2, 2, 1, usize::MAX, 1, 1, 2, 64], "A"),
        ([2, 2, 2, 1, 1, usize::MAX / 2 + 1, 1, 2, 64], "B"),
        ([2, 2, 2, 1, 1, 1, usize::MAX, 2, 64], "B"),
        ([8, 8, 8, 8, 1, 8, 1, 8, 63], "C"),
        ([8, 9, 7, 8, 1, 8, 1, 8, 64], "A"),
        ([3, 4, 4, 1, 1, 1, 1, 3, 64], "C"),
    ];
    for ([m, k, n, rsa, csa, rsb, csb, rsc, c_len], name) in cases {
        let mut c = vec![7.0f32; c_len];
        let err = super::gemm(m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, rsc)
            .expect_err("must be refused")
            .to_string();
        assert!(
            err.contains(&format!("gemm operand {name}"))
                || (name == "C" && err.contains("row stride of C")),
            "{err}"
        );
        let err2 =
            <f32 as Scalar>::gemm(m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, rsc);
        assert_eq!(err2.unwrap_err().to_string(), err);
        let err3 =
            crate::__bench::gemm_f32(m, k, n, 1.0, &a, rsa, csa, &b, rsb, csb, 0.0, &mut c, rsc);
        assert_eq!(err3.unwrap_err().to_string(), err);
        assert!(c.iter().all(|&x| x == 7.0), "C written on error");
    }
    // f64 too, and exact-fit slices pass.
    let mut c = vec![0.0f64; 12 * 32];
    assert!(
        <f64 as Scalar>::gemm(
            12, 2, 32, 1.0, &[1.0; 24], 2, 1, &[1.0; 64], 32, 1, 0.0, &mut c, 32
        )
        .is_ok()
    );
    assert!(c.iter().all(|&x| x == 2.0));
    let err = <f64 as Scalar>::gemm(
        12, 2, 32, 1.0, &[1.0; 23], 2, 1, &[1.0; 64], 32, 1, 0.0, &mut c, 32,
    );
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("spans 24 values but the slice holds 23")
    );
    // Zero strides (broadcast operands) are valid.
    let mut c = vec![0.0f64; 4];
    <f64 as Scalar>::gemm(2, 3, 2, 1.0, &[2.0], 0, 0, &[3.0], 0, 0, 0.0, &mut c, 2).unwrap();
    assert_eq!(c, [18.0; 4]);
}

/// Two user threads multiplying at once, each with two-thread settings (so
/// both try to use the one worker pool; the loser runs its parts itself),
/// on every kernel family: every result is bitwise the single-threaded one.
#[test]
fn two_user_threads_at_once() {
    fn products<T: TestElem>(isa: Isa, threads: usize, seed: u64) -> Vec<Vec<T>> {
        let cfg = Config {
            isa,
            threads,
            par_min_flops: 0,
        };
        [
            (128, 784, 256, false, true),
            (256, 128, 784, true, false),
            (97, 65, 130, false, false),
        ]
        .iter()
        .map(|&(m, k, n, ta, tb)| {
            let case = Case {
                m,
                k,
                n,
                ta,
                tb,
                pad: 1,
                spread: 1,
                alpha: 1.0,
                beta: 0.5,
            };
            let (a, rsa, csa, b, rsb, csb, mut c, rsc) = operands::<T>(&case, seed);
            run(cfg, &case, &a, rsa, csa, &b, rsb, csb, &mut c, rsc);
            c
        })
        .collect()
    }
    for isa in isas() {
        let want32 = [products::<f32>(isa, 1, 1), products::<f32>(isa, 1, 2)];
        let want64 = [products::<f64>(isa, 1, 3), products::<f64>(isa, 1, 4)];
        std::thread::scope(|s| {
            for who in 0..2 {
                let (w32, w64) = (&want32[who], &want64[who]);
                s.spawn(move || {
                    for _ in 0..8 {
                        assert!(products::<f32>(isa, 2, 1 + who as u64) == *w32, "{isa:?}");
                        assert!(products::<f64>(isa, 2, 3 + who as u64) == *w64, "{isa:?}");
                    }
                });
            }
        });
    }
}
