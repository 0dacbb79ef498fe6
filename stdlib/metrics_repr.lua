-- metrics_repr.lua: part of the `metrics` module (see metrics.lua): how
-- similar two representations of the same inputs are (CKA, SVCCA) and how
-- good one is without training a probe (k-NN accuracy). Everything is
-- computed in f64 on the BLAS products of the tensor module.
local sonde = require "sonde"

local M = {}

local function argerr(fn, n, msg) error(string.format("bad argument #%d to '%s' (%s)", n, fn, msg), 3) end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- a 2-d f64 copy of a representation [n, ...] (trailing dims flattened)
local function rows(fn, n, X, name)
  if not tensor.is_tensor(X) then argerr(fn, n, name .. " must be a tensor") end
  if X:dim() < 2 then argerr(fn, n, string.format("%s must be [n, d], got %s", name, shape_str(X))) end
  if X:dim() > 2 then X = X:flatten(2) end
  return X:to("f64")
end

local function center_cols(X) return X - X:mean(1, true) end

-- median of all entries of a tensor, numpy's rule (mean of the two middle values)
local function median(v)
  local s = v:flatten():sort()
  local n = s:numel()
  if n % 2 == 1 then return s[(n + 1) // 2]:item() end
  return (s[n // 2]:item() + s[n // 2 + 1]:item()) / 2
end

-- K_ij = exp(-d2_ij / (2 thr^2 median(d2))), Kornblith et al.'s gram_rbf
local function gram_rbf(fn, X, thr, which)
  local sq = (X * X):sum(2, true)
  local d2 = (sq + sq:t() - X:matmul(X:t()) * 2):clamp(0)
  d2:diagonal():fill_(0)
  local med
  if which == "nonzero" then
    local nz = d2:masked_select(d2:gt(0))
    med = nz:numel() > 0 and median(nz) or 0
  else
    med = median(d2)
  end
  if med <= 0 then error(fn .. ": all rows are identical, the RBF bandwidth is 0", 3) end
  return (d2 / (-2 * thr * thr * med)):exp()
end

-- the centred Gram matrix H K H, or the U-statistic centring of Song et al.
-- (zero diagonal) when unbiased; as Kornblith et al.'s center_gram
local function center_gram(K, unbiased)
  local n = K:size(1)
  K = K:clone()
  if unbiased then
    K:diagonal():fill_(0)
    local means = K:sum(1) / (n - 2)
    means = means - means:sum():item() / (2 * (n - 1))
    K = K - means:view(n, 1) - means:view(1, n)
    K:diagonal():fill_(0)
  else
    local means = K:mean(1)
    means = means - means:mean():item() / 2
    K = K - means:view(n, 1) - means:view(1, n)
  end
  return K
end

local function cka_gram(Kx, Ky, debiased)
  Kx, Ky = center_gram(Kx, debiased), center_gram(Ky, debiased)
  local hsic = (Kx * Ky):sum():item()
  return hsic / (Kx:norm():item() * Ky:norm():item())
end

-- linear CKA from the features (cheaper than Gram matrices when d < n)
local function cka_linear(X, Y, debiased)
  X, Y = center_cols(X), center_cols(Y)
  local n = X:size(1)
  local xy = X:t():matmul(Y):square():sum():item()
  local xx = X:t():matmul(X):square():sum():item()
  local yy = Y:t():matmul(Y):square():sum():item()
  if debiased then
    -- Kornblith et al.'s feature-space form of the unbiased HSIC
    local rx, ry = (X * X):sum(2), (Y * Y):sum(2)
    local nx, ny = rx:sum():item(), ry:sum():item()
    local function unbiased(v, a, b, na, nb)
      return v - n / (n - 2) * a:dot(b):item() + na * nb / ((n - 1) * (n - 2))
    end
    xy = unbiased(xy, rx, ry, nx, ny)
    xx = unbiased(xx, rx, rx, nx, nx)
    yy = unbiased(yy, ry, ry, ny, ny)
  end
  return xy / math.sqrt(xx * yy)
end

function M.cka(A, B, opts)
  opts = opts or {}
  local X, Y = rows("cka", 1, A, "A"), rows("cka", 2, B, "B")
  if X:size(1) ~= Y:size(1) then
    argerr("cka", 2, string.format("A %s and B %s must have the same number of rows", shape_str(A), shape_str(B)))
  end
  local kernel, debiased = opts.kernel or "linear", opts.debiased or false
  local n = X:size(1)
  if n < (debiased and 4 or 2) then argerr("cka", 1, string.format("need at least %d rows, got %d", debiased and 4 or 2, n)) end
  if kernel == "linear" then
    return cka_linear(X, Y, debiased)
  elseif kernel == "rbf" then
    local thr, med = opts.threshold or 1.0, opts.median or "all"
    if med ~= "all" and med ~= "nonzero" then argerr("cka", 3, "median must be 'all' or 'nonzero'") end
    return cka_gram(gram_rbf("cka", X, thr, med), gram_rbf("cka", Y, thr, med), debiased)
  end
  argerr("cka", 3, "kernel must be 'linear' or 'rbf', got '" .. tostring(kernel) .. "'")
end

-- the number of leading singular directions that keep a fraction of the
-- variance (keep < 1) or keep itself (an integer)
local function keep_dims(S, keep, fn)
  local r = S:numel()
  if math.type(keep) == "integer" then
    if keep < 1 then argerr(fn, 3, "keep must be a positive integer or a fraction in (0, 1]") end
    return math.min(keep, r)
  end
  if not (keep > 0 and keep <= 1) then argerr(fn, 3, "keep must be a positive integer or a fraction in (0, 1]") end
  local v = S:square()
  local total, acc = v:sum():item(), 0
  local vals = v:tolist()
  for i = 1, r do
    acc = acc + vals[i]
    if acc >= keep * total * (1 - 1e-12) then return i end
  end
  return r
end

function M.svcca(A, B, opts)
  opts = opts or {}
  local X, Y = rows("svcca", 1, A, "A"), rows("svcca", 2, B, "B")
  if X:size(1) ~= Y:size(1) then
    argerr("svcca", 2, string.format("A %s and B %s must have the same number of rows", shape_str(A), shape_str(B)))
  end
  local keep = opts.keep or 0.99
  local Ux, Sx = center_cols(X):svd()
  local Uy, Sy = center_cols(Y):svd()
  local kx, ky = keep_dims(Sx, keep, "svcca"), keep_dims(Sy, keep, "svcca")
  -- CCA of the reduced representations: their bases Ux, Uy are already
  -- orthonormal, so the canonical correlations are the singular values of Ux^T Uy
  local _, rho = Ux:narrow(2, 1, kx):t():matmul(Uy:narrow(2, 1, ky)):svd()
  rho = rho:clamp(0, 1)
  return rho:mean():item(), rho
end

-- the labels as a 1-d i64 tensor
local function labels(fn, n, y, len, name)
  if not tensor.is_tensor(y) then y = tensor.new(y) end
  if y:dim() ~= 1 or y:size(1) ~= len then
    argerr(fn, n, string.format("%s must be 1-d with %d entries, got %s", name, len, shape_str(y)))
  end
  return y:to("i64")
end

function M.knn_accuracy(Z, y, Zt, yt, opts)
  opts = opts or {}
  local fn = "knn_accuracy"
  local X, Q = rows(fn, 1, Z, "Z"), rows(fn, 3, Zt, "Zt")
  if X:size(2) ~= Q:size(2) then
    argerr(fn, 3, string.format("Zt %s and Z %s differ in width", shape_str(Zt), shape_str(Z)))
  end
  local n, m = X:size(1), Q:size(1)
  y, yt = labels(fn, 2, y, n, "y"), labels(fn, 4, yt, m, "yt")
  local k = opts.k or 5
  if math.type(k) ~= "integer" or k < 1 or k > n then
    argerr(fn, 5, string.format("k must be an integer in 1..%d, got %s", n, tostring(k)))
  end
  local metric = opts.metric or "cosine"
  if metric ~= "cosine" and metric ~= "euclidean" then
    argerr(fn, 5, "metric must be 'cosine' or 'euclidean', got '" .. tostring(metric) .. "'")
  end
  if m == 0 then return 0 / 0, tensor.zeros(0, { dtype = "i64" }) end
  local lo = math.min(y:min():item(), yt:min():item())
  local C = y:max():item() - lo + 1
  local sqx
  if metric == "cosine" then
    X = X / X:norm(2, 2, true):clamp(1e-300)
    Q = Q / Q:norm(2, 2, true):clamp(1e-300)
  else
    sqx = (X * X):sum(2):view(1, n)
  end
  local pred, chunk = {}, opts.chunk or 1024
  for s = 1, m, chunk do
    local q = Q:narrow(1, s, math.min(chunk, m - s + 1))
    -- similarity, higher = nearer: cosine, or -(|x|^2 - 2 q.x) (|q|^2 is a constant per row)
    local sim = q:matmul(X:t())
    if sqx then sim = sim * 2 - sqx end
    local _, idx = sim:topk(k, 2)                     -- ties: the lower training index first
    local votes = y:index_select(1, idx:flatten()):view(idx:size(1), k) - (lo - 1)
    local counts = votes:one_hot(C):sum(2)            -- [rows, C]
    pred[#pred + 1] = counts:argmax(2) + (lo - 1)     -- vote ties: the smallest label
  end
  local p = tensor.cat(pred, 1)
  return p:eq(yt):to("f64"):mean():item(), p
end

for _, d in ipairs {
  { "cka", "metrics.cka(A, B, {kernel='linear'|'rbf', debiased=false, threshold=1.0, median='all'|'nonzero'})",
    "centred kernel alignment of two representations [n,p], [n,q] of the same n inputs (Kornblith et al. 2019); RBF bandwidth sigma = threshold * sqrt(median squared distance); debiased = unbiased HSIC (Song et al.)" },
  { "svcca", "metrics.svcca(A, B, {keep=0.99})",
    "SVCCA (Raghu et al. 2017): mean canonical correlation after keeping the top singular directions (a variance fraction, or an integer count); also returns the correlations" },
  { "knn_accuracy", "metrics.knn_accuracy(Z, y, Zt, yt, {k=5, metric='cosine'|'euclidean'})",
    "accuracy of a k-NN majority vote of Z's labels on Zt (exact, by GEMM); neighbour ties: lower index; vote ties: smallest label; also returns the predictions" },
} do sonde.doc("metrics." .. d[1], d[2], d[3]) end

return M
