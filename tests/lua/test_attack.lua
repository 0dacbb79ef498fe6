-- test_attack.lua: the attack module: input gradients against central
-- differences, FGSM/PGD budgets, projections and success flags, restarts,
-- targeted attacks, eval mode and untouched parameter grads, fooling images,
-- unlearnable noise (sample-wise noise differs within a class), k-means,
-- seeded reproducibility and argument errors.
local T = require "testlib"
local F = nn.functional
local util = require("attack_adv")._util

-- A small f64 MLP on 6 inputs, 3 classes, with seeded weights.
local function mlp(seed, dtype)
  local g = tensor.generator(seed or 1)
  local m = nn.Sequential { nn.Linear(6, 8, { gen = g }), nn.Tanh(), nn.Linear(8, 3, { gen = g }) }
  if dtype == "f64" then
    for _, p in ipairs(m:parameters()) do p:copy_(p:to("f64")) end
  end
  return m
end

local function mlp64(seed)
  local g = tensor.generator(seed or 1)
  local W1 = tensor.randn(8, 6, { gen = g, dtype = "f64" })
  local W2 = tensor.randn(3, 8, { gen = g, dtype = "f64" })
  return function(x) return F.linear(F.linear(x, W1):tanh(), W2) end
end

local function maxabs(t) return t:abs():amax():item() end

T.test("input gradient matches central differences (f64)", function()
  local model = mlp64(3)
  local x = tensor.rand(4, 6, { gen = tensor.generator(4), dtype = "f64" })
  local y = tensor.new { 1, 2, 3, 1 }
  local obj = function(out) return F.cross_entropy(out, y, { reduction = "sum" }) end
  local g = util.input_grad(model, x, obj)
  local h = 1e-6
  local worst = 0
  for i = 1, 4 do
    for j = 1, 6 do
      local xp, xm = x:clone(), x:clone()
      xp[{ i, j }] = x[{ i, j }]:item() + h
      xm[{ i, j }] = x[{ i, j }]:item() - h
      local fd = (obj(model(xp)):item() - obj(model(xm)):item()) / (2 * h)
      worst = math.max(worst, math.abs(fd - g[{ i, j }]:item()))
    end
  end
  T.ok(worst < 1e-7, "max |autograd - central difference| = " .. worst)
end)

T.test("FGSM is x + eps * sign of the finite-difference gradient", function()
  local model = mlp64(5)
  local x = tensor.full({ 3, 6 }, 0.5, { dtype = "f64" }) + tensor.rand(3, 6, { gen = tensor.generator(6), dtype = "f64" }) * 0.1
  local y = tensor.new { 2, 1, 3 }
  local adv = attack.fgsm(model, x, y, { eps = 0.1 })
  local obj = function(xx) return F.cross_entropy(model(xx), y, { reduction = "sum" }):item() end
  for i = 1, 3 do
    for j = 1, 6 do
      local xp, xm = x:clone(), x:clone()
      xp[{ i, j }] = x[{ i, j }]:item() + 1e-6
      xm[{ i, j }] = x[{ i, j }]:item() - 1e-6
      local s = obj(xp) > obj(xm) and 1 or -1
      T.near(adv[{ i, j }]:item(), x[{ i, j }]:item() + 0.1 * s, 1e-12)
    end
  end
  -- targeted FGSM descends the loss of the target instead
  local tadv = attack.fgsm(model, x, y, { eps = 0.1, targeted = true })
  T.near(maxabs(tadv - (x * 2 - adv)), 0, 1e-12)
end)

T.test("FGSM L2 moves each sample by eps along the normalised gradient", function()
  local model = mlp64(7)
  local x = tensor.full({ 4, 6 }, 0.5, { dtype = "f64" })
  local y = tensor.new { 1, 2, 3, 2 }
  local adv = attack.fgsm(model, x, y, { eps = 0.2, norm = "2" })
  local n = (adv - x):norm(2, 2)
  for i = 1, 4 do T.near(n[i]:item(), 0.2, 1e-9) end
  local g = util.input_grad(model, x, function(out) return F.cross_entropy(out, y, { reduction = "sum" }) end)
  local cos = ((adv - x) * g):sum(2) / (n * g:norm(2, 2))
  for i = 1, 4 do T.near(cos[i]:item(), 1, 1e-9) end
end)

local function fashion_like(n, seed, std)
  local g = tensor.generator(seed)
  local y = tensor.randint(1, 4, n, { gen = g })
  local centers = tensor.rand(3, 6, { gen = g })
  local X = (centers:index_select(1, y) + tensor.randn(n, 6, { gen = g }) * (std or 0.05)):clamp(0, 1)
  return X, y
end

local function trained(seed)
  local X, y = fashion_like(300, seed, 0.15)
  local m = mlp(seed)
  nn.fit(m, data.loader(X, y, { batch = 50, shuffle = true, gen = tensor.generator(seed) }),
    { epochs = 30, opt = optim.Adam(m:parameters(), { lr = 0.02 }), log = false })
  return m, X, y
end

local model, X, y = trained(11)

T.test("PGD L-inf stays in the eps-ball and the valid range; success is pred ~= y", function()
  local adv, success = attack.pgd(model, X, y, { eps = 0.05, alpha = 0.01, steps = 10, gen = tensor.generator(1) })
  T.ok(maxabs(adv - X) <= 0.05 + 1e-6, "outside the ball: " .. maxabs(adv - X))
  T.ok(adv:amin():item() >= 0 and adv:amax():item() <= 1, "outside [0, 1]")
  model:eval()
  local pred = autograd.no_grad(function() return model(adv) end):argmax(2)
  T.ok(success:eq(pred:ne(y)):all():item(), "success flags disagree with the predictions")
  T.eq(success:dtype(), "bool")
end)

T.test("PGD about matches or beats FGSM, both beat no attack; more eps, more success", function()
  local clean = attack.evaluate(model, X, y, attack.pgd, { eps = 0 })
  local f = attack.evaluate(model, X, y, attack.fgsm, { eps = 0.15 })
  local p1 = attack.evaluate(model, X, y, attack.pgd, { eps = 0.15, alpha = 0.02, steps = 20, gen = tensor.generator(2) })
  local p2 = attack.evaluate(model, X, y, attack.pgd, { eps = 0.4, alpha = 0.05, steps = 20, gen = tensor.generator(2) })
  T.ok(clean > 0.9, "clean accuracy " .. clean)
  T.ok(p1 <= f + 0.02 and f < clean - 0.05, string.format("pgd %.3f fgsm %.3f clean %.3f", p1, f, clean))
  T.ok(p2 < p1 and p2 < 0.05, string.format("eps 0.4: %.3f, eps 0.15: %.3f", p2, p1))
end)

T.test("PGD with eps = 0 returns x exactly (torchattacks #124)", function()
  local adv, success = attack.pgd(model, X, y, { eps = 0, gen = tensor.generator(3) })
  T.ok(adv:eq(X):all():item())
  model:eval()
  local pred = autograd.no_grad(function() return model(X) end):argmax(2)
  T.ok(success:eq(pred:ne(y)):all():item())
  T.eq(attack.evaluate(model, X, y, attack.pgd, { eps = 0 }), pred:eq(y):sum():item() / y:size(1))
end)

T.test("PGD L2 projects onto the eps-ball", function()
  local adv = attack.pgd(model, X, y, { norm = "2", eps = 0.3, alpha = 0.1, steps = 10, gen = tensor.generator(4) })
  T.ok((adv - X):norm(2, 2):amax():item() <= 0.3 + 1e-5)
  T.ok(adv:amin():item() >= 0 and adv:amax():item() <= 1)
  local adv1 = attack.pgd(model, X, y, { norm = "l2", eps = 0.3, alpha = 0.1, steps = 10, gen = tensor.generator(4) })
  T.ok(adv1:eq(adv):all():item(), "norm='l2' is norm='2'")
end)

T.test("clip=false lets the attack leave [0, 1]", function()
  local x = tensor.zeros(5, 6)
  local adv = attack.fgsm(model, x, y:narrow(1, 1, 5), { eps = 0.1, clip = false })
  T.ok(adv:amin():item() < 0)
  local advc = attack.fgsm(model, x, y:narrow(1, 1, 5), { eps = 0.1 })
  T.ok(advc:amin():item() >= 0)
end)

T.test("targeted PGD reaches the target class", function()
  local target = (y % 3) + 1 -- another class for every sample
  local adv, success = attack.pgd(model, X, target, { eps = 0.5, alpha = 0.05, steps = 30, targeted = true, gen = tensor.generator(5) })
  model:eval()
  local pred = autograd.no_grad(function() return model(adv) end):argmax(2)
  T.ok(success:eq(pred:eq(target)):all():item())
  T.ok(success:to("f64"):mean():item() > 0.9, "targeted success " .. success:to("f64"):mean():item())
end)

T.test("restarts keep every sample that any run fooled", function()
  local o = { eps = 0.08, alpha = 0.02, steps = 5 }
  local _, s1 = attack.pgd(model, X, y, setmetatable({ gen = tensor.generator(9) }, { __index = o }))
  local adv, s3 = attack.pgd(model, X, y, setmetatable({ gen = tensor.generator(9), restarts = 3 }, { __index = o }))
  -- the first restart uses the same draws as the single run
  T.ok(s3:logical_or(s1:logical_not()):all():item(), "a sample fooled by the first run was lost")
  T.ok(s3:sum():item() >= s1:sum():item())
  T.ok(maxabs(adv - X) <= 0.08 + 1e-6)
  model:eval()
  local pred = autograd.no_grad(function() return model(adv) end):argmax(2)
  T.ok(s3:eq(pred:ne(y)):all():item())
end)

T.test("attacks run in eval mode, restore the mode and touch no parameter grad", function()
  local g = tensor.generator(2)
  local m = nn.Sequential { nn.Linear(6, 8, { gen = g }), nn.Dropout(0.5, { gen = g }), nn.ReLU(), nn.Linear(8, 3, { gen = g }) }
  m:train()
  local a1 = attack.pgd(m, X, y, { steps = 3, gen = tensor.generator(1) })
  local a2 = attack.pgd(m, X, y, { steps = 3, gen = tensor.generator(1) })
  T.ok(a1:eq(a2):all():item(), "dropout was active during the attack")
  T.eq(m.training, true)
  for _, p in ipairs(m:parameters()) do T.eq(p.grad, nil) end
  attack.fool(m, { target = 1, shape = { 6 }, steps = 3 })
  attack.unlearnable(function() return m end, X:narrow(1, 1, 20), y:narrow(1, 1, 20), { kind = "class", max_iter = 1, train_steps = 1 })
  T.eq(m.training, true)
end)

T.test("same seed, same bits; another seed, another result", function()
  local o = function(s) return { eps = 0.1, alpha = 0.02, steps = 5, restarts = 2, gen = tensor.generator(s) } end
  local a = attack.pgd(model, X, y, o(1))
  T.ok(a:eq(attack.pgd(model, X, y, o(1))):all():item())
  T.ok(not a:eq(attack.pgd(model, X, y, o(2))):all():item())
  tensor.manual_seed(5)
  local b = attack.pgd(model, X, y, { norm = "2", steps = 3 })
  tensor.manual_seed(5)
  T.ok(b:eq(attack.pgd(model, X, y, { norm = "2", steps = 3 })):all():item(), "default generator")
end)

T.test("evaluate batches and agrees with one big batch", function()
  local r1, i1 = attack.evaluate(model, X, y, attack.fgsm, { eps = 0.1, batch = 7 })
  local r2 = attack.evaluate(model, X, y, attack.fgsm, { eps = 0.1, batch = 1000 })
  T.eq(r1, r2)
  T.eq(i1.n, 300)
  T.ok(i1.clean_acc >= r1)
end)

T.test("fool: gradient ascent reaches the confidence for every class, from noise and zeros", function()
  for _, from in ipairs { "noise", "zeros" } do
    local r = attack.fool(model, { target = { 1, 2, 3 }, shape = { 6 }, steps = 300, lr = 0.1, target_conf = 0.99, from = from, gen = tensor.generator(1) })
    T.eq(r.images:shape(), { 3, 6 })
    T.ok(r.confidence:amin():item() >= 0.99, from .. ": " .. tostring(r.confidence))
    T.ok(r.images:amin():item() >= 0 and r.images:amax():item() <= 1)
    model:eval()
    local p = autograd.no_grad(function() return model(r.images):softmax(2) end)
    T.near(p[{ 2, 2 }]:item(), r.confidence[2]:item(), 1e-6)
  end
  local r1 = attack.fool(model, { target = tensor.new { 2 }, shape = { 6 }, steps = 20, gen = tensor.generator(3) })
  local r2 = attack.fool(model, { target = 2, shape = { 6 }, steps = 20, gen = tensor.generator(3) })
  T.ok(r1.images:eq(r2.images):all():item(), "seeded")
end)

T.test("fool: evolution raises the confidence and is seeded", function()
  local o = { target = { 1, 2, 3 }, shape = { 6 }, steps = 60, population = 16, gen = tensor.generator(4) }
  local r = attack.fool_evolve(model, o)
  local start = attack.fool_evolve(model, { target = { 1, 2, 3 }, shape = { 6 }, steps = 0, population = 16, gen = tensor.generator(4) })
  T.ok(r.confidence:ge(start.confidence):all():item(), "elitism never loses the best")
  T.ok(r.confidence:amin():item() > 0.9, tostring(r.confidence))
  o.gen = tensor.generator(4)
  T.ok(attack.fool(model, setmetatable({ method = "evolve" }, { __index = o })).images:eq(r.images):all():item())
end)

T.test("fool: argument errors", function()
  T.raises(function() attack.fool(model, { shape = { 6 } }) end, "target")
  T.raises(function() attack.fool(model, { target = 1 }) end, "shape")
  T.raises(function() attack.fool(model, { target = 1, shape = { 6 }, from = "ones" }) end, "from")
  T.raises(function() attack.fool(model, { target = 1, shape = { 6 }, method = "x" }) end, "method")
end)

T.test("pgd: argument errors", function()
  T.raises(function() attack.pgd(model, X, y, { norm = "1" }) end, "norm")
  T.raises(function() attack.pgd(model, X, y, { eps = -1 }) end, "eps")
  T.raises(function() attack.pgd(model, X, y:narrow(1, 1, 5)) end, "y must be")
end)

-- --- unlearnable examples ---------------------------------------------------

local Xs, ys = fashion_like(120, 21)
local function model_fn(g)
  return nn.Sequential { nn.Linear(6, 8, { gen = g }), nn.Tanh(), nn.Linear(8, 3, { gen = g }) }
end

T.test("sample-wise noise differs between samples of one class (UE #7)", function()
  -- few small steps: the bug (noise indexed by the label) would make rows coincide
  local Xp, info = attack.unlearnable(model_fn, Xs, ys, { kind = "sample", steps = 2, step_size = 0.5 / 255, max_iter = 2, batch = 40, gen = tensor.generator(1) })
  local eps = 8 / 255
  T.ok(maxabs(Xp - Xs) <= eps + 1e-6)
  T.ok(Xp:amin():item() >= 0 and Xp:amax():item() <= 1)
  T.eq(info.noise:shape(), { 120, 6 })
  local idx = ys:eq(1):nonzero():view(-1)
  local nz = info.noise:index_select(1, idx)
  local spread = (nz - nz:narrow(1, 1, 1)):abs():amax(2) -- each row against the first of its class
  T.ok(spread:gt(1e-4):sum():item() >= idx:numel() - 1, "noise rows of one class coincide")
  -- and each sample carries its own row where no clipping happened
  local inside = Xs:gt(eps):logical_and(Xs:lt(1 - eps))
  T.ok(maxabs((Xp - Xs - info.noise):masked_fill(inside:logical_not(), 0)) < 1e-6)
  T.ok(info.iterations >= 1 and info.train_error >= 0)
end)

T.test("class-wise noise is one noise per class", function()
  local Xp, info = attack.unlearnable(model_fn, Xs, ys, { kind = "class", max_iter = 3, batch = 40, gen = tensor.generator(1) })
  T.eq(info.noise:shape(), { 3, 6 })
  local d = Xp - Xs
  T.ok(maxabs(d) <= 8 / 255 + 1e-6)
  -- where no clipping happened the perturbation is the class noise itself
  local inside = Xs:gt(8 / 255):logical_and(Xs:lt(1 - 8 / 255))
  local want = info.noise:index_select(1, ys)
  T.ok(maxabs((d - want):masked_fill(inside:logical_not(), 0)) < 1e-6)
end)

T.test("synthetic noise: one +-eps pattern per class, constant on patch blocks", function()
  local X = tensor.rand({ 30, 1, 6, 5 }, { gen = tensor.generator(3) }) * 0.5 + 0.25 -- no clipping
  local y = tensor.arange(0, 30):remainder(3):to("i64") + 1
  local Xp, info = attack.unlearnable(function(g) return nn.Sequential { nn.Flatten(), nn.Linear(30, 3, { gen = g }) } end,
    X, y, { kind = "synthetic", patch = 2, gen = tensor.generator(4) })
  T.eq(info.noise:shape(), { 3, 1, 6, 5 })
  T.ok(maxabs(info.noise:abs() - 8 / 255) < 1e-6, "every entry is +-eps")
  T.ok(maxabs(Xp - X - info.noise:index_select(1, y)) < 1e-6)
  local n = info.noise:select(2, 1)
  T.ok(maxabs(n:narrow(2, 1, 1) - n:narrow(2, 2, 1)) == 0)
  T.ok(maxabs(n:narrow(3, 1, 1) - n:narrow(3, 2, 1)) == 0, "2x2 blocks")
  T.ok(maxabs(n:select(1, 1) - n:select(1, 2)) > 0, "classes differ")
  local again = attack.unlearnable(function(g) return nn.Sequential { nn.Flatten(), nn.Linear(30, 3, { gen = g }) } end,
    X, y, { kind = "synthetic", patch = 2, gen = tensor.generator(4) })
  T.ok(maxabs(again - Xp) == 0, "seeded")
end)

T.test("the min-min loop lowers the training error on the noisy data", function()
  local hard = ys:clone():random_(1, 4, { gen = tensor.generator(8) }) -- random labels: unlearnable without noise
  local _, info = attack.unlearnable(model_fn, Xs, hard, { kind = "class", eps = 0.3, step_size = 0.05, max_iter = 40, batch = 40, gen = tensor.generator(2) })
  T.ok(info.train_error < 0.1, "train error " .. info.train_error)
end)

T.test("cluster-wise noise: one noise per k-means cluster, labels unused", function()
  local Xp, info = attack.unlearnable(model_fn, Xs, ys, { kind = "cluster", k = 3, max_iter = 2, batch = 40, gen = tensor.generator(1) })
  T.eq(info.noise:shape(), { 3, 6 })
  T.eq(info.clusters:numel(), 120)
  T.ok(info.clusters:amin():item() >= 1 and info.clusters:amax():item() <= 3)
  T.ok(maxabs(Xp - Xs) <= 8 / 255 + 1e-6)
  -- well separated blobs: the clusters are the classes up to a renaming
  local pure = 0
  for c = 1, 3 do
    local members = ys:masked_select(info.clusters:eq(c))
    if members:numel() > 0 then pure = pure + members:eq(members[1]:item()):sum():item() end
  end
  T.eq(pure, 120)
end)

T.test("k-means is seeded and finds separated blobs", function()
  local km = require("attack_unlearnable")._kmeans
  local Z, yz = data.synthetic.blobs { n = 200, centers = 4, dim = 3, std = 0.3, gen = tensor.generator(3) }
  local a = km(Z, 4, tensor.generator(1))
  local b = km(Z, 4, tensor.generator(1))
  T.ok(a:eq(b):all():item())
  local agree = 0
  for c = 1, 4 do
    local members = yz:masked_select(a:eq(c))
    if members:numel() > 0 then agree = agree + members:bincount():amax():item() end
  end
  T.ok(agree >= 196, "agreement " .. agree)
end)

T.test("error-maximising noise (max, bayes) stays in the budget and raises the error", function()
  for _, kind in ipairs { "max", "bayes" } do
    local Xp, info = attack.unlearnable(model_fn, Xs, ys, { kind = kind, eps = 0.2, step_size = 0.05, steps = 10, pretrain_epochs = 30, batch = 40, gen = tensor.generator(1) })
    T.ok(maxabs(Xp - Xs) <= 0.2 + 1e-6)
    T.ok(info.train_error > 0.2, kind .. ": error " .. info.train_error)
  end
end)

T.test("unlearnable and train_eval are seeded", function()
  local a = attack.unlearnable(model_fn, Xs, ys, { max_iter = 1, batch = 40, gen = tensor.generator(5) })
  local b = attack.unlearnable(model_fn, Xs, ys, { max_iter = 1, batch = 40, gen = tensor.generator(5) })
  T.ok(a:eq(b):all():item())
  local r1 = attack.train_eval(model_fn, Xs, ys, Xs, ys, { epochs = 5, gen = tensor.generator(1) })
  local r2 = attack.train_eval(model_fn, Xs, ys, Xs, ys, { epochs = 5, gen = tensor.generator(1) })
  T.eq(r1.test_acc, r2.test_acc)
  T.ok(r1.test_acc >= 0 and r1.test_acc <= 1 and r1.train_acc >= 0)
end)

T.test("results do not depend on the thread count; seed= works like gen=", function()
  local n0 = tensor.get_num_threads()
  local out = {}
  for i, n in ipairs { 1, 2 } do
    tensor.set_num_threads(n)
    out[i] = {
      attack.pgd(model, X, y, { steps = 4, seed = 3 }),
      attack.fool(model, { target = { 1, 3 }, shape = { 6 }, steps = 10, seed = 3 }).images,
      (attack.unlearnable(model_fn, Xs, ys, { kind = "cluster", k = 3, max_iter = 1, batch = 40, seed = 3 })),
      (attack.unlearnable(model_fn, Xs, ys, { kind = "bayes", steps = 3, batch = 40, seed = 3 })),
    }
  end
  tensor.set_num_threads(n0)
  for j = 1, 4 do T.ok(out[1][j]:eq(out[2][j]):all():item(), "result " .. j .. " differs between 1 and 2 threads") end
  T.ok(out[1][1]:eq(attack.pgd(model, X, y, { steps = 4, gen = tensor.generator(3) })):all():item(), "seed = n is gen = tensor.generator(n)")
end)

T.test("unlearnable: argument errors", function()
  T.raises(function() attack.unlearnable(model_fn, Xs, ys, { kind = "bogus" }) end, "kind")
  T.raises(function() attack.unlearnable(nil, Xs, ys) end, "model_fn")
  T.raises(function() attack.unlearnable(model_fn, Xs, ys:narrow(1, 1, 3)) end, "y must be")
  T.raises(function() attack.unlearnable(function() return 1 end, Xs, ys, { max_iter = 1 }) end, "nn module")
end)

T.test("attack.kernels.linf_step_ is the L-inf step and projection (f32, f64)", function()
  local k = require("attack.kernels")
  for _, dt in ipairs { "f64", "f32" } do
    local g = tensor.generator(1)
    local x = tensor.rand(5, 7, { gen = g, dtype = dt })
    local adv = (x + (tensor.rand(5, 7, { gen = g, dtype = dt }) - 0.5) * 0.2):clamp(0, 1)
    local grad = tensor.randn(5, 7, { gen = g, dtype = dt })
    grad[{ 1, 1 }] = 0
    for _, alpha in ipairs { 0.05, -0.05 } do
      local want = (x + (adv + grad:sign() * alpha - x):clamp(-0.08, 0.08)):clamp(0, 1)
      local got = adv:clone()
      T.ok(k.linf_step_(got, x, grad, alpha, 0.08, 0, 1) == got, "returns adv")
      T.ok(maxabs(got - want) == 0, dt .. ": differs from the tensor formula by " .. maxabs(got - want))
      local free = adv:clone()
      k.linf_step_(free, x, grad, alpha, 0.08)
      T.ok(maxabs(free - (x + (adv + grad:sign() * alpha - x):clamp(-0.08, 0.08))) == 0, "without range")
    end
  end
  local x = tensor.zeros(4, 4)
  T.raises(function() k.linf_step_(x:clone(), x, tensor.zeros(4, 3), 0.1, 0.1) end, "one shape")
  T.raises(function() k.linf_step_(x:clone(), x, tensor.zeros(4, 4, { dtype = "f64" }), 0.1, 0.1) end, "dtype")
  T.raises(function() k.linf_step_(x:t(), x, x, 0.1, 0.1) end, "contiguous")
  T.raises(function() k.linf_step_(x:clone(), x, x, 0.1, -1) end, "eps")
end)

T.test("every public function is documented", function()
  local docs = sonde.docs()
  for _, name in ipairs { "pgd", "fgsm", "evaluate", "fool", "fool_evolve", "unlearnable", "train_eval" } do
    T.ok(type(attack[name]) == "function", name)
    T.ok(docs["attack." .. name] and #docs["attack." .. name].doc > 0, "attack." .. name .. " has no doc")
  end
end)

T.done()
