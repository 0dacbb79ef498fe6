-- test_repl.lua: the Lua side of the REPL without a terminal: the pretty
-- printer (repl.show), completion candidates (repl.complete) and help.text.
local T = require "testlib"
local repl = require "repl"

T.test("completion loads a lazy stdlib module to list its fields", function()
  T.eq(package.loaded.help, nil)
  T.eq(repl.complete("help.te"), { "help.text" })
end)

local help = require "help"

T.test("scalars", function()
  T.eq(repl.show(1), "1")
  T.eq(repl.show(1.0), "1.0")
  T.eq(repl.show(0.1), "0.1")
  T.eq(repl.show(-1 / 0), "-inf")
  T.eq(repl.show("a\nb\"c"), '"a\\nb\\"c"')
  T.eq(repl.show(nil), "nil")
  T.eq(repl.show(true), "true")
  T.eq(repl.show({}), "{}")
end)

T.test("tables as literals with sorted keys", function()
  T.eq(repl.show({ 1, 2, 3 }), "{1, 2, 3}")
  T.eq(repl.show({ z = 1, a = 2, m = 3 }), "{a = 2, m = 3, z = 1}")
  T.eq(repl.show({ 10, 20, [5] = 50, [-1] = 0, b = 1, ["not id"] = 2, ["end"] = 3 }),
    '{10, 20, [-1] = 0, [5] = 50, b = 1, ["end"] = 3, ["not id"] = 2}')
  T.eq(repl.show({ [true] = 1, [false] = 0 }), "{[false] = 0, [true] = 1}")
  T.eq(repl.show({ [1.5] = "x", [1] = "y" }), '{"y", [1.5] = "x"}')
end)

T.test("key order does not depend on insertion or hash order", function()
  local a, b = {}, {}
  local keys = {}
  for i = 1, 15 do keys[i] = "k" .. i end
  for i = 1, 15 do a[keys[i]] = i end
  for i = 15, 1, -1 do b[keys[i]] = i end
  T.eq(repl.show(a), repl.show(b))
  T.ok(repl.show(a):find("^{\n  k1 = 1, k10 = 10, k11 = 11"), repl.show(a))
end)

T.test("depth, width and cycles are limited", function()
  T.eq(repl.show({ a = { b = { c = { d = 1 } } } }), "{a = {b = {c = {...}}}}")
  local long = {}
  for i = 1, 25 do long[i] = i end
  local s = repl.show(long)
  T.ok(s:find("19, 20,\n  ... (5 more)\n}", 1, true), s)
  T.ok(not s:find("21", 1, true), s)
  local c = { name = "c" }
  c.self = c
  c.list = { c }
  T.eq(repl.show(c), '{list = {<cycle>}, name = "c", self = <cycle>}')
  local shared = { 1 }
  T.eq(repl.show({ shared, shared }), "{{1}, {1}}") -- shared is not a cycle
end)

T.test("long tables break into lines", function()
  local t = {}
  for i = 1, 8 do t["field" .. i] = string.rep("x", 10) end
  local s = repl.show(t)
  T.ok(s:find('^{\n  field1 = "xxxxxxxxxx", field2 = "xxxxxxxxxx", field3 = "xxxxxxxxxx",\n  field4'), s)
  T.ok(s:find('field8 = "xxxxxxxxxx"\n}$'), s)
  for l in s:gmatch("[^\n]+") do T.ok(#l <= repl.width, l) end
end)

T.test("tensors and objects print through __tostring", function()
  local x = tensor.zeros(2)
  T.eq(repl.show(x), tostring(x))
  T.eq(repl.show({ x }), "{" .. tostring(x) .. "}")
  local m = tensor.ones(2, 2)
  local s = repl.show({ m, a = 1 })
  T.ok(s:find("\n  " .. tostring(m):gsub("\n", "\n  "), 1, true), s) -- indented
  local obj = setmetatable({}, { __tostring = function() return "<obj>" end })
  T.eq(repl.show(obj), "<obj>")
  local broken = setmetatable({}, { __tostring = function() error("no") end })
  T.eq(repl.show(broken), "<table>")
end)

local function has(list, s)
  for _, v in ipairs(list) do if v == s then return true end end
  return false
end

T.test("completion of globals, lazy modules and keywords", function()
  T.eq(repl.complete("pri"), { "print" })
  T.ok(has(repl.complete("te"), "tensor"))
  T.ok(has(repl.complete("he"), "help"))      -- a stdlib module not loaded yet
  T.ok(not has(repl.complete("in"), "init"))  -- the prelude is not a module
  T.ok(has(repl.complete("fun"), "function"))
end)

T.test("completion of fields, nested fields and methods", function()
  T.ok(has(repl.complete("tensor.ze"), "tensor.zeros"))
  T.ok(has(repl.complete("tensor.li"), "tensor.linspace"))
  T.ok(has(repl.complete("string.fo"), "string.format"))
  _G.__nt = { inner = { deepname = 1, other = 2 } }
  T.eq(repl.complete("__nt.inner.d"), { "__nt.inner.deepname" })
  T.eq(repl.complete("__nt.inner."), { "__nt.inner.deepname", "__nt.inner.other" })
  T.eq(repl.complete("__nt.nothing.x"), {})
  T.eq(repl.complete("__nt..x"), {})
  _G.__nt = nil
  _G.__x = tensor.ones(2, 3)
  local m = repl.complete("__x:res")
  T.ok(has(m, "__x:reshape"), table.concat(m, " "))
  T.ok(has(repl.complete("__x:"), "__x:clone"))
  _G.__x = nil
end)

T.test("completion walks __index tables and C __index upvalues, runs no code", function()
  local Base = { hello = function() end, data = 1 }
  local Class = setmetatable({ greet = function() end }, { __index = Base })
  _G.__obj = setmetatable({ own = 1 }, { __index = Class })
  T.eq(repl.complete("__obj:"), { "__obj:greet", "__obj:hello" }) -- functions only
  T.eq(repl.complete("__obj."), { "__obj.data", "__obj.greet", "__obj.hello", "__obj.own" })
  local called = false
  _G.__lazy = setmetatable({}, { __index = function() called = true end,
    __methods = { run = function() end } })
  T.eq(repl.complete("__lazy:r"), { "__lazy:run" })
  T.ok(not called, "an __index function was called")
  _G.__obj, _G.__lazy = nil, nil
end)

T.test("help finds docs by name, by function and by module", function()
  T.ok(help.text(tensor.zeros):find("tensor.zeros(", 1, true))
  T.ok(help.text("tensor.zeros"):find("tensor of zeros", 1, true))
  T.ok(help.text("zeros"):find("tensor.zeros(", 1, true))
  T.ok(help.text(tensor):find("tensor.ones(", 1, true))
  T.ok(help.text("tensor"):find("tensor.ones(", 1, true))
  T.ok(help.text(tensor.ones(2)):find("t:reshape(", 1, true))
  T.ok(help.text("Tensor"):find("t:clone(", 1, true))
  T.ok(help.text("t:clone"):find("contiguous copy", 1, true))
  T.ok(help.text():find("tensor", 1, true))
  T.ok(help.text(help):find("help([obj])", 1, true))
end)

T.test("help on unknown things says so, with close names", function()
  T.ok(help.text("tensr.zeros"):find("did you mean: tensor.zeros", 1, true))
  T.ok(help.text("qqqqqqqqqqqq"):find("no help for 'qqqqqqqqqqqq'; help() lists", 1, true))
  T.ok(help.text(function() end):find("a Lua function defined at", 1, true))
  T.ok(help.text(42):find("no help for a number", 1, true))
  T.ok(help.text({}):find("not a documented module", 1, true))
end)

T.test("sonde.doc entries from Lua code show in help", function()
  sonde.doc("mymod.thing", "mymod.thing(a)", "does a thing")
  T.eq(help.text("mymod.thing"), "mymod.thing(a)\n    does a thing")
end)

T.test("help finds functions in a module's sub-tables by identity", function()
  T.ok(help.text(data.synthetic.blobs):find("data.synthetic.blobs", 1, true))
  T.ok(help.text(tensor.zeros):find("tensor.zeros", 1, true))
end)

T.done()
