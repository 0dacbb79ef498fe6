#!/bin/sh
# bench_index.sh: indexing, scatter, sort and joining ops of sonde against
# PyTorch on the same thread count. Times are the best of several runs (ms).
# usage: bench/bench_index.sh [THREADS] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
NAME=index . bench/versus_torch.sh
echo "threads: $T (x: 4096x512 f32, v: 2^22 f32; stable sorts on both sides)"
awk "$TABLE" "$p" "$s"
