-- test_random.lua: the random functions of the tensor module: seeding,
-- generator objects, options, 1-based results, thread-count independence.
local T = require "testlib"

local function same(a, b) return a:dtype() == b:dtype() and a:bytes() == b:bytes() end

T.test("default generator starts at seed 0 and manual_seed resets it", function()
  local g = tensor.default_generator()
  T.eq(g:seed(), 0)
  local s = g:state()
  T.eq(s.stream, 0)
  tensor.manual_seed(0)
  local a = tensor.rand(100)
  T.eq(tensor.default_generator():state().offset, 100)
  tensor.manual_seed(0)
  T.ok(same(a, tensor.rand(100)))
  tensor.manual_seed(1)
  T.ok(not same(a, tensor.rand(100)))
end)

T.test("unseeded scripts repeat: a fresh process draws the same numbers", function()
  local sonde = os.getenv("SONDE") or arg[-1]
  local code = "io.write(tensor.randn(4, {dtype='f64'}):bytes():byte(1, -1))"
  local function run()
    local p = io.popen(sonde .. ' -e "' .. code .. '"')
    local out = p:read("a")
    p:close()
    return out
  end
  local a = run()
  T.ok(#a > 0)
  T.eq(a, run())
end)

T.test("generators: options, clone, state, streams", function()
  local g = tensor.generator(7)
  local h = g:clone()
  local a = tensor.randn(3, 4, { gen = g })
  T.eq(a:shape(), { 3, 4 })
  T.eq(a:dtype(), "f32")
  T.ok(same(a, tensor.randn(3, 4, { gen = h })))
  local st = g:state()
  T.eq(st, { seed = 7, stream = 0, offset = 12 })
  local b = tensor.rand(5, { gen = g, dtype = "f64" })
  T.eq(b:dtype(), "f64")
  g:set_state(st)
  T.ok(same(b, tensor.rand(5, { gen = g, dtype = "f64" })))
  T.ok(not same(tensor.rand(50, { gen = tensor.generator(7, 1) }),
                tensor.rand(50, { gen = tensor.generator(7, 0) })), "streams differ")
  g:seed(7)
  T.eq(g:state().offset, 0)
  T.ok(same(a, tensor.randn({ 3, 4 }, { gen = g })), "shape as a table")
  T.ok(tostring(g):find("Generator(seed=7, stream=0, offset=12)", 1, true))
  -- the default generator is not touched by draws from g
  tensor.manual_seed(3)
  local before = tensor.default_generator():state()
  tensor.rand(10, { gen = g })
  T.eq(tensor.default_generator():state(), before)
end)

T.test("same bits for 1 and 2 threads", function()
  local fns = {
    function(g) return tensor.randn(100001, { gen = g }) end,
    function(g) return tensor.rand(100001, { gen = g, dtype = "f64" }) end,
    function(g) return tensor.randint(-5, 50, { 100001 }, { gen = g }) end,
    function(g) return tensor.bernoulli(0.25, 100001, { gen = g }) end,
    function(g) return tensor.empty(100001):exponential_(2, { gen = g }) end,
  }
  -- tensor.set_num_threads comes with the BLAS/threads work; test_rng.c
  -- covers the core meanwhile
  if not tensor.set_num_threads then return end
  for i, f in ipairs(fns) do
    tensor.set_num_threads(1)
    local a = f(tensor.generator(123))
    tensor.set_num_threads(2)
    local b = f(tensor.generator(123))
    T.ok(same(a, b), "function " .. i)
  end
end)

T.test("normal statistics and normal/normal_/uniform_ arguments", function()
  local x = tensor.normal(3, 2, 1000000, { dtype = "f64", gen = tensor.generator(1) })
  local t = x:tolist()
  local s, ss = 0, 0
  for i = 1, #t do s = s + t[i] end
  local m = s / #t
  for i = 1, #t do ss = ss + (t[i] - m) ^ 2 end
  T.near(m, 3, 0.005)
  T.near(ss / (#t - 1), 4, 0.01)
  local u = tensor.empty(1000):uniform_(-2, -1)
  for _, v in ipairs(u:tolist()) do T.ok(v >= -2 and v < -1) end
  local n = tensor.zeros(2, 3):normal_(0, 0)
  T.eq(n:tolist(), { { 0, 0, 0 }, { 0, 0, 0 } })
  T.raises(function() tensor.zeros(3, { dtype = "i64" }):uniform_() end, "uniform_: needs a f32 or f64 tensor, got i64")
  T.raises(function() tensor.randn(3, { dtype = "i32" }) end, "randn")
  T.raises(function() tensor.normal(0, -1, 3) end, "std >= 0")
  T.raises(function() tensor.rand(3, { gen = 5 }) end, "option 'gen' must be a generator")
  T.raises(function() tensor.rand(-1) end, "negative")
end)

T.test("in-place fill of a view changes only the view", function()
  local x = tensor.zeros(4, 6)
  x:narrow(2, 2, 3):uniform_(1, 2, { gen = tensor.generator(5) })
  local l = x:tolist()
  for r = 1, 4 do
    T.eq(l[r][1], 0); T.eq(l[r][5], 0); T.eq(l[r][6], 0)
    for c = 2, 4 do T.ok(l[r][c] >= 1 and l[r][c] < 2) end
  end
  -- a transposed view gets what a fresh tensor of its shape would
  local y = tensor.zeros(3, 5):t():normal_(0, 1, { gen = tensor.generator(9) })
  T.ok(same(y:contiguous(), tensor.randn(5, 3, { gen = tensor.generator(9) })))
end)

T.test("randint: half-open, i64, chi-square", function()
  local r = tensor.randint(1, 7, { 60000 }, { gen = tensor.generator(2) })
  T.eq(r:dtype(), "i64")
  local counts = { 0, 0, 0, 0, 0, 0 }
  for _, v in ipairs(r:tolist()) do
    T.ok(math.type(v) == "integer" and v >= 1 and v <= 6)
    counts[v] = counts[v] + 1
  end
  local chi = 0
  for k = 1, 6 do chi = chi + (counts[k] - 10000) ^ 2 / 10000 end
  T.ok(chi < 20.52, "chi-square " .. chi .. " with 5 dof (p < 0.001)")
  T.eq(tensor.randint(10, { 2, 3 }):shape(), { 2, 3 }, "randint(high, shape)")
  for _, v in ipairs(tensor.randint(10, { 100 }):tolist()) do T.ok(v >= 0 and v < 10) end
  T.eq(tensor.randint(0, 256, { 5 }, { dtype = "u8" }):dtype(), "u8")
  T.eq(tensor.randint(3, 4, 2, 2):tolist(), { { 3, 3 }, { 3, 3 } })
  T.raises(function() tensor.randint(5, 5, { 3 }) end, "randint: needs low < high")
  T.raises(function() tensor.randint(0, 300, { 3 }, { dtype = "u8" }) end, "does not fit u8")
  local big = tensor.randint(math.mininteger, math.maxinteger, { 1000 })
  local neg = 0
  for _, v in ipairs(big:tolist()) do if v < 0 then neg = neg + 1 end end
  T.ok(neg > 400 and neg < 600)
  local x = tensor.zeros(5, { dtype = "i32" }):random_(-3, -1)
  for _, v in ipairs(x:tolist()) do T.ok(v == -3 or v == -2) end
end)

T.test("randperm: a 1-based permutation", function()
  for _, n in ipairs({ 0, 1, 2, 10, 1000 }) do
    local p = tensor.randperm(n)
    T.eq(p:dtype(), "i64")
    T.eq(p:numel(), n)
    local seen = {}
    for _, v in ipairs(p:tolist()) do
      T.ok(v >= 1 and v <= n and not seen[v])
      seen[v] = true
    end
  end
  T.ok(not same(tensor.randperm(50, { gen = tensor.generator(1) }),
                tensor.randperm(50, { gen = tensor.generator(2) })))
  T.eq(tensor.randperm(5, { dtype = "f32" }):dtype(), "f32")
  T.raises(function() tensor.randperm(-1) end, "randperm: n must not be negative")
end)

T.test("bernoulli: number, tensor, in place", function()
  local b = tensor.bernoulli(0.3, 100000, { gen = tensor.generator(4) })
  T.eq(b:dtype(), "f32")
  local s = 0
  for _, v in ipairs(b:tolist()) do T.ok(v == 0 or v == 1); s = s + v end
  T.near(s / 100000, 0.3, 0.01)
  local p = tensor.new({ { 0, 1 }, { 1, 0 } }, { dtype = "f64" })
  local d = tensor.bernoulli(p)
  T.eq(d:dtype(), "f64")
  T.eq(d:tolist(), { { 0, 1 }, { 1, 0 } })
  T.eq(tensor.bernoulli(p, { dtype = "bool" }):tolist(), { { false, true }, { true, false } })
  local x = tensor.zeros(3, 2):bernoulli_(tensor.new({ 1, 0 }))
  T.eq(x:tolist(), { { 1, 0 }, { 1, 0 }, { 1, 0 } })
  local y = tensor.zeros(1000):bernoulli_()
  local ones = 0
  for _, v in ipairs(y:tolist()) do ones = ones + v end
  T.ok(ones > 430 and ones < 570, "default p = 0.5")
  T.raises(function() tensor.bernoulli(1.5, 3) end, "bernoulli: probability must be in [0, 1], got 1.5")
  T.raises(function() tensor.zeros(3):bernoulli_(tensor.new({ 0.5, 0.5 })) end, "do not broadcast")
  T.raises(function() tensor.bernoulli(tensor.new({ 2.0 })) end, "[0, 1]")
end)

T.test("multinomial: 1-based categories", function()
  local w = tensor.new({ 0, 1, 0, 3 })
  local s = tensor.multinomial(w, 2000, true, { gen = tensor.generator(3) })
  local c = { 0, 0, 0, 0 }
  for _, v in ipairs(s:tolist()) do c[v] = c[v] + 1 end
  T.eq(c[1], 0); T.eq(c[3], 0)
  T.ok(c[4] > 1350 and c[4] < 1650)
  local d = w:multinomial(2)
  local l = d:tolist()
  table.sort(l)
  T.eq(l, { 2, 4 })
  T.eq(tensor.multinomial(tensor.ones(3, 5), 4):shape(), { 3, 4 })
  T.raises(function() w:multinomial(3) end, "multinomial")
end)

T.test("0-d and empty shapes", function()
  T.eq(tensor.rand():dim(), 0)
  T.eq(tensor.randn(0, 3):shape(), { 0, 3 })
  T.eq(tensor.rand({}):dim(), 0)
end)

T.test("docs are registered", function()
  local docs = sonde.docs()
  for _, k in ipairs({ "tensor.rand", "tensor.randperm", "tensor.manual_seed", "Tensor:normal_",
                       "Generator:state", "Generator:set_state" }) do
    T.ok(docs[k] and docs[k].doc ~= "", k)
  end
end)

T.done()
