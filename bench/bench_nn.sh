#!/bin/sh
# bench_nn.sh: the layers of the Fashion-MNIST CNN (conv 1->32 3x3, maxpool 2,
# conv 32->64 3x3, maxpool 2, linear 1600->128->10; batch 128) and one Adam
# training step of it, sonde against PyTorch with the same threads and
# OPENBLAS_CORETYPE. Times are the best of 20 runs (ms); ratio < 1: sonde faster.
# usage: bench/bench_nn.sh [THREADS] ; SONDE=path overrides ./sonde
cd "$(dirname "$0")/.." || exit 1
NAME=nn . bench/versus_torch.sh
echo "threads: $T, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(sonde's choice)}"
awk "$TABLE" "$p" "$s"
