-- probe_linear.lua: part of the `probe` module (see probe.lua).
local M = {}
return M
