#!/bin/sh
# test_fuzz.sh: builds the libFuzzer targets (make fuzz) and runs each for a
# few seconds from the fixtures of tests/data plus tests/fuzz/corpus/<reader>/
# (inputs that once crashed or exhausted memory: replayed on every run).
# The seed is fixed (FUZZ_SEED, default 1) so a failure here reproduces with
# the command printed; FUZZ_SEED=random explores. Skipped when clang or
# libFuzzer is missing. Prints the TALLY line tests/run.sh reads.
cd "$(dirname "$0")/../.." || exit 1
SECS=${FUZZ_SECS:-6}
SEED=${FUZZ_SEED:-1}
[ "$SEED" = random ] && SEED=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
if ! command -v clang >/dev/null 2>&1 || ! clang -print-file-name=libclang_rt.fuzzer-x86_64.a | grep -q /; then
  echo "test_fuzz: clang/libFuzzer not installed, skipped"
  echo "TALLY 0 passed, 0 failed"
  exit 0
fi
if ! make -s fuzz >/tmp/sonde_fuzz_build.$$ 2>&1; then
  tail -n 30 /tmp/sonde_fuzz_build.$$; rm -f /tmp/sonde_fuzz_build.$$
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
rm -f /tmp/sonde_fuzz_build.$$
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0; failed=0
for r in idx npy npz safetensors csv png; do
  mkdir -p "$work/$r"
  case $r in
    idx) seeds="tests/data/*.idx tests/data/*.idx.gz" ;;
    npz) seeds="tests/data/*.npz" ;;
    csv) seeds="" ; printf '\004a,b\n1,x\n"2",""\n' >"$work/$r/seed" ;;
    *) seeds="tests/data/*.$r" ;;
  esac
  for s in $seeds tests/fuzz/corpus/$r/*; do [ -f "$s" ] && cp "$s" "$work/$r/"; done
  if (cd "$work" && "$OLDPWD/build/fuzz/fuzz_$r" -seed="$SEED" -max_total_time="$SECS" -timeout=5 \
        -rss_limit_mb=1024 -malloc_limit_mb=256 -print_final_stats=1 "$r" >"$r.log" 2>&1); then
    passed=$((passed + 1))
    echo "fuzz_$r: $(grep -E 'stat::number_of_executed_units' "$work/$r.log" | sed 's/.*: *//') runs, no crash"
  else
    failed=$((failed + 1))
    echo "fuzz_$r: FAILED (seed $SEED; replay: build/fuzz/fuzz_$r -malloc_limit_mb=256 FILE, with FILE the input below)"
    grep -E 'ERROR|SUMMARY|^ +#[0-9]+ .* in (sd_|LLVMFuzzer|png_|inflate)|^Base64:' "$work/$r.log" | head -24
  fi
done
echo "TALLY $passed passed, $failed failed"
[ "$failed" -eq 0 ]
