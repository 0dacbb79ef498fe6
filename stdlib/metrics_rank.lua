-- metrics_rank.lua: part of the `metrics` module (see metrics.lua): the
-- ranking metrics of detectors and attacks. Every metric takes (scores,
-- labels): scores higher = more positive (anomalous, OOD, member), labels
-- 0/1 of the same size (1 = positive), any dtype. Ties are grouped into one
-- operating point, as scikit-learn 1.2 does; the kernels are exact (sorted
-- in C, counted in integers). Definitions: docs/metrics-rank.md.
local K = require "detect.kernels"
local M = {}

local function opt(o, key, def, fn)
  if o == nil then return def end
  if type(o) ~= "table" then error(string.format("%s: options must be a table", fn), 3) end
  if o[key] == nil then return def end
  return o[key]
end

-- max_fpr: scikit-learn's McClish-standardised partial AUC over FPR in
-- [0, max_fpr], on roc_curve's points with the last one interpolated.
local function partial_auroc(scores, labels, m)
  if type(m) ~= "number" or m <= 0 or m > 1 then
    error("auroc: max_fpr must be in (0, 1], got " .. tostring(m), 3)
  end
  if m == 1 then return K.auroc(scores, labels) end
  local fpr, tpr = K.roc_curve(scores, labels, true)
  fpr, tpr = fpr:tolist(), tpr:tolist()
  local stop = 1 -- number of points with fpr <= m (searchsorted right)
  while stop < #fpr and fpr[stop + 1] <= m do stop = stop + 1 end
  local x0, x1, y0, y1 = fpr[stop], fpr[stop + 1], tpr[stop], tpr[stop + 1]
  local area = 0
  for i = 2, stop do area = area + (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2 end
  local yend = x1 == x0 and y1 or y0 + (y1 - y0) * (m - x0) / (x1 - x0)
  area = area + (m - x0) * (y0 + yend) / 2
  local lo, hi = 0.5 * m * m, m
  return 0.5 * (1 + (area - lo) / (hi - lo))
end

function M.auroc(scores, labels, o)
  local m = opt(o, "max_fpr", nil, "auroc")
  if m ~= nil then return partial_auroc(scores, labels, m) end
  return K.auroc(scores, labels)
end
function M.aupr(scores, labels) return K.aupr(scores, labels) end
function M.aupr_trapz(scores, labels) return K.aupr_trapz(scores, labels) end

function M.roc_curve(scores, labels, o)
  return K.roc_curve(scores, labels, opt(o, "drop_intermediate", true, "roc_curve"))
end

function M.pr_curve(scores, labels) return K.pr_curve(scores, labels) end

function M.fpr_at_tpr(scores, labels, tpr, o)
  if type(tpr) == "table" then tpr, o = nil, tpr end
  return K.fpr_at_tpr(scores, labels, tpr or 0.95, opt(o, "rule", "first_ge", "fpr_at_tpr"))
end

function M.tpr_at_fpr(scores, labels, fpr, o)
  if type(fpr) == "table" then fpr, o = nil, fpr end
  return K.tpr_at_fpr(scores, labels, fpr or 1e-3, opt(o, "strict", false, "tpr_at_fpr"))
end

-- MVTec AD's PRO: normalised area under the per-region overlap curve up to
-- fpr_limit; maps and masks [N, H, W] (or [H, W]).
function M.pro(maps, masks, o)
  return K.pro(maps, masks, opt(o, "fpr_limit", 0.3, "pro"))
end

-- Percentile bootstrap: fn(...) on n resamples (with replacement) of the
-- rows of every tensor argument (all of one length along dim 1); other
-- arguments pass through. Resamples where fn fails (one class only) are
-- skipped and counted.
function M.bootstrap(fn, ...)
  local args = table.pack(...)
  local o = {}
  if args.n > 0 and type(args[args.n]) == "table" and not tensor.is_tensor(args[args.n]) then
    o = args[args.n]
    args.n = args.n - 1
  end
  local reps, level = o.n or 1000, o.level or 0.95
  local g = o.gen or tensor.generator(o.seed or 0)
  local rows
  for i = 1, args.n do
    if tensor.is_tensor(args[i]) then
      local r = args[i]:size(1)
      if rows and r ~= rows then
        error(string.format("bootstrap: argument %d has %d rows, an earlier one %d", i + 1, r, rows), 2)
      end
      rows = r
    end
  end
  if not rows then error("bootstrap: no tensor argument to resample", 2) end
  local value = fn(table.unpack(args, 1, args.n))
  local vals, failed = {}, 0
  local sub = {}
  for _ = 1, reps do
    local idx = tensor.randint(1, rows + 1, rows, { gen = g })
    for i = 1, args.n do
      sub[i] = tensor.is_tensor(args[i]) and args[i]:index_select(1, idx) or args[i]
    end
    local ok, v = pcall(fn, table.unpack(sub, 1, args.n))
    if ok then vals[#vals + 1] = v else failed = failed + 1 end
  end
  if #vals == 0 then error("bootstrap: fn failed on every resample", 2) end
  table.sort(vals)
  local function q(p) -- numpy's linear percentile
    local pos = p * (#vals - 1) + 1
    local lo = math.floor(pos)
    local hi = math.min(lo + 1, #vals)
    return vals[lo] + (pos - lo) * (vals[hi] - vals[lo])
  end
  local mean, var = 0, 0
  for _, v in ipairs(vals) do mean = mean + v end
  mean = mean / #vals
  for _, v in ipairs(vals) do var = var + (v - mean) ^ 2 end
  return { value = value, mean = mean, std = math.sqrt(var / math.max(#vals - 1, 1)),
           lo = q((1 - level) / 2), hi = q((1 + level) / 2), n = #vals, failed = failed }
end

for _, d in ipairs {
  { "pro", "metrics.pro(maps, masks, {fpr_limit=0.3})",
    "MVTec AD's PRO: area under per-region overlap vs FPR up to fpr_limit, / fpr_limit (regions: 8-connected mask components)" },
  { "bootstrap", "metrics.bootstrap(fn, ..., {n=1000, seed=0, level=0.95})",
    "percentile CI of fn(...) over resampled rows of the tensor arguments: {value, mean, std, lo, hi, n, failed}" },
  { "auroc", "metrics.auroc(scores, labels, {max_fpr=nil})",
    "area under the ROC: P(s+ > s-) + P(s+ = s-)/2, exact (= sklearn roc_auc_score); max_fpr: McClish partial AUC as sklearn" },
  { "aupr", "metrics.aupr(scores, labels)",
    "average precision: sum of (R_k - R_k-1) P_k over distinct thresholds (= sklearn average_precision_score)" },
  { "aupr_trapz", "metrics.aupr_trapz(scores, labels)",
    "trapezoid area under pr_curve (= sklearn auc(recall, precision); optimistic, as OpenOOD's AUPR)" },
  { "roc_curve", "metrics.roc_curve(scores, labels, {drop_intermediate=true})",
    "fpr, tpr, thresholds (f64 tensors) as sklearn 1.2: (0,0) at max+1, then one point per distinct threshold" },
  { "pr_curve", "metrics.pr_curve(scores, labels)",
    "precision, recall, thresholds as sklearn 1.2 precision_recall_curve (thresholds ascending, then P=1, R=0)" },
  { "fpr_at_tpr", "metrics.fpr_at_tpr(scores, labels, tpr=0.95, {rule='first_ge'|'nearest'|'quantile'})",
    "FPR at the first distinct threshold reaching TPR >= tpr (rule: see docs/metrics-rank.md)" },
  { "tpr_at_fpr", "metrics.tpr_at_fpr(scores, labels, fpr=1e-3, {strict=false})",
    "largest TPR over distinct thresholds with FPR <= fpr (FPR < fpr when strict, as LiRA)" },
} do sonde.doc("metrics." .. d[1], d[2], d[3]) end

return M
