-- metrics.lua: the `metrics` module. Every metric takes (scores or
-- predictions, labels), like cross_entropy(input, target). Its parts:
-- metrics_class.lua (accuracy, f1, precision, recall, confusion, ece, brier),
-- metrics_repr.lua (cka, svcca, knn_accuracy) and metrics_rank.lua (auroc,
-- aupr, fpr_at_tpr, roc_curve, pro, bootstrap, ...).
local M = {}
for _, part in ipairs { "metrics_class", "metrics_repr", "metrics_rank" } do
  for k, v in pairs(require(part)) do M[k] = v end
end
return M
