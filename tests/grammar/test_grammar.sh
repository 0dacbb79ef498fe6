#!/bin/sh
# test_grammar.sh: grammar/sonde.ebnf through its executable twin
# (grammar/sonde.lua, LPeg re under lua5.4) against luac5.4 -p on every
# source file, tricky snippets and seeded mutants, and the recipe schema on
# every recipe (tests/grammar/grammar_test.lua); then the twin's command
# line under lua5.4 and under sonde. Prints the TALLY line tests/run.sh reads.
cd "$(dirname "$0")/../.." || exit 1
SONDE=${SONDE:-./sonde}
for tool in lua5.4 luac5.4; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (apt install lua5.4 lua-lpeg)"
    echo "TALLY 1 passed, 0 failed"
    exit 0
  fi
done
if ! lua5.4 -e 'require "re"' >/dev/null 2>&1; then
  echo "SKIP: LPeg's re module does not load under lua5.4 (apt install lua-lpeg)"
  echo "TALLY 1 passed, 0 failed"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

lua5.4 tests/grammar/grammar_test.lua >"$tmp/out" 2>&1
st=$?
grep -v '^TALLY' "$tmp/out"
line=$(grep -E '^TALLY [0-9]+ passed, [0-9]+ failed' "$tmp/out" | tail -n 1)
passed=$(echo "$line" | sed -n 's/^TALLY \([0-9]*\) passed.*/\1/p')
failed=$(echo "$line" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
[ -n "$line" ] || { passed=0; failed=1; }
[ "$st" -eq 0 ] || [ "$failed" -ne 0 ] || failed=1

# the command line: file:line messages and the exit status, under both Luas
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
printf 'local x = 1\nx = = 2\n' >"$tmp/syntax.sonde"
printf 'for i = 1, 2 do end\nbreak\n' >"$tmp/static.sonde"
printf 'experiment "e" {\n  params = { n = { 2 * k, "n" } },\n  run = function(p, run) end,\n}\n' >"$tmp/recipe.sonde"
for lua in lua5.4 "$SONDE"; do
  if [ "$lua" = "$SONDE" ] && [ ! -x "$SONDE" ]; then echo "note: no sonde at $SONDE"; continue; fi
  out=$("$lua" grammar/sonde.lua "$tmp/syntax.sonde" 2>&1); st=$?
  [ $st -eq 1 ] && [ "$out" = "$tmp/syntax.sonde:2: syntax error near '= 2'" ] && ok || bad "$lua: syntax error message: $out"
  out=$("$lua" grammar/sonde.lua "$tmp/static.sonde" 2>&1); st=$?
  [ $st -eq 1 ] && [ "$out" = "$tmp/static.sonde:2: break outside loop at line 2" ] && ok || bad "$lua: static error message: $out"
  out=$("$lua" grammar/sonde.lua --recipe "$tmp/recipe.sonde" 2>&1); st=$?
  case "$out" in "$tmp/recipe.sonde:2: param 'n': the default must be a constant"*) [ $st -eq 1 ] && ok || bad "$lua: recipe exit $st";; *) bad "$lua: recipe message: $out";; esac
  out=$("$lua" grammar/sonde.lua --recipe examples/*.sonde 2>&1); st=$?
  [ $st -eq 0 ] && [ -z "$out" ] && ok || bad "$lua: examples: $out"
  n=$("$lua" grammar/sonde.lua --re | grep -c ' <- ')
  [ "$n" -ge 60 ] && ok || bad "$lua: --re printed $n rules"
done
echo "TALLY $passed passed, $failed failed"
[ "$failed" -eq 0 ]
