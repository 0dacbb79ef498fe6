#!/bin/sh
# test_forgetting.sh: a small run of examples/forgetting.sonde (class 2, 3000
# images, 2 shadows, ~20 s). Checks the report table (a row per method,
# every column), the logged numbers (in range; original CKA 1; gradient
# ascent and random labels drive the forget accuracy under 0.1; retrain
# keeps the retain accuracy) and both plots (size, not blank). Prints the
# TALLY line tests/run.sh reads.
SONDE=${SONDE:-./sonde}
export LUA_PATH="$(pwd)/tests/lua/?.lua;;" # testlib, as tests/run.sh sets it
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$SONDE" run examples/forgetting.sonde n=3000 n_test=2000 epochs=2 steps=50 shadows=2 relearn=30 class=2 \
    n_probe=1000 --seed 1 --out "$out" >"$out/log" 2>&1; then
  cat "$out/log"
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
dir=$(dirname "$(find "$out" -name metrics.jsonl | head -n 1)")
"$SONDE" - "$dir" <<'LUA'
local dir = arg[1]
local T = require "testlib"
local check = T.test
local methods = { "original", "retrain", "finetune", "gradient_ascent", "graddiff", "random_label", "npo", "scrub", "ga_full_budget" }
local rows = {}
for _, r in ipairs(T.records(dir)) do
  rows[r.method] = r
end
check("one logged row per method, numbers in range", function()
  for _, m in ipairs(methods) do
    local r = assert(rows[m], "no row for " .. m)
    for _, k in ipairs { "forget_acc", "retain_acc", "test_acc", "mia_auc", "loss_mia_auc", "probe_acc", "cka" } do
      assert(type(r[k]) == "number" and r[k] >= -1e-9 and r[k] <= 1 + 1e-9, m .. "." .. k .. " = " .. tostring(r[k]))
    end
    assert(math.type(r.relearn_steps) == "integer", m .. " relearn_steps")
  end
end)
check("the original knows the class; its CKA to itself is 1", function()
  assert(rows.original.forget_acc > 0.8, rows.original.forget_acc)
  assert(math.abs(rows.original.cka - 1) < 1e-6, rows.original.cka)
  assert(rows.original.relearn_steps == 0)
end)
check("gradient ascent and random labels empty the forget class's logits", function()
  assert(rows.gradient_ascent.forget_acc < 0.1, rows.gradient_ascent.forget_acc)
  assert(rows.random_label.forget_acc < 0.1, rows.random_label.forget_acc)
end)
check("retrain forgets the class and keeps the rest", function()
  assert(rows.retrain.forget_acc < 0.05, rows.retrain.forget_acc)
  assert(rows.retrain.retain_acc > 0.6, rows.retrain.retain_acc)
end)
check("the report table has every column and a row per method", function()
  local f = assert(io.open(dir .. "/report.txt"))
  local text = f:read("a")
  f:close()
  for _, h in ipairs { "forget acc", "retain acc", "test acc", "MIA AUC", "relearn steps", "CKA", "probe acc", "time" } do
    assert(text:find(h, 1, true), "no column " .. h)
  end
  for _, m in ipairs(methods) do assert(text:find("\n" .. m .. " ", 1, true), "no row " .. m) end
end)
for _, name in ipairs { "gap", "relearn" } do
  check(name .. ".png", function()
    local img = data.load_png(dir .. "/" .. name .. ".png")
    local h, w = img:size(2), img:size(3)
    assert(h >= 480 and w >= 640, string.format("%dx%d", h, w))
    local distinct = T.colours(img[{ {}, { h // 4, 3 * h // 4 }, { w // 4, 3 * w // 4 } }])
    assert(distinct >= 8, "only " .. distinct .. " colours")
  end)
end
T.done()
LUA
