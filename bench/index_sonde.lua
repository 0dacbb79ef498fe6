-- index_sonde.lua: sonde's side of bench_index.sh. Prints "name ms" lines
-- (best of several runs, wall clock).
local threads = tonumber(arg and arg[1]) or 2
tensor.set_num_threads(threads)

local timing = require "bench.timing"
local best, out = timing.best, timing.out

tensor.manual_seed(0)
local x = tensor.randn(4096, 512)
local rows = tensor.randint(1, 4097, {4096}, {dtype = "i64"})
local cols = tensor.randint(1, 513, {4096, 512}, {dtype = "i64"})
local v = tensor.randn(1 << 22)
local vi = tensor.randint(1, (1 << 22) + 1, {1 << 22}, {dtype = "i64"})
out("index_select_rows", best(20, function() return x:index_select(1, rows) end))
out("index_select_vec", best(10, function() return v:index_select(1, vi) end))
out("gather_dim2", best(20, function() return x:gather(2, cols) end))
out("scatter_add_dim2", best(10, function() return tensor.zeros(4096, 512):scatter_add_(2, cols, x) end))
out("sort_dim2", best(5, function() return x:sort(2) end))
out("sort_dim1", best(5, function() return x:sort(1) end))
out("topk10_dim2", best(5, function() return x:topk(10, 2) end))
out("sort_2^22", best(3, function() return v:sort() end))
out("masked_select", best(10, function() return x:masked_select(x:gt(0)) end))
out("scatter_add_dim1", best(10, function() return tensor.zeros(4096, 512):scatter_add_(1, cols, x) end))
out("cat_dim1", best(20, function() return tensor.cat({x, x}, 1) end))
