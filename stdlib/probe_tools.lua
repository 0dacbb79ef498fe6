-- probe_tools.lua: part of the `probe` module (see probe.lua).
local M = {}
return M
