-- test_linalg.lua: the linear algebra binding: products, LAPACK, cdist,
-- errors, threads and the BLAS configuration.
local T = require "testlib"

-- max |x - y| over two tensors of the same shape
local function maxdiff(x, y)
  return (x - y):abs():max():item()
end

local function eye(n, dt) return tensor.eye(n, { dtype = dt or "f64" }) end

T.test("matmul cases follow torch.matmul", function()
  local a = tensor.new({ { 1, 2, 3 }, { 4, 5, 6 } }, { dtype = "f32" })
  local b = tensor.new({ { 1, 0 }, { 0, 1 }, { 1, 1 } }, { dtype = "f32" })
  T.eq(a:matmul(b):tolist(), { { 4, 5 }, { 10, 11 } })
  T.eq(tensor.mm(a, b):tolist(), { { 4, 5 }, { 10, 11 } })
  -- transposed views go in as flags; the result is the same
  T.eq(b:t():matmul(a:t()):tolist(), { { 4, 10 }, { 5, 11 } })
  local v = tensor.new({ 1, 1, 1 }, { dtype = "f32" })
  T.eq(a:matmul(v):tolist(), { 6, 15 })
  T.eq(v:matmul(b):tolist(), { 2, 2 })
  T.eq(v:matmul(v):dim(), 0)
  T.eq(v:dot(v):item(), 3)
  T.eq(tensor.outer(tensor.new{ 1.0, 2 }, tensor.new{ 3.0, 4 }):tolist(), { { 3, 4 }, { 6, 8 } })
  T.eq(a:mv(v):tolist(), { 6, 15 })
  -- batched with broadcasting: [2,1,2,3] @ [4,3,2] -> [2,4,2,2]
  local x = tensor.randn(2, 1, 2, 3)
  local y = tensor.randn(4, 3, 2)
  local z = x:matmul(y)
  T.eq(z:shape(), { 2, 4, 2, 2 })
  T.near(maxdiff(z[{ 2, 3 }], x[{ 2, 1 }]:mm(y[3])), 0, 1e-5)
  T.eq(tensor.bmm(tensor.ones(3, 2, 4), tensor.ones(3, 4, 5)):shape(), { 3, 2, 5 })
  -- k = 0 gives zeros
  T.eq(tensor.zeros(2, 0):matmul(tensor.zeros(0, 3)):tolist(), { { 0, 0, 0 }, { 0, 0, 0 } })
  -- f32 with f64 computes in f64
  T.eq(a:matmul(b:to("f64")):dtype(), "f64")
end)

T.test("addmm scales and broadcasts", function()
  local a = tensor.new({ { 1.0, 2 }, { 3, 4 } })
  local bias = tensor.new({ 10.0, 20 })
  T.eq(tensor.addmm(bias, a, eye(2, "f32"), { beta = 2, alpha = -1 }):tolist(), { { 19, 38 }, { 17, 36 } })
  T.eq(bias:addmm(a, eye(2, "f32")):tolist(), { { 11, 22 }, { 13, 24 } })
end)

T.test("product errors name the function and the shapes", function()
  T.raises(function() tensor.randn(3, 4):matmul(tensor.randn(5, 2)) end,
    "matmul: shapes [3,4] and [5,2] cannot be multiplied")
  T.raises(function() tensor.arange(4):matmul(tensor.arange(4)) end, "matmul: needs f32 or f64, got i64")
  T.raises(function() tensor.mm(tensor.randn(3), tensor.randn(3, 3)) end, "mm: argument #1 must be 2-d")
  T.raises(function() tensor.matmul(tensor.randn(2, 3, 4), tensor.randn(3, 4, 2)) end, "batch dims")
  T.raises(function() tensor.matmul(tensor.randn(3), 2) end, "tensor expected")
end)

T.test("cholesky, solve, inverse reconstruct", function()
  local m = tensor.randn(5, 5, { dtype = "f64" })
  local A = m:matmul(m:t()) + eye(5) * 5
  local L = A:cholesky()
  T.near(maxdiff(L:matmul(L:t()), A), 0, 1e-10)
  T.eq(L[{ 1, 2 }]:item(), 0)
  local U = tensor.cholesky(A, { upper = true })
  T.near(maxdiff(U:t():matmul(U), A), 0, 1e-10)
  local B = tensor.randn(5, 2, { dtype = "f64" })
  T.near(maxdiff(A:matmul(tensor.solve(A, B)), B), 0, 1e-10)
  local bvec = tensor.randn(5, { dtype = "f64" })
  local x = A:solve(bvec)
  T.eq(x:shape(), { 5 })
  T.near(maxdiff(A:mv(x), bvec), 0, 1e-10)
  T.near(maxdiff(A:matmul(A:inverse()), eye(5)), 0, 1e-10)
  T.near(tensor.new({ { 1.0, 2 }, { 3, 4 } }, { dtype = "f64" }):det():item(), -2, 1e-15)
  local s, l = tensor.new({ { 1.0, 2 }, { 3, 4 } }, { dtype = "f64" }):slogdet()
  T.eq(s:item(), -1)
  T.near(l:item(), math.log(2), 1e-15)
end)

T.test("LAPACK errors name the function and LAPACK's info", function()
  local npd = tensor.new({ { 1.0, 0, 0 }, { 0, 1, 0 }, { 0, 0, -1 } })
  T.raises(function() npd:cholesky() end, "cholesky: matrix is not positive definite (leading minor 3)")
  local sing = tensor.new({ { 1.0, 2 }, { 2, 4 } })
  T.raises(function() sing:inverse() end, "inverse: matrix is singular")
  T.raises(function() tensor.solve(sing, tensor.new{ 1.0, 1 }) end, "solve: matrix is singular")
  T.raises(function() tensor.solve(eye(2), tensor.randn(3)) end, "solve: shapes [2,2] and [3] do not match")
  T.raises(function() tensor.randn(2, 3):cholesky() end, "must be square")
  T.raises(function() tensor.arange(4):view(2, 2):inverse() end, "needs f32 or f64, got i64")
  T.eq(sing:det():item(), 0)
end)

T.test("eigh, svd, qr, lstsq", function()
  local m = tensor.randn(6, 6, { dtype = "f64" })
  local S = m + m:t()
  local w, V = S:eigh()
  local ws = w:tolist()
  for i = 2, #ws do T.ok(ws[i - 1] <= ws[i], "ascending") end
  T.near(maxdiff(S:matmul(V), V * w), 0, 1e-10)             -- columns are eigenvectors
  local a = tensor.randn(7, 4, { dtype = "f64" })
  local U, s, Vh = a:svd()
  T.eq(U:shape(), { 7, 4 }); T.eq(s:shape(), { 4 }); T.eq(Vh:shape(), { 4, 4 })
  T.near(maxdiff((U * s):matmul(Vh), a), 0, 1e-12)
  local Uf = tensor.svd(a, { full_matrices = true })
  T.eq(Uf:shape(), { 7, 7 })
  T.near(maxdiff(Uf:t():matmul(Uf), eye(7)), 0, 1e-12)
  local Q, R = a:qr()
  T.eq(Q:shape(), { 7, 4 }); T.eq(R:shape(), { 4, 4 })
  T.near(maxdiff(Q:matmul(R), a), 0, 1e-12)
  T.near(maxdiff(Q:t():matmul(Q), eye(4)), 0, 1e-12)
  T.eq(R[{ 3, 1 }]:item(), 0)
  -- consistent over-determined system: exact recovery
  local xtrue = tensor.randn(4, 2, { dtype = "f64" })
  T.near(maxdiff(tensor.lstsq(a, a:matmul(xtrue)), xtrue), 0, 1e-10)
end)

T.test("cdist: exact zeros, squared, agreement with a direct computation", function()
  local a = tensor.randn(20, 16) + 50   -- far from the origin on purpose
  local b = tensor.randn(30, 16) + 50
  b[{ { 7, 7 } }] = a[{ { 3, 3 } }]
  local d = tensor.cdist(a, b)
  T.eq(d:shape(), { 20, 30 })
  T.eq(d[{ 3, 7 }]:item(), 0)
  local self = tensor.cdist(a, a)
  for i = 1, 20 do T.eq(self[{ i, i }]:item(), 0) end
  local diff = a:unsqueeze(2) - b:unsqueeze(1)        -- [20,30,16]
  local direct = (diff * diff):sum(3):sqrt()
  T.near(maxdiff(d, direct) / direct:max():item(), 0, 1e-5)
  local d2 = a:cdist(b, { squared = true })
  T.near(maxdiff(d2:sqrt(), d), 0, 1e-3)
  T.raises(function() tensor.cdist(a, tensor.randn(3, 5)) end, "cdist: rows of [20,16] and [3,5]")
end)

T.test("threads: one knob, results do not depend on it", function()
  local n0 = tensor.get_num_threads()
  local a, b = tensor.randn(300, 200), tensor.randn(200, 250)
  tensor.set_num_threads(1)
  T.eq(tensor.get_num_threads(), 1)
  local c1 = a:matmul(b):bytes()
  tensor.set_num_threads(2)
  local c2 = a:matmul(b):bytes()
  T.ok(c1 == c2, "bitwise equal for 1 and 2 threads")
  T.raises(function() tensor.set_num_threads(0) end, "at least 1")
  tensor.set_num_threads(n0)
end)

T.test("config reports the BLAS and its core", function()
  local c = tensor.config()
  T.ok(c.blas:find("OpenBLAS", 1, true), c.blas)
  T.eq(type(c.blas_core), "string")
  T.ok(c.blas_core_source == "user" or c.blas_core_source == "sonde" or c.blas_core_source == "auto")
  T.eq(c.threads, tensor.get_num_threads())
  T.eq(c.blas_threads, 1)
  T.eq(type(c.version), "string")
  local env = os.getenv("OPENBLAS_CORETYPE")
  if env and env ~= "" then
    T.eq(c.blas_core_source, "user")
    T.eq(c.blas_core:lower(), env:lower())
  end
end)

T.test("config respects OPENBLAS_CORETYPE in a child process", function()
  local sonde = os.getenv("SONDE")
  if not sonde then return end -- run outside tests/run.sh
  local code = "local c = tensor.config(); io.write(c.blas_core, ' ', c.blas_core_source)"
  local function child(env)
    local p = io.popen(env .. " '" .. sonde .. "' -e \"" .. code .. "\" 2>&1")
    local out = p:read("a")
    p:close()
    return out
  end
  T.eq(child("OPENBLAS_CORETYPE=Sandybridge"), "Sandybridge user")
  local auto = child("env -u OPENBLAS_CORETYPE")
  local cfg = tensor.config()
  if cfg.cpu_core ~= "generic" then
    T.eq(auto, cfg.cpu_core .. " sonde")
  else
    T.ok(auto:find(" auto$"), auto)
  end
end)

T.done()
