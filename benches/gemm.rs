//! W1 (matmul; `examples/bench.rs` describes it): our GEMM against
//! `matrixmultiply` in the same run, f32 and f64, 1 and 2 threads, GFLOP/s.
//!
//! `cargo bench --bench gemm` runs the whole suite: the process re-runs itself
//! once per thread count with `MATMUL_NUM_THREADS` (read once by
//! matrixmultiply) and the other standard thread variables set, and our own
//! knob (`weightwise::set_num_threads`) set to the same value.
//!
//! Arguments: words filter the rows (e.g. `cargo bench --bench gemm -- 1024`).
//! Environment: `WW_BENCH_REPEATS` (suite repeats, default 2),
//! `WW_BENCH_THREADS` (e.g. `2`; default `1,2`), `WW_BENCH_PORTABLE=1` (also
//! time our portable kernel), `WW_BENCH_AVX2=1` (also time our AVX2 kernel
//! on an AVX-512 machine), `WW_BENCH_CPUTIME=1` (time with the thread's CPU
//! time instead of the wall clock: for single-threaded tuning on a busy machine).

use std::process::Command;
use std::time::Instant;

/// The W1 shapes (m, k, n).
const SHAPES: [(usize, usize, usize); 5] = [
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (128, 784, 256),
];

/// Environment variable marking a child run (its value is the thread count).
const CHILD: &str = "WW_BENCH_CHILD";

/// SplitMix64, as the workload contract specifies for Rust inputs.
struct SplitMix64(u64);

impl SplitMix64 {
    /// Next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 52) as f64 * 2.0 - 1.0
    }
}

/// The element types benchmarked.
trait Elem: Copy + Default {
    /// Name in the table.
    const NAME: &'static str;
    /// From f64 (rounding).
    fn of(x: f64) -> Self;
    /// To f64.
    fn f(self) -> f64;
    /// Our GEMM, `C = A·B`, row-major.
    fn ours(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
    /// matrixmultiply, `C = A·B`, row-major.
    fn mm(m: usize, k: usize, n: usize, a: &[Self], b: &[Self], c: &mut [Self]);
}

impl Elem for f32 {
    const NAME: &'static str = "f32";
    fn of(x: f64) -> Self {
        x as f32
    }
    fn f(self) -> f64 {
        f64::from(self)
    }
    fn ours(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
        weightwise::__bench::gemm_f32(m, k, n, 1.0, a, k, 1, b, n, 1, 0.0, c, n)
            .expect("dense operands fit");
    }
    fn mm(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
        assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
        let (k_, n_) = (k as isize, n as isize);
        // SAFETY: A is m×k, B is k×n and C is m×n, all row-major and dense,
        // and the asserts above check the slices hold that many values.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k_,
                1,
                b.as_ptr(),
                n_,
                1,
                0.0,
                c.as_mut_ptr(),
                n_,
                1,
            );
        }
    }
}

impl Elem for f64 {
    const NAME: &'static str = "f64";
    fn of(x: f64) -> Self {
        x
    }
    fn f(self) -> f64 {
        self
    }
    fn ours(m: usize, k: usize, n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
        weightwise::__bench::gemm_f64(m, k, n, 1.0, a, k, 1, b, n, 1, 0.0, c, n)
            .expect("dense operands fit");
    }
    fn mm(m: usize, k: usize, n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
        assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
        let (k_, n_) = (k as isize, n as isize);
        // SAFETY: as for `sgemm` above: dense row-major operands whose sizes
        // are asserted.
        unsafe {
            matrixmultiply::dgemm(
                m,
                k,
                n,
                1.0,
                a.as_ptr(),
                k_,
                1,
                b.as_ptr(),
                n_,
                1,
                0.0,
                c.as_mut_ptr(),
                n_,
                1,
            );
        }
    }
}

/// A `C = A·B` implementation: `(m, k, n, a, b, c)`.
type GemmFn<T> = fn(usize, usize, usize, &[T], &[T], &mut [T]);

/// Seconds on a clock: wall time, or (with `WW_BENCH_CPUTIME=1`, for
/// single-threaded tuning on a busy machine) this thread's CPU time from
/// `/proc/thread-self/schedstat`.
fn clock() -> f64 {
    static CPU: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    if *CPU.get_or_init(|| std::env::var("WW_BENCH_CPUTIME").is_ok_and(|v| v == "1")) {
        let s = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
        let ns: f64 = s
            .split_whitespace()
            .next()
            .and_then(|x| x.parse().ok())
            .expect("ns");
        ns * 1e-9
    } else {
        START.get_or_init(Instant::now).elapsed().as_secs_f64()
    }
}

/// Best and median GFLOP/s over 7 runs, and max relative error of 32 entries.
fn measure<T: Elem>((m, k, n): (usize, usize, usize), f: GemmFn<T>) -> (f64, f64, f64) {
    let mut r1 = SplitMix64(1);
    let mut r2 = SplitMix64(2);
    let a: Vec<T> = (0..m * k).map(|_| T::of(r1.unit())).collect();
    let b: Vec<T> = (0..k * n).map(|_| T::of(r2.unit())).collect();
    let mut c = vec![T::default(); m * n];
    f(m, k, n, &a, &b, &mut c); // warm-up
    let t = Instant::now(); // calibrate on the wall clock (CPU time is coarse)
    f(m, k, n, &a, &b, &mut c);
    let once = t.elapsed().as_secs_f64().max(1e-9);
    let reps = ((0.15 / once).ceil() as usize).max(1);
    let flop = 2.0 * (m * n * k) as f64 * reps as f64;
    let mut rates: Vec<f64> = (0..7)
        .map(|_| {
            let t = clock();
            for _ in 0..reps {
                f(m, k, n, &a, &b, &mut c);
            }
            flop / (clock() - t) / 1e9
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let mut rng = SplitMix64(99);
    let mut err = 0.0f64;
    for _ in 0..32 {
        let i = (rng.next_u64() % m as u64) as usize;
        let j = (rng.next_u64() % n as u64) as usize;
        let (mut s, mut sa) = (0.0, 0.0);
        for p in 0..k {
            let x = a[i * k + p].f() * b[p * n + j].f();
            s += x;
            sa += x.abs();
        }
        err = err.max((c[i * n + j].f() - s).abs() / sa);
    }
    (rates[6], rates[3], err)
}

/// One table row for every (impl, shape) of one type, over `repeats` suites.
fn rows<T: Elem>(threads: usize, repeats: usize, filter: &[String], extra: Extra) {
    /// (name, function, forced kernel: 0 = best, 1 = AVX2, 2 = portable).
    type Imp<T> = (
        &'static str,
        fn(usize, usize, usize, &[T], &[T], &mut [T]),
        u8,
    );
    let imps: [Imp<T>; 4] = [
        ("weightwise", T::ours, 0),
        ("weightwise-avx2", T::ours, 1),
        ("weightwise-portable", T::ours, 2),
        ("matrixmultiply", T::mm, 0),
    ];
    for &shape in &SHAPES {
        let (m, k, n) = shape;
        let label = format!("{} ({m},{k},{n}) t{threads}", T::NAME);
        if !filter.is_empty() && !filter.iter().any(|w| label.contains(w.as_str())) {
            continue;
        }
        for &(name, f, port) in &imps {
            if (port == 1 && !extra.avx2) || (port == 2 && !extra.portable) {
                continue;
            }
            // Both knobs set the same switch: the last call wins.
            weightwise::__bench::set_force_portable(port == 2);
            if port == 1 {
                weightwise::__bench::set_force_avx2(true);
            }
            let mut bests = Vec::new();
            let mut medians = Vec::new();
            let mut err = 0.0f64;
            for _ in 0..repeats {
                let (b, md, e) = measure::<T>(shape, f);
                bests.push(b);
                medians.push(md);
                err = err.max(e);
            }
            weightwise::__bench::set_force_portable(false);
            medians.sort_by(f64::total_cmp);
            let best = bests.iter().copied().fold(0.0, f64::max);
            println!(
                "| {name:<20} | {:<3} | {m:>4}×{k:>4}·{k:>4}×{n:>4} | {threads} | {best:>7.1} | {:>7.1} | {err:.1e} |",
                T::NAME,
                medians[medians.len() / 2],
            );
        }
    }
}

/// Optional extra rows.
#[derive(Clone, Copy)]
struct Extra {
    /// Also time the AVX2 kernel (`WW_BENCH_AVX2=1`).
    avx2: bool,
    /// Also time the portable kernel (`WW_BENCH_PORTABLE=1`).
    portable: bool,
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let repeats = std::env::var("WW_BENCH_REPEATS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let extra = Extra {
        avx2: std::env::var("WW_BENCH_AVX2").is_ok_and(|v| v == "1"),
        portable: std::env::var("WW_BENCH_PORTABLE").is_ok_and(|v| v == "1"),
    };
    if let Some(threads) = std::env::var(CHILD).ok().and_then(|s| s.parse().ok()) {
        weightwise::set_num_threads(threads).unwrap();
        rows::<f32>(threads, repeats, &filter, extra);
        rows::<f64>(threads, repeats, &filter, extra);
        return;
    }
    let list = std::env::var("WW_BENCH_THREADS").unwrap_or_else(|_| "1,2".into());
    println!(
        "W1 matmul, GFLOP/s: best of 7 (max over {repeats} suites), median of medians, max rel. error of 32 entries"
    );
    println!("| impl | type | shape | threads | best | median | rel err |");
    println!("|---|---|---|---|---|---|---|");
    for t in list
        .split(',')
        .filter_map(|s| s.trim().parse::<usize>().ok())
    {
        let exe = std::env::current_exe().expect("current exe");
        let mut cmd = Command::new(exe);
        cmd.args(std::env::args().skip(1)).env(CHILD, t.to_string());
        for var in [
            "MATMUL_NUM_THREADS",
            "OPENBLAS_NUM_THREADS",
            "OMP_NUM_THREADS",
            "MKL_NUM_THREADS",
            "RAYON_NUM_THREADS",
        ] {
            cmd.env(var, t.to_string());
        }
        let status = cmd.status().expect("run child bench");
        assert!(status.success(), "child bench failed");
    }
}
