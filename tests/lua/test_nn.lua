-- test_nn.lua: nn modules (shapes, PyTorch's init bounds, parameter identity
-- and order, capture, hooks, state_dict, save/load, train/eval), the data
-- loader, nn.fit/nn.evaluate and a tiny MLP learning XOR.
local T = require "testlib"
local loader = require "data_loader"

local function shape(t) return t:shape() end
local function absmax(t) return t:detach():abs():max():item() end

T.test("Linear: shapes and U(-1/sqrt(in), 1/sqrt(in)) init", function()
  local m = nn.Linear(400, 30)
  T.eq(shape(m.weight), { 30, 400 })
  T.eq(shape(m.bias), { 30 })
  local b = 1 / math.sqrt(400)
  T.ok(absmax(m.weight) <= b and absmax(m.weight) > 0.95 * b, "weight bound")
  T.ok(absmax(m.bias) <= b and absmax(m.bias) > 0.5 * b, "bias bound")
  T.near(m.weight:detach():mean():item(), 0, 0.01)
  T.eq(shape(m(tensor.randn(7, 400))), { 7, 30 })
  T.eq(nn.Linear(3, 2, { bias = false }).bias, nil)
end)

T.test("init draws from gen= deterministically", function()
  local a = nn.Linear(5, 4, { gen = tensor.generator(11) })
  local b = nn.Linear(5, 4, { gen = tensor.generator(11) })
  local c = nn.Linear(5, 4, { gen = tensor.generator(12) })
  T.eq(a.weight:tolist(), b.weight:tolist())
  T.eq(a.bias:tolist(), b.bias:tolist())
  T.ok(a.weight:ne(c.weight):any():item(), "another seed differs")
end)

T.test("Conv2d: weight [out, in/groups, kh, kw], bound 1/sqrt(fan_in)", function()
  local m = nn.Conv2d(4, 6, 3, { groups = 2, padding = 1 })
  T.eq(shape(m.weight), { 6, 2, 3, 3 })
  local b = 1 / math.sqrt(2 * 3 * 3)
  T.ok(absmax(m.weight) <= b and absmax(m.weight) > 0.8 * b)
  T.ok(absmax(m.bias) <= b)
  T.eq(shape(m(tensor.randn(2, 4, 8, 8))), { 2, 6, 8, 8 })
  local s = nn.Conv2d(1, 2, { 3, 5 }, { stride = 2, dilation = 1 })
  T.eq(shape(s(tensor.randn(1, 1, 9, 9))), { 1, 2, 4, 3 })
  T.raises(function() nn.Conv2d(3, 4, 3, { groups = 2 }) end, "divisible by groups")
end)

T.test("pools, flatten, activations: shapes and values", function()
  local x = tensor.randn(2, 3, 8, 8)
  T.eq(shape(nn.MaxPool2d(2)(x)), { 2, 3, 4, 4 })
  T.eq(shape(nn.AvgPool2d(3, { stride = 1, padding = 1 })(x)), { 2, 3, 8, 8 })
  T.eq(shape(nn.AdaptiveAvgPool2d(1)(x)), { 2, 3, 1, 1 })
  T.eq(shape(nn.Flatten()(x)), { 2, 192 })
  local v = tensor.new({ -2, 0, 3 }, { dtype = "f32" })
  T.eq(nn.ReLU()(v):tolist(), { 0, 0, 3 })
  T.near(nn.LeakyReLU(0.1)(v):tolist(), { -0.2, 0, 3 }, 1e-7)
  T.near(nn.Tanh()(v):tolist(), { math.tanh(-2), 0, math.tanh(3) }, 1e-6)
  T.near(nn.Sigmoid()(v):tolist(), { 1 / (1 + math.exp(2)), 0.5, 1 / (1 + math.exp(-3)) }, 1e-6)
  T.near(nn.GELU()(tensor.new({ 1 })):item(), 0.8413447460685429, 1e-6)
  T.near(nn.Softmax(1)(v):sum():item(), 1, 1e-6)
  T.near(nn.LogSoftmax(-1)(v):exp():sum():item(), 1, 1e-6)
end)

T.test("norm layers and Embedding init", function()
  local bn = nn.BatchNorm2d(3)
  T.eq(bn.weight:tolist(), { 1, 1, 1 })
  T.eq(bn.bias:tolist(), { 0, 0, 0 })
  local ln = nn.LayerNorm(5)
  T.eq(ln.weight:tolist(), { 1, 1, 1, 1, 1 })
  local y = ln(tensor.randn(4, 5))
  T.near(y:mean(2):abs():max():item(), 0, 1e-5)
  local e = nn.Embedding(200, 50)
  local w = e.weight:detach()
  T.near(w:mean():item(), 0, 0.02)
  T.near(w:std():item(), 1, 0.02)
  local out = e(tensor.new({ { 1, 200 } }, { dtype = "i64" }))
  T.eq(shape(out), { 1, 2, 50 })
  T.eq(out[1][2]:tolist(), w[200]:tolist())
end)

T.test("parameters(): the same objects on every call, named in order", function()
  local m = nn.Sequential { nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2) }
  local a, b = m:parameters(), m:parameters()
  T.eq(#a, 4)
  for i = 1, 4 do T.ok(rawequal(a[i], b[i]), "identity " .. i) end
  T.ok(rawequal(a[1], m[1].weight))
  local names = {}
  for n in m:named_parameters() do names[#names + 1] = n end
  T.eq(names, { "1.weight", "1.bias", "3.weight", "3.bias" })
  T.eq(m:num_parameters(), 4 * 3 + 3 + 3 * 2 + 2)
end)

local Net = nn.Module:extend("Net")
function Net:init(n)
  self.zeta = nn.Linear(n, 3)         -- assignment order, not alphabetical
  self.alpha = nn.Sequential():add(nn.Linear(3, 2)):add(nn.Tanh())
  self.scale = tensor.ones(2):requires_grad()
  self.note = "not a parameter"
  self.plain = tensor.ones(2)         -- neither parameter nor buffer
end
function Net:forward(x) return self.alpha(self.zeta(x)) * self.scale end

T.test("user modules: fields found in registration order", function()
  local m = Net(4)
  local names = {}
  for n in m:named_parameters() do names[#names + 1] = n end
  T.eq(names, { "scale", "zeta.weight", "zeta.bias", "alpha.1.weight", "alpha.1.bias" })
  local mods = {}
  for n in m:named_modules() do mods[#mods + 1] = n end
  T.eq(mods, { "", "zeta", "alpha", "alpha.1", "alpha.2" })
  T.eq(shape(m(tensor.randn(5, 4))), { 5, 2 })
  T.ok(rawequal(m:get("alpha.1"), m.alpha[1]))
  T.eq(m:get("nope"), nil)
  T.ok(tostring(m):find("(zeta): Linear(in=4, out=3", 1, true))
end)

T.test("nn.Module{...}: a one-off module, sorted fields", function()
  local m = nn.Module {
    b = nn.Linear(2, 2), a = nn.Linear(2, 2),
    forward = function(self, x) return self.b(self.a(x)) end,
  }
  local names = {}
  for n in m:named_parameters() do names[#names + 1] = n end
  T.eq(names, { "a.weight", "a.bias", "b.weight", "b.bias" })
  T.eq(shape(m(tensor.randn(3, 2))), { 3, 2 })
  T.raises(function() nn.Module:extend("X")():forward() end, "forward is not defined")
end)

T.test("a shared module counts once", function()
  local l = nn.Linear(2, 2)
  local m = nn.Sequential { l, nn.ReLU(), l }
  T.eq(#m:parameters(), 2)
end)

T.test("capture: named activations and the output", function()
  local m = nn.Sequential { nn.Linear(4, 3), nn.ReLU(), nn.Sequential { nn.Linear(3, 2) } }
  local x = tensor.randn(5, 4)
  local f, out = m:capture(x, { "1", "2", "3.1" })
  T.eq(shape(f["1"]), { 5, 3 })
  T.eq(f["2"]:tolist(), f["1"]:relu():tolist())
  T.eq(f["3.1"]:tolist(), out:tolist())
  T.ok(rawequal(f.output, out))
  local all = m:capture(x)
  T.ok(all["3"] and all["3.1"] and all["2"], "all modules by default")
  T.raises(function() m:capture(x, { "4" }) end, "no module named '4'")
  T.eq(#m[1]._hooks, 0, "hooks removed after capture")
end)

T.test("forward hooks: called, may replace the output, removable", function()
  local m = nn.Sequential { nn.Linear(2, 2), nn.ReLU() }
  local seen = 0
  local h = m[1]:register_forward_hook(function(mod, input, output)
    seen = seen + 1
    T.ok(rawequal(mod, m[1]))
    T.eq(shape(input), { 3, 2 })
    return output * 0 - 1
  end)
  T.eq(m(tensor.randn(3, 2)):sum():item(), 0)
  T.eq(seen, 1)
  h.remove()
  m(tensor.randn(3, 2))
  T.eq(seen, 1)
end)

T.test("train/eval switch Dropout", function()
  local m = nn.Sequential { nn.Dropout(0.5, { gen = tensor.generator(3) }) }
  local x = tensor.ones(1000)
  local y = m(x)
  local zeros = y:eq(0):sum():item()
  T.ok(zeros > 400 and zeros < 600, "about half dropped")
  T.near(y:max():item(), 2, 1e-6)
  m:eval()
  T.eq(m.training, false)
  T.eq(m[1].training, false)
  T.eq(m(x):tolist(), x:tolist())
  m:train()
  T.eq(m[1].training, true)
end)

T.test("NestedDropout keeps a prefix of units, geometric cut", function()
  local m = nn.NestedDropout(0.1, { gen = tensor.generator(5) })
  local y = m(tensor.ones(2000, 40))
  local kept = y:sum(2)
  -- every row is ones then zeros
  T.eq(y:narrow(2, 2, 39):le(y:narrow(2, 1, 39)):all():item(), true)
  T.ok(kept:min():item() >= 1)
  -- E[min(b, 40)] for b ~ Geometric(0.1): (1 - 0.9^40) / 0.1
  T.near(kept:mean():item(), (1 - 0.9 ^ 40) / 0.1, 0.05)
  local x4 = tensor.ones(3, 5, 2, 2)
  T.eq(shape(m(x4)), { 3, 5, 2, 2 })
  m:eval()
  T.eq(m(x4):sum():item(), 60)
end)

T.test("train/eval switch BatchNorm statistics", function()
  local bn = nn.BatchNorm1d(2)
  local x = tensor.new({ { 1, 10 }, { 3, 20 }, { 5, 30 } }, { dtype = "f32" })
  local y = bn(x)
  T.near(y:mean(1):tolist(), { 0, 0 }, 1e-6)
  T.near(bn.running_mean:tolist(), { 0.3, 2.0 }, 1e-6)      -- 0.9 * 0 + 0.1 * mean
  T.near(bn.running_var:tolist(), { 0.9 + 0.1 * 4, 0.9 + 0.1 * 100 }, 1e-5) -- unbiased var
  T.eq(bn.num_batches_tracked:item(), 1)
  bn:eval()
  local z = bn(x)
  T.near(z[1][1]:item(), (1 - 0.3) / math.sqrt(1.3 + 1e-5), 1e-5)
  T.eq(bn.num_batches_tracked:item(), 1)
  T.raises(function() nn.BatchNorm2d(2)(x) end, "BatchNorm2d: expected a 4-d input")
end)

local function tmpfile() return os.tmpname() end

T.test("state_dict and save/load round trip", function()
  local m = nn.Sequential { nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2) }
  m(tensor.randn(5, 3))
  local sd = m:state_dict()
  local keys = {}
  for k in pairs(sd) do keys[#keys + 1] = k end
  table.sort(keys)
  T.eq(keys, { "1.bias", "1.weight", "2.bias", "2.num_batches_tracked", "2.running_mean", "2.running_var",
    "2.weight", "3.bias", "3.weight" })
  local path = tmpfile()
  nn.save(path, m)
  local m2 = nn.Sequential { nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2) }
  local w = m2[1].weight
  nn.load(path, m2)
  os.remove(path)
  T.ok(rawequal(w, m2[1].weight), "identity kept")
  T.eq(m2[1].weight:tolist(), m[1].weight:tolist())
  T.eq(m2[2].running_var:tolist(), m[2].running_var:tolist())
  T.eq(m2[2].num_batches_tracked:item(), 1)
  T.ok(m2[1].weight:needs_grad(), "still a parameter")
end)

T.test("load reports every mismatch in one error", function()
  local m = nn.Sequential { nn.Linear(3, 4), nn.Linear(4, 2) }
  local path = tmpfile()
  nn.save(path, m)
  local other = nn.Sequential { nn.Linear(3, 5), nn.Linear(4, 2), nn.Linear(2, 2) }
  local err = T.raises(function() nn.load(path, other) end, "4 mismatches")
  os.remove(path)
  for _, want in ipairs { "1.weight: shape [4,3] in the file, [5,3] in the model",
    "1.bias: shape [4] in the file, [5] in the model", "missing 3.weight", "missing 3.bias" } do
    T.ok(tostring(err):find(want, 1, true), "reports " .. want)
  end
  local err2 = T.raises(function() nn.Sequential { nn.Linear(3, 4) }:load_state_dict(m:state_dict()) end,
    "unexpected 2.weight")
  T.ok(tostring(err2):find("unexpected 2.bias", 1, true))
  nn.Sequential { nn.Linear(3, 4) }:load_state_dict(m:state_dict(), { strict = false })
end)

T.test("zero_grad drops every parameter's grad", function()
  local m = nn.Linear(2, 2)
  m.weight.grad = tensor.ones(2, 2)
  m:zero_grad()
  T.eq(m.weight.grad, nil)
end)

-- --- loader ---------------------------------------------------------------

T.test("loader: batches, sizes, drop_last, views without shuffle", function()
  local X = tensor.arange(1, 11):view(10, 1)
  local y = tensor.arange(1, 11)
  local l = loader(X, y, { batch = 4 })
  T.eq(#l, 3)
  local got = {}
  for xb, yb in l do got[#got + 1] = yb:tolist(); T.eq(xb:size(1), yb:size(1)) end
  T.eq(got, { { 1, 2, 3, 4 }, { 5, 6, 7, 8 }, { 9, 10 } })
  T.eq(#loader(X, y, { batch = 4, drop_last = true }), 2)
  local n = 0
  for xb in loader(X, { batch = 3 }):iter() do n = n + xb:size(1) end
  T.eq(n, 10)
  T.raises(function() loader(X, tensor.arange(1, 5), { batch = 2 }) end, "X has 10 rows but y has 4")
end)

T.test("loader: same seed, same batches; epochs reshuffle", function()
  local X = tensor.arange(1, 101):view(100, 1)
  local function epochs(seed, k)
    local l = loader(X, X:view(100), { batch = 32, shuffle = true, gen = tensor.generator(seed) })
    local out = {}
    for e = 1, k do
      local ep = {}
      for _, yb in l do ep[#ep + 1] = yb:tolist() end
      out[e] = ep
    end
    return out
  end
  local a, b = epochs(7, 2), epochs(7, 2)
  T.eq(a, b)
  T.ok(not T.show(a[1]):find(T.show(a[2]), 1, true) and T.show(a[1]) ~= T.show(a[2]), "epochs differ")
  local seen = {}
  for _, batch in ipairs(a[1]) do for _, v in ipairs(batch) do seen[v] = (seen[v] or 0) + 1 end end
  for i = 1, 100 do T.eq(seen[i], 1, "each row once") end
  T.ok(T.show(epochs(8, 1)) ~= T.show(epochs(7, 1)), "another seed differs")
end)

-- --- training -------------------------------------------------------------

T.test("a tiny MLP learns XOR", function()
  tensor.manual_seed(1)
  local X = tensor.new({ { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } }, { dtype = "f32" })
  local y = tensor.new({ 1, 2, 2, 1 }, { dtype = "i64" })
  local m = nn.Sequential { nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2) }
  local opt = optim.Adam(m:parameters(), { lr = 0.05 })
  for _ = 1, 300 do
    opt:zero_grad()
    local loss = nn.functional.cross_entropy(m(X), y)
    loss:backward()
    opt:step()
  end
  T.eq(m(X):argmax(2):tolist(), { 1, 2, 2, 1 })
  T.ok(nn.functional.cross_entropy(m(X), y):item() < 0.05)
end)

T.test("nn.fit and nn.evaluate return metrics", function()
  tensor.manual_seed(2)
  local X = tensor.randn(256, 4)
  local y = X:select(2, 1):gt(0):to("i64") + 1
  local m = nn.Sequential { nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2) }
  local l = loader(X, y, { batch = 32, shuffle = true, gen = tensor.generator(1) })
  local logged = 0
  local hist = nn.fit(m, l, {
    epochs = 3, opt = optim.SGD(m:parameters(), { lr = 0.1, momentum = 0.9 }),
    val = { X, y }, log = function() logged = logged + 1 end,
  })
  T.eq(#hist, 3)
  T.eq(logged, 3)
  T.eq(hist[3].epoch, 3)
  T.ok(hist[3].loss < hist[1].loss, "loss falls")
  T.ok(hist[3].val_acc > 0.9, "learns the sign")
  local ev = nn.evaluate(m, loader(X, y, { batch = 100 }))
  T.near(ev.acc, hist[3].val_acc, 1e-12)
  T.near(ev.loss, hist[3].val_loss, 1e-6)
  T.eq(ev.n, 256)
  T.eq(m.training, true, "mode restored")
end)

T.done()
