# versus_torch.sh: sourced by the op benchmarks (bench_index, bench_math,
# bench_nn) after they cd to the top: runs bench/${NAME}_sonde.lua and
# bench/${NAME}_torch.py with the caller's $1 threads (default 2) into $s and
# $p, and sets TABLE, the awk program that prints op, both times (ms) and the
# ratio (< 1: sonde faster) from "awk "$TABLE" "$p" "$s"".
T=${1:-2}
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
s=$(mktemp); p=$(mktemp)
trap 'rm -f "$s" "$p"' EXIT
"$SONDE" "bench/${NAME}_sonde.lua" "$T" >"$s" || exit 1
"$PY" "bench/${NAME}_torch.py" "$T" >"$p" 2>/dev/null || echo "(PyTorch side failed; torch column empty)"
TABLE='NR == FNR { torch[$1] = $2; next }
  FNR == 1 { printf "%-18s %10s %10s %8s\n", "op", "sonde ms", "torch ms", "ratio" }
  { t = torch[$1]; r = t > 0 ? sprintf("%.2f", $2 / t) : "-"
    printf "%-18s %10.3f %10s %8s\n", $1, $2, t == "" ? "-" : sprintf("%.3f", t), r }'
