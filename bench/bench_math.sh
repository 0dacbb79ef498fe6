#!/bin/sh
# bench_math.sh: elementwise and reduction ops of sonde against PyTorch on
# the same thread count, then add's bandwidth against memcpy's, measured in
# the same sonde process. Times are the best of several runs (ms).
# usage: bench/bench_math.sh [THREADS] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
s=$(mktemp); p=$(mktemp)
trap 'rm -f "$s" "$p"' EXIT
"$SONDE" bench/math_sonde.lua "$T" >"$s" || exit 1
"$PY" bench/math_torch.py "$T" >"$p" 2>/dev/null || echo "(PyTorch side failed; torch column empty)"
echo "threads: $T (4096x512 f32; dim 2 is the last dim, 1-based)"
awk 'NR == FNR { torch[$1] = $2; next }
  FNR == 1 { printf "%-18s %10s %10s %8s\n", "op", "sonde ms", "torch ms", "ratio" }
  { t = torch[$1]; r = t > 0 ? sprintf("%.2f", $2 / t) : "-"
    printf "%-18s %10.3f %10s %8s\n", $1, $2, t == "" ? "-" : sprintf("%.3f", t), r
    ms[$1] = $2 }
  END {
    # bytes moved: add reads 2 and writes 1 array, memcpy reads 1 and writes 1
    mb = 4 * 2^24 / 1e6
    add = 3 * mb / ms["add_2^24"]; addi = 3 * mb / ms["add_inplace_2^24"]; cp = 2 * mb / ms["memcpy_2^24"]
    printf "\nbandwidth GB/s: memcpy %.1f, add %.1f (%.2f of memcpy), add_ %.1f (%.2f of memcpy)\n",
      cp, add, add / cp, addi, addi / cp
  }' "$p" "$s"
