-- probe.lua: the `probe` module: what a representation knows. Its parts:
-- probe_linear.lua (logistic, ridge, lda, mass_mean, ccs, mlp: fitted
-- objects with :predict, :direction, ...) and probe_tools.lua (mil,
-- conformal, layers, stability, rank_features). C kernels: probe.kernels.
local M = {}
for _, part in ipairs { "probe_linear", "probe_tools" } do
  for k, v in pairs(require(part)) do M[k] = v end
end
return M
