-- math_sonde.lua: sonde's side of bench_math.sh. Prints "name ms" lines
-- (best of several runs, wall clock) for the ops bench_math.sh compares.
local threads = tonumber(arg and arg[1]) or 2
if tensor.set_num_threads then tensor.set_num_threads(threads) end

local timing = require "bench.timing"
local best, out = timing.best, timing.out

local x = tensor.randn(4096, 512)
out("sum_all", best(50, function() return x:sum() end))
out("sum_dim2", best(50, function() return x:sum(2) end))
out("sum_dim1", best(50, function() return x:sum(1) end))
out("softmax_dim2", best(30, function() return x:softmax(2) end))
out("softmax_dim1", best(30, function() return x:softmax(1) end))
out("log_softmax_dim2", best(30, function() return x:log_softmax(2) end))
out("max_dim2", best(30, function() return x:max(2) end))
out("exp", best(30, function() return x:exp() end))
out("sigmoid", best(30, function() return x:sigmoid() end))
out("argmax_dim2", best(30, function() return x:argmax(2) end))

local n = 1 << 24
local a, b, c = tensor.randn(n), tensor.randn(n), tensor.randn(n)
out("add_2^24", best(10, function() return a + b end))
out("add_inplace_2^24", best(10, function() return c:add_(b) end))
-- memcpy bandwidth in the same process: a contiguous copy_ is one memcpy per thread
out("memcpy_2^24", best(10, function() return c:copy_(a) end))
