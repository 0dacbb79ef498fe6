#!/bin/sh
# test_sklearn_probe.sh: probe.logistic against scikit-learn 1.2's
# LogisticRegression (lbfgs, C = 1/(l2 n)), /usr/bin/python3. On Fashion-MNIST
# pixels in [0,1] and on the hidden activations of a small trained MLP:
# where both converge (moderate l2) the coefficients agree to 1e-3 relative
# (max |difference| / max |coefficient|) and the test accuracies to 0.5
# points; at the defaults (C = 1, max_iter 100, neither converging) the test
# accuracies agree to 0.5 points. Binary, multinomial, class_weight and
# fit_intercept=false cases. Prints the TALLY line.
PEER_MODULES="sklearn, numpy" . tests/peer.sh

"$SONDE" - "$out" <<'LUA' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
local dir = arg[1]
local Xa, ya = data.fashion_mnist()
local Xb, yb = data.fashion_mnist { split = "test" }
local X, y = Xa:view(60000, 784):narrow(1, 1, 2000):contiguous(), ya:narrow(1, 1, 2000):contiguous()
local Xt, yt = Xb:view(10000, 784):narrow(1, 1, 2000):contiguous(), yb:narrow(1, 1, 2000):contiguous()
-- hidden activations of an MLP trained for a few epochs (seeded)
local g = tensor.generator(5)
local mlp = nn.Sequential { nn.Linear(784, 64, { gen = g }), nn.ReLU(), nn.Linear(64, 10, { gen = g }) }
local opt = optim.Adam(mlp:parameters(), { lr = 3e-3 })
for _ = 1, 60 do
  opt:zero_grad()
  local loss = nn.functional.cross_entropy(mlp(X), y)
  loss:backward()
  opt:step()
end
local H, Ht
autograd.no_grad(function()
  H = mlp:capture(X, { "2" })["2"]:contiguous()
  Ht = mlp:capture(Xt, { "2" })["2"]:contiguous()
end)
-- binary: pullover (3) against coat (5), imbalanced by keeping 1 in 3 coats
local keep, keept = {}, {}
local function pick(labels, list)
  local coats = 0
  for i, v in ipairs(labels:tolist()) do
    if v == 3 then list[#list + 1] = i
    elseif v == 5 then coats = coats + 1; if coats % 3 == 0 then list[#list + 1] = i end end
  end
  return tensor.new(list)
end
local bi, bit = pick(y, keep), pick(yt, keept)
-- standardised activations (train mean and std): with an intercept, raw
-- ReLU features make the problem so ill-conditioned that both solvers stop
-- on the relative decrease far from the optimum, where they disagree
local mu, sd = H:mean(1, true), H:std(1, true):clamp(1e-3)
local Hc, Hct = ((H - mu) / sd):contiguous(), ((Ht - mu) / sd):contiguous()
local B, by, Bt, byt = X:index_select(1, bi), y:index_select(1, bi), Xt:index_select(1, bit), yt:index_select(1, bit)

local res = { X = X, y = y, Xt = Xt, yt = yt, H = H, Ht = Ht, Hc = Hc, Hct = Hct, B = B, by = by, Bt = Bt, byt = byt }
local function case(name, A, labels, At, lt, opts)
  local p = probe.logistic(A, labels, opts)
  res[name .. "_coef"] = p.coef:to("f64")
  res[name .. "_b"] = p.intercept:to("f64")
  res[name .. "_acc"] = tensor.new({ p:score(At, lt) }, { dtype = "f64" })
  res[name .. "_conv"] = tensor.new({ p.converged and 1 or 0 }, { dtype = "f64" })
  io.write(string.format("sonde %-10s n_iter %3d %s\n", name, p.n_iter, p.stop))
end
case("pix", X, y, Xt, yt, { l2 = 0.05, max_iter = 1000 })
case("pix64", X:to("f64"), y, Xt, yt, { l2 = 0.05, max_iter = 1000 })
case("hid", Hc, y, Hct, yt, { l2 = 0.05, max_iter = 1000 })
case("hidnob", H, y, Ht, yt, { l2 = 0.05, fit_intercept = false, max_iter = 1000 })
case("bin", B, by, Bt, byt, { l2 = 0.02, max_iter = 1000 })
case("binbal", B, by, Bt, byt, { l2 = 0.02, class_weight = "balanced", max_iter = 1000 })
case("bintab", B, by, Bt, byt, { l2 = 0.02, class_weight = { [3] = 2.5 }, max_iter = 1000 })
case("pixdef", X, y, Xt, yt, {})
case("hiddef", H, y, Ht, yt, {})
-- ridge: one-hot targets, three alphas from one eigendecomposition
local Y1 = tensor.one_hot(y, 10):to("f32")
for i, r in ipairs(probe.ridge(X, Y1, { alpha = { 0.1, 10, 1000 } })) do
  res["ridge" .. i .. "_coef"], res["ridge" .. i .. "_b"] = r.coef:to("f64"), r.intercept:to("f64")
end
res.ridge_r2 = tensor.new({ probe.ridge(X, Y1, { alpha = 10 }):score(Xt, tensor.one_hot(yt, 10)) }, { dtype = "f64" })
local l1 = probe.lda(X, y, { shrinkage = 0.1 })
local l2 = probe.lda(Hc, y)
local l3 = probe.lda(B, by, { shrinkage = 0.05 })
res.lda1_coef, res.lda1_b = l1.coef:to("f64"), l1.intercept:to("f64")
res.lda2_coef, res.lda2_b = l2.coef:to("f64"), l2.intercept:to("f64")
res.lda3_coef, res.lda3_b = l3.coef:to("f64"), l3.intercept:to("f64")
data.save_npz(dir .. "/r.npz", res)
LUA

"$PY" - "$out" <<'PY'
import sys, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression
warnings.simplefilter("ignore")
r = np.load(sys.argv[1] + "/r.npz")
from peer_check import check, tally
cases = [  # name, data, l2 (None: C = 1), options, compare coefficients
    ("pix", "X", 0.05, {}, True), ("pix64", "X", 0.05, {}, True),
    ("hid", "Hc", 0.05, {}, True), ("hidnob", "H", 0.05, {"fit_intercept": False}, True),
    ("bin", "B", 0.02, {}, True), ("binbal", "B", 0.02, {"class_weight": "balanced"}, True),
    ("bintab", "B", 0.02, {"class_weight": {3: 2.5}}, True),
    ("pixdef", "X", None, {}, False), ("hiddef", "H", None, {}, False),
]
for name, d, l2, opts, coef in cases:
    lab = "by" if d == "B" else "y"
    X, y, Xt, yt = r[d].astype(np.float64), r[lab], r[d + "t"].astype(np.float64), r[lab + "t"]
    n = len(y)
    C = 1.0 if l2 is None else 1 / (l2 * n)
    m = LogisticRegression(C=C, max_iter=100 if l2 is None else 1000, tol=1e-4, **opts).fit(X, y)
    acc_sk, acc_sd = m.score(Xt, yt), float(r[name + "_acc"][0])
    check(abs(acc_sk - acc_sd) <= 0.005,
          "%-7s test accuracy sonde %.4f sklearn %.4f (n_iter %d)" % (name, acc_sd, acc_sk, m.n_iter_[0]))
    if coef:
        W, b = r[name + "_coef"], r[name + "_b"]
        check(r[name + "_conv"][0] == 1 and m.n_iter_[0] < 1000, "%-7s both converged" % name)
        rel = np.abs(W - m.coef_).max() / np.abs(m.coef_).max()
        relb = np.abs(b - m.intercept_).max() / max(np.abs(m.intercept_).max(), 1e-12) if opts.get("fit_intercept", True) else 0
        check(rel <= 1e-3 and relb <= 1e-2, "%-7s coef rel. difference %.2e, intercept %.2e" % (name, rel, relb))
from sklearn.linear_model import Ridge
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis as LDA
X, y = r["X"].astype(np.float64), r["y"]
Y1 = np.eye(10)[y - 1]
for i, a in enumerate((0.1, 10, 1000)):
    m = Ridge(alpha=a).fit(X, Y1)
    W, b = r["ridge%d_coef" % (i + 1)], r["ridge%d_b" % (i + 1)]
    rel = np.abs(W - m.coef_).max() / np.abs(m.coef_).max()
    check(rel <= 1e-4 and np.abs(b - m.intercept_).max() <= 1e-4, "ridge alpha=%g coef rel. difference %.2e" % (a, rel))
m = Ridge(alpha=10).fit(X, Y1)
r2 = m.score(r["Xt"].astype(np.float64), np.eye(10)[r["yt"] - 1])
check(abs(r2 - r["ridge_r2"][0]) <= 1e-4, "ridge R^2 sonde %.5f sklearn %.5f" % (r["ridge_r2"][0], r2))
for name, d, lab, shr in (("lda1", "X", "y", 0.1), ("lda2", "Hc", "y", None), ("lda3", "B", "by", 0.05)):
    m = LDA(solver="lsqr", shrinkage=shr).fit(r[d].astype(np.float64), r[lab])
    W, b = r[name + "_coef"], r[name + "_b"]
    rel = np.abs(W - m.coef_).max() / np.abs(m.coef_).max()
    relb = np.abs(b - m.intercept_).max() / np.abs(m.intercept_).max()
    check(rel <= 1e-3 and relb <= 1e-3, "%s coef rel. difference %.2e, intercept %.2e" % (name, rel, relb))
tally()
PY
