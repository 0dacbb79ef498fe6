-- test_autograd.lua: the engine (backward, grad, no_grad, errors) over the
-- view ops; each op family's gradchecks live with its own tests.
local T = require "testlib"

local function f64(...) return tensor.new(...):to("f64") end

T.test("requires_grad marks float leaves only", function()
  local x = tensor.zeros(2, 2):requires_grad()
  T.ok(x:needs_grad())
  T.ok(x:is_leaf())
  T.raises(function() tensor.zeros(2, {dtype = "i64"}):requires_grad() end, "only f32 and f64")
  x:requires_grad(false)
  T.ok(not x:needs_grad())
end)

T.test("views record and backward reaches the leaf", function()
  local x = f64{{1, 2, 3}, {4, 5, 6}}:requires_grad()
  local y = x:t():narrow(1, 2, 2)  -- rows 2..3 of the transpose: columns 2..3 of x
  T.eq(y:grad_fn(), "narrow")
  y:backward(tensor.ones(2, 2, {dtype = "f64"}))
  T.eq(x.grad:tolist(), {{0, 1, 1}, {0, 1, 1}})
  -- a second backward accumulates
  local z = x:select(1, 1)
  z:backward(tensor.ones(3, {dtype = "f64"}))
  T.eq(x.grad:tolist(), {{1, 2, 2}, {0, 1, 1}})
  x:zero_grad()
  T.eq(x.grad, nil)
end)

T.test("expand sums back, unfold adds overlapping windows", function()
  local x = f64{1, 2, 3}:requires_grad()
  x:view(3, 1):expand(3, 4):backward(tensor.ones(3, 4, {dtype = "f64"}))
  T.eq(x.grad:tolist(), {4, 4, 4})
  local u = f64{1, 2, 3, 4, 5}:requires_grad()
  u:unfold(1, 3, 1):backward(tensor.ones(3, 3, {dtype = "f64"}))
  T.eq(u.grad:tolist(), {1, 2, 3, 2, 1})
end)

T.test("slicing and reshape are differentiable", function()
  local x = f64{{1, 2}, {3, 4}, {5, 6}}:requires_grad()
  local y = x[{ {1, -1, 2}, 2 }]  -- rows 1 and 3, column 2
  y:backward(f64{10, 20})
  T.eq(x.grad:tolist(), {{0, 10}, {0, 0}, {0, 20}})
  local a = f64{{1, 2}, {3, 4}}:requires_grad()
  a:t():reshape(4):backward(f64{1, 2, 3, 4})
  T.eq(a.grad:tolist(), {{1, 3}, {2, 4}})
  local p = tensor.zeros(2, 3, 4, {dtype = "f64"}):requires_grad()
  p:permute(3, 1, 2):backward(tensor.ones(4, 2, 3, {dtype = "f64"}))
  T.eq(p.grad:shape(), {2, 3, 4})
end)

T.test("implicit gradient only for one element", function()
  local x = f64{1, 2}:requires_grad()
  T.raises(function() x:view(2, 1):backward() end, "one-element")
  x:select(1, 2):backward()
  T.eq(x.grad:tolist(), {0, 1})
end)

T.test("autograd.grad leaves .grad alone and prunes", function()
  local x = f64{1, 2, 3}:requires_grad()
  local w = f64{4, 5, 6}:requires_grad()
  local y = x:narrow(1, 1, 2)
  local g = autograd.grad(y, x, { grad_outputs = { f64{7, 8} } })
  T.eq(g:tolist(), {7, 8, 0})
  T.eq(x.grad, nil)
  T.raises(function() autograd.grad(y, w, { grad_outputs = { f64{1, 1} } }) end, "was not used")
  T.raises(function() autograd.grad(y, f64{1}, { grad_outputs = { f64{1, 1} } }) end, "does not require grad")
  T.raises(function() autograd.grad(y, x) end, "one-element")
  local gs = autograd.grad({ y }, { x, w }, { grad_outputs = { f64{1, 1} }, allow_unused = true })
  T.eq(gs[2], nil)
  T.raises(function() autograd.grad({ y }, { x, w }, { grad_outputs = { f64{1, 1} } }) end, "allow_unused")
end)

T.test("no_grad records nothing and restores the mode on error", function()
  local x = f64{1, 2}:requires_grad()
  local y = autograd.no_grad(function() return x:narrow(1, 1, 1) end)
  T.ok(not y:needs_grad())
  T.raises(function() autograd.no_grad(function() error("boom") end) end, "boom")
  T.ok(autograd.is_grad_enabled())
end)

T.test("graph is freed after backward unless retained", function()
  local x = f64{1, 2}:requires_grad()
  local y = x:narrow(1, 1, 2):clone()
  y:backward(f64{1, 1}, { retain_graph = true })
  y:backward(f64{1, 1})
  T.eq(x.grad:tolist(), {2, 2})
end)

T.test("in-place writes on tensors that need grad are refused", function()
  local x = f64{1, 2}:requires_grad()
  T.raises(function() x:fill_(0) end, "in-place")
  T.raises(function() x[1] = 3 end, "in-place")
  autograd.no_grad(function() x:fill_(0) end)
  T.eq(x:tolist(), {0, 0})
end)

T.test("grads of leaves do not share memory", function()
  local a = f64{1, 2}:requires_grad()
  local b = f64{3, 4}:requires_grad()
  -- both leaves receive the same incoming gradient object through clone()
  local s = tensor.cat and nil
  a:clone():backward(f64{1, 1})
  b:clone():backward(f64{1, 1})
  autograd.no_grad(function() a.grad:fill_(5) end)
  T.eq(b.grad:tolist(), {1, 1})
end)

T.test("a long chain backward and release does not overflow the stack", function()
  local x = f64{1}:requires_grad()
  local y = x
  for _ = 1, 200000 do y = y:view(1) end
  y:backward(f64{1})
  T.eq(x.grad:tolist(), {1})
  y = nil
  collectgarbage()
end)

T.test("gradcheck on views", function()
  local ok, why = autograd.gradcheck(function(x) return x:t():narrow(1, 1, 2):unfold(2, 2, 1) end,
    { tensor.new{{1, 2, 3}, {4, 5, 6}, {7, 8, 9}} })
  T.ok(ok, why)
end)

T.done()
