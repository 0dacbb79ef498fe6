#!/bin/sh
# bench_train.sh: training, sonde vs PyTorch 1.13 on the same CPU: the MLP
# 784-256-256-10 and a 2-conv CNN, one epoch of Fashion-MNIST each (Adam,
# batch 128, shuffled), printing the time ratio (training loop only), the
# peak RSS ratio (whole process, /usr/bin/time) and both test accuracies.
# Targets: MLP time <= 0.5x, CNN time <= 1.0x, peak RSS <= 0.5x.
# Both sides use the same thread count and OpenBLAS core type.
# usage: bench/bench_train.sh [threads]   (SONDE=path/to/sonde to choose)
cd "$(dirname "$0")/.." || exit 1
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
T=${1:-$(nproc)}
OPENBLAS_CORETYPE=$("$SONDE" -e 'io.write(tensor.config().blas_core)') || exit 1
export OPENBLAS_CORETYPE
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# one run: name, then the command; writes name.txt (time, acc, rss lines)
run() {
  name=$1; shift
  /usr/bin/time -f "rss %M" -o "$out/$name.rss" "$@" >"$out/$name.txt" || { echo "($name failed)"; return; }
  cat "$out/$name.rss" >>"$out/$name.txt"
}
for m in mlp cnn; do
  run "sonde_$m" "$SONDE" bench/train_sonde.lua $m "$T"
  if $PY -c 'import torch' 2>/dev/null; then
    OMP_NUM_THREADS=$T run "torch_$m" $PY bench/train_torch.py $m "$T"
  fi
done
echo "threads $T, OpenBLAS core $OPENBLAS_CORETYPE; one epoch, batch 128, Adam"
printf "%-5s %10s %10s %7s  %9s %9s %7s  %7s %7s  %s\n" model sonde_s torch_s ratio sonde_MB torch_MB ratio acc_s acc_t targets
for m in mlp cnn; do
  awk -v m=$m '
    FILENAME ~ /sonde/ { s[$1] = $2 } FILENAME ~ /torch/ { t[$1] = $2 }
    END {
      tgt = m == "mlp" ? "time <= 0.5, rss <= 0.5" : "time <= 1.0, rss <= 0.5"
      if (!("time" in t)) { printf "%-5s %10.2f %10s\n", m, s["time"], "(no torch)"; exit }
      printf "%-5s %10.2f %10.2f %7.3f  %9.1f %9.1f %7.3f  %7.4f %7.4f  %s\n", m, s["time"], t["time"],
        s["time"] / t["time"], s["rss"] / 1024, t["rss"] / 1024, s["rss"] / t["rss"], s["acc"], t["acc"], tgt
    }' "$out/sonde_$m.txt" "$out/torch_$m.txt" 2>/dev/null
done
