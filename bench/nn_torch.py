# nn_torch.py: PyTorch's side of bench_nn.sh (same shapes, same threads).
import sys, time
import torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)

def best(reps, fn):
    fn()
    t = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); t = min(t, time.perf_counter() - t0)
    return t * 1e3

def out(name, ms): print("%s %.4f" % (name, ms))

x1 = torch.randn(128, 1, 28, 28)
w1, b1 = torch.randn(32, 1, 3, 3, requires_grad=True), torch.randn(32, requires_grad=True)
x2 = torch.randn(128, 32, 13, 13, requires_grad=True)
w2, b2 = torch.randn(64, 32, 3, 3, requires_grad=True), torch.randn(64, requires_grad=True)
p1 = torch.randn(128, 32, 26, 26, requires_grad=True)

def fb(f):
    def run():
        y = f(); y.backward(torch.ones_like(y))
    return run
def nograd(f):
    def run():
        with torch.no_grad(): f()
    return run

out("conv1_fwd", best(20, nograd(lambda: F.conv2d(x1, w1, b1))))
out("conv1_fwd_bwd", best(20, fb(lambda: F.conv2d(x1, w1, b1))))
out("conv2_fwd", best(20, nograd(lambda: F.conv2d(x2, w2, b2))))
out("conv2_fwd_bwd", best(20, fb(lambda: F.conv2d(x2, w2, b2))))
out("maxpool_fwd_bwd", best(20, fb(lambda: F.max_pool2d(p1, 2))))
out("avgpool_fwd_bwd", best(20, fb(lambda: F.avg_pool2d(p1, 2))))

x3 = torch.randn(32, 64, 28, 28, requires_grad=True)
w3, b3 = torch.randn(64, 64, 3, 3, requires_grad=True), torch.randn(64, requires_grad=True)
x4 = torch.randn(128, 64, 14, 14, requires_grad=True)
w4, b4 = torch.randn(128, 64, 1, 1, requires_grad=True), torch.randn(128, requires_grad=True)
out("conv3_same_fwd_bwd", best(10, fb(lambda: F.conv2d(x3, w3, b3, padding=1))))
out("conv1x1_fwd_bwd", best(20, fb(lambda: F.conv2d(x4, w4, b4))))

m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
xb, yb = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
def step():
    opt.zero_grad()
    F.cross_entropy(m(xb), yb).backward()
    opt.step()
out("cnn_train_step", best(20, step))
