-- probe_linear.lua: part of the `probe` module (see probe.lua): the
-- supervised and unsupervised probes that read a representation through a
-- direction: logistic (L-BFGS in C), ridge, lda, mass_mean, ccs, and the
-- nonlinear mlp. Every fitted probe answers :decision_function, :predict,
-- :score and :direction the same way; classification probes also
-- :predict_proba. Labels may be any integers (a tensor or a list): the
-- classes are their sorted distinct values and predictions give them back.
local sonde = require "sonde"
local K = require "probe.kernels"

local M = {}

-- --- arguments ---------------------------------------------------------------

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function is_float(t) local d = t:dtype() return d == "f32" or d == "f64" end

local function check_opts(fn, opts, known)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(fn .. ": options must be a table", 3) end
  for k in pairs(opts) do
    if not known[k] then error(string.format("%s: unknown option '%s'", fn, tostring(k)), 3) end
  end
  return opts
end

-- X: a 2-d f32/f64 tensor (argument name given for messages)
local function check_X(fn, X, name)
  name = name or "X"
  if not tensor.is_tensor(X) then error(string.format("%s: %s must be a 2-d tensor, got %s", fn, name, type(X)), 3) end
  if X:dim() ~= 2 then error(string.format("%s: %s must be 2-d [n, d], got shape %s", fn, name, shape_str(X)), 3) end
  if not is_float(X) then
    error(string.format("%s: %s must be f32 or f64, got %s (convert with %s:to(\"f32\"))", fn, name, X:dtype(), name), 3)
  end
  return X
end

-- y as an i64 tensor of n integer labels
local function check_y(fn, y, n, name)
  name = name or "y"
  if type(y) == "table" and not tensor.is_tensor(y) then y = tensor.new(y) end
  if not tensor.is_tensor(y) then error(string.format("%s: %s must be a tensor or a list of labels", fn, name), 3) end
  if y:dim() ~= 1 then error(string.format("%s: %s must be 1-d, got shape %s", fn, name, shape_str(y)), 3) end
  if y:size(1) ~= n then
    error(string.format("%s: %s has %d labels but X has %d rows", fn, name, y:size(1), n), 3)
  end
  if is_float(y) and not y:eq(y:round()):all():item() then
    error(string.format("%s: %s must hold integer labels", fn, name), 3)
  end
  return y:to("i64")
end

-- classes (sorted distinct labels, i64), class numbers 1..K of y, counts
local function encode(fn, y)
  if y:numel() == 0 then error(fn .. ": y is empty (no rows to fit)", 3) end
  local classes, inv, counts = y:unique { return_inverse = true, return_counts = true }
  if classes:numel() < 2 then
    error(string.format("%s: y has one class only (%d); needs two or more", fn, classes:tolist()[1]), 3)
  end
  return classes, inv, counts
end

-- the class numbers 1..K of labels y given the classes; unknown labels are 0
local function class_numbers(classes, y)
  local pos, idx = {}, {}
  for k, c in ipairs(classes:tolist()) do pos[c] = k end
  for i, v in ipairs(y:tolist()) do idx[i] = pos[v] or 0 end
  return tensor.new(idx, { dtype = "i64" })
end

-- sample weights of class_weight: nil, "balanced" (n / (K count_k),
-- scikit-learn's) or a table label -> weight (missing labels weigh 1)
local function class_weights(fn, cw, classes, inv, counts)
  if cw == nil then return nil end
  local nK, n = classes:numel(), inv:numel()
  local w = {}
  if cw == "balanced" then
    for k, c in ipairs(counts:tolist()) do w[k] = n / (nK * c) end
  elseif type(cw) == "table" then
    for k, c in ipairs(classes:tolist()) do
      local v = cw[c] or 1
      if type(v) ~= "number" or v < 0 or v ~= v then
        error(string.format("%s: class_weight[%d] must be a number >= 0", fn, c), 3)
      end
      w[k] = v
    end
  else
    error(fn .. ": class_weight must be nil, \"balanced\" or a table label -> weight", 3)
  end
  return tensor.new(w, { dtype = "f64" }):index_select(1, inv)
end

local function check_number(fn, name, v, lo)
  if type(v) ~= "number" or v ~= v or v < lo then
    error(string.format("%s: %s must be a number >= %g, got %s", fn, name, lo, tostring(v)), 3)
  end
  return v
end

-- --- what every fitted linear probe shares ------------------------------------
-- A linear probe holds coef [nw, d] and intercept [nw]; nw = 1 is a binary
-- probe (one direction, positive = the second class), nw = K scores each
-- class. Subclasses set .fn (the name in messages) and may override
-- decision_function.

local Linear = {}
Linear.__index = Linear

function Linear:_X(X)
  check_X(self.fn, X)
  if X:size(2) ~= self.coef:size(2) then
    error(string.format("%s: X has %d features, the probe was fitted on %d", self.fn, X:size(2), self.coef:size(2)), 3)
  end
  return X:to(self.coef:dtype())
end

-- scores: [n] for a binary probe (> 0: the second class), else [n, K]
function Linear:decision_function(X)
  local z = self:_X(X):matmul(self.coef:t()) + self.intercept
  if self.coef:size(1) == 1 then return z:select(2, 1) end
  return z
end

function Linear:predict(X)
  local z = self:decision_function(X)
  local k = z:dim() == 1 and z:gt(0):to("i64") + 1 or z:argmax(2)
  return self.classes:index_select(1, k)
end

function Linear:score(X, y)
  local p = self:predict(X)
  y = check_y(self.fn .. ":score", y, p:numel())
  return p:eq(y):to("f64"):mean():item()
end

-- unit direction(s) the probe reads: the binary probe's [d] (toward the
-- positive class; negated when the first class is asked for); for K
-- classes all [K, d] rows, or the row of one class label
function Linear:direction(class)
  local W = self.coef
  local row = class ~= nil and class_numbers(self.classes, tensor.new({ class }, { dtype = "i64" }))[1]:item()
  if row == 0 then error(string.format("%s:direction: %s is not a class", self.fn, tostring(class)), 2) end
  if W:size(1) == 1 then
    local u = W:select(1, 1) / W:norm():item()
    return row == 1 and -u or u
  end
  if class == nil then return W / W:norm(2, 2, true) end
  return W:select(1, row) / W:select(1, row):norm():item()
end

function Linear:__tostring()
  return string.format("%s(%d classes, %d features)", self.fn, self.classes:numel(), self.coef:size(2))
end

local function subclass(fn)
  local C = setmetatable({ fn = fn }, { __index = Linear })
  C.__index = C
  C.__tostring = Linear.__tostring
  return C
end

-- --- logistic regression --------------------------------------------------------

local Logistic = subclass("probe.logistic")

function Logistic:predict_proba(X)
  local z = self:decision_function(X)
  if z:dim() == 1 then
    local p = z:sigmoid()
    return tensor.stack({ 1 - p, p }, 2)
  end
  return z:softmax(2)
end

function Logistic:__tostring()
  return string.format("probe.logistic(%d classes, %d features, l2=%g, n_iter=%d, %s)", self.classes:numel(),
    self.coef:size(2), self.l2, self.n_iter, self.converged and "converged" or "not converged: " .. self.stop)
end

local logistic_opts = { l2 = true, C = true, fit_intercept = true, class_weight = true, max_iter = true, tol = true }

function M.logistic(X, y, opts)
  local fn = "probe.logistic"
  opts = check_opts(fn, opts, logistic_opts)
  check_X(fn, X)
  local n = X:size(1)
  y = check_y(fn, y, n)
  if opts.l2 ~= nil and opts.C ~= nil then error(fn .. ": give l2 or C, not both", 2) end
  local l2 = opts.l2
  if opts.C ~= nil then
    if type(opts.C) ~= "number" or not (opts.C > 0) then error(fn .. ": C must be a number > 0", 2) end
    l2 = 1 / (opts.C * n)
  end
  l2 = check_number(fn, "l2", l2 == nil and 1 / n or l2, 0)
  local max_iter = check_number(fn, "max_iter", opts.max_iter or 100, 0)
  local tol = check_number(fn, "tol", opts.tol or 1e-4, 0)
  local fit_intercept = opts.fit_intercept ~= false
  local classes, inv, counts = encode(fn, y)
  local sw = class_weights(fn, opts.class_weight, classes, inv, counts)
  local coef, intercept, info = K.logistic_fit(X, inv, classes:numel(), sw,
    { l2 = l2, fit_intercept = fit_intercept, max_iter = math.floor(max_iter), tol = tol })
  return setmetatable({
    coef = coef, intercept = intercept, classes = classes, l2 = l2,
    n_iter = info.n_iter, n_eval = info.n_eval, converged = info.converged, stop = info.stop,
    loss = info.loss, grad_max = info.grad_max,
  }, Logistic)
end

-- --- closed forms: ridge, lda, mass_mean ------------------------------------------

-- class means [K, d] (f64) of X at class numbers inv with counts
local function class_means(X, inv, counts)
  local K = counts:numel()
  local M = tensor.zeros(K, X:size(2), { dtype = "f64" }):index_add_(1, inv, X:to("f64"))
  return M / counts:to("f64"):view(K, 1)
end

-- pooled within-class covariance (1/n) sum_i (x_i - mu_y_i)(x_i - mu_y_i)^T, f64
local function pooled_cov(X, inv, M)
  local C = X:to("f64") - M:index_select(1, inv)
  return C:t():matmul(C) / X:size(1)
end

-- pseudo-inverse of a symmetric matrix: eigenvalues <= atol dropped
local function pinv_sym(S, atol)
  local w, V = S:eigh()
  local inv = tensor.where(w:gt(atol), w:reciprocal(), 0)
  return (V * inv:view(1, -1)):matmul(V:t())
end

local Ridge = subclass("probe.ridge")

-- predictions [n] (one target) or [n, m]
function Ridge:predict(X)
  local z = self:_X(X):matmul(self.coef:t()) + self.intercept
  if not self.multi then return z:select(2, 1) end
  return z
end
Ridge.decision_function = Ridge.predict

-- R^2 of the predictions, averaged over the targets (scikit-learn's score)
function Ridge:score(X, Y)
  local P = self:predict(X)
  if not tensor.is_tensor(Y) then Y = tensor.new(Y) end
  Y = Y:to("f64"):view(P:size(1), -1)
  P = P:to("f64"):view(P:size(1), -1)
  local ss_res = (Y - P):square():sum(1)
  local ss_tot = (Y - Y:mean(1, true)):square():sum(1)
  local r2 = 1 - ss_res / ss_tot
  return r2:mean():item()
end

function Ridge:direction(j)
  local W = self.coef
  if W:size(1) == 1 then return W:select(1, 1) / W:norm():item() end
  if j == nil then return W / W:norm(2, 2, true) end
  return W:select(1, j) / W:select(1, j):norm():item()
end

function Ridge:__tostring()
  return string.format("probe.ridge(%d targets, %d features, alpha=%g)", self.coef:size(1), self.coef:size(2), self.alpha)
end

-- Minimises |Y - X W^T - b|^2 + alpha |W|^2 (scikit-learn's Ridge). With an
-- intercept X and Y are centred first. One eigendecomposition serves every
-- alpha: of the Gram X^T X when n >= d, else of the kernel X X^T.
function M.ridge(X, Y, opts)
  local fn = "probe.ridge"
  opts = check_opts(fn, opts, { alpha = true, fit_intercept = true })
  check_X(fn, X)
  local n, d = X:size(1), X:size(2)
  if type(Y) == "table" and not tensor.is_tensor(Y) then Y = tensor.new(Y) end
  if not tensor.is_tensor(Y) or (Y:dim() ~= 1 and Y:dim() ~= 2) then
    error(fn .. ": Y must be a 1-d or 2-d tensor (or a list) of targets", 2)
  end
  if Y:size(1) ~= n then error(string.format("%s: Y has %d rows but X has %d", fn, Y:size(1), n), 2) end
  local alphas = opts.alpha == nil and 1.0 or opts.alpha
  local single = type(alphas) == "number"
  if single then alphas = { alphas } end
  if type(alphas) ~= "table" or #alphas == 0 then error(fn .. ": alpha must be a number or a list of numbers", 2) end
  for _, a in ipairs(alphas) do check_number(fn, "alpha", a, 0) end
  local multi = Y:dim() == 2
  local Xd, Yd = X:to("f64"), Y:to("f64"):view(n, -1)
  local xm, ym = tensor.zeros(1, d, { dtype = "f64" }), tensor.zeros(1, Yd:size(2), { dtype = "f64" })
  if opts.fit_intercept ~= false then
    xm, ym = Xd:mean(1, true), Yd:mean(1, true)
    Xd, Yd = Xd - xm, Yd - ym
  end
  -- W^T = V diag(1/(w + alpha)) V^T X^T Y (Gram), or X^T U diag(1/(w + alpha)) U^T Y (kernel)
  local gram = n >= d
  local w, V = (gram and Xd:t():matmul(Xd) or Xd:matmul(Xd:t())):eigh()
  w = w:clamp(0)
  local VtR = V:t():matmul(gram and Xd:t():matmul(Yd) or Yd)
  local out = {}
  for i, a in ipairs(alphas) do
    local s = (w + a):reciprocal()
    if a == 0 then s = tensor.where(w:gt(w:amax():item() * 1e-12), w:reciprocal(), 0) end
    local Wt = V:matmul(VtR * s:view(-1, 1))
    if not gram then Wt = Xd:t():matmul(Wt) end
    local coef = Wt:t():contiguous()
    local b = ym - xm:matmul(Wt)
    out[i] = setmetatable({
      coef = coef:to(X:dtype()), intercept = b:view(-1):to(X:dtype()), alpha = a, multi = multi,
    }, Ridge)
  end
  return single and out[1] or out
end

local Lda = subclass("probe.lda")
Lda.predict_proba = Logistic.predict_proba

-- scikit-learn's LinearDiscriminantAnalysis(solver="lsqr"): shared covariance
-- Sigma (pooled, 1/n), coef_k = Sigma^+ mu_k, intercept_k = -mu_k^T coef_k / 2
-- + log prior_k; binary: the difference of the two rows.
function M.lda(X, y, opts)
  local fn = "probe.lda"
  opts = check_opts(fn, opts, { shrinkage = true, priors = true })
  check_X(fn, X)
  y = check_y(fn, y, X:size(1))
  local classes, inv, counts = encode(fn, y)
  local K, d = classes:numel(), X:size(2)
  local Mu = class_means(X, inv, counts)
  local S = pooled_cov(X, inv, Mu)
  local g = opts.shrinkage
  if g ~= nil then
    check_number(fn, "shrinkage", g, 0)
    if g > 1 then error(fn .. ": shrinkage must be in [0, 1]", 2) end
    local mu = S:diagonal():sum():item() / d
    S = S * (1 - g) + tensor.eye(d, { dtype = "f64" }) * (g * mu)
  end
  local priors = counts:to("f64") / X:size(1)
  if opts.priors ~= nil then
    priors = tensor.new(opts.priors, { dtype = "f64" })
    if priors:numel() ~= K then error(string.format("%s: priors needs %d values (one per class)", fn, K), 2) end
    priors = priors / priors:sum()
  end
  local C = tensor.lstsq(S, Mu:t()):t()                   -- [K, d]
  local b = (Mu * C):sum(2) * -0.5 + priors:log()
  if K == 2 then
    C = (C:select(1, 2) - C:select(1, 1)):view(1, d)
    b = (b[2] - b[1]):view(1)
  end
  return setmetatable({ coef = C:to(X:dtype()):contiguous(), intercept = b:to(X:dtype()), classes = classes,
    priors = priors, means = Mu:to(X:dtype()) }, Lda)
end

local MassMean = subclass("probe.mass_mean")

-- sigmoid of the score: monotone in it, not calibrated
function MassMean:predict_proba(X)
  local p = self:decision_function(X):sigmoid()
  return tensor.stack({ 1 - p, p }, 2)
end

-- theta = mu_pos - mu_neg (positive: the second class); whiten: theta =
-- Sigma^+ (mu_pos - mu_neg) with Sigma the pooled within-class covariance
-- and eigenvalues <= atol dropped (Marks & Tegmark's "iid" mass-mean probe);
-- the intercept puts the boundary halfway between the class means.
function M.mass_mean(X, y, opts)
  local fn = "probe.mass_mean"
  opts = check_opts(fn, opts, { whiten = true, atol = true, fit_intercept = true })
  check_X(fn, X)
  y = check_y(fn, y, X:size(1))
  local classes, inv, counts = encode(fn, y)
  if classes:numel() ~= 2 then
    error(string.format("%s: y must have two classes, got %d", fn, classes:numel()), 2)
  end
  local Mu = class_means(X, inv, counts)
  local theta = Mu[2] - Mu[1]
  if opts.whiten then
    local atol = check_number(fn, "atol", opts.atol or 1e-3, 0)
    theta = pinv_sym(pooled_cov(X, inv, Mu), atol):mv(theta)
  end
  local b = opts.fit_intercept == false and 0 or -0.5 * (Mu[1] + Mu[2]):dot(theta):item()
  return setmetatable({ coef = theta:view(1, -1):to(X:dtype()), intercept = tensor.new({ b }):to(X:dtype()),
    classes = classes, whiten = opts.whiten and true or false }, MassMean)
end

-- --- contrast-consistent search -------------------------------------------------

local Ccs = { fn = "probe.ccs" }
Ccs.__index = Ccs

-- p(x) = sigmoid(theta . normalise(x) + b) for each set, the set's own
-- training statistics
function Ccs:_p(X, which)
  check_X(self.fn, X)
  if X:size(2) ~= self.theta:size(1) then
    error(string.format("%s: X has %d features, the probe was fitted on %d", self.fn, X:size(2), self.theta:size(1)), 3)
  end
  local st = self.stats[which]
  local Z = X:to("f32") - st.mean
  if st.std then Z = Z / st.std end
  return (Z:mv(self.theta) + self.bias):sigmoid()
end

-- the confidence that the positive statement is true: (p(x+) + 1 - p(x-)) / 2
function Ccs:confidence(X_pos, X_neg)
  local c = (self:_p(X_pos, "pos") + 1 - self:_p(X_neg, "neg")) * 0.5
  if self.flipped then c = 1 - c end
  return c
end

function Ccs:decision_function(X_pos, X_neg) return self:confidence(X_pos, X_neg) - 0.5 end

function Ccs:predict_proba(X_pos, X_neg)
  local c = self:confidence(X_pos, X_neg)
  return tensor.stack({ 1 - c, c }, 2)
end

-- 1 where the positive statement is judged true, else 0
function Ccs:predict(X_pos, X_neg) return self:confidence(X_pos, X_neg):gt(0.5):to("i64") end

function Ccs:score(X_pos, X_neg, y)
  local p = self:predict(X_pos, X_neg)
  y = check_y(self.fn .. ":score", y, p:numel())
  return p:eq(y):to("f64"):mean():item()
end

-- theta in the raw feature space (divided by the scale when var_normalize)
function Ccs:direction()
  local t = self.theta
  if self.stats.pos.std then t = t / self.stats.pos.std:view(-1) end
  if self.flipped then t = -t end
  return t / t:norm():item()
end

function Ccs:__tostring()
  return string.format("probe.ccs(%d features, loss %.4g, best of %d tries)", self.theta:size(1), self.loss, self.n_tries)
end

local ccs_opts = { n_tries = true, epochs = true, lr = true, weight_decay = true, var_normalize = true, seed = true,
  gen = true, y = true }

-- Burns et al. 2022: each set centred (and scaled with var_normalize), a
-- linear probe sigmoid(theta . x + b) trained on both by AdamW on
-- mean (p+ - (1 - p-))^2 + mean min(p+, p-)^2 (consistency + confidence),
-- full batch; the best of n_tries random starts. Defaults are the paper
-- code's. The sign is arbitrary (unsupervised); with y= the direction is
-- oriented so the training accuracy is at least 0.5.
function M.ccs(X_pos, X_neg, opts)
  local fn = "probe.ccs"
  opts = check_opts(fn, opts, ccs_opts)
  check_X(fn, X_pos, "X_pos")
  check_X(fn, X_neg, "X_neg")
  if X_pos:size(1) ~= X_neg:size(1) or X_pos:size(2) ~= X_neg:size(2) then
    error(string.format("%s: X_pos %s and X_neg %s must have the same shape (one pair per row)", fn,
      shape_str(X_pos), shape_str(X_neg)), 2)
  end
  local n_tries = check_number(fn, "n_tries", opts.n_tries or 10, 1)
  local epochs = check_number(fn, "epochs", opts.epochs or 1000, 1)
  local lr = check_number(fn, "lr", opts.lr or 1e-3, 0)
  local wd = check_number(fn, "weight_decay", opts.weight_decay or 0.01, 0)
  local gen = opts.gen or tensor.generator(opts.seed or 0)
  local nn, optim = require "nn", require "optim"
  local stats = {}
  local function norm(X, which)
    X = X:to("f32")
    local st = { mean = X:mean(1, true) }
    local Z = X - st.mean
    if opts.var_normalize then
      st.std = Z:std(1, true):clamp(1e-12)
      Z = Z / st.std
    end
    stats[which] = st
    return Z:contiguous()
  end
  local Zp, Zn = norm(X_pos, "pos"), norm(X_neg, "neg")
  local function loss_of(lin)
    local pp, pn = lin(Zp):sigmoid(), lin(Zn):sigmoid()
    return (pp - (1 - pn)):square():mean() + pp:minimum(pn):square():mean()
  end
  local best, best_loss = nil, math.huge
  for _ = 1, n_tries do
    local lin = nn.Linear(X_pos:size(2), 1, { gen = gen })
    local opt = optim.AdamW(lin:parameters(), { lr = lr, weight_decay = wd })
    for _ = 1, epochs do
      opt:zero_grad()
      local l = loss_of(lin)
      l:backward()
      opt:step()
    end
    local l = autograd.no_grad(function() return loss_of(lin):item() end)
    if l < best_loss then best, best_loss = lin, l end
  end
  local self = setmetatable({
    theta = best.weight:detach():view(-1):clone(), bias = best.bias:detach():item(), stats = stats,
    loss = best_loss, n_tries = n_tries, classes = tensor.new({ 0, 1 }), flipped = false,
  }, Ccs)
  if opts.y ~= nil and self:score(X_pos, X_neg, opts.y) < 0.5 then self.flipped = true end
  return self
end

-- --- the nonlinear probe ----------------------------------------------------------

local Mlp = { fn = "probe.mlp" }
Mlp.__index = Mlp

function Mlp:_logits(X)
  check_X(self.fn, X)
  if X:size(2) ~= self.d then
    error(string.format("%s: X has %d features, the probe was fitted on %d", self.fn, X:size(2), self.d), 3)
  end
  return autograd.no_grad(function() return self.model(X:to("f32")) end)
end

-- binary: the logit difference [n] (> 0: the second class); else logits [n, K]
function Mlp:decision_function(X)
  local z = self:_logits(X)
  if z:size(2) == 2 then return z:select(2, 2) - z:select(2, 1) end
  return z
end

function Mlp:predict_proba(X) return self:_logits(X):softmax(2) end
function Mlp:predict(X) return self.classes:index_select(1, self:_logits(X):argmax(2)) end
Mlp.score = Linear.score

-- A linearisation: the mean gradient over the training rows of the score
-- (binary: the logit difference; K classes: a class's logit minus the mean
-- logit), normalised; without a class, all K rows.
function Mlp:direction(class)
  local K = self.classes:numel()
  local rows = {}
  for k = 1, K do
    local Xg = self.X:to("f32"):detach():clone():requires_grad()
    local z = self.model(Xg)
    local s = K == 2 and (z:select(2, 2) - z:select(2, 1)) or (z:select(2, k) - z:mean(2))
    s:sum():backward()
    local g = Xg.grad:mean(1)
    rows[k] = g / g:norm():item()
    if K == 2 then return rows[1] end
  end
  local D = tensor.stack(rows, 1)
  if class == nil then return D end
  local row = class_numbers(self.classes, tensor.new({ class }, { dtype = "i64" }))[1]:item()
  if row == 0 then error(string.format("%s:direction: %s is not a class", self.fn, tostring(class)), 2) end
  return D:select(1, row)
end

function Mlp:__tostring()
  return string.format("probe.mlp(%d classes, %d features, hidden {%s})", self.classes:numel(), self.d,
    table.concat(self.hidden, ", "))
end

local mlp_opts = { hidden = true, epochs = true, lr = true, batch = true, weight_decay = true, seed = true, gen = true }

-- Linear-ReLU layers of the hidden sizes then a linear layer to K logits,
-- trained on cross-entropy by Adam over shuffled minibatches. Defaults are
-- scikit-learn's MLPClassifier (hidden {100}, lr 1e-3, batch min(200, n),
-- 200 epochs); weight_decay is Adam's L2 term (PyTorch's).
function M.mlp(X, y, opts)
  local fn = "probe.mlp"
  opts = check_opts(fn, opts, mlp_opts)
  check_X(fn, X)
  local n, d = X:size(1), X:size(2)
  y = check_y(fn, y, n)
  local classes, inv = encode(fn, y)
  local hidden = opts.hidden or { 100 }
  if type(hidden) == "number" then hidden = { hidden } end
  local epochs = check_number(fn, "epochs", opts.epochs or 200, 1)
  local lr = check_number(fn, "lr", opts.lr or 1e-3, 0)
  local wd = check_number(fn, "weight_decay", opts.weight_decay or 0, 0)
  local batch = math.floor(check_number(fn, "batch", opts.batch or math.min(200, n), 1))
  local gen = opts.gen or tensor.generator(opts.seed or 0)
  local nn, optim, data = require "nn", require "optim", require "data"
  local layers, width = {}, d
  for _, h in ipairs(hidden) do
    h = math.floor(check_number(fn, "hidden size", h, 1))
    layers[#layers + 1] = nn.Linear(width, h, { gen = gen })
    layers[#layers + 1] = nn.ReLU()
    width = h
  end
  layers[#layers + 1] = nn.Linear(width, classes:numel(), { gen = gen })
  local model = nn.Sequential(layers)
  local opt = optim.Adam(model:parameters(), { lr = lr, weight_decay = wd })
  local loader = data.loader(X:to("f32"), inv, { batch = batch, shuffle = true, gen = gen })
  local history = nn.fit(model, loader, { epochs = math.floor(epochs), opt = opt, log = false })
  model:eval()
  return setmetatable({ model = model, classes = classes, d = d, hidden = hidden, X = X,
    loss = history[#history].loss }, Mlp)
end

for _, d in ipairs {
  { "logistic", "probe.logistic(X, y, {l2=1/n, C=, fit_intercept=true, class_weight=nil|\"balanced\"|{[label]=w}, max_iter=100, tol=1e-4})",
    "L2 logistic regression by L-BFGS: mean cross-entropy + l2/2 |W|^2 (= scikit-learn's C = 1/(l2 n)); binary or multinomial" },
  { "ridge", "probe.ridge(X, Y, {alpha=1 | {a1, a2, ...}, fit_intercept=true})",
    "ridge regression |Y - XW^T - b|^2 + alpha |W|^2 (scikit-learn's Ridge), Y [n] or [n, m]; a list of alphas gives a list of probes from one eigendecomposition" },
  { "lda", "probe.lda(X, y, {shrinkage=nil|0..1, priors=})",
    "linear discriminant analysis with the pooled covariance (scikit-learn's solver=\"lsqr\"): coef_k = Sigma^+ mu_k" },
  { "mass_mean", "probe.mass_mean(X, y, {whiten=false, atol=1e-3, fit_intercept=true})",
    "mass-mean probe: direction mu_pos - mu_neg (whiten: Sigma^+ times it, pooled covariance), boundary halfway between the means" },
  { "ccs", "probe.ccs(X_pos, X_neg, {n_tries=10, epochs=1000, lr=1e-3, weight_decay=0.01, var_normalize=false, seed=0, gen=, y=})",
    "contrast-consistent search (Burns et al. 2022): unsupervised probe from consistency + confidence, best of n_tries seeded starts" },
  { "mlp", "probe.mlp(X, y, {hidden={100}, epochs=200, lr=1e-3, batch=min(200,n), weight_decay=0, seed=0, gen=})",
    "nonlinear probe: ReLU MLP on cross-entropy by Adam (scikit-learn MLPClassifier's defaults); :direction() is its mean input gradient" },
} do sonde.doc("probe." .. d[1], d[2], d[3]) end

for _, d in ipairs {
  { "decision_function", "p:decision_function(X)", "scores X W^T + b: [n] for a binary probe (> 0: the second class), else [n, K]" },
  { "predict", "p:predict(X)", "the predicted labels (i64, the original label values)" },
  { "predict_proba", "p:predict_proba(X)", "class probabilities [n, K], columns in the order of p.classes" },
  { "score", "p:score(X, y)", "accuracy of p:predict(X) against the labels y" },
  { "direction", "p:direction([class])", "the unit vector the probe reads ([d]); multiclass: [K, d] rows, or one class's row" },
  { "confidence", "ccs:confidence(X_pos, X_neg)", "CCS: (p(x+) + 1 - p(x-)) / 2, the belief that the positive statement is true" },
} do sonde.doc("Probe:" .. d[1], d[2], d[3]) end

return M
