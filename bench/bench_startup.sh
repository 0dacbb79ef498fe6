#!/bin/sh
# bench_startup.sh: start-up time of `sonde -e ''` beside a bare `lua5.4 -e ''`
# and `python3 -c 'import torch'`: the median wall time of N runs each
# (torch fewer), and sonde - lua in ms (target: at most 2 ms).
# Uses hyperfine when installed (NO_HYPERFINE=1 to skip it), else a timing
# loop with date +%s%N.
# usage: bench/bench_startup.sh [SONDE] [RUNS]
cd "$(dirname "$0")/.." || exit 1
SONDE=${1:-./sonde}
RUNS=${2:-50}
TORCH_RUNS=10
PY=/usr/bin/python3
[ -x "$SONDE" ] || { echo "bench_startup: no sonde at $SONDE (run make)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# median_ms NAME RUNS 'COMMAND LINE': prints the median wall time in ms and
# the mean CPU time (user + system; "-" when unknown), which is steadier on
# a busy machine.
if [ -z "$NO_HYPERFINE" ] && command -v hyperfine >/dev/null 2>&1; then
  median_ms() {
    name=$1 runs=$2
    hyperfine -N -w 3 -r "$runs" --export-csv "$tmp/$name.csv" "$3" >/dev/null 2>&1 ||
      { echo "nan -"; return; }
    # command,mean,stddev,median,user,system,min,max in seconds
    awk -F, 'NR == 2 { printf "%.2f %.2f\n", $4 * 1000, ($5 + $6) * 1000 }' "$tmp/$name.csv"
  }
  how="hyperfine -N (no shell)"
else
  median_ms() {
    name=$1 runs=$2
    : >"$tmp/$name.txt"
    i=0
    while [ $i -lt "$runs" ]; do
      t0=$(date +%s%N)
      eval "$3" >/dev/null 2>&1
      t1=$(date +%s%N)
      echo $(( (t1 - t0) / 1000 )) >>"$tmp/$name.txt"
      i=$((i + 1))
    done
    sort -n "$tmp/$name.txt" | awk '{ v[NR] = $1 } END {
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f -\n", m / 1000 }'
  }
  how="a date +%s%N loop (includes fork/exec from sh)"
fi

sonde_ms=$(median_ms sonde "$RUNS" "$SONDE -e ''")
lua_ms=$(median_ms lua "$RUNS" "lua5.4 -e ''")
if $PY -c 'import torch' >/dev/null 2>&1; then
  torch_ms=$(median_ms torch "$TORCH_RUNS" "$PY -c 'import torch'")
else
  torch_ms="n/a -"
fi

echo "start-up, median wall time ($how)"
printf "  %-30s %5s %10s %8s\n" "command" "runs" "median ms" "cpu ms"
printf "  %-30s %5d %10s %8s\n" "sonde -e ''" "$RUNS" $sonde_ms
printf "  %-30s %5d %10s %8s\n" "lua5.4 -e ''" "$RUNS" $lua_ms
printf "  %-30s %5d %10s %8s\n" "python3 -c 'import torch'" "$TORCH_RUNS" $torch_ms
echo "$sonde_ms $lua_ms $torch_ms" | awk '{
  d = $1 - $3
  printf "  sonde - lua: %.2f ms wall (target <= 2 ms: %s)", d, d <= 2 ? "met" : "NOT met"
  if ($2 != "-") printf ", %.2f ms cpu", $2 - $4
  printf "\n"
  if ($5 + 0 > 0) printf "  import torch / sonde: %.0fx\n", $5 / $1
}'
