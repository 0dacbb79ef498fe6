-- repl.lua: the Lua side of the REPL: pretty printing of results and the
-- candidates of tab completion. interp/repl.c calls repl.print and
-- repl.complete; both are plain functions, testable without a terminal.
local repl = {}

local rawget, next, type, tostring = rawget, next, type, tostring
local getmetatable = debug.getmetatable
local fmt, concat, sort = string.format, table.concat, table.sort

repl.max_depth = 3    -- nesting shown before {...}
repl.max_items = 20   -- entries shown per table before ...
repl.width = 80       -- a table longer than this on one line is broken up

-- --- pretty printing ---

local function is_ident(s)
  return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil and not repl.keywords[s]
end

-- Keys in a fixed order whatever the hash seed: numbers, then strings,
-- then the rest by type name and printed form.
local kind = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ka, kb = kind[type(a)] or 4, kind[type(b)] or 4
  if ka ~= kb then return ka < kb end
  if ka == 1 or ka == 2 then return a < b end
  if ka == 3 then return (not a) and b end
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  return tostring(a) < tostring(b)
end

local function scalar(v)
  if type(v) == "string" then return (fmt("%q", v):gsub("\\\n", "\\n")) end
  return tostring(v) -- numbers as Lua prints them: 1, 1.0, 1e+100
end

local function custom_tostring(v)
  local mt = getmetatable(v)
  return mt and rawget(mt, "__tostring") ~= nil
end

-- Renders v; returns the lines it needs (one line when it fits).
local function render(v, depth, path, indent)
  if type(v) ~= "table" or custom_tostring(v) then
    if type(v) == "string" or type(v) == "number" then return scalar(v) end
    local ok, s = pcall(tostring, v)
    if not ok or type(s) ~= "string" then return "<" .. type(v) .. ">" end
    return (s:gsub("\n", "\n" .. indent)) -- a multi-line tensor keeps the indent
  end
  if path[v] then return "<cycle>" end
  if next(v) == nil then return "{}" end
  if depth >= repl.max_depth then return "{...}" end
  path[v] = true
  -- the sequence 1..seq first, then the other keys in a fixed order
  local seq = 0
  while rawget(v, seq + 1) ~= nil do seq = seq + 1 end
  local keys, n = {}, seq
  for i = 1, seq do keys[i] = i end
  local rest = {}
  for k in next, v do
    if not (math.type(k) == "integer" and k >= 1 and k <= seq) then rest[#rest + 1] = k end
  end
  sort(rest, key_less)
  for _, k in ipairs(rest) do n = n + 1; keys[n] = k end
  local parts = {}
  for i, k in ipairs(keys) do
    if i > repl.max_items then
      parts[#parts + 1] = fmt("... (%d more)", n - repl.max_items)
      break
    end
    local val = render(rawget(v, k), depth + 1, path, indent .. "  ")
    if i <= seq then
      parts[#parts + 1] = val
    elseif is_ident(k) then
      parts[#parts + 1] = k .. " = " .. val
    else
      parts[#parts + 1] = "[" .. render(k, repl.max_depth, path, indent) .. "] = " .. val
    end
  end
  path[v] = nil
  local line = "{" .. concat(parts, ", ") .. "}"
  if #line + #indent <= repl.width and not line:find("\n") then return line end
  -- too long: entries packed into lines of the width; a multi-line entry
  -- stands on its own lines
  local inner = indent .. "  "
  local lines, cur = {}, nil
  for i, part in ipairs(parts) do
    local item = part .. (i < #parts and "," or "")
    if part:find("\n") then
      if cur then lines[#lines + 1] = cur; cur = nil end
      lines[#lines + 1] = inner .. item
    elseif cur and #cur + 1 + #item <= repl.width then
      cur = cur .. " " .. item
    else
      if cur then lines[#lines + 1] = cur end
      cur = inner .. item
    end
  end
  if cur then lines[#lines + 1] = cur end
  return "{\n" .. concat(lines, "\n") .. "\n" .. indent .. "}"
end

-- repl.show(v): v as a Lua literal, depth- and width-limited, keys sorted.
function repl.show(v)
  return (render(v, 0, {}, ""))
end

-- repl.print(...): what the REPL prints for the values of an expression.
function repl.print(...)
  local n = select("#", ...)
  if n == 0 then return end
  local out = {}
  for i = 1, n do out[i] = repl.show((select(i, ...))) end
  io.write(concat(out, "\t"), "\n")
  io.flush()
end

-- --- completion ---

repl.keywords = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  repl.keywords[w] = true
end

-- The tables whose names a value answers to: the value itself when a
-- table, then its metatable's __index chain. A C __index function is not
-- called; its upvalues that are tables (tensors keep their methods there)
-- and a __methods field stand in for it. Nothing here runs user code.
local function sources(v, out, seen)
  if seen[v] then return out end
  seen[v] = true
  if type(v) == "table" then out[#out + 1] = v end
  local mt = getmetatable(v)
  if type(mt) ~= "table" then return out end
  local methods = rawget(mt, "__methods")
  if type(methods) == "table" then sources(methods, out, seen) end
  local index = rawget(mt, "__index")
  if type(index) == "table" then
    sources(index, out, seen)
  elseif type(index) == "function" then
    for i = 1, 255 do
      local name, up = debug.getupvalue(index, i)
      if name == nil then break end
      if type(up) == "table" and up ~= _G then sources(up, out, seen) end
    end
  end
  return out
end

-- A stdlib module not loaded yet is loaded to list its fields: it is
-- sonde's own code, not the user's.
local function global(name)
  local v = rawget(_G, name)
  if v == nil and package.preload[name] and name ~= "init" then
    local ok, m = pcall(require, name)
    if ok then v = m end
  end
  return v
end

-- The value a dotted path names, looked up with rawget only.
local function resolve(path)
  local v
  for part in path:gmatch("[^.]+") do
    if v == nil then v = global(part)
    else
      local found
      for _, t in ipairs(sources(v, {}, {})) do
        found = rawget(t, part)
        if found ~= nil then break end
      end
      v = found
    end
    if v == nil then return nil end
  end
  return v
end

-- repl.complete(text): sorted full replacements for the word being typed:
-- "pri" -> "print", "tensor.ze" -> "tensor.zeros", "x:res" -> "x:reshape".
function repl.complete(text)
  local base, sep, prefix = text:match("^(.-)([.:])([%w_]*)$")
  local names, seen = {}, {}
  local function add(k, v)
    if type(k) == "string" and k:sub(1, #prefix) == prefix and k:match("^[%a_][%w_]*$")
        and not seen[k] and (sep ~= ":" or type(v) == "function") then
      seen[k] = true
      names[#names + 1] = k
    end
  end
  if base then
    if not base:match("^[%a_][%w_.]*$") or base:find("%.%.") or base:find("%.$") then
      return {}
    end
    local v = resolve(base)
    if v == nil then return {} end
    for _, t in ipairs(sources(v, {}, {})) do
      for k, val in next, t do add(k, val) end
    end
  else
    prefix, base, sep = text, "", ""
    for k, val in next, _G do add(k, val) end
    for k in pairs(package.preload) do if k ~= "init" then add(k, true) end end
    for k in pairs(repl.keywords) do add(k, true) end
  end
  sort(names)
  for i, k in ipairs(names) do names[i] = base .. sep .. k end
  return names
end

return repl
