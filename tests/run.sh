#!/bin/sh
# run.sh: the one test driver. Runs the Check suites (tests/unit), the Lua
# tests (tests/lua/test_*.lua) and the shell tests (tests/*/test_*.sh), then
# prints the total as its last line: "N passed, N failed".
# usage: tests/run.sh BUILD_DIR SONDE
B=${1:-build/release}
SONDE=${2:-./sonde}
export SONDE
export LUA_PATH="$(pwd)/tests/lua/?.lua;;"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0
failed=0

# A file whose run crashes or prints no tally counts as one failure.
tally() { # name status logfile kind
  name=$1; st=$2; log=$3; kind=$4
  if [ "$kind" = check ]; then
    line=$(grep -E '^[0-9]+%: Checks: ' "$log" | tail -n 1)
    n=$(echo "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
    f=$(echo "$line" | sed -n 's/.*Failures: \([0-9]*\).*/\1/p')
    e=$(echo "$line" | sed -n 's/.*Errors: \([0-9]*\).*/\1/p')
    [ -n "$n" ] && p=$((n - f - e)) && f=$((f + e))
  else
    line=$(grep -E '^TALLY [0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    p=$(echo "$line" | sed -n 's/^TALLY \([0-9]*\) passed.*/\1/p')
    f=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
  fi
  if [ -z "$line" ]; then p=0; f=1; fi
  if [ "$st" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    echo "-- $name: $p passed, $f failed (exit $st)"
    grep -v '^TALLY' "$log" | tail -n 40
  else
    echo "   $name: $p passed"
  fi
}

for t in "$B"/tests/test_*; do
  [ -x "$t" ] || continue
  log="$out/$(basename "$t").log"
  "$t" >"$log" 2>&1; st=$?
  tally "unit/$(basename "$t")" $st "$log" check
done

for t in tests/lua/test_*.lua; do
  [ -f "$t" ] || continue
  log="$out/$(basename "$t").log"
  "$SONDE" "$t" >"$log" 2>&1; st=$?
  tally "$t" $st "$log" lua
done

for t in tests/*/test_*.sh; do
  [ -f "$t" ] || continue
  log="$out/$(basename "$t").log"
  sh "$t" >"$log" 2>&1; st=$?
  tally "$t" $st "$log" sh
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
