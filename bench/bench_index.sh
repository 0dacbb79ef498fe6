#!/bin/sh
# bench_index.sh: indexing, scatter, sort and joining ops of sonde against
# PyTorch on the same thread count. Times are the best of several runs (ms).
# usage: bench/bench_index.sh [THREADS] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
s=$(mktemp); p=$(mktemp)
trap 'rm -f "$s" "$p"' EXIT
"$SONDE" bench/index_sonde.lua "$T" >"$s" || exit 1
"$PY" bench/index_torch.py "$T" >"$p" 2>/dev/null || echo "(PyTorch side failed; torch column empty)"
echo "threads: $T (x: 4096x512 f32, v: 2^22 f32; stable sorts on both sides)"
awk 'NR == FNR { torch[$1] = $2; next }
  FNR == 1 { printf "%-18s %10s %10s %8s\n", "op", "sonde ms", "torch ms", "ratio" }
  { t = torch[$1]; r = t > 0 ? sprintf("%.2f", $2 / t) : "-"
    printf "%-18s %10.3f %10s %8s\n", $1, $2, t == "" ? "-" : sprintf("%.3f", t), r }' "$p" "$s"
