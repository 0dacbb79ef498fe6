-- test_special.lua: tensor.lgamma, digamma and polygamma from Lua: the
-- binding (function and method forms, dtypes, errors naming the argument)
-- and the values against PyTorch 1.13 on a grid that crosses the poles.
-- PyTorch's own trigamma is accurate to ~1e-9 only (six recurrence steps
-- and a short series), so that order is compared at 1e-8; sonde's is
-- checked to 1e-15 against closed forms in tests/unit/test_special.c.
local T = require "testlib"

T.test("forms and dtypes", function()
  local x = tensor.new({ 0.5, 1, 2, 3.5 }, { dtype = "f64" })
  T.near(x:lgamma():tolist(), tensor.lgamma(x):tolist(), 0)
  T.near(x:polygamma(2):tolist(), tensor.polygamma(2, x):tolist(), 0)
  T.near(x:digamma():tolist(), tensor.polygamma(0, x):tolist(), 0)
  T.eq(tensor.lgamma(tensor.new{ 1, 2, 3 }):dtype(), "f32") -- integers give f32
  T.eq(tensor.new({ 1.5 }, { dtype = "f32" }):digamma():dtype(), "f32")
  T.near(tensor.lgamma(tensor.new{ 1, 2, 5 }):tolist(), { 0, 0, math.log(24) }, 1e-6)
  T.eq(x:t():lgamma():size(1), 4)
end)

T.test("errors name the argument", function()
  local x = tensor.new{ 1.5 }
  T.raises(function() tensor.polygamma(-1, x) end, "bad argument #1 to ")
  T.raises(function() tensor.polygamma(-1, x) end, "order n must be in 0..100, got -1")
  T.raises(function() x:polygamma(101) end, "order n must be in 0..100, got 101")
  T.raises(function() tensor.polygamma(1.5, x) end, "number has no integer representation")
  T.raises(function() tensor.lgamma("x") end, "bad argument #1 to 'lgamma' (tensor expected, got string)")
end)

T.test("poles as PyTorch", function()
  local x = tensor.new({ 0, -1, -2.5 }, { dtype = "f64" })
  local l, d = x:lgamma():tolist(), x:digamma():tolist()
  T.eq(l[1], math.huge); T.eq(l[2], math.huge)
  T.eq(d[1], -math.huge); T.ok(d[2] ~= d[2], "digamma(-1) is NaN")
  T.eq(x:polygamma(1):tolist()[2], math.huge)
end)

local has_torch = os.execute("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1")
if has_torch then
  T.test("values match torch.lgamma / digamma / polygamma on [-6, 60]", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. dir))
    local x = tensor.linspace(-6, 60, 4001, { dtype = "f64" }) + 1e-3 -- off the poles
    data.save_npy(dir .. "/x.npy", x)
    local py = io.open(dir .. "/gen.py", "w")
    py:write([[
import sys, numpy as np, torch
d = sys.argv[1]
x = torch.from_numpy(np.load(d + "/x.npy"))
np.save(d + "/lgamma.npy", torch.lgamma(x).numpy())
np.save(d + "/digamma.npy", torch.digamma(x).numpy())
for n in (1, 2, 3):
    np.save(d + "/polygamma%d.npy" % n, torch.polygamma(n, x).numpy())
]])
    py:close()
    assert(os.execute("/usr/bin/python3 " .. dir .. "/gen.py " .. dir))
    local function worst(mine, name)
      local theirs = data.load_npy(dir .. "/" .. name .. ".npy")
      local scale = theirs:abs():clamp(1, math.huge)
      return ((mine - theirs):abs() / scale):amax():item()
    end
    local tol = { lgamma = 1e-13, digamma = 1e-13, polygamma1 = 1e-8, polygamma2 = 1e-12, polygamma3 = 1e-12 }
    local got = {
      lgamma = worst(x:lgamma(), "lgamma"), digamma = worst(x:digamma(), "digamma"),
      polygamma1 = worst(x:polygamma(1), "polygamma1"), polygamma2 = worst(x:polygamma(2), "polygamma2"),
      polygamma3 = worst(x:polygamma(3), "polygamma3"),
    }
    os.execute("rm -rf " .. dir)
    for _, k in ipairs { "lgamma", "digamma", "polygamma1", "polygamma2", "polygamma3" } do
      T.ok(got[k] <= tol[k], string.format("%s: worst relative difference %.3g > %.3g", k, got[k], tol[k]))
    end
  end)
else
  print("SKIP: /usr/bin/python3 with torch is absent (values vs torch)")
end

T.done()
