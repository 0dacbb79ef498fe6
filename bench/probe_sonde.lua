-- probe_sonde.lua: sonde's side of bench_probe.sh: probe.logistic
-- (multinomial, L-BFGS) on the 60000x784 Fashion-MNIST pixels in [0,1].
-- Prints "name value" lines. usage: sonde bench/probe_sonde.lua THREADS L2 MAX_ITER
local T, l2, max_iter = tonumber(arg[1]) or 2, tonumber(arg[2]) or 1e-4, tonumber(arg[3]) or 100
tensor.set_num_threads(T)
local X, y = data.fashion_mnist()
X = X:view(X:size(1), -1)
local t0, c0 = tensor.clock(), os.clock()
local p = probe.logistic(X, y, { l2 = l2, max_iter = max_iter, tol = 1e-4 })
local t, c = tensor.clock() - t0, os.clock() - c0
print(string.format("fit_ms %.1f", t * 1e3))
print(string.format("cpu_ms %.1f", c * 1e3))
print(string.format("n_iter %d", p.n_iter))
print(string.format("train_acc %.4f", p:score(X, y)))
