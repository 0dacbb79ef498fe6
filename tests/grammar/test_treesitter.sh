#!/bin/sh
# test_treesitter.sh: sonde's tree-sitter queries (grammar/tree-sitter/queries)
# run headless under node with web-tree-sitter and the published Lua grammar,
# both installed from grammar/tree-sitter/package-lock.json into the build
# directory (next to $SONDE; no global install). Parses the examples and
# the tests' recipes, checks the annotated sample's captures, and checks the
# generated block against `sonde --dump-api`. Prints the TALLY line.
cd "$(dirname "$0")/../.." || exit 1
SONDE=${SONDE:-./sonde}
skip() { echo "SKIP: $1"; echo "TALLY 1 passed, 0 failed"; exit 0; }
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

bdir=$(dirname "$SONDE")
[ -d "$bdir" ] && [ "$bdir" != "." ] || bdir=build
dir=$bdir/npm-tree-sitter
src=grammar/tree-sitter
mkdir -p "$dir" || exit 1
if ! cmp -s "$src/package-lock.json" "$dir/package-lock.json" || [ ! -d "$dir/node_modules/web-tree-sitter" ]; then
  cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$dir/" || exit 1
  if ! (cd "$dir" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --legacy-peer-deps) >"$dir/npm.log" 2>&1; then
    rm -f "$dir/package-lock.json" # install again next time
    if ! timeout 60 npm ping >/dev/null 2>&1; then
      skip "the npm registry is unreachable (npm ping failed); $(tail -n 1 "$dir/npm.log")"
    fi
    cat "$dir/npm.log"
    echo "TALLY 0 passed, 1 failed"
    exit 1
  fi
fi

api=
if "$SONDE" --dump-api >"$dir/api.json" 2>"$dir/api.err"; then api="--api $dir/api.json"
else echo "note: $SONDE --dump-api failed ($(head -n 1 "$dir/api.err")); built-in list not checked"; fi

files=$(find examples tests -type f -name '*.sonde' | sort)
exec node "$src/test_queries.js" --modules "$dir" $api --sample tests/grammar/highlight_sample.sonde $files
