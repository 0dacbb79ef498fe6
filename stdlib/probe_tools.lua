-- probe_tools.lua: part of the `probe` module (see probe.lua): what to do
-- with probes beyond fitting one. svm and mil (the SVM and the
-- multiple-instance SVMs of the sawmil package: instance SVM, NSK, sMIL,
-- sAwMIL, on sonde's own SMO solver), conformal (split-conformal
-- prediction sets, with the true / false / neither reading of a binary
-- probe), layers (k-fold accuracy
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
-- probe.svm and probe.mil: SVMs solved by the SMO of runtime/ml/svm.c
-- (probe.kernels.svm_fit), and the multiple-instance SVMs of the sawmil
-- package (Savcisens & Eliassi-Rad 2025): instance SVM, NSK, sMIL, sAwMIL.
-- ---------------------------------------------------------------------------

local K = require "probe.kernels"

local function rbf(A, B, gamma) return (tensor.cdist(A, B, { squared = true }) * -gamma):exp() end

-- solver options from opts; gamma "scale" is scikit-learn's 1 / (d Var(X))
local function kernel_opts(fn, opts, X)
  local kernel = opts.kernel or "linear"
  if kernel ~= "linear" and kernel ~= "rbf" then
    argerr(fn, 3, "kernel must be 'linear' or 'rbf', got '" .. tostring(kernel) .. "'")
  end
  local gamma = opts.gamma or "scale"
  if gamma == "scale" then
    local v = X:var({ correction = 0 }):item()
    gamma = v > 0 and 1 / (X:size(2) * v) or 1
  elseif type(gamma) ~= "number" or gamma <= 0 then
    argerr(fn, 3, "gamma must be a number > 0 or 'scale'")
  end
  local C = opts.C or 1.0
  if type(C) ~= "number" or C <= 0 then argerr(fn, 3, "C must be a number > 0") end
  return { kernel = kernel, gamma = gamma, C = C, eps = opts.tol or 1e-3, max_iter = opts.max_iter, cache_mb = opts.cache_mb,
           shrinking = opts.shrinking }
end

-- an instance scorer f(x) = w.x + b (linear) or sum_u c_u k(x, u) + b (rbf)
local function raw_scores(m, X)
  if m.coef then return X:mv(m.coef) + m.intercept end
  return rbf(X, m.U, m.gamma):mv(m.dual) + m.intercept
end

local function scorer(ko, w, b, alpha, info, Xi, c)
  local m = { kernel = ko.kernel, gamma = ko.kernel == "rbf" and ko.gamma or nil, intercept = b, alpha = alpha,
              n_iter = info.n_iter, converged = info.converged, objective = info.obj, n_sv = info.n_sv }
  if w then m.coef = w
  else
    local nz = c:ne(0):nonzero():view(-1)
    m.U, m.dual = Xi:index_select(1, nz), c:index_select(1, nz)
  end
  return m
end

-- the SVM on the rows of X (f64) with targets t (+-1), boxes C, margins p
local function svm_rows(X, t, C, p, ko)
  local alpha, w, info = K.svm_fit(X, t, C, p, ko)
  return scorer(ko, w, info.b, alpha, info, X, alpha * t)
end

-- the SVM on points that are means of instance rows: point pt[i] holds row
-- i of Xi. The linear kernel of two means is the mean of the instances'
-- kernels, so the rbf case uses that (the mean-embedding kernel S K S').
local function svm_means(Xi, pt, npts, t, C, p, ko)
  local N = Xi:size(1)
  local count = tensor.zeros(npts, { dtype = "f64" }):index_add(1, pt, tensor.ones(N, { dtype = "f64" }))
  if ko.kernel == "linear" then
    local P = tensor.zeros(npts, Xi:size(2), { dtype = "f64" }):index_add(1, pt, Xi) / count:view(-1, 1)
    return svm_rows(P, t, C, p, ko)
  end
  local S = tensor.one_hot(pt, npts, { dtype = "f64" }):t() / count:view(-1, 1)   -- [npts, N]
  local G = S:matmul(rbf(Xi, Xi, ko.gamma)):matmul(S:t()):contiguous()
  local alpha, _, info = K.svm_fit(G, t, C, p, { kernel = "precomputed", eps = ko.eps, max_iter = ko.max_iter, cache_mb = ko.cache_mb, shrinking = ko.shrinking })
  return scorer(ko, nil, info.b, alpha, info, Xi, S:t():mv(alpha * t))
end

local Svm = {}
Svm.__index = Svm

function Svm:decision_function(X)
  return raw_scores(self, matrix("svm:decision_function", 1, X, "X"):to("f64"))
end
function Svm:predict(X)
  local s = self:decision_function(X)
  return tensor.where(s:ge(0), self.classes[2], self.classes[1]):to("i64")
end
function Svm:score(X, y)
  local p = self:predict(X)
  return p:eq(labels("svm:score", 2, y, p:numel(), "labels")):to("f64"):mean():item()
end
local function direction(self, fn)
  if not self.coef then error(fn .. ": a direction needs kernel='linear'", 2) end
  return self.coef / self.coef:norm():item()
end
function Svm:direction() return direction(self, "svm:direction") end

function M.svm(X, y, opts)
  opts = opts or {}
  local fn = "svm"
  X = matrix(fn, 1, X, "X"):to("f64")
  local yl = labels(fn, 2, y, X:size(1), "labels"):tolist()
  local seen, classes = {}, {}
  for _, v in ipairs(yl) do if not seen[v] then seen[v] = true; classes[#classes + 1] = v end end
  if #classes ~= 2 then argerr(fn, 2, string.format("labels must hold exactly 2 classes, got %d", #classes)) end
  table.sort(classes)
  local t = {}
  for i, v in ipairs(yl) do t[i] = v == classes[2] and 1 or -1 end
  local ko = kernel_opts(fn, opts, X)
  local m = svm_rows(X, tensor.new(t, { dtype = "f64" }), ko.C, nil, ko)
  m.classes, m.C = classes, ko.C
  m.support = m.alpha:gt(0):nonzero():view(-1)
  return setmetatable(m, Svm)
end

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

local Mil = {}
Mil.__index = Mil

function Mil:score_instances(X)
  return raw_scores(self, matrix("mil:score_instances", 1, X, "X"):to("f64"))
end

-- a bag's score: the max of its instances' scores (svm, sawmil) or their
-- mean, which is the score of the bag's mean embedding (nsk, smil)
function Mil:decision_function(bags)
  local X, first, last = unpack_bags("mil:decision_function", bags)
  local s = self:score_instances(X):tolist()
  local out = {}
  for b = 1, #first do
    local v = self.aggregate == "max" and -math.huge or 0
    for i = first[b], last[b] do
      if self.aggregate == "max" then v = math.max(v, s[i]) else v = v + s[i] end
    end
    out[b] = self.aggregate == "max" and v or v / (last[b] - first[b] + 1)
  end
  return tensor.new(out, { dtype = "f64" })
end

function Mil:predict_proba(bags) return self:decision_function(bags):sigmoid() end
function Mil:predict(bags) return self:decision_function(bags):ge(0):to("i64") end
function Mil:score(bags, y)
  local p = self:predict(bags)
  return p:eq(labels("mil:score", 2, y, p:numel(), "labels")):to("f64"):mean():item()
end
function Mil:direction() return direction(self, "mil:direction") end

-- numpy's round (half to even)
local function round_even(x)
  local f = math.floor(x)
  if x - f ~= 0.5 then return math.floor(x + 0.5) end
  return f % 2 == 0 and f or f + 1
end

-- sAwMIL's choice of positives among the instances of positive bags: the
-- scores at or above their (1 - eta) quantile (numpy's linear rule) and
-- inside the mask; when fewer than max(1, floor(min_pos_ratio m)), the top
-- min(m, max(that, round(eta m))) by score instead (ties: lower index)
local function select_positives(s, inmask, eta, min_pos)
  local m = #s
  eta = math.min(math.max(eta, 1e-9), 1)
  local sorted = {}
  for i = 1, m do sorted[i] = s[i] end
  table.sort(sorted)
  local h = (m - 1) * (1 - eta) + 1
  local lo = math.floor(h)
  local q = sorted[lo] + (h - lo) * (sorted[math.min(lo + 1, m)] - sorted[lo])
  local chosen, n = {}, 0
  for i = 1, m do
    chosen[i] = s[i] >= q and inmask[i]
    if chosen[i] then n = n + 1 end
  end
  local need = math.max(1, math.floor(min_pos * m))
  if n < need then
    local k = math.min(m, math.max(need, round_even(eta * m)))
    local order = {}
    for i = 1, m do order[i] = i end
    table.sort(order, function(a, b) if s[a] ~= s[b] then return s[a] > s[b] end return a < b end)
    for i = 1, m do chosen[i] = false end
    for j = 1, k do chosen[order[j]] = true end
    n = k
  end
  return chosen, n, q
end

local methods = { sawmil = true, smil = true, nsk = true, svm = true }

function M.mil(bags, y, opts)
  opts = opts or {}
  local fn = "mil"
  if not tensor.is_tensor(y) and type(y) ~= "table" then argerr(fn, 2, "labels must be a tensor or a table") end
  local B = tensor.is_tensor(y) and y:numel() or #y
  local X, first, last = unpack_bags(fn, bags, B)
  y = labels(fn, 2, y, B, "labels"):tolist()
  local method = opts.method or "sawmil"
  if not methods[method] then
    argerr(fn, 3, "method must be 'sawmil', 'smil', 'nsk' or 'svm', got '" .. tostring(method) .. "'")
  end
  local N = X:size(1)
  local mask
  if opts.mask ~= nil then
    if not tensor.is_tensor(opts.mask) or opts.mask:numel() ~= N then
      argerr(fn, 3, string.format("mask must be a tensor of %d entries (one per instance)", N))
    end
    mask = opts.mask:view(-1):to("bool"):tolist()
  end
  local scale_C = opts.scale_C ~= false
  X = X:to("f64")
  local ko = kernel_opts(fn, opts, X)
  local C = ko.C
  -- rows of negative bags, rows of positive bags, the bag of each row
  local neg, pos, bag_of = {}, {}, {}
  local npos_bags = 0
  for b = 1, B do
    if y[b] ~= 0 and y[b] ~= 1 then argerr(fn, 2, "bag labels must be 0 or 1") end
    if y[b] == 1 then npos_bags = npos_bags + 1 end
    for i = first[b], last[b] do
      if y[b] == 1 then pos[#pos + 1] = i else neg[#neg + 1] = i end
      bag_of[i] = b
    end
  end
  if #neg == 0 or npos_bags == 0 then argerr(fn, 2, "need both positive and negative bags") end
  local self = { method = method, classes = { 0, 1 }, C = C, scale_C = scale_C }
  local function f64(list) return tensor.new(list, { dtype = "f64" }) end

  if method == "svm" then
    -- instance SVM: every instance takes its bag's label; box C
    local t = {}
    for i = 1, N do t[i] = y[bag_of[i]] == 1 and 1 or -1 end
    self.fit = svm_rows(X, f64(t), C, nil, ko)
    self.aggregate = "max"
  elseif method == "nsk" then
    -- NSK: an SVM on the bags' mean embeddings; box C / B when scale_C
    local pt, t = {}, {}
    for i = 1, N do pt[i] = bag_of[i] end
    for b = 1, B do t[b] = y[b] == 1 and 1 or -1 end
    self.fit = svm_means(X, tensor.new(pt), B, f64(t), scale_C and C / B or C, nil, ko)
    self.aggregate = "mean"
  else
    -- sMIL (Bunescu & Mooney 2007): each negative instance is a point with
    -- margin 1 and box C / S_n; each positive bag's mean a point with margin
    -- (2 - |B|) / |B| and box C / B_p (scale_C)
    local S_n, B_p = #neg, npos_bags
    local rows, pt, t, p, Cv = {}, {}, {}, {}, {}
    local iC, bC = scale_C and C / S_n or C, scale_C and C / B_p or C
    local sawmil_sign = opts.bag_margin == "sawmil"
    if opts.bag_margin ~= nil and opts.bag_margin ~= "sawmil" and opts.bag_margin ~= "bunescu" then
      argerr(fn, 3, "bag_margin must be 'bunescu' or 'sawmil'")
    end
    for k, i in ipairs(neg) do rows[k], pt[k], t[k], p[k], Cv[k] = i, k, -1, 1, iC end
    local j = S_n
    for b = 1, B do
      if y[b] == 1 then
        j = j + 1
        local nb = last[b] - first[b] + 1
        t[j], p[j], Cv[j] = 1, sawmil_sign and (nb - 2) / nb or (2 - nb) / nb, bC
        for i = first[b], last[b] do rows[#rows + 1] = i; pt[#pt + 1] = j end
      end
    end
    local Xi = X:index_select(1, tensor.new(rows))
    self.fit = svm_means(Xi, tensor.new(pt), j, f64(t), f64(Cv), f64(p), ko)
    self.aggregate = "mean"
    if method == "sawmil" then
      -- rank the instances of positive bags by the sMIL score; the chosen
      -- become positives of an instance SVM (box C) against all the rest
      local stage1 = self.fit
      local Xpos = X:index_select(1, tensor.new(pos))
      local s = raw_scores(stage1, Xpos):tolist()
      local inmask = {}
      for k, i in ipairs(pos) do inmask[k] = not mask or mask[i] end
      local chosen, n, q = select_positives(s, inmask, opts.eta or 0.1, opts.min_pos_ratio or 0.05)
      local t2 = {}
      for k = 1, S_n do t2[k] = -1 end
      for k = 1, #pos do t2[S_n + k] = chosen[k] and 1 or -1 end
      local X2 = tensor.cat({ X:index_select(1, tensor.new(neg)), Xpos }, 1)
      self.fit = svm_rows(X2, f64(t2), C, nil, ko)
      self.stage1, self.cutoff, self.n_selected = stage1, q, n
      local sel = {}
      for k, i in ipairs(pos) do if chosen[k] then sel[#sel + 1] = i end end
      self.selected = tensor.new(sel, { dtype = "i64" })
      self.aggregate = "max"
    end
  end
  for _, k in ipairs { "kernel", "gamma", "coef", "intercept", "U", "dual", "n_iter", "converged" } do self[k] = self.fit[k] end
  return setmetatable(self, Mil)
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
  { "mil", "probe.mil({X, offsets}, labels, {method='sawmil'|'smil'|'nsk'|'svm', C=1.0, scale_C=true, kernel='linear'|'rbf', gamma='scale', eta=0.1, min_pos_ratio=0.05, mask=, bag_margin='bunescu', tol=1e-3})",
    "multiple-instance SVMs of the sawmil package (defaults as sawmil 0.2), solved by sonde's SMO: sAwMIL = sMIL ranks positive bags' instances, the top eta become positives of an instance SVM; bags score the max (svm, sawmil) or mean (nsk, smil) of instance scores" },
  { "svm", "probe.svm(X, labels, {C=1.0, kernel='linear'|'rbf', gamma='scale', tol=1e-3, max_iter=, cache_mb=200, shrinking=true})",
    "C-SVM by SMO with LIBSVM's working-set selection (= sklearn SVC, tol 1e-3): :decision_function, :predict, :score, :direction; fields coef, intercept, alpha, support (1-based)" },
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
  { "Mil:decision_function", "m:decision_function({X, offsets})", "each bag's score: the max of its instances' scores (svm, sawmil) or their mean = the score of the bag's mean (nsk, smil)" },
  { "Mil:predict", "m:predict({X, offsets})", "1 for bags scoring >= 0, else 0" },
  { "Mil:score_instances", "m:score_instances(X)", "the instance probe's score of each row" },
  { "Mil:predict_proba", "m:predict_proba({X, offsets})", "the sigmoid of each bag's score (a squashing, not a calibrated probability)" },
  { "Mil:score", "m:score({X, offsets}, labels)", "bag accuracy of m:predict" },
  { "Mil:direction", "m:direction()", "the unit weight vector of the instance scorer (linear kernel)" },
  { "Svm:decision_function", "s:decision_function(X)", "f(x) = w.x + b (linear) or sum_i alpha_i y_i k(x_i, x) + b; > 0 means the larger class label" },
  { "Svm:predict", "s:predict(X)", "the class label (s.classes[2] where f(x) >= 0, else s.classes[1])" },
  { "Svm:score", "s:score(X, labels)", "accuracy of s:predict" },
  { "Svm:direction", "s:direction()", "w / |w| (linear kernel)" },
  { "Conformal:predict_set", "cp:predict_set(X)", "the prediction sets (bool [n,K], column j = cp.classes[j]) and their sizes" },
  { "Conformal:coverage", "cp:coverage(X, y)", "{coverage, size, singleton, empty}: the share of y in its set, mean set size, ..." },
  { "Conformal:three_way", "cp:three_way(X, {true_class=classes[2]})",
    "for a binary probe: 'true' / 'false' when the set is that class alone, 'neither' when it holds both or none; and the counts" },
} do sonde.doc(d[1], d[2], d[3]) end

return M
