-- testlib.lua: the assertion library of sonde's Lua tests.
--   local T = require "testlib"
--   T.test("name", function() T.eq(1 + 1, 2) end)
--   T.done()   -- prints the tally line the driver reads
-- A failing check reports the file:line of the check in the test file.
local T = {}
local passed, failed = 0, 0
local current

local function where(level)
  local info = debug.getinfo(level + 1, "Sl")
  return info and (info.short_src .. ":" .. info.currentline) or "?"
end

local function fail(msg, level)
  error({ testlib = true, msg = msg, at = where((level or 1) + 1) }, 0)
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  if type(v) == "table" and not getmetatable(v) then
    local parts = {}
    for i = 1, #v do parts[i] = show(v[i]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(v)
end
T.show = show

local function deep_eq(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then
    return type(a) == "number" and type(b) == "number" and a ~= a and b ~= b
  end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

function T.test(name, fn)
  current = name
  local ok, err = xpcall(fn, function(e)
    if type(e) == "table" and e.testlib then return e end
    return { msg = tostring(e), at = "", trace = debug.traceback("", 2) }
  end)
  if ok then
    passed = passed + 1
  else
    failed = failed + 1
    io.stderr:write(string.format("FAIL %s: %s%s%s\n", name, err.at ~= "" and err.at .. ": " or "",
      err.msg, err.trace and ("\n" .. err.trace) or ""))
  end
end

function T.ok(v, msg) if not v then fail(msg or "expected a true value", 2) end end
function T.eq(a, b, msg)
  if not deep_eq(a, b) then fail((msg and msg .. ": " or "") .. show(a) .. " ~= " .. show(b), 2) end
end
function T.near(a, b, tol, msg)
  tol = tol or 1e-6
  local function close(x, y) return math.abs(x - y) <= tol * (1 + math.abs(y)) end
  if type(a) == "table" then
    T.eq(#a, #b, "lengths")
    for i = 1, #a do
      if not close(a[i], b[i]) then fail(string.format("%sat %d: %.17g ~= %.17g", msg and msg .. ": " or "", i, a[i], b[i]), 2) end
    end
  elseif not close(a, b) then
    fail(string.format("%s%.17g ~= %.17g (tol %g)", msg and msg .. ": " or "", a, b, tol), 2)
  end
end
-- T.raises(fn, pattern): fn must raise an error whose message contains pattern (plain text).
function T.raises(fn, pattern)
  local ok, err = pcall(fn)
  if ok then fail("expected an error" .. (pattern and (" matching '" .. pattern .. "'") or ""), 2) end
  if pattern and not tostring(err):find(pattern, 1, true) then
    fail("error '" .. tostring(err) .. "' does not contain '" .. pattern .. "'", 2)
  end
  return err
end

-- --- for the example tests (tests/examples/*.sh), which check run directories ---

-- metrics.jsonl of a run directory, one decoded table per line
function T.records(dir)
  local decode, out = require("recipe").json_decode, {}
  for line in io.lines(dir .. "/metrics.jsonl") do out[#out + 1] = decode(line) end
  return out
end

-- the number of distinct colours in a CxHxW u8 image (grey or RGB[A])
function T.colours(img)
  local x = img:to("i64")
  local key = x:select(1, 1) * 65536
  if img:size(1) >= 3 then key = key + x:select(1, 2) * 256 + x:select(1, 3) end
  return key:flatten():unique():numel()
end

function T.done()
  io.stdout:write(string.format("TALLY %d passed, %d failed\n", passed, failed))
  return failed == 0
end

return T
