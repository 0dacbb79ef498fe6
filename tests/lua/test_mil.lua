-- test_mil.lua: probe.svm and probe.mil (sawmil's SVM, NSK, sMIL, sAwMIL
-- on sonde's SMO): bag and instance AUROC on synthetic bags, sAwMIL
-- against the instance SVM and NSK on bags with one hidden positive, the
-- aggregation of each method, the sMIL margins and boxes at the solution,
-- scale_C, the intra-bag mask, the rbf kernel, determinism, errors.
local T = require "testlib"

-- bags in the spirit of sawmil's generate_dummy_bags: positive bags hold
-- ~30% instances shifted along the first two axes among Gaussian distractors
local function bags(B, seed)
  local g = tensor.generator(seed)
  local Xs, offs, ys, witness, row = {}, {}, {}, {}, 1
  for b = 1, B do
    local m = 4 + tensor.randint(0, 9, 1, { gen = g })[1]:item()
    local X = tensor.randn(m, 6, { gen = g, dtype = "f64" })
    local pos = tensor.rand(1, { gen = g })[1]:item() < 0.5
    local w = {}
    for i = 1, m do w[i] = false end
    if pos then
      local k = math.max(1, math.floor(m * 0.3))
      for i = 1, k do X[{ i, 1 }] = X[{ i, 1 }]:item() + 2.5; X[{ i, 2 }] = X[{ i, 2 }]:item() + 1.5; w[i] = true end
    end
    Xs[#Xs + 1] = X; offs[b] = row; row = row + m; ys[b] = pos and 1 or 0
    for i = 1, m do witness[#witness + 1] = w[i] end
  end
  return { tensor.cat(Xs, 1), tensor.new(offs) }, tensor.new(ys), tensor.new(witness)
end

-- bags of 4..12 instances in d dims; a positive bag has exactly one witness
-- (its first instance, shifted by `shift` along axis 1)
local function one_witness(B, seed, d, shift)
  local g = tensor.generator(seed)
  local Xs, offs, ys, row = {}, {}, {}, 1
  for b = 1, B do
    local m = 4 + tensor.randint(0, 9, 1, { gen = g })[1]:item()
    local X = tensor.randn(m, d, { gen = g, dtype = "f64" })
    local pos = tensor.rand(1, { gen = g })[1]:item() < 0.5
    if pos then X[{ 1, 1 }] = X[{ 1, 1 }]:item() + shift end
    Xs[#Xs + 1] = X; offs[b] = row; row = row + m; ys[b] = pos and 1 or 0
  end
  return { tensor.cat(Xs, 1), tensor.new(offs) }, tensor.new(ys)
end

local tr, ytr, wtr = bags(300, 1)
local te, yte, wit = bags(200, 2)

T.test("mil: sawmil by default: bag and witness AUROC, direction, fields", function()
  local m = probe.mil(tr, ytr)
  T.eq(m.method, "sawmil")
  local auc = metrics.auroc(m:decision_function(te), yte)
  T.ok(auc > 0.92, "bag AUROC " .. auc)
  T.ok(m:score(te, yte) > 0.65, "bag accuracy " .. m:score(te, yte))
  local iauc = metrics.auroc(m:score_instances(te[1]), wit:to("i64"))
  T.ok(iauc > 0.9, "instance AUROC of the witnesses " .. iauc)
  local d = m:direction()
  T.near(d:norm():item(), 1, 1e-12)
  T.ok(d[1]:item() > 0.6, "direction along the witness shift " .. d[1]:item())
  T.eq(m:predict(te):numel(), 200)
  T.ok(m.converged and m.stage1.converged, "both stages converged")
  -- eta = 0.1 of the positive bags' instances are chosen, all from positive bags
  local npos = 0
  local o = tr[2]:tolist(); o[#o + 1] = tr[1]:size(1) + 1
  local inpos = {}
  for b = 1, #o - 1 do
    for i = o[b], o[b + 1] - 1 do inpos[i] = ytr[b]:item() == 1; if inpos[i] then npos = npos + 1 end end
  end
  T.ok(math.abs(m.n_selected - 0.1 * npos) <= 2, string.format("%d chosen of %d", m.n_selected, npos))
  T.eq(m.selected:numel(), m.n_selected)
  local hits = 0
  for _, i in ipairs(m.selected:tolist()) do
    T.ok(inpos[i], "chosen instance " .. i .. " is in a positive bag")
    if wtr[i]:item() then hits = hits + 1 end
  end
  T.ok(hits >= 0.9 * m.n_selected, string.format("%d of %d chosen are witnesses", hits, m.n_selected))
  -- offsets with the end N+1 give the same fit
  local m2 = probe.mil({ tr[1], o }, ytr)
  T.eq(m2.coef:tolist(), m.coef:tolist())
  -- bag probabilities are the sigmoid of the bag scores
  T.near(m:predict_proba(te)[1]:item(), 1 / (1 + math.exp(-m:decision_function(te)[1]:item())), 1e-12)
end)

T.test("mil: one hidden positive per bag: sAwMIL beats the instance SVM and NSK on bag AUROC", function()
  local X, y = one_witness(300, 1, 10, 3)
  local Xt, yt = one_witness(300, 101, 10, 3)
  local auc = {}
  for _, meth in ipairs { "sawmil", "smil", "nsk", "svm" } do
    auc[meth] = metrics.auroc(probe.mil(X, y, { method = meth }):decision_function(Xt), yt)
  end
  print(string.format("    bag AUROC: sawmil %.4f  smil %.4f  nsk %.4f  svm %.4f", auc.sawmil, auc.smil, auc.nsk, auc.svm))
  T.ok(auc.sawmil > 0.87, "sAwMIL " .. auc.sawmil)
  T.ok(auc.sawmil > auc.svm + 0.03, string.format("sAwMIL %.4f vs instance SVM %.4f", auc.sawmil, auc.svm))
  T.ok(auc.sawmil > auc.nsk + 0.1, string.format("sAwMIL %.4f vs NSK %.4f", auc.sawmil, auc.nsk))
  T.ok(auc.sawmil > auc.smil + 0.1, string.format("sAwMIL %.4f vs sMIL %.4f", auc.sawmil, auc.smil))
end)

-- the rows of each bag, and each bag's mean
local function bag_means(b)
  local X, o = b[1], b[2]:tolist()
  o[#o + 1] = X:size(1) + 1
  local means = {}
  for k = 1, #o - 1 do means[k] = X:narrow(1, o[k], o[k + 1] - o[k]):mean(1, true) end
  return tensor.cat(means, 1), o
end

T.test("mil: nsk and smil score a bag by its mean, svm and sawmil by the max", function()
  local means, o = bag_means(te)
  for _, meth in ipairs { "nsk", "smil" } do
    local m = probe.mil(tr, ytr, { method = meth })
    T.eq(m.aggregate, "mean")
    local d = m:decision_function(te)
    local e = m:score_instances(means:to("f64"))
    T.ok((d - e):abs():max():item() < 1e-9, meth .. ": bag score = score of the bag mean")
  end
  for _, meth in ipairs { "svm", "sawmil" } do
    local m = probe.mil(tr, ytr, { method = meth })
    local s = m:score_instances(te[1])
    local d = m:decision_function(te)
    for _, b in ipairs { 1, 7, 200 } do
      T.near(d[b]:item(), s:narrow(1, o[b], o[b + 1] - o[b]):max():item(), 1e-12)
    end
  end
end)

T.test("mil: sMIL solution: boxes C/S_n and C/B_p, bag margins (2 - |B|)/|B| at free multipliers", function()
  local m = probe.mil(tr, ytr, { method = "smil", C = 5 })
  local a = m.fit.alpha:tolist()
  local o = tr[2]:tolist(); o[#o + 1] = tr[1]:size(1) + 1
  local S_n, B_p, pos = 0, 0, {}
  for b = 1, #o - 1 do
    if ytr[b]:item() == 1 then B_p = B_p + 1; pos[#pos + 1] = b else S_n = S_n + o[b + 1] - o[b] end
  end
  T.eq(#a, S_n + B_p)
  local free = 0
  for k = 1, S_n do T.ok(a[k] >= 0 and a[k] <= 5 / S_n + 1e-15, "negative box") end
  for j, b in ipairs(pos) do
    local aj = a[S_n + j]
    T.ok(aj >= 0 and aj <= 5 / B_p + 1e-15, "positive-bag box")
    if aj > 1e-9 and aj < 5 / B_p - 1e-9 then
      local nb = o[b + 1] - o[b]
      local f = m:score_instances(tr[1]:narrow(1, o[b], nb):mean(1, true):to("f64"))[1]:item()
      T.near(f, (2 - nb) / nb, 5e-3, "margin of bag " .. b)
      free = free + 1
    end
  end
  T.ok(free > 0, "some positive bags are free support vectors")
  -- sawmil 0.2's sign of the bag margin: (|B| - 2)/|B|
  local m2 = probe.mil(tr, ytr, { method = "smil", C = 5, bag_margin = "sawmil" })
  T.ok((m2.coef - m.coef):abs():max():item() > 1e-3, "the two margins give different fits")
end)

T.test("mil: scale_C divides C by the number of bags for NSK; C unscaled for the instance SVM", function()
  local B = ytr:numel()
  local a = probe.mil(tr, ytr, { method = "nsk", C = B })
  local b = probe.mil(tr, ytr, { method = "nsk", C = 1, scale_C = false })
  T.eq(a.coef:tolist(), b.coef:tolist())
  T.eq(a.intercept, b.intercept)
  local c = probe.mil(tr, ytr, { method = "nsk" })
  T.ok(c.fit.alpha:max():item() <= 1 / B + 1e-15, "alpha <= C / B")
  local s = probe.mil(tr, ytr, { method = "svm", C = 0.5 })
  T.ok(s.fit.alpha:max():item() <= 0.5 + 1e-15 and s.fit.alpha:max():item() > 0.5 - 1e-9, "instance SVM box C")
end)

T.test("mil: the intra-bag mask limits sAwMIL's positives", function()
  -- allow only the first instance of each bag (a witness in positive bags)
  local o = tr[2]:tolist()
  local mask = tensor.zeros(tr[1]:size(1), { dtype = "bool" })
  for _, i in ipairs(o) do mask[i] = true end
  local m = probe.mil(tr, ytr, { mask = mask, eta = 0.5 })
  for _, i in ipairs(m.selected:tolist()) do T.ok(mask[i]:item(), "chosen instance " .. i .. " is in the mask") end
  T.ok(m.n_selected > 10, "chosen " .. m.n_selected)
  -- without the mask, eta = 0.5 takes half of the positive bags' instances
  local m2 = probe.mil(tr, ytr, { eta = 0.5 })
  T.ok(m2.n_selected > 2 * m.n_selected, string.format("%d vs %d", m2.n_selected, m.n_selected))
  -- min_pos_ratio: a mask with too few allowed instances falls back to the top scores
  local one = tensor.zeros(tr[1]:size(1), { dtype = "bool" })
  one[o[2]] = true
  local m3 = probe.mil(tr, ytr, { mask = one })
  T.ok(m3.n_selected > 5, "fallback to the top round(eta m): " .. m3.n_selected)
end)

T.test("mil: rbf kernel for every method", function()
  for _, meth in ipairs { "sawmil", "smil", "nsk", "svm" } do
    local m = probe.mil(tr, ytr, { method = meth, kernel = "rbf" })
    local auc = metrics.auroc(m:decision_function(te), yte)
    T.ok(auc > 0.88, meth .. " rbf bag AUROC " .. auc)
    T.eq(m.coef, nil)
    T.raises(function() m:direction() end, "needs kernel='linear'")
  end
  -- sMIL/NSK with rbf: a bag's score is still the mean of its instances' scores
  local m = probe.mil(tr, ytr, { method = "nsk", kernel = "rbf", gamma = 0.2 })
  local _, o = bag_means(te)
  local s = m:score_instances(te[1])
  T.near(m:decision_function(te)[3]:item(), s:narrow(1, o[3], o[4] - o[3]):mean():item(), 1e-12)
end)

T.test("mil: deterministic", function()
  local a = probe.mil(tr, ytr)
  local b = probe.mil(tr, ytr)
  T.eq(a.coef:tolist(), b.coef:tolist())
  T.eq(a.intercept, b.intercept)
end)

T.test("mil: argument errors", function()
  local X = tensor.randn(6, 2)
  T.raises(function() probe.mil({ X, { 1, 3 } }, { 1, 0, 1 }) end, "2 offsets for 3 bags")
  T.raises(function() probe.mil({ X, { 2, 4 } }, { 1, 0 }) end, "offsets must start at 1")
  T.raises(function() probe.mil({ X, { 1, 1, 4 } }, { 1, 0, 1 }) end, "bag 1 is empty")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 1 }) end, "both positive and negative")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 2 }) end, "must be 0 or 1")
  T.raises(function() probe.mil(X, { 1, 0 }) end, "bags must be a table")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 0 }, { method = "mi-svm" }) end, "#3 to 'mil' (method must be")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 0 }, { kernel = "poly" }) end, "kernel must be 'linear' or 'rbf'")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 0 }, { C = 0 }) end, "C must be a number > 0")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 0 }, { mask = tensor.ones(3) }) end, "mask must be a tensor of 6")
  T.raises(function() probe.mil({ X, { 1, 4 } }, { 1, 0 }, { bag_margin = "x" }) end, "bag_margin must be")
end)

T.test("svm: labels, predictions, support, direction, errors", function()
  local g = tensor.generator(4)
  local y = tensor.rand(200, { gen = g }):lt(0.5):to("i64") + 1          -- classes 1, 2
  local X = tensor.randn(200, 3, { gen = g }) + y:to("f32"):view(-1, 1) * 1.5
  local s = probe.svm(X, y, { C = 2 })
  T.eq(s.classes, { 1, 2 })
  local p = s:predict(X)
  T.eq(p:min():item() >= 1 and p:max():item() <= 2, true)
  T.ok(s:score(X, y) > 0.8, "training accuracy " .. s:score(X, y))
  T.near(s:direction():norm():item(), 1, 1e-12)
  T.ok(s:direction()[1]:item() > 0.5, "direction along the shift")
  -- the support: 1-based rows with alpha > 0; w = sum alpha_i t_i x_i
  local sup = s.support:tolist()
  T.ok(#sup > 0 and sup[1] >= 1, "support is 1-based")
  local t = y:eq(2):to("f64") * 2 - 1
  local w = X:to("f64"):t():mv(s.alpha * t)
  T.ok((w - s.coef):abs():max():item() < 1e-9, "w from the multipliers")
  -- decision function of the rbf kernel: sum over support vectors
  local r = probe.svm(X, y, { kernel = "rbf", gamma = 0.5 })
  local K = (tensor.cdist(X:to("f64"), X:to("f64"), { squared = true }) * -0.5):exp()
  local f = K:mv(r.alpha * t) + r.intercept
  T.ok((f - r:decision_function(X)):abs():max():item() < 1e-9, "rbf decision values")
  T.raises(function() probe.svm(X, tensor.ones(200)) end, "exactly 2 classes, got 1")
  T.raises(function() probe.svm(X:view(-1), y) end, "X must be [n, d]")
  T.raises(function() probe.svm(X, y, { gamma = -1, kernel = "rbf" }) end, "gamma must be")
  T.raises(function() require("probe.kernels").svm_fit(X, t, 1, nil, { kernel = "precomputed" }) end,
           "precomputed kernel must be [n, n]")
  T.raises(function() require("probe.kernels").svm_fit(X, y:to("f64"), 1) end, "labels must be -1 or +1")
end)

T.done()
