# math_torch.py: PyTorch's side of bench_math.sh (same ops, same threads).
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

x = torch.randn(4096, 512)
out("sum_all", best(50, lambda: x.sum()))
out("sum_dim2", best(50, lambda: x.sum(1)))
out("sum_dim1", best(50, lambda: x.sum(0)))
out("softmax_dim2", best(30, lambda: x.softmax(1)))
out("softmax_dim1", best(30, lambda: x.softmax(0)))
out("log_softmax_dim2", best(30, lambda: x.log_softmax(1)))
out("max_dim2", best(30, lambda: x.max(1)))
out("exp", best(30, lambda: x.exp()))
out("sigmoid", best(30, lambda: x.sigmoid()))
out("argmax_dim2", best(30, lambda: x.argmax(1)))
n = 1 << 24
a, b, c = torch.randn(n), torch.randn(n), torch.randn(n)
out("add_2^24", best(10, lambda: a + b))
out("add_inplace_2^24", best(10, lambda: c.add_(b)))
out("memcpy_2^24", best(10, lambda: c.copy_(a)))
