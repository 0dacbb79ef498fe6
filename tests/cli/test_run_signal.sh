#!/bin/sh
# test_run_signal.sh: a run killed mid-way (SIGTERM, then Ctrl-C as SIGINT)
# leaves a consistent directory: status interrupted with the signal, exit
# 143 / 130, every metric line whole, the manifest complete, no temp
# files; `sonde run --resume` then continues from the last checkpoint to
# the same metrics as an uninterrupted run.
# Run by tests/run.sh (from the repository root) with SONDE set.
. "$(dirname "$0")/recipe_harness.sh"

cat >sig.sonde <<'RECIPE'
experiment "sig" {
  params = { steps = { 20, "steps" }, pause = { 0.03, "seconds per step" } },
  run = function(p, run)
    local s = run:restore() or { step = 0, w = tensor.zeros(2) }
    print("from step", s.step)
    for step = s.step + 1, p.steps do
      s.w = s.w + step
      s.step = step
      run:log{ step = step, w = s.w:sum() }
      run:checkpoint(s)
      local t = os.clock()
      while os.clock() - t < p.pause do end
    end
  end,
}
RECIPE

# start_and_kill SIGNAL OUT: a background run, killed once 5 steps are logged
start_and_kill() {
  "$SONDE" run sig.sonde --out "$2" >out 2>err &
  pid=$!
  n=0
  while [ "$n" -lt 100 ]; do
    m=$(ls "$2"/sig/*/metrics.jsonl 2>/dev/null | head -n 1)
    [ -n "$m" ] && [ "$(wc -l <"$m")" -ge 5 ] && break
    sleep 0.05
    n=$((n + 1))
  done
  kill -s "$1" "$pid"
  wait "$pid"
  rc=$?
  d=$(ls -d "$2"/sig/*)
}

start_and_kill TERM "$tmp/t"
check "SIGTERM: exit 143" '[ "$rc" -eq 143 ]'
check "SIGTERM: status interrupted, the signal named" '[ "$(cat "$d/status")" = "interrupted
SIGTERM" ]'
lines=$(wc -l <"$d/metrics.jsonl")
check "SIGTERM: stopped mid-way" '[ "$lines" -ge 5 ] && [ "$lines" -lt 20 ]'
check "SIGTERM: every metric line whole" '[ "$(grep -c "^{\"step\":[0-9]*,\"w\":[0-9]*}$" "$d/metrics.jsonl")" -eq "$lines" ]'
check "SIGTERM: manifest complete" '/usr/bin/python3 -c "import json,sys; m = json.load(open(sys.argv[1])); sys.exit(0 if m[\"end\"] and m[\"recipe_sha256\"] else 1)" "$d/manifest.json"'
check "SIGTERM: checkpoint whole" '/usr/bin/python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$d/checkpoint.json"'
check "SIGTERM: no temp files" '! ls "$d" | grep -q tmp'
check "SIGTERM: the error in log.txt" 'grep -q "terminated!" "$d/log.txt"'
run runs "$tmp/t"
expect "runs shows the run interrupted" 0 out "interrupted"

run run --resume "$d"
expect "resume after SIGTERM exits 0" 0 out "run directory: $d"
expect "resume starts from the checkpoint, not from 0" 0 out "from step"
check "resume did not start over" '! grep -q "^from step	0$" out'
check "resumed: status done" '[ "$(cat "$d/status")" = done ]'
run run sig.sonde pause=0 --out "$tmp/whole"
check "resumed metrics = an uninterrupted run's" 'cmp -s "$d/metrics.jsonl" "$tmp"/whole/sig/*/metrics.jsonl'

start_and_kill INT "$tmp/i"
check "SIGINT: exit 130" '[ "$rc" -eq 130 ]'
check "SIGINT: status interrupted, the signal named" '[ "$(cat "$d/status")" = "interrupted
SIGINT" ]'
check "SIGINT: every metric line whole" '[ "$(grep -vc "^{\"step\":[0-9]*,\"w\":[0-9]*}$" "$d/metrics.jsonl")" -eq 0 ]'
run run --resume "$d"
check "resume after SIGINT" '[ "$rc" -eq 0 ] && cmp -s "$d/metrics.jsonl" "$tmp"/whole/sig/*/metrics.jsonl'

# a plain script stopped by SIGTERM also exits 143
"$SONDE" -e 'while true do end' >out 2>err &
pid=$!
sleep 0.3
kill -TERM "$pid"
wait "$pid"
rc=$?
expect "a script killed: exit 143, the error printed" 143 err "terminated!"

finish
