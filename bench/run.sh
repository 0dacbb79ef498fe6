#!/bin/sh
# run.sh: every benchmark, side by side with its peer, printed as ratios.
# Each bench/bench_*.sh prints its own table; run one alone to focus.
# Benchmarks use the same BLAS core type and thread count for every side.
cd "$(dirname "$0")/.." || exit 1
for b in bench/bench_*.sh; do
  [ -f "$b" ] || continue
  echo "== $b"
  sh "$b" || echo "($b failed)"
done
