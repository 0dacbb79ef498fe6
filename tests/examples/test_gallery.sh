#!/bin/sh
# test_gallery.sh: examples/gallery.sonde writes its four pictures; each is
# checked for size and content (not blank: many distinct colours, ink in the
# middle). Prints the TALLY line tests/run.sh reads.
SONDE=${SONDE:-./sonde}
export LUA_PATH="$(pwd)/tests/lua/?.lua;;" # testlib, as tests/run.sh sets it
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$SONDE" examples/gallery.sonde "$out" >"$out/log" 2>&1; then
  cat "$out/log"
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
"$SONDE" - "$out" <<'LUA'
local dir = arg[1]
local T = require "testlib"
local want = { grid = { 240, 240 }, roc = { 480, 640 }, scatter = { 480, 640 }, confusion = { 480, 640 } }
for _, name in ipairs { "grid", "roc", "scatter", "confusion" } do
  T.test(name, function()
    local img = data.load_png(dir .. "/" .. name .. ".png")
    local h, w = img:size(2), img:size(3)
    assert(h >= want[name][1] and w >= want[name][2], string.format("%s is %dx%d", name, h, w))
    -- distinct colours among the pixels of the middle third
    local distinct = T.colours(img[{ {}, { h // 3, 2 * h // 3 }, { w // 3, 2 * w // 3 } }])
    assert(distinct >= 8, string.format("%s: only %d colours in the middle", name, distinct))
  end)
end
T.done()
LUA
