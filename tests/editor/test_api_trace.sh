#!/bin/sh
# test_api_trace.sh: the Lua tests as a corpus of correct calls. Each
# tests/lua/test_*.lua runs under tests/lua/api_trace.lua, which checks every
# documented built-in's arguments and results against the types the LuaLS
# files declare (stdlib/api_types.lua); a value they refuse is a wrong type
# (the server would warn about correct code, or complete the wrong methods).
SONDE=${SONDE:-./sonde}
LUA_PATH="$(pwd)/tests/lua/?.lua;;"
export LUA_PATH
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=0; f=0
for t in tests/lua/test_*.lua; do
  case $t in */test_api_types.lua|*/test_repl.lua) continue ;; esac # the repl test drives a terminal
  "$SONDE" tests/lua/api_trace.lua "$t" >"$tmp/out" 2>/dev/null
  grep '^TYPE ' "$tmp/out" >"$tmp/types"
  traced=$(grep '^TRACED ' "$tmp/out")
  if [ -z "$traced" ]; then f=$((f + 1)); echo "FAIL $t: the tracer did not finish"
  elif [ -s "$tmp/types" ]; then f=$((f + 1)); echo "FAIL $traced"; sed 's/^/  /' "$tmp/types"
  else p=$((p + 1)); echo "ok   $traced"; fi
done
# The check can fail: a declared type that a test's values contradict.
printf 'local x = tensor.ones(2, 3):dim()\n' >"$tmp/test_x.lua"
"$SONDE" - "$tmp/test_x.lua" >"$tmp/out" 2>&1 <<LUA
require("api_types").returns["Tensor:dim"] = "string"
arg = { [0] = "api_trace.lua", "$tmp/test_x.lua" }
dofile("tests/lua/api_trace.lua")
LUA
if grep -q '^TYPE Tensor:dim: result 1 is integer, declared string' "$tmp/out"; then
  p=$((p + 1)); echo "ok   a wrong declared type is reported"
else
  f=$((f + 1)); echo "FAIL a wrong declared type is not reported:"; cat "$tmp/out"
fi
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
