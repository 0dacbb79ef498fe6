#!/bin/sh
# test_treesitter.sh: sonde's tree-sitter queries (grammar/tree-sitter/queries)
# run headless under node with web-tree-sitter and the published Lua grammar,
# both installed from grammar/tree-sitter/package-lock.json into the build
# directory (next to $SONDE; no global install). Parses every .sonde and
# .lua file of examples/, tests/ and stdlib/ (no error node; experiment,
# documented module functions and locals captured as they should be),
# checks the annotated sample's captures, and checks the generated block
# against `sonde --dump-api`. Prints the TALLY line.
cd "$(dirname "$0")/../.." || exit 1
SONDE=${SONDE:-./sonde}
skip() { echo "SKIP: $1"; echo "TALLY 1 passed, 0 failed"; exit 0; }
command -v node >/dev/null 2>&1 || skip "node is not installed"
command -v npm >/dev/null 2>&1 || skip "npm is not installed"

# the packages go to the build directory of $SONDE (build/ when sonde is
# the top-level binary), in a folder named by the lock file's checksum,
# installed aside and renamed into place, so parallel runs never share a
# half-written node_modules
bdir=$(dirname "$SONDE")
case "$bdir" in build/*|*/build/*) ;; *) bdir=build ;; esac
src=grammar/tree-sitter
dir=$bdir/npm-tree-sitter-$(cksum <"$src/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$dir/installed" ]; then
  new=$dir.tmp.$$
  rm -rf "$new"
  mkdir -p "$new" && cp "$src/package.json" "$src/package-lock.json" "$src/.npmrc" "$new/" || exit 1
  if ! (cd "$new" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts --legacy-peer-deps) >"$new/npm.log" 2>&1; then
    log=$(tail -n 3 "$new/npm.log")
    rm -rf "$new"
    timeout 60 npm ping >/dev/null 2>&1 || skip "the npm registry is unreachable (npm ping failed): $log"
    echo "$log"
    echo "TALLY 0 passed, 1 failed"
    exit 1
  fi
  touch "$new/installed"
  mv -T "$new" "$dir" 2>/dev/null || rm -rf "$new" # another run got there first
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
api=
if "$SONDE" --dump-api >"$tmp/api.json" 2>"$tmp/api.err"; then api="--api $tmp/api.json"
else echo "note: $SONDE --dump-api failed ($(head -n 1 "$tmp/api.err")); built-in list not checked"; fi

files=$(find examples tests stdlib -type f \( -name '*.sonde' -o -name '*.lua' \) | sort)
node "$src/test_queries.js" --modules "$dir" $api --sample tests/grammar/highlight_sample.sonde $files
