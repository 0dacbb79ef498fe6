# index_torch.py: PyTorch's side of bench_index.sh (same ops, same threads;
# indices 0-based here, 1-based in sonde).
import sys, time, torch
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)

def best(reps, fn):
    fn()
    t = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t * 1e3

def out(name, ms): print("%s %.4f" % (name, ms))

torch.manual_seed(0)
x = torch.randn(4096, 512)
rows = torch.randint(0, 4096, (4096,))
cols = torch.randint(0, 512, (4096, 512))
v = torch.randn(1 << 22)
vi = torch.randint(0, 1 << 22, (1 << 22,))
out("index_select_rows", best(20, lambda: x.index_select(0, rows)))
out("index_select_vec", best(10, lambda: v.index_select(0, vi)))
out("gather_dim2", best(20, lambda: x.gather(1, cols)))
out("scatter_add_dim2", best(10, lambda: torch.zeros(4096, 512).scatter_add_(1, cols, x)))
out("sort_dim2", best(5, lambda: x.sort(dim=1, stable=True)))
out("sort_dim1", best(5, lambda: x.sort(dim=0, stable=True)))
out("topk10_dim2", best(5, lambda: x.topk(10, 1)))
out("sort_2^22", best(3, lambda: v.sort(stable=True)))
out("masked_select", best(10, lambda: x.masked_select(x > 0)))
out("scatter_add_dim1", best(10, lambda: torch.zeros(4096, 512).scatter_add_(0, cols, x)))
out("cat_dim1", best(20, lambda: torch.cat([x, x], 0)))
