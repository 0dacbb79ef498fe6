-- builtins_sample.lua: a .sonde file naming every documented built-in,
-- one a line, from a `sonde --dump-api` file:
--   tensor.zeros()     a module function (kind function)
--   x:sum()            a method
--   help()             a global function
-- The editor tests check each line is highlighted: a built-in renamed in
-- the registry without `make editor-files` fails them.
-- usage: sonde tests/editor/builtins_sample.lua API.json >FILE
local recipe = require "recipe"
local f = assert(io.open(arg[1]))
local api = recipe.json_decode(f:read("a"))
f:close()
local lines, seen = {}, {}
for name, e in pairs(api) do
  local line
  if e.kind == "method" then line = "x:" .. name:match(":(.*)$") .. "()"
  elseif e.kind == "function" and name ~= "experiment" then line = name .. "()" -- the form has its own checks
  end
  if line and not seen[line] then seen[line] = true; lines[#lines + 1] = line end
end
table.sort(lines)
io.write(table.concat(lines, "\n"), "\n")
