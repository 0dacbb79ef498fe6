-- attack_fool.lua: fooling images (part of the `attack` module): inputs a
-- classifier labels as a chosen class with high confidence although they
-- show nothing of it (Nguyen, Yosinski & Clune 2015). Two searches: gradient
-- ascent on log p(target | x) - l2 ||x||^2 with Adam, and an elitist
-- evolutionary search with direct (per-pixel) encoding, as the paper's MNIST
-- experiments.
local util = require("attack_adv")._util
local M = {}

local function targets_of(target)
  if tensor.is_tensor(target) then return target:to("i64"):flatten() end
  if type(target) == "number" then return tensor.new({ math.tointeger(target) }) end
  if type(target) == "table" then return tensor.new(target):to("i64") end
  error("attack.fool: target must be a class number, a table or a tensor of classes", 3)
end

local function start(n, o, gen)
  local shape = { n }
  if type(o.shape) ~= "table" or #o.shape == 0 then error("attack.fool: shape (of one image, e.g. {1, 28, 28}) is required", 3) end
  for i, s in ipairs(o.shape) do shape[i + 1] = s end
  local dtype = o.dtype or "f32"
  local from = o.from or "noise"
  if from == "noise" then return tensor.rand(shape, { gen = gen, dtype = dtype }) end
  if from == "zeros" then return tensor.zeros(shape, { dtype = dtype }) end
  error("attack.fool: from must be \"noise\" or \"zeros\", got " .. tostring(from), 3)
end

local function confidence(model, x, t)
  return autograd.no_grad(function() return model(x):softmax(2):gather(2, t:view(-1, 1)):view(-1) end)
end

local function gradient(model, o)
  local gen = util.gen(o)
  local t = targets_of(o.target)
  local x = start(t:numel(), o, gen)
  local steps, lr, l2, goal = o.steps or 200, o.lr or 0.05, o.l2 or 1e-4, o.target_conf or 0.9999
  local clip = o.clip == nil and { 0, 1 } or o.clip
  local b1, b2, eps = 0.9, 0.999, 1e-8
  local m, v = tensor.zeros(x:shape(), { dtype = x:dtype() }), tensor.zeros(x:shape(), { dtype = x:dtype() })
  local conf, done = nil, 0
  local function objective(out, xa)
    return -out:log_softmax(2):gather(2, t:view(-1, 1)):sum() + (xa * xa):sum() * l2
  end
  for step = 1, steps do
    local g = util.input_grad(model, x, objective)
    m = m * b1 + g * (1 - b1)
    v = v * b2 + g * g * (1 - b2)
    local mh, vh = m / (1 - b1 ^ step), v / (1 - b2 ^ step)
    x = util.clip(x - mh / (vh:sqrt() + eps) * lr, clip)
    done = step
    conf = confidence(model, x, t)
    if conf:min():item() >= goal then break end
  end
  return { images = x, confidence = conf or confidence(model, x, t), steps = done, target = t }
end

-- Elitist evolution per target: a population of `population` images; each
-- generation mutates randomly chosen members (each pixel with probability
-- rate, by N(0, sigma^2)) and keeps the best `population` of parents and
-- children by p(target | x).
local function evolve(model, o)
  local gen = util.gen(o)
  local t = targets_of(o.target)
  local T, P = t:numel(), o.population or 32
  local clip = o.clip == nil and { 0, 1 } or o.clip
  local rate, sigma = o.rate or 0.1, o.sigma or 0.2
  local goal, steps = o.target_conf or 0.9999, o.steps or 500
  local pop = start(T * P, o, gen)
  local tt = t:view(T, 1):expand(T, P):reshape(-1)
  local fit = confidence(model, pop, tt):view(T, P)
  local offs = (tensor.arange(0, T) * (2 * P)):view(T, 1)
  local done = 0
  for step = 1, steps do
    local pick = tensor.randint(0, P, T, P, { gen = gen }) + (tensor.arange(0, T) * P):view(T, 1) + 1
    local parents = pop:index_select(1, pick:view(-1))
    local mask = tensor.rand(parents:shape(), { gen = gen, dtype = parents:dtype() }):lt(rate):to(parents:dtype())
    local kids = util.clip(parents + mask * tensor.randn(parents:shape(), { gen = gen, dtype = parents:dtype() }) * sigma, clip)
    local kfit = confidence(model, kids, tt):view(T, P)
    -- per target: the population then the children, the best P kept
    local both = tensor.cat({ pop:view(T, P, -1), kids:view(T, P, -1) }, 2)
    local bfit = tensor.cat({ fit, kfit }, 2)
    local best, idx = bfit:topk(P, 2)
    pop = both:view(T * 2 * P, -1):index_select(1, (idx - 1 + offs):view(-1) + 1):view(pop:shape())
    fit = best
    done = step
    if best:select(2, 1):min():item() >= goal then break end
  end
  local shape = pop:shape()
  shape[1] = T
  local first = (tensor.arange(0, T) * P + 1)
  return { images = pop:index_select(1, first):view(shape), confidence = fit:select(2, 1):clone(), steps = done, target = t }
end

-- attack.fool(model, opts) -> {images=, confidence=, steps=, target=}
function M.fool(model, opts)
  opts = opts or {}
  if opts.target == nil then error("attack.fool: target (a class or a list of classes) is required", 2) end
  local method = opts.method or "gradient"
  if method ~= "gradient" and method ~= "evolve" then
    error("attack.fool: method must be \"gradient\" or \"evolve\", got " .. tostring(method), 2)
  end
  return util.in_eval(model, function()
    if method == "evolve" then return evolve(model, opts) end
    return gradient(model, opts)
  end)
end

-- attack.fool_evolve(model, opts): attack.fool with method = "evolve"
function M.fool_evolve(model, opts)
  local o = setmetatable({ method = "evolve" }, { __index = opts or {} })
  return M.fool(model, o)
end

return M
