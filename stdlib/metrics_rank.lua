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

function M.auroc(scores, labels) return K.auroc(scores, labels) end
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

for _, d in ipairs {
  { "auroc", "metrics.auroc(scores, labels)",
    "area under the ROC: P(s+ > s-) + P(s+ = s-)/2, exact (= sklearn roc_auc_score)" },
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
