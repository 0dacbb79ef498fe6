-- metrics_class.lua: part of the `metrics` module (see metrics.lua):
-- classification metrics taking (predictions or probabilities, labels), with
-- scikit-learn 1.2's definitions: accuracy, precision, recall, f1,
-- confusion; and the calibration metrics ece and brier.
--
-- The first argument is read as:
--   2-d float [n, K]  probabilities or scores: the prediction is the argmax
--                     column k, which is class k (class k-1 when the labels
--                     contain 0, for 0/1 binary targets);
--   1-d float [n]     the probability of class 1 (binary, 0/1 labels):
--                     predicted 1 when p >= 0.5;
--   integer / bool    predicted labels as they are (a table works too).
local sonde = require "sonde"

local M = {}

local function argerr(fn, n, msg) error(string.format("bad argument #%d to '%s' (%s)", n, fn, msg), 3) end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

local function is_float(t) local d = t:dtype() return d == "f32" or d == "f64" end

local function as_tensor(fn, n, v, name)
  if type(v) == "table" and not tensor.is_tensor(v) then v = tensor.new(v) end
  if not tensor.is_tensor(v) then argerr(fn, n, name .. " must be a tensor or a table") end
  return v
end

-- the labels as a list of integers (bool gives 0/1)
local function label_list(fn, y)
  y = as_tensor(fn, 2, y, "labels")
  if y:dim() ~= 1 then argerr(fn, 2, "labels must be 1-d, got " .. shape_str(y)) end
  if is_float(y) then
    if not y:eq(y:round()):all():item() then argerr(fn, 2, "labels must be integers") end
  end
  return y:to("i64"):tolist()
end

-- predicted labels (a list) from predictions or probabilities, given the labels
local function predictions(fn, p, y)
  p = as_tensor(fn, 1, p, "predictions")
  local n = #y
  if p:size(1) ~= n then
    argerr(fn, 1, string.format("predictions %s for %d labels", shape_str(p), n))
  end
  if p:dim() == 2 and is_float(p) then
    local zero = false
    for i = 1, n do if y[i] == 0 then zero = true break end end
    local a = p:argmax(2)
    if zero then a = a - 1 end
    return a:tolist()
  elseif p:dim() == 1 and is_float(p) then
    return p:ge(0.5):to("i64"):tolist()
  elseif p:dim() == 1 then
    return p:to("i64"):tolist()
  end
  argerr(fn, 1, "predictions must be 1-d labels or probabilities, or 2-d [n,K] probabilities, got " .. shape_str(p))
end

local function sorted_union(a, b)
  local seen, out = {}, {}
  for _, t in ipairs { a, b } do
    for i = 1, #t do if not seen[t[i]] then seen[t[i]] = true; out[#out + 1] = t[i] end end
  end
  table.sort(out)
  return out
end

function M.accuracy(p, labels)
  local y = label_list("accuracy", labels)
  local yp = predictions("accuracy", p, y)
  if #y == 0 then return 0 / 0 end
  local c = 0
  for i = 1, #y do if yp[i] == y[i] then c = c + 1 end end
  return c / #y
end

function M.confusion(p, labels, opts)
  opts = opts or {}
  local y = label_list("confusion", labels)
  local yp = predictions("confusion", p, y)
  local L = opts.labels or sorted_union(y, yp)
  local at = {}
  for i, l in ipairs(L) do at[l] = i end
  local K = #L
  local C = {}
  for i = 1, K do C[i] = {} for j = 1, K do C[i][j] = 0 end end
  for i = 1, #y do
    local a, b = at[y[i]], at[yp[i]]
    if a and b then C[a][b] = C[a][b] + 1 end
  end
  if K == 0 then return tensor.zeros(0, 0, { dtype = "i64" }), L end
  return tensor.new(C, { dtype = "i64" }), L
end

-- per-label true positives, predicted and true counts over the label set
local function counts(fn, p, labels, opts)
  local y = label_list(fn, labels)
  local yp = predictions(fn, p, y)
  local average = opts.average
  local L
  if average == nil then
    local present = sorted_union(y, yp)
    for _, l in ipairs(present) do
      if l ~= 0 and l ~= 1 then
        argerr(fn, 3, "labels are not binary 0/1; pass average='macro', 'weighted', 'micro' or 'none'")
      end
    end
    L = { opts.pos_label or 1 }
  elseif average == "macro" or average == "weighted" or average == "micro" or average == "none" then
    L = opts.labels or sorted_union(y, yp)
  else
    argerr(fn, 3, "average must be nil (binary), 'macro', 'weighted', 'micro' or 'none', got '" .. tostring(average) .. "'")
  end
  local at, tp, ps, ts = {}, {}, {}, {}
  for i, l in ipairs(L) do at[l], tp[i], ps[i], ts[i] = i, 0, 0, 0 end
  for i = 1, #y do
    local a, b = at[y[i]], at[yp[i]]
    if a then ts[a] = ts[a] + 1 end
    if b then ps[b] = ps[b] + 1 end
    if a and a == b then tp[a] = tp[a] + 1 end
  end
  if average == "micro" then
    local t, q, s = 0, 0, 0
    for i = 1, #L do t, q, s = t + tp[i], q + ps[i], s + ts[i] end
    tp, ps, ts = { t }, { q }, { s }
  end
  return tp, ps, ts, L
end

local function zdiv(a, b, zd) if b == 0 then return zd end return a / b end

-- precision, recall and F1 per label then averaged, as sklearn 1.2's
-- precision_recall_fscore_support (zero_division = 0 or 1)
local function prf(fn, p, labels, opts)
  opts = opts or {}
  local zd = opts.zero_division or 0
  if zd ~= 0 and zd ~= 1 then argerr(fn, 3, "zero_division must be 0 or 1") end
  local tp, ps, ts, L = counts(fn, p, labels, opts)
  local P, R, F = {}, {}, {}
  for i = 1, #tp do
    P[i], R[i] = zdiv(tp[i], ps[i], zd), zdiv(tp[i], ts[i], zd)
    local den = P[i] + R[i]
    F[i] = den == 0 and 0 or 2 * P[i] * R[i] / den
  end
  if opts.average == "none" then
    return { precision = tensor.new(P, { dtype = "f64" }), recall = tensor.new(R, { dtype = "f64" }),
             f1 = tensor.new(F, { dtype = "f64" }), labels = L }
  end
  local w, wsum = {}, 0
  for i = 1, #tp do
    w[i] = opts.average == "weighted" and ts[i] or 1
    wsum = wsum + w[i]
  end
  if wsum == 0 then
    -- weighted with no true sample of any label: sklearn's special case
    local any_pred = false
    for i = 1, #ps do if ps[i] > 0 then any_pred = true end end
    if not any_pred then return { precision = zd, recall = zd, f1 = zd } end
    return { precision = 0, recall = zd, f1 = 0 }
  end
  local out = { precision = 0, recall = 0, f1 = 0 }
  for i = 1, #tp do
    out.precision = out.precision + w[i] * P[i] / wsum
    out.recall = out.recall + w[i] * R[i] / wsum
    out.f1 = out.f1 + w[i] * F[i] / wsum
  end
  return out
end

function M.precision(p, labels, opts) return prf("precision", p, labels, opts).precision end
function M.recall(p, labels, opts) return prf("recall", p, labels, opts).recall end
function M.f1(p, labels, opts) return prf("f1", p, labels, opts).f1 end

-- probabilities as [n, K] f64 plus the column of each label (1-based);
-- a 1-d p is P(class 1) for 0/1 labels and becomes [1-p, p]
local function probs(fn, p, labels)
  p = as_tensor(fn, 1, p, "probabilities")
  if not is_float(p) then argerr(fn, 1, "probabilities must be a float tensor, got " .. p:dtype()) end
  local y = label_list(fn, labels)
  if p:size(1) ~= #y then argerr(fn, 1, string.format("probabilities %s for %d labels", shape_str(p), #y)) end
  p = p:to("f64")
  local col = {}
  if p:dim() == 1 then
    for i = 1, #y do
      if y[i] ~= 0 and y[i] ~= 1 then argerr(fn, 2, "1-d probabilities need 0/1 labels") end
      col[i] = y[i] + 1
    end
    p = tensor.stack({ 1 - p, p }, 2)
  elseif p:dim() == 2 then
    local zero = false
    for i = 1, #y do if y[i] == 0 then zero = true break end end
    local K = p:size(2)
    for i = 1, #y do
      col[i] = zero and y[i] + 1 or y[i]
      if col[i] < 1 or col[i] > K then
        argerr(fn, 2, string.format("label %d is not a column of the %d probabilities", y[i], K))
      end
    end
  else
    argerr(fn, 1, "probabilities must be [n] or [n,K], got " .. shape_str(p))
  end
  return p, tensor.new(col, { dtype = "i64" })
end

function M.ece(p, labels, opts)
  opts = opts or {}
  local nb = opts.n_bins or 15
  if math.type(nb) ~= "integer" or nb < 1 then argerr("ece", 3, "n_bins must be a positive integer") end
  local P, col = probs("ece", p, labels)
  local n = P:size(1)
  if n == 0 then return 0 / 0 end
  local conf, pred = P:max(2)
  local correct = pred:eq(col):tolist()
  conf = conf:tolist()
  local cnt, sc, sa = {}, {}, {}
  for b = 1, nb do cnt[b], sc[b], sa[b] = 0, 0, 0 end
  for i = 1, n do
    -- bin b holds confidences in ((b-1)/nb, b/nb]; 0 goes to the first bin
    local b = math.max(1, math.min(nb, math.ceil(conf[i] * nb)))
    cnt[b], sc[b] = cnt[b] + 1, sc[b] + conf[i]
    if correct[i] then sa[b] = sa[b] + 1 end
  end
  local e = 0
  for b = 1, nb do
    if cnt[b] > 0 then e = e + math.abs(sa[b] - sc[b]) / n end
  end
  return e
end

function M.brier(p, labels)
  local raw = as_tensor("brier", 1, p, "probabilities")
  local P, col = probs("brier", p, labels)
  local n = P:size(1)
  if n == 0 then return 0 / 0 end
  local onehot = col:one_hot(P:size(2)):to("f64")
  if raw:dim() == 1 then
    -- sklearn's brier_score_loss: mean (p - y)^2
    return (P:select(2, 2) - onehot:select(2, 2)):square():mean():item()
  end
  return (P - onehot):square():sum(2):mean():item()
end

for _, d in ipairs {
  { "accuracy", "metrics.accuracy(pred_or_probs, labels)", "fraction of predictions equal to the labels (argmax of [n,K] probabilities; p >= 0.5 for 1-d probabilities)" },
  { "precision", "metrics.precision(pred_or_probs, labels, {average=nil|'macro'|'weighted'|'micro'|'none', pos_label=1, labels=, zero_division=0})",
    "tp / (tp + fp) as scikit-learn 1.2 (nil: binary 0/1 with pos_label); 'none' gives a per-label table" },
  { "recall", "metrics.recall(pred_or_probs, labels, {average=, pos_label=1, labels=, zero_division=0})",
    "tp / (tp + fn) as scikit-learn 1.2" },
  { "f1", "metrics.f1(pred_or_probs, labels, {average=, pos_label=1, labels=, zero_division=0})",
    "2 P R / (P + R) per label (0 when P + R = 0), then averaged, as scikit-learn 1.2" },
  { "confusion", "metrics.confusion(pred_or_probs, labels, {labels=})",
    "i64 [K,K] counts, rows true label, columns predicted, over the sorted labels present (or labels=); also returns the label list" },
  { "ece", "metrics.ece(probs, labels, {n_bins=15})",
    "expected calibration error of the top-label confidence: sum over equal-width bins ((b-1)/B, b/B] of |B|/n |acc - conf|" },
  { "brier", "metrics.brier(probs, labels)",
    "mean over samples of sum_k (p_k - [y = k])^2; for 1-d P(class 1) with 0/1 labels, mean (p - y)^2 as sklearn's brier_score_loss" },
} do sonde.doc("metrics." .. d[1], d[2], d[3]) end

return M
