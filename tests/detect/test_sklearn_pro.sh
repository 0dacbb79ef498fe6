#!/bin/sh
# test_sklearn_pro.sh: metrics.pro against a brute-force NumPy reference of
# MVTec AD's definition (regions from scipy.ndimage.label with 8-connectivity,
# PRO and FPR recomputed at every distinct threshold, trapezoid area to the
# limit with linear interpolation, / limit), and metrics.auroc over pixel
# maps against sklearn's roc_auc_score on the flattened maps. Maps have
# heavy ties. Prints the TALLY line.
PEER_MODULES="sklearn, numpy, scipy.ndimage" . tests/peer.sh
"$PY" - "$out" <<'PY' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
import sys, numpy as np
rng = np.random.default_rng(11)
c = {}
for i, (n, h, w, lev) in enumerate([(3, 12, 12, 8), (5, 16, 10, 0), (2, 9, 9, 3), (4, 20, 20, 20)]):
    masks = np.zeros((n, h, w))
    for k in range(n):
        for _ in range(rng.integers(1, 4)):   # a few rectangles, some touching diagonally
            y, x = rng.integers(0, h - 2), rng.integers(0, w - 2)
            masks[k, y:y + rng.integers(1, 4), x:x + rng.integers(1, 4)] = 1
    maps = rng.random((n, h, w)) + masks * rng.random() * 1.5
    if lev: maps = np.round(maps * lev) / lev
    c["maps%d" % i], c["masks%d" % i] = maps, masks
np.savez(sys.argv[1] + "/in.npz", **c)
PY
"$SONDE" - "$out" <<'LUA' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
local dir = arg[1]
local c, r = data.load_npz(dir .. "/in.npz"), {}
for i = 0, 3 do
  local maps, masks = c["maps" .. i], c["masks" .. i]
  r["pro" .. i] = tensor.new({ metrics.pro(maps, masks), metrics.pro(maps, masks, { fpr_limit = 0.05 }),
    metrics.pro(maps, masks, { fpr_limit = 1 }), metrics.auroc(maps, masks) }, { dtype = "f64" })
end
data.save_npz(dir .. "/out.npz", r)
LUA
"$PY" - "$out" <<'PY'
import sys, numpy as np
from scipy.ndimage import label
from sklearn.metrics import roc_auc_score
d = sys.argv[1]
c, r = np.load(d + "/in.npz"), np.load(d + "/out.npz")
passed = failed = 0
def ref_pro(maps, masks, limit):
    regions = []
    for k in range(maps.shape[0]):
        lab, m = label(masks[k], structure=np.ones((3, 3)))
        regions += [maps[k][lab == j] for j in range(1, m + 1)]
    normal = maps[masks == 0]
    pts = [(0.0, 0.0)]
    for t in np.unique(maps)[::-1]:
        pts.append(((normal >= t).mean(), np.mean([(rg >= t).mean() for rg in regions])))
    area = 0.0
    for (f0, p0), (f1, p1) in zip(pts, pts[1:]):
        if f1 >= limit:
            p = p0 + (p1 - p0) * (limit - f0) / (f1 - f0) if f1 > f0 else p1
            area += (limit - f0) * (p0 + p) / 2
            break
        area += (f1 - f0) * (p0 + p1) / 2
    return area / limit
for i in range(4):
    maps, masks, got = c["maps%d" % i], c["masks%d" % i], r["pro%d" % i]
    want = [ref_pro(maps, masks, 0.3), ref_pro(maps, masks, 0.05), ref_pro(maps, masks, 1.0),
            roc_auc_score(masks.ravel().astype(int), maps.ravel())]
    for name, g, w in zip(("pro@0.3", "pro@0.05", "pro@1", "pixel auroc"), got, want):
        if abs(g - w) < 1e-9: passed += 1
        else: failed += 1; print("FAIL case", i, name, g, w)
print("TALLY %d passed, %d failed" % (passed, failed))
PY
