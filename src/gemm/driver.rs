//! The blocked product: packing B, splitting the rows of C over threads,
//! packing A and running the micro-kernel over every tile.

use super::*;

/// Rows of B packed together when B's rows are contiguous (see `pack_b`).
const BAND: usize = 16;

/// The blocked, possibly multi-threaded product with one kernel.
pub(super) fn driver<T: Elem, const MR: usize, const NR: usize>(
    kern: KernelFn<T>,
    blk: Blocking,
    cfg: Config,
    g: &Gemm<'_, T>,
    c: &mut [T],
    rsc: usize,
) {
    let Gemm { m, k, n, .. } = *g;
    if m == 0 || n == 0 {
        return;
    }
    // `gemm` checked the extents (with checked arithmetic); the tests call
    // `Elem::gemm` directly with valid operands.
    debug_assert!(extent(m, n, rsc, 1).is_some_and(|e| e <= c.len()));
    debug_assert!(m == 1 || rsc >= n, "rows of C overlap");
    if k == 0 || g.alpha == T::ZERO {
        scale_c(m, n, g.beta, c, rsc);
        return;
    }
    debug_assert!(extent(m, k, g.a.rs, g.a.cs).is_some_and(|e| e <= g.a.data.len()));
    debug_assert!(extent(k, n, g.b.rs, g.b.cs).is_some_and(|e| e <= g.b.data.len()));
    debug_assert!(MR * NR <= TILE_MAX && blk.mc.is_multiple_of(MR));

    let flops = 2.0 * m as f64 * n as f64 * k as f64;
    let threads = if flops < cfg.par_min_flops as f64 {
        1
    } else {
        cfg.threads.clamp(1, MAX_THREADS).min(m.div_ceil(MR))
    };
    // Rows of C are split into one part of whole MR-row slivers per thread.
    let parts = threads;
    // Columns per packed B block: the whole width if `k × n` fits the budget.
    // Very long products are done in chunks of `kb` of the shared dimension
    // (later chunks accumulate into C), so the packed B block stays bounded.
    let kb = k.min(K_CHUNK_BLOCKS * blk.kc);
    let nc_max = (B_BLOCK_BYTES / size_of::<T>() / kb / NR).max(1) * NR;
    let b_len = round_to_align::<T>(nc_max.min(n).div_ceil(NR) * kb * NR);
    let a_len = round_to_align::<T>(blk.mc * blk.kc);
    // Each part packs its own copy of B (nothing packed is shared between
    // cores) for products of a few hundred rows whose B rows are contiguous
    // (packing is a plain copy), within the B budget; see `OWN_B_ROWS`.
    let own_b = parts > 1
        && g.b.cs == 1
        && OWN_B_ROWS.contains(&m.div_ceil(parts))
        && m <= OWN_B_MAX_ROWS
        && (parts * b_len).saturating_mul(size_of::<T>()) <= B_BLOCK_BYTES;
    let b_copies = if own_b { parts } else { 1 };

    T::with_scratch(|buf| {
        let scratch = aligned(buf, b_copies * b_len + threads * a_len);
        let (bpacks, mut apacks) = scratch.split_at_mut(b_copies * b_len);
        // The shared packed B, or else each part's own.
        let (bpack, mut own_bpacks) = bpacks.split_at_mut(if own_b { 0 } else { b_len });
        let bslots: [Mutex<Option<&mut [T]>>; MAX_THREADS] =
            std::array::from_fn(|_| Mutex::new(None));
        if own_b {
            for slot in bslots.iter().take(parts) {
                let (head, tail) = own_bpacks.split_at_mut(b_len);
                *lock(slot) = Some(head);
                own_bpacks = tail;
            }
        }
        // One A block per thread, indexed by the pool's thread number.
        let aslots: [Mutex<Option<&mut [T]>>; MAX_THREADS] =
            std::array::from_fn(|_| Mutex::new(None));
        for slot in aslots.iter().take(threads) {
            let (head, tail) = apacks.split_at_mut(a_len);
            *lock(slot) = Some(head);
            apacks = tail;
        }
        for k0 in (0..k).step_by(kb) {
            let sub = Gemm {
                k: kb.min(k - k0),
                a: MatRef {
                    data: &g.a.data[k0 * g.a.cs..],
                    ..g.a
                },
                b: MatRef {
                    data: &g.b.data[k0 * g.b.rs..],
                    ..g.b
                },
                beta: if k0 == 0 { g.beta } else { T::ONE },
                ..*g
            };
            let g = &sub;
            // Equal blocks of the shared dimension (784 = 4 × 196, not
            // 3 × 256 + 16: a short last block costs a full pass over C).
            let blk = Blocking {
                kc: g.k.div_ceil(g.k.div_ceil(blk.kc)),
                ..blk
            };
            let mut jc = 0;
            while jc < n {
                let nc = nc_max.min(n - jc);
                if !own_b {
                    pack_b::<T, NR>(g, blk, jc, nc, bpack, threads);
                }
                let bpack: &[T] = bpack;
                if parts == 1 {
                    let mut apack = lock(&aslots[0]);
                    let apack = apack.as_deref_mut().expect("A block of thread 0");
                    compute_rows::<T, MR, NR>(kern, blk, g, 0..m, jc, nc, bpack, apack, c, rsc);
                } else {
                    // Hand each part its own rows of C.
                    let cslots: [Mutex<Option<&mut [T]>>; MAX_THREADS] =
                        std::array::from_fn(|_| Mutex::new(None));
                    let mut rest = &mut *c;
                    for (t, slot) in cslots.iter().enumerate().take(parts) {
                        let rows = part_bound(t, parts, m, MR)..part_bound(t + 1, parts, m, MR);
                        let (head, tail) = if t + 1 < parts {
                            rest.split_at_mut(rows.len() * rsc)
                        } else {
                            (rest, &mut [][..])
                        };
                        *lock(slot) = Some(head);
                        rest = tail;
                    }
                    pool::run(threads, parts, &|part, thread| {
                        let rows =
                            part_bound(part, parts, m, MR)..part_bound(part + 1, parts, m, MR);
                        let cpart = lock(&cslots[part]).take().expect("rows of each part");
                        let mut apack = lock(&aslots[thread]);
                        let apack = apack.as_deref_mut().expect("A block of each thread");
                        let mut own = lock(&bslots[part]);
                        let bpack = match own.as_deref_mut() {
                            Some(mine) => {
                                pack_b::<T, NR>(g, blk, jc, nc, mine, 1);
                                &*mine
                            }
                            None => bpack,
                        };
                        compute_rows::<T, MR, NR>(
                            kern, blk, g, rows, jc, nc, bpack, apack, cpart, rsc,
                        );
                    });
                }
                jc += nc;
            }
        }
    });
}

/// Packs columns `jc..jc+nc` of B (all `k` rows) into `out`, spreading the
/// work over `threads` threads.
///
/// Layout: for each block `pc` of `kc` rows (`kc = KC` except at the end),
/// a panel of `nc.div_ceil(NR)` slivers of `kc×NR` values each; the panel of
/// block `pc` starts at `pc·slivers·NR` and is contiguous, so the compute
/// loop streams it in order.
fn pack_b<T: Elem, const NR: usize>(
    g: &Gemm<'_, T>,
    blk: Blocking,
    jc: usize,
    nc: usize,
    out: &mut [T],
    threads: usize,
) {
    let k = g.k;
    let slivers = nc.div_ceil(NR);
    let out = &mut out[..slivers * k * NR];
    // Packs rows `pc..pc+kc`, slivers `s0..`, into `dst` (whole slivers).
    // Rows of B that are contiguous along `n` are read a band of `BAND`
    // rows at a time across all the slivers, so the reads run along the rows
    // rather than down one sliver's column of B at a time.
    let band = if g.b.cs == 1 { BAND } else { usize::MAX };
    let pack_range = |pc: usize, kc: usize, s0: usize, dst: &mut [T]| {
        let slivers = dst.len() / (kc * NR);
        for p0 in (0..kc).step_by(band.min(kc)) {
            let steps = band.min(kc - p0);
            for (s, d) in (s0..s0 + slivers).zip(dst.chunks_exact_mut(kc * NR)) {
                let j0 = jc + s * NR;
                let r = NR.min(jc + nc - j0);
                let src = &g.b.data[(pc + p0) * g.b.rs + j0 * g.b.cs..];
                let d = &mut d[p0 * NR..(p0 + steps) * NR];
                pack_sliver::<T, NR>(r, steps, src, g.b.cs, g.b.rs, d);
            }
        }
    };
    let blocks = k.div_ceil(blk.kc);
    // Split each k block's panel into `per_block` sliver ranges.
    let per_block = threads
        .div_ceil(blocks)
        .min(slivers)
        .min(MAX_PARTS / blocks)
        .max(1);
    let parts = blocks * per_block;
    if threads <= 1 || parts <= 1 || parts > MAX_PARTS {
        for (pcb, dst) in out.chunks_mut(blk.kc * slivers * NR).enumerate() {
            let pc = pcb * blk.kc;
            pack_range(pc, blk.kc.min(k - pc), 0, dst);
        }
        return;
    }
    let bound = |t: usize| t * slivers / per_block;
    // Part `pcb·per_block + t`: block `pcb`, slivers `bound(t)..bound(t+1)`.
    let slots: [Mutex<Option<&mut [T]>>; MAX_PARTS] = std::array::from_fn(|_| Mutex::new(None));
    let mut rest = out;
    for pcb in 0..blocks {
        let kc = blk.kc.min(k - pcb * blk.kc);
        for t in 0..per_block {
            let (head, tail) = rest.split_at_mut((bound(t + 1) - bound(t)) * kc * NR);
            *lock(&slots[pcb * per_block + t]) = Some(head);
            rest = tail;
        }
    }
    pool::run(threads, parts, &|part, _| {
        let (pcb, t) = (part / per_block, part % per_block);
        let pc = pcb * blk.kc;
        if let Some(dst) = lock(&slots[part]).take() {
            pack_range(pc, blk.kc.min(k - pc), bound(t), dst);
        }
    });
}

/// Computes rows `rows` and columns `jc..jc+nc` of C, given the packed B
/// block `bpack` (from [`pack_b`]) and a scratch `apack` of `MC·KC` values
/// for packing A. `c` starts at row `rows.start`, column 0.
#[allow(clippy::too_many_arguments)] // internal; grouping would only rename them
fn compute_rows<T: Elem, const MR: usize, const NR: usize>(
    kern: KernelFn<T>,
    blk: Blocking,
    g: &Gemm<'_, T>,
    rows: Range<usize>,
    jc: usize,
    nc: usize,
    bpack: &[T],
    apack: &mut [T],
    c: &mut [T],
    rsc: usize,
) {
    let k = g.k;
    let a = g.a;
    let slivers_b = nc.div_ceil(NR);
    let mut pc = 0;
    while pc < k {
        let kc = blk.kc.min(k - pc);
        // beta applies once, on the first k block; later blocks accumulate.
        let beta = if pc == 0 { g.beta } else { T::ONE };
        let mut ic = rows.start;
        while ic < rows.end {
            let mc = blk.mc.min(rows.end - ic);
            let slivers_a = mc.div_ceil(MR);
            for (ir, dst) in apack.chunks_exact_mut(kc * MR).take(slivers_a).enumerate() {
                let i0 = ic + ir * MR;
                let src = &a.data[i0 * a.rs + pc * a.cs..];
                pack_sliver::<T, MR>(MR.min(ic + mc - i0), kc, src, a.rs, a.cs, dst);
            }
            for jr in 0..slivers_b {
                let j0 = jr * NR;
                let nr = NR.min(nc - j0);
                let bsl = &bpack[pc * slivers_b * NR + jr * kc * NR..][..kc * NR];
                for (ir, asl) in apack.chunks_exact(kc * MR).take(slivers_a).enumerate() {
                    let i0 = ic + ir * MR;
                    let mr = MR.min(ic + mc - i0);
                    let ctile = &mut c[(i0 - rows.start) * rsc + jc + j0..];
                    if mr == MR && nr == NR {
                        kern(kc, g.alpha, asl, bsl, beta, ctile, rsc);
                    } else {
                        edge_tile::<T, MR, NR>(
                            kern, kc, g.alpha, asl, bsl, beta, ctile, rsc, mr, nr,
                        );
                    }
                }
            }
            ic += mc;
        }
        pc += kc;
    }
}

/// A partial `mr×nr` tile: run the kernel on a full scratch tile (holding a
/// copy of C's valid part when `beta != 0`) and copy the valid part back.
/// The arithmetic is exactly the kernel's, so results match full tiles.
#[allow(clippy::too_many_arguments)] // internal; mirrors the kernel arguments
fn edge_tile<T: Elem, const MR: usize, const NR: usize>(
    kern: KernelFn<T>,
    kc: usize,
    alpha: T,
    a: &[T],
    b: &[T],
    beta: T,
    c: &mut [T],
    rsc: usize,
    mr: usize,
    nr: usize,
) {
    let mut tmp = [T::ZERO; TILE_MAX];
    if beta != T::ZERO {
        for i in 0..mr {
            tmp[i * NR..i * NR + nr].copy_from_slice(&c[i * rsc..i * rsc + nr]);
        }
    }
    kern(kc, alpha, a, b, beta, &mut tmp[..MR * NR], NR);
    for i in 0..mr {
        c[i * rsc..i * rsc + nr].copy_from_slice(&tmp[i * NR..i * NR + nr]);
    }
}
