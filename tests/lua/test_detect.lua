-- test_detect.lua: the `detect` module: every detector's interface (score,
-- save/load, threshold, predict), separation of obvious outliers, seeded
-- reproducibility, the logit and evidence scores against their formulas,
-- and errors. scikit-learn comparisons: tests/detect/test_sklearn_detect.sh.
local T = require "testlib"

local g = tensor.generator(5)
local train = tensor.randn(300, 4, { gen = g })
local test = tensor.cat({ tensor.randn(100, 4, { gen = g }), tensor.randn(20, 4, { gen = g }) * 4 + 3 }, 1)
local y = tensor.cat({ tensor.zeros(100, { dtype = "i64" }), tensor.ones(20, { dtype = "i64" }) }, 1)
local tmp = os.tmpname()

local fitted = {
  knn = function() return detect.knn(train, { k = 3 }) end,
  knn_max_coreset = function() return detect.knn(train, { k = 2, reduce = "max", coreset = 0.5, seed = 2 }) end,
  mahalanobis = function() return detect.mahalanobis(train) end,
  mahalanobis_fixed = function() return detect.mahalanobis(train, { shrinkage = 0.1, reg = 1e-3 }) end,
  iforest = function() return detect.iforest(train, { seed = 4 }) end,
  lof = function() return detect.lof(train) end,
  ecod = function() return detect.ecod(train) end,
  hbos = function() return detect.hbos(train) end,
}
local names = {}
for k in pairs(fitted) do names[#names + 1] = k end
table.sort(names)

for _, name in ipairs(names) do
  T.test(name .. ": scores, separation, save/load, threshold", function()
    local d = fitted[name]()
    local s = d:score(test)
    T.eq(s:shape(), { 120 })
    T.ok(metrics.auroc(s, y) > 0.95, name .. " AUROC " .. metrics.auroc(s, y))
    d:save(tmp)
    local d2 = detect.load(tmp)
    T.eq(d2.kind, d.kind)
    T.eq((d2:score(test) - s):abs():max():item(), 0)
    local t = d:threshold { contamination = 0.1 }
    local above = d.state.train_scores:gt(t):sum():item()
    T.ok(above >= 27 and above <= 31, "about 10% of training rows above: " .. above)
    T.eq(d:predict(test):sum():item(), s:gt(t):sum():item())
  end)
end

T.test("iforest: same seed same forest, other seed other forest; score in (0, 1)", function()
  local a = detect.iforest(train, { seed = 7 }):score(test)
  local b = detect.iforest(train, { seed = 7 }):score(test)
  local c = detect.iforest(train, { seed = 8 }):score(test)
  T.eq((a - b):abs():max():item(), 0)
  T.ok((a - c):abs():max():item() > 0)
  T.ok(a:min():item() > 0 and a:max():item() < 1)
  local n = tensor.get_num_threads()
  tensor.set_num_threads(1)
  local d = detect.iforest(train, { seed = 7 }):score(test)
  tensor.set_num_threads(n)
  T.eq((a - d):abs():max():item(), 0)
  -- fewer rows than max_samples: psi = n
  local small = detect.iforest(train:narrow(1, 1, 10), { n_trees = 5 })
  T.eq(small.opts.psi, 10)
  T.eq(small.state.roots:numel(), 5)
end)

T.test("knn: k=1 of a training row is 0; the coreset keeps m rows", function()
  local d = detect.knn(train)
  T.eq(d:score(train:narrow(1, 5, 3)):abs():max():item(), 0)
  local idx = detect.coreset(train, 30, { seed = 1 })
  T.eq(idx:numel(), 30)
  T.eq(idx:unique():numel(), 30)
  T.eq(detect.knn(train, { coreset = 30 }).state.bank:size(1), 30)
end)

T.test("patches: kNN and PaDiM maps localise synthetic defects; save/load; upsample", function()
  local X, masks, lab = data.synthetic.textures { n = 60, size = 32, defect_rate = 0.5, gen = tensor.generator(1) }
  local y = lab:eq(2):to("i64")
  local F = nn.functional.conv2d(X, tensor.randn(8, 1, 4, 4, { gen = tensor.generator(2) }), nil, { stride = 4 }):relu()
  local tr = F:index_select(1, y:eq(0):nonzero():view(-1):narrow(1, 1, 15))
  for _, m in ipairs { "knn", "mahalanobis" } do
    local d = detect.patches(tr, { method = m })
    local maps = d:score(F)
    T.eq(maps:shape(), { 60, 8, 8 })
    local up = detect.upsample(maps, 32, 32)
    T.eq(up:shape(), { 60, 32, 32 })
    T.ok(metrics.auroc(d:image_scores(F), y) > 0.9, m .. " image AUROC")
    T.ok(metrics.auroc(up, masks:view(60, 32, 32)) > 0.9, m .. " pixel AUROC")
    d:save(tmp)
    T.eq((detect.load(tmp):score(F) - maps):abs():max():item(), 0)
  end
  local c = detect.patches(tr, { coreset = 100, k = 1 })
  T.eq(c.state.bank:size(1), 100)
  T.raises(function() detect.patches(tr, { method = "flow" }) end, "method must be")
  T.raises(function() detect.patches(tr:view(15, 8, 64)) end, "must be [N, C, H, W]")
  T.raises(function() detect.patches(tr):score(F:narrow(3, 1, 4)) end, "do not match")
end)

T.test("simplenet: the loss falls, defects score higher, seeded, save/load", function()
  local X, masks, lab = data.synthetic.textures { n = 60, size = 32, defect_rate = 0.5, gen = tensor.generator(1) }
  local yy = lab:eq(2):to("i64")
  local F = nn.functional.conv2d(X, tensor.randn(16, 1, 4, 4, { gen = tensor.generator(2) }), nil, { stride = 4 }):relu()
  local tr = F:index_select(1, yy:eq(0):nonzero():view(-1):narrow(1, 1, 10))
  local o = { epochs = 30, hidden = 64, batch = 64, noise_std = 0.1, lr = 1e-3, adaptor_lr = 1e-3 }
  local d = detect.simplenet(tr, o)
  T.ok(d.losses[30] < 0.5 * d.losses[1], "loss " .. d.losses[1] .. " -> " .. d.losses[30])
  local maps = d:score(F)
  T.eq(maps:shape(), { 60, 8, 8 })
  T.ok(metrics.auroc(d:image_scores(F), yy) > 0.9, "image AUROC " .. metrics.auroc(d:image_scores(F), yy))
  local pa = metrics.auroc(detect.upsample(maps, 32, 32), masks:view(60, 32, 32))
  T.ok(pa > 0.85, "pixel AUROC " .. pa)
  T.eq((detect.simplenet(tr, o):score(F) - maps):abs():max():item(), 0)
  d:save(tmp)
  T.eq((detect.load(tmp):score(F) - maps):abs():max():item(), 0)
  T.eq(detect.simplenet(train, { epochs = 1, hidden = 8 }):score(test):shape(), { 120 })
  T.raises(function() detect.simplenet(tensor.randn(5)) end, "features must be")
end)

T.test("autoencoder: reconstruction error separates outliers; save/load", function()
  local d = detect.autoencoder(train, { hidden = { 8, 2 }, epochs = 20 })
  local s = d:score(test)
  T.ok(metrics.auroc(s, y) > 0.95)
  d:save(tmp)
  T.eq((detect.load(tmp):score(test) - s):abs():max():item(), 0)
  T.ok(d:threshold { contamination = 0.05 } > 0)
end)

T.test("logit scores match their formulas", function()
  local z = tensor.new({ { 1, 2, 3 }, { 0, 0, 0 }, { 5, -1, 0 } }, { dtype = "f64" })
  local function lse(r) local s = 0 for _, v in ipairs(r) do s = s + math.exp(v) end return math.log(s) end
  local rows = { { 1, 2, 3 }, { 0, 0, 0 }, { 5, -1, 0 } }
  local msp, en, ml, en2 = detect.msp(z), detect.energy(z), detect.maxlogit(z), detect.energy(z, { T = 2 })
  for i, r in ipairs(rows) do
    local mx = math.max(table.unpack(r))
    T.near(msp[i]:item(), -math.exp(mx - lse(r)), 1e-12)
    T.near(en[i]:item(), -lse(r), 1e-12)
    T.near(en2[i]:item(), -2 * lse { r[1] / 2, r[2] / 2, r[3] / 2 }, 1e-12)
    T.eq(ml[i]:item(), -mx)
  end
end)

T.test("vacuity and dissonance (Josang)", function()
  local e = tensor.new({ { 0, 0, 0 }, { 10, 10, 0 }, { 100, 0, 0 }, { 5, 5, 5 } }, { dtype = "f64" })
  local u, dis = detect.vacuity(e), detect.dissonance(e)
  T.near(u[1]:item(), 1, 1e-15)
  T.near(u[2]:item(), 3 / 23, 1e-15)
  T.eq(dis[1]:item(), 0)             -- no evidence: no conflict
  T.near(dis[2]:item(), 20 / 23, 1e-12) -- two equal beliefs: all of the belief mass conflicts
  T.eq(dis[3]:item(), 0)             -- one class only
  T.near(dis[4]:item(), 15 / 18, 1e-12)
end)

T.test("errors name the detector", function()
  T.raises(function() detect.knn(tensor.randn(5)) end, "detect.knn: expected an [n, d] tensor, got [5]")
  T.raises(function() detect.knn(train, { k = 400 }) end, "exceeds the 300 rows")
  T.raises(function() detect.knn(train, { reduce = "median" }) end, "reduce must be")
  T.raises(function() detect.mahalanobis(train:narrow(1, 1, 1)) end, "at least 2")
  T.raises(function() detect.iforest(train):score(tensor.randn(3, 2)) end, "iforest: score needs [n, d] with d >= ")
  T.raises(function() detect.knn(train):threshold { contamination = 0.7 } end, "contamination must be in (0, 0.5)")
  T.raises(function() detect.msp(tensor.randn(3)) end, "logits must be [n, K]")
  local f = io.open(tmp, "wb"); f:write("nope"); f:close()
  T.raises(function() detect.load(tmp) end)
end)

T.test("every detect function is documented", function()
  local docs = sonde.docs()
  for _, n in ipairs { "knn", "coreset", "mahalanobis", "iforest", "lof", "ecod", "hbos", "msp", "energy",
                       "maxlogit", "vacuity", "dissonance", "load", "patches", "upsample", "simplenet", "autoencoder" } do
    T.ok(docs["detect." .. n], n)
  end
end)

os.remove(tmp)
T.done()
