#!/bin/sh
# bench_probe.sh: probe.logistic against scikit-learn 1.2's LogisticRegression
# (lbfgs, C = 1/(l2 n)) on the 60000x784 Fashion-MNIST pixels, 10 classes,
# max_iter 100, tol 1e-4: fit time, iterations and training accuracy side by
# side; ratio < 1: sonde faster (target <= 0.3). fit_ms is wall-clock time,
# cpu_ms the process CPU time (steadier on a busy machine, but it counts
# OpenBLAS threads that spin while waiting). Both sides run the same
# OpenBLAS core type and thread count (OPENBLAS_NUM_THREADS for numpy).
# usage: bench/bench_probe.sh [THREADS] [L2]   (SONDE=path/to/sonde to choose)
cd "$(dirname "$0")/.." || exit 1
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
T=${1:-2}
L2=${2:-1e-4}
OPENBLAS_CORETYPE=$("$SONDE" -e 'io.write(tensor.config().blas_core)') || exit 1
export OPENBLAS_CORETYPE
s=$(mktemp); p=$(mktemp)
trap 'rm -f "$s" "$p"' EXIT
"$SONDE" bench/probe_sonde.lua "$T" "$L2" 100 >"$s" || exit 1
if "$PY" -c 'import sklearn' 2>/dev/null; then
  OPENBLAS_NUM_THREADS=$T OMP_NUM_THREADS=$T "$PY" bench/probe_sklearn.py "$T" "$L2" 100 >"$p" ||
    echo "(scikit-learn side failed)"
else
  echo "(no scikit-learn in $PY: its column is empty)"
fi
echo "threads $T, OpenBLAS core $OPENBLAS_CORETYPE; logistic 60000x784, 10 classes, l2=$L2 (C=1/(l2 n)), max_iter 100"
awk 'NR == FNR { sk[$1] = $2; next }
  FNR == 1 { printf "%-10s %12s %12s %8s\n", "", "sonde", "sklearn", "ratio" }
  { v = sk[$1]; r = ($1 ~ /_ms$/ && v > 0) ? sprintf("%.2f", $2 / v) : "-"
    printf "%-10s %12s %12s %8s\n", $1, $2, v == "" ? "-" : v, r }' "$p" "$s"
