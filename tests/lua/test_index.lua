-- test_index.lua: indexing, joining and sorting from Lua: 1-based dims and
-- indices, the x[idx] / x[mask] routes, options tables and error messages.
local T = require "testlib"

local function M() return tensor.new{{3., 1., 2.}, {9., 7., 8.}} end

T.test("index_select and x[int_tensor] take 1-based positions", function()
  local x = M()
  T.eq(x:index_select(2, tensor.new{3, 1}):tolist(), {{2, 3}, {8, 9}})
  T.eq(x:index_select(1, {2, 2, 1}):tolist(), {{9, 7, 8}, {9, 7, 8}, {3, 1, 2}})
  T.eq(x:index_select(-1, tensor.new({1}, {dtype = "i32"})):tolist(), {{3}, {9}})
  T.eq(x[tensor.new{2}]:tolist(), {{9, 7, 8}})
  T.eq(x:t():index_select(1, {3}):tolist(), {{2, 8}}) -- non-contiguous input
  T.eq(x:index_select(1, tensor.new({}, {dtype = "i64"})):shape(), {0, 3})
end)

T.test("gather picks along a dim", function()
  local x = M()
  T.eq(x:gather(2, tensor.new{{1, 1}, {3, 2}}):tolist(), {{3, 3}, {8, 7}})
  T.eq(x:gather(1, tensor.new{{2, 1, 2}}):tolist(), {{9, 1, 8}})
end)

T.test("sort indices reproduce values through gather", function()
  local x = tensor.new{{3., 1., 2., 1.}, {0., 7., -8., 7.}}
  local v, i = x:sort()
  T.eq(v:tolist(), {{1, 1, 2, 3}, {-8, 0, 7, 7}})
  T.eq(i:tolist(), {{2, 4, 3, 1}, {3, 1, 2, 4}}) -- stable: ties keep order
  T.eq(x:gather(2, i):tolist(), v:tolist())
  local vd, id = x:sort(2, {descending = true})
  T.eq(vd:tolist(), {{3, 2, 1, 1}, {7, 7, 0, -8}})
  T.eq(id:tolist(), {{1, 3, 2, 4}, {2, 4, 1, 3}})
  local v1, i1 = x:sort(1, true)
  T.eq(v1:tolist(), {{3, 7, 2, 7}, {0, 1, -8, 1}})
  T.eq(x:gather(1, i1):tolist(), v1:tolist())
  T.eq(x:argsort{descending = true}:tolist(), id:tolist())
  -- argmax-like consistency: the first of a descending (stable) argsort is
  -- the first position of the maximum
  T.eq(x:argsort(2, {descending = true}):select(2, 1):tolist(), {1, 2})
  T.eq(x:argsort(2):select(2, 4):tolist(), {1, 4})
end)

T.test("sort puts NaN last (largest), like torch", function()
  local nan = 0 / 0
  local v, i = tensor.new{3, nan, 1, nan, 2}:sort()
  T.eq(i:tolist(), {3, 5, 1, 2, 4})
  T.ok(v:tolist()[4] ~= v:tolist()[4])
  local _, di = tensor.new{3, nan, 1, nan, 2}:sort{descending = true}
  T.eq(di:tolist(), {2, 4, 1, 5, 3})
end)

T.test("topk and kthvalue", function()
  local x = tensor.new{{5, 1, 4, 2, 3}, {0, 9, 8, 9, 1}}
  local v, i = x:topk(2)
  T.eq(v:tolist(), {{5, 4}, {9, 9}})
  T.eq(i:tolist(), {{1, 3}, {2, 4}})
  local s, si = x:topk(1, 1, {largest = false})
  T.eq(s:tolist(), {{0, 1, 4, 2, 1}})
  T.eq(si:tolist(), {{2, 1, 1, 1, 2}})
  local k, ki = x:kthvalue(2)
  T.eq(k:tolist(), {2, 1})
  T.eq(ki:tolist(), {4, 5})
  T.eq(x:kthvalue(1, 1, true):shape(), {1, 5})
  T.raises(function() x:topk(6) end, "topk: k = 6 out of range for dim 2 of size 5")
end)

T.test("scatter family", function()
  local z = tensor.zeros(2, 3)
  local idx = tensor.new{{3}, {1}}
  T.eq(z:scatter(2, idx, tensor.new{{5.}, {6.}}):tolist(), {{0, 0, 5}, {6, 0, 0}})
  T.eq(z:tolist(), {{0, 0, 0}, {0, 0, 0}}) -- out of place
  z:scatter_(2, idx, 7)
  T.eq(z:tolist(), {{0, 0, 7}, {7, 0, 0}})
  local a = tensor.zeros(4):scatter_add(1, tensor.new{1, 2, 1, 4}, tensor.new{1., 2., 3., 4.})
  T.eq(a:tolist(), {4, 2, 0, 4})
  local b = tensor.zeros(3, 2)
  b:index_add_(1, tensor.new{3, 1, 3}, tensor.ones(3, 2))
  T.eq(b:tolist(), {{1, 1}, {0, 0}, {2, 2}})
  T.eq(tensor.zeros(2, 3):index_copy(2, {3, 1}, tensor.new{{1., 2.}, {3., 4.}}):tolist(),
       {{2, 0, 1}, {4, 0, 3}})
  T.eq(tensor.zeros(2, 3):index_fill(2, {2}, -1):tolist(), {{0, -1, 0}, {0, -1, 0}})
  local f = tensor.zeros(2)
  T.eq(f:index_fill_(1, {1}, 2), f) -- in place returns self
  T.eq(f:tolist(), {2, 0})
end)

T.test("masks: masked_select, masked_fill, x[mask]", function()
  local x = M()
  local m = tensor.new{{true, false, true}, {false, false, true}}
  T.eq(x:masked_select(m):tolist(), {3, 2, 8})
  T.eq(x[m]:tolist(), {3, 2, 8})
  T.eq(x:masked_select(tensor.new{false, true, false}):tolist(), {1, 7}) -- broadcast
  T.eq(x:masked_fill(m, 0):tolist(), {{0, 1, 0}, {9, 7, 0}})
  T.eq(x:masked_fill(m, tensor.new{5}):tolist(), {{5, 1, 5}, {9, 7, 5}})
  T.raises(function() x:masked_fill(m, tensor.new{5, 6}) end, "one-element")
  x[tensor.new{true, false, false}] = -1
  T.eq(x:tolist(), {{-1, 1, 2}, {-1, 7, 8}})
  local b = tensor.new{true, false}
  b[tensor.new{false, true}] = true
  T.eq(b:tolist(), {true, true})
  T.raises(function() x:masked_select(tensor.ones(3)) end, "argument 'mask' must be a bool tensor")
  T.raises(function() x:masked_fill_(tensor.new{true, false}, 0) end, "does not broadcast")
end)

T.test("nonzero gives 1-based positions", function()
  local x = tensor.new{{0, 2}, {3, 0}}
  T.eq(x:nonzero():tolist(), {{1, 2}, {2, 1}})
  local r = x:nonzero{as_tuple = true}
  T.eq(#r, 2)
  T.eq(r[1]:tolist(), {1, 2})
  T.eq(r[2]:tolist(), {2, 1})
  T.eq(tensor.zeros(3):nonzero():shape(), {0, 1})
end)

T.test("cat, stack, split, chunk", function()
  local a, b = tensor.new{{1, 2}}, tensor.new{{3., 4.}, {5., 6.}}
  local c = tensor.cat{a, b}
  T.eq(c:tolist(), {{1, 2}, {3, 4}, {5, 6}})
  T.eq(c:dtype(), "f32")
  T.eq(tensor.cat({b, b}, 2):shape(), {2, 4})
  T.eq(tensor.cat({b, b}, -1):shape(), {2, 4})
  T.eq(tensor.stack{a[1], b[1]}:tolist(), {{1, 2}, {3, 4}})
  T.eq(tensor.stack({b, b}, 3):shape(), {2, 2, 2})
  T.raises(function() tensor.cat{a, tensor.zeros(1, 3)} end, "cat: tensor 2 has shape [1,3]")
  T.raises(function() tensor.cat{a, 3} end, "entry 2")
  T.raises(function() tensor.stack{} end, "non-empty")
  local p = tensor.arange(1, 8):split(3)
  T.eq(#p, 3)
  T.eq(p[3]:tolist(), {7})
  local q = tensor.arange(1, 8):split{2, 5}
  T.eq(q[2]:tolist(), {3, 4, 5, 6, 7})
  T.raises(function() tensor.arange(7):split{2, 2} end, "add up to 4")
  local ch = tensor.zeros(2, 6):chunk(4, 2)
  T.eq(#ch, 3)
  T.eq(ch[1]:shape(), {2, 2})
  ch[1]:fill_(1) -- chunks are views
end)

T.test("one_hot from 1-based labels", function()
  T.eq(tensor.one_hot(tensor.new{2, 1, 3}, 3):tolist(), {{0, 1, 0}, {1, 0, 0}, {0, 0, 1}})
  T.eq(tensor.new{2, 1}:one_hot():tolist(), {{0, 1}, {1, 0}})
  T.eq(tensor.one_hot(tensor.new{1}, 2, {dtype = "f32"}):dtype(), "f32")
  T.eq(tensor.one_hot(tensor.new{1}, {dtype = "bool"}):tolist(), {{true}})
  T.raises(function() tensor.one_hot(tensor.new{0, 1}, 2) end, "label 0 out of range 1..2")
  T.raises(function() tensor.one_hot(tensor.new{1.5}) end, "integer tensor")
end)

T.test("unique and bincount", function()
  local v, inv, cnt = tensor.new{3, 1, 3, 2, 1, 3}:unique{return_inverse = true, return_counts = true}
  T.eq(v:tolist(), {1, 2, 3})
  T.eq(inv:tolist(), {3, 1, 3, 2, 1, 3})
  T.eq(cnt:tolist(), {2, 1, 3})
  T.eq(v:index_select(1, inv):tolist(), {3, 1, 3, 2, 1, 3})
  T.eq(tensor.new{3, 1, 3, 2}:unique{sorted = false}:tolist(), {3, 1, 2})
  local _, c2 = tensor.new{5, 5}:unique{return_counts = true}
  T.eq(c2:tolist(), {2})
  -- bincount counts values 0..max: element v+1 is the count of value v
  T.eq(tensor.new{0, 1, 1, 4}:bincount():tolist(), {1, 2, 0, 0, 1})
  T.eq(tensor.new{1, 3}:bincount{minlength = 6}:tolist(), {0, 1, 0, 1, 0, 0})
  T.eq(tensor.new{1, 1, 2}:bincount{weights = tensor.new{0.5, 0.25, 2.}}:tolist(), {0, 0.75, 2})
  T.raises(function() tensor.new{1, -1}:bincount() end, "value -1 at position 2 is negative")
  T.raises(function() tensor.new{1.5}:bincount() end, "1-d integer tensor")
end)

T.test("flip, roll, repeat", function()
  local x = tensor.new{{1, 2, 3}, {4, 5, 6}}
  T.eq(x:flip(1):tolist(), {{4, 5, 6}, {1, 2, 3}})
  T.eq(x:flip(1, 2):tolist(), {{6, 5, 4}, {3, 2, 1}})
  T.eq(x:flip{-1}:tolist(), {{3, 2, 1}, {6, 5, 4}})
  T.eq(x:roll(1, 2):tolist(), {{3, 1, 2}, {6, 4, 5}})
  T.eq(x:roll(-1):tolist(), {{2, 3, 4}, {5, 6, 1}})
  T.eq(x:roll({1, 1}, {1, 2}):tolist(), {{6, 4, 5}, {3, 1, 2}})
  T.eq(tensor.new{1, 2, 3}:repeat_tensor(2, 2):tolist(), {{1, 2, 3, 1, 2, 3}, {1, 2, 3, 1, 2, 3}})
  T.eq(x["repeat"](x, 1, 2):shape(), {2, 6})
  T.raises(function() x:repeat_tensor(2) end, "repeat")
  T.raises(function() x:flip(3) end, "dim 3 out of range")
end)

T.test("tril, triu, diag, diagonal", function()
  local o = tensor.ones(3, 3)
  T.eq(o:tril():tolist(), {{1, 0, 0}, {1, 1, 0}, {1, 1, 1}})
  T.eq(o:triu(1):tolist(), {{0, 1, 1}, {0, 0, 1}, {0, 0, 0}})
  T.eq(o:tril(-1):tolist(), {{0, 0, 0}, {1, 0, 0}, {1, 1, 0}})
  T.eq(tensor.new{1, 2}:diag(1):tolist(), {{0, 1, 0}, {0, 0, 2}, {0, 0, 0}})
  local m = tensor.new{{1, 2, 3}, {4, 5, 6}}
  T.eq(m:diag():tolist(), {1, 5})
  T.eq(m:diagonal(1):tolist(), {2, 6})
  T.eq(m:diagonal(-1):tolist(), {4})
  local d = m:diagonal()
  d:fill_(0) -- a view
  T.eq(m:tolist(), {{0, 2, 3}, {4, 0, 6}})
  T.eq(tensor.zeros(2, 3, 4):diagonal(0, 2, 3):shape(), {2, 3})
end)

T.test("out-of-range and bad index arguments raise named errors", function()
  local x = M()
  T.raises(function() return x[tensor.new{3}] end, "index_select: index 3 out of range for dim 1 of size 2")
  T.raises(function() x:index_select(2, {0}) end, "index 0 out of range for dim 2 of size 3")
  T.raises(function() x:gather(2, tensor.new{{4}, {1}}) end, "gather: index 4 out of range")
  T.raises(function() x:scatter_(1, tensor.new{{3, 1, 1}}, 0) end, "scatter: index 3 out of range")
  T.raises(function() x:index_select(1, tensor.new{1.0}) end, "argument 'index' must be an i64 or i32 tensor")
  T.raises(function() x:index_select(1, "a") end, "index tensor or table")
  T.raises(function() x:index_select(1, {1.5}) end, "not an integer")
  T.raises(function() x:index_select(3, {1}) end, "dim 3 out of range")
  T.eq(M():tolist(), x:tolist()) -- nothing was written
end)

T.test("empty and 0-d inputs", function()
  local e = tensor.zeros(0, 3)
  T.eq(e:sort(1):shape(), {0, 3})
  T.eq(e:masked_select(tensor.new{true, false, true}):shape(), {0})
  T.eq(tensor.cat({e, tensor.ones(2, 3)}):shape(), {2, 3})
  T.eq(e:unique():shape(), {0})
  local s = tensor.new(4.)
  local v, i = s:sort()
  T.eq(v:item(), 4)
  T.eq(i:item(), 1)
  T.eq(s:flip(1):item(), 4)
end)

T.test("docs are registered", function()
  local docs = require("sonde").docs()
  for _, n in ipairs{"Tensor:gather", "Tensor:sort", "Tensor:bincount", "tensor.cat", "tensor.one_hot"} do
    T.ok(docs[n] and #docs[n].doc > 0, n)
  end
end)

T.done()
