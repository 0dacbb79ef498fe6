-- unlearn_methods.lua: part of the `unlearn` module (see unlearn.lua): the
-- unlearning methods. Every method is method(model, forget, retain, opts)
-- and returns a new model (a deep copy; the input's parameters are never
-- written) and an info table {method=, steps=, time=, loss=}. Batches, random
-- labels and initialisations come from tensor.generator(opts.seed or 0,
-- stream), so the same seed gives the same bits.
local sonde = require "sonde"
local F = require "nn.functional"
local C = require "unlearn_common"

local M = {}

-- Shared options of the step loop, with the method's defaults.
local function setup(fn, model, forget, retain, opts, d, need)
  if opts ~= nil and type(opts) ~= "table" then C.fail(fn, "opts must be a table", 3) end
  opts = opts or {}
  C.model(fn, model)
  local f = C.set(fn, "forget", forget, need.forget ~= true)
  local r = C.set(fn, "retain", retain, need.retain ~= true)
  local s = {
    opts = opts, forget = f, retain = r,
    steps = C.posint(fn, "steps", opts.steps, d.steps),
    batch = C.posint(fn, "batch", opts.batch, d.batch or 64),
    stop_acc = C.number(fn, "stop_acc", opts.stop_acc, nil, 0),
    t0 = tensor.clock(),
  }
  s.gen = C.gen(fn, opts, 0)
  return s
end

local function finish(name, s, m, loss, steps)
  return m, { method = name, steps = steps, time = tensor.clock() - s.t0, loss = loss }
end

-- The next forget batch's logits and labels, and whether to stop: its
-- accuracy is already at or under opts.stop_acc (early stopping of the
-- ascent methods, which otherwise run on until the model collapses).
local function forget_step(s, m, next_f)
  local xb, yb = next_f()
  local out = m(xb)
  return out, yb, s.stop_acc ~= nil and C.batch_acc(out, yb) <= s.stop_acc, xb
end

-- Methods that ascend a loss use Adam at lr 1e-3, as open-unlearning uses
-- AdamW for all of them (its lr 1e-5 is for LLMs): plain SGD at the image
-- papers' rates barely moves a small confident model, or diverges.
local ADAM = { optim = "adam", lr = 1e-3 }

local function ce(m, xb, yb) return F.cross_entropy(m(xb), yb) end

-- retrain: the oracle; a fresh model_fn(gen) trained on retain only.
function M.retrain(model, forget, retain, opts)
  local fn = "retrain"
  local s = setup(fn, model, forget, retain, opts,
    { steps = 500, batch = 64 }, { retain = true })
  local model_fn = s.opts.model_fn
  if type(model_fn) ~= "function" then C.fail(fn, "opts.model_fn (function(gen) -> a fresh model) is required") end
  local m = C.model(fn, model_fn(C.gen(fn, s.opts, 1)), "model_fn's result")
  local opt = C.optimizer(fn, m, s.opts, { optim = "adam", lr = 1e-3 })
  local next_r = C.batches(s.retain, s.batch, s.gen)
  return finish(fn, s, m, C.run(m, opt, s.steps, function() return ce(m, next_r()) end))
end

-- finetune: descent on the retain set only (catastrophic forgetting).
function M.finetune(model, forget, retain, opts)
  local fn = "finetune"
  local s = setup(fn, model, forget, retain, opts, { steps = 100 }, { retain = true })
  local m = C.clone(model)
  local opt = C.optimizer(fn, m, s.opts, { lr = 0.01, momentum = 0.9 })
  local next_r = C.batches(s.retain, s.batch, s.gen)
  return finish(fn, s, m, C.run(m, opt, s.steps, function() return ce(m, next_r()) end))
end

-- gradient_ascent: ascent on the forget set's cross-entropy.
function M.gradient_ascent(model, forget, retain, opts)
  local fn = "gradient_ascent"
  local s = setup(fn, model, forget, retain, opts, { steps = 100 }, { forget = true })
  local m = C.clone(model)
  local opt = C.optimizer(fn, m, s.opts, ADAM)
  local next_f = C.batches(s.forget, s.batch, s.gen)
  return finish(fn, s, m, C.run(m, opt, s.steps, function()
    local out, yb, stop = forget_step(s, m, next_f)
    return -F.cross_entropy(out, yb), stop
  end))
end

-- graddiff: gamma * (-CE on forget) + alpha * CE on retain.
function M.graddiff(model, forget, retain, opts)
  local fn = "graddiff"
  local s = setup(fn, model, forget, retain, opts, { steps = 100 }, { forget = true, retain = true })
  local gamma = C.number(fn, "gamma", s.opts.gamma, 1, 0)
  local alpha = C.number(fn, "alpha", s.opts.alpha, 1, 0)
  local m = C.clone(model)
  local opt = C.optimizer(fn, m, s.opts, ADAM)
  local next_f, next_r = C.batches(s.forget, s.batch, s.gen), C.batches(s.retain, s.batch, s.gen)
  return finish(fn, s, m, C.run(m, opt, s.steps, function()
    local out, yb, stop = forget_step(s, m, next_f)
    return F.cross_entropy(out, yb) * -gamma + ce(m, next_r()) * alpha, stop
  end))
end

-- random_label: the forget set relabelled once with a uniformly random
-- other class, then descent on it (+ alpha * CE on retain when given).
function M.random_label(model, forget, retain, opts)
  local fn = "random_label"
  local s = setup(fn, model, forget, retain, opts, { steps = 100 }, { forget = true })
  local alpha = C.number(fn, "alpha", s.opts.alpha, 1, 0)
  local K = s.opts.num_classes or C.outputs(model, s.forget.X:narrow(1, 1, 1)):size(2)
  C.posint(fn, "num_classes", K)
  if K < 2 then C.fail(fn, "random labels need at least 2 classes") end
  local shift = tensor.randint(1, K, s.forget.n, { gen = C.gen(fn, s.opts, 1) })
  local relabelled = { X = s.forget.X, y = (s.forget.y - 1 + shift):remainder(K) + 1, n = s.forget.n }
  local m = C.clone(model)
  local opt = C.optimizer(fn, m, s.opts, { lr = 0.01, momentum = 0.9 })
  local next_f = C.batches(relabelled, s.batch, s.gen)
  local next_r = s.retain and C.batches(s.retain, s.batch, s.gen)
  return finish(fn, s, m, C.run(m, opt, s.steps, function()
    local loss = ce(m, next_f())
    if next_r then loss = loss + ce(m, next_r()) * alpha end
    return loss
  end))
end

-- npo: Zhang et al. 2024. With r = log p_θ(y|x) - log p_ref(y|x) on the
-- forget set (ref: the frozen input model), L = (2/β) mean softplus(β r)
-- (= -(2/β) log σ(-β r)), times gamma, + alpha * CE on retain when given.
function M.npo(model, forget, retain, opts)
  local fn = "npo"
  local s = setup(fn, model, forget, retain, opts, { steps = 100 }, { forget = true })
  local beta = C.number(fn, "beta", s.opts.beta, 0.1)
  if beta <= 0 then C.fail(fn, "beta must be > 0") end
  local gamma = C.number(fn, "gamma", s.opts.gamma, 1, 0)
  local alpha = C.number(fn, "alpha", s.opts.alpha, 1, 0)
  local ref = C.clone(model)
  local m = C.clone(model)
  local opt = C.optimizer(fn, m, s.opts, ADAM)
  local next_f = C.batches(s.forget, s.batch, s.gen)
  local next_r = s.retain and C.batches(s.retain, s.batch, s.gen)
  return finish(fn, s, m, C.run(m, opt, s.steps, function()
    local xb, yb = next_f()
    local out = m(xb)
    local ref_logp = -C.losses(C.outputs(ref, xb), yb)
    local r = -C.losses(out, yb) - ref_logp
    local loss = (r * beta):softplus():mean() * (2 * gamma / beta)
    if next_r then loss = loss + ce(m, next_r()) * alpha end
    return loss, s.stop_acc ~= nil and C.batch_acc(out, yb) <= s.stop_acc
  end))
end

-- KL(teacher || student) at temperature T, times T², averaged over the batch.
local function distill_kl(s_logits, t_logits, T)
  local log_ps = (s_logits / T):log_softmax(2)
  local log_pt = (t_logits / T):log_softmax(2)
  return (log_pt:exp() * (log_pt - log_ps)):sum() * (T * T / s_logits:size(1))
end

-- scrub: Kurmanji et al. 2023. The student starts as the teacher (the
-- frozen input model). Each of `rounds` rounds runs max steps on the forget
-- set (ascent on KL(teacher‖student), only in the first `msteps` rounds),
-- then min steps on the retain set (gamma CE + alpha KL).
function M.scrub(model, forget, retain, opts)
  local fn = "scrub"
  local s = setup(fn, model, forget, retain, opts, { steps = 100 }, { forget = true, retain = true })
  local o = s.opts
  local T = C.number(fn, "T", o.T, 4)
  if T <= 0 then C.fail(fn, "T must be > 0") end
  local gamma = C.number(fn, "gamma", o.gamma, 0.99, 0)
  local alpha = C.number(fn, "alpha", o.alpha, 0.001, 0)
  local rounds = C.posint(fn, "rounds", o.rounds, 5)
  local msteps = math.min(C.posint(fn, "msteps", o.msteps, 2), rounds)
  local max_steps = o.max_steps == 0 and 0 or C.posint(fn, "max_steps", o.max_steps, s.steps // 2)
  local teacher, m = C.clone(model), C.clone(model)
  local opt = C.optimizer(fn, m, o, ADAM)
  local next_f, next_r = C.batches(s.forget, s.batch, s.gen), C.batches(s.retain, s.batch, s.gen)
  -- the budget split evenly over the rounds, remainders to the first ones
  local function share(total, parts, i) return total // parts + (i <= total % parts and 1 or 0) end
  local loss, done = nil, 0
  for round = 1, rounds do
    if round <= msteps then
      local k = share(max_steps, msteps, round)
      if k > 0 then
        local _, n = C.run(m, opt, k, function()
          local out, _, stop, xb = forget_step(s, m, next_f)
          return -distill_kl(out, C.outputs(teacher, xb), T), stop
        end)
        done = done + n
      end
    end
    local k = share(s.steps, rounds, round)
    if k > 0 then
      local n
      loss, n = C.run(m, opt, k, function()
        local xb, yb = next_r()
        local out = m(xb)
        return F.cross_entropy(out, yb) * gamma + distill_kl(out, C.outputs(teacher, xb), T) * alpha
      end)
      done = done + n
    end
  end
  return finish(fn, s, m, loss, done)
end

M.methods = { "retrain", "finetune", "gradient_ascent", "graddiff", "random_label", "npo", "scrub" }

for _, d in ipairs {
  { "retrain", "unlearn.retrain(model, forget, retain, {model_fn=, steps=500, lr=1e-3, optim=\"adam\", ...})",
    "the oracle: a fresh model_fn(gen) trained on retain only (Adam, as most training recipes); returns model, info" },
  { "finetune", "unlearn.finetune(model, forget, retain, {steps=100, lr=0.01, momentum=0.9, ...})",
    "FT: descent on retain only, SGD as UUEF's FT.py; returns a new model, info" },
  { "gradient_ascent", "unlearn.gradient_ascent(model, forget, [retain], {steps=100, lr=1e-3, optim=\"adam\", stop_acc=nil, ...})",
    "GA: ascent on the forget set's cross-entropy (open-unlearning GradAscent); returns a new model, info" },
  { "graddiff", "unlearn.graddiff(model, forget, retain, {gamma=1, alpha=1, steps=100, lr=1e-3, optim=\"adam\", stop_acc=nil, ...})",
    "GradDiff: gamma·(-CE forget) + alpha·CE retain (open-unlearning defaults); returns a new model, info" },
  { "random_label", "unlearn.random_label(model, forget, [retain], {alpha=1, steps=100, lr=0.01, num_classes=, ...})",
    "RL: forget relabelled with random other classes, descent on it + alpha·CE retain (UUEF RL.py); returns model, info" },
  { "npo", "unlearn.npo(model, forget, [retain], {beta=0.1, gamma=1, alpha=1, steps=100, lr=1e-3, optim=\"adam\", stop_acc=nil, ...})",
    "NPO (Zhang et al. 2024): (2/β)·softplus(β·(log p_θ - log p_ref)) on forget + alpha·CE retain (open-unlearning defaults)" },
  { "scrub", "unlearn.scrub(model, forget, retain, {T=4, gamma=0.99, alpha=0.001, rounds=5, msteps=2, steps=100, max_steps=steps/2, lr=1e-3, optim=\"adam\", stop_acc=nil, ...})",
    "SCRUB (Kurmanji et al. 2023): max KL(teacher‖student) on forget, min gamma·CE+alpha·KL on retain (T, gamma, alpha, msteps of the original code)" },
} do sonde.doc("unlearn." .. d[1], d[2], d[3]) end

return M
