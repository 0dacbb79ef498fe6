-- detect.lua: the `detect` module: anomaly and out-of-distribution scores.
-- A detector is fitted on normal data, d = detect.X(train, opts), and
-- d:score(test) gives one score per row, higher = more anomalous. Every
-- detector has d:save(path) (detect.load(path) dispatches on the stored
-- kind), d:threshold{contamination=} and d:predict(x). Classifier-based
-- scores (msp, energy, maxlogit, vacuity, dissonance) are plain functions of
-- logits or evidence. C kernels: detect.kernels (runtime/ml/detect*.c).
-- Part: detect_deep.lua (simplenet, autoencoder).
local K = require "detect.kernels"
local M = {}

local Detector = {}
Detector.__index = Detector
M.Detector = Detector
local kinds = {} -- kind -> function(state, opts) returning a detector

local function opt(o, key, def)
  if o == nil or o[key] == nil then return def end
  return o[key]
end

local function check2d(fn, x)
  if not tensor.is_tensor(x) or x:dim() ~= 2 then
    error(string.format("detect.%s: expected an [n, d] tensor, got %s", fn,
      tensor.is_tensor(x) and ("[" .. table.concat(x:shape(), ",") .. "]") or type(x)), 3)
  end
  return x
end

local function new(kind, opts, state, score)
  local d = setmetatable({ kind = kind, opts = opts, state = state }, Detector)
  d._score = score
  return d
end

function Detector:score(x) return self._score(self, x) end

-- PyOD's threshold_: the (1 - contamination) quantile of the training
-- scores (linear interpolation, as numpy.percentile).
function Detector:threshold(o)
  local c = opt(o, "contamination", 0.1)
  if type(c) ~= "number" or c <= 0 or c >= 0.5 then
    error("threshold: contamination must be in (0, 0.5), got " .. tostring(c), 2)
  end
  local s = self.state.train_scores
  if not s and self.train then -- computed on first use (iforest)
    s = self:score(self.train)
    self.state.train_scores = s
  elseif not s and o and o.data then
    s = self:score(o.data)
  end
  if not s then error("threshold: no training scores; pass {data=training rows}", 2) end
  local v = s:to("f64"):sort()
  local n = v:numel()
  local pos = (1 - c) * (n - 1) + 1
  local lo = math.floor(pos)
  local hi = math.min(lo + 1, n)
  local t = v[lo]:item() + (pos - lo) * (v[hi]:item() - v[lo]:item())
  self.thresh = t
  return t
end

-- 1 where the score is above the threshold (d:threshold first, or {contamination=}).
function Detector:predict(x, o)
  local t = self.thresh or self:threshold(o)
  return self:score(x):gt(t):to("i64")
end

-- Options are written as a Lua literal (sorted keys), tensors as they are.
local function literal(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "number" then
    return math.type(v) == "integer" and tostring(v) or string.format("%.17g", v)
  end
  if type(v) == "boolean" then return tostring(v) end
  return "nil"
end

function Detector:save(path)
  local t, keys = { _kind = tensor.from(self.kind, "u8") }, {}
  for k, v in pairs(self.opts) do
    if type(v) ~= "table" and not tensor.is_tensor(v) then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local parts = {}
  for _, k in ipairs(keys) do parts[#parts + 1] = string.format("[%q]=%s", k, literal(self.opts[k])) end
  t._opts = tensor.from("{" .. table.concat(parts, ",") .. "}", "u8")
  for k, v in pairs(self.state) do t["s_" .. k] = v end
  tensor.save(path, t)
end

function M.load(path)
  local t = tensor.load(path)
  if type(t) ~= "table" or not t._kind then error("detect.load: " .. path .. " is not a saved detector", 2) end
  local kind = t._kind:bytes()
  local opts = load("return " .. t._opts:bytes(), "=opts", "t", {})()
  local state = {}
  for k, v in pairs(t) do
    local name = k:match("^s_(.+)$")
    if name then state[name] = v end
  end
  local make = kinds[kind]
  if not make then error("detect.load: unknown detector kind '" .. kind .. "'", 2) end
  return make(state, opts)
end

-- --- kNN (distance to the k nearest training rows, exact by GEMM) ---

-- the k smallest distances of each row of x to the rows of bank (ascending)
-- and their 1-based rows: the C kernel (GEMM + heap) up to k = 64, else
-- cdist + topk by chunks of rows
local function knn_dist(x, bank, k, chunk)
  if k <= 64 then return K.knn(x, bank, k) end
  local n, ds, is = x:size(1), {}, {}
  for a = 1, n, chunk do
    local c = math.min(chunk, n - a + 1)
    ds[#ds + 1], is[#is + 1] = x:narrow(1, a, c):cdist(bank):topk(k, 2, { largest = false })
  end
  return tensor.cat(ds, 1), tensor.cat(is, 1)
end
M._knn_dist = knn_dist

local function knn_score(self, x)
  check2d("knn", x)
  local d = knn_dist(x:to(self.state.bank:dtype()), self.state.bank, self.opts.k, self.opts.chunk)
  return self.opts.reduce == "max" and d:amax(2) or d:mean(2)
end

kinds.knn = function(state, opts) return new("knn", opts, state, knn_score) end

-- Greedy k-center (PatchCore's coreset): start at a seeded random row, add
-- the row farthest from the chosen set m - 1 times. Returns 1-based rows.
function M.coreset(x, m, o)
  check2d("coreset", x)
  return K.coreset(x, math.min(m, x:size(1)), opt(o, "seed", 0))
end

function M.knn(train, o)
  check2d("knn", train)
  local opts = { k = opt(o, "k", 1), reduce = opt(o, "reduce", "mean"), chunk = opt(o, "chunk", 1024),
                 coreset = opt(o, "coreset", nil), seed = opt(o, "seed", 0) }
  if opts.reduce ~= "mean" and opts.reduce ~= "max" then
    error("detect.knn: reduce must be 'mean' or 'max', got " .. tostring(opts.reduce), 2)
  end
  local bank = train
  if opts.coreset then
    local m = opts.coreset < 1 and math.max(1, math.floor(opts.coreset * train:size(1))) or opts.coreset
    bank = train:index_select(1, M.coreset(train, m, { seed = opts.seed }))
  end
  if opts.k > bank:size(1) then
    error(string.format("detect.knn: k = %d exceeds the %d rows of the memory bank", opts.k, bank:size(1)), 2)
  end
  bank = bank:contiguous()
  local d = new("knn", opts, { bank = bank }, knn_score)
  -- training scores without each row itself (as PyOD), for threshold
  if not opts.coreset and bank:size(1) > opts.k then
    local dd = knn_dist(bank, bank, opts.k + 1, opts.chunk):narrow(2, 2, opts.k)
    d.state.train_scores = opts.reduce == "max" and dd:amax(2) or dd:mean(2)
  else
    d.state.train_scores = knn_score(d, train)
  end
  return d
end

-- --- Mahalanobis (Gaussian with Ledoit-Wolf shrinkage) ---

-- sklearn's ledoit_wolf on centred xc [n,p] (f64): shrunk covariance
local function ledoit_wolf(xc)
  local n, p = xc:size(1), xc:size(2)
  local x2 = xc:square()
  local emp_trace = x2:sum(1):div(n)
  local mu = emp_trace:sum():item() / p
  local beta_ = x2:t():mm(x2):sum():item()
  local delta_ = xc:t():mm(xc):square():sum():item() / (n * n)
  local beta = 1 / (p * n) * (beta_ / n - delta_)
  local delta = (delta_ - 2 * mu * emp_trace:sum():item() + p * mu * mu) / p
  beta = math.min(beta, delta)
  local shrink = beta == 0 and 0 or beta / delta
  local s = xc:t():mm(xc):div(n)
  return s:mul(1 - shrink):add(tensor.eye(p, { dtype = "f64" }):mul(shrink * mu)), shrink
end

local function gaussian(x, shrinkage, reg)
  local x64 = x:to("f64")
  local mean = x64:mean(1, true)
  local xc = x64 - mean
  local n, p = xc:size(1), xc:size(2)
  local cov, s
  if shrinkage == "ledoit_wolf" then
    cov, s = ledoit_wolf(xc)
  else
    s = shrinkage
    local emp = xc:t():mm(xc):div(n)
    local mu = emp:diagonal():sum():item() / p
    cov = emp:mul(1 - s):add(tensor.eye(p, { dtype = "f64" }):mul(s * mu))
  end
  if reg > 0 then cov = cov + tensor.eye(p, { dtype = "f64" }):mul(reg) end
  return mean, tensor.inverse(cov), s
end

local function maha_score(self, x)
  check2d("mahalanobis", x)
  local xc = x:to("f64") - self.state.mean
  return xc:mm(self.state.precision):mul(xc):sum(2)
end
kinds.mahalanobis = function(state, opts) return new("mahalanobis", opts, state, maha_score) end

function M.mahalanobis(train, o)
  check2d("mahalanobis", train)
  if train:size(1) < 2 then error("detect.mahalanobis: needs at least 2 training rows", 2) end
  local opts = { shrinkage = opt(o, "shrinkage", "ledoit_wolf"), reg = opt(o, "reg", 0) }
  local mean, prec, s = gaussian(train, opts.shrinkage, opts.reg)
  local d = new("mahalanobis", opts, { mean = mean, precision = prec }, maha_score)
  d.shrinkage = s
  d.state.train_scores = maha_score(d, train)
  return d
end
M._gaussian = gaussian

-- --- isolation forest ---

local function iforest_score(self, x)
  check2d("iforest", x)
  return K.iforest_score(self.state.nodes, self.state.roots, x, self.opts.psi)
end
kinds.iforest = function(state, opts) return new("iforest", opts, state, iforest_score) end

function M.iforest(train, o)
  check2d("iforest", train)
  local opts = { n_trees = opt(o, "n_trees", 100), max_samples = opt(o, "max_samples", 256), seed = opt(o, "seed", 0) }
  opts.psi = math.min(opts.max_samples, train:size(1))
  local nodes, roots = K.iforest_fit(train, opts.n_trees, opts.max_samples, opts.seed)
  local d = new("iforest", opts, { nodes = nodes, roots = roots }, iforest_score)
  d.train = train -- its scores are made by the first d:threshold (not saved)
  return d
end

-- --- LOF (Breunig et al.; scikit-learn's novelty scoring) ---

local function lof_score(self, x)
  check2d("lof", x)
  local st, k = self.state, self.opts.k
  local bank = st.bank
  local n = x:size(1)
  local dist, idx = knn_dist(x:to(bank:dtype()), bank, k, self.opts.chunk)
  local kd = st.kdist:index_select(1, idx:flatten()):view(n, k)
  local lrd = tensor.maximum(dist:to("f64"), kd):mean(2):add(1e-10):reciprocal()
  return st.lrd:index_select(1, idx:flatten()):view(n, k):mean(2):div(lrd)
end
kinds.lof = function(state, opts) return new("lof", opts, state, lof_score) end

function M.lof(train, o)
  check2d("lof", train)
  local n = train:size(1)
  if n < 2 then error("detect.lof: needs at least 2 training rows", 2) end
  local opts = { k = math.min(opt(o, "n_neighbors", 20), n - 1), chunk = opt(o, "chunk", 1024) }
  local bank = train:contiguous()
  local k = opts.k
  -- neighbours of each training row without itself
  local dist, idx = knn_dist(bank, bank, k + 1, opts.chunk)
  dist, idx = dist:narrow(2, 2, k):to("f64"), idx:narrow(2, 2, k)
  local kdist = dist:select(2, k):contiguous()
  local reach = tensor.maximum(dist, kdist:index_select(1, idx:flatten()):view(n, k))
  local lrd = reach:mean(2):add(1e-10):reciprocal()
  local train_lof = lrd:index_select(1, idx:flatten()):view(n, k):mean(2):div(lrd)
  return new("lof", opts, { bank = bank, kdist = kdist, lrd = lrd, train_scores = train_lof }, lof_score)
end

-- --- ECOD (Li et al. 2022, as PyOD) ---

local function ecod_score(self, x)
  check2d("ecod", x)
  local st = self.state
  local n = st.sorted:size(1)
  local le, ge = K.ecdf_counts(st.sorted, x)
  -- the point itself counts in its ECDF, so tails stay finite: (c + 1)/(n + 1)
  local ul = le:to("f64"):add(1):div(n + 1):log():neg()
  local ur = ge:to("f64"):add(1):div(n + 1):log():neg()
  local skew = st.skew_sign
  -- PyOD: U_skew = U_l * -sign(skew - 1) + U_r * sign(skew + 1), with skew's sign
  local uskew = ul * (skew - 1):sign():neg() + ur * (skew + 1):sign()
  return tensor.maximum(uskew, (ul + ur):div(2)):sum(2)
end
kinds.ecod = function(state, opts) return new("ecod", opts, state, ecod_score) end

function M.ecod(train, o)
  check2d("ecod", train)
  local x = train:to("f64")
  local xc = x - x:mean(1, true)
  local m2, m3 = xc:square():mean(1), xc:pow(3):mean(1)
  local skew = tensor.where(m2:gt(0), m3:div(m2:clamp(1e-300):pow(1.5)), 0)
  local d = new("ecod", {}, { sorted = (x:sort(1)), skew_sign = skew:sign():view(1, -1) }, ecod_score)
  d.state.train_scores = ecod_score(d, x)
  return d
end

-- --- HBOS (Goldstein & Dengel 2012) as PyOD: n_bins=10, alpha=0.1, tol=0.5 ---
-- Per feature, a density histogram of the training values (numpy's
-- histogram: equal bins over [min, max], edges as numpy's linspace); a value scores -log2(density of
-- its bin + alpha), with bins closed on the right as PyOD's digitize(right=
-- True); a value outside the range by at most tol bins takes the edge bin,
-- farther out the feature's lowest density.

-- number of edges (columns of e [p, k]) below (strict) or at most x, per element of x [m, p]
local function count_edges(x, e, strict)
  local xe, ee = x:unsqueeze(3), e:unsqueeze(1)
  return (strict and xe:gt(ee) or xe:ge(ee)):sum(3)
end

local function hbos_score(self, x)
  check2d("hbos", x)
  local st, o = self.state, self.opts
  local nb, e = o.n_bins, st.edges               -- e [p, nb + 1]
  x = x:to("f64")
  local ind = count_edges(x, e, true)             -- numpy digitize(right=True)
  local w0 = (e:select(2, 2) - e:select(2, 1)):view(1, -1)
  local wn = (e:select(2, nb + 1) - e:select(2, nb)):view(1, -1)
  local below = ind:eq(0):logical_and((e:select(2, 1):view(1, -1) - x):gt(w0 * o.tol))
  local above = ind:eq(nb + 1):logical_and((x - e:select(2, nb + 1):view(1, -1)):gt(wn * o.tol))
  local logd = st.hist:add(o.alpha):log():div(math.log(2))   -- [nb, p]
  local lowest = logd:amin(1, true):expand(x:size(1), x:size(2))
  local v = tensor.where(below:logical_or(above), lowest, logd:gather(1, ind:clamp(1, nb)))
  return v:sum(2):neg()
end
kinds.hbos = function(state, opts) return new("hbos", opts, state, hbos_score) end

function M.hbos(train, o)
  check2d("hbos", train)
  local opts = { n_bins = opt(o, "n_bins", 10), alpha = opt(o, "alpha", 0.1), tol = opt(o, "tol", 0.5) }
  local x = train:to("f64")
  local n, p, nb = x:size(1), x:size(2), opts.n_bins
  local lo, hi = x:amin(1), x:amax(1)
  -- a constant feature gets numpy's range (v - 0.5, v + 0.5)
  local flat = hi:eq(lo)
  lo = tensor.where(flat, lo - 0.5, lo)
  hi = tensor.where(flat, hi + 0.5, hi)
  -- numpy's linspace edges: lo + k (hi - lo)/nb, the last exactly hi
  local k = tensor.arange(0, nb + 1, { dtype = "f64" }):view(1, -1)
  local e = (k * (hi - lo):div(nb):view(-1, 1)) + lo:view(-1, 1)
  e:select(2, nb + 1):copy_(hi)
  -- numpy's histogram: bins [e_k, e_k+1), the last closed
  local bi = (count_edges(x, e:narrow(2, 1, nb), false) - 1):clamp(0, nb - 1) + 1
  local hist = tensor.zeros(nb, p, { dtype = "f64" })
  hist:scatter_add_(1, bi, tensor.ones(n, p, { dtype = "f64" }))
  hist = hist:div((e:narrow(2, 2, nb) - e:narrow(2, 1, nb)):t():mul(n))  -- density=True
  local d = new("hbos", opts, { edges = e, hist = hist }, hbos_score)
  d.state.train_scores = hbos_score(d, x)
  return d
end

-- --- patch level: one score per spatial location of feature maps ---

local function check4d(fn, x)
  if not tensor.is_tensor(x) or x:dim() ~= 4 then
    error(string.format("detect.%s: feature maps must be [N, C, H, W], got %s", fn,
      tensor.is_tensor(x) and ("[" .. table.concat(x:shape(), ",") .. "]") or type(x)), 3)
  end
  return x
end

local function vectors(maps) -- [N,C,H,W] -> [N*H*W, C]
  local n, c, h, w = table.unpack(maps:shape())
  return maps:permute(1, 3, 4, 2):reshape(n * h * w, c)
end

local function patches_score(self, maps)
  check4d("patches", maps)
  local n, c, h, w = table.unpack(maps:shape())
  local st = self.state
  if c ~= st.shape[2]:item() or h ~= st.shape[3]:item() or w ~= st.shape[4]:item() then
    error(string.format("detect.patches: maps [%d,%d,%d,%d] do not match the training maps' C, H, W", n, c, h, w), 2)
  end
  if self.opts.method == "knn" then
    local d = knn_dist(vectors(maps):to(st.bank:dtype()), st.bank, self.opts.k, self.opts.chunk)
    return d:mean(2):view(n, h, w)
  end
  -- per location: (x - mu_l)^T P_l (x - mu_l), batched over the L = H W locations
  local x = maps:to("f64"):permute(3, 4, 1, 2):reshape(h * w, n, c) - st.mean:unsqueeze(2)
  return x:bmm(st.precision):mul(x):sum(3):t():reshape(n, h, w)
end
kinds.patches = function(state, opts) return new("patches", opts, state, patches_score) end

function M.patches(train, o)
  check4d("patches", train)
  local n, c, h, w = table.unpack(train:shape())
  local opts = { method = opt(o, "method", "knn"), k = opt(o, "k", 1), chunk = opt(o, "chunk", 1024),
                 coreset = opt(o, "coreset", nil), seed = opt(o, "seed", 0),
                 shrinkage = opt(o, "shrinkage", 0), reg = opt(o, "reg", 0.01) }
  local state = { shape = tensor.new { n, c, h, w } }
  if opts.method == "knn" then
    local bank = vectors(train)
    if opts.coreset then
      local m = opts.coreset < 1 and math.max(1, math.floor(opts.coreset * bank:size(1))) or opts.coreset
      bank = bank:index_select(1, M.coreset(bank, m, { seed = opts.seed }))
    end
    state.bank = bank:contiguous()
  elseif opts.method == "mahalanobis" then
    if n < 2 then error("detect.patches: mahalanobis needs at least 2 training maps", 2) end
    local x = train:permute(3, 4, 1, 2):reshape(h * w, n, c)
    local means, precs = {}, {}
    for l = 1, h * w do
      means[l], precs[l] = gaussian(x[l], opts.shrinkage, opts.reg)
    end
    state.mean, state.precision = tensor.cat(means, 1), tensor.stack(precs, 1)
  else
    error("detect.patches: method must be 'knn' or 'mahalanobis', got " .. tostring(opts.method), 2)
  end
  local d = new("patches", opts, state, patches_score)
  return d
end

-- image-level score of patch maps: the maximum of each map
function Detector:image_scores(maps)
  local m = self:score(maps)
  return m:reshape(m:size(1), -1):amax(2)
end

-- anomaly maps [N, h, w] resized bilinearly to [N, H, W] (localisation)
function M.upsample(maps, H, W)
  local n, h, w = table.unpack(maps:shape())
  return image.resize(maps:to("f32"):view(n, 1, h, w), H, W):view(n, H, W)
end

-- --- scores from a classifier's logits [n, K] (higher = more OOD) ---

local function logits2d(fn, z)
  if not tensor.is_tensor(z) or z:dim() ~= 2 then error("detect." .. fn .. ": logits must be [n, K]", 3) end
  return z
end

-- negative maximum softmax probability (Hendrycks & Gimpel 2017)
function M.msp(logits)
  return logits2d("msp", logits):softmax(2):amax(2):neg()
end

-- energy -T logsumexp(z / T) (Liu et al. 2020): higher = more OOD
function M.energy(logits, o)
  local T = opt(o, "T", 1)
  return logits2d("energy", logits):div(T):logsumexp(2):mul(-T)
end

-- negative maximum logit (Hendrycks et al. 2022)
function M.maxlogit(logits) return logits2d("maxlogit", logits):amax(2):neg() end

-- Subjective logic on Dirichlet evidence e >= 0 [n, K]: alpha = e + 1,
-- S = sum alpha, belief b_k = e_k / S, vacuity u = K / S (ignorance).
function M.vacuity(evidence)
  local e = logits2d("vacuity", evidence)
  return e:size(2) / (e:sum(2) + e:size(2))
end

-- Josang's dissonance (confusion): sum_k b_k sum_{j~=k} b_j Bal(b_j, b_k) /
-- sum_{j~=k} b_j, Bal(b_j, b_k) = 1 - |b_j - b_k| / (b_j + b_k) (0 when both 0).
function M.dissonance(evidence)
  local e = logits2d("dissonance", evidence):to("f64")
  local Kc = e:size(2)
  local b = e / (e:sum(2, true) + Kc)
  local bj, bk = b:unsqueeze(2), b:unsqueeze(3)             -- [n,1,K], [n,K,1]
  local sum = bj + bk
  local bal = (1 - (bj - bk):abs() / sum:clamp(1e-300)):masked_fill(sum:eq(0), 0)
  local eye = tensor.eye(Kc, { dtype = "f64" }):view(1, Kc, Kc):gt(0)
  local offb = bj:expand(b:size(1), Kc, Kc):masked_fill(eye, 0)
  local num = (offb * bal):sum(3)
  local den = offb:sum(3)
  local term = (num / den:clamp(1e-300)):masked_fill(den:eq(0), 0)
  return (b * term):sum(2)
end

require("detect_deep")(M, kinds, new, opt)

for _, d in ipairs {
  { "knn", "detect.knn(train, {k=1, reduce='mean'|'max', coreset=nil, seed=0, chunk=1024})",
    "distance to the k nearest training rows (exact by GEMM; coreset= m rows or a fraction, greedy k-center as PatchCore)" },
  { "coreset", "detect.coreset(X, m, {seed=0})", "1-based rows of a greedy k-center coreset of size m (PatchCore)" },
  { "mahalanobis", "detect.mahalanobis(train, {shrinkage='ledoit_wolf'|s, reg=0})",
    "squared Mahalanobis distance to the training Gaussian; Ledoit-Wolf shrinkage as sklearn, or fixed s toward scaled identity" },
  { "iforest", "detect.iforest(train, {n_trees=100, max_samples=256, seed=0})",
    "isolation forest score 2^(-E h(x)/c(psi)) (Liu et al. 2008, as sklearn's score_samples negated)" },
  { "lof", "detect.lof(train, {n_neighbors=20})", "local outlier factor of new rows against the training set (sklearn novelty=True, negated)" },
  { "ecod", "detect.ecod(train)", "ECOD (Li et al. 2022, PyOD): tail probabilities from per-feature empirical CDFs of the training set" },
  { "hbos", "detect.hbos(train, {n_bins=10, alpha=0.1, tol=0.5})", "histogram-based outlier score, sum over features of -log2(bin density + alpha), as PyOD's HBOS" },
  { "patches", "detect.patches(train_maps, {method='knn'|'mahalanobis', k=1, coreset=, seed=0, shrinkage=0, reg=0.01})",
    "a detector scoring every location of [N,C,H,W] feature maps: kNN to a patch memory bank (PatchCore) or per-location Gaussians (PaDiM, cov + reg I)" },
  { "upsample", "detect.upsample(maps, H, W)", "anomaly maps [N,h,w] resized bilinearly to [N,H,W] for localisation" },
  { "msp", "detect.msp(logits)", "-max softmax probability per row (Hendrycks & Gimpel); higher = more OOD" },
  { "energy", "detect.energy(logits, {T=1})", "energy score -T logsumexp(z/T) (Liu et al. 2020); higher = more OOD" },
  { "maxlogit", "detect.maxlogit(logits)", "-max logit per row; higher = more OOD" },
  { "vacuity", "detect.vacuity(evidence)", "Dirichlet vacuity K/S with alpha = evidence + 1 (ignorance; Sensoy et al., Josang)" },
  { "dissonance", "detect.dissonance(evidence)", "Josang's dissonance of the subjective opinion from Dirichlet evidence (confusion)" },
  { "load", "detect.load(path)", "a detector written by d:save(path), of whatever kind" },
} do sonde.doc("detect." .. d[1], d[2], d[3]) end
sonde.doc("Detector:score", "d:score(X)", "one score per row of X, higher = more anomalous")
sonde.doc("Detector:threshold", "d:threshold{contamination=0.1, data=}", "the (1 - contamination) quantile of the training scores (PyOD's threshold_); data= scores those rows instead when none are kept")
sonde.doc("Detector:predict", "d:predict(X, {contamination=0.1})", "1 where d:score(X) exceeds the threshold, else 0 (i64)")
sonde.doc("Detector:image_scores", "d:image_scores(maps)", "patch detectors: the maximum of each anomaly map, one score per image")
sonde.doc("Detector:save", "d:save(path)", "write the fitted detector (kind, options, tensors) atomically; detect.load reads it")

return M
