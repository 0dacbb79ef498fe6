# train_torch.py: PyTorch's side of bench_train.sh, the same models, data
# order policy (shuffled index batches), optimizer and batch as
# train_sonde.lua: pixels kept as uint8, each batch converted to float in
# [0, 1] (torchvision converts per sample). Prints "time <train seconds>" and "acc <test accuracy>".
# usage: python3 bench/train_torch.py mlp|cnn threads
import gzip, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

which, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
torch.manual_seed(0)
D = "/usr/share/datasets/fashion-mnist/"

def idx(name, off):
    with gzip.open(D + name) as f:
        return np.frombuffer(f.read(), np.uint8, offset=off)

def split(prefix):
    x = torch.from_numpy(idx(prefix + "-images-idx3-ubyte.gz", 16).copy()).view(-1, 1, 28, 28)
    y = torch.from_numpy(idx(prefix + "-labels-idx1-ubyte.gz", 8).astype(np.int64))
    return x, y

X, y = split("train")
Xt, yt = split("t10k")
if which == "mlp":
    X, Xt = X.view(-1, 784), Xt.view(-1, 784)
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
else:
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
t0 = time.perf_counter()
perm = torch.randperm(X.shape[0])
for i in range(0, X.shape[0], 128):
    b = perm[i:i + 128]
    xb, yb = X.index_select(0, b).float().div_(255), y.index_select(0, b)
    opt.zero_grad()
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
dt = time.perf_counter() - t0
model.eval()
with torch.no_grad():
    acc = sum((model(Xt[i:i + 250].float().div_(255)).argmax(1) == yt[i:i + 250]).sum().item()
              for i in range(0, Xt.shape[0], 250)) / Xt.shape[0]
print("time %.6f" % dt)
print("acc %.4f" % acc)
