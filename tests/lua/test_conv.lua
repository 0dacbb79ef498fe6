-- test_conv.lua: conv2d's fast paths through the binding: gradchecks in
-- f64 where a chunk is one sample (OH OW >= 1024, GEMMs in place), for
-- pointwise 1x1 convolutions (the input is the columns) and Winograd's 3x3
-- (8 channels and more), with groups; the same bits for 1 and 2 threads in
-- f32. test_nn_functional.lua has the rest.
local T = require "testlib"
local F = require "nn.functional"

local g = tensor.generator(7)
local function randn(...) return tensor.randn({ ... }, { dtype = "f64", gen = g }) end

local function check(fn, inputs)
  local ok, why = autograd.gradcheck(fn, inputs)
  T.ok(ok, why)
end

T.test("conv2d gradchecks: one sample per chunk, pointwise, groups, Winograd", function()
  local cases = {
    { x = { 2, 8, 5, 6 }, w = { 8, 8, 3, 3 }, o = { padding = 1 } },
    { x = { 1, 16, 5, 4 }, w = { 16, 8, 3, 3 }, o = { groups = 2 } },
    { x = { 1, 1, 34, 33 }, w = { 2, 1, 3, 3 }, o = { padding = 1 } },
    { x = { 2, 2, 32, 33 }, w = { 4, 1, 1, 1 }, o = { groups = 2 } },
    { x = { 3, 3, 5, 7 }, w = { 2, 3, 1, 1 }, o = {} },
  }
  for _, c in ipairs(cases) do
    local x, w, b = randn(table.unpack(c.x)), randn(table.unpack(c.w)), randn(c.w[1])
    check(function(x, w, b) return F.conv2d(x, w, b, c.o) end, { x, w, b })
  end
end)

T.test("conv2d: the same bits for 1 and 2 threads on every path", function()
  local threads = tensor.get_num_threads()
  local cases = {
    { x = { 3, 4, 40, 40 }, w = { 8, 4, 3, 3 }, o = { padding = 1 } },
    { x = { 4, 6, 33, 32 }, w = { 6, 3, 1, 1 }, o = { groups = 2 } },
    { x = { 20, 5, 9, 9 }, w = { 7, 5, 3, 3 }, o = { stride = 2 } },
    { x = { 30, 8, 13, 12 }, w = { 16, 8, 3, 3 }, o = { padding = 1 } },
  }
  for _, c in ipairs(cases) do
    local x = tensor.randn(c.x, { gen = g }):requires_grad()
    local w = tensor.randn(c.w, { gen = g }):requires_grad()
    local b = tensor.randn({ c.w[1] }, { gen = g }):requires_grad()
    local r = {}
    for t = 1, 2 do
      tensor.set_num_threads(t)
      x.grad, w.grad, b.grad = nil, nil, nil
      local y = F.conv2d(x, w, b, c.o)
      y:backward(tensor.ones(y:shape()))
      r[t] = { y, x.grad, w.grad, b.grad }
    end
    for i = 1, 4 do T.eq((r[1][i] - r[2][i]):abs():max():item(), 0, "result " .. i) end
  end
  tensor.set_num_threads(threads)
end)

T.done()
