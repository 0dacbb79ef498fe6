#!/bin/sh
# test_screenshot.sh: editor-support/screenshot/render.sh draws a recipe as
# Vim highlights it (the README's picture): a PNG of the right size whose
# pixels carry the colours of the recipe form and of sonde's built-ins.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v vim >/dev/null; then echo "SKIP: vim is not installed"; echo "TALLY 1 passed, 0 failed"; exit 0; fi
p=0; f=0
if sh editor-support/screenshot/render.sh "$SONDE" tests/editor/sample.sonde "$tmp/shot.png" 2>"$tmp/err"; then
  p=$((p + 1)); echo "ok   render.sh writes a PNG"
else
  f=$((f + 1)); echo "FAIL render.sh: $(cat "$tmp/err")"
fi
"$SONDE" - "$tmp/shot.png" tests/editor/sample.sonde >"$tmp/check.out" 2>&1 <<'LUA'
local img = image.load(arg[1]):to("f32")
local n = 0
for _ in io.lines(arg[2]) do n = n + 1 end
local function check(cond, what) print((cond and "ok   " or "FAIL ") .. what) end
local C, H, W = img:size(1), img:size(2), img:size(3)
check(C >= 3 and H == 32 + 20 * n and W > 400, string.format("size %dx%d for %d lines", W, H, n))
-- pixels close to a palette colour (anti-aliasing blends the rest)
local function count(r, g, b)
  local d = (img[1] - 255 * r):abs() + (img[2] - 255 * g):abs() + (img[3] - 255 * b):abs()
  return (d:lt(30)):sum():item()
end
check(count(0.60, 0.10, 0.55) > 20, "the recipe form (experiment) has its colour")
check(count(0.00, 0.40, 0.75) > 50, "sonde's built-ins have their colour")
check(count(0.45, 0.50, 0.45) > 50, "comments have theirs")
LUA
cat "$tmp/check.out"
p=$((p + $(grep -c '^ok' "$tmp/check.out"))); f=$((f + $(grep -c '^FAIL' "$tmp/check.out")))
grep -q '^ok   comments' "$tmp/check.out" || grep -q '^FAIL comments' "$tmp/check.out" || { f=$((f + 1)); echo "FAIL the image check did not finish"; }
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
