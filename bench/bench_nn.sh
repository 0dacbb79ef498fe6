#!/bin/sh
# bench_nn.sh: the layers of the Fashion-MNIST CNN (conv 1->32 3x3, maxpool 2,
# conv 32->64 3x3, maxpool 2, linear 1600->128->10; batch 128) and one Adam
# training step of it, sonde against PyTorch with the same threads and
# OPENBLAS_CORETYPE. Times are the best of 20 runs (ms); ratio < 1: sonde faster.
# usage: bench/bench_nn.sh [THREADS] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
s=$(mktemp); p=$(mktemp)
trap 'rm -f "$s" "$p"' EXIT
"$SONDE" bench/nn_sonde.lua "$T" >"$s" || exit 1
"$PY" bench/nn_torch.py "$T" >"$p" 2>/dev/null || echo "(PyTorch side failed; torch column empty)"
echo "threads: $T, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(sonde's choice)}"
awk 'NR == FNR { torch[$1] = $2; next }
  FNR == 1 { printf "%-18s %10s %10s %8s\n", "op", "sonde ms", "torch ms", "ratio" }
  { t = torch[$1]; r = t > 0 ? sprintf("%.2f", $2 / t) : "-"
    printf "%-18s %10.3f %10s %8s\n", $1, $2, t == "" ? "-" : sprintf("%.3f", t), r }' "$p" "$s"
