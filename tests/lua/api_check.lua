-- api_check.lua: checks values against the LuaLS types stdlib/api_types.lua
-- gives the documented built-ins (as `sonde --dump-api` carries them), for
-- test_api_types.lua and the tracer api_trace.lua. A class is recognised at
-- runtime as RECOGNISE says; a record by its fields.
local api, types = require "api", require "api_types"

local entries = {}
for _, e in ipairs(api.entries()) do entries[e.name] = e end

-- The registry's classes (owners of documented methods) and their methods.
local methods = {}
for name, e in pairs(entries) do
  if e.kind == "method" then
    methods[e.module] = methods[e.module] or {}
    methods[e.module][#methods[e.module] + 1] = name:match(":(.*)$")
  end
end

-- Methods only some objects of a class have (the registry documents them on
-- the class: a CCS probe's confidence, a classifier's predict_proba, not ridge's).
local OPTIONAL = { ["Probe:confidence"] = true, ["Probe:predict_proba"] = true }

local function is_tensor(v) return tensor.is_tensor(v) end
local function mt_name(v) local mt = getmetatable(v); return type(mt) == "table" and mt.__name end

-- How a class is recognised at runtime: tensors and modules by their own
-- predicates, userdata classes by their metatable's __name, table classes by
-- having every method the registry documents for them.
local RECOGNISE = {
  Tensor = is_tensor,
  Module = function(v) return nn.is_module(v) end,
  Generator = function(v) return type(v) == "userdata" and mt_name(v) == "Generator" end,
  Canvas = function(v) return type(v) == "userdata" and mt_name(v) == "sonde.Canvas" end,
}
local function duck(class, v)
  if type(v) ~= "table" or is_tensor(v) or nn.is_module(v) then return false end
  for _, m in ipairs(methods[class]) do
    if not OPTIONAL[class .. ":" .. m] and type(v[m]) ~= "function" then return false end
  end
  return true
end

local BUILTIN = {
  any = function() return true end,
  ["nil"] = function(v) return v == nil end,
  boolean = function(v) return type(v) == "boolean" end,
  number = function(v) return type(v) == "number" end,
  integer = function(v) return math.type(v) == "integer" end,
  string = function(v) return type(v) == "string" end,
  table = function(v) return type(v) == "table" end,
  ["function"] = function(v) return type(v) == "function" end,
  userdata = function(v) return type(v) == "userdata" end,
}

-- split(s, sep): s cut at sep outside <>, () and {}
local function split(s, sep)
  local out, depth, start = {}, 0, 1
  for i = 1, #s do
    local c = s:sub(i, i)
    if c == "<" or c == "(" or c == "{" then depth = depth + 1
    elseif c == ">" or c == ")" or c == "}" then depth = depth - 1
    elseif c == sep and depth == 0 then out[#out + 1] = s:sub(start, i - 1); start = i + 1 end
  end
  out[#out + 1] = s:sub(start)
  for i, p in ipairs(out) do out[i] = p:match("^%s*(.-)%s*$") end
  return out
end

-- conforms(v, ty): v is a value of the LuaLS type ty
local conforms
function conforms(v, ty)
  if ty:sub(1, 4) == "fun(" then return type(v) == "function" end
  local alts = split(ty, "|")
  if #alts > 1 then
    for _, a in ipairs(alts) do if conforms(v, a) then return true end end
    return false
  end
  if ty:sub(-1) == "?" then return v == nil or conforms(v, ty:sub(1, -2)) end
  if ty:sub(-2) == "[]" then
    if type(v) ~= "table" or is_tensor(v) or getmetatable(v) then return false end
    for k, x in pairs(v) do
      if math.type(k) ~= "integer" or not conforms(x, ty:sub(1, -3)) then return false end
    end
    return true
  end
  local k, val = ty:match("^table<(.*)>$")
  if k then
    local kv = split(k, ",")
    if type(v) ~= "table" or is_tensor(v) then return false end
    for a, b in pairs(v) do
      if not conforms(a, kv[1]) or not conforms(b, kv[2]) then return false end
    end
    return true
  end
  if BUILTIN[ty] then return BUILTIN[ty](v) end
  if RECOGNISE[ty] then return RECOGNISE[ty](v) end
  if methods[ty] then return duck(ty, v) end
  local record = types.records[ty]
  if record then
    if type(v) ~= "table" then return false end
    for f, fty in pairs(record) do if not conforms(v[f], fty) then return false end end
    return true
  end
  error("unknown type " .. ty)
end

local function describe(v)
  if is_tensor(v) then return "Tensor" end
  return mt_name(v) or math.type(v) or type(v)
end

-- the type of a "Type name" return line: the text before a last word that
-- follows a space outside brackets ("table<string, Tensor> t"); fun() types
-- have no name
local function ret_type(r)
  if r:sub(1, 4) == "fun(" then return r end
  local parts = split(r, " ")
  if #parts > 1 and parts[#parts]:match("^[%a_][%w_]*$") then
    return (r:gsub("%s+[%a_][%w_]*$", ""))
  end
  return r
end

-- check(name, results): the results of a call of name against its declared
-- returns; a problem string or nil.
local function check_results(name, res)
  local e = entries[name]
  local rets = e.returns
  if not rets then return nil end
  if res.n > #rets then
    return string.format("%s returned %d values, declared %d", name, res.n, #rets)
  end
  for i, r in ipairs(rets) do
    local ty = ret_type(r)
    if not conforms(res[i], ty) then
      return string.format("%s: result %d is %s, declared %s", name, i, describe(res[i]), ty)
    end
  end
end

local function check_args(name, args)
  local e = entries[name]
  local off = e.kind == "method" and 1 or 0
  for i, p in ipairs(e.params) do
    for j = i + off, p.vararg and math.max(args.n, i + off) or i + off do -- a vararg: every value
      local v = args[j]
      if p.type and v ~= nil and not conforms(v, p.type) then
        return string.format("%s: argument %s is %s, declared %s", name, p.name, describe(v), p.type)
      end
    end
    if p.vararg then break end
  end
end

-- the function a registry name names (plot.cairo is a loaded module only)
local function resolve(name)
  local mod = entries[name].module
  local t = package.loaded[mod]
  if not t then
    t = _G
    for part in mod:gmatch("[^.]+") do t = type(t) == "table" and t[part] or nil end
  end
  return type(t) == "table" and t[name:match("[^.]+$")] or nil
end
return { entries = entries, methods = methods, conforms = conforms, split = split, describe = describe,
  is_tensor = is_tensor, check_args = check_args, check_results = check_results, resolve = resolve }
