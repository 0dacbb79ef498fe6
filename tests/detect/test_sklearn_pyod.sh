#!/bin/sh
# test_sklearn_pyod.sh: detect.hbos and detect.ecod against NumPy ports of
# PyOD's code (PyOD itself is not installed: the reference below is PyOD's
# HBOS _calculate_outlier_scores and ECOD decision_function, with ECOD's
# ECDF taken over the training set plus the scored point, as documented in
# docs/detect.md). Test points include values outside the training range
# (beyond and within HBOS's tol) and ties. Prints the TALLY line.
PEER_MODULES="numpy, scipy.stats" . tests/peer.sh
"$PY" - "$out" <<'PY' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
import sys, numpy as np
rng = np.random.default_rng(5)
tr = np.c_[rng.normal(size=300), rng.exponential(size=300), np.round(rng.normal(size=300), 1), np.full(300, 2.0)]
te = np.c_[rng.normal(size=80) * 2, rng.exponential(size=80) * 1.5 - 0.2, np.round(rng.normal(size=80), 1), np.r_[np.full(40, 2.0), np.full(40, 2.3)]]
np.savez(sys.argv[1] + "/in.npz", tr=tr, te=te)
PY
"$SONDE" - "$out" <<'LUA' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
local dir = arg[1]
local c = data.load_npz(dir .. "/in.npz")
data.save_npz(dir .. "/out.npz", { hbos = detect.hbos(c.tr):score(c.te), hbos5 = detect.hbos(c.tr, { n_bins = 5, tol = 0.1 }):score(c.te),
  ecod = detect.ecod(c.tr):score(c.te) })
LUA
"$PY" - "$out" <<'PY'
import sys, numpy as np
from scipy.stats import skew
d = sys.argv[1]
c, r = np.load(d + "/in.npz"), np.load(d + "/out.npz")
tr, te = c["tr"], c["te"]
def hbos(X, T, n_bins=10, alpha=0.1, tol=0.5):     # PyOD's HBOS (static bins)
    hist = np.zeros([n_bins, X.shape[1]]); edges = np.zeros([n_bins + 1, X.shape[1]])
    for i in range(X.shape[1]):
        hist[:, i], edges[:, i] = np.histogram(X[:, i], bins=n_bins, density=True)
    out = np.zeros(T.shape)
    for i in range(T.shape[1]):
        inds = np.digitize(T[:, i], edges[:, i], right=True)
        s = np.log2(hist[:, i] + alpha)
        for j in range(T.shape[0]):
            if inds[j] == 0:
                w = edges[1, i] - edges[0, i]
                out[j, i] = s[0] if edges[0, i] - T[j, i] <= w * tol else np.min(s)
            elif inds[j] == n_bins + 1:
                w = edges[-1, i] - edges[-2, i]
                out[j, i] = s[n_bins - 1] if T[j, i] - edges[-1, i] <= w * tol else np.min(s)
            else:
                out[j, i] = s[inds[j] - 1]
    return -out.sum(1)
def ecod(X, T):   # PyOD's ECOD, ECDF over the training set plus the point
    n = X.shape[0]
    le = np.array([[(X[:, j] <= t[j]).sum() for j in range(X.shape[1])] for t in T])
    ge = np.array([[(X[:, j] >= t[j]).sum() for j in range(X.shape[1])] for t in T])
    ul, ur = -np.log((le + 1) / (n + 1)), -np.log((ge + 1) / (n + 1))
    sk = np.nan_to_num(np.sign(skew(X, axis=0)))  # a constant feature: skew 0 (PyOD gives NaN)
    us = ul * -1 * np.sign(sk - 1) + ur * np.sign(sk + 1)
    return np.maximum(us, (ul + ur) / 2).sum(1)
passed = failed = 0
for name, got, want in (("hbos", r["hbos"], hbos(tr, te)), ("hbos n_bins=5 tol=0.1", r["hbos5"], hbos(tr, te, 5, 0.1, 0.1)),
                        ("ecod", r["ecod"], ecod(tr, te))):
    if np.allclose(got, want, rtol=1e-9, atol=1e-9): passed += 1
    else: failed += 1; print("FAIL", name, np.abs(got - want).max(), np.argmax(np.abs(got - want)))
print("TALLY %d passed, %d failed" % (passed, failed))
PY
