#!/bin/sh
# test_run_limits.sh: `sonde run --max-mem SIZE --max-time DURATION` (and
# sonde.limits): a run past its memory cap (tensors, or the Lua heap) or its
# wall time fails with a message naming the limit, status failed, exit 1,
# the directory whole; the limits are in the manifest, reach every sweep
# job and come back with --resume; a recipe cannot lift them under --safe;
# code that swallows the time-limit error is killed 10 s later. Bad sizes
# and durations are usage errors naming the option.
# Run by tests/run.sh (from the repository root) with SONDE set.
. "$(dirname "$0")/recipe_harness.sh"

cat >mem.sonde <<'RECIPE'
experiment "mem" {
  params = { n = { 50, "tensors of 4 MB kept" }, lua = { false, "grow a Lua table instead" } },
  run = function(p, run)
    local keep = {}
    if p.lua then for i = 1, 1e9 do keep[i] = i end end
    for i = 1, p.n do keep[i] = tensor.zeros(1e6); run:log{ i = i } end
  end,
}
RECIPE
cat >spin.sonde <<'RECIPE'
experiment "spin" {
  params = { kind = { "lua", "lua, kernel, stubborn or lift" } },
  run = function(p, run)
    run:log{ started = 1 }
    if p.kind == "lift" then sonde.limits{ time = 0 } end
    if p.kind == "kernel" then
      local a = tensor.randn(400, 400)
      while true do a = a:matmul(a):tanh() end
    end
    if p.kind == "stubborn" then while true do pcall(function() while true do end end) end end
    while true do end
  end,
}
RECIPE
status() { tr '\n' ' ' <"$(ls -d "$1"/*/*/ | head -n 1)status"; }

run run mem.sonde --max-mem 100M --out m
expect "tensors past --max-mem: exit 1, the limit named" 1 err "zeros: memory limit of 100 MB reached: 4 MB more for a tensor"
check "status failed with the message" 'status m | grep -q "^failed mem.sonde:6: zeros: memory limit of 100 MB"'
check "the metrics logged before the failure are whole" '[ "$(grep -c "^{\"i\":[0-9]*}$" m/mem/*/metrics.jsonl)" -ge 20 ]'
check "the manifest records the limit" 'grep -q "\"limits\":{\"memory\":100000000}" m/mem/*/manifest.json'

run run mem.sonde lua=true --max-mem 0.1G --out l
expect "the Lua heap counts too" 1 err "not enough memory: the Lua heap reached --max-mem (100 MB)"
check "status failed" 'status l | grep -q "^failed not enough memory"'

run run mem.sonde n=5 --max-mem 100M --out s
expect "a run within its limit is done" 0 out "run directory:"
check "status done" '[ "$(status s)" = "done " ]'
run verify s/mem/*/
expect "verify of a limited run" 0 out "verify: identical"

run run spin.sonde --max-time 1 --out t
expect "a Lua loop past --max-time: exit 1, the limit named" 1 err "time limit of 1 s reached (--max-time)"
check "status failed, time limit" '[ "$(status t)" = "failed time limit of 1 s reached (--max-time) " ]'
check "the manifest records the time limit" 'grep -q "\"limits\":{\"time\":1}" t/spin/*/manifest.json'
run run spin.sonde kind=kernel --max-time 0.5s --out k
expect "a tensor loop past --max-time" 1 err "time limit of 0.5 s reached (--max-time)"
run run spin.sonde kind=lift --max-time 1 --safe --out f
expect "--safe: the recipe cannot lift its limits" 1 err "sonde.limits is not allowed in --safe mode"
run run --resume "$(ls -d t/spin/*/ | head -n 1)"
expect "--resume keeps the manifest's time limit" 1 err "time limit of 1 s reached (--max-time)"
start=$(date +%s)
run run spin.sonde kind=stubborn --max-time 1 --out b
took=$(( $(date +%s) - start ))
check "code that catches the time-limit error is killed ~10 s later (SIGALRM)" '[ "$rc" -eq 142 ] && [ "$took" -ge 10 ] && [ "$took" -le 20 ]'

run sweep mem.sonde n=5,50 -j 2 --max-mem 100M --out w
expect "sweep: the limit reaches each job" 1 out "n=50 seed=0: FAILED (mem.sonde:6: zeros: memory limit of 100 MB reached"
expect "sweep: the job within the limit runs" 1 out "n=5 seed=0: ok"

run run mem.sonde --max-mem lots --out u
expect "bad size" 1 err "--max-mem: bad size 'lots' (bytes, or a number with k, M, G or T)"
run run mem.sonde --max-time 0 --out u
expect "bad duration" 1 err "--max-time: bad duration '0' (seconds, or a number with s, m or h)"
run run --resume "$(ls -d s/mem/*/ | head -n 1)" --max-time 5
expect "--resume takes no limits" 1 err "limits come from the manifest"
check "no run dir for a usage error" '[ ! -d u ]'

# sonde.limits in a script: the error names the limit, the process goes on
run -e 'sonde.limits{ memory = "50M" }
print(pcall(tensor.zeros, 2e7))
sonde.limits{ memory = 0 }
print(tensor.zeros(2e7):numel(), sonde.limits().memory)'
expect "sonde.limits: an allocation past the cap is an error" 0 out "false	zeros: memory limit of 50 MB reached: 80 MB more for a tensor"
expect "sonde.limits{memory=0} lifts it" 0 out "20000000	0"
run -e 'sonde.limits{ memory = "12 cows" }'
expect "sonde.limits: bad size" 1 err "limits: memory: bad size '12 cows'"
finish
