#!/bin/sh
# test_vscode.sh: editor-support/vscode: the extension's JSON files, the
# snippets' built-ins, and the TextMate grammar run by vscode-tmgrammar-test
# (npm) on annotated samples, with the MIT Lua grammar of npm `tm-grammars`
# standing in for VS Code's own. The npm packages install from the committed
# lock file into a local cache, never globally.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "SKIP: node/npm are not installed"; echo "TALLY 1 passed, 0 failed"; exit 0
fi
ext=$(pwd)/editor-support/vscode
p=0; f=0
ok() { p=$((p + 1)); echo "ok   $1"; }
bad() { f=$((f + 1)); echo "FAIL $1"; }

# --- the npm tools, cached by the lock file's hash ---
lock=$ext/test/package-lock.json
key=$(cat "$ext/test/package.json" "$lock" | sha256sum | cut -c1-16)
cache=${SONDE_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sonde/editor-npm}/$key
if [ ! -x "$cache/node_modules/.bin/vscode-tmgrammar-test" ]; then
  mkdir -p "$(dirname "$cache")"
  stage=$(mktemp -d "$(dirname "$cache")/stage.XXXXXX")
  cp "$ext/test/package.json" "$lock" "$stage/"
  if (cd "$stage" && npm ci --no-audit --no-fund --ignore-scripts >npm.log 2>&1); then
    mv "$stage" "$cache" 2>/dev/null || rm -rf "$stage" # another run may have won
  else
    tail -n 20 "$stage/npm.log"; rm -rf "$stage"
  fi
fi
[ -x "$cache/node_modules/.bin/vscode-tmgrammar-test" ] && ok "npm ci of the test tools (cache $cache)" \
  || { bad "npm ci of vscode-tmgrammar-test and tm-grammars"; echo "TALLY $p passed, $f failed"; exit 1; }
lua_grammar=$cache/node_modules/tm-grammars/grammars/lua.json
tmtest() { # (the Lua grammar embeds C for ffi.cdef; no C grammar is needed here)
  node "$cache/node_modules/vscode-tmgrammar-test/dist/unit.js" --config "$ext/package.json" \
    -g "$lua_grammar" "$@" >"$tmp/tm.log" 2>&1
  st=$?
  grep -v 'grammar not found for "source.c"' "$tmp/tm.log"
  return $st
}

# --- the extension's files ---
"$SONDE" --dump-api >"$tmp/api.json"
if EXT="$ext" API="$tmp/api.json" node >"$tmp/files.out" 2>&1 <<'JS'
const fs = require("fs"), path = require("path");
const ext = process.env.EXT;
const read = (f) => JSON.parse(fs.readFileSync(path.join(ext, f), "utf8"));
const check = (cond, what) => console.log((cond ? "ok   " : "FAIL ") + what);
const pkg = read("package.json");
const lang = pkg.contributes.languages[0];
check(lang.id === "sonde" && lang.extensions.includes(".sonde"), "package.json: language sonde for .sonde");
for (const c of [lang.configuration, pkg.contributes.grammars[0].path, pkg.contributes.snippets[0].path])
  check(fs.existsSync(path.join(ext, c)), "package.json names an existing " + c);
const conf = read("language-configuration.json");
check(conf.comments.lineComment === "--", "language configuration: -- comments");
const gram = read("syntaxes/sonde.tmLanguage.json");
check(gram.scopeName === "source.sonde" && JSON.stringify(gram.patterns).includes("source.lua"),
  "grammar source.sonde includes source.lua");
const api = JSON.parse(fs.readFileSync(process.env.API, "utf8"));
const snips = read("snippets/sonde.json");
for (const want of ["experiment", "probe", "detect", "attack"])
  check(Object.values(snips).some((s) => s.prefix === want), "a snippet for " + want);
// every module function a snippet calls is documented
const missing = [];
for (const s of Object.values(snips))
  for (const m of s.body.join("\n").matchAll(/\b([a-z_]+(?:\.[a-z_]+)*\.[A-Za-z_]+)\s*[({]/g))
    if (!api[m[1]]) missing.push(m[1]);
check(missing.length === 0, "the snippets call documented built-ins only" + (missing.length ? ": not " + missing.join(", ") : ""));
JS
then :; fi
cat "$tmp/files.out"
p=$((p + $(grep -c '^ok' "$tmp/files.out"))); f=$((f + $(grep -c '^FAIL' "$tmp/files.out")))
grep -q '^ok   a snippet for attack' "$tmp/files.out" || bad "node could not check the extension files"

# --- the grammar on the annotated sample ---
if tmtest tests/editor/vscode/sample.sonde >"$tmp/sample.out"; then
  ok "vscode-tmgrammar-test on tests/editor/vscode/sample.sonde"
else
  bad "vscode-tmgrammar-test on tests/editor/vscode/sample.sonde:"; head -n 40 "$tmp/sample.out"
fi
# the tester fails on a wrong assertion (so the check above can fail)
sed 's/^--  \^\^\^\^ support.function.global.sonde/--  ^^^^ keyword.control.lua/' tests/editor/vscode/sample.sonde >"$tmp/wrong.sonde"
tmtest "$tmp/wrong.sonde" >/dev/null && bad "a wrong assertion passes" || ok "a wrong assertion fails"

# --- every documented built-in, one a line, annotated from the dump ---
"$SONDE" tests/editor/builtins_sample.lua "$tmp/api.json" | awk '
  BEGIN { print "-- SYNTAX TEST \"source.sonde\" \"every documented built-in\"" }
  {
    print
    if ($0 ~ /^x:/) { name = substr($0, 3); sub(/\(\)$/, "", name); col = 2; scope = "support.function.method.sonde" }
    else if ($0 ~ /\./) { name = $0; sub(/\(\)$/, "", name); sub(/.*\./, "", name); col = length($0) - 2 - length(name); scope = "support.function.sonde" }
    else { name = $0; sub(/\(\)$/, "", name); col = 0; scope = "support.function.global.sonde" }
    marks = ""; for (i = 0; i < length(name); i++) marks = marks "^"
    if (col == 0) { line = "-- <"; for (i = 1; i < length(name); i++) line = line "-"; print line " " scope }
    else { pad = ""; for (i = 2; i < col; i++) pad = pad " "; print "--" pad marks " " scope }
  }' >"$tmp/all.sonde"
n=$(grep -c '^--' "$tmp/all.sonde")
if [ "$n" -gt 100 ] && tmtest "$tmp/all.sonde" >"$tmp/all.out"; then
  ok "all $((n - 1)) documented built-ins have sonde's scopes"
else
  bad "built-ins without sonde's scopes (run make editor-files):"; grep -A3 'at \[' "$tmp/all.out" | head -n 30
fi
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
