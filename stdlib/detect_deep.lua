-- detect_deep.lua: the trained detectors of the `detect` module (see
-- detect.lua): SimpleNet (Liu et al., CVPR 2023) and an autoencoder scored
-- by its reconstruction error. Both train with nn/optim, seeded by seed=.
return function(M, kinds, new, opt)

-- --- SimpleNet ---
-- A linear feature adaptor, synthetic anomalies = adapted features + Gaussian
-- noise N(0, noise_std^2 I), and a discriminator MLP (Linear, BatchNorm1d,
-- LeakyReLU(0.2), Linear -> 1) trained with the truncated L1 loss
-- mean max(0, th - D(normal)) + mean max(0, th + D(anomalous)), th = 0.5.
-- Score: -D(adapted feature). Defaults as the reference code (DonaldRR/SimpleNet):
-- noise_std 0.015, hidden 1024, discriminator lr 2e-4 (weight decay 1e-5),
-- adaptor lr 1e-4; epochs counts passes over the features (the reference runs
-- 40 meta-epochs of 4 discriminator epochs); the last epoch is kept, never
-- one picked on test data.

local function simplenet_nets(c, o, g)
  local adaptor = nn.Linear(c, c, { gen = g })
  local disc = nn.Sequential { nn.Linear(c, o.hidden, { gen = g }), nn.BatchNorm1d(o.hidden), nn.LeakyReLU(0.2),
                               nn.Linear(o.hidden, 1, { gen = g }) }
  return adaptor, disc
end

local function as_vectors(fn, x)
  if not tensor.is_tensor(x) or (x:dim() ~= 2 and x:dim() ~= 4) then
    error("detect." .. fn .. ": features must be [n, C] or maps [N, C, H, W]", 3)
  end
  if x:dim() == 2 then return x:to("f32"), nil end
  local n, c, h, w = table.unpack(x:shape())
  return x:to("f32"):permute(1, 3, 4, 2):reshape(n * h * w, c), { n, h, w }
end

local function simplenet_apply(self, x)
  local v, shape = as_vectors("simplenet", x)
  local s = autograd.no_grad(function()
    self.disc:eval()
    local a = self.opts.adaptor and self.adaptor:forward(v) or v
    return self.disc:forward(a):view(-1):neg()
  end)
  return shape and s:view(shape[1], shape[2], shape[3]) or s
end

local function simplenet_restore(state, opts)
  local adaptor, disc = simplenet_nets(opts.c, opts, tensor.generator(0))
  local a, d = {}, {}
  for k, v in pairs(state) do
    local name = k:match("^adaptor%.(.+)$")
    if name then a[name] = v end
    name = k:match("^disc%.(.+)$")
    if name then d[name] = v end
  end
  adaptor:load_state_dict(a)
  disc:load_state_dict(d)
  local det = new("simplenet", opts, state, simplenet_apply)
  det.adaptor, det.disc = adaptor, disc
  return det
end
kinds.simplenet = simplenet_restore

function M.simplenet(features, o)
  local v = as_vectors("simplenet", features)
  local c = v:size(2)
  local opts = { noise_std = opt(o, "noise_std", 0.015), adaptor = opt(o, "adaptor", true),
                 epochs = opt(o, "epochs", 160), hidden = opt(o, "hidden", 1024), lr = opt(o, "lr", 2e-4),
                 adaptor_lr = opt(o, "adaptor_lr", 1e-4), batch = opt(o, "batch", 512),
                 margin = opt(o, "margin", 0.5), seed = opt(o, "seed", 0), c = c }
  local g = tensor.generator(opts.seed)
  local adaptor, disc = simplenet_nets(c, opts, g)
  -- the reference initialises the adaptor with Xavier-normal weights
  autograd.no_grad(function()
    adaptor.weight:copy_(tensor.randn(c, c, { gen = g }):mul(math.sqrt(2 / (2 * c))))
  end)
  local params = disc:parameters()
  local dopt = optim.Adam(disc:parameters(), { lr = opts.lr, weight_decay = 1e-5 })
  local aopt = opts.adaptor and optim.Adam(adaptor:parameters(), { lr = opts.adaptor_lr }) or nil
  local loader = data.loader(v, { batch = opts.batch, shuffle = true, gen = tensor.generator(opts.seed, 1) })
  local noise_gen = tensor.generator(opts.seed, 2)
  local th = opts.margin
  local losses = {}
  disc:train()
  for epoch = 1, opts.epochs do
    local total, nb = 0, 0
    for xb in loader do
      dopt:zero_grad()
      if aopt then aopt:zero_grad() end
      local a = opts.adaptor and adaptor:forward(xb) or xb
      local fake = a + tensor.randn(a:size(1), c, { gen = noise_gen }):mul(opts.noise_std)
      local s = disc:forward(tensor.cat({ a, fake }, 1)):view(-1)
      local n = a:size(1)
      local loss = (th - s:narrow(1, 1, n)):relu():mean() + (s:narrow(1, n + 1, n) + th):relu():mean()
      loss:backward()
      dopt:step()
      if aopt then aopt:step() end
      total, nb = total + loss:item(), nb + 1
    end
    losses[epoch] = total / nb
  end
  local state = {}
  for k, t in pairs(adaptor:state_dict()) do state["adaptor." .. k] = t end
  for k, t in pairs(disc:state_dict()) do state["disc." .. k] = t end
  local det = new("simplenet", opts, state, simplenet_apply)
  det.adaptor, det.disc, det.losses = adaptor, disc, losses
  det.state.train_scores = simplenet_apply(det, v)
  return det
end

-- --- autoencoder: score = mean squared reconstruction error per row ---

local function ae_net(d, hidden, g)
  local layers, sizes = {}, { d }
  for _, h in ipairs(hidden) do sizes[#sizes + 1] = h end
  for i = 1, #sizes - 1 do -- encoder
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1], { gen = g })
    layers[#layers + 1] = nn.ReLU()
  end
  for i = #sizes, 2, -1 do -- decoder, linear output
    layers[#layers + 1] = nn.Linear(sizes[i], sizes[i - 1], { gen = g })
    if i > 2 then layers[#layers + 1] = nn.ReLU() end
  end
  return nn.Sequential(layers)
end

local function flat(fn, x)
  if not tensor.is_tensor(x) or x:dim() < 2 then error("detect." .. fn .. ": expected [n, ...] rows", 3) end
  return x:to("f32"):reshape(x:size(1), -1)
end

local function ae_score(self, x)
  local v = flat("autoencoder", x)
  return autograd.no_grad(function()
    return (self.net:forward(v) - v):square():mean(2)
  end)
end

kinds.autoencoder = function(state, opts)
  local hidden = {}
  for h in tostring(opts.hidden):gmatch("%d+") do hidden[#hidden + 1] = tonumber(h) end
  local net = ae_net(opts.d, hidden, tensor.generator(0))
  local sd = {}
  for k, v in pairs(state) do local n = k:match("^net%.(.+)$") if n then sd[n] = v end end
  net:load_state_dict(sd)
  local det = new("autoencoder", opts, state, ae_score)
  det.net = net
  return det
end

function M.autoencoder(train, o)
  local v = flat("autoencoder", train)
  local hidden = opt(o, "hidden", { 64, 16 })
  local opts = { hidden = table.concat(hidden, ","), epochs = opt(o, "epochs", 50), lr = opt(o, "lr", 1e-3),
                 batch = opt(o, "batch", 64), seed = opt(o, "seed", 0), d = v:size(2) }
  local g = tensor.generator(opts.seed)
  local net = ae_net(opts.d, hidden, g)
  local adam = optim.Adam(net:parameters(), { lr = opts.lr })
  local loader = data.loader(v, { batch = opts.batch, shuffle = true, gen = tensor.generator(opts.seed, 1) })
  for _ = 1, opts.epochs do
    for xb in loader do
      adam:zero_grad()
      local loss = nn.functional.mse_loss(net:forward(xb), xb)
      loss:backward()
      adam:step()
    end
  end
  local state = {}
  for k, t in pairs(net:state_dict()) do state["net." .. k] = t end
  local det = new("autoencoder", opts, state, ae_score)
  det.net = net
  det.state.train_scores = ae_score(det, v)
  return det
end

for _, d in ipairs {
  { "simplenet", "detect.simplenet(features, {noise_std=0.015, adaptor=true, epochs=160, hidden=1024, lr=2e-4, adaptor_lr=1e-4, batch=512, margin=0.5, seed=0})",
    "SimpleNet (Liu et al. 2023): linear adaptor, Gaussian-noise anomalies, MLP discriminator, truncated L1; score -D; [n,C] or maps [N,C,H,W] -> [N,H,W]" },
  { "autoencoder", "detect.autoencoder(train, {hidden={64,16}, epochs=50, lr=1e-3, batch=64, seed=0})",
    "MLP autoencoder trained with MSE (Adam); score = mean squared reconstruction error of each row" },
} do sonde.doc("detect." .. d[1], d[2], d[3]) end

end
