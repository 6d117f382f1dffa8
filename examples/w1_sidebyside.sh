#!/usr/bin/env bash
# W1 beside PyTorch for every row the bench prints (f32 at the five shapes,
# f64 at 1024³ and at the MLP's 128×784·784×256), where
# ../shared/bench/sidebyside.sh compares the f32 1024³ row only. Same method:
# each round runs our W1 then PyTorch's harness with the same thread count,
# and a row's figure is the median of its per-round GFLOP/s ratios
# (ours/PyTorch's: > 1 means weightwise is faster).
#
#   bash examples/w1_sidebyside.sh [ROUNDS]      (from the crate root; default 5)
#
# Needs the shared harnesses beside the project (../shared/bench/peers) and a
# Python with torch (PY=..., default /tmp/peer-venv/bin/python; see the header
# of ../shared/bench/sidebyside.sh for how to install it).
set -eu
ROUNDS=${1:-5}
PEERS=${PEERS:-../shared/bench/peers}
PY=${PY:-/tmp/peer-venv/bin/python}
[ -x "$PY" ] || { echo "no Python with torch at $PY"; exit 2; }
[ -d "$PEERS" ] || { echo "no peer harnesses at $PEERS"; exit 2; }
cargo build --quiet --release --example bench
BIN=target/release/examples/bench
TMP=$(mktemp)
trap 'rm -f "$TMP"' EXIT
for t in 1 2; do
  for r in $(seq "$ROUNDS"); do
    # "dtype m k n gflops" for each of our rows, then PyTorch's.
    $BIN --threads "$t" W1 | awk -v t="$t" -v r="$r" '/^W1 /{
      split($4, m, "="); split($5, k, "="); split($6, n, "="); split($7, g, "=");
      print "ours", t, r, $3, m[2], k[2], n[2], g[2] }' >>"$TMP"
    (cd "$PEERS" && env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS="$t" \
      "$PY" w1_torch.py --threads "$t" 2>/dev/null) | awk -F, -v t="$t" -v r="$r" '$1=="W1"{
      print "torch", t, r, $3, $4, $5, $6, $8 }' >>"$TMP"
  done
done
python3 - "$TMP" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
ours = {(t, r, d, m, k, n): float(g) for who, t, r, d, m, k, n, g in rows if who == "ours"}
torch = {(t, r, d, m, k, n): float(g) for who, t, r, d, m, k, n, g in rows if who == "torch"}
keys = sorted({(t, d, m, k, n) for (t, r, d, m, k, n) in ours}, key=lambda x: (x[0], x[1], int(x[2]) * int(x[3]) * int(x[4])))
for t, d, m, k, n in keys:
    ratios = [ours[(t, r, d, m, k, n)] / torch[(t, r, d, m, k, n)]
              for (tt, r, dd, mm, kk, nn) in ours if (tt, dd, mm, kk, nn) == (t, d, m, k, n)
              and (t, r, d, m, k, n) in torch]
    if ratios:
        print(f"W1 threads={t} {d} {m}x{k}x{n} median_speed_ratio_vs_pytorch={statistics.median(ratios):.2f} "
              f"(min {min(ratios):.2f}, max {max(ratios):.2f}, {len(ratios)} rounds)")
PY
