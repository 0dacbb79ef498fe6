-- test_probe_tools.lua: probe.conformal, layers, plot_layers, stability
-- and rank_features (probe.mil and probe.svm: test_mil.lua): conformal
-- coverage on held-out data for several alphas and both scores, the exact
-- finite-sample quantile, the three-way reading, per-layer CV, flips and
-- angles, MI by hand and OutRank's cardinality correction, errors.
local T = require "testlib"

local fit = probe.logistic
local fitname = "logistic"

local function blobs(n, k, std, seed)
  return data.synthetic.blobs { n = n, centers = k, dim = 4, std = std, gen = tensor.generator(seed) }
end

T.test("conformal: held-out coverage >= 1 - alpha for several alphas, LAC and APS", function()
  local X, y = blobs(4000, 4, 5, 1)
  local p = fit(X:narrow(1, 1, 1000), y:narrow(1, 1, 1000))
  for _, score in ipairs { "lac", "aps" } do
    for _, alpha in ipairs { 0.05, 0.1, 0.2, 0.3 } do
      -- 10 calibration / test splits of the remaining 3000 rows: the mean
      -- coverage is within sampling slack of the guarantee [1-a, 1-a+1/(n+1)]
      local sum, lo = 0, 1
      for r = 1, 10 do
        local perm = tensor.randperm(3000, { gen = tensor.generator(r) }) + 1000
        local cal, te = perm:narrow(1, 1, 500), perm:narrow(1, 501, 2500)
        local cp = probe.conformal(p, X:index_select(1, cal), y:index_select(1, cal), { alpha = alpha, score = score })
        local c = cp:coverage(X:index_select(1, te), y:index_select(1, te))
        sum, lo = sum + c.coverage, math.min(lo, c.coverage)
      end
      local mean = sum / 10
      local msg = string.format("%s alpha=%.2f mean coverage %.4f, min %.4f", score, alpha, mean, lo)
      T.ok(mean >= 1 - alpha - 0.01, msg)
      T.ok(lo >= 1 - alpha - 0.04, msg)
      if score == "lac" then T.ok(mean <= 1 - alpha + 1 / 501 + 0.02, msg .. " (not trivially conservative)") end
    end
  end
end)

T.test("conformal: the ceil((n+1)(1-alpha))-th smallest score, by hand", function()
  -- a probe given as a function: P(class 2) = x
  local f = function(X) local p = X:select(2, 1):to("f64") return tensor.stack({ 1 - p, p }, 2) end
  local Xc = tensor.new({ { .9 }, { .8 }, { .7 }, { .6 }, { .4 }, { .3 }, { .2 }, { .1 }, { .35 } }, { dtype = "f64" })
  local yc = tensor.new { 2, 2, 2, 2, 1, 1, 1, 1, 2 }
  -- LAC scores 1 - p_y: .1 .2 .3 .4 .4 .3 .2 .1 .65; n = 9, alpha = 0.2: k = ceil(10 * 0.8) = 8 -> 0.4
  local cp = probe.conformal(f, Xc, yc, { alpha = 0.2 })
  T.eq(cp.k, 8); T.near(cp.qhat, 0.4, 1e-12)
  local sets, sizes = cp:predict_set(tensor.new({ { .5 }, { .65 }, { .95 } }, { dtype = "f64" }))
  T.eq(sets:tolist(), { { false, false }, { false, true }, { false, true } })   -- (.5, .5): both scores .5 > .4
  T.eq(sizes:tolist(), { 0, 1, 1 })
  -- alpha = 0.1: k = ceil(9.0) = 9 exactly (no rounding up to 10), the largest score
  cp = probe.conformal(f, Xc, yc, { alpha = 0.1 })
  T.eq(cp.k, 9); T.near(cp.qhat, 0.65, 1e-12)
  -- alpha = 0.05: k = 10 > n: every set is full
  cp = probe.conformal(f, Xc, yc, { alpha = 0.05 })
  T.eq(cp.qhat, math.huge)
  T.eq(cp:predict_set(Xc):all():item(), true)
end)

T.test("conformal: APS scores are the mass of classes ranked at or above y", function()
  local P = tensor.new({ { .5, .3, .2 }, { .2, .2, .6 } }, { dtype = "f64" })
  local f = function() return P end
  -- scores of labels 3 and 2: 1.0 and .8 (ties by column: class 1 ranks before 2)
  local cp = probe.conformal(f, P, tensor.new { 3, 2 }, { alpha = 0.3, score = "aps" })
  T.eq(cp.k, 3); T.eq(cp.qhat, math.huge)     -- n = 2 is too few for alpha 0.3
  local cp2 = probe.conformal(f, P, tensor.new { 3, 1 }, { alpha = 0.5, score = "aps" })
  T.eq(cp2.k, 2); T.near(cp2.qhat, 1.0, 1e-12)  -- scores 1.0 and .6 (class 1 after class 3's .6... then .2 -> .8?)
end)

T.test("conformal: randomized APS is seeded and covers", function()
  local X, y = blobs(3000, 4, 5, 2)
  local p = fit(X:narrow(1, 1, 1000), y:narrow(1, 1, 1000))
  local Xc, yc, Xt, yt = X:narrow(1, 1001, 1000), y:narrow(1, 1001, 1000), X:narrow(1, 2001, 1000), y:narrow(1, 2001, 1000)
  local a = probe.conformal(p, Xc, yc, { alpha = 0.1, score = "aps", randomized = true, seed = 5 })
  local b = probe.conformal(p, Xc, yc, { alpha = 0.1, score = "aps", randomized = true, seed = 5 })
  T.eq(a.qhat, b.qhat)
  T.eq(a:predict_set(Xt):tolist(), b:predict_set(Xt):tolist())
  local c = a:coverage(Xt, yt)
  T.ok(c.coverage >= 0.9 - 3 * math.sqrt(0.09 / 1000), "coverage " .. c.coverage)
  local plain = probe.conformal(p, Xc, yc, { alpha = 0.1, score = "aps" }):coverage(Xt, yt)
  T.ok(c.size <= plain.size + 1e-12, "randomized sets are no larger on average here")
end)

T.test("conformal: three-way output of a binary probe", function()
  local f = function(X) local p = X:select(2, 1):to("f64") return tensor.stack({ 1 - p, p }, 2) end
  local g = tensor.generator(4)
  local pc = tensor.rand(400, { gen = g, dtype = "f64" })
  local yc = tensor.rand(400, { gen = g, dtype = "f64" }):lt(pc):to("i64")   -- calibrated: P(y=1) = p
  local cp = probe.conformal(f, pc:view(-1, 1), yc, { alpha = 0.2 })
  T.eq(cp.classes, { 0, 1 })
  local out, counts = cp:three_way(tensor.new({ { 0.99 }, { 0.01 }, { 0.5 } }, { dtype = "f64" }))
  T.eq(out, { "true", "false", "neither" })
  T.eq(counts, { ["true"] = 1, ["false"] = 1, neither = 1 })
  -- at a tiny alpha every set holds both: all "neither"
  local cp2 = probe.conformal(f, pc:view(-1, 1), yc, { alpha = 0.001 })
  local _, c2 = cp2:three_way(pc:view(-1, 1))
  T.eq(c2.neither, 400)
  T.raises(function() probe.conformal(function() return tensor.ones(3, 3) / 3 end, tensor.ones(3, 1), tensor.new { 1, 2, 3 }):three_way(tensor.ones(2, 1)) end, "needs a binary probe")
end)

T.test("conformal: argument errors", function()
  local f = function(X) return tensor.ones(X:size(1), 2, { dtype = "f64" }) / 2 end
  T.raises(function() probe.conformal(f, tensor.ones(4, 1), tensor.new { 1, 2, 1, 2 }, { alpha = 1.5 }) end, "alpha must be in (0, 1)")
  T.raises(function() probe.conformal(f, tensor.ones(4, 1), tensor.new { 1, 2, 1, 2 }, { score = "raps" }) end, "score must be")
  T.raises(function() probe.conformal(f, tensor.ones(4, 1), tensor.new { 1, 2, 1 }) end, "ycal must be 1-d with 4")
  T.raises(function() probe.conformal(f, tensor.ones(4, 1), tensor.new { 1, 2, 1, 5 }) end, "label 5 is not one")
  T.raises(function() probe.conformal(42, tensor.ones(4, 1), tensor.new { 1, 2, 1, 2 }) end, "fitted probe")
end)

-- three "layers": noise, a weak signal, a strong one
local function layered(n, seed)
  local g = tensor.generator(seed)
  local y = (tensor.rand(n, { gen = g }):lt(0.5)):to("i64")
  local s = y:to("f64") * 2 - 1
  local noise = tensor.randn(n, 6, { gen = g, dtype = "f64" })
  local weak = tensor.randn(n, 6, { gen = g, dtype = "f64" }); weak:select(2, 1):add_(s * 0.5)
  local strong = tensor.randn(n, 6, { gen = g, dtype = "f64" }); strong:select(2, 2):add_(s * 3)
  return { noise, weak, strong }, y
end

T.test("layers: k-fold mean and std per layer, same folds, reproducible", function()
  local feats, y = layered(300, 5)
  local r = probe.layers(feats, y, { folds = 5, probe = fitname, seed = 3 })
  T.eq(#r, 3)
  T.eq(r[1].layer, 1); T.eq(#r[1].scores, 5)
  T.ok(r[1].mean < 0.62, "noise " .. r[1].mean)
  T.ok(r[2].mean > 0.6 and r[2].mean < 0.8, "weak " .. r[2].mean)
  T.ok(r[3].mean > 0.98, "strong " .. r[3].mean)
  local m, v = 0, 0
  for _, s in ipairs(r[2].scores) do m = m + s / 5 end
  for _, s in ipairs(r[2].scores) do v = v + (s - m) ^ 2 / 5 end
  T.near(r[2].mean, m, 1e-12); T.near(r[2].std, math.sqrt(v), 1e-12)
  local r2 = probe.layers(feats, y, { folds = 5, probe = fitname, seed = 3 })
  T.eq(r2[2].scores, r[2].scores)
  -- names -> tensors (as from capture): numeric names first, in order
  local byname = probe.layers({ ["10"] = feats[3], ["2"] = feats[2], output = feats[1], note = "skip me" }, y,
    { folds = 3, probe = fitname })
  T.eq({ byname[1].layer, byname[2].layer, byname[3].layer }, { "2", "10", "output" })
  T.raises(function() probe.layers(feats, y, { folds = 1 }) end, "folds must be")
  T.raises(function() probe.layers(feats, y, { probe = "no_such_probe" }) end, "no probe named 'no_such_probe'")
end)

T.test("plot_layers: a PNG with error bars", function()
  local r = { { layer = "in", mean = 0.6, std = 0.05 }, { layer = "h1", mean = 0.8, std = 0.02 }, { layer = "out", mean = 0.9, std = 0.01 } }
  local path = os.tmpname() .. ".png"
  probe.plot_layers(r):save(path)
  local img = data.load_png(path)
  os.remove(path)
  T.eq(img:size(2), 480); T.eq(img:size(3), 640)
  T.ok(img:to("i64"):flatten():unique():numel() > 8, "not blank")
end)

T.test("stability: no change, a label flip, an inverted labelling", function()
  local feats, y = layered(400, 6)
  local X = feats[3]
  local same = probe.stability(X, y, function(v) return v end, { probe = fitname })
  T.eq(same.flip_rate, 0); T.near(same.angle, 0, 1e-5); T.eq(same.relabelled, 0)
  -- a probe may be given as a function (X, y, opts) -> fitted probe
  local inv = probe.stability(X, y, function(v) return 1 - v end,
    { probe = function(A, b, o) return probe.logistic(A, b, o) end, probe_opts = { l2 = 1e-3 } })
  T.ok(inv.flip_rate > 0.95, "inverted flips " .. inv.flip_rate)
  T.near(inv.angle, 180, 1e-3)
  -- move 30% of the 1s to 0 (seeded): the boundary shifts, some points flip to 0
  local part = probe.stability(X, y, function(v, g)
    local m = tensor.rand(v:numel(), { gen = g }):lt(0.3):logical_and(v:eq(1))
    return v:masked_fill(m, 0)
  end, { probe = fitname, seed = 1 })
  T.ok(part.relabelled > 0.1 and part.relabelled < 0.2, "relabelled " .. part.relabelled)
  T.ok(part.to_neg >= part.to_pos, "flips go to the negative side")
  T.ok(part.angle >= 0 and part.angle < 30, "angle " .. part.angle)
  local again = probe.stability(X, y, function(v, g)
    local m = tensor.rand(v:numel(), { gen = g }):lt(0.3):logical_and(v:eq(1))
    return v:masked_fill(m, 0)
  end, { probe = fitname, seed = 1 })
  T.eq(again.flip_rate, part.flip_rate)
  T.raises(function() probe.stability(X, y, 3) end, "relabel must be a function")
end)

T.test("rank_features: MI by hand; the cardinality correction demotes ID-like noise", function()
  -- MI of x = {1,1,2,2}, y = {1,1,2,2} is log 2; of an independent pair, 0
  local s = probe.rank_features(tensor.new { { 1, 1 }, { 1, 2 }, { 2, 1 }, { 2, 2 } }, tensor.new { 1, 1, 2, 2 })
  T.near(s:tolist(), { math.log(2), 0 }, 1e-12)
  local g = tensor.generator(8)
  local n = 2000
  local y = tensor.rand(n, { gen = g }):lt(0.5):to("i64")
  local function flip(q) return tensor.where(tensor.rand(n, { gen = g }):lt(q), 1 - y, y):view(n, 1) end
  local good, weak = flip(0.2), flip(0.35)                     -- MI about 0.19 and 0.05 nats
  local ids = tensor.randint(0, 1000, n, { gen = g }):view(n, 1)  -- high-cardinality noise
  local X = tensor.cat({ ids, good, weak }, 2)
  local mi, order = probe.rank_features(X, y, { method = "mi" })
  T.eq(order[1]:item(), 1, "plain MI puts the ID-like noise first")
  local mc, order2 = probe.rank_features(X, y, { method = "mi_cardinality" })
  T.eq(order2:tolist(), { 2, 3, 1 })
  T.ok(math.abs(mc[1]:item()) < 0.02, "corrected MI of noise " .. mc[1]:item())
  T.ok(mi[2]:item() > 0.1 and mi[3]:item() > 0.02)
  T.raises(function() probe.rank_features(X, y, { method = "gini" }) end, "method must be")
end)

T.test("rank_features: permutation importance with a probe", function()
  local feats, y = layered(300, 9)
  local X = tensor.cat({ feats[1]:narrow(2, 1, 2), feats[3]:narrow(2, 2, 1), feats[2]:narrow(2, 1, 1) }, 2)
  local s, order, sd = probe.rank_features(X, y, { method = "permutation", probe = fitname, seed = 2 })
  T.eq(order[1]:item(), 3)
  T.ok(s[3]:item() > 0.3, "importance " .. s[3]:item())
  T.eq(sd:numel(), 4)
  local s2 = probe.rank_features(X, y, { method = "permutation", probe = fitname, seed = 2 })
  T.eq(s2:tolist(), s:tolist())
end)

T.done()
