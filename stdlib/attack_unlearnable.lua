-- attack_unlearnable.lua: unlearnable examples (part of the `attack`
-- module): small noise that keeps a dataset looking the same but stops a
-- model trained on it from learning anything useful for clean data.
--   sample, class: error-minimising noise by the min-min bilevel loop of
--     Huang et al. 2021 (train the model M steps on the noisy data, then
--     lower the loss of every sample by PGD on its noise; stop once the
--     training error on the noisy data is under stop_error);
--   cluster: the label-agnostic variant (after Unlearnable Clusters, Zhang
--     et al. 2023): k-means clusters of features stand in for the labels,
--     one noise per cluster, found by the same min-min loop;
--   synthetic: linearly separable synthetic noise (after Yu et al. 2022,
--     "Availability attacks create shortcuts"): no model at all, one random
--     pattern of +-eps per class, constant on patch x patch blocks;
--   max, bayes: error-maximising noise by projected gradient ascent on a
--     model trained on the clean data: cross-entropy ("max", adversarial
--     poisoning) or the estimated Bayes error E[1 - max_c p(c | x + d)]
--     ("bayes", after Zhang et al. 2025).
-- Also attack.train_eval, the evaluation: a fresh model trained on the
-- (protected) data and its clean test accuracy.
local util = require("attack_adv")._util
local F = nn.functional
local M = {}

local function fresh_model(model_fn, gen)
  local model = model_fn(gen)
  if not nn.is_module(model) then error("attack: model_fn must return an nn module", 3) end
  return model
end

local function default_opt(params) return optim.SGD(params, { lr = 0.1, momentum = 0.9, weight_decay = 5e-4 }) end

-- Seeded k-means (k-means++ start, Lloyd iterations) of the rows of Z;
-- returns 1-based cluster ids (i64) and the centres.
local function kmeans(Z, k, gen, iters)
  local n = Z:size(1)
  if k > n then error("attack.unlearnable: k = " .. k .. " clusters for " .. n .. " samples", 4) end
  Z = Z:to("f64")
  local first = tensor.randint(1, n + 1, 1, { gen = gen })
  local C = Z:index_select(1, first)
  for _ = 2, k do
    local d2 = Z:cdist(C, { squared = true }):amin(2)
    local pick = d2:sum():item() > 0 and d2:multinomial(1, false, { gen = gen })
      or tensor.randint(1, n + 1, 1, { gen = gen })
    C = tensor.cat({ C, Z:index_select(1, pick) }, 1)
  end
  local ids
  for _ = 1, iters or 50 do
    local new = Z:cdist(C, { squared = true }):argmin(2)
    if ids and new:eq(ids):all():item() then break end
    ids = new
    local onehot = ids:one_hot(k, { dtype = "f64" })
    local count = onehot:sum(1):view(k, 1)
    local sums = onehot:t():matmul(Z)
    C = tensor.where(count:gt(0), sums / count:clamp(1), C) -- an empty cluster keeps its centre
  end
  return ids, C
end
M._kmeans = kmeans

-- The noise of every sample: its own (sample) or its group's (class, cluster).
local function expand(noise, group, idx)
  if group then return noise:index_select(1, group:index_select(1, idx)) end
  return noise:index_select(1, idx)
end

local function protect(X, noise, group, clip)
  local all = tensor.arange(1, X:size(1) + 1)
  return util.clip(X + expand(noise, group, all), clip)
end

-- Training error of model on the noisy data, in eval mode.
local function train_error(model, X, y, noise, group, o)
  return util.in_eval(model, function()
    local wrong, n = 0, X:size(1)
    for s = 1, n, o.batch do
      local idx = tensor.arange(s, math.min(s + o.batch, n + 1))
      local xb = util.clip(X:index_select(1, idx) + expand(noise, group, idx), o.clip)
      wrong = wrong + util.forward(model, xb):argmax(2):ne(y:index_select(1, idx)):sum():item()
    end
    return wrong / n
  end)
end

-- The min-min loop. group: nil (one noise per sample) or 1-based group ids.
local function minmin(model_fn, X, y, group, o)
  local gen = o.gen
  local ngroups = group and group:max():item() or X:size(1)
  local shape = X:shape()
  shape[1] = ngroups
  local noise = (tensor.rand(shape, { gen = gen, dtype = X:dtype() }) * 2 - 1) * o.eps
  local model = fresh_model(model_fn, gen)
  local opt = (o.optimizer or default_opt)(model:parameters())
  local n, perm, pos = X:size(1), nil, math.huge
  local err, it = 1, 0
  for iter = 1, o.max_iter do
    it = iter
    model:train()
    for _ = 1, o.train_steps do -- M steps of training on the noisy data
      if pos + o.batch - 1 > n then perm, pos = tensor.randperm(n, { gen = gen }), 1 end
      local idx = perm:narrow(1, pos, o.batch)
      pos = pos + o.batch
      local xb = util.clip(X:index_select(1, idx) + expand(noise, group, idx), o.clip)
      opt:zero_grad()
      F.cross_entropy(model(xb), y:index_select(1, idx)):backward()
      opt:step()
    end
    util.in_eval(model, function() -- noise steps: lower the loss, stay in the eps-ball
      for s = 1, n, o.batch do
        local idx = tensor.arange(s, math.min(s + o.batch, n + 1))
        local xb, yb = X:index_select(1, idx), y:index_select(1, idx)
        local sel = group and group:index_select(1, idx) or idx
        local adv = not group and util.clip(xb + noise:index_select(1, sel), o.clip):contiguous()
        for _ = 1, o.steps do
          local g
          if group then -- each group's noise gets the summed gradient of its samples
            local d = noise:detach():requires_grad()
            g = autograd.enable_grad(function()
              local loss = F.cross_entropy(model(util.clip(xb + d:index_select(1, sel), o.clip)), yb, { reduction = "sum" })
              return autograd.grad(loss, d)
            end)
            noise = (noise - g:sign() * o.step_size):clamp(-o.eps, o.eps)
          else
            g = util.input_grad(model, adv, function(out) return F.cross_entropy(out, yb, { reduction = "sum" }) end)
            util.linf_step(adv, xb, g, -o.step_size, o.eps, o.clip)
          end
        end
        if not group then noise:index_copy_(1, sel, adv - xb) end
      end
    end)
    err = train_error(model, X, y, noise, group, o)
    if o.log then o.log { iter = iter, train_error = err } end
    if err < o.stop_error then break end
  end
  return noise, { iterations = it, train_error = err, model = model }
end

-- Synthetic shortcut noise: a +-eps sign per class, channel and
-- patch x patch block of the last two dims (the last dim for [N, D] data).
local function synthetic(X, y, o)
  local shape, nd = X:shape(), X:dim()
  local small, pos = X:shape(), {}
  small[1] = y:max():item()
  for d = math.max(2, nd - 1), nd do
    small[d] = math.ceil(shape[d] / o.patch)
    pos[d] = (tensor.arange(0, shape[d]) / o.patch):floor():to("i64") + 1 -- the block of every position
  end
  local noise = (tensor.bernoulli(0.5, small, { gen = o.gen, dtype = X:dtype() }) * 2 - 1) * o.eps
  for d = math.max(2, nd - 1), nd do noise = noise:index_select(d, pos[d]) end
  return noise:contiguous()
end

-- Error-maximising noise: PGA against a model trained on the clean data.
local function maximise(model_fn, X, y, o)
  local gen = o.gen
  local model = fresh_model(model_fn, gen)
  local opt = (o.optimizer or default_opt)(model:parameters())
  nn.fit(model, data.loader(X, y, { batch = o.batch, shuffle = true, gen = gen }),
    { epochs = o.pretrain_epochs, opt = opt, log = false })
  local bayes = o.kind == "bayes"
  local function objective(out, yb)
    if bayes then return -out:softmax(2):amax(2):sum() end -- sum of (1 - max p) up to a constant
    return F.cross_entropy(out, yb, { reduction = "sum" })
  end
  local noise = tensor.zeros(X:shape(), { dtype = X:dtype() })
  local n = X:size(1)
  util.in_eval(model, function()
    for s = 1, n, o.batch do
      local idx = tensor.arange(s, math.min(s + o.batch, n + 1))
      local xb, yb = X:index_select(1, idx), y:index_select(1, idx)
      local adv = util.clip(xb + (tensor.rand(xb:shape(), { gen = gen, dtype = X:dtype() }) * 2 - 1) * o.eps, o.clip):contiguous()
      for _ = 1, o.steps do
        local g = util.input_grad(model, adv, function(out) return objective(out, yb) end)
        util.linf_step(adv, xb, g, o.step_size, o.eps, o.clip)
      end
      noise:index_copy_(1, idx, adv - xb)
    end
  end)
  return noise, { iterations = 1, train_error = train_error(model, X, y, noise, nil, o), model = model }
end

local kinds = { sample = true, class = true, cluster = true, synthetic = true, max = true, bayes = true }

-- attack.unlearnable(model_fn, X, y, opts) -> protected X, info
function M.unlearnable(model_fn, X, y, opts)
  opts = opts or {}
  if type(model_fn) ~= "function" then error("attack.unlearnable: model_fn must be a function(gen) returning a fresh model", 2) end
  if not tensor.is_tensor(X) or X:dim() < 2 then error("attack.unlearnable: X must be a tensor [N, ...]", 2) end
  if not tensor.is_tensor(y) or y:dim() ~= 1 or y:size(1) ~= X:size(1) then
    error("attack.unlearnable: y must be a 1-d tensor of N = " .. X:size(1) .. " labels", 2)
  end
  local kind = opts.kind or "sample"
  if not kinds[kind] then error("attack.unlearnable: kind must be sample, class, cluster, synthetic, max or bayes, got " .. tostring(kind), 2) end
  local sample = kind == "sample" or kind == "max" or kind == "bayes"
  local o = {
    kind = kind,
    eps = opts.eps or 8 / 255,
    step_size = opts.step_size or 0.8 / 255,
    steps = opts.steps or (sample and 20 or 1),
    train_steps = opts.train_steps or 10,
    stop_error = opts.stop_error or (kind == "sample" and 0.01 or 0.1),
    max_iter = opts.max_iter or 100,
    batch = math.min(opts.batch or 512, X:size(1)),
    pretrain_epochs = opts.pretrain_epochs or 1,
    patch = opts.patch or 4,
    clip = opts.clip == nil and { 0, 1 } or opts.clip,
    optimizer = opts.optimizer, log = opts.log,
    gen = util.gen(opts),
  }
  X = X:detach():contiguous()
  local noise, info, group
  if kind == "max" or kind == "bayes" then
    noise, info = maximise(model_fn, X, y, o)
  elseif kind == "synthetic" then
    group = y:to("i64")
    noise = synthetic(X, group, o)
    info = { iterations = 0, train_error = train_error(fresh_model(model_fn, o.gen), X, y, noise, group, o) }
  else
    if kind == "class" then
      group = y:to("i64")
    elseif kind == "cluster" then
      local Z = opts.features and opts.features(X) or X:flatten(2)
      group = kmeans(Z, opts.k or 10, o.gen)
      info = { clusters = group }
    end
    local i
    noise, i = minmin(model_fn, X, y, group, o)
    if info then i.clusters = info.clusters end
    info = i
  end
  info.noise = noise
  return protect(X, noise, group, o.clip), info
end

-- attack.train_eval(model_fn, Xtrain, ytrain, Xtest, ytest, opts) -> {test_acc=, train_acc=, model=, history=}
-- (curve = true: history[e].val_acc is the clean test accuracy after epoch e)
function M.train_eval(model_fn, Xtr, ytr, Xte, yte, opts)
  opts = opts or {}
  local gen = util.gen(opts)
  local model = fresh_model(model_fn, gen)
  local opt = opts.optimizer and opts.optimizer(model:parameters()) or optim.Adam(model:parameters(), { lr = opts.lr or 1e-3 })
  local epochs = opts.epochs or 5
  local history = nn.fit(model, data.loader(Xtr, ytr, { batch = opts.batch or 128, shuffle = true, gen = gen }),
    { epochs = epochs, opt = opt, log = opts.log or false, val = opts.curve and { Xte, yte } or nil })
  local test = nn.evaluate(model, { Xte, yte })
  return { test_acc = test.acc, train_acc = history[#history].acc, model = model, history = history }
end

return M
