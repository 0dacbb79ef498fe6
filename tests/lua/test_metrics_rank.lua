-- test_metrics_rank.lua: metrics.auroc, aupr, aupr_trapz, roc_curve,
-- pr_curve, fpr_at_tpr, tpr_at_fpr against naive Lua references (pairwise
-- Mann-Whitney, step sums over distinct thresholds), the anchors' worked
-- example, shapes, dtypes, views and errors. scikit-learn comparisons are in
-- tests/detect/test_sklearn_rank.sh.
local T = require "testlib"

local s8 = tensor.new({ .1, .5, .5, .9, .5, .5, .2, .3 }, { dtype = "f64" })
local y8 = tensor.new { 0, 0, 1, 1, 0, 1, 0, 1 }

local function list(t) local r = {} for i = 1, t:numel() do r[i] = t[i]:item() end return r end

-- naive references over Lua lists
local function ref_auroc(s, y)
  local u, P, N = 0, 0, 0
  for i = 1, #s do
    if y[i] == 1 then P = P + 1 else N = N + 1 end
    for j = 1, #s do
      if y[i] == 1 and y[j] == 0 then
        u = u + (s[i] > s[j] and 1 or s[i] == s[j] and 0.5 or 0)
      end
    end
  end
  return u / (P * N)
end

local function ref_ap(s, y)
  local thr, seen = {}, {}
  for i = 1, #s do if not seen[s[i]] then seen[s[i]] = true; thr[#thr + 1] = s[i] end end
  table.sort(thr, function(a, b) return a > b end)
  local P = 0
  for i = 1, #y do P = P + y[i] end
  local ap, r0 = 0, 0
  for _, t in ipairs(thr) do
    local tp, fp = 0, 0
    for i = 1, #s do if s[i] >= t then if y[i] == 1 then tp = tp + 1 else fp = fp + 1 end end end
    ap = ap + (tp / P - r0) * tp / (tp + fp)
    r0 = tp / P
  end
  return ap
end

T.test("anchors' worked example: AUROC 0.75, AP 0.7167", function()
  T.near(metrics.auroc(s8, y8), 0.75, 1e-15)
  T.near(metrics.aupr(s8, y8), 0.71666666666666667, 1e-15)
  T.near(metrics.aupr(s8, y8), ref_ap(list(s8), list(y8)), 1e-15)
end)

T.test("partial AUROC (max_fpr) as sklearn's McClish standardisation", function()
  T.near(metrics.auroc(s8, y8, { max_fpr = 0.5 }), 2 / 3, 1e-15)       -- the anchors' 0.667
  T.near(metrics.auroc(s8, y8, { max_fpr = 0.3 }), 0.6470588235294118, 1e-15)
  T.eq(metrics.auroc(s8, y8, { max_fpr = 1 }), 0.75)
  T.raises(function() metrics.auroc(s8, y8, { max_fpr = 0 }) end, "max_fpr must be in (0, 1]")
end)

T.test("random tied scores match the pairwise reference", function()
  local g = tensor.generator(3)
  for _, n in ipairs { 2, 5, 40, 300 } do
    local s = tensor.randint(0, 4, n, { gen = g }):to("f32") / 4
    local y = tensor.rand(n, { gen = g }):lt(0.3):to("i64")
    y[1] = 1; y[n] = 0
    T.eq(y[1]:item() + y[n]:item(), 1)
    T.near(metrics.auroc(s, y), ref_auroc(list(s), list(y)), 1e-14, "auroc n=" .. n)
    T.near(metrics.aupr(s, y), ref_ap(list(s), list(y)), 1e-14, "aupr n=" .. n)
  end
end)

T.test("constant scores: AUROC 1/2, AP the prevalence", function()
  local s, y = tensor.full({ 10 }, 3), tensor.new { 1, 1, 1, 0, 0, 0, 0, 0, 0, 0 }
  T.eq(metrics.auroc(s, y), 0.5)
  T.near(metrics.aupr(s, y), 0.3, 1e-15)
  T.near(metrics.aupr_trapz(s, y), 0.65, 1e-15) -- (0,1) to (1, 0.3)
end)

T.test("perfect and reversed rankings", function()
  local s, y = tensor.new { 1, 2, 3, 4 }, tensor.new { 0, 0, 1, 1 }
  T.eq(metrics.auroc(s, y), 1)
  T.eq(metrics.auroc(-s, y), 0)
  T.eq(metrics.aupr(s, y), 1)
  T.eq(metrics.fpr_at_tpr(s, y, 0.95), 0)
  T.eq(metrics.tpr_at_fpr(s, y, 0), 1)
  T.eq(metrics.tpr_at_fpr(s, y, 0, { strict = true }), 0)
end)

T.test("roc_curve and pr_curve of the example", function()
  local f, t, h = metrics.roc_curve(s8, y8)
  T.eq(list(f), { 0, 0, 0.5, 0.5, 1 })
  T.eq(list(t), { 0, 0.25, 0.75, 1, 1 })
  T.near(list(h), { 1.9, 0.9, 0.5, 0.3, 0.1 }, 1e-15)
  T.eq(f:dtype(), "f64")
  local fa = metrics.roc_curve(s8, y8, { drop_intermediate = false })
  T.eq(fa:numel(), 6) -- 5 distinct thresholds + (0,0)
  local p, r, th = metrics.pr_curve(s8, y8)
  T.eq(p:numel(), 6); T.eq(r:numel(), 6); T.eq(th:numel(), 5)
  T.eq(list(p)[6], 1); T.eq(list(r)[6], 0); T.eq(list(r)[1], 1)
  T.near(list(p)[1], 0.5, 1e-15)
  T.near(list(th)[1], 0.1, 1e-15)
end)

T.test("fpr_at_tpr rules and tpr_at_fpr strictness", function()
  -- thresholds .9 .5 .3 .2 .1: tpr .25 .75 1 1 1, fpr 0 .5 .5 .75 1
  T.eq(metrics.fpr_at_tpr(s8, y8), 0.5)
  T.eq(metrics.fpr_at_tpr(s8, y8, 0.5, { rule = "first_ge" }), 0.5)
  T.eq(metrics.fpr_at_tpr(s8, y8, 0.3, { rule = "nearest" }), 0)
  -- quantile: floor(.5*4)=2nd largest positive = .5; negatives >= .5: two of four
  T.eq(metrics.fpr_at_tpr(s8, y8, 0.5, { rule = "quantile" }), 0.5)
  -- at .3 the quantile rule takes the largest positive (.9): no negative above
  T.eq(metrics.fpr_at_tpr(s8, y8, 0.3, { rule = "quantile" }), 0)
  T.eq(metrics.fpr_at_tpr(s8, y8, 0.3), 0.5)
  T.eq(metrics.tpr_at_fpr(s8, y8, 0.5), 1)
  T.eq(metrics.tpr_at_fpr(s8, y8, 0.5, { strict = true }), 0.25)
  T.eq(metrics.tpr_at_fpr(s8, y8, { strict = true }), 0.25) -- default fpr 1e-3
  T.raises(function() metrics.fpr_at_tpr(s8, y8, 0.5, { rule = "closest" }) end, "invalid option 'closest'")
  T.raises(function() metrics.fpr_at_tpr(s8, y8, 1.5) end, "tpr must be in [0, 1]")
  T.raises(function() metrics.tpr_at_fpr(s8, y8, -1) end, "fpr must be in [0, 1]")
end)

T.test("label dtypes, maps of any shape, views", function()
  local a = metrics.auroc(s8, y8)
  T.eq(metrics.auroc(s8, y8:to("bool")), a)
  T.eq(metrics.auroc(s8, y8:to("f32")), a)
  T.eq(metrics.auroc(s8:to("f32"), y8:to("u8")), a)
  T.eq(metrics.auroc(s8:view(2, 4), y8:view(2, 4)), a)      -- pixel maps
  T.eq(metrics.auroc(s8:view(2, 4):t(), y8:view(2, 4):t()), a) -- non-contiguous
  T.eq(metrics.auroc(s8:to("i64"):mul(0):add(s8:mul(10):round():to("i64")), y8), a)
  T.eq(metrics.auroc(s8:view(8, 1), y8:view(1, 8)), a)      -- same size is enough
  -- -0 and 0 are the same score
  T.eq(metrics.auroc(tensor.new({ -0.0, 0.0 }, { dtype = "f64" }), tensor.new { 1, 0 }), 0.5)
end)

T.test("errors name the metric and the problem", function()
  T.raises(function() metrics.auroc(s8, tensor.new { 1, 0 }) end, "auroc: scores [8] and labels [2] differ in size")
  T.raises(function() metrics.auroc(s8, y8 * 2) end, "auroc: labels must be 0 or 1, found 2 at position 3")
  T.raises(function() metrics.auroc(s8, y8:mul(0)) end, "only negatives")
  T.raises(function() metrics.roc_curve(s8, y8:mul(0):add(1)) end, "only positives")
  T.raises(function() metrics.aupr(tensor.zeros(0), tensor.zeros(0)) end, "aupr: no scores")
  local sn = s8:clone(); sn[2] = 0 / 0
  T.raises(function() metrics.auroc(sn, y8) end, "score at position 2 is NaN")
  T.raises(function() metrics.auroc(s8, "y") end, "bad argument #2")
  T.raises(function() metrics.roc_curve(s8, y8, 3) end, "options must be a table")
  -- no negatives is fine for AP: precision is 1 everywhere
  T.eq(metrics.aupr(s8, y8:mul(0):add(1)), 1)
end)

T.test("pro: perfect maps give 1, regions weigh equally, errors", function()
  local masks = tensor.zeros(1, 6, 6)
  masks[{ 1, { 1, 2 }, { 1, 2 } }] = 1 -- a 4-pixel region
  masks[{ 1, 5, 5 }] = 1                -- a 1-pixel region
  T.eq(metrics.pro(masks * 2 + 1, masks), 1)
  -- only the big region found before any false positive: PRO 1/2 up to the limit
  local maps = masks:clone(); maps[{ 1, 5, 5 }] = 0
  -- points (0, 1/2) then (1, 1): interpolated 0.65 at FPR 0.3, area (1/2 + 0.65)/2
  T.near(metrics.pro(maps, masks, { fpr_limit = 0.3 }), 0.575, 1e-12)
  -- a diagonal neighbour joins a region (8-connectivity): still one region
  local m2 = tensor.zeros(4, 4); m2[{ 1, 1 }] = 1; m2[{ 2, 2 }] = 1
  local s2 = tensor.zeros(4, 4); s2[{ 1, 1 }] = 1
  -- one region half found at FPR 0, then everything at FPR 1
  T.near(metrics.pro(s2, m2, { fpr_limit = 1 }), 0.5 + 0.25, 1e-12)
  T.raises(function() metrics.pro(maps, masks:view(6, 6)) end, "must have one shape")
  T.raises(function() metrics.pro(maps, masks * 0) end, "need an anomalous region")
  T.raises(function() metrics.pro(maps, masks, { fpr_limit = 0 }) end, "fpr_limit must be in (0, 1]")
end)

T.test("bootstrap: seeded, CIs bracket the value, failures skipped", function()
  local g = tensor.generator(9)
  local y = tensor.rand(100, { gen = g }):lt(0.4):to("i64")
  local s = tensor.randn(100, { gen = g }) + y
  local a = metrics.bootstrap(metrics.auroc, s, y, { n = 100, seed = 3 })
  local b = metrics.bootstrap(metrics.auroc, s, y, { n = 100, seed = 3 })
  T.eq(a, b)
  T.eq(a.value, metrics.auroc(s, y))
  T.ok(a.lo < a.value and a.value < a.hi and a.n == 100 and a.failed == 0)
  -- three rows with one positive: some resamples lack it and are skipped
  local c = metrics.bootstrap(metrics.auroc, tensor.new { 1, 2, 3 }, tensor.new { 0, 0, 1 }, { n = 50 })
  T.ok(c.failed > 0 and c.n + c.failed == 50)
  T.raises(function() metrics.bootstrap(metrics.auroc, s, y:narrow(1, 1, 5)) end, "has 5 rows")
  T.raises(function() metrics.bootstrap(function() return 1 end, 3) end, "no tensor argument")
end)

T.test("every ranking metric is documented", function()
  local docs = sonde.docs()
  for _, n in ipairs { "auroc", "aupr", "aupr_trapz", "roc_curve", "pr_curve", "fpr_at_tpr", "tpr_at_fpr", "pro", "bootstrap" } do
    T.ok(docs["metrics." .. n] and docs["metrics." .. n].doc ~= "", n)
  end
end)

T.done()
