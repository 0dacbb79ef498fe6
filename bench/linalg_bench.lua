-- linalg_bench.lua: sonde's side of bench_linalg.sh. Prints "name seconds"
-- lines (best of several runs) for the shell script to put side by side.
--   matmul1024 / sgemm_raw1024: a:matmul(b) vs one raw cblas_sgemm call on
--   OpenBLAS's own threads, alternated in the same process;
--   cdist4096: tensor.cdist of two 4096x512 f32 matrices.
local threads = tonumber(arg and arg[1]) or tensor.get_num_threads()
tensor.set_num_threads(threads)
tensor.manual_seed(0)
local clock = tensor.clock

local function best(reps, f)
  local t = math.huge
  for _ = 1, reps do
    local t0 = clock()
    f()
    t = math.min(t, clock() - t0)
  end
  return t
end

local n = 1024
local a, b = tensor.randn(n, n), tensor.randn(n, n)
local c = tensor.empty(n, n)
a:matmul(b); tensor._sgemm_raw(a, b, c) -- load, warm up
local tm, tr = math.huge, math.huge
for _ = 1, 10 do -- alternate so that noise from other processes hits both
  tm = math.min(tm, best(1, function() a:matmul(b) end))
  tr = math.min(tr, best(1, function() tensor._sgemm_raw(a, b, c) end))
end
print(string.format("matmul1024 %.6f", tm))
print(string.format("sgemm_raw1024 %.6f", tr))

local x, y = tensor.randn(4096, 512), tensor.randn(4096, 512)
tensor.cdist(x, y)
print(string.format("cdist4096 %.6f", best(5, function() tensor.cdist(x, y) end)))
local cfg = tensor.config()
print(string.format("core %s(%s)", cfg.blas_core, cfg.blas_core_source))
