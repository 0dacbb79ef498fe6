#!/bin/sh
# bench_detect.sh: detect.iforest and detect.lof against scikit-learn's
# IsolationForest and LocalOutlierFactor(novelty=True) on the same data
# (train N x 10 Gaussian; test N/4 rows, 10% of them shifted and scaled
# outliers), same thread count. Prints each AUROC and the fit+score time
# (best of 3) side by side, with the time ratio sonde / sklearn.
# usage: bench/bench_detect.sh [THREADS] [N] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
T=${1:-2}
N=${2:-20000}
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T
"$PY" - "$N" "$d" <<'PY' || exit 1
import sys, numpy as np
n, d = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
m = n // 4; k = m // 10
tr = rng.normal(size=(n, 10))
te = np.vstack([rng.normal(size=(m - k, 10)), rng.normal(size=(k, 10)) * 2 + 1.5])
y = np.r_[np.zeros(m - k), np.ones(k)].astype(np.int64)
np.savez(d + "/in.npz", tr=tr, te=te, y=y)
PY
"$SONDE" - "$T" "$d" >"$d/sonde.txt" <<'LUA' || exit 1
local T, dir = tonumber(arg[1]), arg[2]
local timing = dofile("bench/timing.lua")
tensor.set_num_threads(T)
local c = data.load_npz(dir .. "/in.npz")
local tr, te = c.tr:to("f32"), c.te:to("f32")
for _, name in ipairs { "iforest", "lof" } do
  local s
  local ms = timing.best(3, function() s = detect[name](tr, { seed = 0 }):score(te) end)
  print(string.format("%s %.4f %.6f", name, ms / 1e3, metrics.auroc(s, c.y)))
end
LUA
"$PY" - "$d" >"$d/sk.txt" <<'PY' || exit 1
import sys, time, numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from sklearn.metrics import roc_auc_score
c = np.load(sys.argv[1] + "/in.npz")
tr, te = c["tr"].astype(np.float32), c["te"].astype(np.float32)
for name, make in (("iforest", lambda: IsolationForest(random_state=0)),
                   ("lof", lambda: LocalOutlierFactor(novelty=True))):
    best = 1e9
    for _ in range(3):
        t0 = time.perf_counter(); s = -make().fit(tr).score_samples(te); best = min(best, time.perf_counter() - t0)
    print("%s %.4f %.6f" % (name, best, roc_auc_score(c["y"], s)))
PY
echo "train $N x 10, test $((N / 4)) x 10 (10% outliers), threads $T"
awk 'NR == FNR { t[$1] = $2; a[$1] = $3; next }
  FNR == 1 { printf "%-8s %10s %10s %8s %12s %12s\n", "detector", "sonde s", "sklearn s", "ratio", "sonde AUROC", "sklearn AUROC" }
  { printf "%-8s %10.3f %10.3f %8.2f %12.4f %12.4f\n", $1, $2, t[$1], $2 / t[$1], $3, a[$1] }' "$d/sk.txt" "$d/sonde.txt"
