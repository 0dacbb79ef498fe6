# linalg_torch.py: PyTorch's side of bench_linalg.sh: torch.cdist of two
# 4096x512 f32 matrices, best of 5, printed as "name seconds".
import sys, time
import torch

torch.set_num_threads(int(sys.argv[1]))
torch.manual_seed(0)
x, y = torch.randn(4096, 512), torch.randn(4096, 512)
torch.cdist(x, y)
best = float("inf")
for _ in range(5):
    t0 = time.perf_counter()
    torch.cdist(x, y)
    best = min(best, time.perf_counter() - t0)
print("cdist4096 %.6f" % best)
