-- test_nn_functional.lua: nn.functional: values against formulas and
-- PyTorch 1.13's numbers (computed once, written here), gradchecks in f64
-- for every differentiable function, 1-based targets and ids, and errors.
local T = require "testlib"
local F = require "nn.functional"

local g = tensor.generator(42)
local function randn(...)
  local shape = type(...) == "table" and ... or { ... }
  return tensor.randn(shape, { dtype = "f64", gen = g })
end
local function i64(t) return tensor.new(t, { dtype = "i64" }) end
local function f64(t) return tensor.new(t, { dtype = "f64" }) end

local function check(fn, inputs, opts)
  local ok, why = autograd.gradcheck(fn, inputs, opts)
  T.ok(ok, why)
end

local function near_list(a, b, tol)
  T.eq(#a, #b, "lengths")
  for i = 1, #a do T.near(a[i], b[i], tol or 1e-6, "element " .. i) end
end

local function flat(t) return t:contiguous():reshape(t:numel()):tolist() end

-- --- conv2d ---

T.test("conv2d gradchecks: stride, padding, dilation, groups, 1x1, no bias, 3-d", function()
  local cases = {
    { x = { 2, 3, 5, 5 }, w = { 4, 3, 3, 3 }, o = {} },
    { x = { 2, 3, 6, 5 }, w = { 4, 3, 3, 3 }, o = { stride = 2, padding = 1 } },
    { x = { 1, 2, 7, 7 }, w = { 3, 2, 3, 2 }, o = { dilation = { 2, 1 }, padding = { 1, 0 } } },
    { x = { 2, 4, 4, 4 }, w = { 6, 2, 2, 2 }, o = { groups = 2, stride = { 1, 2 } } },
    { x = { 2, 4, 3, 3 }, w = { 4, 1, 3, 3 }, o = { groups = 4, padding = 1 } },
    { x = { 2, 3, 3, 4 }, w = { 5, 3, 1, 1 }, o = {} },
  }
  for _, c in ipairs(cases) do
    local x, w, b = randn(c.x), randn(c.w), randn(c.w[1])
    check(function(x, w, b) return F.conv2d(x, w, b, c.o) end, { x, w, b })
    check(function(x, w) return F.conv2d(x, w, nil, c.o) end, { x, w })
  end
  check(function(x, w) return F.conv2d(x, w, { padding = 1 }) end, { randn(2, 4, 4), randn(3, 2, 3, 3) })
end)

T.test("conv2d values: a hand-computed 1-channel case", function()
  local x = tensor.arange(1, 10, { dtype = "f64" }):view(1, 1, 3, 3)
  local w = f64{ { { { 1, 0 }, { 0, -1 } } } }
  local y = F.conv2d(x, w, f64{ 10 })
  T.eq(y:shape(), { 1, 1, 2, 2 })
  T.eq(flat(y), { 6, 6, 6, 6 }) -- x[i][j] - x[i+1][j+1] = -4, plus 10
  local yp = F.conv2d(x, w, nil, { padding = 1, stride = 2 })
  T.eq(flat(yp), { -1, -3, -7, -4 })
end)

-- --- pools ---

T.test("max_pool2d values and 1-based indices (PyTorch's)", function()
  local m = f64{ { { { 1, 5, 2, 0 }, { 3, 4, 9, 1 }, { 7, 0, 2, 8 } } } }
  local v, i = F.max_pool2d(m, 2, { stride = 2, ceil_mode = true, return_indices = true })
  T.eq(flat(v), { 5, 9, 7, 8 })
  T.eq(flat(i), { 2, 7, 9, 12 })
  T.eq(i:dtype(), "i64")
end)

T.test("max_pool2d gradchecks", function()
  check(function(x) return F.max_pool2d(x, 2) end, { randn(2, 3, 4, 6) })
  check(function(x) return F.max_pool2d(x, 3, { stride = 2, padding = 1 }) end, { randn(1, 2, 5, 5) })
  check(function(x) return F.max_pool2d(x, { 2, 3 }, { stride = 1, dilation = { 2, 1 } }) end, { randn(2, 6, 5) })
  check(function(x) return F.max_pool2d(x, 2, { ceil_mode = true }) end, { randn(1, 2, 5, 5) })
end)

T.test("avg_pool2d values: padding, ceil_mode, count_include_pad (PyTorch's)", function()
  local a = tensor.arange(1, 26, { dtype = "f64" }):view(1, 1, 5, 5)
  near_list(flat(F.avg_pool2d(a, 2, { stride = 2, padding = 1, ceil_mode = true })),
    { 0.25, 1.25, 2.25, 4.25, 10.0, 12.0, 9.25, 20.0, 22.0 })
  near_list(flat(F.avg_pool2d(a, 2, { stride = 2, padding = 1, ceil_mode = true, count_include_pad = false })),
    { 1.0, 2.5, 4.5, 8.5, 10.0, 12.0, 18.5, 20.0, 22.0 })
  near_list(flat(F.avg_pool2d(a, 3, { stride = 2, padding = 1, ceil_mode = true })),
    { 1.7777777777, 3.6666666667, 3.1111111111, 7.6666666667, 13.0, 9.6666666667, 8.4444444444,
      13.6666666667, 9.7777777778 }, 1e-8)
  near_list(flat(F.adaptive_avg_pool2d(a, { 3, 2 })), { 4.5, 6.5, 12.0, 14.0, 19.5, 21.5 })
end)

T.test("avg_pool2d and adaptive_avg_pool2d gradchecks", function()
  check(function(x) return F.avg_pool2d(x, 2) end, { randn(2, 3, 4, 4) })
  check(function(x) return F.avg_pool2d(x, 3, { stride = 2, padding = 1, ceil_mode = true }) end, { randn(1, 2, 5, 6) })
  check(function(x) return F.avg_pool2d(x, 3, { stride = 2, padding = 1, count_include_pad = false }) end, { randn(2, 5, 5) })
  check(function(x) return F.adaptive_avg_pool2d(x, { 3, 2 }) end, { randn(2, 2, 5, 7) })
  check(function(x) return F.adaptive_avg_pool2d(x, 1) end, { randn(2, 3, 4, 4) })
end)

-- --- normalisation ---

T.test("batch_norm training: output and running statistics (PyTorch's)", function()
  local x = tensor.new{ { { 1, 2 }, { 3, 4 } }, { { 0.5, -1 }, { 2, 7 } } }
  local rm, rv = tensor.new{ 0.5, -0.5 }, tensor.new{ 2.0, 0.5 }
  local y = F.batch_norm(x, rm, rv, tensor.new{ 1.5, 0.5 }, tensor.new{ 0.1, -0.2 },
    { training = true, momentum = 0.2 })
  near_list(flat(y), { 0.619612991809845, 2.0052475929260254, -0.4672608971595764, -0.20000004768371582,
    -0.07320433855056763, -2.15165638923645, -0.734521746635437, 0.601782500743866 }, 1e-5)
  near_list(rm:tolist(), { 0.525, 0.4 }, 1e-6)
  near_list(rv:tolist(), { 1.9125, 1.3333333 }, 1e-6)
  local ye = F.batch_norm(x, rm, rv, nil, nil)
  near_list(flat(ye), { 0.34347236156463623, 1.0665719509124756, 2.251657485961914, 3.1176795959472656,
    -0.018077462911605835, -1.102726936340332, 1.3856353759765625, 5.71574592590332 }, 1e-5)
end)

T.test("batch_norm gradchecks, training and evaluation, 2-d and 4-d", function()
  local rm, rv = randn(3), randn(3):abs() + 0.5
  check(function(x, w, b) return F.batch_norm(x, nil, nil, w, b, { training = true }) end,
    { randn(4, 3), randn(3), randn(3) })
  check(function(x, w, b) return F.batch_norm(x, nil, nil, w, b, { training = true }) end,
    { randn(2, 3, 2, 3), randn(3), randn(3) })
  check(function(x) return F.batch_norm(x, nil, nil, nil, nil, { training = true }) end, { randn(3, 3, 4) })
  check(function(x, w, b) return F.batch_norm(x, rm, rv, w, b) end, { randn(2, 3, 2, 2), randn(3), randn(3) })
end)

T.test("layer_norm values and gradchecks", function()
  local x = f64{ { 1, 2, 3, 4 }, { -1, 0, 1, 5 } }
  local y = F.layer_norm(x, 4, nil, nil, { eps = 0 })
  local r = y:tolist()
  for i = 1, 2 do
    local s, q = 0, 0
    for j = 1, 4 do s = s + r[i][j]; q = q + r[i][j] ^ 2 end
    T.near(s, 0, 1e-12)
    T.near(q / 4, 1, 1e-12)
  end
  check(function(x, w, b) return F.layer_norm(x, 5, w, b) end, { randn(3, 5), randn(5), randn(5) })
  check(function(x, w, b) return F.layer_norm(x, { 2, 3 }, w, b) end, { randn(2, 2, 3), randn(2, 3), randn(2, 3) })
  check(function(x) return F.layer_norm(x, { 4 }) end, { randn(2, 3, 4) })
end)

-- --- dense layers and activations ---

T.test("linear equals x wᵀ + b; gradchecks for 2-d and 3-d inputs", function()
  local x, w, b = f64{ { 1, 2 } }, f64{ { 1, 0 }, { 0, 1 }, { 1, 1 } }, f64{ 1, 2, 3 }
  T.eq(F.linear(x, w, b):tolist(), { { 2, 4, 6 } })
  check(function(x, w, b) return F.linear(x, w, b) end, { randn(4, 3), randn(2, 3), randn(2) })
  check(function(x, w, b) return F.linear(x, w, b) end, { randn(2, 4, 3), randn(5, 3), randn(5) })
  check(function(x, w) return F.linear(x, w) end, { randn(3), randn(2, 3) })
end)

T.test("embedding takes 1-based ids; its gradient adds repeated rows", function()
  local w = f64{ { 1, 2 }, { 3, 4 }, { 5, 6 } }
  T.eq(F.embedding(i64{ { 3, 1 } }, w):tolist(), { { { 5, 6 }, { 1, 2 } } })
  local ids = i64{ { 1, 3, 1 }, { 2, 2, 1 } }
  check(function(w) return F.embedding(ids, w) end, { randn(4, 3) })
  T.raises(function() F.embedding(i64{ 0 }, w) end, "out of range")
end)

T.test("activations: relu, leaky_relu, gelu, sigmoid, tanh, softmax gradchecks", function()
  T.eq(F.leaky_relu(f64{ -2, 3 }, 0.1):tolist(), { -0.2, 3 })
  T.eq(F.relu(f64{ -2, 3 }):tolist(), { 0, 3 })
  for _, fn in ipairs{ F.relu, F.gelu, F.sigmoid, F.tanh, function(x) return F.leaky_relu(x, 0.2) end } do
    check(fn, { randn(3, 4) })
  end
  check(function(x) return F.softmax(x, 2) end, { randn(3, 4) })
  check(function(x) return F.log_softmax(x, 1) end, { randn(3, 4) })
end)

T.test("dropout: same generator, same mask; scale 1/(1-p); identity when not training", function()
  local x = tensor.ones(1000, { dtype = "f64" })
  local a = F.dropout(x, 0.3, { gen = tensor.generator(5) })
  local b = F.dropout(x, 0.3, { gen = tensor.generator(5) })
  T.eq(a:tolist(), b:tolist())
  local zeros, kept = 0, 0
  for _, v in ipairs(a:tolist()) do
    if v == 0 then zeros = zeros + 1 else kept = kept + 1; T.near(v, 1 / 0.7, 1e-12) end
  end
  T.ok(zeros > 230 and zeros < 370, "about 30% dropped, got " .. zeros)
  T.eq(F.dropout(x, 0.3, { training = false }), x)
  T.eq(F.dropout(x, 1):sum():item(), 0)
  check(function(x) return F.dropout(x, 0.5, { gen = tensor.generator(1) }) end, { randn(4, 5) })
end)

-- --- losses ---

local X = f64{ { 1.0, 2.0, 0.5, -1.0 }, { 0.3, -0.2, 2.5, 1.0 }, { 0.0, 0.1, 0.2, 0.3 } }
local Y = i64{ 2, 4, 1 }
local W = f64{ 1.0, 2.0, 0.5, 1.5 }

T.test("cross_entropy matches PyTorch: weights, smoothing, reductions, ignore_index", function()
  T.near(F.cross_entropy(X, Y, { weight = W, label_smoothing = 0.1 }):item(), 1.2090155495221346, 1e-12)
  T.near(F.cross_entropy(X, Y, { weight = W, label_smoothing = 0.1, reduction = "sum" }):item(), 5.440569972849606, 1e-12)
  near_list(F.cross_entropy(X, Y, { weight = W, label_smoothing = 0.1, reduction = "none" }):tolist(),
    { 1.109475153815273, 2.7687459013427915, 1.562348917691542 }, 1e-12)
  T.near(F.cross_entropy(X, Y, { label_smoothing = 0.2 }):item(), 1.380000928127863, 1e-12)
  T.near(F.cross_entropy(X, Y, { label_smoothing = 0.2, ignore_index = 4 }):item(), 1.1413587137705095, 1e-12)
  T.near(F.cross_entropy(X, Y, { weight = W, label_smoothing = 0.2, ignore_index = 4 }):item(), 0.9369162724622515, 1e-12)
  local x = X:clone():requires_grad()
  F.cross_entropy(x, Y, { weight = W, label_smoothing = 0.1, ignore_index = 4 }):backward()
  local want = { { 0.13553334991426239, -0.2255964758740539, 0.08309288763416604, 0.006970238325625409 },
    { 0, 0, 0, 0 }, { -0.23527194137495533, 0.0640786589598587, 0.0850707189863175, 0.08612256342877914 } }
  for i = 1, 3 do near_list(x.grad:tolist()[i], want[i], 1e-12) end
end)

T.test("cross_entropy equals -log_softmax at the target; f32 logits", function()
  local x = tensor.randn(5, 7, { gen = g })
  local y = i64{ 1, 7, 3, 3, 2 }
  local lp = x:log_softmax(2):tolist()
  local s = 0
  for i = 1, 5 do s = s - lp[i][y:tolist()[i]] end
  T.near(F.cross_entropy(x, y):item(), s / 5, 1e-5)
  T.near(F.nll_loss(x:log_softmax(2), y):item(), s / 5, 1e-5)
  T.eq(F.cross_entropy(x, y):dtype(), "f32")
end)

T.test("cross_entropy and nll_loss gradchecks", function()
  local y = i64{ 3, 1, 4, 4, 2 }
  for _, o in ipairs{ {}, { reduction = "sum" }, { reduction = "none" }, { weight = randn(4):abs() },
    { label_smoothing = 0.3 }, { weight = randn(4):abs(), label_smoothing = 0.2, ignore_index = 4 },
    { label_smoothing = 0.1, reduction = "none", ignore_index = 1 } } do
    check(function(x) return F.cross_entropy(x, y, o) end, { randn(5, 4) })
    if not o.label_smoothing then check(function(x) return F.nll_loss(x, y, o) end, { randn(5, 4) }) end
  end
  check(function(x) return F.cross_entropy(x, i64(2)) end, { randn(4) })
end)

T.test("regression losses: values and gradchecks in both arguments", function()
  local a, b = f64{ 1, 2, 3 }, f64{ 1, 4, 0 }
  T.near(F.mse_loss(a, b):item(), 13 / 3, 1e-12)
  T.near(F.mse_loss(a, b, { reduction = "sum" }):item(), 13, 1e-12)
  T.eq(F.l1_loss(a, b, { reduction = "none" }):tolist(), { 0, 2, 3 })
  local xx = f64{ { 0.5, -1.0, 3.0 }, { -2.0, 0.0, 1.0 } }
  local yy = f64{ { 1.0, 0.0, 0.5 }, { 0.0, 1.0, 1.0 } }
  T.near(F.smooth_l1_loss(xx, yy, { beta = 0.5 }):item(), 0.9583333333333334, 1e-12)
  for _, fn in ipairs{ F.mse_loss, F.l1_loss, F.smooth_l1_loss } do
    check(function(x, y) return fn(x, y) end, { randn(3, 4), randn(3, 4) })
    check(function(x, y) return fn(x, y, { reduction = "none" }) end, { randn(5), randn(5) })
  end
end)

T.test("binary_cross_entropy_with_logits and kl_div match PyTorch; gradchecks", function()
  local xx = f64{ { 0.5, -1.0, 3.0 }, { -2.0, 0.0, 1.0 } }
  local yy = f64{ { 1.0, 0.0, 0.5 }, { 0.0, 1.0, 1.0 } }
  T.near(F.binary_cross_entropy_with_logits(xx, yy, { pos_weight = f64{ 2, 0.5, 1 } }):item(), 0.5994610493822244, 1e-12)
  local lp = xx:log_softmax(2)
  local tp = f64{ { 0.2, 0.0, 0.8 }, { 0.5, 0.25, 0.25 } }
  T.near(F.kl_div(lp, tp, { reduction = "batchmean" }):item(), 0.5772816759022315, 1e-12)
  T.near(F.kl_div(lp, tp, { reduction = "sum" }):item(), 1.154563351804463, 1e-12)
  T.near(F.kl_div(lp, tp:clamp(1e-12, 1):log(), { reduction = "sum", log_target = true }):item(), 1.154563351804463, 1e-9)
  local t01 = tensor.rand(3, 4, { dtype = "f64", gen = g })
  check(function(x, y) return F.binary_cross_entropy_with_logits(x, y) end, { randn(3, 4), t01 })
  check(function(x, pw, w) return F.binary_cross_entropy_with_logits(x, t01, { pos_weight = pw, weight = w }) end,
    { randn(3, 4), randn(4):abs(), randn(3, 4) })
  check(function(x, t) return F.kl_div(x, t, { reduction = "batchmean" }) end, { randn(3, 4), t01 })
  check(function(x, t) return F.kl_div(x, t, { log_target = true, reduction = "none" }) end, { randn(3, 4), randn(3, 4) })
end)

-- --- errors ---

T.test("errors name the function, the argument and the shapes", function()
  T.raises(function() F.conv2d(tensor.zeros(2, 4, 28, 28), tensor.zeros(8, 3, 3, 3)) end,
    "conv2d: weight [8,3,3,3] expects 3 input channels, input [2,4,28,28] has 4")
  T.raises(function() F.conv2d(tensor.zeros(1, 4, 5, 5), tensor.zeros(6, 2, 3, 3), nil, { groups = 3 }) end,
    "conv2d: weight [6,2,3,3] expects 6 input channels, input [1,4,5,5] has 4")
  T.raises(function() F.conv2d(tensor.zeros(1, 4, 5, 5), tensor.zeros(6, 1, 3, 3), nil, { groups = 4 }) end,
    "not divisible by 4 groups")
  T.raises(function() F.conv2d(tensor.zeros(1, 4, 5, 5), tensor.zeros(6, 4, 3, 3), tensor.zeros(5)) end,
    "conv2d: bias must be [6]")
  T.raises(function() F.conv2d(tensor.zeros(1, 1, 2, 2), tensor.zeros(1, 1, 3, 3)) end, "conv2d: kernel 3x3")
  T.raises(function() F.conv2d(tensor.zeros(1, 1, 5, 5), tensor.zeros(1, 1, 3, 3), nil, { stride = 0 }) end, "stride")
  T.raises(function() F.linear(tensor.zeros(128, 1601), tensor.zeros(128, 1600)) end,
    "linear: weight [128,1600] expects 1600 input features, input [128,1601] has 1601")
  T.raises(function() F.max_pool2d(tensor.zeros(2, 2), 2) end, "max_pool2d: input must be")
  T.raises(function() F.max_pool2d(tensor.zeros(1, 1, 4, 4), 2, { padding = 2 }) end, "at most half")
  T.raises(function() F.cross_entropy(tensor.zeros(2, 3), i64{ 1, 4 }) end,
    "cross_entropy: target 4 is out of range for 3 classes")
  T.raises(function() F.cross_entropy(tensor.zeros(2, 3), i64{ 1, 0 }) end, "target 0 is out of range")
  T.raises(function() F.cross_entropy(tensor.zeros(2, 3), i64{ 1, 2, 3 }) end, "cross_entropy: target [3] does not match input [2,3]")
  T.raises(function() F.cross_entropy(tensor.zeros(2, 3), tensor.zeros(2)) end, "integer class indices")
  T.raises(function() F.cross_entropy(tensor.zeros(2, 3), i64{ 1, 2 }, { reduction = "avg" }) end, "reduction")
  T.raises(function() F.mse_loss(tensor.zeros(4, 1), tensor.zeros(4)) end,
    "mse_loss: input [4,1] and target [4] must have the same shape")
  T.raises(function() F.layer_norm(tensor.zeros(2, 3), { 4 }) end,
    "layer_norm: normalized_shape [4] does not match the last dims of input [2,3]")
  T.raises(function() F.batch_norm(tensor.zeros(1, 3), nil, nil, nil, nil, { training = true }) end,
    "more than 1 value per channel")
  T.raises(function() F.batch_norm(tensor.zeros(2, 3), tensor.zeros(4), tensor.ones(4)) end, "running_mean")
  T.raises(function() F.batch_norm(tensor.zeros(2, 3), nil, nil) end, "evaluation mode needs")
  T.raises(function() F.dropout(tensor.zeros(3), 1.5) end, "dropout: probability")
  T.raises(function() F.embedding(tensor.zeros(2), tensor.zeros(3, 2)) end, "embedding: indices must be integers")
end)

T.test("every function is documented under nn.functional", function()
  local docs = sonde.docs()
  for name in pairs(F) do
    T.ok(docs["nn.functional." .. name], "no doc for nn.functional." .. name)
  end
end)

T.done()
