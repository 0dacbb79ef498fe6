-- test_probe_linear.lua: the linear probes from Lua: labels of any integer
-- values, the fitted objects' methods, options and their errors, bitwise
-- thread invariance. (scikit-learn comparisons: tests/probe/.)
local T = require "testlib"

local gen = tensor.generator(11)
-- n x d Gaussian points; labels from a fixed rule: sign of x1 - x2 (binary)
local X = tensor.randn(400, 6, { gen = gen })
local ybin = (X:select(2, 1) - X:select(2, 2)):gt(0):to("i64")   -- 0 / 1
local y3 = X:select(2, 1):gt(0.5):to("i64") + X:select(2, 3):gt(0):to("i64") * 2 -- 0..3

local function rows_sum_one(P)
  local s = P:sum(2)
  T.near(s:amax():item(), 1, 1e-5)
  T.near(s:amin():item(), 1, 1e-5)
end

T.test("logistic binary: labels kept, methods agree", function()
  local y = ybin * 7 - 3                                       -- labels -3 and 4
  local p = probe.logistic(X, y, { l2 = 1e-2 })
  T.eq(p.classes:tolist(), { -3, 4 })
  T.eq(p.coef:shape(), { 1, 6 })
  T.eq(p.intercept:shape(), { 1 })
  T.ok(p.converged, p.stop)
  T.ok(p.n_iter > 0 and p.n_iter < 100)
  local pred = p:predict(X)
  T.eq(pred:dtype(), "i64")
  local seen = {}
  for _, v in ipairs(pred:tolist()) do seen[v] = true end
  T.ok(seen[-3] and seen[4] and not seen[0] and not seen[1])
  T.ok(p:score(X, y) > 0.95)
  local P = p:predict_proba(X)
  T.eq(P:shape(), { 400, 2 })
  rows_sum_one(P)
  local d = p:decision_function(X)
  T.eq(d:shape(), { 400 })
  -- predict = the class of the larger probability = sign of the score
  T.eq(pred:eq(4):tolist(), d:gt(0):tolist())
  T.eq(pred:eq(4):tolist(), P:select(2, 2):gt(0.5):tolist())
  local u = p:direction()
  T.eq(u:shape(), { 6 })
  T.near(u:norm():item(), 1, 1e-6)
  -- the rule is x1 - x2: the direction is mostly along (1, -1, 0, ...)/sqrt 2
  T.ok(u[1]:item() > 0.6 and u[2]:item() < -0.6)
  T.eq(p:direction(4):tolist(), u:tolist())
  T.eq(p:direction(-3):tolist(), (-u):tolist())
  T.raises(function() p:direction(0) end, "0 is not a class")
end)

T.test("logistic multinomial: 4 classes, lists, direction per class", function()
  local p = probe.logistic(X, y3:tolist(), { l2 = 1e-3 })
  T.eq(p.classes:tolist(), { 0, 1, 2, 3 })
  T.eq(p.coef:shape(), { 4, 6 })
  T.ok(p:score(X, y3) > 0.9)
  local P = p:predict_proba(X)
  T.eq(P:shape(), { 400, 4 })
  rows_sum_one(P)
  T.eq(p:predict(X):tolist(), (P:argmax(2) - 1):tolist())
  local D = p:direction()
  T.eq(D:shape(), { 4, 6 })
  T.near(D:norm(2, 2):amax():item(), 1, 1e-6)
  local d2 = p:direction(2)
  T.near(d2:tolist(), D:select(1, 3):tolist(), 1e-6)
  T.raises(function() p:direction(9) end, "9 is not a class")
  -- intercepts sum to 0 (unpenalised, started at 0: the softmax's gauge)
  T.near(p.intercept:sum():item(), 0, 1e-4)
  T.ok(tostring(p):find("probe.logistic(4 classes, 6 features", 1, true))
end)

T.test("logistic: C and l2 are the same objective; f64 input", function()
  local a = probe.logistic(X, ybin, { l2 = 0.05 })
  local b = probe.logistic(X, ybin, { C = 1 / (0.05 * 400) })
  T.eq(a.coef:tolist(), b.coef:tolist())
  local c = probe.logistic(X:to("f64"), ybin, { l2 = 0.05, tol = 1e-8 })
  T.eq(c.coef:dtype(), "f64")
  T.near(c.coef:to("f32"):tolist()[1], a.coef:tolist()[1], 1e-3)
  -- stronger l2 shrinks the weights
  local s = probe.logistic(X, ybin, { l2 = 1 })
  T.ok(s.coef:norm():item() < 0.5 * a.coef:norm():item())
end)

T.test("logistic: fit_intercept=false and class weights", function()
  local y = ybin:clone()
  local p = probe.logistic(X + 3, y, { fit_intercept = false, l2 = 1e-2 })
  T.eq(p.intercept:tolist(), { 0 })
  -- 9 to 1 imbalance: balanced weights move the boundary toward the small class
  local keep = {}
  local c0 = 0
  for i, v in ipairs(y:tolist()) do
    if v == 1 or c0 < 20 then keep[#keep + 1] = i; if v == 0 then c0 = c0 + 1 end end
  end
  local idx = tensor.new(keep)
  local Xi, yi = X:index_select(1, idx), y:index_select(1, idx)
  local plain = probe.logistic(Xi, yi, { l2 = 0.1 })
  local bal = probe.logistic(Xi, yi, { l2 = 0.1, class_weight = "balanced" })
  local tab = probe.logistic(Xi, yi, { l2 = 0.1, class_weight = { [0] = 5 } })
  local function n0(q) return q:predict(Xi):eq(0):sum():item() end
  T.ok(n0(bal) > n0(plain), "balanced predicts the rare class more often")
  T.ok(n0(tab) > n0(plain), "weight 5 on class 0 predicts it more often")
  -- balanced = n / (K count): the same as a table of those weights
  local n, n1 = yi:numel(), yi:sum():item()
  local same = probe.logistic(Xi, yi, { l2 = 0.1, class_weight = { [0] = n / (2 * (n - n1)), [1] = n / (2 * n1) } })
  T.near(same.coef:tolist()[1], bal.coef:tolist()[1], 1e-6)
end)

T.test("logistic: bitwise the same with 1 and 2 threads", function()
  local big = tensor.randn(9000, 20, { gen = tensor.generator(3) })
  local y = big:select(2, 1):gt(0):to("i64") + big:select(2, 2):gt(0.3):to("i64") + 1
  local nt = tensor.get_num_threads()
  tensor.set_num_threads(1)
  local a = probe.logistic(big, y, { l2 = 1e-3, max_iter = 40 })
  tensor.set_num_threads(2)
  local b = probe.logistic(big, y, { l2 = 1e-3, max_iter = 40 })
  tensor.set_num_threads(nt)
  T.eq(a.coef:bytes(), b.coef:bytes())
  T.eq(a.intercept:bytes(), b.intercept:bytes())
  T.eq(a.n_iter, b.n_iter)
end)

T.test("logistic: max_iter reached is reported", function()
  local p = probe.logistic(X, y3, { l2 = 1e-6, max_iter = 3 })
  T.eq(p.n_iter, 3)
  T.eq(p.converged, false)
  T.eq(p.stop, "max_iter reached")
end)

T.test("logistic: argument errors name the argument and shapes", function()
  T.raises(function() probe.logistic(X:select(2, 1), ybin) end, "probe.logistic: X must be 2-d [n, d], got shape [400]")
  T.raises(function() probe.logistic(X:to("i64"), ybin) end, "X must be f32 or f64, got i64")
  T.raises(function() probe.logistic(X, ybin:narrow(1, 1, 399)) end, "y has 399 labels but X has 400 rows")
  T.raises(function() probe.logistic(X, tensor.zeros(400, { dtype = "i64" })) end, "y has one class only (0)")
  T.raises(function() probe.logistic(X, ybin:to("f32") + 0.5) end, "y must hold integer labels")
  T.raises(function() probe.logistic(X:narrow(1, 1, 0), {}) end, "y is empty")
  T.raises(function() probe.logistic(X, ybin:view(400, 1)) end, "y must be 1-d, got shape [400,1]")
  T.raises(function() probe.logistic(X, ybin, { l2 = -1 }) end, "l2 must be a number >= 0")
  T.raises(function() probe.logistic(X, ybin, { lambda = 1 }) end, "unknown option 'lambda'")
  T.raises(function() probe.logistic(X, ybin, { l2 = 1, C = 1 }) end, "give l2 or C, not both")
  T.raises(function() probe.logistic(X, ybin, { class_weight = "even" }) end, "class_weight must be nil")
  local Xn = X:clone()
  Xn[3][2] = 0 / 0
  T.raises(function() probe.logistic(Xn, ybin) end, "X[3][2] is NaN")
  local p = probe.logistic(X, ybin)
  T.raises(function() p:predict(X:narrow(2, 1, 5)) end, "X has 5 features, the probe was fitted on 6")
  T.raises(function() p:score(X, ybin:narrow(1, 1, 10)) end, "y has 10 labels but X has 400 rows")
end)

T.test("ridge: exact on noiseless data, alphas shrink, Gram and kernel forms agree", function()
  local w = tensor.new({ 1, 2, 0, -1, 0.5, 3 }):to("f32")
  local Y = X:mv(w) + 4
  local r = probe.ridge(X, Y, { alpha = 0 })
  T.near(r.coef:tolist()[1], w:tolist(), 1e-4)
  T.near(r.intercept:item(), 4, 1e-4)
  T.near(r:score(X, Y), 1, 1e-6)
  T.eq(r:predict(X):shape(), { 400 })
  local rs = probe.ridge(X, Y, { alpha = { 1, 100, 1e4 } })
  T.eq(#rs, 3)
  T.ok(rs[1].coef:norm():item() > rs[2].coef:norm():item() and rs[2].coef:norm():item() > rs[3].coef:norm():item())
  T.eq(rs[2].alpha, 100)
  -- n < d uses the kernel form: the same solution as the Gram form on the transpose-sized data
  local A = tensor.randn(8, 30, { gen = tensor.generator(4) })
  local Yw = tensor.randn(8, 2, { gen = tensor.generator(5) })
  local k = probe.ridge(A, Yw, { alpha = 0.5 })
  T.eq(k.coef:shape(), { 2, 30 })
  T.eq(k:predict(A):shape(), { 8, 2 })
  -- normal equations: (Ac^T Ac + alpha I) W^T = Ac^T Yc
  local Ac, Yc = A:to("f64") - A:to("f64"):mean(1, true), Yw:to("f64") - Yw:to("f64"):mean(1, true)
  local lhs = (Ac:t():matmul(Ac) + tensor.eye(30, { dtype = "f64" }) * 0.5):matmul(k.coef:to("f64"):t())
  T.ok((lhs - Ac:t():matmul(Yc)):abs():amax():item() < 1e-4)
  T.near(k:direction(2):norm():item(), 1, 1e-6)
  T.raises(function() probe.ridge(X, Y:narrow(1, 1, 5)) end, "Y has 5 rows but X has 400")
  T.raises(function() probe.ridge(X, Y, { alpha = -1 }) end, "alpha must be a number >= 0")
  -- the default alpha (1) gives one probe, as an explicit number does, not a list of one
  local d = probe.ridge(X, Y)
  T.eq(d.alpha, 1)
  T.near(d.coef:tolist()[1], probe.ridge(X, Y, { alpha = 1 }).coef:tolist()[1], 0)
end)

T.test("lda and mass_mean: whitened mass-mean reads the LDA direction", function()
  local l = probe.lda(X, ybin)
  T.eq(l.coef:shape(), { 1, 6 })
  T.ok(l:score(X, ybin) > 0.95)
  local m = probe.mass_mean(X, ybin)
  local mw = probe.mass_mean(X, ybin, { whiten = true })
  T.near(mw:direction():tolist(), l:direction():tolist(), 1e-4)
  T.ok(m:score(X, ybin) > 0.8)
  -- plain mass-mean: the difference of the class means
  local mu1 = X:index_select(1, ybin:eq(1):nonzero():view(-1)):mean(1)
  local mu0 = X:index_select(1, ybin:eq(0):nonzero():view(-1)):mean(1)
  T.near(m.coef:tolist()[1], (mu1 - mu0):tolist(), 1e-5)
  -- the boundary is halfway: the midpoint scores 0
  T.near(m:decision_function(((mu1 + mu0) / 2):view(1, -1)):item(), 0, 1e-5)
  rows_sum_one(m:predict_proba(X))
  local l3 = probe.lda(X, y3, { shrinkage = 0.2 })
  T.eq(l3.coef:shape(), { 4, 6 })
  rows_sum_one(l3:predict_proba(X))
  T.raises(function() probe.mass_mean(X, y3) end, "y must have two classes, got 4")
  T.raises(function() probe.lda(X, ybin, { shrinkage = 2 }) end, "shrinkage must be in [0, 1]")
end)

-- pairs of "statement" / "negation" activations: a truth direction flips
-- sign between them, plus a per-set offset and shared nuisance variation
local function contrast_pairs(seed, n, d)
  local g = tensor.generator(seed)
  local truth = tensor.randint(0, 2, n, { gen = g })
  local dir = tensor.randn(d, { gen = g })
  local base = tensor.randn(n, d, { gen = g })
  local s = (truth:to("f32") * 2 - 1):view(n, 1) * dir:view(1, d)
  return base + s + tensor.randn(n, d, { gen = g }) * 0.3 + 2, base - s + tensor.randn(n, d, { gen = g }) * 0.3 - 1,
    truth, dir / dir:norm():item()
end

T.test("ccs: finds the truth direction without labels, seeded", function()
  local Xp, Xn, truth, dir = contrast_pairs(3, 300, 16)
  local c = probe.ccs(Xp, Xn, { n_tries = 2, epochs = 300, y = truth })
  T.ok(c:score(Xp, Xn, truth) > 0.95, "accuracy " .. c:score(Xp, Xn, truth))
  T.ok(math.abs(c:direction():dot(dir):item()) > 0.5)
  T.near(c:direction():norm():item(), 1, 1e-6)
  local P = c:predict_proba(Xp, Xn)
  T.eq(P:shape(), { 300, 2 })
  rows_sum_one(P)
  T.eq(c:predict(Xp, Xn):tolist(), c:decision_function(Xp, Xn):gt(0):to("i64"):tolist())
  -- without labels the sign is arbitrary: either all right or all wrong
  local u = probe.ccs(Xp, Xn, { n_tries = 2, epochs = 300 })
  local acc = u:score(Xp, Xn, truth)
  T.ok(acc > 0.95 or acc < 0.05)
  -- the same seed gives the same bits
  local c2 = probe.ccs(Xp, Xn, { n_tries = 2, epochs = 300, y = truth })
  T.eq(c2.theta:bytes(), c.theta:bytes())
  local c3 = probe.ccs(Xp, Xn, { n_tries = 2, epochs = 300, seed = 9 })
  T.ok(c3.theta:bytes() ~= c.theta:bytes())
  T.raises(function() probe.ccs(Xp, Xn:narrow(1, 1, 10)) end, "X_pos [300,16] and X_neg [10,16] must have the same shape")
end)

T.test("mlp: a nonlinear rule a linear probe cannot read", function()
  local g = tensor.generator(8)
  local Z = tensor.randn(500, 2, { gen = g })
  local y = (Z:select(2, 1):square() + Z:select(2, 2):square()):gt(1.2):to("i64") * 5 -- labels 0 and 5
  local m = probe.mlp(Z, y, { hidden = { 32 }, epochs = 60, batch = 50, lr = 1e-2 })
  T.eq(m.classes:tolist(), { 0, 5 })
  T.ok(m:score(Z, y) > 0.95)
  T.ok(probe.logistic(Z, y):score(Z, y) < 0.8)
  T.eq(m:decision_function(Z):shape(), { 500 })
  rows_sum_one(m:predict_proba(Z))
  T.near(m:direction():norm():item(), 1, 1e-5)
  local m2 = probe.mlp(Z, y, { hidden = { 32 }, epochs = 60, batch = 50, lr = 1e-2 })
  T.eq(m2:predict_proba(Z):bytes(), m:predict_proba(Z):bytes())
  local m3 = probe.mlp(X, y3, { hidden = 16, epochs = 20 })
  T.eq(m3:direction():shape(), { 4, 6 })
  T.eq(m3:direction(3):shape(), { 6 })
  T.raises(function() probe.mlp(X, y3, { epochs = 0 }) end, "epochs must be a number >= 1")
end)

T.test("documented", function()
  local docs = require("sonde").docs()
  for _, f in ipairs { "logistic", "ridge", "lda", "mass_mean", "ccs", "mlp", "kernels.logistic_fit" } do
    T.ok(docs["probe." .. f], "probe." .. f .. " has a doc entry")
  end
end)

T.done()
