#!/bin/sh
# test_probe_examples.sh: small runs of examples/probe_layers.sonde and
# examples/truth_stability.sonde (about 10 s each); checks the numbers they
# log (probe accuracies, CKA in [0, 1], conformal coverage, flip rates, MIL)
# and that every picture is a non-blank PNG. Prints the TALLY line.
SONDE=${SONDE:-./sonde}
export LUA_PATH="$(pwd)/tests/lua/?.lua;;" # testlib, as tests/run.sh sets it
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
"$SONDE" run examples/probe_layers.sonde n=3000 epochs=1 n_probe=1000 folds=3 --seed 1 --out "$out" >"$out/layers.log" 2>&1 || fail=1
"$SONDE" run examples/truth_stability.sonde entities=200 fictional=50 epochs=150 --seed 1 --out "$out" >"$out/truth.log" 2>&1 || fail=1
if [ $fail -ne 0 ]; then
  cat "$out/layers.log" "$out/truth.log" | tail -40
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
layers=$(sed -n 's/^run directory: //p' "$out/layers.log")
truth=$(sed -n 's/^run directory: //p' "$out/truth.log")

"$SONDE" - "$layers" "$truth" <<'LUA'
local layers, truth = arg[1], arg[2]
local T = require "testlib"
local check = T.test
local function find(recs, key, value)
  for _, r in ipairs(recs) do if r[key] == value then return r end end
  error("no record with " .. key .. " = " .. tostring(value))
end
local function first(recs, key)
  for _, r in ipairs(recs) do if r[key] ~= nil then return r end end
  error("no record with " .. key)
end
local function png(path)
  local img = data.load_png(path)
  local h, w = img:size(2), img:size(3)
  assert(h >= 400 and w >= 600, string.format("%s is %dx%d", path, h, w))
  local distinct = T.colours(img[{ {}, { h // 4, 3 * h // 4 }, { w // 4, 3 * w // 4 } }])
  assert(distinct >= 6, string.format("%s: only %d colours in the middle", path, distinct))
end

local L = T.records(layers)
check("probe_layers: five layers, probe and k-NN accuracy well above chance", function()
  for _, nm in ipairs { "pixels", "relu1", "relu2", "relu3", "logits" } do
    local r = find(L, "layer", nm)
    assert(r.probe_acc > 0.6 and r.probe_acc <= 1, nm .. " probe " .. r.probe_acc)
    assert(r.probe_std >= 0 and r.probe_std < 0.1, nm .. " std " .. r.probe_std)
    assert(r.knn_acc > 0.5 and r.knn_acc <= 1, nm .. " knn " .. r.knn_acc)
  end
end)
check("probe_layers: CKA of neighbouring layers in (0.3, 1]", function()
  local n = 0
  for _, r in ipairs(L) do
    if r.cka then n = n + 1; assert(r.cka > 0.3 and r.cka <= 1 + 1e-12, r.pair .. " " .. r.cka) end
  end
  assert(n == 4, n .. " CKA records")
  local C = tensor.load(layers .. "/cka.tensor")
  assert(C:size(1) == 5 and (C - C:t()):abs():max():item() == 0, "symmetric 5x5")
  assert((C:diag() - 1):abs():max():item() < 1e-12, "unit diagonal")
end)
check("probe_layers: layers.png", function() png(layers .. "/layers.png") end)
check("probe_layers: cka.png", function() png(layers .. "/cka.png") end)

local R = T.records(truth)
check("truth_stability: the pretext task is learned, the truth probe reads it", function()
  local acc = nil
  for _, r in ipairs(R) do if r.pretext_acc then acc = r.pretext_acc end end
  assert(acc > 0.95, "final pretext accuracy " .. tostring(acc))
  local p = first(R, "probe_test_acc")
  assert(p.probe_test_acc > 0.8, "probe accuracy " .. p.probe_test_acc)
end)
check("truth_stability: conformal coverage near 1 - alpha on held-out statements", function()
  local r = find(R, "alpha", 0.1)
  -- 400 test statements: 1 - alpha minus three binomial standard deviations
  assert(r.coverage >= 0.9 - 3 * math.sqrt(0.09 / 400), "coverage " .. r.coverage)
  assert(r.mean_set_size > 0.5 and r.mean_set_size <= 2, "set size " .. r.mean_set_size)
end)
check("truth_stability: three-way shares sum to 1; true statements mostly 'true'", function()
  for _, g in ipairs { "true statements", "false statements", "neither statements" } do
    local r = find(R, "group", g)
    assert(math.abs(r.said_true + r.said_false + r.said_neither - 1) < 1e-9, g)
  end
  assert(find(R, "group", "true statements").said_true > 0.7)
  assert(find(R, "group", "false statements").said_false > 0.7)
end)
check("truth_stability: relabelling NEITHER as true moves the probe more than 10% noise", function()
  local noise, neither = find(R, "change", "noise 10%"), find(R, "change", "neither as true")
  assert(neither.flip_rate > noise.flip_rate, neither.flip_rate .. " vs " .. noise.flip_rate)
  assert(neither.to_true >= neither.to_false)
  for _, r in ipairs { noise, neither, find(R, "change", "20% false -> true") } do
    assert(r.angle >= 0 and r.angle <= 180 and r.flip_rate >= 0 and r.flip_rate <= 1, r.change)
  end
end)
check("truth_stability: the MIL probe finds the true statements in bags", function()
  local r = first(R, "mil_bag_acc")
  assert(r.mil_bag_acc > 0.75, "bag accuracy " .. r.mil_bag_acc)
  assert(r.mil_instance_auroc > 0.75, "instance AUROC " .. r.mil_instance_auroc)
end)
for _, f in ipairs { "three_way.png", "stability.png", "projection.png" } do
  check("truth_stability: " .. f, function() png(truth .. "/" .. f) end)
end
T.done()
LUA
