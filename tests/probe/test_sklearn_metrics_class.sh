#!/bin/sh
# test_sklearn_metrics_class.sh: sonde's classification metrics, CKA, SVCCA,
# k-NN accuracy and probe.rank_features' mutual information against
# scikit-learn 1.2 and Kornblith et al.'s reference CKA code (numpy), on the
# same arrays (written as .npy by python, read by sonde). Prints the TALLY line tests/run.sh reads.
PEER_MODULES="sklearn, numpy" . tests/peer.sh

"$PY" - "$out" <<'PY' || { echo "TALLY 0 passed, 1 failed"; exit 1; }
import sys, numpy as np
d = sys.argv[1]
r = np.random.default_rng(5)
# multiclass labels 1..4 with a class (4) never predicted, and class 5 only predicted
yt = r.integers(1, 5, 300); yp = yt.copy()
flip = r.random(300) < 0.35; yp[flip] = r.integers(1, 4, flip.sum())
yp[:3] = 5
np.save(d + "/yt.npy", yt.astype(np.int64)); np.save(d + "/yp.npy", yp.astype(np.int64))
# binary 0/1 and probabilities
bt = (r.random(200) < 0.3).astype(np.int64)
pb = np.clip(0.3 * bt + 0.7 * r.random(200), 0, 1)
np.save(d + "/bt.npy", bt); np.save(d + "/pb.npy", pb)
np.save(d + "/bz.npy", np.zeros(50, np.int64))        # no positives at all
# K-class probabilities
logits = r.normal(size=(400, 6)); yk = r.integers(1, 7, 400)
logits[np.arange(400), yk - 1] += 1.5
P = np.exp(logits); P /= P.sum(1, keepdims=True)
np.save(d + "/P.npy", P); np.save(d + "/yk.npy", yk.astype(np.int64))
# representations for CKA / SVCCA / kNN
A = r.normal(size=(120, 10)); B = np.tanh(A @ r.normal(size=(10, 7))) + 0.3 * r.normal(size=(120, 7))
np.save(d + "/A.npy", A); np.save(d + "/B.npy", B)
Z = r.normal(size=(300, 8)); yz = (Z[:, 0] > 0).astype(np.int64) + 1 + (Z[:, 1] > 0.5)
Zt = r.normal(size=(100, 8)); yzt = (Zt[:, 0] > 0).astype(np.int64) + 1 + (Zt[:, 1] > 0.5)
for k, v in dict(Z=Z, yz=yz, Zt=Zt, yzt=yzt).items(): np.save(d + "/%s.npy" % k, v)
# discrete features for mutual information
yd = r.integers(1, 4, 500)
Xd = np.stack([yd * 2 + r.integers(0, 2, 500), r.integers(0, 50, 500), np.where(r.random(500) < 0.5, yd, 0)], 1)
np.save(d + "/Xd.npy", Xd.astype(np.int64)); np.save(d + "/yd.npy", yd.astype(np.int64))
PY

"$SONDE" - "$out" >"$out/sonde.txt" 2>"$out/err" <<'LUA'
local d = arg[1]
local function L(n) return data.load_npy(d .. "/" .. n .. ".npy") end
local yt, yp, bt, pb, bz, P, yk = L "yt", L "yp", L "bt", L "pb", L "bz", L "P", L "yk"
local function put(k, v) print(string.format("%s %.17g", k, v)) end
put("acc_multi", metrics.accuracy(yp, yt))
put("acc_probs", metrics.accuracy(P, yk))
put("acc_bin", metrics.accuracy(pb, bt))
for _, avg in ipairs { "macro", "weighted", "micro" } do
  put("f1_" .. avg, metrics.f1(yp, yt, { average = avg }))
  put("precision_" .. avg, metrics.precision(yp, yt, { average = avg }))
  put("recall_" .. avg, metrics.recall(yp, yt, { average = avg }))
  put("f1_zd1_" .. avg, metrics.f1(yp, yt, { average = avg, zero_division = 1 }))
  put("precision_zd1_" .. avg, metrics.precision(yp, yt, { average = avg, zero_division = 1 }))
end
put("f1_bin", metrics.f1(pb, bt))
put("precision_bin", metrics.precision(pb, bt))
put("recall_bin", metrics.recall(pb, bt))
put("f1_bin_pos0", metrics.f1(pb, bt, { pos_label = 0 }))
put("recall_nopos", metrics.recall(bz, bz))
put("recall_nopos_zd1", metrics.recall(bz, bz, { zero_division = 1 }))
put("f1_nopos_zd1", metrics.f1(bz, bz, { zero_division = 1 }))
local C = metrics.confusion(yp, yt)
for i, row in ipairs(C:tolist()) do for j, v in ipairs(row) do put(string.format("conf_%d_%d", i, j), v) end end
put("brier_bin", metrics.brier(pb, bt))
put("brier_multi", metrics.brier(P, yk))
put("ece", metrics.ece(P, yk))
put("ece10", metrics.ece(P, yk, { n_bins = 10 }))
local A, B = L "A", L "B"
put("cka_lin", metrics.cka(A, B))
put("cka_lin_deb", metrics.cka(A, B, { debiased = true }))
put("cka_rbf", metrics.cka(A, B, { kernel = "rbf" }))
put("cka_rbf_05", metrics.cka(A, B, { kernel = "rbf", threshold = 0.5 }))
put("cka_rbf_deb", metrics.cka(A, B, { kernel = "rbf", debiased = true }))
put("svcca5", metrics.svcca(A, B, { keep = 5 }))
local Z, yz, Zt, yzt = L "Z", L "yz", L "Zt", L "yzt"
put("knn_cos5", metrics.knn_accuracy(Z, yz, Zt, yzt, { k = 5 }))
put("knn_euc3", metrics.knn_accuracy(Z, yz, Zt, yzt, { k = 3, metric = "euclidean" }))
local mi = probe.rank_features(L "Xd", L "yd", { method = "mi" })
for j, v in ipairs(mi:tolist()) do put("mi_" .. j, v) end
LUA
if [ $? -ne 0 ]; then cat "$out/err"; echo "TALLY 0 passed, 1 failed"; exit 1; fi

"$PY" - "$out" <<'PY'
import sys, numpy as np
from sklearn import metrics as M
from sklearn.neighbors import KNeighborsClassifier
d = sys.argv[1]
L = lambda n: np.load(d + "/%s.npy" % n)
got = {}
for line in open(d + "/sonde.txt"):
    k, v = line.split(); got[k] = float(v)
yt, yp, bt, pb, bz, P, yk = L("yt"), L("yp"), L("bt"), L("pb"), L("bz"), L("P"), L("yk")
want = {}
want["acc_multi"] = M.accuracy_score(yt, yp)
want["acc_probs"] = M.accuracy_score(yk, P.argmax(1) + 1)
want["acc_bin"] = M.accuracy_score(bt, (pb >= 0.5).astype(int))
for avg in ["macro", "weighted", "micro"]:
    want["f1_" + avg] = M.f1_score(yt, yp, average=avg, zero_division=0)
    want["precision_" + avg] = M.precision_score(yt, yp, average=avg, zero_division=0)
    want["recall_" + avg] = M.recall_score(yt, yp, average=avg, zero_division=0)
    want["f1_zd1_" + avg] = M.f1_score(yt, yp, average=avg, zero_division=1)
    want["precision_zd1_" + avg] = M.precision_score(yt, yp, average=avg, zero_division=1)
bp = (pb >= 0.5).astype(int)
want["f1_bin"] = M.f1_score(bt, bp)
want["precision_bin"] = M.precision_score(bt, bp)
want["recall_bin"] = M.recall_score(bt, bp)
want["f1_bin_pos0"] = M.f1_score(bt, bp, pos_label=0)
want["recall_nopos"] = M.recall_score(bz, bz, zero_division=0)
want["recall_nopos_zd1"] = M.recall_score(bz, bz, zero_division=1)
want["f1_nopos_zd1"] = M.f1_score(bz, bz, zero_division=1)
C = M.confusion_matrix(yt, yp)
for i in range(C.shape[0]):
    for j in range(C.shape[1]):
        want["conf_%d_%d" % (i + 1, j + 1)] = C[i, j]
want["brier_bin"] = M.brier_score_loss(bt, pb)
Y = np.eye(6)[yk - 1]
want["brier_multi"] = ((P - Y) ** 2).sum(1).mean()
def ece(P, y, nb):   # Guo et al. 2017: equal-width bins (lo, hi]
    conf, acc = P.max(1), (P.argmax(1) + 1 == y)
    e = 0.0
    edges = np.linspace(0, 1, nb + 1)
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any(): e += m.mean() * abs(acc[m].mean() - conf[m].mean())
    return e
want["ece"] = ece(P, yk, 15); want["ece10"] = ece(P, yk, 10)
# Kornblith et al.'s reference code (google-research/representation_similarity)
def gram_linear(x): return x.dot(x.T)
def gram_rbf(x, threshold=1.0):
    dp = x.dot(x.T); sq = np.diag(dp)
    sqd = -2 * dp + sq[:, None] + sq[None, :]
    return np.exp(-sqd / (2 * threshold ** 2 * np.median(sqd)))
def center_gram(g, unbiased=False):
    g = g.copy()
    if unbiased:
        n = g.shape[0]; np.fill_diagonal(g, 0)
        means = np.sum(g, 0, dtype=np.float64) / (n - 2)
        means -= np.sum(means) / (2 * (n - 1))
        g -= means[:, None]; g -= means[None, :]; np.fill_diagonal(g, 0)
    else:
        means = np.mean(g, 0, dtype=np.float64); means -= np.mean(means) / 2
        g -= means[:, None]; g -= means[None, :]
    return g
def cka(gx, gy, debiased=False):
    gx = center_gram(gx, debiased); gy = center_gram(gy, debiased)
    return gx.ravel().dot(gy.ravel()) / (np.linalg.norm(gx) * np.linalg.norm(gy))
A, B = L("A"), L("B")
want["cka_lin"] = cka(gram_linear(A), gram_linear(B))
want["cka_lin_deb"] = cka(gram_linear(A), gram_linear(B), True)
want["cka_rbf"] = cka(gram_rbf(A), gram_rbf(B))
want["cka_rbf_05"] = cka(gram_rbf(A, 0.5), gram_rbf(B, 0.5))
want["cka_rbf_deb"] = cka(gram_rbf(A), gram_rbf(B), True)
# SVCCA: CCA (by QR) of the top-5 singular directions
def svcca(X, Y, k):
    X = X - X.mean(0); Y = Y - Y.mean(0)
    U, S, _ = np.linalg.svd(X, full_matrices=False); Xr = U[:, :k] * S[:k]
    U, S, _ = np.linalg.svd(Y, full_matrices=False); Yr = U[:, :k] * S[:k]
    qx, _ = np.linalg.qr(Xr); qy, _ = np.linalg.qr(Yr)
    return np.linalg.svd(qx.T @ qy, compute_uv=False).mean()
want["svcca5"] = svcca(A, B, 5)
Z, yz, Zt, yzt = L("Z"), L("yz"), L("Zt"), L("yzt")
want["knn_cos5"] = KNeighborsClassifier(5, metric="cosine", algorithm="brute").fit(Z, yz).score(Zt, yzt)
want["knn_euc3"] = KNeighborsClassifier(3, algorithm="brute").fit(Z, yz).score(Zt, yzt)
Xd, yd = L("Xd"), L("yd")
for j in range(Xd.shape[1]):
    want["mi_%d" % (j + 1)] = M.mutual_info_score(yd, Xd[:, j])
p = f = 0
for k in sorted(want):
    if k not in got:
        f += 1; print("FAIL %s: missing from sonde's output" % k); continue
    if abs(got[k] - want[k]) <= 1e-9 * (1 + abs(want[k])):
        p += 1
    else:
        f += 1; print("FAIL %s: sonde %.17g, reference %.17g" % (k, got[k], want[k]))
print("TALLY %d passed, %d failed" % (p, f))
PY
