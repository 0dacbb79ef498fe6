-- unlearn_mia.lua: part of the `unlearn` module (see unlearn.lua):
-- membership inference as an audit of unlearning. Members (label 1) are the
-- forget set, non-members (label 0) a test set; a higher score says
-- "member". LOSS (Yeom et al. 2018) and entropy need only the model; LiRA
-- (Carlini et al. 2022) and RMIA (Zarifzadeh et al. 2024) compare it with
-- shadow / reference models that sonde trains (unlearn.shadows), which can
-- be built once and reused to audit many unlearned models.
local sonde = require "sonde"
local F = require "nn.functional"
local C = require "unlearn_common"

local M = {}

-- φ = z_y - logsumexp_{y' ≠ y} z_y' = log p_y - log(1 - p_y), from logits, in f64.
local function logit_conf(logits, y)
  local z = logits:to("f64")
  local n, K = z:size(1), z:size(2)
  local zy = z:gather(2, y:view(n, 1)):view(n)
  local others = z:masked_fill(y:one_hot(K):to("bool"), -math.huge):logsumexp(2)
  return zy - others
end

-- p(y|x): the softmax probability of the true label, f64.
local function label_prob(logits, y)
  local n = logits:size(1)
  return logits:to("f64"):softmax(2):gather(2, y:view(n, 1)):view(n)
end

local function default_train(opts)
  return function(m, s, gen)
    local opt = C.optimizer("shadows", m, opts, { optim = "adam", lr = 1e-3 })
    local next_b = C.batches(s, C.posint("shadows", "batch", opts.batch, 64), gen)
    C.run(m, opt, C.posint("shadows", "steps", opts.steps, 300), function()
      local xb, yb = next_b()
      return F.cross_entropy(m(xb), yb)
    end)
  end
end

-- unlearn.shadows{model_fn=, pool=, forget=, test=, n=8, online=true, ...}:
-- n models model_fn(gen) trained by train(model, {X=, y=}, gen) on random
-- halves. Online: halves of pool ∪ forget ∪ test, each target in exactly
-- n/2 of them; offline: halves of pool only. `population` points of the
-- pool are held out of every shadow (RMIA's z samples).
function M.shadows(opts)
  local fn = "shadows"
  if type(opts) ~= "table" then C.fail(fn, "expected an options table {model_fn=, pool=, forget=, test=, ...}") end
  local model_fn = opts.model_fn
  if type(model_fn) ~= "function" then C.fail(fn, "model_fn (function(gen) -> a fresh model) is required") end
  local pool = C.set(fn, "pool", opts.pool)
  local forget, test = C.set(fn, "forget", opts.forget), C.set(fn, "test", opts.test)
  local S = C.posint(fn, "n", opts.n, 8)
  if S < 2 or S % 2 ~= 0 then C.fail(fn, "n must be an even number >= 2 (each target is in half of the shadows)") end
  local online = opts.online ~= false
  local train = opts.train or default_train(opts)
  if type(train) ~= "function" then C.fail(fn, "train must be a function(model, set, gen)") end
  local g = C.gen(fn, opts, 3)
  local npop = math.min(C.posint(fn, "population", opts.population, 1000), pool.n // 5)
  if npop < 1 then C.fail(fn, string.format("pool has %d rows: too few to hold out a population", pool.n)) end
  local perm = tensor.randperm(pool.n, { gen = g })
  local z = C.subset(pool, perm:narrow(1, 1, npop))
  local rest = C.subset(pool, perm:narrow(1, npop + 1, pool.n - npop))
  local targets = C.cat(forget, test)
  local data = online and C.cat(rest, targets) or rest
  -- column i is a random permutation of 1..S: example i is in the shadows ranked <= S/2
  local keep = tensor.rand(S, data.n, { gen = g }):argsort(1):le(S // 2)
  local phi, prob, prob_z = {}, {}, {}
  local seed = opts.seed or 0
  for k = 1, S do
    local m = C.model(fn, model_fn(opts.gen and g or tensor.generator(seed, 100 + k)), "model_fn's result")
    train(m, C.subset(data, keep:select(1, k):nonzero():view(-1)), opts.gen and g or tensor.generator(seed, 200 + k))
    local out = C.outputs(m, targets.X)
    phi[k] = logit_conf(out, targets.y):view(1, -1)
    prob[k] = label_prob(out, targets.y):view(1, -1)
    prob_z[k] = label_prob(C.outputs(m, z.X), z.y):view(1, -1)
  end
  local keep_t = online and keep:narrow(2, rest.n + 1, targets.n):clone()
    or tensor.zeros(S, targets.n, { dtype = "bool" })
  return {
    n = S, online = online, nf = forget.n, nt = test.n, z = z,
    phi = tensor.cat(phi), prob = tensor.cat(prob), prob_z = tensor.cat(prob_z), keep = keep_t,
  }
end

local function median(v)
  table.sort(v)
  local n = #v
  if n % 2 == 1 then return v[(n + 1) // 2] end
  return (v[n // 2] + v[n // 2 + 1]) / 2
end

local function mean_std(v)
  local s, n = 0, #v
  for i = 1, n do s = s + v[i] end
  local m = s / n
  local q = 0
  for i = 1, n do q = q + (v[i] - m) ^ 2 end
  return m, math.sqrt(q / n)
end

local LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
local function norm_logpdf(x, mu, sd) return -0.5 * ((x - mu) / sd) ^ 2 - math.log(sd) - LOG_SQRT_2PI end

-- log Φ(x) via log erfc (Numerical Recipes' erfcc, relative error < 1.2e-7),
-- taken in log form so the far tail does not underflow.
local function norm_logcdf(x)
  local u = -x / math.sqrt(2) -- Φ(x) = erfc(u) / 2
  local t = 1 / (1 + 0.5 * math.abs(u))
  local e = -u * u - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
    + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
  if u >= 0 then return math.log(t) + e - math.log(2) end
  return math.log(1 - t * math.exp(e) / 2)
end

-- The shadows' values of one target split by membership.
local function split(P, Kp, i)
  local ins, outs = {}, {}
  for k = 1, #P do
    local v = P[k][i]
    if Kp[k][i] then ins[#ins + 1] = v else outs[#outs + 1] = v end
  end
  return ins, outs
end

local function lira_scores(sh, phi_t, o)
  local P, Kp = sh.phi:tolist(), sh.keep:tolist()
  local online = o.online
  if online == nil then online = sh.online end
  if online and not sh.online then
    C.fail("mia", "online LiRA needs shadows trained with the targets in (unlearn.shadows{online=true})", 3)
  end
  local fix = o.fix_variance
  if fix == nil then fix = sh.n < 64 end
  local mu_in, mu_out, sd_in, sd_out, all_in, all_out = {}, {}, {}, {}, {}, {}
  for i = 1, #phi_t do
    local ins, outs = split(P, Kp, i)
    if online then
      for _, v in ipairs(ins) do all_in[#all_in + 1] = v end
      mu_in[i] = median(ins)
      sd_in[i] = select(2, mean_std(ins))
    end
    for _, v in ipairs(outs) do all_out[#all_out + 1] = v end
    mu_out[i] = median(outs)
    sd_out[i] = select(2, mean_std(outs))
  end
  local g_in = online and select(2, mean_std(all_in))
  local g_out = select(2, mean_std(all_out))
  local scores = {}
  for i, x in ipairs(phi_t) do
    local so = (fix and g_out or sd_out[i]) + 1e-30
    if online then
      local si = (fix and g_in or sd_in[i]) + 1e-30
      scores[i] = norm_logpdf(x, mu_in[i], si) - norm_logpdf(x, mu_out[i], so)
    else
      scores[i] = norm_logcdf((x - mu_out[i]) / so)
    end
  end
  return tensor.new(scores, { dtype = "f64" })
end

local function rmia_scores(sh, p_t, p_tz, o)
  local a = C.number("mia", "a", o.a, 0.3, 0)
  local gamma = C.number("mia", "gamma", o.gamma, 1, 0)
  local online = o.online
  if online == nil then online = sh.online end
  if online and not sh.online then
    C.fail("mia", "online RMIA needs reference models trained with the targets in (unlearn.shadows{online=true})", 3)
  end
  local px, pz
  if online then
    px, pz = sh.prob:mean(1), sh.prob_z:mean(1)
  else
    -- offline: p(x) ≈ ((1+a)/2)·mean over OUT references + (1-a)/2
    local out = sh.keep:logical_not():to("f64")
    px = (sh.prob * out):sum(1) / out:sum(1) * ((1 + a) / 2) + (1 - a) / 2
    pz = sh.prob_z:mean(1) * ((1 + a) / 2) + (1 - a) / 2
  end
  local ratio_x = p_t / px
  local ratio_z = p_tz / pz
  -- score(x) = Pr_z[ (p(x|θ)/p(x)) / (p(z|θ)/p(z)) > gamma ]
  return ratio_x:view(-1, 1):gt(ratio_z:view(1, -1) * gamma):to("f64"):mean(2)
end

-- unlearn.mia(model, forget, test, {method="loss", shadows=, ...}) -> {auc=, tpr_at_1pct=, tpr_at_01pct=, scores=, labels=}
function M.mia(model, forget, test, opts)
  local fn = "mia"
  opts = opts or {}
  if type(opts) ~= "table" then C.fail(fn, "opts must be a table") end
  C.model(fn, model)
  local f, t = C.set(fn, "forget", forget), C.set(fn, "test", test)
  local targets = C.cat(f, t)
  local method = opts.method or "loss"
  local out = C.outputs(model, targets.X)
  local scores
  if method == "loss" then
    scores = -C.losses(out:to("f64"), targets.y)
  elseif method == "entropy" then
    local lp = out:to("f64"):log_softmax(2)
    scores = (lp:exp() * lp):sum(2) -- minus the entropy: confident = member
  elseif method == "lira" or method == "rmia" then
    local sh = opts.shadows
    if sh == nil or type(sh) == "number" then
      local so = {}
      for k, v in pairs(opts) do so[k] = v end
      so.n, so.forget, so.test = sh, f, t
      so.online = opts.online ~= false
      sh = M.shadows(so)
    elseif type(sh) ~= "table" or not sh.phi then
      C.fail(fn, "shadows must be a count or the result of unlearn.shadows")
    end
    if sh.nf ~= f.n or sh.nt ~= t.n then
      C.fail(fn, string.format("shadows were built for %d forget + %d test rows, got %d + %d", sh.nf, sh.nt, f.n, t.n))
    end
    if method == "lira" then
      scores = lira_scores(sh, logit_conf(out, targets.y):tolist(), opts)
    else
      scores = rmia_scores(sh, label_prob(out, targets.y), label_prob(C.outputs(model, sh.z.X), sh.z.y), opts)
    end
  else
    C.fail(fn, string.format("method must be \"loss\", \"entropy\", \"lira\" or \"rmia\", got %s", tostring(method)))
  end
  local metrics = require "metrics"
  local labels = tensor.cat { tensor.ones(f.n, { dtype = "i64" }), tensor.zeros(t.n, { dtype = "i64" }) }
  return {
    method = method, scores = scores, labels = labels,
    auc = metrics.auroc(scores, labels),
    tpr_at_1pct = metrics.tpr_at_fpr(scores, labels, 0.01),
    tpr_at_01pct = metrics.tpr_at_fpr(scores, labels, 0.001),
  }
end

sonde.doc("unlearn.shadows",
  "unlearn.shadows{model_fn=, pool=, forget=, test=, n=8, online=true, train=fn(model, set, gen) | steps=300, lr=1e-3, batch=64, population=1000, seed=0}",
  "shadow/reference models for LiRA and RMIA on random halves (online: targets in n/2 of them); reuse across audits")
sonde.doc("unlearn.mia",
  "unlearn.mia(model, forget, test, {method=\"loss\"|\"entropy\"|\"lira\"|\"rmia\", shadows=n | unlearn.shadows(...), online=, fix_variance=n<64, a=0.3, gamma=1, ...})",
  "membership inference, members = forget (1), non-members = test (0): {auc=, tpr_at_1pct=, tpr_at_01pct=, scores=, labels=}")

return M
