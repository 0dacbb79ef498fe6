#!/bin/sh
# bench_metrics.sh: metrics.auroc and metrics.aupr on 10^7 scores (f64 with
# ties: 4 decimals; 10% positives) against scikit-learn's roc_auc_score and
# average_precision_score on the same arrays, same thread count. Times are
# the best of 3 runs (s); both values are printed to show they agree.
# usage: bench/bench_metrics.sh [THREADS] [N] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
N=${2:-10000000}
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
"$SONDE" - "$T" "$N" "$d" >"$d/sonde.txt" <<'LUA' || exit 1
local T, N, dir = tonumber(arg[1]), tonumber(arg[2]), arg[3]
local timing = dofile("bench/timing.lua")
tensor.set_num_threads(T)
local g = tensor.generator(1)
local y = tensor.rand(N, { gen = g, dtype = "f64" }):lt(0.1):to("i64")
local s = (tensor.randn(N, { gen = g, dtype = "f64" }) + y * 0.5):mul(1e4):round():div(1e4)
data.save_npy(dir .. "/s.npy", s)
data.save_npy(dir .. "/y.npy", y)
local a, p
timing.out("auroc", timing.best(3, function() a = metrics.auroc(s, y) end) / 1e3)
timing.out("aupr", timing.best(3, function() p = metrics.aupr(s, y) end) / 1e3)
print(string.format("value_auroc %.17g\nvalue_aupr %.17g", a, p))
LUA
"$PY" - "$d" >"$d/sk.txt" <<'PY' || exit 1
import sys, time, numpy as np
from sklearn.metrics import roc_auc_score, average_precision_score
d = sys.argv[1]
s, y = np.load(d + "/s.npy"), np.load(d + "/y.npy")
for name, f in (("auroc", roc_auc_score), ("aupr", average_precision_score)):
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter(); v = f(y, s); best = min(best, time.perf_counter() - t0)
    print("%s %.4f" % (name, best)); print("value_%s %.17g" % (name, v))
PY
echo "N = $N scores, threads $T (scikit-learn $("$PY" -c 'import sklearn; print(sklearn.__version__)'))"
awk 'NR == FNR { sk[$1] = $2; next }
  { so[$1] = $2 }
  END {
    printf "%-8s %10s %10s %8s   %-19s %-19s\n", "metric", "sonde s", "sklearn s", "ratio", "sonde value", "sklearn value"
    split("auroc aupr", names, " ")
    for (i = 1; i <= 2; i++) {
      m = names[i]
      printf "%-8s %10.3f %10.3f %8.2f   %-19.15f %-19.15f\n", m, so[m], sk[m], so[m] / sk[m], so["value_" m], sk["value_" m]
    }
  }' "$d/sk.txt" "$d/sonde.txt"
