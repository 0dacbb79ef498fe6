-- metrics_rank.lua: part of the `metrics` module (see metrics.lua).
local M = {}
return M
