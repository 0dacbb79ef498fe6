-- test_metrics_repr.lua: metrics.cka, svcca and knn_accuracy: the identities
-- CKA must satisfy (CKA(A, A) = 1, invariance to orthogonal maps and
-- isotropic scaling, not to general linear maps), argument errors, k-NN ties.
-- The comparison with the reference implementations is
-- tests/probe/test_sklearn_metrics_class.sh.
local T = require "testlib"

local g = tensor.generator(11)
local A = tensor.randn(80, 12, { gen = g, dtype = "f64" })
local B = tensor.tanh(A:matmul(tensor.randn(12, 9, { gen = g, dtype = "f64" }))) + tensor.randn(80, 9, { gen = g, dtype = "f64" }) * 0.5
local Q = tensor.qr(tensor.randn(12, 12, { gen = g, dtype = "f64" }))   -- an orthogonal matrix

local variants = {
  { kernel = "linear" }, { kernel = "linear", debiased = true },
  { kernel = "rbf" }, { kernel = "rbf", debiased = true }, { kernel = "rbf", threshold = 0.5, median = "nonzero" },
}

T.test("CKA(A, A) = 1 for every kernel and estimator", function()
  for _, o in ipairs(variants) do T.near(metrics.cka(A, A, o), 1, 1e-12, o.kernel) end
end)

T.test("CKA is invariant to orthogonal transforms and isotropic scaling", function()
  for _, o in ipairs(variants) do
    local c = metrics.cka(A, B, o)
    T.ok(c > 0.05 and c < 0.99, "a non-trivial value " .. c)
    T.near(metrics.cka(A:matmul(Q), B, o), c, 1e-10, "orthogonal")
    T.near(metrics.cka(A * 3.7, B, o), c, 1e-10, "scaling")
    T.near(metrics.cka(A:matmul(Q) * 0.02, B * 50, o), c, 1e-10, "both")
    T.near(metrics.cka(B, A, o), c, 1e-12, "symmetric")
  end
end)

T.test("linear CKA is invariant to translation but not to a general linear map", function()
  local c = metrics.cka(A, B)
  T.near(metrics.cka(A + 5, B), c, 1e-10)
  local S = tensor.eye(12, { dtype = "f64" }); S[{ 1, 1 }] = 20
  T.ok(math.abs(metrics.cka(A:matmul(S), B) - c) > 1e-3)
end)

T.test("CKA of independent representations is small, debiased nearer 0", function()
  local X = tensor.randn(200, 30, { gen = g, dtype = "f64" })
  local Y = tensor.randn(200, 30, { gen = g, dtype = "f64" })
  local c, cd = metrics.cka(X, Y), metrics.cka(X, Y, { debiased = true })
  T.ok(c < 0.3, "biased " .. c)
  T.ok(math.abs(cd) < c, "debiased " .. cd)
end)

T.test("CKA accepts f32 and [n, ...] inputs (trailing dims flattened)", function()
  local X = tensor.randn(20, 2, 3, { gen = g })
  T.near(metrics.cka(X, X:flatten(2):to("f64")), 1, 1e-12)
end)

T.test("CKA argument errors", function()
  T.raises(function() metrics.cka(A, B:narrow(1, 1, 10)) end, "same number of rows")
  T.raises(function() metrics.cka(A, B, { kernel = "poly" }) end, "kernel must be")
  T.raises(function() metrics.cka(tensor.ones(5), B) end, "must be [n, d]")
  T.raises(function() metrics.cka(tensor.ones(5, 2), tensor.ones(5, 2), { kernel = "rbf" }) end, "bandwidth is 0")
  T.raises(function() metrics.cka(A:narrow(1, 1, 3), B:narrow(1, 1, 3), { debiased = true }) end, "at least 4 rows")
end)

T.test("SVCCA: 1 for an invertible linear map, correlations in [0, 1]", function()
  local M = tensor.randn(12, 12, { gen = g, dtype = "f64" })
  local m, rho = metrics.svcca(A, A:matmul(M), { keep = 12 })
  T.near(m, 1, 1e-8)
  T.eq(rho:numel(), 12)
  local m2, rho2 = metrics.svcca(A, B, { keep = 4 })
  T.eq(rho2:numel(), 4)
  T.ok(m2 > 0 and m2 < 1)
  T.ok(rho2:min():item() >= 0 and rho2:max():item() <= 1)
  local _, r99 = metrics.svcca(A, B)             -- 99% of the variance
  T.ok(r99:numel() >= 8 and r99:numel() <= 9)
  T.raises(function() metrics.svcca(A, B, { keep = 0 }) end, "keep must be")
end)

T.test("knn_accuracy: exact neighbours, deterministic ties", function()
  local Z = tensor.new({ { 0, 0 }, { 1, 0 }, { 0, 1 }, { 10, 10 } }, { dtype = "f64" })
  local y = tensor.new { 1, 2, 2, 3 }
  -- the query (0.5, 0.5) is equally far from points 2 and 3 and from 1: k=1 takes point 1 (lowest index)
  local acc, p = metrics.knn_accuracy(Z, y, tensor.new({ { 0.5, 0.5 } }), tensor.new { 1 }, { k = 1, metric = "euclidean" })
  T.eq(acc, 1); T.eq(p:tolist(), { 1 })
  -- k=2: one vote each for classes 1 and 2: the smallest label wins
  acc, p = metrics.knn_accuracy(Z, tensor.new { 2, 1, 1, 3 }, tensor.new({ { 0.5, 0.5 } }), tensor.new { 1 }, { k = 2, metric = "euclidean" })
  T.eq(p:tolist(), { 1 })
  -- k=3: classes 2, 2 outvote 1
  acc, p = metrics.knn_accuracy(Z, y, tensor.new({ { 0.5, 0.5 } }), tensor.new { 2 }, { k = 3, metric = "euclidean" })
  T.eq(p:tolist(), { 2 }); T.eq(acc, 1)
  -- cosine ignores the norm: (1, 1.01) points along (10, 10), far as it is
  acc, p = metrics.knn_accuracy(Z:narrow(1, 2, 3), tensor.new { 2, 2, 3 }, tensor.new({ { 1, 1.01 } }), tensor.new { 3 }, { k = 1 })
  T.eq(p:tolist(), { 3 })
end)

T.test("knn_accuracy on blobs, chunked equals unchunked, 0-based labels", function()
  local X, y = data.synthetic.blobs { n = 300, centers = 3, dim = 5, std = 2, gen = tensor.generator(3) }
  local Xt, yt = X:narrow(1, 201, 100), y:narrow(1, 201, 100)
  X, y = X:narrow(1, 1, 200), y:narrow(1, 1, 200)
  local a1, p1 = metrics.knn_accuracy(X, y, Xt, yt, { k = 5 })
  local a2, p2 = metrics.knn_accuracy(X, y, Xt, yt, { k = 5, chunk = 7 })
  T.eq(a1, a2); T.eq(p1:tolist(), p2:tolist())
  T.ok(a1 > 0.9, "accuracy " .. a1)
  local a3 = metrics.knn_accuracy(X, y - 1, Xt, yt - 1, { k = 5 })
  T.eq(a3, a1)
end)

T.test("knn_accuracy argument errors", function()
  T.raises(function() metrics.knn_accuracy(A, tensor.ones(80), A, tensor.ones(80), { k = 0 }) end, "k must be")
  T.raises(function() metrics.knn_accuracy(A, tensor.ones(80), A, tensor.ones(80), { metric = "l1" }) end, "metric must be")
  T.raises(function() metrics.knn_accuracy(A, tensor.ones(79), A, tensor.ones(80)) end, "y must be 1-d with 80")
  T.raises(function() metrics.knn_accuracy(A, tensor.ones(80), B, tensor.ones(80)) end, "differ in width")
end)

T.done()
