-- api_trace.lua: runs a Lua test file with every documented module function,
-- Tensor method and Module method wrapped, so each call the file makes is
-- checked against the types of stdlib/api_types.lua (api_check.lua): a
-- correct program whose values the declared types refuse is a wrong type.
-- usage: sonde tests/lua/api_trace.lua tests/lua/test_x.lua
-- Prints "TYPE <problem>" once per problem and "TRACED <file>: N calls".
local C = require "api_check"
local entries = C.entries
local seen, reported, calls = {}, {}, 0

local function wrap(name, f)
  return function(...)
    local args = table.pack(...)
    local res = table.pack(f(...))
    calls, seen[name] = calls + 1, true
    local p = C.check_args(name, args) or C.check_results(name, res)
    if p and not reported[p] then reported[p] = true; print("TYPE " .. p) end
    return table.unpack(res, 1, res.n)
  end
end

for name, e in pairs(entries) do
  if e.kind == "function" and e.module ~= "_G" then
    local f = C.resolve(name)
    local mod = package.loaded[e.module]
    if not mod then
      mod = _G
      for part in e.module:gmatch("[^.]+") do mod = type(mod) == "table" and mod[part] or nil end
    end
    if type(f) == "function" and type(mod) == "table" then mod[name:match("[^.]+$")] = wrap(name, f) end
  end
end

-- Tensor methods come through the metatable's __index function
local mt = getmetatable(tensor.ones(1))
local index, wrapped = mt.__index, {}
mt.__index = function(t, k)
  local v = index(t, k)
  if type(v) == "function" and type(k) == "string" and entries["Tensor:" .. k] then
    wrapped[k] = wrapped[k] or wrap("Tensor:" .. k, v)
    return wrapped[k]
  end
  return v
end
for k, v in pairs(nn.Module) do
  if type(v) == "function" and entries["Module:" .. k] then nn.Module[k] = wrap("Module:" .. k, v) end
end

local file = assert(arg[1], "usage: api_trace.lua TEST_FILE")
local n = 0
local exit = os.exit
os.exit = function() end -- T.done exits; the tally of the file is not ours
local ok, err = pcall(dofile, file)
os.exit = exit
for _ in pairs(seen) do n = n + 1 end
print(string.format("TRACED %s: %d calls of %d built-ins%s", file, calls, n, ok and "" or (" (stopped: " .. tostring(err) .. ")")))
