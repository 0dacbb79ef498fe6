#!/bin/sh
# test_sklearn_detect.sh: detectors against scikit-learn (Debian's 1.2,
# /usr/bin/python3) on the same f64 data: LOF scores equal sklearn's
# novelty score_samples (negated) to 1e-9, kNN distances equal
# NearestNeighbors', the Ledoit-Wolf Mahalanobis distance equals
# LedoitWolf().mahalanobis, and isolation-forest AUROC is within 0.02 of
# sklearn's IsolationForest on a Gaussian-with-outliers set. Prints TALLY.
PEER_MODULES="sklearn, numpy" . tests/peer.sh

"$PY" - "$out" <<'PY' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
import sys, numpy as np
rng = np.random.default_rng(3)
tr = rng.normal(size=(800, 6))
te = np.vstack([rng.normal(size=(300, 6)), rng.normal(size=(60, 6)) * 2.5 + 1.0])
y = np.r_[np.zeros(300), np.ones(60)].astype(np.int64)
np.savez(sys.argv[1] + "/in.npz", tr=tr, te=te, y=y)
PY

"$SONDE" - "$out" <<'LUA' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
local dir = arg[1]
local c = data.load_npz(dir .. "/in.npz")
local r = {}
r.lof = detect.lof(c.tr):score(c.te)
r.knn5max = detect.knn(c.tr, { k = 5, reduce = "max" }):score(c.te)
r.knn5mean = detect.knn(c.tr, { k = 5 }):score(c.te)
local m = detect.mahalanobis(c.tr)
r.maha = m:score(c.te)
r.shrink = tensor.full({ 1 }, m.shrinkage, { dtype = "f64" })
r.iforest_auroc = tensor.full({ 1 }, metrics.auroc(detect.iforest(c.tr, { seed = 1 }):score(c.te), c.y), { dtype = "f64" })
data.save_npz(dir .. "/out.npz", r)
LUA

"$PY" - "$out" <<'PY'
import sys, numpy as np
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.covariance import LedoitWolf
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score
d = sys.argv[1]
c, r = np.load(d + "/in.npz"), np.load(d + "/out.npz")
passed = failed = 0
def check(name, ok, info=""):
    global passed, failed
    if ok: passed += 1
    else: failed += 1; print("FAIL", name, info)
lof = LocalOutlierFactor(novelty=True).fit(c["tr"])
want = -lof.score_samples(c["te"])
check("lof = sklearn novelty", np.allclose(r["lof"], want, rtol=1e-9, atol=1e-9),
      np.abs(r["lof"] - want).max())
dist, _ = NearestNeighbors(n_neighbors=5).fit(c["tr"]).kneighbors(c["te"])
check("knn max", np.allclose(r["knn5max"], dist[:, -1], atol=1e-9), np.abs(r["knn5max"] - dist[:, -1]).max())
check("knn mean", np.allclose(r["knn5mean"], dist.mean(1), atol=1e-9))
lw = LedoitWolf().fit(c["tr"])
check("ledoit-wolf shrinkage", abs(r["shrink"][0] - lw.shrinkage_) < 1e-12, (r["shrink"][0], lw.shrinkage_))
check("mahalanobis", np.allclose(r["maha"], lw.mahalanobis(c["te"]), rtol=1e-9), np.abs(r["maha"] - lw.mahalanobis(c["te"])).max())
ours = r["iforest_auroc"][0]
theirs = roc_auc_score(c["y"], -IsolationForest(random_state=1).fit(c["tr"]).score_samples(c["te"]))
check("iforest AUROC within 0.02 of sklearn's", abs(ours - theirs) <= 0.02, (ours, theirs))
lof_auc = roc_auc_score(c["y"], r["lof"])
check("lof AUROC equals sklearn's", abs(lof_auc - roc_auc_score(c["y"], want)) < 1e-12)
print("iforest AUROC sonde %.4f sklearn %.4f; lof AUROC %.4f" % (ours, theirs, lof_auc))
print("TALLY %d passed, %d failed" % (passed, failed))
PY
