-- synthetic.lua: data.synthetic (seeded synthetic datasets) and the dataset
-- transforms data.label_noise, data.long_tail and data.split, over the tensor
-- API. Every random draw goes through opts.gen (a tensor.generator; the
-- default generator when absent), so a result is a function of its options
-- and the generator's state. Labels and index tensors are 1-based i64.
local sonde = require "sonde"

local M = {}

local function fail(fn, msg) error(fn .. ": " .. msg, 3) end

local function posint(fn, name, v)
  if math.type(v) ~= "integer" or v < 1 then fail(fn, name .. " must be a positive integer") end
  return v
end

local function labels(fn, y)
  if not tensor.is_tensor(y) or y:dim() ~= 1 then fail(fn, "y must be a 1-d tensor of labels") end
  return y:to("i64")
end

local function num_classes(fn, y, k)
  local top = y:numel() > 0 and y:max():item() or 0
  if y:numel() > 0 and y:min():item() < 1 then fail(fn, "labels must be 1-based (>= 1)") end
  if k == nil then return top end
  posint(fn, "num_classes", k)
  if top > k then fail(fn, string.format("label %d exceeds num_classes=%d", top, k)) end
  return k
end

-- One uniformly random label different from y per entry: y shifted by 1..K-1, wrapping.
local function other_class(y, K, gen)
  if K < 2 then return y:clone() end
  local shift = tensor.randint(1, K, y:numel(), {gen = gen})
  return y:sub(1):add(shift):remainder(K):add(1)
end

-- Positions (1-based) of each class 1..K in y, as Lua lists, in the order of `order`.
local function members(y, K, order)
  local by = {}
  for c = 1, K do by[c] = {} end
  local ys = y:tolist()
  for _, i in ipairs(order) do local l = by[ys[i]]; l[#l + 1] = i end
  return by
end

local function sorted_index(list)
  table.sort(list)
  return tensor.new(list, {dtype = "i64"}):reshape(#list)
end

---------------------------------------------------------------- generators

function M.blobs(opts)
  local fn = "data.synthetic.blobs"
  opts = opts or {}
  local n, gen, std = posint(fn, "n", opts.n), opts.gen, opts.std or 1
  local centers = opts.centers or 3
  if math.type(centers) == "integer" then
    local d = posint(fn, "dim", opts.dim or 2)
    posint(fn, "centers", centers)
    centers = tensor.rand(centers, d, {gen = gen}):mul(20):sub(10)
  elseif tensor.is_tensor(centers) and centers:dim() == 2 then
    centers = centers:to("f32")
    if opts.dim and opts.dim ~= centers:size(2) then
      fail(fn, string.format("dim=%d but centers is %d x %d", opts.dim, centers:size(1), centers:size(2)))
    end
  else
    fail(fn, "centers must be a count or a k x d tensor")
  end
  local k, d = centers:size(1), centers:size(2)
  local y = tensor.randint(1, k + 1, n, {gen = gen})
  local X = centers:index_select(1, y):add(tensor.randn(n, d, {gen = gen}):mul(std))
  return X, y, centers
end
sonde.doc("data.synthetic.blobs", "data.synthetic.blobs{n=, centers=3 | k x d tensor, dim=2, std=1, gen=}",
  "Gaussian blobs: X f32 n x d, y i64 uniform in 1..k, centers (uniform in [-10,10)^d when a count)")

function M.deep_linear(opts)
  local fn = "data.synthetic.deep_linear"
  opts = opts or {}
  local n, gen = posint(fn, "n", opts.n), opts.gen
  local lambda, rho = opts.lambda, opts.rho
  if type(lambda) ~= "table" or #lambda == 0 then fail(fn, "lambda must be a non-empty list of variances") end
  if type(rho) ~= "table" or #rho ~= #lambda then
    fail(fn, string.format("rho must be a list of %d coefficients (one per lambda)", #lambda))
  end
  for i, l in ipairs(lambda) do
    if type(l) ~= "number" or l < 0 then fail(fn, "lambda[" .. i .. "] must be a variance >= 0") end
  end
  local d, noise = #lambda, opts.noise or 0
  local sd = tensor.new(lambda, {dtype = "f32"}):sqrt()
  local X = tensor.randn(n, d, {gen = gen}):mul(sd)
  local y = X:mv(tensor.new(rho, {dtype = "f32"}))
  if noise > 0 then y = y:add(tensor.randn(n, {gen = gen}):mul(noise)) end
  return X, y
end
sonde.doc("data.synthetic.deep_linear", "data.synthetic.deep_linear{n=, lambda={...}, rho={...}, noise=0, gen=}",
  "X f32 n x d with independent columns x_i ~ N(0, lambda_i); y f32 n = sum_i rho_i x_i + noise * N(0, 1)")

-- Fixed class colors (RGB in [0, 1]); beyond ten classes, evenly spaced hues.
local palette10 = {
  {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, 0, 1},
  {0, 1, 1}, {1, 0.5, 0}, {0.5, 0, 1}, {0.5, 1, 0.5}, {1, 1, 1},
}
local function palette(K)
  if K <= #palette10 then return table.move(palette10, 1, K, 1, {}) end
  local p = {}
  for c = 1, K do
    local h = (c - 1) / K * 6
    local x = 1 - math.abs(h % 2 - 1)
    local rgb = ({{1, x, 0}, {x, 1, 0}, {0, 1, x}, {0, x, 1}, {x, 0, 1}, {1, 0, x}})[math.floor(h) + 1]
    p[c] = rgb
  end
  return p
end

function M.colored(opts)
  local fn = "data.synthetic.colored"
  opts = opts or {}
  local X, gen, p = opts.X, opts.gen, opts.p
  if not tensor.is_tensor(X) or X:dim() ~= 4 or X:size(2) ~= 1 then
    fail(fn, "X must be grayscale images N x 1 x H x W")
  end
  local y = labels(fn, opts.y)
  if y:size(1) ~= X:size(1) then
    fail(fn, string.format("X has %d images but y has %d labels", X:size(1), y:size(1)))
  end
  if type(p) ~= "number" or p < 0 or p > 1 then fail(fn, "p must be a probability in [0, 1]") end
  local K = num_classes(fn, y, opts.num_classes)
  local N = X:size(1)
  local agrees = tensor.rand(N, {gen = gen}):lt(p)
  local color = tensor.where(agrees, y, other_class(y, K, gen))
  if K < 2 then agrees = tensor.ones(N, {dtype = "bool"}) end
  local rgb = tensor.new(palette(math.max(K, 1)), {dtype = "f32"}):index_select(1, color)
  local X3 = X:to("f32"):mul(rgb:reshape(N, 3, 1, 1))
  return X3, y, agrees, color
end
sonde.doc("data.synthetic.colored", "data.synthetic.colored{X=, y=, p=, num_classes=max(y), gen=}",
  "spurious color: X3 N x 3 x H x W = X tinted with class color(y) w.p. p else another class's; returns X3, y, agrees (bool), color")

function M.textures(opts)
  local fn = "data.synthetic.textures"
  opts = opts or {}
  local n, gen = posint(fn, "n", opts.n), opts.gen
  local S = posint(fn, "size", opts.size or 32)
  local rate, noise = opts.defect_rate or 0.1, opts.noise or 0.05
  local period = opts.period or 8
  if type(rate) ~= "number" or rate < 0 or rate > 1 then fail(fn, "defect_rate must be in [0, 1]") end
  -- the texture: two sinusoids along rows and columns, each with a random phase
  local coord = tensor.arange(0, S):to("f32")
  local rows, cols = coord:reshape(1, 1, S, 1), coord:reshape(1, 1, 1, S)
  local w = 2 * math.pi / period
  local phr = tensor.rand(n, 1, 1, 1, {gen = gen}):mul(2 * math.pi)
  local phc = tensor.rand(n, 1, 1, 1, {gen = gen}):mul(2 * math.pi)
  local X = rows:mul(w):add(phr):sin():add(cols:mul(w):add(phc):sin()):mul(0.2):add(0.5)
  X = X:add(tensor.randn(n, 1, S, S, {gen = gen}):mul(noise))
  -- defects: a disk (bright) or a scratch (dark), each through a whole pixel centre
  local defective = tensor.rand(n, {gen = gen}):lt(rate)
  local scratch = tensor.rand(n, 1, 1, 1, {gen = gen}):lt(0.5)
  local cr = tensor.randint(0, S, n, 1, 1, 1, {gen = gen}):to("f32")
  local cc = tensor.randint(0, S, n, 1, 1, 1, {gen = gen}):to("f32")
  local radius = tensor.rand(n, 1, 1, 1, {gen = gen}):mul(S / 8):add(1.5)
  local angle = tensor.rand(n, 1, 1, 1, {gen = gen}):mul(math.pi)
  local dr, dc = rows:sub(cr), cols:sub(cc)
  local disk = dr:square():add(dc:square()):le(radius:square())
  local along = dc:mul(angle:cos()):add(dr:mul(angle:sin())):abs()
  local across = dc:mul(angle:sin()):sub(dr:mul(angle:cos())):abs()
  local line = across:le(0.75):logical_and(along:le(radius:mul(3)))
  local mask = tensor.where(scratch, line, disk):logical_and(defective:reshape(n, 1, 1, 1))
  X = tensor.where(mask, tensor.where(scratch, 0.0, 1.0), X):clamp(0, 1)
  local y = defective:to("i64"):add(1)
  return X, mask, y
end
sonde.doc("data.synthetic.textures", "data.synthetic.textures{n=, size=32, defect_rate=0.1, noise=0.05, period=8, gen=}",
  "periodic textures X f32 n x 1 x S x S in [0,1] with random phase; defects (disk or scratch) w.p. defect_rate; returns X, mask (bool, non-empty iff defective), y (1 normal, 2 defective)")

function M.drift(opts)
  local fn = "data.synthetic.drift"
  opts = opts or {}
  local n, gen = posint(fn, "n", opts.n), opts.gen
  local d = posint(fn, "d", opts.d or 2)
  local shift = opts.shift or 1
  if type(shift) == "table" then
    if #shift ~= d then fail(fn, string.format("shift has %d entries but d=%d", #shift, d)) end
    shift = tensor.new(shift, {dtype = "f32"})
  elseif type(shift) ~= "number" then
    fail(fn, "shift must be a number or a list of d numbers")
  end
  local t = n > 1 and tensor.linspace(0, 1, n) or tensor.zeros(n)
  local mean = t:reshape(n, 1):mul(tensor.is_tensor(shift) and shift:reshape(1, d) or shift)
  local X = tensor.randn(n, d, {gen = gen}):add(mean)
  local w = tensor.randn(d, {gen = gen})
  local y = X:sub(mean):mv(w):gt(0):to("i64"):add(1)
  return X, y, t
end
sonde.doc("data.synthetic.drift", "data.synthetic.drift{n=, d=2, shift=1 | {d numbers}, gen=}",
  "X f32 n x d ~ N(shift * t, I) at times t f32 = 0..1 (n steps); y = 1 + [(x - shift * t) . w > 0] for a random w; returns X, y, t")

---------------------------------------------------------------- transforms

function M.label_noise(y, opts)
  local fn = "data.label_noise"
  y = labels(fn, y)
  opts = opts or {}
  local rate, kind, gen = opts.rate, opts.kind or "symmetric", opts.gen
  if type(rate) ~= "number" or rate < 0 or rate > 1 then fail(fn, "rate must be in [0, 1]") end
  local K = num_classes(fn, y, opts.num_classes)
  local n = y:size(1)
  local flipped = tensor.rand(n, {gen = gen}):lt(rate)
  local other
  if kind == "symmetric" then other = other_class(y, K, gen)
  elseif kind == "pair" then other = y:remainder(K):add(1)
  else fail(fn, "kind must be 'symmetric' or 'pair', got " .. tostring(kind)) end
  if K < 2 then flipped = tensor.zeros(n, {dtype = "bool"}) end
  return tensor.where(flipped, other, y), flipped
end
sonde.doc("data.label_noise", "data.label_noise(y, {rate=, kind='symmetric'|'pair', num_classes=max(y), gen=})",
  "each label flips w.p. rate (symmetric: to a uniform other class; pair: c -> c+1, K -> 1); returns noisy y, flipped (bool)")

function M.long_tail(X, y, opts)
  local fn = "data.long_tail"
  y = labels(fn, y)
  opts = opts or {}
  if not tensor.is_tensor(X) or X:dim() == 0 or X:size(1) ~= y:size(1) then
    fail(fn, "X must be a tensor with one row per label")
  end
  local imbalance = opts.imbalance
  if type(imbalance) ~= "number" or imbalance < 1 then fail(fn, "imbalance must be a number >= 1") end
  local C = num_classes(fn, y, opts.num_classes)
  local by = members(y, C, tensor.randperm(y:size(1), {gen = opts.gen}):tolist())
  local nmax = math.huge
  for c = 1, C do nmax = math.min(nmax, #by[c]) end
  local keep = {}
  for c = 1, C do
    local nc = C > 1 and math.floor(nmax * imbalance ^ (-(c - 1) / (C - 1)) + 1e-9) or nmax
    table.move(by[c], 1, nc, #keep + 1, keep)
  end
  local idx = sorted_index(keep)
  return X:index_select(1, idx), y:index_select(1, idx), idx
end
sonde.doc("data.long_tail", "data.long_tail(X, y, {imbalance=, num_classes=max(y), gen=})",
  "keep floor(n_max * imbalance^(-(c-1)/(C-1))) random rows of class c (n_max = smallest class count); returns X, y, kept indices")

local function train_fraction(fn, ratio)
  ratio = ratio or 0.8
  if type(ratio) ~= "number" or ratio < 0 or ratio > 1 then fail(fn, "ratio (the train fraction) must be in [0, 1]") end
  return ratio
end

function M.split(n_or_y, opts)
  local fn = "data.split"
  opts = opts or {}
  local kind, gen = opts.kind or "random", opts.gen
  local y, n
  if tensor.is_tensor(n_or_y) then
    if n_or_y:dim() ~= 1 then fail(fn, "expected a count or a 1-d tensor") end
    y, n = n_or_y, n_or_y:size(1)
  elseif math.type(n_or_y) == "integer" and n_or_y >= 0 then
    n = n_or_y
  else
    fail(fn, "expected a count or a 1-d tensor")
  end
  if kind == "kfold" then
    local k = posint(fn, "k", opts.k or 5)
    if k > n then fail(fn, string.format("k=%d folds but only %d samples", k, n)) end
    local perm = tensor.randperm(n, {gen = gen}):tolist()
    local folds, start = {}, 1
    for f = 1, k do
      local size = n // k + (f <= n % k and 1 or 0)
      local test, train = {}, {}
      for i = 1, n do
        if i >= start and i < start + size then test[#test + 1] = perm[i] else train[#train + 1] = perm[i] end
      end
      folds[f] = {train = sorted_index(train), test = sorted_index(test)}
      start = start + size
    end
    return folds
  end
  local ratio = train_fraction(fn, opts.ratio)
  local train, test = {}, {}
  local function take(list)
    local m = math.floor(ratio * #list + 0.5)
    for i, v in ipairs(list) do if i <= m then train[#train + 1] = v else test[#test + 1] = v end end
  end
  if kind == "random" then
    take(tensor.randperm(n, {gen = gen}):tolist())
  elseif kind == "stratified" then
    if not y then fail(fn, "kind='stratified' needs the labels y") end
    y = labels(fn, y)
    local by = members(y, num_classes(fn, y), tensor.randperm(n, {gen = gen}):tolist())
    for _, list in ipairs(by) do take(list) end
  elseif kind == "time" then
    -- earliest first: by the values of the tensor (e.g. times), else by position
    take(y and y:argsort():tolist() or tensor.arange(1, n + 1):tolist())
    return sorted_index(train), sorted_index(test)
  else
    fail(fn, "kind must be 'random', 'stratified', 'kfold' or 'time', got " .. tostring(kind))
  end
  return sorted_index(train), sorted_index(test)
end
sonde.doc("data.split", "data.split(n | y, {kind='random'|'stratified'|'kfold'|'time', ratio=0.8, k=5, gen=})",
  "sorted 1-based i64 index tensors train, test (ratio = train fraction; stratified per class of y; time: earliest by y's values or position); kfold: k tables {train=, test=}")

return M
