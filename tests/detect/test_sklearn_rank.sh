#!/bin/sh
# test_sklearn_rank.sh: metrics.auroc (also with max_fpr), aupr, aupr_trapz, roc_curve,
# pr_curve, fpr_at_tpr and tpr_at_fpr against scikit-learn (Debian's 1.2,
# /usr/bin/python3) to 1e-9, on random scores with heavy ties, several
# prevalences, f32/f64 scores and i64/bool/f32 labels. Prints the TALLY line.
PEER_MODULES="sklearn, numpy" . tests/peer.sh

"$PY" - "$out" <<'PY' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
import sys, numpy as np
rng = np.random.default_rng(7)
cases = {}
i = 0
for n in (2, 7, 50, 1000, 20000):
    for levels in (2, 3, 10, 0):          # 0: continuous scores
        for prev in (0.05, 0.5, 0.9):
            i += 1
            y = (rng.random(n) < prev).astype(np.int64)
            y[0], y[-1] = 1, 0             # both classes present
            s = rng.integers(0, levels, n) / levels if levels else rng.normal(size=n)
            s = s.astype(np.float32 if i % 2 else np.float64)
            if i % 3 == 1: y = y.astype(bool)
            elif i % 3 == 2: y = y.astype(np.float32)
            cases["s%d" % i], cases["y%d" % i] = s, y
# all scores equal, and a one-positive case
cases["s900"], cases["y900"] = np.full(10, 0.5), np.array([1, 0] * 5)
cases["s901"], cases["y901"] = np.arange(9.0), np.array([0] * 8 + [1])
np.savez(sys.argv[1] + "/in.npz", **cases)
PY

"$SONDE" - "$out" <<'LUA' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
local dir = arg[1]
local cases, res = data.load_npz(dir .. "/in.npz"), {}
local function scalar(v) return tensor.full({ 1 }, v, { dtype = "f64" }) end
for name, s in pairs(cases) do
  local id = name:match("^s(%d+)$")
  if id then
    local y = cases["y" .. id]
    res["auroc" .. id] = scalar(metrics.auroc(s, y))
    res["pauc" .. id] = tensor.new({ metrics.auroc(s, y, { max_fpr = 0.1 }), metrics.auroc(s, y, { max_fpr = 0.5 }) }, { dtype = "f64" })
    res["ap" .. id] = scalar(metrics.aupr(s, y))
    res["trapz" .. id] = scalar(metrics.aupr_trapz(s, y))
    res["fpr" .. id], res["tpr" .. id], res["thr" .. id] = metrics.roc_curve(s, y)
    res["fprall" .. id], res["tprall" .. id] = metrics.roc_curve(s, y, { drop_intermediate = false })
    res["prec" .. id], res["rec" .. id], res["pthr" .. id] = metrics.pr_curve(s, y)
    for k, t in ipairs { 0.5, 0.8, 0.95 } do
      for _, rule in ipairs { "first_ge", "nearest", "quantile" } do
        res[string.format("fat_%s_%d_%s", rule, k, id)] = scalar(metrics.fpr_at_tpr(s, y, t, { rule = rule }))
      end
    end
    for k, x in ipairs { 0.001, 0.05, 0.1, 0.3 } do
      res[string.format("taf_le_%d_%s", k, id)] = scalar(metrics.tpr_at_fpr(s, y, x))
      res[string.format("taf_lt_%d_%s", k, id)] = scalar(metrics.tpr_at_fpr(s, y, x, { strict = true }))
    end
  end
end
data.save_npz(dir .. "/out.npz", res)
LUA

"$PY" - "$out" <<'PY'
import sys, numpy as np
from sklearn.metrics import (roc_auc_score, average_precision_score, roc_curve,
                             precision_recall_curve, auc)
d = sys.argv[1]
cin, r = np.load(d + "/in.npz"), np.load(d + "/out.npz")
passed = failed = 0
def check(name, got, want):
    global passed, failed
    got, want = np.asarray(got, float), np.asarray(want, float)
    if got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-9):
        passed += 1
    else:
        failed += 1
        print("FAIL", name, got.ravel()[:8], want.ravel()[:8], got.shape, want.shape)
ids = sorted(k[1:] for k in cin.files if k[0] == "s")
for i in ids:
    s, y = cin["s" + i], cin["y" + i].astype(np.int64)
    check("auroc " + i, r["auroc" + i][0], roc_auc_score(y, s))
    check("ap " + i, r["ap" + i][0], average_precision_score(y, s))
    check("auroc max_fpr " + i, r["pauc" + i], [roc_auc_score(y, s, max_fpr=0.1), roc_auc_score(y, s, max_fpr=0.5)])
    f, t, h = roc_curve(y, s)
    check("roc fpr " + i, r["fpr" + i], f); check("roc tpr " + i, r["tpr" + i], t)
    check("roc thr " + i, r["thr" + i], h)
    fa, ta, _ = roc_curve(y, s, drop_intermediate=False)
    check("roc all " + i, np.r_[r["fprall" + i], r["tprall" + i]], np.r_[fa, ta])
    p, rc, ph = precision_recall_curve(y, s)
    check("pr prec " + i, r["prec" + i], p); check("pr rec " + i, r["rec" + i], rc)
    check("pr thr " + i, r["pthr" + i], ph)
    check("trapz " + i, r["trapz" + i][0], auc(rc, p))
    pos, neg = np.sort(s[y == 1]), s[y == 0]
    for k, tt in enumerate((0.5, 0.8, 0.95), 1):
        check("fpr@tpr first_ge %s %s" % (tt, i), r["fat_first_ge_%d_%s" % (k, i)][0],
              fa[np.searchsorted(ta, tt, side="left")])
        check("fpr@tpr nearest %s %s" % (tt, i), r["fat_nearest_%d_%s" % (k, i)][0],
              fa[np.argmin(np.abs(ta - tt))])
        num = max(1, int(np.floor(tt * len(pos))))   # ViM / MOS code
        check("fpr@tpr quantile %s %s" % (tt, i), r["fat_quantile_%d_%s" % (k, i)][0],
              np.sum(neg >= pos[-num]) / len(neg))
    for k, x in enumerate((0.001, 0.05, 0.1, 0.3), 1):
        check("tpr@fpr<= %s %s" % (x, i), r["taf_le_%d_%s" % (k, i)][0], ta[np.where(fa <= x)[0][-1]])
        check("tpr@fpr< %s %s" % (x, i), r["taf_lt_%d_%s" % (k, i)][0], ta[np.where(fa < x)[0][-1]])
print("TALLY %d passed, %d failed" % (passed, failed))
PY
