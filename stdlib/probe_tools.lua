-- probe_tools.lua: part of the `probe` module (see probe.lua): what to do
-- with probes beyond fitting one. mil (a multiple-instance probe in the
-- spirit of sAwMIL), conformal (split-conformal prediction sets, with the
-- true / false / neither reading of a binary probe), layers (k-fold accuracy
-- of a probe on each layer, and plot_layers), stability (refit after a
-- label change: flips and the angle between the two boundaries) and
-- rank_features (mutual information, OutRank's cardinality-corrected form,
-- permutation importance).
--
-- A probe is named by a string (a fitting function of the probe module,
-- "logistic" by default) or given as a function (X, y, opts) -> fitted
-- object; fitted objects answer :predict, :predict_proba, :score and
-- :direction, and carry .classes (the label of each probability column).
local sonde = require "sonde"

local M = {}

local function argerr(fn, n, msg) error(string.format("bad argument #%d to '%s' (%s)", n, fn, msg), 3) end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function matrix(fn, n, X, name)
  if not tensor.is_tensor(X) then argerr(fn, n, name .. " must be a tensor") end
  if X:dim() ~= 2 then argerr(fn, n, string.format("%s must be [n, d], got %s", name, shape_str(X))) end
  return X
end

local function labels(fn, n, y, len, name)
  if type(y) == "table" and not tensor.is_tensor(y) then y = tensor.new(y) end
  if not tensor.is_tensor(y) or y:dim() ~= 1 or y:size(1) ~= len then
    argerr(fn, n, string.format("%s must be 1-d with %d entries", name, len))
  end
  return y:to("i64")
end

local function gen_of(opts, stream)
  if opts.gen then return opts.gen end
  return tensor.generator(opts.seed or 0, stream or 0)
end

-- a function (X, y) -> fitted probe from opts.probe and opts.probe_opts
local function fitter(fn, opts)
  local p, po = opts.probe or "logistic", opts.probe_opts or {}
  if type(p) == "function" then return function(X, y) return p(X, y, po) end end
  if type(p) ~= "string" then argerr(fn, 3, "probe must be the name of a probe or a function (X, y, opts)") end
  return function(X, y)
    local f = require("probe")[p]
    if type(f) ~= "function" then error(string.format("%s: no probe named '%s'", fn, p), 3) end
    return f(X, y, po)
  end
end

local function score_of(fitted, X, y)
  if fitted.score then return fitted:score(X, y) end
  return require("metrics").accuracy(fitted:predict(X), y)
end

local function list_of(v)
  if v == nil then return nil end
  if tensor.is_tensor(v) then return v:tolist() end
  return v
end

-- ---------------------------------------------------------------------------
-- probe.mil: multiple-instance probe
-- ---------------------------------------------------------------------------

-- bag b holds instance rows first[b] .. last[b]
local function bag_ranges(fn, X, offsets, B)
  if type(offsets) == "table" and not tensor.is_tensor(offsets) then offsets = tensor.new(offsets) end
  if not tensor.is_tensor(offsets) or offsets:dim() ~= 1 then argerr(fn, 1, "offsets must be a 1-d tensor or a table") end
  local o = offsets:to("i64"):tolist()
  local N = X:size(1)
  if #o == B then o[B + 1] = N + 1 end
  if #o ~= B + 1 then
    argerr(fn, 1, string.format("%d offsets for %d bags (want %d starts, or %d with the end N+1)", #o, B, B, B + 1))
  end
  if o[1] ~= 1 or o[B + 1] ~= N + 1 then
    argerr(fn, 1, string.format("offsets must start at 1 and end at N+1 = %d", N + 1))
  end
  local first, last = {}, {}
  for b = 1, B do
    if o[b + 1] <= o[b] then argerr(fn, 1, string.format("bag %d is empty or offsets decrease", b)) end
    first[b], last[b] = o[b], o[b + 1] - 1
  end
  return first, last
end

local function unpack_bags(fn, bags, nbags)
  if type(bags) ~= "table" or tensor.is_tensor(bags) then
    argerr(fn, 1, "bags must be a table {X, offsets} (instances [N,d] and 1-based bag starts)")
  end
  local X = matrix(fn, 1, bags.X or bags.instances or bags[1], "bags.X")
  local offsets = bags.offsets or bags[2]
  if nbags == nil then
    if tensor.is_tensor(offsets) then nbags = offsets:numel() else nbags = #offsets end
    local last = tensor.is_tensor(offsets) and offsets[nbags]:item() or offsets[nbags]
    if last == X:size(1) + 1 then nbags = nbags - 1 end
  end
  local first, last = bag_ranges(fn, X, offsets, nbags)
  return X, first, last
end

-- minimise l2/2 |w|^2 + sum_i c_i softplus(m_i - t_i (x_i.w + b)) by L-BFGS
-- (t = +-1 targets, m margins, c weights); returns w [d], b
local function fit_linear(X, t, m, c, l2, max_iter)
  local d = X:size(2)
  local theta = tensor.zeros(d + 1, { dtype = "f64" }):requires_grad()
  local opt = optim.LBFGS({ theta }, { max_iter = max_iter, history_size = 20, line_search_fn = "strong_wolfe" })
  opt:step(function()
    local th = theta:detach()
    local w, b = th:narrow(1, 1, d), th[d + 1]:item()
    local z = X:mv(w) + b
    local u = m - t * z
    local f = (c * u:softplus()):sum():item() + l2 / 2 * w:dot(w):item()
    local g = -(c * t * u:sigmoid())                    -- d loss / d z
    local gw = X:t():mv(g) + w * l2
    theta.grad = tensor.cat({ gw, g:sum():view(1) })
    return f
  end)
  local th = theta:detach()
  return th:narrow(1, 1, d):clone(), th[d + 1]:item()
end

local Mil = {}
Mil.__index = Mil

function Mil:score_instances(X)
  X = matrix("mil:score_instances", 1, X, "X"):to("f64")
  return ((X - self.mean) / self.scale):mv(self.w) + self.b
end

function Mil:decision_function(bags)
  local X, first, last = unpack_bags("mil:decision_function", bags)
  local s = self:score_instances(X):tolist()
  local out = {}
  for b = 1, #first do
    local v = -math.huge
    for i = first[b], last[b] do v = math.max(v, s[i]) end
    out[b] = v
  end
  return tensor.new(out, { dtype = "f64" })
end

function Mil:predict_proba(bags) return self:decision_function(bags):sigmoid() end
function Mil:predict(bags) return self:decision_function(bags):ge(0):to("i64") end
function Mil:score(bags, y)
  local p = self:predict(bags)
  return p:eq(labels("mil:score", 2, y, p:numel(), "labels")):to("f64"):mean():item()
end
function Mil:direction()
  local v = self.coef
  return v / v:norm():item()
end

function M.mil(bags, y, opts)
  opts = opts or {}
  local fn = "mil"
  if not tensor.is_tensor(y) and type(y) ~= "table" then argerr(fn, 2, "labels must be a tensor or a table") end
  local B = tensor.is_tensor(y) and y:numel() or #y
  local X, first, last = unpack_bags(fn, bags, B)
  y = labels(fn, 2, y, B, "labels"):tolist()
  local N, d = X:size(1), X:size(2)
  local eta, min_pos = opts.eta or 0.1, opts.min_pos_ratio or 0.05
  local l2, max_iter = opts.l2 or 1e-2, opts.max_iter or 200
  local mask = opts.mask and opts.mask:to("bool"):tolist()
  -- standardise the instances (undone in coef / intercept)
  local Xf = X:to("f64")
  local mean = Xf:mean(1)
  local scale = Xf:std(1, false, { correction = 0 })
  scale = tensor.where(scale:gt(1e-12), scale, 1)
  local Z = (Xf - mean) / scale
  -- stage 1, sMIL (Bunescu & Mooney 2007) with a logistic loss: every
  -- instance of a negative bag is a negative with margin 1; each positive
  -- bag's mean instance is a positive with margin (2 - |B|) / |B|
  local neg, pos_bags, pos_inst = {}, {}, {}
  for b = 1, B do
    if y[b] ~= 0 and y[b] ~= 1 then argerr(fn, 2, "bag labels must be 0 or 1") end
    if y[b] == 1 then
      pos_bags[#pos_bags + 1] = b
      for i = first[b], last[b] do pos_inst[#pos_inst + 1] = i end
    else
      for i = first[b], last[b] do neg[#neg + 1] = i end
    end
  end
  if #neg == 0 or #pos_bags == 0 then argerr(fn, 2, "need both positive and negative bags") end
  local means, marg = {}, {}
  for k, b in ipairs(pos_bags) do
    local nb = last[b] - first[b] + 1
    means[k] = Z:narrow(1, first[b], nb):mean(1, true)
    marg[k] = (2 - nb) / nb
  end
  local S_n, B_p = #neg, #pos_bags
  local Zneg = Z:index_select(1, tensor.new(neg))
  local X1 = tensor.cat({ Zneg, tensor.cat(means, 1) }, 1)
  local t1 = tensor.cat({ tensor.full({ S_n }, -1, { dtype = "f64" }), tensor.ones(B_p, { dtype = "f64" }) })
  local m1 = tensor.cat({ tensor.ones(S_n, { dtype = "f64" }), tensor.new(marg, { dtype = "f64" }) })
  local c1 = tensor.cat({ tensor.full({ S_n }, 1 / S_n, { dtype = "f64" }), tensor.full({ B_p }, 1 / B_p, { dtype = "f64" }) })
  local w1, b1 = fit_linear(X1, t1, m1, c1, l2, max_iter)
  -- rank positive bags' instances; the top eta quantile (inside the mask)
  -- become positives, at least min_pos_ratio of them; the rest negatives
  local Zpos = Z:index_select(1, tensor.new(pos_inst))
  local s = (Zpos:mv(w1) + b1):tolist()
  local sorted = {}
  for i = 1, #s do sorted[i] = s[i] end
  table.sort(sorted)
  local h = (#s - 1) * (1 - eta) + 1                 -- numpy's linear quantile
  local lo = math.floor(h)
  local q = sorted[lo] + (h - lo) * ((sorted[math.min(lo + 1, #s)]) - sorted[lo])
  local chosen, nchosen = {}, 0
  for i = 1, #s do
    chosen[i] = s[i] >= q and (not mask or mask[pos_inst[i]])
    if chosen[i] then nchosen = nchosen + 1 end
  end
  local need = math.max(1, math.floor(min_pos * #s))
  if nchosen < need then
    local k = math.min(#s, math.max(need, math.floor(eta * #s + 0.5)))
    local order = {}
    for i = 1, #s do order[i] = i end
    table.sort(order, function(a, b) if s[a] ~= s[b] then return s[a] > s[b] end return a < b end)
    for i = 1, #s do chosen[i] = false end
    for j = 1, k do chosen[order[j]] = true end
    nchosen = k
  end
  -- stage 2: instance-level logistic probe, classes balanced
  local t2 = {}
  for i = 1, #s do t2[i] = chosen[i] and 1 or -1 end
  local npos2 = nchosen
  local nneg2 = S_n + #s - nchosen
  local tt = tensor.cat({ tensor.full({ S_n }, -1, { dtype = "f64" }), tensor.new(t2, { dtype = "f64" }) })
  local c2 = tt:gt(0):to("f64") * (1 / (2 * npos2)) + tt:lt(0):to("f64") * (1 / (2 * nneg2))
  local w2, b2 = fit_linear(tensor.cat({ Zneg, Zpos }, 1), tt, tensor.zeros(tt:numel(), { dtype = "f64" }), c2, l2, max_iter)
  local self = setmetatable({ w = w2, b = b2, mean = mean, scale = scale, cutoff = q, n_selected = nchosen,
                              classes = { 0, 1 } }, Mil)
  self.coef = w2 / scale                               -- in the units of the raw instances
  self.intercept = b2 - self.coef:dot(mean):item()
  self.stage1 = { coef = w1 / scale, intercept = b1 - (w1 / scale):dot(mean):item() }
  return self
end

-- ---------------------------------------------------------------------------
-- probe.conformal: split-conformal prediction sets
-- ---------------------------------------------------------------------------

local Conformal = {}
Conformal.__index = Conformal

-- probabilities [n, K] f64 of a fitted probe (or a function X -> probs)
local function proba(p, X)
  local P = type(p) == "function" and p(X) or p:predict_proba(X)
  if P:dim() == 1 then P = tensor.stack({ 1 - P, P }, 2) end
  return P:to("f64")
end

-- the column of each label, from the probe's classes (or 1..K, 0..K-1)
local function columns(fn, classes, y, K)
  local at = {}
  if classes then
    for j, c in ipairs(classes) do at[c] = j end
  else
    local zero = false
    for i = 1, #y do if y[i] == 0 then zero = true end end
    for j = 1, K do at[zero and j - 1 or j] = j end
  end
  local col = {}
  for i = 1, #y do
    col[i] = at[y[i]]
    if not col[i] then argerr(fn, 3, string.format("label %d is not one of the probe's classes", y[i])) end
  end
  return tensor.new(col, { dtype = "i64" })
end

-- non-conformity of every class: LAC 1 - p_k; APS the probability mass of
-- the classes ranked at or above k (ranked by probability, ties by column),
-- minus U p_k when randomized
local function class_scores(kind, P, U)
  if kind == "lac" then return 1 - P end
  local sp, order = P:sort(2, { descending = true })
  local cum = sp:cumsum(2)
  local S = tensor.zeros(P:size(1), P:size(2), { dtype = "f64" }):scatter(2, order, cum)
  if U then S = S - P * U:view(-1, 1) end
  return S
end

function M.conformal(p, Xcal, ycal, opts)
  opts = opts or {}
  local fn = "conformal"
  if type(p) ~= "function" and (type(p) ~= "table" or not p.predict_proba) then
    argerr(fn, 1, "p must be a fitted probe with :predict_proba or a function X -> probabilities")
  end
  local alpha = opts.alpha or 0.1
  if type(alpha) ~= "number" or alpha <= 0 or alpha >= 1 then argerr(fn, 4, "alpha must be in (0, 1)") end
  local kind = opts.score or "lac"
  if kind ~= "lac" and kind ~= "aps" then argerr(fn, 4, "score must be 'lac' or 'aps', got '" .. tostring(kind) .. "'") end
  local P = proba(p, Xcal)
  local n, K = P:size(1), P:size(2)
  local y = labels(fn, 3, ycal, n, "ycal"):tolist()
  local classes = list_of(opts.classes or (type(p) == "table" and p.classes))
  local col = columns(fn, classes, y, K)
  local self = setmetatable({ p = p, alpha = alpha, score = kind, randomized = opts.randomized or false,
                              gen = opts.randomized and gen_of(opts, 1) or nil, n = n, K = K }, Conformal)
  self.classes = classes or {}
  if not classes then
    local zero = false
    for i = 1, #y do if y[i] == 0 then zero = true end end
    for j = 1, K do self.classes[j] = zero and j - 1 or j end
  end
  local U = self.randomized and tensor.rand(n, { dtype = "f64", gen = self.gen }) or nil
  local s = class_scores(kind, P, U):gather(2, col:view(n, 1)):view(n)
  -- q = the ceil((n+1)(1-alpha))-th smallest score (+inf when that exceeds n);
  -- the 1e-9 keeps (n+1)(1-alpha) = 90.00000000000001 at 90
  local k = math.ceil((n + 1) * (1 - alpha) - 1e-9)
  self.k = k
  if k > n then
    self.qhat = math.huge
  else
    self.qhat = s:sort()[k]:item()
  end
  return self
end

function Conformal:predict_set(X)
  local P = proba(self.p, X)
  if P:size(2) ~= self.K then
    error(string.format("conformal:predict_set: the probe gives %d classes, calibrated with %d", P:size(2), self.K), 2)
  end
  local U = self.randomized and tensor.rand(P:size(1), { dtype = "f64", gen = self.gen }) or nil
  local sets = class_scores(self.score, P, U):le(self.qhat)
  return sets, sets:sum(2)
end

function Conformal:coverage(X, y)
  local sets, sizes = self:predict_set(X)
  local n = sets:size(1)
  local col = columns("conformal:coverage", self.classes, labels("conformal:coverage", 2, y, n, "y"):tolist(), self.K)
  local hit = sets:gather(2, col:view(n, 1)):view(n)
  return {
    coverage = hit:to("f64"):mean():item(), size = sizes:to("f64"):mean():item(),
    singleton = sizes:eq(1):to("f64"):mean():item(), empty = sizes:eq(0):to("f64"):mean():item(),
  }
end

function Conformal:three_way(X, opts)
  opts = opts or {}
  if self.K ~= 2 then error("conformal:three_way: needs a binary probe, this one has " .. self.K .. " classes", 2) end
  local t = opts.true_class or self.classes[2]
  local jt = self.classes[1] == t and 1 or 2
  local sets = self:predict_set(X)
  local it, ifa = sets:select(2, jt):tolist(), sets:select(2, 3 - jt):tolist()
  local out, counts = {}, { ["true"] = 0, ["false"] = 0, neither = 0 }
  for i = 1, #it do
    local v = (it[i] and not ifa[i]) and "true" or (ifa[i] and not it[i]) and "false" or "neither"
    out[i] = v
    counts[v] = counts[v] + 1
  end
  return out, counts
end

-- ---------------------------------------------------------------------------
-- probe.layers: k-fold accuracy of a probe on each layer
-- ---------------------------------------------------------------------------

-- layer names in order: 1..n for a list; sorted keys for a map (numbers
-- first, numerically), tensors only
local function layer_order(feats)
  local names = {}
  if #feats > 0 then
    for i = 1, #feats do names[i] = i end
    return names
  end
  for k, v in pairs(feats) do if tensor.is_tensor(v) then names[#names + 1] = k end end
  table.sort(names, function(a, b)
    local na, nb = tonumber(a), tonumber(b)
    if na and nb then return na < nb end
    if na or nb then return na ~= nil end
    return tostring(a) < tostring(b)
  end)
  return names
end

function M.layers(features, y, opts)
  opts = opts or {}
  local fn = "layers"
  if type(features) ~= "table" or tensor.is_tensor(features) then
    argerr(fn, 1, "features must be a table of [n, ...] tensors (a list, or names -> tensors as from capture)")
  end
  local names = opts.layers or layer_order(features)
  if #names == 0 then argerr(fn, 1, "no layers") end
  local n = features[names[1]]:size(1)
  y = labels(fn, 2, y, n, "y")
  local k = opts.folds or 5
  if math.type(k) ~= "integer" or k < 2 or k > n then argerr(fn, 3, "folds must be an integer in 2..n") end
  local folds = data.split(n, { kind = "kfold", k = k, gen = gen_of(opts) })
  local fit = fitter(fn, opts)
  local out = {}
  for li, name in ipairs(names) do
    local X = features[name]
    if not tensor.is_tensor(X) or X:size(1) ~= n then
      argerr(fn, 1, string.format("layer %s must be a tensor with %d rows", tostring(name), n))
    end
    if X:dim() > 2 then X = X:flatten(2) end
    local scores, sum = {}, 0
    for f = 1, k do
      local tr, te = folds[f].train, folds[f].test
      local p = fit(X:index_select(1, tr), y:index_select(1, tr))
      scores[f] = score_of(p, X:index_select(1, te), y:index_select(1, te))
      sum = sum + scores[f]
    end
    local mean, var = sum / k, 0
    for f = 1, k do var = var + (scores[f] - mean) ^ 2 / k end
    out[li] = { layer = name, mean = mean, std = math.sqrt(var), scores = scores }
    if opts.log then opts.log(out[li]) end
  end
  return out
end

function M.plot_layers(result, opts)
  opts = opts or {}
  local fig = plot.figure { title = opts.title or "probe accuracy per layer", xlabel = opts.xlabel or "layer",
                            ylabel = opts.ylabel or "accuracy (k-fold mean ± std)", width = opts.width,
                            height = opts.height, ylim = opts.ylim }
  local x, m = {}, {}
  for i, r in ipairs(result) do x[i], m[i] = i, r.mean end
  local color = opts.color or plot.colors[1]
  -- error bars: a vertical segment with caps at each layer
  for i, r in ipairs(result) do
    local lo, hi = r.mean - r.std, r.mean + r.std
    fig:line({ i, i }, { lo, hi }, { color = color, linewidth = 1.5 })
    fig:line({ i - 0.08, i + 0.08 }, { lo, lo }, { color = color, linewidth = 1.5 })
    fig:line({ i - 0.08, i + 0.08 }, { hi, hi }, { color = color, linewidth = 1.5 })
  end
  fig:line(x, m, { label = opts.label or "probe", color = color })
  local names = {}
  for i, r in ipairs(result) do names[i] = tostring(r.layer) end
  fig.xticks = { at = x, labels = names }
  fig.xlim = fig.xlim or { 0.5, #result + 0.5 }
  return fig
end

-- ---------------------------------------------------------------------------
-- probe.stability: refit after a controlled label change
-- ---------------------------------------------------------------------------

local function angle_deg(u, v)
  local c = u:dot(v):item() / (u:norm():item() * v:norm():item())
  return math.deg(math.acos(math.max(-1, math.min(1, c))))
end

function M.stability(X, y, relabel, opts)
  opts = opts or {}
  local fn = "stability"
  X = matrix(fn, 1, X, "X")
  y = labels(fn, 2, y, X:size(1), "y")
  if type(relabel) ~= "function" then argerr(fn, 3, "relabel must be a function (y, gen) -> new labels") end
  local y2 = relabel(y:clone(), gen_of(opts, 2))
  y2 = labels(fn, 3, y2, X:size(1), "the relabelled y")
  local fit = fitter(fn, opts)
  local p0, p1 = fit(X, y), fit(X, y2)
  local Xe = opts.X_eval or X
  local a, b = p0:predict(Xe):to("i64"), p1:predict(Xe):to("i64")
  local flip = a:ne(b)
  local out = {
    flip_rate = flip:to("f64"):mean():item(), flips = flip:sum():item(),
    relabelled = y:ne(y2):to("f64"):mean():item(), before = p0, after = p1, pred_before = a, pred_after = b,
    to_pos = a:eq(0):logical_and(b:eq(1)):to("f64"):mean():item(),
    to_neg = a:eq(1):logical_and(b:eq(0)):to("f64"):mean():item(),
  }
  if p0.direction and p1.direction then
    local d0, d1 = p0:direction():to("f64"), p1:direction():to("f64")
    if d0:dim() == 1 then
      out.angle = angle_deg(d0, d1)
    elseif d0:size(1) == d1:size(1) then
      local s = 0
      for r = 1, d0:size(1) do s = s + angle_deg(d0:select(1, r), d1:select(1, r)) end
      out.angle = s / d0:size(1)          -- the mean over the classes' directions
    end
  end
  return out
end

-- ---------------------------------------------------------------------------
-- probe.rank_features
-- ---------------------------------------------------------------------------

-- codes 1..K of the values of a 1-d tensor
local function codes(v)
  local _, inv = v:contiguous():unique { return_inverse = true }
  return inv:tolist()
end

-- plug-in mutual information of two code lists, in nats
local function mutual_info(a, b)
  local n = #a
  local na, nb, nab = {}, {}, {}
  for i = 1, n do
    local x, z = a[i], b[i]
    na[x], nb[z] = (na[x] or 0) + 1, (nb[z] or 0) + 1
    local row = nab[x]
    if not row then row = {}; nab[x] = row end
    row[z] = (row[z] or 0) + 1
  end
  local mi = 0
  for x = 1, #na do
    local row = nab[x]
    for z, c in pairs(row) do mi = mi + c / n * math.log(n * c / (na[x] * nb[z])) end
  end
  return mi
end

-- OutRank's cardinality-corrected MI (MI-numba-randomized): for each value
-- v of the feature seen c_v > 1 times, the conditional entropy of y among its
-- rows, minus the same for y rolled by c_v positions (a background of equal
-- cardinality): sum_v (c_v/n) [H(roll(y, c_v) | v) - H(y | v)]
local function mi_cardinality(a, y)
  local n = #a
  local rows = {}
  for i = 1, n do
    local r = rows[a[i]]
    if not r then r = {}; rows[a[i]] = r end
    r[#r + 1] = i
  end
  local function H(list, lab, c)
    local cnt, h = {}, 0
    for _, i in ipairs(list) do local z = lab(i) cnt[z] = (cnt[z] or 0) + 1 end
    for _, k in pairs(cnt) do h = h - k / c * math.log(k / c) end
    return h
  end
  local score = 0
  for v = 1, #rows do
    local r = rows[v]
    local c = #r
    if c > 1 then
      local hy = H(r, function(i) return y[i] end, c)
      local hb = H(r, function(i) return y[(i - 1 - c) % n + 1] end, c)
      score = score + c / n * (hb - hy)
    end
  end
  return score
end

function M.rank_features(X, y, opts)
  opts = opts or {}
  local fn = "rank_features"
  X = matrix(fn, 1, X, "X")
  local n, d = X:size(1), X:size(2)
  local method = opts.method or "mi"
  local scores, spread = {}, nil
  if method == "mi" or method == "mi_cardinality" then
    local yc = codes(labels(fn, 2, y, n, "y"))
    for j = 1, d do
      local a = codes(X:select(2, j))
      scores[j] = method == "mi" and mutual_info(a, yc) or mi_cardinality(a, yc)
    end
  elseif method == "permutation" then
    y = labels(fn, 2, y, n, "y")
    local p = opts.fitted or fitter(fn, opts)(X, y)
    local Xe, ye = opts.X_eval or X, opts.y_eval or y
    local base = score_of(p, Xe, ye)
    local reps, g = opts.n_repeats or 5, gen_of(opts, 3)
    spread = {}
    for j = 1, d do
      local drops = {}
      for r = 1, reps do
        local Xp = Xe:clone()
        local col = Xe:select(2, j)
        Xp:select(2, j):copy_(col:index_select(1, tensor.randperm(Xe:size(1), { gen = g })))
        drops[r] = base - score_of(p, Xp, ye)
      end
      local m, v = 0, 0
      for r = 1, reps do m = m + drops[r] / reps end
      for r = 1, reps do v = v + (drops[r] - m) ^ 2 / reps end
      scores[j], spread[j] = m, math.sqrt(v)
    end
  else
    argerr(fn, 3, "method must be 'mi', 'mi_cardinality' or 'permutation', got '" .. tostring(method) .. "'")
  end
  local order = {}
  for j = 1, d do order[j] = j end
  table.sort(order, function(a, b) if scores[a] ~= scores[b] then return scores[a] > scores[b] end return a < b end)
  return tensor.new(scores, { dtype = "f64" }), tensor.new(order, { dtype = "i64" }),
         spread and tensor.new(spread, { dtype = "f64" }) or nil
end

for _, d in ipairs {
  { "mil", "probe.mil({X, offsets}, labels, {eta=0.1, min_pos_ratio=0.05, l2=1e-2, mask=, max_iter=200})",
    "multiple-instance probe in the spirit of sAwMIL: sMIL stage (logistic loss) ranks positive bags' instances, the top eta become positives of an instance probe; a bag scores the max of its instances" },
  { "conformal", "probe.conformal(p, Xcal, ycal, {alpha=0.1, score='lac'|'aps', randomized=false, seed=})",
    "split-conformal sets with coverage >= 1 - alpha: threshold = the ceil((n+1)(1-alpha))-th smallest calibration score; :predict_set, :coverage, :three_way" },
  { "layers", "probe.layers(features_by_layer, y, {folds=5, probe='logistic', probe_opts=, seed=0})",
    "k-fold CV accuracy of a probe on each layer (same folds for all): a list of {layer, mean, std (ddof 0), scores}" },
  { "plot_layers", "probe.plot_layers(result, {title=, label=, color=})", "a figure of probe.layers' mean accuracy per layer with ± std error bars" },
  { "stability", "probe.stability(X, y, relabel(y, gen), {probe='logistic', probe_opts=, X_eval=X, seed=0})",
    "refit after relabel changes the labels: {flip_rate, flips, to_pos, to_neg, relabelled, angle (degrees between directions), before, after}" },
  { "rank_features", "probe.rank_features(X, y, {method='mi'|'mi_cardinality'|'permutation', probe=, fitted=, n_repeats=5, seed=0})",
    "feature scores (nats for MI; OutRank's cardinality-corrected MI; mean accuracy drop when permuted) and the order, best first (ties: lower index)" },
} do sonde.doc("probe." .. d[1], d[2], d[3]) end
for _, d in ipairs {
  { "Mil:decision_function", "m:decision_function({X, offsets})", "each bag's score: the max of its instances' scores" },
  { "Mil:predict", "m:predict({X, offsets})", "1 for bags scoring >= 0, else 0" },
  { "Mil:score_instances", "m:score_instances(X)", "the instance probe's score of each row" },
  { "Conformal:predict_set", "cp:predict_set(X)", "the prediction sets (bool [n,K], column j = cp.classes[j]) and their sizes" },
  { "Conformal:coverage", "cp:coverage(X, y)", "{coverage, size, singleton, empty}: the share of y in its set, mean set size, ..." },
  { "Conformal:three_way", "cp:three_way(X, {true_class=classes[2]})",
    "for a binary probe: 'true' / 'false' when the set is that class alone, 'neither' when it holds both or none; and the counts" },
} do sonde.doc(d[1], d[2], d[3]) end

return M
