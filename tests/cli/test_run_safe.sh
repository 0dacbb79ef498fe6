#!/bin/sh
# test_run_safe.sh: `sonde run --safe`: each way out of the sandbox is tried
# and must fail with an error naming the call (and, where it makes sense,
# work without --safe): os.execute, io.popen, os.exit, package.loadlib,
# debug, C modules from disk, binary chunks, dofile/loadfile outside the
# recipe's directory, reads outside the data roots and writes outside the
# run directory (in Lua and in the C loaders and writers), symlinks and '..'
# out of a root, the recipe module, the guard's own switches. A safe run of
# a normal recipe still works, --data-root opens a directory for reading.
# Run by tests/run.sh (from the repository root) with SONDE set.
. "$(dirname "$0")/recipe_harness.sh"

mkdir rec outside
echo secret >outside/secret.txt
printf 'a,b\n1,2\n' >outside/table.csv
"$SONDE" -e "tensor.save('outside/t.tensor', tensor.arange(3))"
printf 'return 42\n' >outside/mod.lua
printf 'return 7\n' >rec/helper.lua
echo inside >rec/inside.txt
ln -s ../outside/secret.txt rec/link.txt

# escape NAME CODE MESSAGE [yes]: CODE in a recipe's run function fails under
# --safe with MESSAGE on stderr; with "yes" it also runs without --safe.
escape() {
  printf 'experiment "e" { run = function(p, run) %s end }\n' "$2" >rec/e.sonde
  run run rec/e.sonde --safe --out "$tmp/safe"
  expect "--safe refuses $1" 1 err "$3"
  if [ "${4:-}" = yes ]; then
    run run rec/e.sonde --out "$tmp/unsafe"
    check "$1 works without --safe" '[ "$rc" -eq 0 ]'
  fi
}
O=$tmp/outside
escape os.execute 'os.execute("true")' "os.execute is not allowed in --safe mode" yes
escape io.popen 'io.popen("echo hi"):close()' "io.popen is not allowed in --safe mode" yes
escape os.exit 'os.exit(0)' "os.exit is not allowed in --safe mode"
escape os.tmpname 'os.tmpname()' "os.tmpname is not allowed in --safe mode"
escape package.loadlib 'package.loadlib("x.so", "f")' "package.loadlib is not allowed in --safe mode"
escape debug 'debug.getinfo(1)' "debug.getinfo is not allowed in --safe mode" yes
escape 'require "debug"' 'local r = require("debug").getregistry()' "module 'debug' not found" yes
escape "a C module from disk" 'require "lpeg"' "module 'lpeg' not found" yes
escape "a binary chunk" 'load(string.dump(function() return 1 end))()' "load: binary chunks are not allowed in --safe mode" yes
escape dofile "dofile(\"$O/mod.lua\")" "rec/e.sonde:1: dofile: safe mode: reading $O/mod.lua is not allowed (outside the data roots)" yes
escape loadfile "loadfile(\"$O/mod.lua\")" "loadfile: safe mode: reading $O/mod.lua is not allowed" yes
run run rec/e.sonde --safe --data-root "$O" --out "$tmp/safe"
expect "--safe: loadfile only from the recipe's directory, even in a data root" 1 err "loadfile: $O/mod.lua is outside the recipe directory (--safe)"
escape "require from disk" "package.path = \"$O/?.lua\"; require \"mod\"" "module 'mod' not found" yes
escape "io.open read" "io.open(\"$O/secret.txt\"):close()" "rec/e.sonde:1: io.open: safe mode: reading $O/secret.txt is not allowed (outside the data roots)" yes
escape "io.lines" "for l in io.lines(\"$O/secret.txt\") do end" "io.lines: safe mode: reading" yes
escape "io.input" "io.input(\"$O/secret.txt\")" "io.input: safe mode: reading" yes
escape "a symlink out of the recipe dir" 'io.open("rec/link.txt"):close()' "io.open: safe mode: reading rec/link.txt is not allowed" yes
escape "'..' out of the recipe dir" 'io.open("rec/../outside/secret.txt"):close()' "io.open: safe mode: reading rec/../outside/secret.txt is not allowed" yes
escape "io.open write" "io.open(\"$O/new.txt\", \"w\"):close()" "io.open: safe mode: writing $O/new.txt is not allowed (outside the run directory" yes
escape "io.open append" "io.open(\"$O/secret.txt\", \"a\"):close()" "io.open: safe mode: writing" yes
escape "io.output" "io.output(\"$O/new2.txt\")" "io.output: safe mode: writing" yes
escape os.remove "os.remove(\"$O/new.txt\")" "os.remove: safe mode: writing" yes
escape os.rename "os.rename(\"$O/new2.txt\", \"$O/new3.txt\")" "os.rename: safe mode: writing" yes
escape "tensor.load (C)" "tensor.load(\"$O/t.tensor\")" "load: safe mode: reading $O/t.tensor is not allowed" yes
escape "data.load_csv (C)" "data.load_csv(\"$O/table.csv\")" "load_csv: safe mode: reading" yes
escape "data.listdir (C)" "data.listdir(\"$O\")" "listdir: safe mode: reading" yes
escape "tensor.save (C)" "tensor.save(\"$O/w.tensor\", tensor.zeros(2))" "save: safe mode: writing $O/w.tensor is not allowed" yes
escape "data.save_png (C)" "data.save_png(\"$O/w.png\", tensor.zeros(4, 4))" "save_png: safe mode: writing" yes
escape "plot fig:save (C)" "plot.line({1, 2}, {1, 2}):save(\"$O/w.png\")" "safe mode: writing $O/w.png is not allowed" yes
escape "the recipe module" 'require("recipe").make_run_dir("x")' "module 'recipe' not found"
escape "the recipe module as a global" 'recipe.make_run_dir("x")' "attempt to index a nil value (global 'recipe')"
escape "the guard's switch" 'data.io_confine{ write = "/" }' "data.io_confine is not allowed in --safe mode"
escape "a run dir moved by its field" "run.dir = \"$O\"; run:checkpoint{ x = 1 }; assert(io.open(\"$O/checkpoint.json\"))" "io.open: safe mode: reading $O/checkpoint.json"
check "nothing was written outside by the safe runs" '[ "$(ls "$O" | sort | tr "\n" " ")" = "mod.lua new3.txt secret.txt t.tensor table.csv w.png w.tensor " ] && [ "$(cat "$O/secret.txt")" = secret ]'
check "the unsafe runs did write (the tests can fail)" '[ -f "$O/w.tensor" ] && [ -f "$O/new3.txt" ]'

# at load time too: the recipe's top level is sandboxed
printf 'os.execute("touch %s/toplevel")\nexperiment "e" { run = function() end }\n' "$O" >rec/top.sonde
run run rec/top.sonde --safe --out "$tmp/safe"
expect "--safe refuses os.execute at the top level" 1 err "os.execute is not allowed in --safe mode"
check "nothing ran" '[ ! -f "$O/toplevel" ]'

# what a safe recipe may do: read its directory and the datasets, write its run dir
cat >rec/ok.sonde <<'RECIPE'
experiment "ok" {
  params = { steps = { 2, "steps" } },
  run = function(p, run)
    local f = io.open("rec/inside.txt"); local s = f:read("l"); f:close()
    assert(s == "inside")
    assert(dofile("rec/helper.lua") == 7 and require("helper") == 7)
    assert(load("return 1 + 1")() == 2)
    local h = io.open(run.dir .. "/notes.txt", "w"); h:write("x"); h:close()
    for i = 1, p.steps do run:log{ i = i, r = math.random(100) } end
    run:save("w.tensor", tensor.ones(2))
    run:checkpoint{ w = tensor.ones(2) }
    assert(run:restore().w:sum():item() == 2)
    run:plot("p.png", plot.line, { 1, 2 }, { 2, 1 })
    print(string.format("%.17g", 0.1))
  end,
}
RECIPE
run run rec/ok.sonde --safe --out "$tmp/ok"
expect "a safe run of a well-behaved recipe" 0 out "run directory: $tmp/ok/ok/"
okd=$(ls -d "$tmp"/ok/ok/*)
check "safe run: done, artifacts" '[ "$(cat "$okd/status")" = done ] && [ -f "$okd/w.tensor" ] && [ -f "$okd/p.png" ] && [ -f "$okd/notes.txt" ]'
check "safe run: the manifest says so, with its data roots" 'grep -q "\"safe\":true" "$okd/manifest.json" && grep -q "\"data_roots\":\[\"$tmp/rec\"" "$okd/manifest.json"'
check "safe run: the file it read is an input" 'grep -q "\"$tmp/rec/inside.txt\":\"sha256:$(sha256sum <rec/inside.txt | cut -c1-64)\"" "$okd/manifest.json"'
run verify "$okd"
expect "verify of a safe run re-runs it safe, identical" 0 out "verify: identical"
check "the re-run is safe too" '[ "$(grep -l "\"safe\":true" "$tmp"/ok/ok/*/manifest.json | wc -l)" -eq 2 ]'

# --data-root opens a directory for reading (not for writing)
printf 'experiment "d" { run = function(p, run) run:log{ n = tensor.load("%s/t.tensor"):sum() } end }\n' "$O" >rec/d.sonde
run run rec/d.sonde --safe --out "$tmp/safe"
expect "outside the roots: refused" 1 err "load: safe mode: reading $O/t.tensor is not allowed"
run run rec/d.sonde --safe --data-root "$O" --out "$tmp/dr"
expect "--data-root: readable" 0 out "n       3"
check "--data-root in the manifest, the file an input" 'grep -q "\"data_roots\":\[[^]]*\"$O\"\]" "$tmp"/dr/d/*/manifest.json && grep -q "\"$O/t.tensor\":\"sha256:" "$tmp"/dr/d/*/manifest.json'
printf 'experiment "d" { run = function(p, run) tensor.save("%s/x.tensor", tensor.zeros(1)) end }\n' "$O" >rec/d2.sonde
run run rec/d2.sonde --safe --data-root "$O" --out "$tmp/dr"
expect "--data-root: not writable" 1 err "save: safe mode: writing"
run run rec/d.sonde --data-root "$O" --out "$tmp/dr"
expect "--data-root without --safe is an error" 1 err "--data-root goes with --safe"
run run rec/d.sonde --safe --data-root "$tmp/nowhere" --out "$tmp/dr"
expect "--data-root of a missing directory" 1 err "--data-root: $tmp/nowhere is not a directory"

# the datasets directory is a data root
if [ -d /usr/share/datasets/fashion-mnist ] && [ -z "${SONDE_DATA:-}" ]; then
  printf 'experiment "f" { run = function(p, run) local X = data.fashion_mnist{ split = "test" }; run:log{ n = X:size(1) } end }\n' >rec/f.sonde
  run run rec/f.sonde --safe --out "$tmp/f"
  expect "--safe reads /usr/share/datasets" 0 out "n       10000"
  check "the dataset files are inputs" '[ "$(grep -o "\"/usr/share/datasets/fashion-mnist/[^\"]*\":\"sha256:[0-9a-f]\{64\}\"" "$tmp"/f/f/*/manifest.json | wc -l)" -eq 2 ]'
else
  echo "SKIP /usr/share/datasets/fashion-mnist absent or SONDE_DATA set"; ok; ok
fi

finish
