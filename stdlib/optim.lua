-- optim.lua: optimizers and learning-rate schedulers with PyTorch's names,
-- defaults and update formulas. Updates are in place under no_grad; SGD and
-- Adam/AdamW run one fused C kernel per tensor (optim.kernels), LBFGS works
-- on flat vectors with tensor ops.
local sonde = require "sonde"
local K = require "optim.kernels"

local optim = {}

-- --- Optimizer: parameter groups, state, zero_grad -------------------------

local Optimizer = {}
Optimizer.__index = Optimizer

-- params: a list of tensors, or a list of groups {params = {...}, lr = ...}
-- whose missing options come from opts and then the defaults.
local function new_optimizer(cls, name, params, opts, defaults)
  if type(params) ~= "table" or (#params == 0 and next(params) ~= nil) then
    error(name .. ": expected a list of tensors or of parameter groups", 3)
  end
  local groups = tensor.is_tensor(params[1]) and { { params = params } } or params
  if #groups == 0 then error(name .. ": empty parameter list", 3) end
  local self = setmetatable({ param_groups = {}, state = {}, name = name }, cls)
  for gi, g in ipairs(groups) do
    local group = {}
    for k, v in pairs(defaults) do group[k] = v end
    for k, v in pairs(opts or {}) do group[k] = v end
    for k, v in pairs(g) do group[k] = v end
    for i, p in ipairs(group.params) do
      if not tensor.is_tensor(p) then error(string.format("%s: group %d entry %d is not a tensor", name, gi, i), 3) end
    end
    if group.lr == nil then error(name .. ": lr is required", 3) end
    group.initial_lr = group.initial_lr or group.lr
    self.param_groups[gi] = group
  end
  return self
end

-- opt:zero_grad(): drops every parameter's .grad (PyTorch's set_to_none)
function Optimizer:zero_grad()
  for _, g in ipairs(self.param_groups) do
    for _, p in ipairs(g.params) do p:zero_grad() end
  end
end

-- opt:step([closure]): one update; closure re-evaluates the loss with
-- recording on and returns it.
function Optimizer:step(closure)
  local loss
  if closure then loss = autograd.enable_grad(closure) end
  autograd.no_grad(function()
    for _, g in ipairs(self.param_groups) do
      for _, p in ipairs(g.params) do
        local grad = p.grad
        if grad then
          local st = self.state[p]
          if not st then st = {} self.state[p] = st end
          self:update(p, grad, st, g)
        end
      end
    end
  end)
  return loss
end

local function optimizer(name, defaults, update)
  local cls = setmetatable({}, { __index = Optimizer })
  cls.__index = cls
  cls.update = update
  optim[name] = function(params, opts) return new_optimizer(cls, name, params, opts, defaults) end
  return cls
end

-- --- SGD, Adam, AdamW --------------------------------------------------------

-- optim.SGD(params, {lr=, momentum=0, dampening=0, nesterov=false, weight_decay=0})
optimizer("SGD", { momentum = 0, dampening = 0, nesterov = false, weight_decay = 0 },
  function(_, p, grad, st, g)
    if g.nesterov and (g.momentum <= 0 or g.dampening ~= 0) then
      error("SGD: nesterov needs momentum > 0 and dampening 0", 4)
    end
    local first = false
    if g.momentum ~= 0 and not st.momentum_buffer then
      st.momentum_buffer = tensor.empty(p:shape(), { dtype = p:dtype() })
      first = true
    end
    K.sgd_step_(p, grad, st.momentum_buffer, g.lr, g.momentum, g.dampening, g.weight_decay, g.nesterov, first)
  end)

local function adam_update(decoupled)
  return function(_, p, grad, st, g)
    if not st.exp_avg then
      st.step = 0
      st.exp_avg = tensor.zeros(p:shape(), { dtype = p:dtype() })
      st.exp_avg_sq = tensor.zeros(p:shape(), { dtype = p:dtype() })
    end
    st.step = st.step + 1
    K.adam_step_(p, grad, st.exp_avg, st.exp_avg_sq, st.step, g.lr, g.betas[1], g.betas[2], g.eps,
      g.weight_decay, decoupled)
  end
end

-- optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0}):
-- weight decay added to the gradient (L2)
optimizer("Adam", { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 0 }, adam_update(false))
-- optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=1e-2}):
-- decoupled decay p <- p (1 - lr wd) before the Adam step
optimizer("AdamW", { lr = 1e-3, betas = { 0.9, 0.999 }, eps = 1e-8, weight_decay = 1e-2 }, adam_update(true))

-- --- LBFGS ---------------------------------------------------------------------

local function cubic_interpolate(x1, f1, g1, x2, f2, g2, lo, hi)
  if not lo then lo, hi = math.min(x1, x2), math.max(x1, x2) end
  local d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
  local d2sq = d1 * d1 - g1 * g2
  if d2sq >= 0 then
    local d2 = math.sqrt(d2sq)
    local pos
    if x1 <= x2 then
      pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else
      pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    end
    return math.min(math.max(pos, lo), hi)
  end
  return (lo + hi) / 2
end

local function dot(a, b) return a:dot(b):item() end
local function absmax(a) return a:abs():max():item() end

-- Strong-Wolfe line search (More and Thuente's bracketing, as minFunc and
-- PyTorch): returns loss, flat grad and step t along d.
local function strong_wolfe(obj, x, t, d, f, g, gtd)
  local c1, c2, tol, max_ls = 1e-4, 0.9, 1e-9, 25
  local d_norm = absmax(d)
  g = g:clone()
  local f_new, g_new = obj(x, t, d)
  local evals = 1
  local gtd_new = dot(g_new, d)
  local t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
  local done, ls_iter = false, 0
  local br, br_f, br_g, br_gtd
  while ls_iter < max_ls do
    if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev) then
      br, br_f, br_g, br_gtd = { t_prev, t }, { f_prev, f_new }, { g_prev, g_new:clone() }, { gtd_prev, gtd_new }
      break
    end
    if math.abs(gtd_new) <= -c2 * gtd then
      br, br_f, br_g = { t }, { f_new }, { g_new }
      done = true
      break
    end
    if gtd_new >= 0 then
      br, br_f, br_g, br_gtd = { t_prev, t }, { f_prev, f_new }, { g_prev, g_new:clone() }, { gtd_prev, gtd_new }
      break
    end
    local min_step, max_step = t + 0.01 * (t - t_prev), t * 10
    local tmp = t
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, min_step, max_step)
    t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new:clone(), gtd_new
    f_new, g_new = obj(x, t, d)
    evals = evals + 1
    gtd_new = dot(g_new, d)
    ls_iter = ls_iter + 1
  end
  if ls_iter == max_ls then
    br, br_f, br_g = { 0, t }, { f, f_new }, { g, g_new }
  end
  -- zoom: shrink the bracket until a point satisfies the strong Wolfe conditions
  local insuf = false
  local low, high = 1, 2
  if br_f[1] > br_f[#br_f] then low, high = 2, 1 end
  while not done and ls_iter < max_ls do
    if math.abs(br[2] - br[1]) * d_norm < tol then break end
    t = cubic_interpolate(br[1], br_f[1], br_gtd[1], br[2], br_f[2], br_gtd[2])
    local bmax, bmin = math.max(br[1], br[2]), math.min(br[1], br[2])
    local eps = 0.1 * (bmax - bmin)
    if math.min(bmax - t, t - bmin) < eps then
      if insuf or t >= bmax or t <= bmin then
        if math.abs(t - bmax) < math.abs(t - bmin) then t = bmax - eps else t = bmin + eps end
        insuf = false
      else
        insuf = true
      end
    else
      insuf = false
    end
    f_new, g_new = obj(x, t, d)
    evals = evals + 1
    gtd_new = dot(g_new, d)
    ls_iter = ls_iter + 1
    if f_new > f + c1 * t * gtd or f_new >= br_f[low] then
      br[high], br_f[high], br_g[high], br_gtd[high] = t, f_new, g_new:clone(), gtd_new
      if br_f[1] <= br_f[2] then low, high = 1, 2 else low, high = 2, 1 end
    else
      if math.abs(gtd_new) <= -c2 * gtd then
        done = true
      elseif gtd_new * (br[high] - br[low]) >= 0 then
        br[high], br_f[high], br_g[high], br_gtd[high] = br[low], br_f[low], br_g[low], br_gtd[low]
      end
      br[low], br_f[low], br_g[low], br_gtd[low] = t, f_new, g_new:clone(), gtd_new
    end
  end
  return br_f[low], br_g[low], br[low], evals
end

local LBFGS = setmetatable({}, { __index = Optimizer })
LBFGS.__index = LBFGS

-- optim.LBFGS(params, {lr=1, max_iter=20, max_eval=max_iter*5//4,
-- tolerance_grad=1e-7, tolerance_change=1e-9, history_size=100,
-- line_search_fn=nil | "strong_wolfe"}); opt:step(closure) is required.
function optim.LBFGS(params, opts)
  local self = new_optimizer(LBFGS, "LBFGS", params, opts, {
    lr = 1, max_iter = 20, tolerance_grad = 1e-7, tolerance_change = 1e-9, history_size = 100,
  })
  if #self.param_groups ~= 1 then error("LBFGS: parameter groups are not supported", 2) end
  local g = self.param_groups[1]
  g.max_eval = g.max_eval or g.max_iter * 5 // 4
  if g.line_search_fn ~= nil and g.line_search_fn ~= "strong_wolfe" then
    error("LBFGS: line_search_fn must be nil or 'strong_wolfe'", 2)
  end
  self.params = g.params
  return self
end

function LBFGS:flat_grad()
  local views = {}
  for i, p in ipairs(self.params) do
    local gr = p.grad
    views[i] = gr and gr:contiguous():view(-1) or tensor.zeros(p:numel(), { dtype = p:dtype() })
  end
  return tensor.cat(views, 1)
end

function LBFGS:add_grad(t, d)
  local off = 1
  for _, p in ipairs(self.params) do
    local n = p:numel()
    p:add_(d:narrow(1, off, n):view(p:shape()), { alpha = t })
    off = off + n
  end
end

function LBFGS:step(closure)
  if type(closure) ~= "function" then error("LBFGS:step: a closure returning the loss is required", 2) end
  local g = self.param_groups[1]
  local lr, tol_grad, tol_change = g.lr, g.tolerance_grad, g.tolerance_change
  local st = self.state
  st.func_evals, st.n_iter = st.func_evals or 0, st.n_iter or 0
  local function evaluate()
    local l = autograd.enable_grad(closure)
    return tensor.is_tensor(l) and l:item() or l, l
  end
  return autograd.no_grad(function()
    local loss, orig_loss = evaluate()
    local evals = 1
    st.func_evals = st.func_evals + 1
    local flat_grad = self:flat_grad()
    if absmax(flat_grad) <= tol_grad then return orig_loss end
    local d, t, old_dirs, old_stps, ro, H_diag = st.d, st.t, st.old_dirs, st.old_stps, st.ro, st.H_diag
    local prev_flat_grad, prev_loss = st.prev_flat_grad, st.prev_loss
    local n_iter = 0
    while n_iter < g.max_iter do
      n_iter = n_iter + 1
      st.n_iter = st.n_iter + 1
      if st.n_iter == 1 then
        d = flat_grad:neg()
        old_dirs, old_stps, ro, H_diag = {}, {}, {}, 1
      else
        -- two-loop recursion over the (y, s) history
        local y = flat_grad - prev_flat_grad
        local s = d * t
        local ys = dot(y, s)
        if ys > 1e-10 then
          if #old_dirs == g.history_size then
            table.remove(old_dirs, 1)
            table.remove(old_stps, 1)
            table.remove(ro, 1)
          end
          old_dirs[#old_dirs + 1], old_stps[#old_stps + 1], ro[#ro + 1] = y, s, 1 / ys
          H_diag = ys / dot(y, y)
        end
        local al = {}
        local q = flat_grad:neg()
        for i = #old_dirs, 1, -1 do
          al[i] = dot(old_stps[i], q) * ro[i]
          q:add_(old_dirs[i], { alpha = -al[i] })
        end
        d = q * H_diag
        for i = 1, #old_dirs do
          local be = dot(old_dirs[i], d) * ro[i]
          d:add_(old_stps[i], { alpha = al[i] - be })
        end
      end
      if prev_flat_grad then prev_flat_grad:copy_(flat_grad) else prev_flat_grad = flat_grad:clone() end
      prev_loss = loss
      if st.n_iter == 1 then
        t = math.min(1, 1 / flat_grad:abs():sum():item()) * lr
      else
        t = lr
      end
      local gtd = dot(flat_grad, d)
      if gtd > -tol_change then break end
      local ls_evals, opt_cond = 0, false
      if g.line_search_fn then
        local x0 = {}
        for i, p in ipairs(self.params) do x0[i] = p:clone() end
        local function obj(x, step, dir)
          self:add_grad(step, dir)
          local l = evaluate()
          local fg = self:flat_grad()
          for i, p in ipairs(self.params) do p:copy_(x[i]) end
          return l, fg
        end
        loss, flat_grad, t, ls_evals = strong_wolfe(obj, x0, t, d, loss, flat_grad, gtd)
        self:add_grad(t, d)
        opt_cond = absmax(flat_grad) <= tol_grad
      else
        self:add_grad(t, d)
        if n_iter ~= g.max_iter then
          loss = evaluate()
          flat_grad = self:flat_grad()
          opt_cond = absmax(flat_grad) <= tol_grad
          ls_evals = 1
        end
      end
      evals = evals + ls_evals
      st.func_evals = st.func_evals + ls_evals
      if n_iter == g.max_iter or evals >= g.max_eval or opt_cond then break end
      if absmax(d * t) <= tol_change or math.abs(loss - prev_loss) < tol_change then break end
    end
    st.d, st.t, st.old_dirs, st.old_stps, st.ro, st.H_diag = d, t, old_dirs, old_stps, ro, H_diag
    st.prev_flat_grad, st.prev_loss = prev_flat_grad, prev_loss
    return orig_loss
  end)
end

-- --- schedulers -------------------------------------------------------------

local Scheduler = {}
Scheduler.__index = Scheduler

local function scheduler(name, lr_at)
  optim[name] = function(opt, opts)
    local s = setmetatable({ optimizer = opt, last_epoch = 0, lr_at = lr_at }, Scheduler)
    for k, v in pairs(opts or {}) do s[k] = v end
    s.base_lrs = {}
    for i, g in ipairs(opt.param_groups) do s.base_lrs[i] = g.initial_lr end
    return s
  end
end

-- sched:step(): advance one epoch and set each group's lr (closed form)
function Scheduler:step()
  self.last_epoch = self.last_epoch + 1
  for i, g in ipairs(self.optimizer.param_groups) do g.lr = self:lr_at(self.base_lrs[i], self.last_epoch) end
end

function Scheduler:get_last_lr()
  local out = {}
  for i, g in ipairs(self.optimizer.param_groups) do out[i] = g.lr end
  return out
end

-- optim.StepLR(opt, {step_size=, gamma=0.1}): lr = base * gamma^floor(epoch / step_size)
scheduler("StepLR", function(s, base, epoch)
  if not s.step_size then error("StepLR: step_size is required", 3) end
  return base * (s.gamma or 0.1) ^ (epoch // s.step_size)
end)

-- optim.CosineAnnealingLR(opt, {T_max=, eta_min=0}):
-- lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2
scheduler("CosineAnnealingLR", function(s, base, epoch)
  if not s.T_max then error("CosineAnnealingLR: T_max is required", 3) end
  local eta_min = s.eta_min or 0
  return eta_min + (base - eta_min) * (1 + math.cos(math.pi * epoch / s.T_max)) / 2
end)


-- --- docs (help) ---------------------------------------------------------------

for _, d in ipairs {
  { "SGD", "optim.SGD(params, {lr=, momentum=0, dampening=0, nesterov=false, weight_decay=0})",
    "stochastic gradient descent as torch.optim.SGD" },
  { "Adam", "optim.Adam(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=0})",
    "Adam as torch.optim.Adam (weight decay added to the gradient)" },
  { "AdamW", "optim.AdamW(params, {lr=1e-3, betas={0.9, 0.999}, eps=1e-8, weight_decay=1e-2})",
    "Adam with decoupled weight decay as torch.optim.AdamW" },
  { "LBFGS", "optim.LBFGS(params, {lr=1, max_iter=20, history_size=100, line_search_fn=nil|\"strong_wolfe\"})",
    "L-BFGS as torch.optim.LBFGS; opt:step(closure)" },
  { "StepLR", "optim.StepLR(opt, {step_size=, gamma=0.1})", "lr = base gamma^(epoch // step_size) on sched:step()" },
  { "CosineAnnealingLR", "optim.CosineAnnealingLR(opt, {T_max=, eta_min=0})",
    "lr = eta_min + (base - eta_min)(1 + cos(pi epoch / T_max)) / 2 on sched:step()" },
} do sonde.doc("optim." .. d[1], d[2], d[3]) end
sonde.doc("Optimizer:step", "opt:step([closure])", "one in-place update of every parameter with a grad; returns closure's loss")
sonde.doc("Optimizer:zero_grad", "opt:zero_grad()", "drop the .grad of every parameter")
sonde.doc("Scheduler:step", "sched:step()", "advance one epoch and set each group's lr")
sonde.doc("Scheduler:get_last_lr", "sched:get_last_lr()", "the current lr of each group")

return optim
