-- train_sonde.lua: sonde's side of bench_train.sh. Trains one model on
-- Fashion-MNIST for one epoch (Adam 1e-3, batch 128, shuffled) and prints
-- "time <train seconds>", "acc <test accuracy>" lines. Pixels stay u8 and
-- each batch is converted to f32 in [0, 1], as torchvision does per sample
-- (train_torch.py does the same per batch).
-- usage: sonde bench/train_sonde.lua mlp|cnn threads
local which, threads = arg[1] or "mlp", tonumber(arg[2] or "2")
tensor.set_num_threads(threads)
tensor.manual_seed(0)
local X, y = data.fashion_mnist { split = "train", raw = true }
local Xt, yt = data.fashion_mnist { split = "test", raw = true }
local function to_unit(xb) return xb:to("f32"):div(255) end
local model
if which == "mlp" then
  X, Xt = X:view(X:size(1), 784), Xt:view(Xt:size(1), 784)
  model = nn.Sequential { nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10) }
else
  model = nn.Sequential {
    nn.Conv2d(1, 16, 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, { padding = 1 }), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
  }
end
local loader = data.loader
local train = loader(X, y, { batch = 128, shuffle = true, gen = tensor.generator(0), transform = to_unit })
local opt = optim.Adam(model:parameters(), { lr = 1e-3 })
local F = nn.functional
local t0 = tensor.clock()
for xb, yb in train do
  opt:zero_grad()
  local loss = F.cross_entropy(model(xb), yb)
  loss:backward()
  opt:step()
end
local dt = tensor.clock() - t0
local ev = nn.evaluate(model, loader(Xt, yt, { batch = 250, transform = to_unit }))
print(string.format("time %.6f", dt))
print(string.format("acc %.4f", ev.acc))
