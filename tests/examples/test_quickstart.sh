#!/bin/sh
# test_quickstart.sh: a small run of examples/quickstart.sonde (the main job),
# then `sonde verify` of it. Checks the run directory (status done, manifest,
# metrics of every stage in range, non-blank PNGs) and that the re-run under a
# different thread count is identical. Prints the TALLY line tests/run.sh reads.
SONDE=${SONDE:-./sonde}
export LUA_PATH="$(pwd)/tests/lua/?.lua;;" # testlib, as tests/run.sh sets it
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$SONDE" run examples/quickstart.sonde n=3000 epochs=1 n_test=500 n_attack=100 --seed 7 \
    --threads 2 --out "$out" >"$out/run.log" 2>&1; then
  tail -30 "$out/run.log"
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
dir=$(sed -n 's/^run directory: //p' "$out/run.log")
"$SONDE" verify "$dir" --threads 1 >"$out/verify.log" 2>&1
verify=$?

"$SONDE" - "$dir" "$verify" "$out/verify.log" <<'LUA'
local dir, verify, vlog = arg[1], tonumber(arg[2]), arg[3]
local decode = recipe.json_decode
local T = require "testlib"
local check = T.test
local function read(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end
local recs = T.records(dir)
local function where(key, value)
  local out = {}
  for _, r in ipairs(recs) do if r[key] ~= nil and (value == nil or r[key] == value) then out[#out + 1] = r end end
  return out
end
check("status done", function() assert(read(dir .. "/status"):match("^done"), read(dir .. "/status")) end)
check("manifest names the recipe, seed and params", function()
  local m = decode(read(dir .. "/manifest.json"))
  assert(m.seed == 7, "seed " .. tostring(m.seed))
  assert(m.params.n == 3000 and m.params.epochs == 1, "params")
end)
check("training logged and learned", function()
  local e = where("test_acc")
  assert(#e == 1 and e[1].test_acc > 0.5, "test_acc " .. tostring(e[1] and e[1].test_acc))
end)
check("a probe per layer, better than chance", function()
  local p = where("probe_acc")
  assert(#p == 3, #p .. " probe records")
  for _, r in ipairs(p) do assert(r.probe_acc > 0.5 and r.probe_acc <= 1, r.probe_layer .. " " .. r.probe_acc) end
end)
check("three OOD scores with AUROC and FPR@95 in [0, 1]", function()
  local o = where("ood_score")
  assert(#o == 3, #o .. " OOD records")
  for _, r in ipairs(o) do
    assert(r.auroc >= 0 and r.auroc <= 1 and r.fpr95 >= 0 and r.fpr95 <= 1, r.ood_score)
  end
  assert(where("ood_score", "knn")[1].auroc > 0.6, "kNN AUROC " .. where("ood_score", "knn")[1].auroc)
end)
check("PGD lowers accuracy", function()
  local a = where("robust_acc")[1]
  assert(a.robust_acc < a.clean_acc - 0.2, a.clean_acc .. " -> " .. a.robust_acc)
end)
for _, name in ipairs { "probe_layers", "cka_layers", "ood_roc", "pgd_examples" } do
  check(name .. ".png is a picture", function()
    local img = data.load_png(dir .. "/" .. name .. ".png")
    assert(img:size(2) >= 60 and img:size(3) >= 200, name .. " is too small")
    local flat = img:to("i64"):flatten()
    assert(flat:unique():numel() >= 8, name .. ": nearly blank")
  end)
end
check("verify under 1 thread: identical", function()
  assert(verify == 0, "sonde verify exit " .. verify .. ":\n" .. read(vlog))
end)
T.done()
LUA
