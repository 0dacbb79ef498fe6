-- attack_adv.lua: adversarial examples (part of the `attack` module): FGSM
-- and PGD under the L-inf or L2 norm (Goodfellow et al. 2015, Madry et al.
-- 2018, with torchattacks' step and projection rules), robust accuracy, and
-- the helpers the other parts share: the input gradient of a model run in
-- eval mode, clipping, per-sample norms.
local F = nn.functional
local M, util = {}, {}

-- Calls fn() with an nn module in eval mode, restoring its mode after, also
-- when fn raises. Any other callable is used as it is.
function util.in_eval(model, fn)
  if not nn.is_module(model) then return fn() end
  local was = model.training
  model:eval()
  local res = table.pack(pcall(fn))
  model:train(was)
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- model(x) without recording.
function util.forward(model, x)
  return autograd.no_grad(function() return model(x) end)
end

-- The gradient of objective(model(x), xa) with respect to the input only
-- (autograd.grad: no parameter's .grad is touched), and the detached output.
function util.input_grad(model, x, objective)
  local xa = x:detach():requires_grad()
  return autograd.enable_grad(function()
    local out = model(xa)
    local g = autograd.grad(objective(out, xa), xa)
    return g, out:detach()
  end)
end

-- The shape {B, 1, 1, ...} that broadcasts a per-sample value over x.
function util.bshape(x)
  local s = { x:size(1) }
  for i = 2, x:dim() do s[i] = 1 end
  return s
end

-- Per-sample L2 norms of x, shaped to broadcast over x.
function util.norms(x)
  return x:flatten(2):norm(2, 2, true):view(util.bshape(x))
end

-- x limited to the valid input range clip = {lo, hi} (false: no limit).
function util.clip(x, clip)
  if not clip then return x end
  return x:clamp(clip[1], clip[2])
end

-- In place: adv = clamp(x + clamp(adv + alpha sign(g) - x, -eps, eps), range),
-- the L-inf step and projection in one pass (C: attack.kernels.linf_step_).
local kernels = require("attack.kernels")
function util.linf_step(adv, x, g, alpha, eps, clip)
  if clip then return kernels.linf_step_(adv, x, g:contiguous(), alpha, eps, clip[1], clip[2]) end
  return kernels.linf_step_(adv, x, g:contiguous(), alpha, eps)
end

function util.gen(o) return o.gen or (o.seed and tensor.generator(o.seed)) or tensor.default_generator() end

local function ce_sum(out, y) return F.cross_entropy(out, y, { reduction = "sum" }) end

local function options(o, fgsm)
  o = o or {}
  local norm = tostring(o.norm or "inf")
  if norm == "linf" or norm == "Linf" then norm = "inf" elseif norm == "l2" or norm == "L2" then norm = "2" end
  if norm ~= "inf" and norm ~= "2" then error("attack: norm must be \"inf\" or \"2\", got " .. norm, 3) end
  local eps = o.eps or (norm == "inf" and 8 / 255 or 1.0)
  if type(eps) ~= "number" or eps < 0 then error("attack: eps must be a number >= 0", 3) end
  local clip = o.clip
  if clip == nil then clip = { 0, 1 } end
  return {
    norm = norm, eps = eps, clip = clip,
    alpha = fgsm and eps or o.alpha or (norm == "inf" and 2 / 255 or 0.2),
    steps = fgsm and 1 or o.steps or 10,
    random_start = not fgsm and o.random_start ~= false,
    restarts = fgsm and 1 or o.restarts or 1,
    targeted = o.targeted == true,
    loss = o.loss or ce_sum,
    gen = util.gen(o),
  }
end

-- One run of PGD from x (FGSM is the one-step run without random start).
local function pgd_run(model, x, y, o)
  local adv = x:clone()
  if o.random_start then
    local opt = { gen = o.gen, dtype = x:dtype() }
    if o.norm == "inf" then
      adv = x + (tensor.rand(x:shape(), opt) * 2 - 1) * o.eps
    else -- a direction uniform on the sphere, a radius uniform in [0, eps] (torchattacks PGDL2)
      local d = tensor.randn(x:shape(), opt)
      local r = tensor.rand(util.bshape(x), opt)
      adv = x + d * (r * o.eps / util.norms(d))
    end
    adv = util.clip(adv, o.clip):contiguous()
  end
  local loss = o.loss
  for _ = 1, o.steps do
    local g = util.input_grad(model, adv, function(out) return loss(out, y) end)
    local alpha = o.targeted and -o.alpha or o.alpha -- targeted: descend the target's loss
    if o.norm == "inf" then
      util.linf_step(adv, x, g, alpha, o.eps, o.clip)
    else
      adv = adv + g / (util.norms(g) + 1e-10) * alpha
      local delta = adv - x
      local n = util.norms(delta)
      delta = delta * tensor.where(n:gt(o.eps), o.eps / n, 1):to(x:dtype())
      adv = util.clip(x + delta, o.clip)
    end
  end
  local out = util.forward(model, adv)
  local pred = out:argmax(2)
  local success = o.targeted and pred:eq(y) or pred:ne(y)
  return adv, success, F.cross_entropy(out, y, { reduction = "none" })
end

-- Restarts keep, per sample, the first successful run, else the run with the
-- highest loss (lowest for a targeted attack).
local function attack(model, x, y, o)
  if not tensor.is_tensor(x) or x:dim() < 2 then error("attack: x must be a batch tensor [N, ...]", 3) end
  if not tensor.is_tensor(y) or y:dim() ~= 1 or y:size(1) ~= x:size(1) then
    error("attack: y must be a 1-d tensor of N = " .. x:size(1) .. " labels", 3)
  end
  x = x:detach():contiguous()
  return util.in_eval(model, function()
    local adv, success, loss = pgd_run(model, x, y, o)
    for _ = 2, o.restarts do
      local a, s, l = pgd_run(model, x, y, o)
      local better = s:logical_and(success:logical_not())
      local tie = s:eq(success):logical_and(o.targeted and l:lt(loss) or l:gt(loss))
      better = better:logical_or(tie:logical_and(success:logical_not()))
      adv = tensor.where(better:view(util.bshape(x)), a, adv)
      loss = tensor.where(better, l, loss)
      success = success:logical_or(s)
    end
    return adv, success
  end)
end

-- attack.pgd(model, x, y, opts) -> adv, success (bool per sample)
function M.pgd(model, x, y, opts) return attack(model, x, y, options(opts, false)) end

-- attack.fgsm(model, x, y, opts) -> adv, success
function M.fgsm(model, x, y, opts) return attack(model, x, y, options(opts, true)) end

-- attack.evaluate(model, X, y, attack_fn, opts) -> robust accuracy, details.
-- A sample counts as robust when the model still predicts y on its attacked
-- version (so misclassified clean samples are never robust).
function M.evaluate(model, X, y, attack_fn, opts)
  opts = opts or {}
  attack_fn = attack_fn or M.pgd
  local batch = opts.batch or 256
  local o = setmetatable({ gen = util.gen(opts) }, { __index = opts })
  local n, clean, robust = X:size(1), 0, 0
  for s = 1, n, batch do
    local b = math.min(batch, n - s + 1)
    local xb, yb = X:narrow(1, s, b), y:narrow(1, s, b)
    local adv = attack_fn(model, xb, yb, o)
    local pc, pa = util.in_eval(model, function()
      return util.forward(model, xb):argmax(2), util.forward(model, adv):argmax(2)
    end)
    clean = clean + pc:eq(yb):sum():item()
    robust = robust + pa:eq(yb):sum():item()
  end
  return robust / n, { robust_acc = robust / n, clean_acc = clean / n, n = n }
end

M._util = util
return M
