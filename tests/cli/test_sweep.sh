#!/bin/sh
# test_sweep.sh: `sonde runs --diff` and `sonde sweep` on examples/recipe_demo.sonde:
# the diff table, the grid as separate processes in a pool that refills as
# jobs finish, jobs.json deterministic,
# the mean ± std table, and a failing point reported while the rest finish;
# then run:checkpoint / run:restore and `sonde run --resume` after a crash.
# Run by tests/run.sh (from the repository root) with SONDE set.
. "$(dirname "$0")/recipe_harness.sh"

# runs --diff: only the rows that differ, keys sorted
run run "$RECIPE" steps=2 --out "$tmp/d/a"
run run "$RECIPE" steps=2 lr=0.2 hidden=8 --seed 3 --out "$tmp/d/b"
a=$(ls -d "$tmp"/d/a/*/*) b=$(ls -d "$tmp"/d/b/*/*)
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

# sweep: a 2x2 grid, 2 processes at a time
run sweep "$RECIPE" lr=0.1,0.2 seed=1..2 steps=2 -j 2 --out "$tmp/s"
expect "sweep exits 0" 0 out "sweep: 4 job(s), 2 at a time, in $tmp/s/sweep/"
s1=$(ls -d "$tmp"/s/sweep/*)
check "one sweep dir with jobs.json" '[ -f "$s1/jobs.json" ]'
check "four run dirs" '[ "$(ls -d "$s1"/recipe-demo/* | wc -l)" -eq 4 ]'
check "every run done" '[ "$(cat "$s1"/recipe-demo/*/status | grep -c "^done$")" -eq 4 ]'
check "seeds reach the runs" 'grep -q "\"seed\":2" "$s1"/recipe-demo/*/manifest.json'
check "jobs.json: sorted keys, seeds innermost" 'grep -q "^{\"jobs\":\[{\"params\":\[\"lr=0.1\",\"steps=2\"\],\"point\":1,\"seed\":1},{\"params\":\[\"lr=0.1\",\"steps=2\"\],\"point\":1,\"seed\":2}," "$s1/jobs.json"'
expect "progress per job" 0 out "[4/4] lr=0.2 steps=2 seed=2: ok"
check "table header" 'grep -q "^params  *loss  *step  *xsum  *runs  *failed$" out'
check "one row per point, mean ± std" 'grep -q "^lr=0.1 steps=2  *[-0-9.e]* ± [0-9.e-]*  *2 ± 0  .*  2  *0$" out && grep -q "^lr=0.2 steps=2  " out'
check "two rows" '[ "$(grep -c "^lr=" out)" -eq 2 ]'
cp out first
run sweep "$RECIPE" steps=2 lr=0.1,0.2 seed=1..2 -j 2 --out "$tmp/s"
s2=$(ls -d "$tmp"/s/sweep/* | grep -v "^$s1$")
check "a second sweep gets its own dir" '[ -n "$s2" ] && [ -d "$s2" ]'
check "jobs.json identical for the same sweep" 'cmp -s "$s1/jobs.json" "$s2/jobs.json"'
check "same table for the same sweep" '[ "$(grep "^lr=" first)" = "$(grep "^lr=" out)" ]'

# a failing point is reported, the rest finish, exit 1
run sweep "$RECIPE" hidden=4,x seed=1..2 steps=1 -j 2 --out "$tmp/f"
expect "sweep with a failing point exits 1" 1 out "hidden=x steps=1 seed=1: FAILED (param 'hidden' wants an integer, got 'x'"
expect "failures counted" 1 out "sweep: 2 of 4 run(s) failed"
check "the other points finished" '[ "$(ls -d "$tmp"/f/sweep/*/recipe-demo/* | wc -l)" -eq 2 ]'
check "failed row" 'grep -q "^hidden=x steps=1  *-  *-  *-  *2  *2$" out'
check "ok row" 'grep -q "^hidden=4 steps=1  .* ±.*  2  *0$" out'

# the pool refills as jobs finish: with -j 2, a slow first job (1.5 s)
# does not hold back the third, which starts when the second ends
cat >slow.sonde <<'RECIPE'
experiment "slow" {
  params = { wait = { 0.0, "seconds to sleep" } },
  run = function(p, run) os.execute("sleep " .. p.wait); run:log{ waited = p.wait } end,
}
RECIPE
run sweep slow.sonde wait=1.5,0,0.1 -j 2 --out "$tmp/pool"
check "pool: the third job finishes before the first" 'grep -n "^\[" out | sed -n 1p | grep -q "\[2/3\]" && grep -n "^\[" out | sed -n 2p | grep -q "\[3/3\]" && grep -n "^\[" out | sed -n 3p | grep -q "\[1/3\] wait=1.5"'
check "pool: every job done" '[ "$(cat "$tmp"/pool/sweep/*/slow/*/status | grep -c "^done$")" -eq 3 ]'
check "pool: no exit-status files left" '! ls "$tmp"/pool/sweep/*/ | grep -q "\.rc"'

# --safe reaches every job
printf 'experiment "x" { params = { n = { 1, "n" } }, run = function(p) os.execute("true") end }\n' >x.sonde
run sweep x.sonde n=1,2 -j 2 --safe --out "$tmp/xs"
expect "sweep --safe: each job sandboxed" 1 out "n=2 seed=0: FAILED (x.sonde:1: os.execute is not allowed in --safe mode"
run sweep x.sonde n=1,2 -j 2 --out "$tmp/xs"
expect "the same sweep without --safe" 0 out "[2/2] n=2 seed=0: ok"

# one at a time by default; no seed axis means seed 0; a list param uses ';'
run sweep "$RECIPE" sizes='32,4;16,2' steps=1 --out "$tmp/l"
expect "list param points" 0 out "sweep: 2 job(s), 1 at a time"
expect "list param row" 0 out "sizes=16,2 steps=1"
check "seed 0 by default" '[ "$(grep -l "\"seed\":0" "$tmp"/l/sweep/*/recipe-demo/*/manifest.json | wc -l)" -eq 2 ]'

# usage errors: before any job starts
run sweep "$RECIPE" bogus=1,2 --out "$tmp/u"
expect "unknown key" 1 err "unknown param 'bogus'"
run sweep "$RECIPE" seed=5..1 --out "$tmp/u"
expect "empty range" 1 err "sweep: empty range seed=5..1"
run sweep "$RECIPE" lr=0.1 -j 0 --out "$tmp/u"
expect "-j must be positive" 1 err "'-j' wants a positive integer"
check "no sweep dir for a usage error" '[ ! -d "$tmp/u" ]'

# checkpoint / restore / --resume: a run that crashes at step 3 after logging
# it but before its checkpoint; the resume continues from step 2.
cat >ck.sonde <<'RECIPE'
experiment "ck" {
  params = { steps = { 5, "steps" } },
  run = function(p, run)
    local s = run:restore() or { step = 0, w = tensor.zeros(2), name = "ck" }
    print("from step", s.step, s.name)
    for step = s.step + 1, p.steps do
      s.w = s.w + step
      s.step = step
      run:log{ step = step, w = s.w:sum() }
      if os.getenv("CRASH_AT") == tostring(step) then error("crash at " .. step) end
      run:checkpoint(s)
    end
  end,
}
RECIPE
CRASH_AT=3 "$SONDE" run ck.sonde --out "$tmp/ck" >out 2>err; rc=$?
expect "crashing run exits 1" 1 err "crash at 3"
c=$(ls -d "$tmp"/ck/ck/*)
check "checkpoint.json: the last checkpoint and the lines it saw" 'grep -q "^{\"count\":2,\"metrics_lines\":2,\"tensors\":\"checkpoint-2.tensor\",\"values\":{\"name\":\"ck\",\"step\":2}}$" "$c/checkpoint.json"'
check "older checkpoints removed" '[ "$(ls "$c"/checkpoint-*.tensor)" = "$c/checkpoint-2.tensor" ]'
check "the crash logged step 3" '[ "$(wc -l <"$c/metrics.jsonl")" -eq 3 ]'
run run --resume "$c"
expect "resume exits 0" 0 out "run directory: $c"
expect "restore gives the checkpoint" 0 out "from step	2	ck"
expect "summary after resume" 0 out "w       30"
run run ck.sonde --out "$tmp/ck2"
expect "uninterrupted run" 0 out "from step	0	ck"
check "resumed metrics identical to an uninterrupted run" 'cmp -s "$c/metrics.jsonl" "$tmp"/ck2/*/*/metrics.jsonl'
check "resumed run: done, resumed once" 'grep -q "\"resumed\":1" "$c/manifest.json" && [ "$(cat "$c/status")" = done ]'
check "log.txt appended" 'grep -q "from step	0" "$c/log.txt" && grep -q "from step	2" "$c/log.txt"'
run run --resume "$c"
expect "a done run is not resumed" 1 err "is done; nothing to resume"
run run --resume "$c" steps=9
expect "resume takes no params" 1 err "usage: sonde run --resume RUNDIR"
run run --resume "$c" --safe
expect "resume takes no --safe (it comes from the manifest)" 1 err "usage: sonde run --resume RUNDIR"
run run --resume "$tmp/nowhere"
expect "resume of a non-run" 1 err "no manifest.json in $tmp/nowhere"
printf 'experiment "bad" { run = function(p, run) run:checkpoint{ f = print } end }\n' >bad.sonde
run run bad.sonde --out "$tmp/bad"
expect "checkpoint of a function is an error" 1 err "run:checkpoint: 'f' is a function"

finish
