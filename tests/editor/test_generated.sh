#!/bin/sh
# test_generated.sh: every generated list in the editor files matches the
# doc registry now: the generator is run on a copy and the copy compared
# with the tree. A failure means a built-in was added, renamed or
# re-documented without `make editor-files`.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=0; f=0
ok() { p=$((p + 1)); echo "ok   $1"; }
bad() { f=$((f + 1)); echo "FAIL $1"; }

copy() { # dir: a copy of the files the generator writes
  mkdir -p "$1/grammar/tree-sitter"
  cp -R editor-support "$1/"
  [ -d grammar/tree-sitter/queries ] && cp -R grammar/tree-sitter/queries "$1/grammar/tree-sitter/"
  return 0
}
compare() { # dir: differences between the tree and a regenerated copy
  diff -r editor-support "$1/editor-support" || return 1
  [ ! -d grammar/tree-sitter/queries ] || diff -r grammar/tree-sitter/queries "$1/grammar/tree-sitter/queries"
}

"$SONDE" --dump-api >"$tmp/api.json" || bad "sonde --dump-api"
copy "$tmp/now"
if "$SONDE" scripts/editor_files.lua "$tmp/api.json" "$tmp/now" >"$tmp/gen.log" 2>&1; then
  ok "the generator runs"
else
  bad "the generator fails:"; cat "$tmp/gen.log"
fi
if compare "$tmp/now" >"$tmp/diff.txt" 2>&1; then
  ok "editor files are up to date with sonde --dump-api"
else
  bad "editor files are out of date: run make editor-files"
  # the built-ins that changed, by their luals definitions, then the diff
  defs() { cat "$1"/*.lua 2>/dev/null | sed -n 's/^function \([^(]*\)(.*/\1/p; s/^\([A-Za-z_]*\)\["\([a-z_]*\)"\] = function.*/\1:\2/p' | sort; }
  defs editor-support/luals/library >"$tmp/old.names"; defs "$tmp/now/editor-support/luals/library" >"$tmp/new.names"
  comm -13 "$tmp/old.names" "$tmp/new.names" | sed 's/^/  new or renamed: /' | head -n 20
  comm -23 "$tmp/old.names" "$tmp/new.names" | sed 's/^/  gone: /' | head -n 20
  head -n 40 "$tmp/diff.txt"
fi

# The check can fail: a renamed built-in changes every generated file.
sed 's/"tensor\.zeros"/"tensor.zeros_renamed"/; s/"name":"tensor\.zeros"/"name":"tensor.zeros_renamed"/' \
  "$tmp/api.json" >"$tmp/renamed.json"
copy "$tmp/renamed"
touch "$tmp/renamed/editor-support/luals/library/stale_module.lua"
"$SONDE" scripts/editor_files.lua "$tmp/renamed.json" "$tmp/renamed" >/dev/null 2>&1
for file in vim/syntax/sonde.vim emacs/sonde-mode.el vscode/syntaxes/sonde.tmLanguage.json luals/library/tensor.lua; do
  if grep -q zeros_renamed "$tmp/renamed/editor-support/$file" && ! cmp -s "editor-support/$file" "$tmp/renamed/editor-support/$file"; then
    ok "a renamed built-in changes $file"
  else
    bad "a renamed built-in does not reach $file"
  fi
done
[ ! -e "$tmp/renamed/editor-support/luals/library/stale_module.lua" ] && ok "a stale luals file is removed" \
  || bad "a stale luals file is kept"
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
