#!/bin/sh
# bench_io.sh: loading all 70,000 Fashion-MNIST images (train + test .gz
# IDX files) with sonde's data.fashion_mnist vs NumPy (gzip.open +
# np.frombuffer), u8 and as f32 in [0, 1]. Best of 5 runs each, in-process
# timers, warm page cache. Prints both times and the ratio sonde / NumPy.
cd "$(dirname "$0")/.." || exit 1
SONDE=${SONDE:-./sonde}
DIR=${SONDE_DATA:+$SONDE_DATA/fashion-mnist}
DIR=${DIR:-/usr/share/datasets/fashion-mnist}
[ -f "$DIR/train-images-idx3-ubyte.gz" ] || { echo "bench_io: no Fashion-MNIST in $DIR, skipped"; exit 0; }
PY=/usr/bin/python3
$PY -c "import numpy" 2>/dev/null || { echo "bench_io: /usr/bin/python3 with numpy needed, skipped"; exit 0; }

lua=$(mktemp)
trap 'rm -f "$lua"' EXIT
cat >"$lua" <<LUA
local clock = tensor.clock or os.clock
for _, raw in ipairs({ true, false }) do
  local best = math.huge
  for _ = 1, 5 do
    local t0 = clock()
    local a = data.fashion_mnist{ split = "train", raw = raw, path = "$DIR" }
    local b = data.fashion_mnist{ split = "test", raw = raw, path = "$DIR" }
    best = math.min(best, clock() - t0)
    a:free(); b:free()
    collectgarbage()
  end
  print(string.format("%s %.4f", raw and "u8" or "f32", best))
end
LUA
s=$("$SONDE" "$lua") || { echo "bench_io: sonde failed"; exit 1; }
n=$($PY - "$DIR" <<'PY'
import gzip, sys, time
import numpy as np
d = sys.argv[1]
def load(split, f32):
    with gzip.open("%s/%s-images-idx3-ubyte.gz" % (d, split)) as g:
        x = np.frombuffer(g.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open("%s/%s-labels-idx1-ubyte.gz" % (d, split)) as g:
        y = np.frombuffer(g.read(), np.uint8, offset=8).astype(np.int64) + 1
    return (x.astype(np.float32) / 255 if f32 else x), y
for f32 in (False, True):
    best = min((lambda t0: (load("train", f32), load("t10k", f32), time.perf_counter() - t0)[2])(time.perf_counter()) for _ in range(5))
    print("%s %.4f" % ("f32" if f32 else "u8", best))
PY
)
echo "Fashion-MNIST, 70,000 images from .gz (best of 5, seconds)"
printf "%-6s %10s %10s %8s\n" dtype sonde numpy ratio
for k in u8 f32; do
  a=$(echo "$s" | awk -v k=$k '$1 == k { print $2 }')
  b=$(echo "$n" | awk -v k=$k '$1 == k { print $2 }')
  printf "%-6s %10s %10s %8s\n" $k "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }')"
done
