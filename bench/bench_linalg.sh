#!/bin/sh
# bench_linalg.sh: linear algebra, side by side, as ratios.
#   matmul 1024x1024 f32: sonde's GFLOP/s / raw cblas_sgemm's, same process
#     (target >= 0.95);
#   cdist 4096x512 f32: sonde's time / PyTorch's torch.cdist (target <= 1.0).
# Both sides use the same thread count and the same OpenBLAS core type: the
# core sonde would use is exported as OPENBLAS_CORETYPE for every process.
# usage: bench/bench_linalg.sh [threads]   (SONDE=path/to/sonde to choose)
cd "$(dirname "$0")/.." || exit 1
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
T=${1:-$(nproc)}
OPENBLAS_CORETYPE=$("$SONDE" -e 'io.write(tensor.config().blas_core)') || exit 1
export OPENBLAS_CORETYPE
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$SONDE" bench/linalg_bench.lua "$T" >"$out" || exit 1
if $PY -c 'import torch' 2>/dev/null; then
  OMP_NUM_THREADS=$T $PY bench/linalg_torch.py "$T" | sed 's/^cdist4096/torch_cdist4096/' >>"$out"
fi
awk -v T="$T" -v core="$OPENBLAS_CORETYPE" '
  { v[$1] = $2 }
  END {
    printf "threads %d, OpenBLAS core %s (sonde: %s)\n", T, core, v["core"]
    printf "%-28s %12s %12s %8s  %s\n", "benchmark", "sonde", "peer", "ratio", "target"
    f = 2 * 1024 ^ 3 / 1e9
    printf "%-28s %9.1f GF %9.1f GF %8.3f  >= 0.95 (raw cblas_sgemm)\n", "matmul 1024x1024 f32",
      f / v["matmul1024"], f / v["sgemm_raw1024"], v["sgemm_raw1024"] / v["matmul1024"]
    if ("torch_cdist4096" in v)
      printf "%-28s %10.1f ms %10.1f ms %8.3f  <= 1.0 (torch.cdist 1.13)\n", "cdist 4096x512 f32",
        1e3 * v["cdist4096"], 1e3 * v["torch_cdist4096"], v["cdist4096"] / v["torch_cdist4096"]
    else
      printf "%-28s %10.1f ms %13s\n", "cdist 4096x512 f32", 1e3 * v["cdist4096"], "(no torch)"
  }' "$out"
