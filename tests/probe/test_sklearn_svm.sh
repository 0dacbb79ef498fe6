#!/bin/sh
# test_sklearn_svm.sh: probe.svm (the SMO of runtime/ml/svm.c) against
# scikit-learn 1.2's SVC (LIBSVM) with the same tol = 1e-3, /usr/bin/python3.
# Random problems (separable, overlapping, imbalanced, many features, rbf,
# 3000 noisy points with a 10 MB cache):
# decision values agree to 1e-3 relative (max |difference| / max |value|),
# intercepts to 1e-2 absolute, support sets by at least 95% (Jaccard), dual
# objectives to 1e-3 relative. Prints the TALLY line.
PEER_MODULES="sklearn, numpy" . tests/peer.sh

"$SONDE" - "$out" <<'LUA' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
local dir = arg[1]
local res = {}
-- name, n, d, class shift, share of positives, C, kernel
local cases = {
  { "sep", 200, 5, 3.0, 0.5, 1.0, "linear" },
  { "overlap", 400, 8, 0.8, 0.5, 1.0, "linear" },
  { "imbal", 300, 4, 1.0, 0.15, 10.0, "linear" },
  { "wide", 150, 60, 0.5, 0.5, 0.1, "linear" },
  { "smallC", 500, 3, 1.0, 0.4, 0.01, "linear" },
  { "rbf", 300, 4, 1.0, 0.5, 1.0, "rbf" },
  { "big", 3000, 20, 0.5, 0.5, 1.0, "linear", 10 },   -- 10 MB: columns evicted, shrinking at work
}
for k, c in ipairs(cases) do
  local name, n, d, shift, share, C, kern, cache = table.unpack(c)
  local g = tensor.generator(100 + k)
  local y = tensor.rand(n, { gen = g }):lt(share):to("i64")
  local X = tensor.randn(n, d, { gen = g, dtype = "f64" }) + y:to("f64"):view(-1, 1) * shift
  if kern == "rbf" then X = tensor.cat({ X:narrow(2, 1, 1):pow(2), X:narrow(2, 2, d - 1) }, 2) end
  local Xt = tensor.randn(200, d, { gen = g, dtype = "f64" })
  local t0 = os.clock()
  local m = probe.svm(X, y, { C = C, kernel = kern, gamma = kern == "rbf" and 0.5 or nil, cache_mb = cache })
  io.write(string.format("sonde %-8s n_iter %6d  %.3f s\n", name, m.n_iter, os.clock() - t0))
  res[name .. "_X"], res[name .. "_y"], res[name .. "_Xt"] = X, y, Xt
  res[name .. "_dec"] = m:decision_function(Xt)
  res[name .. "_b"] = tensor.new({ m.intercept }, { dtype = "f64" })
  res[name .. "_alpha"] = m.alpha
  res[name .. "_obj"] = tensor.new({ m.objective }, { dtype = "f64" })
end
data.save_npz(dir .. "/r.npz", res)
LUA

"$PY" - "$out" <<'PY'
import sys, time
import numpy as np
from sklearn.svm import SVC
r = np.load(sys.argv[1] + "/r.npz")
from peer_check import check, tally
cases = [("sep", 1.0, "linear"), ("overlap", 1.0, "linear"), ("imbal", 10.0, "linear"),
         ("wide", 0.1, "linear"), ("smallC", 0.01, "linear"), ("rbf", 1.0, "rbf"), ("big", 1.0, "linear")]
for name, C, kern in cases:
    X, y, Xt = r[name + "_X"], r[name + "_y"], r[name + "_Xt"]
    t0 = time.time()
    m = SVC(kernel=kern, C=C, tol=1e-3, gamma=0.5 if kern == "rbf" else "scale").fit(X, y)
    dt = time.time() - t0
    dec = m.decision_function(Xt)
    rel = np.abs(dec - r[name + "_dec"]).max() / np.abs(dec).max()
    check(rel <= 1e-3, "%-8s decision values rel. difference %.2e (sklearn %.3f s, n_iter %d)" % (name, rel, dt, m.n_iter_[0]))
    db = abs(m.intercept_[0] - r[name + "_b"][0])
    check(db <= 1e-2, "%-8s intercept sonde %.5f sklearn %.5f" % (name, r[name + "_b"][0], m.intercept_[0]))
    a = r[name + "_alpha"]
    ours, theirs = set(np.flatnonzero(a > 0)), set(m.support_)
    jac = len(ours & theirs) / len(ours | theirs)
    check(jac >= 0.95, "%-8s support sets: sonde %d sklearn %d, Jaccard %.3f" % (name, len(ours), len(theirs), jac))
    # dual objective of sklearn's solution: sum a - 1/2 |sum a_i y_i phi_i|^2
    al = np.zeros(len(y)); al[m.support_] = np.abs(m.dual_coef_[0])
    t = np.where(y == 1, 1.0, -1.0)
    if kern == "linear":
        K = X @ X.T
    else:
        sq = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1); K = np.exp(-0.5 * sq)
    obj = al.sum() - 0.5 * (al * t) @ K @ (al * t)
    ro = abs(obj - r[name + "_obj"][0]) / abs(obj)
    check(ro <= 1e-3, "%-8s dual objective sonde %.6f sklearn %.6f" % (name, r[name + "_obj"][0], obj))
tally()
PY
