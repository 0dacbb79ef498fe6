-- test_prelude.lua: what stdlib/init.lua makes available to every script.
local T = require "testlib"

T.test("stdlib modules are lazy globals", function()
  T.eq(rawget(_G, "optim"), nil)
  T.ok(optim.Adam ~= nil and rawget(_G, "optim") == nil, "optim loads on first use")
  T.eq(type(data.loader), "function")
  T.eq(type(data.image_folder), "function")
end)

T.test("experiment outside `sonde run` says how to run a recipe", function()
  T.raises(function() experiment "x" { run = function() end } end, "sonde run FILE")
end)

T.done()
