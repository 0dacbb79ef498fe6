# probe_sklearn.py: scikit-learn's side of bench_probe.sh: LogisticRegression
# (lbfgs, multinomial) on the 60000x784 Fashion-MNIST pixels in [0,1], with
# C = 1/(l2 n) so the objective is probe.logistic's. Prints "name value" lines.
# usage: probe_sklearn.py THREADS L2 MAX_ITER  (threads: set OPENBLAS_NUM_THREADS before)
import gzip, sys, time, warnings
import numpy as np
from sklearn.linear_model import LogisticRegression

l2 = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-4
max_iter = int(sys.argv[3]) if len(sys.argv) > 3 else 100
root = "/usr/share/datasets/fashion-mnist/"
with gzip.open(root + "train-images-idx3-ubyte.gz") as f:
    X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
with gzip.open(root + "train-labels-idx1-ubyte.gz") as f:
    y = np.frombuffer(f.read(), np.uint8, offset=8).astype(np.int64) + 1
n = X.shape[0]
m = LogisticRegression(C=1 / (l2 * n), max_iter=max_iter, tol=1e-4)
warnings.simplefilter("ignore")
t0, c0 = time.perf_counter(), time.process_time()
m.fit(X, y)
t, c = time.perf_counter() - t0, time.process_time() - c0
print("fit_ms %.1f" % (t * 1e3))
print("cpu_ms %.1f" % (c * 1e3))
print("n_iter %d" % m.n_iter_[0])
print("train_acc %.4f" % m.score(X, y))
