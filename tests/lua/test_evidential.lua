-- test_evidential.lua: nn.functional.evidential_loss (Sensoy et al. 2018):
-- values against the reference formulas (computed with PyTorch 1.13 from
-- the loss of the authors' reference implementation, dougbrion/pytorch-
-- classification-uncertainty: the three kinds, with and without the KL
-- term), the annealing, gradchecks, errors; and the behaviour the
-- evidential scores are for, on a toy of three 2-d classes where 1 and 2
-- overlap: vacuity (ignorance) is higher in the empty gaps than at the
-- class centres, dissonance (confusion) higher where 1 and 2 mix than at
-- the centre of 3.
local T = require "testlib"
local F = nn.functional

local e = tensor.new({ { 5, 0, 1 }, { 0.5, 0.5, 0.5 } }, { dtype = "f64" })
local t = tensor.new { 1, 3 }

T.test("values: the reference formulas", function()
  -- torch: alpha = e + 1, y one-hot, mean over the batch
  local want = { mse = { 0.6979645174605812, 0.5050505050505051 }, log = { 0.9449527107982133, 0.7520386983881372 },
    digamma = { 1.0863663933624572, 0.893452380952381 } }
  for kind, w in pairs(want) do
    T.near(F.evidential_loss(e, t, { kind = kind }):item(), w[1], 1e-13, kind .. " with KL")
    T.near(F.evidential_loss(e, t, { kind = kind, kl = 0 }):item(), w[2], 1e-13, kind .. " without KL")
  end
end)

T.test("KL coefficient: kl=, else min(1, epoch / annealing_step), else 1", function()
  local full, none = F.evidential_loss(e, t):item(), F.evidential_loss(e, t, { kl = 0 }):item()
  T.near(F.evidential_loss(e, t, { epoch = 5 }):item(), none + 0.5 * (full - none), 1e-13)
  T.near(F.evidential_loss(e, t, { epoch = 2, annealing_step = 4 }):item(), none + 0.5 * (full - none), 1e-13)
  T.near(F.evidential_loss(e, t, { epoch = 50 }):item(), full, 1e-13)
  T.near(F.evidential_loss(e, t, { kl = 0.25 }):item(), none + 0.25 * (full - none), 1e-13)
  T.near(F.evidential_loss(e, t, { reduction = "sum" }):item(), 2 * full, 1e-13)
  T.eq(F.evidential_loss(e, t, { reduction = "none" }):shape(), { 2 })
end)

for _, kind in ipairs { "mse", "log", "digamma" } do
  T.test("gradcheck " .. kind, function()
    local x = tensor.rand({ 4, 3 }, { dtype = "f64", gen = tensor.generator(3) }) * 4
    T.ok(autograd.gradcheck(function(a) return F.evidential_loss(a, tensor.new { 1, 2, 3, 2 }, { kind = kind, reduction = "none" }) end, { x }))
  end)
end

T.test("errors name the argument and the shapes", function()
  T.raises(function() F.evidential_loss(e, tensor.new { 1, 4 }) end, "evidential_loss: target: one_hot: label 4 out of range 1..3")
  T.raises(function() F.evidential_loss(e, tensor.new { 1 }) end, "target must be [2] class indices (1-based), got [1]")
  T.raises(function() F.evidential_loss(e:view(-1), t) end, "evidence must be a float tensor [N, K]")
  T.raises(function() F.evidential_loss(e, t, { kind = "hinge" }) end, "kind must be \"mse\", \"log\" or \"digamma\", got hinge")
  T.raises(function() F.evidential_loss(e, t, { reduction = "max" }) end, "reduction must be")
  T.raises(function() F.evidential_loss(e, t, { kl = -1 }) end, "kl must be a number >= 0")
end)

T.test("toy: vacuity high in the gaps, dissonance high where classes mix", function()
  local g = tensor.generator(7)
  local n = 300
  local centres = tensor.new({ { -0.6, 0 }, { 0.6, 0 }, { 4, 4 } }, { dtype = "f32" })
  local y = (tensor.arange(0, 3 * n) / n):floor():to("i64") + 1
  local X = centres:index_select(1, y) + tensor.randn({ 3 * n, 2 }, { gen = g }) * 0.7
  local model = nn.Sequential { nn.Linear(2, 32, { gen = g }), nn.ReLU(), nn.Linear(32, 3, { gen = g }) }
  local opt = optim.Adam(model:parameters(), { lr = 1e-2 })
  for epoch = 1, 200 do
    opt:zero_grad()
    F.evidential_loss(F.relu(model(X)), y, { epoch = epoch, annealing_step = 50 }):backward()
    opt:step()
  end
  local function evidence(pts)
    return autograd.no_grad(function() return F.relu(model(tensor.new(pts, { dtype = "f32" }))) end)
  end
  local centre_v = detect.vacuity(evidence { { -1.2, 0 }, { 1.2, 0 }, { 4, 4 } }):mean():item()
  local gap_v = detect.vacuity(evidence { { 2, 2 }, { 0, 4 }, { 4, 0 }, { 0, -3 } }):mean():item()
  local mix_d = detect.dissonance(evidence { { 0, 0 }, { 0, 0.3 }, { 0, -0.3 } }):mean():item()
  local clean_d = detect.dissonance(evidence { { 4, 4 }, { 4.5, 4 }, { 4, 4.5 } }):mean():item()
  print(string.format("toy: vacuity centres %.3f gaps %.3f; dissonance mixed %.3f clean %.3f", centre_v, gap_v, mix_d, clean_d))
  T.ok(gap_v > centre_v + 0.05, "vacuity in the gaps")
  T.ok(mix_d > clean_d + 0.01, "dissonance where classes mix")
end)

T.done()
