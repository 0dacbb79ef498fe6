#!/bin/sh
# test_detect_examples.sh: small runs of examples/anomaly_textures.sonde and
# examples/ood_fashion.sonde; checks the logged numbers (AUROCs and PRO in
# range and above chance, FPR@95 in [0, 1], CIs around the AUROC, the
# evidential twin above chance) and that
# the overlay picture is a non-blank PNG. Prints the TALLY line.
SONDE=${SONDE:-./sonde}
export LUA_PATH="$(pwd)/tests/lua/?.lua;;" # testlib, as tests/run.sh sets it
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail=0
"$SONDE" run examples/anomaly_textures.sonde n_train=40 n_test=60 epochs=10 hidden=64 --seed 1 --out "$out" >"$out/tex.log" 2>&1 || fail=1
"$SONDE" run examples/ood_fashion.sonde n_train=3000 n_test=2000 epochs=2 boot=20 --seed 1 --out "$out" >"$out/ood.log" 2>&1 || fail=1
if [ $fail -ne 0 ]; then
  cat "$out/tex.log" "$out/ood.log" | tail -40
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
tex=$(sed -n 's/^run directory: //p' "$out/tex.log")
ood=$(sed -n 's/^run directory: //p' "$out/ood.log")

"$SONDE" - "$tex" "$ood" <<'LUA'
local tex, ood = arg[1], arg[2]
local T = require "testlib"
local check = T.test
local function by(recs, key)
  local t = {}
  for _, r in ipairs(recs) do if r[key] then t[r[key]] = r end end
  return t
end

local M = by(T.records(tex), "method")
check("anomaly_textures: three methods, numbers in range", function()
  for _, m in ipairs { "knn (PatchCore)", "mahalanobis (PaDiM)", "simplenet" } do
    local r = assert(M[m], "no record for " .. m)
    for _, k in ipairs { "image_auroc", "pixel_auroc", "pro" } do
      assert(r[k] >= 0 and r[k] <= 1, m .. " " .. k .. " = " .. tostring(r[k]))
    end
    assert(r.pixel_auroc > 0.6 and r.image_auroc > 0.6, m .. " at chance")
  end
end)
check("anomaly_textures: kNN and PaDiM localise the defects", function()
  for _, m in ipairs { "knn (PatchCore)", "mahalanobis (PaDiM)" } do
    local r = M[m]
    assert(r.image_auroc > 0.85 and r.pixel_auroc > 0.9 and r.pro > 0.7,
      string.format("%s: %.3f %.3f %.3f", m, r.image_auroc, r.pixel_auroc, r.pro))
  end
end)
check("anomaly_textures: overlays.png is a real picture", function()
  local img = data.load_png(tex .. "/overlays.png")
  assert(img:size(1) == 3 and img:size(2) >= 200 and img:size(3) >= 300)
  assert(T.colours(img) >= 50, "few colours")
end)

local recs = T.records(ood)
local O = by(recs, "score")
check("ood_fashion: seven scores, AUROC inside its CI, FPR@95 in [0, 1]", function()
  for _, s in ipairs { "msp", "energy", "maxlogit", "knn", "vacuity", "edl_vacuity", "edl_dissonance" } do
    local r = assert(O[s], "no record for " .. s)
    assert(r.auroc_lo <= r.auroc + 1e-9 and r.auroc <= r.auroc_hi + 1e-9, s .. " CI")
    assert(r.fpr95 >= 0 and r.fpr95 <= 1, s .. " fpr95")
  end
end)
check("ood_fashion: far-OOD classes detected above chance", function()
  assert(O.msp.auroc > 0.7 and O.knn.auroc > 0.7, string.format("msp %.3f knn %.3f", O.msp.auroc, O.knn.auroc))
  for _, r in ipairs(recs) do if r.id_accuracy then assert(r.id_accuracy > 0.5) end end
end)
check("ood_fashion: the evidential twin learns the ID classes and its scores rank OOD above chance", function()
  local acc
  for _, r in ipairs(recs) do acc = r.edl_id_accuracy or acc end
  assert(acc and acc > 0.5, "evidential ID accuracy " .. tostring(acc))
  -- at this size (2 epochs, KL weight 0.2) vacuity is still near chance;
  -- a collapsed twin (all evidence 0, as relu evidence did) has both at 0.5
  assert(math.max(O.edl_vacuity.auroc, O.edl_dissonance.auroc) > 0.7,
    string.format("edl vacuity %.3f dissonance %.3f", O.edl_vacuity.auroc, O.edl_dissonance.auroc))
end)
T.done()
LUA
