-- unlearn.lua: the `unlearn` module: machine-unlearning methods and the
-- audits that test whether they forgot. Its parts: unlearn_methods.lua
-- (retrain, finetune, gradient_ascent, graddiff, random_label, npo, scrub),
-- unlearn_mia.lua (mia: loss, entropy, LiRA, RMIA; shadows) and
-- unlearn_audit.lua (accuracy, evaluate, relearn, representation, report);
-- shared helpers in unlearn_common.lua. Datasets are tables {X=, y=} (or
-- pairs {X, y}) with 1-based class labels; models are nn modules.
local M = {}
for _, part in ipairs { "unlearn_methods", "unlearn_mia", "unlearn_audit" } do
  for k, v in pairs(require(part)) do M[k] = v end
end
return M
