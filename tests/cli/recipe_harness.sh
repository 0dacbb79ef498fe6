# recipe_harness.sh: what the recipe command tests (test_recipe.sh,
# test_sweep.sh) share, sourced from the repository root: $SONDE made
# absolute, $RECIPE (examples/recipe_demo.sonde), a temp dir to work in,
# and the checks. Each check counts into the TALLY line `finish` prints.
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
finish() {
  echo "TALLY $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
