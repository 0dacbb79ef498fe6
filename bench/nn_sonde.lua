-- nn_sonde.lua: sonde's side of bench_nn.sh. Prints "name ms" lines (best
-- of several runs, wall clock) for the layers of the Fashion-MNIST CNN, two
-- other convolutions (3x3 same-size, 1x1) and one whole training step of
-- the CNN (batch 128, Adam).
local F = require "nn.functional"
local threads = tonumber(arg and arg[1]) or 2
tensor.set_num_threads(threads)
tensor.manual_seed(0)

local timing = require "bench.timing"
local best, out = timing.best, timing.out
local function ones_like(y) return tensor.ones(y:shape()) end

local x1 = tensor.randn(128, 1, 28, 28)
local w1, b1 = tensor.randn(32, 1, 3, 3):requires_grad(), tensor.randn(32):requires_grad()
local x2 = tensor.randn(128, 32, 13, 13):requires_grad()
local w2, b2 = tensor.randn(64, 32, 3, 3):requires_grad(), tensor.randn(64):requires_grad()
local p1 = tensor.randn(128, 32, 26, 26):requires_grad()

out("conv1_fwd", best(20, function() return autograd.no_grad(function() return F.conv2d(x1, w1, b1) end) end))
out("conv1_fwd_bwd", best(20, function() local y = F.conv2d(x1, w1, b1); y:backward(ones_like(y)) end))
out("conv2_fwd", best(20, function() return autograd.no_grad(function() return F.conv2d(x2, w2, b2) end) end))
out("conv2_fwd_bwd", best(20, function() local y = F.conv2d(x2, w2, b2); y:backward(ones_like(y)) end))
out("maxpool_fwd_bwd", best(20, function() local y = F.max_pool2d(p1, 2); y:backward(ones_like(y)) end))
out("avgpool_fwd_bwd", best(20, function() local y = F.avg_pool2d(p1, 2); y:backward(ones_like(y)) end))

-- beyond the CNN: a same-size 3x3 convolution and a 1x1 one
local x3 = tensor.randn(32, 64, 28, 28):requires_grad()
local w3, b3 = tensor.randn(64, 64, 3, 3):requires_grad(), tensor.randn(64):requires_grad()
local x4 = tensor.randn(128, 64, 14, 14):requires_grad()
local w4, b4 = tensor.randn(128, 64, 1, 1):requires_grad(), tensor.randn(128):requires_grad()
out("conv3_same_fwd_bwd", best(10, function() local y = F.conv2d(x3, w3, b3, { padding = 1 }); y:backward(ones_like(y)) end))
out("conv1x1_fwd_bwd", best(20, function() local y = F.conv2d(x4, w4, b4); y:backward(ones_like(y)) end))

-- the CNN, PyTorch's default init scale does not matter for timing
local function param(...) return (tensor.randn(...) * 0.05):requires_grad() end
local P = { param(32, 1, 3, 3), param(32), param(64, 32, 3, 3), param(64), param(128, 1600), param(128),
  param(10, 128), param(10) }
local opt = optim.Adam(P, { lr = 1e-3 })
local xb = tensor.randn(128, 1, 28, 28)
local yb = tensor.randint(1, 11, 128, { dtype = "i64" })
local function step()
  opt:zero_grad()
  local h = F.max_pool2d(F.relu(F.conv2d(xb, P[1], P[2])), 2)
  h = F.max_pool2d(F.relu(F.conv2d(h, P[3], P[4])), 2)
  h = F.relu(F.linear(h:view(128, 1600), P[5], P[6]))
  local loss = F.cross_entropy(F.linear(h, P[7], P[8]), yb)
  loss:backward()
  opt:step()
end
out("cnn_train_step", best(20, step))
