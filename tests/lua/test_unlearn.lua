-- test_unlearn.lua: the unlearn module on Gaussian blobs and a tiny MLP:
-- methods (effect, seeds, inputs untouched, argument errors), membership
-- inference (LOSS, entropy, LiRA, RMIA), relearning, representation audit
-- and the report.
local T = require "testlib"
local C = require "unlearn_common"

local K, D = 4, 10
local g = tensor.generator(11)
local centers = tensor.randn(K, D, { gen = g }):mul(1.5)
local X, y = data.synthetic.blobs { n = 900, centers = centers, std = 2.5, gen = g }
local train = { X = X:narrow(1, 1, 300), y = y:narrow(1, 1, 300) }
local test = { X = X:narrow(1, 301, 300), y = y:narrow(1, 301, 300) }
local pool = { X = X:narrow(1, 601, 300), y = y:narrow(1, 601, 300) }

local function mlp(gen)
  return nn.Sequential { nn.Linear(D, 64, { gen = gen }), nn.ReLU(), nn.Linear(64, K, { gen = gen }) }
end

local function fit(m, s, steps)
  local opt = optim.Adam(m:parameters(), { lr = 1e-2 })
  for _ = 1, steps do
    opt:zero_grad()
    nn.functional.cross_entropy(m(s.X), s.y):backward()
    opt:step()
  end
  return m
end
local model = fit(mlp(tensor.generator(5)), train, 300)

local function split(s, mask)
  local a, b = mask:nonzero():view(-1), mask:logical_not():nonzero():view(-1)
  return { X = s.X:index_select(1, a), y = s.y:index_select(1, a) }, { X = s.X:index_select(1, b), y = s.y:index_select(1, b) }
end
-- class-wise forgetting: class 1
local forget, retain = split(train, train.y:eq(1))
-- sample-wise forgetting: 40 random training rows
local sample_mask = tensor.zeros(300, { dtype = "bool" })
sample_mask:index_fill_(1, tensor.randperm(300, { gen = tensor.generator(2) }):narrow(1, 1, 40), true)
local forget_s, retain_s = split(train, sample_mask)

local function params_of(m)
  local out = {}
  for _, p in ipairs(m:parameters()) do out[#out + 1] = p:clone() end
  return out
end
local function same_params(a, b)
  for i = 1, #a do
    if not a[i]:eq(b[i]):all():item() then return false end
  end
  return #a == #b
end

local before = params_of(model)
local opts_of = { retrain = { model_fn = mlp, steps = 300 } }

T.test("the trained model knows the forget class", function()
  T.ok(C.accuracy(model, forget) > 0.95, "forget acc " .. C.accuracy(model, forget))
  T.ok(C.accuracy(model, test) > 0.7)
end)

T.test("every method returns a new model, leaves the input untouched and reproduces with a seed", function()
  for _, name in ipairs(unlearn.methods) do
    local o = { seed = 3 }
    for k, v in pairs(opts_of[name] or {}) do o[k] = v end
    local m1, info = unlearn[name](model, forget, retain, o)
    local m2 = unlearn[name](model, forget, retain, o)
    T.ok(m1 ~= model and nn.is_module(m1), name .. " returns a new module")
    T.eq(info.method, name)
    T.ok(info.steps >= 1 and info.time >= 0, name .. " info")
    T.ok(same_params(params_of(m1), params_of(m2)), name .. ": same seed, same bits")
    T.ok(same_params(before, params_of(model)), name .. " left the input untouched")
    -- parameters are fresh tensors that still train
    T.ok(m1:parameters()[1] ~= model:parameters()[1] and m1:parameters()[1]:needs_grad(), name .. " params")
    if name ~= "retrain" then
      o.seed = 4
      local m3 = unlearn[name](model, forget, retain, o)
      T.ok(not same_params(params_of(m1), params_of(m3)), name .. ": another seed, other bits")
    end
  end
end)

T.test("a method gives the same bits on 1 and 2 threads", function()
  local was = tensor.get_num_threads()
  tensor.set_num_threads(1)
  local a = unlearn.scrub(model, forget, retain, { seed = 5, steps = 20 })
  tensor.set_num_threads(2)
  local b = unlearn.scrub(model, forget, retain, { seed = 5, steps = 20 })
  tensor.set_num_threads(was)
  T.ok(same_params(params_of(a), params_of(b)))
end)

T.test("gradient ascent, graddiff, random labels, NPO, SCRUB and retrain lower the forget accuracy", function()
  local f0 = C.accuracy(model, forget)
  for _, name in ipairs { "gradient_ascent", "graddiff", "random_label", "npo", "scrub", "retrain" } do
    local m = unlearn[name](model, forget, retain, opts_of[name])
    local f = C.accuracy(m, forget)
    T.ok(f < 0.4 * f0, string.format("%s: forget acc %.3f (was %.3f)", name, f, f0))
    if name ~= "gradient_ascent" then
      T.ok(C.accuracy(m, retain) > 0.8, string.format("%s keeps retain acc: %.3f", name, C.accuracy(m, retain)))
    end
  end
end)

T.test("gradient ascent: more steps forget more", function()
  local a = C.accuracy(unlearn.gradient_ascent(model, forget, nil, { steps = 5 }), forget)
  local b = C.accuracy(unlearn.gradient_ascent(model, forget, nil, { steps = 100 }), forget)
  T.ok(b < a, string.format("5 steps %.3f, 100 steps %.3f", a, b))
end)

T.test("stop_acc: the ascent methods stop once a forget batch is all misclassified", function()
  for _, name in ipairs { "gradient_ascent", "graddiff", "npo" } do
    local m, info = unlearn[name](model, forget, retain, { steps = 400, stop_acc = 0 })
    local _, full = unlearn[name](model, forget, retain, { steps = 400 })
    T.ok(info.steps < 400, name .. " stopped after " .. info.steps)
    T.eq(full.steps, 400)
    T.ok(C.accuracy(m, forget) < 0.2, name .. " forget acc " .. C.accuracy(m, forget))
  end
  local _, s = unlearn.scrub(model, forget, retain, { steps = 10, max_steps = 400, stop_acc = 0 })
  T.ok(s.steps < 410, "scrub max steps stopped: " .. s.steps)
  T.raises(function() unlearn.npo(model, forget, nil, { stop_acc = -1 }) end, "unlearn.npo: stop_acc must be a number >= 0")
end)

T.test("NPO's loss is (2/beta) softplus(beta r): at the start r = 0, so 2 log 2 / beta", function()
  local _, info = unlearn.npo(model, forget, nil, { steps = 1, lr = 0, beta = 0.5, alpha = 0 })
  T.near(info.loss, 2 * math.log(2) / 0.5, 1e-6)
end)

T.test("SCRUB with lr 0 keeps the model; its budget counts max and min steps", function()
  local m, info = unlearn.scrub(model, forget, retain, { lr = 0, steps = 10, max_steps = 4 })
  T.ok(same_params(params_of(m), before))
  T.eq(info.steps, 14)
end)

T.test("datasets as {X=, y=} or {X, y}; integer labels of any type", function()
  local a = unlearn.finetune(model, nil, { retain.X, retain.y:to("i32") }, { steps = 3, seed = 1 })
  local b = unlearn.finetune(model, nil, retain, { steps = 3, seed = 1 })
  T.ok(same_params(params_of(a), params_of(b)))
end)

T.test("errors name the function and the argument", function()
  T.raises(function() unlearn.gradient_ascent({}, forget) end, "unlearn.gradient_ascent: model must be an nn module")
  T.raises(function() unlearn.gradient_ascent(model, nil) end, "unlearn.gradient_ascent: forget must be a dataset")
  T.raises(function() unlearn.graddiff(model, forget, nil) end, "unlearn.graddiff: retain must be a dataset")
  T.raises(function() unlearn.finetune(model, forget, { X = retain.X, y = forget.y }) end,
    "unlearn.finetune: retain has")
  T.raises(function() unlearn.finetune(model, forget, { X = retain.X }) end, "retain.y must be a 1-d tensor")
  T.raises(function() unlearn.npo(model, forget, nil, { beta = 0 }) end, "unlearn.npo: beta must be > 0")
  T.raises(function() unlearn.scrub(model, forget, retain, { steps = 0 }) end, "unlearn.scrub: steps must be a positive integer")
  T.raises(function() unlearn.finetune(model, forget, retain, { optim = "rmsprop" }) end, "optim must be \"sgd\" or \"adam\"")
  T.raises(function() unlearn.retrain(model, forget, retain) end, "unlearn.retrain: opts.model_fn")
  T.raises(function() unlearn.finetune(model, forget, retain, { seed = 1.5 }) end, "seed must be an integer")
  T.raises(function() unlearn.mia(model, forget, test, { method = "magic" }) end, "unlearn.mia: method must be")
  T.raises(function() unlearn.mia(model, forget, test, { method = "lira", shadows = 2 }) end, "unlearn.shadows: model_fn")
  T.raises(function() unlearn.relearn(model, forget, { steps = -1 }) end, "unlearn.relearn: steps")
  T.raises(function() unlearn.representation(model, model, train, { layer = "9" }) end,
    "unlearn.representation: no module named '9'")
  T.raises(function() unlearn.report { 3 } end, "unlearn.report: row 1 is a number")
end)

T.test("LOSS and entropy MIA: the trained model leaks, the retrained oracle does not", function()
  local orig = unlearn.mia(model, forget_s, test, { method = "loss" })
  T.ok(orig.auc > 0.6, "original LOSS AUC " .. orig.auc)
  T.eq(orig.scores:numel(), 340)
  T.eq(orig.labels:sum():item(), 40)
  local oracle = unlearn.retrain(model, forget_s, retain_s, { model_fn = mlp, steps = 300, seed = 1 })
  for _, method in ipairs { "loss", "entropy" } do
    local r = unlearn.mia(oracle, forget_s, test, { method = method })
    T.ok(math.abs(r.auc - 0.5) < 0.12, method .. " oracle AUC " .. r.auc)
    T.ok(r.tpr_at_1pct >= 0 and r.tpr_at_1pct <= 1 and r.tpr_at_01pct <= r.tpr_at_1pct)
  end
  -- the score is minus the per-sample loss
  local out = model(forget_s.X:narrow(1, 1, 1))
  T.near(orig.scores[1]:item(), -nn.functional.cross_entropy(out, forget_s.y:narrow(1, 1, 1)):item(), 1e-5)
end)

local function shadow_train(m, s, gen)
  local opt = optim.Adam(m:parameters(), { lr = 1e-2 })
  for _ = 1, 150 do
    opt:zero_grad()
    nn.functional.cross_entropy(m(s.X), s.y):backward()
    opt:step()
  end
end

T.test("LiRA and RMIA with shadow models: oracle near 0.5, the original above, seeded", function()
  local sh = unlearn.shadows { model_fn = mlp, pool = pool, forget = forget_s, test = test, n = 8,
    train = shadow_train, population = 50, seed = 1 }
  T.eq(sh.phi:shape(), { 8, 340 })
  -- each target is in exactly half the shadows
  T.ok(sh.keep:to("i64"):sum(1):eq(4):all():item())
  local oracle = unlearn.retrain(model, forget_s, retain_s, { model_fn = mlp, steps = 300, seed = 1 })
  for _, method in ipairs { "lira", "rmia" } do
    for _, online in ipairs { true, false } do
      local o = unlearn.mia(model, forget_s, test, { method = method, shadows = sh, online = online })
      local r = unlearn.mia(oracle, forget_s, test, { method = method, shadows = sh, online = online })
      local tag = string.format("%s online=%s", method, tostring(online))
      T.ok(o.auc > 0.6, tag .. " original AUC " .. o.auc)
      T.ok(math.abs(r.auc - 0.5) < 0.12, tag .. " oracle AUC " .. r.auc)
      T.ok(o.auc > r.auc, tag)
    end
  end
  local sh2 = unlearn.shadows { model_fn = mlp, pool = pool, forget = forget_s, test = test, n = 2,
    train = shadow_train, population = 50, seed = 1 }
  local sh3 = unlearn.shadows { model_fn = mlp, pool = pool, forget = forget_s, test = test, n = 2,
    train = shadow_train, population = 50, seed = 1 }
  T.ok(sh2.phi:eq(sh3.phi):all():item(), "same seed, same shadows")
  local off = unlearn.shadows { model_fn = mlp, pool = pool, forget = forget_s, test = test, n = 2,
    train = shadow_train, population = 50, online = false }
  T.ok(not off.keep:any():item(), "offline shadows never train on the targets")
  T.raises(function() unlearn.mia(model, forget_s, test, { method = "lira", shadows = off, online = true }) end,
    "online LiRA needs shadows")
  T.raises(function() unlearn.mia(model, forget, test, { method = "lira", shadows = sh }) end,
    "shadows were built for 40 forget + 300 test rows")
  T.raises(function() unlearn.shadows { model_fn = mlp, pool = pool, forget = forget_s, test = test, n = 3 } end,
    "n must be an even number")
  -- shadows = a count: mia trains them with its own options (default Adam trainer)
  local a = unlearn.mia(model, forget_s, test, { method = "lira", shadows = 4, model_fn = mlp, pool = pool,
    steps = 150, lr = 1e-2, batch = 64, population = 50, seed = 2 })
  local b = unlearn.mia(model, forget_s, test, { method = "lira", shadows = 4, model_fn = mlp, pool = pool,
    steps = 150, lr = 1e-2, batch = 64, population = 50, seed = 2 })
  T.ok(a.auc > 0.6, "lira with its own shadows: " .. a.auc)
  T.ok(a.scores:eq(b.scores):all():item(), "seeded")
end)

T.test("LiRA and RMIA scores follow their formulas on hand-made shadows", function()
  local lin = nn.Linear(2, 3, { gen = tensor.generator(4) })
  local f32 = { dtype = "f32" }
  local f1 = { X = tensor.new({ { 1, 0 } }, f32), y = tensor.new({ 1 }, { dtype = "i64" }) }
  local t1 = { X = tensor.new({ { 0, 1 } }, f32), y = tensor.new({ 2 }, { dtype = "i64" }) }
  local z = { X = tensor.new({ { 1, 1 }, { -1, 0 }, { 0, -1 } }, f32), y = tensor.new({ 3, 1, 2 }, { dtype = "i64" }) }
  local sh = {
    n = 4, online = true, nf = 1, nt = 1, z = z,
    phi = tensor.new({ { 1, 2 }, { 3, 0 }, { 2, 1 }, { 5, 4 } }, { dtype = "f64" }),
    keep = tensor.new({ { 1, 0 }, { 1, 1 }, { 0, 0 }, { 0, 1 } }):to("bool"),
    prob = tensor.new({ { 0.9, 0.2 }, { 0.8, 0.6 }, { 0.3, 0.1 }, { 0.5, 0.7 } }, { dtype = "f64" }),
    prob_z = tensor.new({ { 0.1, 0.5, 0.9 }, { 0.2, 0.4, 0.6 }, { 0.3, 0.3, 0.3 }, { 0.4, 0.8, 0.2 } }, { dtype = "f64" }),
  }
  local function phi_and_p(X, yv)
    local zz = autograd.no_grad(function() return lin(X) end):to("f64"):tolist()[1]
    local others, all = 0, 0
    for k = 1, 3 do
      all = all + math.exp(zz[k])
      if k ~= yv then others = others + math.exp(zz[k]) end
    end
    return zz[yv] - math.log(others), math.exp(zz[yv]) / all
  end
  local phi1, p1 = phi_and_p(f1.X, 1)
  local phi2, p2 = phi_and_p(t1.X, 2)
  local function logpdf(x, m, s) return -0.5 * ((x - m) / s) ^ 2 - math.log(s) - 0.5 * math.log(2 * math.pi) end
  -- target 1: in {1, 3}, out {2, 5}; target 2: in {0, 4}, out {2, 1}
  local on = unlearn.mia(lin, f1, t1, { method = "lira", shadows = sh, fix_variance = false })
  T.near(on.scores[1]:item(), logpdf(phi1, 2, 1) - logpdf(phi1, 3.5, 1.5), 1e-9)
  T.near(on.scores[2]:item(), logpdf(phi2, 2, 2) - logpdf(phi2, 1.5, 0.5), 1e-9)
  -- fixed variance: the std of all in values {1,3,0,4} and of all out values {2,5,2,1}
  local fixed = unlearn.mia(lin, f1, t1, { method = "lira", shadows = sh, fix_variance = true })
  local sd_in, sd_out = math.sqrt(2.5), math.sqrt(2.25)
  T.near(fixed.scores[1]:item(), logpdf(phi1, 2, sd_in) - logpdf(phi1, 3.5, sd_out), 1e-9)
  -- offline: log Phi((phi - mu_out) / sd_out), Phi by Simpson's rule
  local function Phi(x)
    local n, s = 2000, 0
    local h = x / n
    for i = 0, n do
      local w = (i == 0 or i == n) and 1 or (i % 2 == 1 and 4 or 2)
      s = s + w * math.exp(-0.5 * (i * h) ^ 2)
    end
    return 0.5 + s * h / 3 / math.sqrt(2 * math.pi)
  end
  local off = unlearn.mia(lin, f1, t1, { method = "lira", shadows = sh, online = false, fix_variance = false })
  T.near(off.scores[1]:item(), math.log(Phi((phi1 - 3.5) / 1.5)), 1e-6)
  T.near(off.scores[2]:item(), math.log(Phi((phi2 - 1.5) / 0.5)), 1e-6)
  -- RMIA online: p(x) = mean over references; score = share of z with LR_x / LR_z > 1
  local pz_t = {}
  for i = 1, 3 do pz_t[i] = select(2, phi_and_p(z.X:narrow(1, i, 1), z.y[i]:item())) end
  local function rmia(px, pz, pt)
    local c = 0
    for i = 1, 3 do if (pt / px) / (pz_t[i] / pz[i]) > 1 then c = c + 1 end end
    return c / 3
  end
  local pz_on = { 0.25, 0.5, 0.5 }
  local r_on = unlearn.mia(lin, f1, t1, { method = "rmia", shadows = sh })
  T.near(r_on.scores[1]:item(), rmia(0.625, pz_on, p1), 1e-12)
  T.near(r_on.scores[2]:item(), rmia(0.4, pz_on, p2), 1e-12)
  -- offline, a = 0.3: p(x) = 0.65 mean_out + 0.35
  local pz_off = {}
  for i = 1, 3 do pz_off[i] = 0.65 * pz_on[i] + 0.35 end
  local r_off = unlearn.mia(lin, f1, t1, { method = "rmia", shadows = sh, online = false })
  T.near(r_off.scores[1]:item(), rmia(0.65 * 0.4 + 0.35, pz_off, p1), 1e-12)
  T.near(r_off.scores[2]:item(), rmia(0.65 * 0.15 + 0.35, pz_off, p2), 1e-12)
end)

T.test("relearn: the original is at the threshold at step 0; a forgotten model climbs back", function()
  local r0 = unlearn.relearn(model, forget, { threshold = 0.9 })
  T.eq(r0.steps, 0)
  local ga = unlearn.gradient_ascent(model, forget, nil, {})
  local r = unlearn.relearn(ga, forget, { threshold = 0.9, retain = retain, steps = 200, seed = 1 })
  T.ok(r.steps and r.steps > 0, "relearn steps " .. tostring(r.steps))
  T.eq(r.curve[#r.curve].step, r.steps)
  T.ok(r.curve[1].acc < 0.9 and r.curve[#r.curve].acc >= 0.9)
  local r2 = unlearn.relearn(ga, forget, { threshold = 0.9, retain = retain, steps = 200, seed = 1 })
  T.eq(r2.steps, r.steps)
  local capped = unlearn.relearn(ga, forget, { threshold = 1.1, steps = 7, every = 3 })
  T.eq(capped.steps, nil)
  T.eq(#capped.curve, 4) -- steps 0, 3, 6, 7
  T.ok(same_params(before, params_of(model)))
end)

T.test("representation: the original against itself has CKA 1; a last-layer change keeps the probe", function()
  local self_r = unlearn.representation(model, model, train, { classes = 1, test = test })
  T.near(self_r.cka, 1, 1e-9)
  T.eq(self_r.layer, "2")
  T.ok(self_r.probe_acc > 0.5, "probe acc " .. self_r.probe_acc) -- chance: 0.25
  -- scramble only the last layer: logits forget, features do not
  local m = C.clone(model)
  autograd.no_grad(function() m[3].weight:normal_(0, 1, { gen = tensor.generator(9) }) end)
  local r = unlearn.representation(m, model, train, { classes = { 1 }, test = test })
  T.near(r.cka, 1, 1e-9)
  T.ok(math.abs(r.probe_acc - self_r.probe_acc) < 1e-9)
  -- retraining moves the features
  local oracle = unlearn.retrain(model, forget, retain, { model_fn = mlp, steps = 300, seed = 2 })
  local o = unlearn.representation(oracle, model, train, { classes = 1, test = test })
  T.ok(o.cka < 0.99, "oracle CKA " .. o.cka)
  -- without test=, a seeded half of data is held out
  local h1 = unlearn.representation(model, model, train, { classes = 1, seed = 1 })
  local h2 = unlearn.representation(model, model, train, { classes = 1, seed = 1 })
  T.eq(h1.probe_acc, h2.probe_acc)
end)

T.test("report: one row per method, every column, missing values as -", function()
  local text = unlearn.report({
    { method = "original", forget_acc = 1, retain_acc = 0.99, test_acc = 0.85, mia_auc = 0.7,
      relearn_steps = 0, cka = 1, probe_acc = 0.97, time = 0 },
    { method = "gradient_ascent", forget_acc = 0.01, retain_acc = 0.9, test_acc = 0.7, mia_auc = 0.4,
      relearn_steps = ">100", cka = 0.93, probe_acc = 0.95, time = 0.25 },
    { method = "scrub" },
  }, { print = false })
  local lines = {}
  for l in text:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(#lines, 5)
  for _, h in ipairs { "forget acc", "retain acc", "test acc", "MIA AUC", "relearn steps", "CKA", "probe acc", "time" } do
    T.ok(lines[1]:find(h, 1, true), "column " .. h)
  end
  T.ok(lines[4]:find("gradient_ascent", 1, true) and lines[4]:find(">100", 1, true) and lines[4]:find("0.010", 1, true))
  T.ok(lines[5]:find("scrub%s+%-"))
end)

T.test("unlearn.evaluate and unlearn.accuracy", function()
  local e = unlearn.evaluate(model, { forget = forget, retain = retain, test = test })
  T.eq(e.forget_acc, unlearn.accuracy(model, forget))
  T.ok(e.retain_acc > 0.9 and e.test_acc > 0.7)
end)

T.done()
