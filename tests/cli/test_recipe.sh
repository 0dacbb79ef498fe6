#!/bin/sh
# test_recipe.sh: `sonde run`, `show`, `verify`, `runs` on examples/recipe_demo.sonde:
# the run directory runs/<name>/<date>-<hex>/ (manifest with provenance and
# SHA-256s, status, metrics, log), the summary, params errors, verify
# identical across thread counts, and verify naming the first difference
# after tampering.
# Run by tests/run.sh (from the repository root) with SONDE set.
. "$(dirname "$0")/recipe_harness.sh"

run run "$RECIPE" steps=3 --out "$tmp/runs"
expect "run exits 0 and prints the run dir" 0 out "run directory: $tmp/runs/recipe-demo/"
expect "summary table header" 0 out "metric  last"
expect "summary has the last step" 0 out "step    3"
expect "the recipe's prints reach stdout" 0 out "trained 3 steps"
d=$(ls -d "$tmp"/runs/recipe-demo/* | head -n 1)
check "run dir named <date>-<hex>" 'basename "$d" | grep -qx "[0-9]\{8\}-[0-9]\{6\}-[0-9a-f]\{6\}"'
check "run dir files" '[ -f "$d/manifest.json" ] && [ -f "$d/metrics.jsonl" ] && [ -f "$d/log.txt" ] && [ -f "$d/model.tensor" ] && [ -f "$d/status" ]'
check "no temp files left" '! ls "$d" | grep -q tmp'
check "three metric lines" '[ "$(wc -l <"$d/metrics.jsonl")" -eq 3 ]'
check "metric lines have sorted keys" 'head -n 1 "$d/metrics.jsonl" | grep -q "^{\"loss\":[-0-9.e]*,\"step\":1,\"xsum\":"'
check "log.txt has the prints" 'grep -qx "trained 3 steps" "$d/log.txt"'
check "status file: done" '[ "$(cat "$d/status")" = done ]'
check "recipe sha256 is the file's" 'grep -q "\"recipe_sha256\":\"$(sha256sum <"$RECIPE" | cut -c1-64)\"" "$d/manifest.json"'
check "recipe text in the manifest" 'grep -q "\"recipe_text\":\"-- recipe_demo.sonde: a small recipe" "$d/manifest.json"'
check "seed, version, BLAS core and threads" 'grep -q "\"seed\":0," "$d/manifest.json" && grep -q "\"sonde_version\":\"" "$d/manifest.json" && grep -q "\"blas_core\":\"" "$d/manifest.json" && grep -q "\"threads\":[12][,}]" "$d/manifest.json"'
check "host" 'grep -q "\"host\":{\"cpu\":\"[^\"]*\",\"cpus\":[0-9]*,\"name\":\"$(cat /proc/sys/kernel/hostname)\",\"os\":\"Linux" "$d/manifest.json"'
check "git commit of the recipe's repository" 'grep -q "\"git\":{\"commit\":\"$(git -C "$(dirname "$RECIPE")" rev-parse HEAD)\"" "$d/manifest.json"'
check "no inputs read" 'grep -q "\"inputs\":{}" "$d/manifest.json"'
check "manifest params" 'grep -q "\"params\":{\"act\":\"relu\",\"hidden\":16,\"lr\":0.10000000000000001,\"save\":true,\"sizes\":\[64,8\],\"steps\":3}" "$d/manifest.json"'
check "manifest artifact sha256" 'grep -q "\"artifacts\":{\"model.tensor\":\"sha256:$(sha256sum <"$d/model.tensor" | cut -c1-64)\"}" "$d/manifest.json"'
check "manifest: sorted keys at every level" '/usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]), object_pairs_hook=lambda kv: [k for k, _ in kv] == sorted(k for k, _ in kv) or sys.exit(1))" "$d/manifest.json"'

# outside a git repository: no commit, and no failure
mkdir nogit && cp "$RECIPE" nogit/r.sonde
run run nogit/r.sonde steps=1 --out "$tmp/ng"
check "outside git: git false" '[ "$rc" -eq 0 ] && grep -q "\"git\":false" "$tmp"/ng/recipe-demo/*/manifest.json'

run run "$RECIPE" steps=3 --out "$tmp/runs"
check "a second run gets a new dir" '[ "$(ls -d "$tmp"/runs/recipe-demo/* | wc -l)" -eq 2 ]'
run runs "$tmp/runs"
check "runs lists the <name>/<date>-<hex> layout" '[ "$(grep -c "^recipe-demo/[0-9-]*[0-9a-f]*  *done  " out)" -eq 2 ]'
rm -rf "$tmp/runs"

run show "$RECIPE"
expect "show: about" 0 out "recipe-demo: a tiny MLP"
expect "show: params with types, defaults, docs" 0 out "steps (integer, default 10)  training steps"
expect "show: list param" 0 out "sizes (list of integer, default 64,8)"

run run "$RECIPE" stepz=3 --out "$tmp/bad"
expect "unknown param is an error" 1 err "unknown param 'stepz'"
expect "the error lists the keys with docs" 1 err "lr (number, default 0.1)  SGD learning rate"
check "no traceback for a usage error" '! grep -q traceback err'
run run "$RECIPE" steps=many --out "$tmp/bad"
expect "wrong type is an error" 1 err "param 'steps' wants an integer, got 'many'"
check "no run dir for a bad param" '[ ! -d "$tmp/bad" ]'

run run "$RECIPE" --seeds 3 --out "$tmp/bad"
expect "unknown option" 1 err "unknown option '--seeds'"
run run "$RECIPE" --seed x --out "$tmp/bad"
expect "--seed wants an integer" 1 err "'--seed' wants an integer, got 'x'"

printf 'return { steps = 2, lr = 0.05 }\n' >p.lua
run run "$RECIPE" --params p.lua hidden=4 --out "$tmp/pf"
expect "params file" 0 out "step    2"
run runs "$tmp/pf"
expect "runs lists a run with params and last metrics" 0 out "done    act=relu hidden=4 lr=0.05 save=true"
expect "runs shows the last step" 0 out "step=2"
check "runs: header and one run" '[ "$(wc -l <out)" -eq 2 ] && head -n 1 out | grep -q "^run  *status  *params  *metrics$"'
check "params file and k=v in the manifest" 'grep -q "\"hidden\":4,\"lr\":0.050000000000000003" "$tmp"/pf/*/*/manifest.json'

# log.txt gets print, io.write and io.stderr:write; the terminal too
printf 'experiment "w" { run = function() io.write("to stdout\\n"); io.stderr:write("to stderr\\n"); io.stderr:flush() end }\n' >w.sonde
run run w.sonde --out "$tmp/w"
check "io.write and io.stderr reach the terminal" 'grep -qx "to stdout" out && grep -qx "to stderr" err'
check "io.write and io.stderr reach log.txt" 'grep -qx "to stdout" "$tmp"/w/w/*/log.txt && grep -qx "to stderr" "$tmp"/w/w/*/log.txt'

# a failing run: exit 1, marked failed
printf 'experiment "boom" { run = function(p, run) run:log{ a = 1 }; error("kaboom") end }\n' >boom.sonde
run run boom.sonde --out "$tmp/boom"
expect "failing recipe exits 1 with its error" 1 err "kaboom"
check "failing run is marked failed, with its error" '[ "$(head -n 1 "$tmp"/boom/boom/*/status)" = failed ] && sed -n 2p "$tmp"/boom/boom/*/status | grep -q "kaboom"'
check "failing run: metrics flushed" '[ "$(cat "$tmp"/boom/boom/*/metrics.jsonl)" = "{\"a\":1}" ]'

# verify: bigger data so reductions and products span several blocks
run run "$RECIPE" steps=3 sizes=2048,16 hidden=64 --threads 1 --seed 5 --out "$tmp/v"
check "threads recorded" 'grep -q "\"threads\":1" "$tmp"/v/*/*/manifest.json'
v=$(ls -d "$tmp"/v/recipe-demo/* | head -n 1)
run verify "$v" --threads 2
expect "verify with 2 threads: identical" 0 out "verify: identical"
expect "verify reports metric lines" 0 out "metrics line 3: identical"
expect "verify reports artifacts" 0 out "artifact model.tensor: identical"
expect "verify ran on 2 threads" 0 out "(threads 2)"
expect "verify compares the recipe" 0 out "recipe: identical"
check "verify made a fresh dir next to the run" '[ "$(ls -d "$tmp"/v/recipe-demo/* | wc -l)" -eq 2 ]'

sed '2s/"step":2/"step":7/' "$v/metrics.jsonl" >t && mv t "$v/metrics.jsonl"
run verify "$v"
expect "tampered metrics: exit 1, first difference named" 1 out "metrics line 2: differs, key 'step': 7 vs 2"
expect "other lines still identical" 1 out "metrics line 1: identical"
expect "verify counts differences" 1 out "verify: 1 difference(s)"

printf 'x' >>"$v/model.tensor"
run verify "$v"
expect "tampered artifact named" 1 out "artifact model.tensor: differs, sizes"

# verify compares plots and input files by SHA-256; math.random follows the seed
printf 'x,y\n1,2\n2,3\n3,5\n' >in.csv
cat >pl.sonde <<'RECIPE'
local t = io.open("in.csv"):read("a") -- read at load time: an input too
experiment "pl" {
  params = { n = { 2048, "points" } },
  run = function(p, run)
    local d = data.load_csv("in.csv")
    local x = tensor.randn(p.n, 16, { gen = run:gen(1) })
    local g = x:t():matmul(x) / p.n
    local r = math.random(1000000)
    run:log{ r = r, s = g:sum(), csv = d.X:sum(), len = #t }
    run:plot("gram.png", plot.heatmap, g, { title = "gram" })
    run:plot("hist.png", plot.hist(x:flatten(), { bins = 30 }))
  end,
}
RECIPE
run run pl.sonde --threads 1 --seed 3 --out "$tmp/pl"
pd=$(ls -d "$tmp"/pl/pl/*)
check "plots are artifacts with their sha256" 'grep -q "\"gram.png\":\"sha256:$(sha256sum <"$pd/gram.png" | cut -c1-64)\"" "$pd/manifest.json" && grep -q "\"hist.png\":\"sha256:" "$pd/manifest.json"'
check "the csv (read in the run) and at load time is an input" 'grep -q "\"inputs\":{\"$tmp/in.csv\":\"sha256:$(sha256sum <in.csv | cut -c1-64)\"}" "$pd/manifest.json"'
run verify "$pd" --threads 2
expect "verify, 1 vs 2 threads: plots identical" 0 out "artifact gram.png: identical"
expect "verify: inputs identical" 0 out "input $tmp/in.csv: identical"
expect "verify: all identical" 0 out "verify: identical"
run run pl.sonde --threads 1 --seed 4 --out "$tmp/pl4"
check "math.random follows the run seed" '[ "$(head -c 30 "$tmp"/pl4/pl/*/metrics.jsonl)" != "$(head -c 30 "$pd/metrics.jsonl")" ]'
printf 'x,y\n1,2\n2,3\n3,6\n' >in.csv
run verify "$pd"
expect "verify: a changed input file is named" 1 out "input $tmp/in.csv: differs"
printf 'x,y\n1,2\n2,3\n3,5\n' >in.csv
printf 'x' >>"$pd/hist.png"
run verify "$pd"
expect "verify: a changed plot is named" 1 out "artifact hist.png: differs, sizes"
expect "verify: the other plot identical" 1 out "artifact gram.png: identical"

run verify "$tmp/nowhere"
expect "verify of a non-run" 1 err "no manifest.json"

finish
