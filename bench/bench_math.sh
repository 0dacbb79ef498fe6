#!/bin/sh
# bench_math.sh: elementwise and reduction ops of sonde against PyTorch on
# the same thread count, then add's bandwidth against memcpy's, measured in
# the same sonde process. Times are the best of several runs (ms).
# usage: bench/bench_math.sh [THREADS] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
NAME=math . bench/versus_torch.sh
echo "threads: $T (4096x512 f32; dim 2 is the last dim, 1-based)"
awk "$TABLE"'
  FNR < NR { ms[$1] = $2 }
  END {
    # bytes moved: add reads 2 and writes 1 array, memcpy reads 1 and writes 1
    mb = 4 * 2^24 / 1e6
    add = 3 * mb / ms["add_2^24"]; addi = 3 * mb / ms["add_inplace_2^24"]; cp = 2 * mb / ms["memcpy_2^24"]
    printf "\nbandwidth GB/s: memcpy %.1f, add %.1f (%.2f of memcpy), add_ %.1f (%.2f of memcpy)\n",
      cp, add, add / cp, addi, addi / cp
  }' "$p" "$s"
