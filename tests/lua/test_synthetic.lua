-- test_synthetic.lua: data.synthetic generators and the dataset transforms
-- data.label_noise, data.long_tail, data.split: shapes and dtypes,
-- determinism under a seeded generator, statistics within tolerance.
local T = require "testlib"

local function gen(seed) return tensor.generator(seed) end
local function same(a, b) return a:dtype() == b:dtype() and a:bytes() == b:bytes() end
local function counts(y, K) return y:bincount{minlength = K + 1}:narrow(1, 2, K):tolist() end

-- true when the index tensors are disjoint and together hold exactly 1..n
local function partition(n, parts)
  local seen, total = {}, 0
  for _, p in ipairs(parts) do
    for _, i in ipairs(p:tolist()) do
      if seen[i] or i < 1 or i > n then return false end
      seen[i], total = true, total + 1
    end
  end
  return total == n
end

T.test("loaded lazily, on first use", function()
  local sonde = os.getenv("SONDE") or arg[-1]
  local p = io.popen(sonde .. [[ -e "io.write(tostring(package.loaded.synthetic ~= nil), ' ');
    local _ = data.synthetic.blobs; io.write(tostring(package.loaded.synthetic ~= nil))"]])
  local out = p:read("a")
  p:close()
  T.eq(out, "false true")
  T.eq(data.split, data.split)
  T.ok(sonde ~= nil and data.synthetic.blobs == require("synthetic").blobs)
end)

T.test("docs are registered under their full names", function()
  local _ = data.synthetic.blobs
  local docs = require("sonde").docs()
  for _, name in ipairs {"data.synthetic.blobs", "data.synthetic.deep_linear", "data.synthetic.colored",
      "data.synthetic.textures", "data.synthetic.drift", "data.label_noise", "data.long_tail", "data.split"} do
    T.ok(docs[name] and docs[name].doc ~= "", name)
  end
end)

T.test("blobs: shapes, 1-based labels, means near the centers", function()
  local C = tensor.new({{0, 0}, {10, 0}, {0, -10}}, {dtype = "f32"})
  local X, y, centers = data.synthetic.blobs{n = 3000, centers = C, std = 0.5, gen = gen(1)}
  T.eq(X:shape(), {3000, 2}); T.eq(X:dtype(), "f32"); T.eq(y:dtype(), "i64")
  T.eq(y:min():item(), 1); T.eq(y:max():item(), 3)
  T.ok(same(centers, C))
  for c = 1, 3 do
    local Xc = X:index_select(1, y:eq(c):nonzero():reshape(-1))
    local m = Xc:mean(1):tolist()
    T.near(m[1], C:tolist()[c][1], 0.05); T.near(m[2], C:tolist()[c][2], 0.05)
    local s = Xc:std(1):tolist()
    T.near(s[1], 0.5, 0.05); T.near(s[2], 0.5, 0.05)
  end
  local X2 = data.synthetic.blobs{n = 10, centers = 4, dim = 5, gen = gen(2)}
  T.eq(X2:shape(), {10, 5})
end)

T.test("blobs: same seed gives identical tensors, another seed differs", function()
  local a, ya = data.synthetic.blobs{n = 50, centers = 3, gen = gen(7)}
  local b, yb = data.synthetic.blobs{n = 50, centers = 3, gen = gen(7)}
  local c = data.synthetic.blobs{n = 50, centers = 3, gen = gen(8)}
  T.ok(same(a, b) and same(ya, yb)); T.ok(not same(a, c))
end)

T.test("deep_linear: variances lambda_i, independent features, y = X rho + noise", function()
  local lambda, rho = {4, 1, 0.25}, {0.5, -2, 3}
  local X, y = data.synthetic.deep_linear{n = 20000, lambda = lambda, rho = rho, gen = gen(3)}
  T.eq(X:shape(), {20000, 3}); T.eq(y:shape(), {20000}); T.eq(y:dtype(), "f32")
  local v = X:var(1):tolist()
  for i = 1, 3 do T.near(v[i], lambda[i], 0.05) end
  local cov = X:t():mm(X):div(20000):tolist()
  T.ok(math.abs(cov[1][2]) < 0.05 and math.abs(cov[2][3]) < 0.05)
  T.ok(y:sub(X:mv(tensor.new(rho, {dtype = "f32"}))):abs():max():item() < 1e-5)
  local _, yn = data.synthetic.deep_linear{n = 20000, lambda = lambda, rho = rho, noise = 0.5, gen = gen(3)}
  T.near(yn:sub(X:mv(tensor.new(rho, {dtype = "f32"}))):std():item(), 0.5, 0.05)
  T.raises(function() data.synthetic.deep_linear{n = 5, lambda = {1, 2}, rho = {1}} end, "rho must be a list of 2")
end)

T.test("colored: 3 channels, the color agrees with the label at rate p", function()
  local N = 4000
  local X = tensor.rand(N, 1, 4, 4, {gen = gen(4)})
  local y = tensor.randint(1, 11, N, {gen = gen(5)})
  local X3, y3, agrees, color = data.synthetic.colored{X = X, y = y, p = 0.9, gen = gen(6)}
  T.eq(X3:shape(), {N, 3, 4, 4}); T.eq(agrees:dtype(), "bool"); T.ok(same(y3, y))
  T.ok(same(agrees, color:eq(y)))
  T.near(agrees:to("f32"):mean():item(), 0.9, 0.02)
  for c = 1, 10 do  -- per class
    T.near(agrees[y:eq(c)]:to("f32"):mean():item(), 0.9, 0.06)
  end
  -- class 1 is red: when it agrees, G and B are 0 and R is the gray image
  local i = (agrees:logical_and(y:eq(1))):nonzero():tolist()[1][1]
  T.ok(same(X3[i]:select(1, 1), X[i]:select(1, 1)))
  T.eq(X3[i]:select(1, 2):abs():sum():item(), 0)
  local again = data.synthetic.colored{X = X, y = y, p = 0.9, gen = gen(6)}
  T.ok(same(X3, again))
  T.raises(function() data.synthetic.colored{X = X:reshape(N, 16), y = y, p = 0.5} end, "N x 1 x H x W")
end)

T.test("textures: masks are non-empty exactly for defective images", function()
  local X, mask, y = data.synthetic.textures{n = 200, size = 24, defect_rate = 0.3, gen = gen(9)}
  T.eq(X:shape(), {200, 1, 24, 24}); T.eq(mask:shape(), {200, 1, 24, 24})
  T.eq(mask:dtype(), "bool"); T.eq(y:dtype(), "i64")
  T.ok(X:min():item() >= 0 and X:max():item() <= 1)
  local area = mask:flatten(2):sum(2):tolist()
  local ys, bad = y:tolist(), 0
  for i = 1, 200 do
    T.ok((area[i] > 0) == (ys[i] == 2), "image " .. i)
    if ys[i] == 2 then bad = bad + 1 end
  end
  T.ok(bad > 40 and bad < 80, "defect count " .. bad)
  local X2, mask2 = data.synthetic.textures{n = 200, size = 24, defect_rate = 0.3, gen = gen(9)}
  T.ok(same(X, X2) and same(mask, mask2))
  T.ok(not same(X, data.synthetic.textures{n = 200, size = 24, defect_rate = 0.3, gen = gen(10)}))
  local _, m0 = data.synthetic.textures{n = 5, size = 8, defect_rate = 0, gen = gen(1)}
  T.eq(m0:any():item(), false)
end)

T.test("drift: the mean moves linearly with t", function()
  local X, y, t = data.synthetic.drift{n = 4000, d = 3, shift = 6, gen = gen(11)}
  T.eq(X:shape(), {4000, 3}); T.eq(y:shape(), {4000}); T.eq(t:shape(), {4000})
  T.eq(t[1]:item(), 0); T.eq(t[4000]:item(), 1)
  local early, late = X:narrow(1, 1, 400):mean(1):tolist(), X:narrow(1, 3601, 400):mean(1):tolist()
  for j = 1, 3 do
    T.near(early[j], 6 * 0.05, 0.2); T.near(late[j], 6 * 0.95, 0.2)
  end
  T.eq(y:min():item(), 1); T.eq(y:max():item(), 2)
  local X2 = data.synthetic.drift{n = 4000, d = 3, shift = 6, gen = gen(11)}
  T.ok(same(X, X2))
end)

T.test("label_noise: symmetric flips to another class at rate r", function()
  local y = tensor.randint(1, 6, 20000, {gen = gen(12)})
  local noisy, flipped = data.label_noise(y, {rate = 0.2, gen = gen(13)})
  T.eq(noisy:dtype(), "i64"); T.eq(flipped:dtype(), "bool")
  T.near(flipped:to("f32"):mean():item(), 0.2, 0.02)
  T.ok(same(noisy:ne(y), flipped))  -- a flip always changes the class
  T.ok(noisy:min():item() >= 1 and noisy:max():item() <= 5)
  -- the new class is uniform over the four others
  local c = counts(noisy[flipped:logical_and(y:eq(1))], 5)
  T.eq(c[1], 0)
  for k = 2, 5 do T.near(c[k] / (c[2] + c[3] + c[4] + c[5]), 0.25, 0.05) end
  local again = data.label_noise(y, {rate = 0.2, gen = gen(13)})
  T.ok(same(noisy, again))
end)

T.test("label_noise: pair flips c -> c+1, wrapping", function()
  local y = tensor.new({1, 2, 3, 4, 1, 2, 3, 4})
  local noisy, flipped = data.label_noise(y, {rate = 1, kind = "pair", gen = gen(1)})
  T.eq(noisy:tolist(), {2, 3, 4, 1, 2, 3, 4, 1}); T.eq(flipped:all():item(), true)
  local n0 = data.label_noise(y, {rate = 0, kind = "pair", num_classes = 6, gen = gen(1)})
  T.ok(same(n0, y))
  local n6 = data.label_noise(tensor.new({4}), {rate = 1, kind = "pair", num_classes = 6})
  T.eq(n6:tolist(), {5})
  T.raises(function() data.label_noise(y, {rate = 0.1, kind = "flip"}) end, "kind must be")
  T.raises(function() data.label_noise(y, {rate = 0.1, num_classes = 3}) end, "exceeds num_classes")
end)

T.test("long_tail: exact exponential counts per class", function()
  local y = tensor.arange(0, 1000):remainder(10):add(1)
  local X = tensor.arange(1, 1001):to("f32"):reshape(1000, 1)
  local Xl, yl, idx = data.long_tail(X, y, {imbalance = 100, gen = gen(14)})
  local want = {}
  for c = 1, 10 do want[c] = math.floor(100 * 100 ^ (-(c - 1) / 9) + 1e-9) end
  T.eq(counts(yl, 10), want)
  T.eq(want[1], 100); T.eq(want[10], 1)
  T.ok(same(Xl:reshape(-1):to("i64"), idx))  -- rows kept with their labels, in order
  T.ok(same(y:index_select(1, idx), yl))
  local _, _, idx2 = data.long_tail(X, y, {imbalance = 100, gen = gen(14)})
  T.ok(same(idx, idx2))
  local _, _, idx3 = data.long_tail(X, y, {imbalance = 100, gen = gen(15)})
  T.ok(not same(idx, idx3))
end)

T.test("split random: disjoint, covering 1..n, ratio of rows", function()
  local tr, te = data.split(101, {ratio = 0.7, gen = gen(16)})
  T.eq(tr:dtype(), "i64"); T.eq(tr:numel(), 71); T.eq(te:numel(), 30)
  T.ok(partition(101, {tr, te}))
  local tr2 = data.split(101, {ratio = 0.7, gen = gen(16)})
  T.ok(same(tr, tr2)); T.ok(not same(tr, data.split(101, {ratio = 0.7, gen = gen(17)})))
end)

T.test("split stratified keeps class proportions", function()
  local y = tensor.cat({tensor.full({300}, 1, {dtype = "i64"}), tensor.full({100}, 2, {dtype = "i64"}),
    tensor.full({50}, 3, {dtype = "i64"})})
  local tr, te = data.split(y, {kind = "stratified", ratio = 0.8, gen = gen(18)})
  T.ok(partition(450, {tr, te}))
  T.eq(counts(y:index_select(1, tr), 3), {240, 80, 40})
  T.eq(counts(y:index_select(1, te), 3), {60, 20, 10})
  T.raises(function() data.split(10, {kind = "stratified"}) end, "needs the labels")
end)

T.test("split kfold: k folds whose tests partition 1..n", function()
  local folds = data.split(23, {kind = "kfold", k = 5, gen = gen(19)})
  T.eq(#folds, 5)
  local tests = {}
  for f = 1, 5 do
    tests[f] = folds[f].test
    T.ok(partition(23, {folds[f].train, folds[f].test}))
    T.ok(folds[f].test:numel() == 4 or folds[f].test:numel() == 5)
  end
  T.ok(partition(23, tests))
  T.raises(function() data.split(3, {kind = "kfold", k = 4}) end, "k=4 folds")
end)

T.test("split time: earliest rows train, by position or by time values", function()
  local tr, te = data.split(10, {kind = "time", ratio = 0.6})
  T.eq(tr:tolist(), {1, 2, 3, 4, 5, 6}); T.eq(te:tolist(), {7, 8, 9, 10})
  local tr2, te2 = data.split(tensor.new({0.5, 0.1, 0.9, 0.3}), {kind = "time", ratio = 0.5})
  T.eq(tr2:tolist(), {2, 4}); T.eq(te2:tolist(), {1, 3})
  T.raises(function() data.split(10, {kind = "sideways"}) end, "kind must be")
  T.raises(function() data.split(10, {ratio = 2}) end, "ratio")
end)

T.done()
