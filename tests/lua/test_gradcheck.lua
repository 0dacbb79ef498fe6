-- test_gradcheck.lua: every differentiable tensor op against central
-- differences in f64 (autograd.gradcheck), on small random shapes with
-- broadcasting and non-contiguous inputs; and the coverage rule: every
-- registered tensor op is either checked here or marked not differentiable.
local T = require "testlib"
local g = tensor.generator(1234)
local function r(...) return tensor.randn({ ... }, { dtype = "f64", gen = g }) end
local function pos(...) return tensor.rand({ ... }, { dtype = "f64", gen = g }) + 0.5 end

local checked = {}
local function check(name, fn, inputs, opts)
  checked[name] = true
  T.test("gradcheck " .. name, function()
    local ok, why = autograd.gradcheck(fn, inputs, opts)
    T.ok(ok, why)
  end)
end

-- products
check("matmul", function(a, b) return a:matmul(b) end, { r(3, 4), r(4, 5) })
check("matmul batched broadcast", function(a, b) return a:matmul(b) end, { r(2, 3, 4), r(4, 2) })
check("matmul vector", function(a, b) return a:matmul(b) end, { r(4), r(2, 4, 3) })
check("matmul transposed view", function(a, b) return a:t():matmul(b:t()) end, { r(4, 3), r(5, 4) })
check("mm", function(a, b) return a:mm(b) end, { r(2, 3), r(3, 2) })
check("bmm", function(a, b) return a:bmm(b) end, { r(2, 2, 3), r(2, 3, 2) })
check("mv", function(a, b) return a:mv(b) end, { r(2, 3), r(3) })
check("dot", function(a, b) return a:dot(b) end, { r(5), r(5) })
check("outer", function(a, b) return a:outer(b) end, { r(3), r(2) })
check("addmm", function(c, a, b) return tensor.addmm(c, a, b, { beta = 0.5, alpha = 2 }) end,
  { r(3), r(2, 4), r(4, 3) })


-- elementwise, with broadcasting and a transposed (non-contiguous) input
for _, op in ipairs{ "add", "sub", "mul", "div", "maximum", "minimum", "atan2" } do
  check(op, function(a, b) return a[op](a:t(), b) end, { r(3, 2), r(3) })
end
check("pow", function(a, b) return a:pow(b) end, { pos(2, 3), r(3) })
check("pow scalar", function(a) return a ^ 3 end, { r(4) })
check("fmod", function(a, b) return a:fmod(b) end, { r(5) * 3, pos(5) })
check("remainder", function(a, b) return a % b end, { r(5) * 3, pos(5) })
check("operators", function(a, b) return (2 - a) * b / 3 + (-a) end, { r(2, 3), r(2, 3) })
check("add alpha", function(a, b) return a:add(b, { alpha = 2.5 }) end, { r(3), r(3) })
for _, op in ipairs{ "neg", "abs", "exp", "expm1", "sin", "cos", "tanh", "sigmoid", "relu",
                     "gelu", "softplus", "square" } do
  check(op, function(a) return a[op](a) end, { r(2, 3) })
end
for _, op in ipairs{ "log", "log1p", "sqrt", "rsqrt", "reciprocal" } do
  check(op, function(a) return a[op](a) end, { pos(2, 3) })
end
check("softplus above threshold", function(a) return (a * 30):softplus() end, { pos(4) })
-- the log-gamma family: positive inputs, and negative ones between the poles
check("lgamma", function(a) return a:lgamma() end, { pos(2, 3) * 3 })
check("lgamma negative", function(a) return tensor.lgamma(-a) end, { pos(4) + 0.5 })
check("digamma", function(a) return a:digamma() end, { pos(2, 3) })
check("polygamma 1", function(a) return tensor.polygamma(1, a) end, { pos(2, 3) })
check("polygamma 3", function(a) return a:polygamma(3) end, { pos(4) + 1 })
check("where", function(c, a, b) return tensor.where(c:gt(0), a, b) end, { r(3, 1), r(3, 2), r(2) })
check("clamp", function(a) return a:clamp(-0.5, 0.5) end, { r(4, 3) })

-- reductions, over everything and over one dim, keepdim or not
for _, op in ipairs{ "sum", "mean", "prod", "logsumexp", "var", "std", "amax", "amin" } do
  check(op .. " all", function(a) return a[op](a) end, { r(3, 4) })
  check(op .. " dim", function(a) return a[op](a, 2) end, { r(3, 4) })
  check(op .. " dim keepdim", function(a) return a[op](a, 1, true) end, { r(3, 4):t() })
end
-- prod through zeros: rows with no, one and two zeros (the gradient is the
-- product of the others, never 0/0)
local function zeros_at(t, cells)
  for _, c in ipairs(cells) do t[c] = 0 end
  return t
end
check("prod dim with zeros", function(a) return a:prod(2) end,
  { zeros_at(r(3, 4), { { 2, 3 }, { 3, 1 }, { 3, 4 } }) })
check("prod all with one zero", function(a) return a:prod() end, { zeros_at(r(3, 4), { { 2, 2 } }) })
check("prod all with two zeros", function(a) return a:prod() end, { zeros_at(r(3, 4), { { 1, 1 }, { 3, 2 } }) })
T.test("prod's gradient at zeros is the product of the others", function()
  local x = tensor.new({ { 2, 0, 3 }, { 0, 0, 5 }, { 1, 2, 4 } }, { dtype = "f64" }):requires_grad()
  x:prod(2):sum():backward()
  T.eq(x.grad:tolist(), { { 0, 6, 0 }, { 0, 0, 0 }, { 8, 4, 2 } })
end)
check("norm 2", function(a) return a:norm() end, { r(3, 4) })
check("norm 1", function(a) return a:norm(1, 2) end, { r(3, 4) })
check("norm 3", function(a) return a:norm(3, 1) end, { r(3, 4) })
check("norm inf", function(a) return a:norm("inf", 2) end, { r(3, 4) })
check("max dim", function(a) return (a:max(2)) end, { r(3, 4) })
check("min dim keepdim", function(a) return (a:min(1, true)) end, { r(3, 4) })
check("max all", function(a) return a:max() end, { r(3, 4) })
for _, op in ipairs{ "softmax", "log_softmax", "cumsum", "cumprod" } do
  check(op, function(a) return a[op](a, 2) end, { pos(3, 4) })
  check(op .. " dim 1", function(a) return a[op](a, 1) end, { pos(3, 4) })
end
-- cumprod through zeros: one zero, several, at the first and last positions,
-- along every dim, negative values too (was NaN from a division by x)
check("cumprod one zero", function(a) return a:cumprod(2) end, { zeros_at(r(3, 5), { { 2, 3 } }) })
check("cumprod zeros", function(a) return a:cumprod(2) end,
  { zeros_at(r(4, 6), { { 1, 2 }, { 1, 5 }, { 2, 1 }, { 3, 6 }, { 4, 1 }, { 4, 2 }, { 4, 6 } }) })
check("cumprod zeros dim 1", function(a) return a:cumprod(1) end,
  { zeros_at(r(5, 3), { { 1, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 } }) })
check("cumprod zeros 3-d dim 2", function(a) return a:cumprod(2) end,
  { zeros_at(r(2, 4, 3), { { 1, 1, 1 }, { 1, 3, 2 }, { 2, 4, 3 }, { 2, 2, 1 }, { 2, 3, 1 } }) })
check("cumprod zeros transposed", function(a) return a:t():cumprod(2) end,
  { zeros_at(r(4, 3), { { 2, 1 }, { 1, 3 }, { 4, 3 } }) })
check("cumprod all zeros", function(a) return a:cumprod(1) end, { tensor.zeros({ 3, 2 }, { dtype = "f64" }) })
T.test("cumprod's gradient at zeros: products of the others, no NaN", function()
  -- d/dx_j sum_i cumprod(x)_i = sum over i >= j of prod_{k <= i, k != j} x_k
  local x = tensor.new({ { 2, 0, 3, 4 }, { 0, 5, 0, 2 }, { 1, 2, 3, 0 } }, { dtype = "f64" }):requires_grad()
  x:cumprod(2):sum():backward()
  T.eq(x.grad:tolist(), { { 1, 2 + 6 + 24, 0, 0 }, { 1 + 5, 0, 0, 0 }, { 1 + 2 + 6, 1 + 3, 2, 6 } })
  local y = tensor.new({ 0, 0, 0 }, { dtype = "f64" }):requires_grad()
  y:cumprod(1):sum():backward()
  T.eq(y.grad:tolist(), { 1, 0, 0 })
end)
T.test("cumprod's second derivative through zeros (create_graph)", function()
  local w = r(4, 5)
  for _, cells in ipairs{ { { 1, 2 }, { 2, 5 }, { 3, 1 } }, { { 1, 2 }, { 1, 4 }, { 2, 1 }, { 2, 5 }, { 4, 3 } } } do
    local ok, why = autograd.gradcheck(function(a)
      return autograd.grad(a:cumprod(2):mul(w):sum(), a, { create_graph = true })
    end, { zeros_at(r(4, 5), cells) })
    T.ok(ok, why)
  end
end)

-- views and copies
check("view", function(a) return a:view(4, 3) end, { r(3, 4) })
check("reshape of a transpose", function(a) return a:t():reshape(12) end, { r(3, 4) })
check("t", function(a) return a:t() end, { r(2, 3) })
check("transpose", function(a) return a:transpose(1, 2) end, { r(2, 3) })
check("permute", function(a) return a:permute(3, 1, 2) end, { r(2, 3, 2) })
check("narrow", function(a) return a:narrow(2, 2, 2) end, { r(3, 4) })
check("select", function(a) return a:select(1, -1) end, { r(3, 4) })
check("slicing", function(a) return a[{ {1, -1, 2}, {2, 3} }] end, { r(3, 4) })
check("squeeze", function(a) return a:squeeze() end, { r(3, 1, 2) })
check("unsqueeze", function(a) return a:unsqueeze(2) end, { r(3, 2) })
check("expand", function(a) return a:expand(2, 3, 4) end, { r(3, 1) })
check("flatten", function(a) return a:flatten(2) end, { r(2, 3, 2) })
check("unfold", function(a) return a:unfold(2, 3, 1) end, { r(2, 5) })
check("contiguous", function(a) return a:t():contiguous() end, { r(3, 2) })
check("clone", function(a) return a:clone() end, { r(3) })
check("to f32 and back", function(a) return a:to("f32"):to("f64") end, { r(3) }, { eps = 1e-2, atol = 1e-4 })

-- indexing and joining
local idx = tensor.new{ 3, 1, 3 }
check("index_select", function(a) return a:index_select(1, idx) end, { r(3, 2) })
check("gather", function(a) return a:gather(2, tensor.new{ { 1, 1 }, { 2, 1 } }) end, { r(2, 3) })
check("masked_select", function(a) return a:masked_select(tensor.new{ true, false, true }) end, { r(2, 3) })
check("masked_fill", function(a) return a:masked_fill(tensor.new{ true, false }, 0) end, { r(3, 2) })
check("x[int tensor]", function(a) return a[idx] end, { r(3, 2) })
check("cat", function(a, b) return tensor.cat({ a, b, a }, 2) end, { r(2, 3), r(2, 1) })
check("stack", function(a, b) return tensor.stack({ a, b }, 2) end, { r(2, 3), r(2, 3) })
check("split", function(a) return a:split(2, 2)[2] end, { r(2, 5) })
check("chunk", function(a) return a:chunk(2)[1] end, { r(4, 2) })
check("sort values", function(a) return (a:sort(2, { descending = true })) end, { r(3, 4) })
check("topk values", function(a) return (a:topk(2, 1)) end, { r(4, 3) })
check("kthvalue values", function(a) return (a:kthvalue(2, 2)) end, { r(3, 4) })
check("flip", function(a) return a:flip(1, 2) end, { r(2, 3) })
check("tril", function(a) return a:tril(-1) end, { r(3, 3) })
check("triu", function(a) return a:triu(1) end, { r(3, 4) })

T.test("second derivatives (create_graph)", function()
  local x = tensor.new({ 0.5, -1.5, 2 }, { dtype = "f64" }):requires_grad()
  local y = (x ^ 3):sum()
  local gx = autograd.grad(y, x, { create_graph = true })
  T.near(gx:tolist(), { 0.75, 6.75, 12 }, 1e-12)
  local gg = autograd.grad(gx:sum(), x)
  T.near(gg:tolist(), { 3, -9, 12 }, 1e-12)
  local z = x:tanh():mul(x):sum()
  local ok, why = autograd.gradcheck(function(a)
    return autograd.grad(a:tanh():mul(a):sum(), a, { create_graph = true })
  end, { x:detach() })
  T.ok(ok, why)
  T.ok(z)
end)

T.test("second derivative of lgamma is trigamma (create_graph)", function()
  local x = tensor.new({ 0.3, 1, 4.5 }, { dtype = "f64" }):requires_grad()
  local g = autograd.grad(x:lgamma():sum(), x, { create_graph = true })
  T.near(g:tolist(), x:detach():digamma():tolist(), 1e-15)
  local gg = autograd.grad(g:sum(), x)
  T.near(gg:tolist(), tensor.polygamma(1, x:detach()):tolist(), 1e-15)
end)

T.test("in-place change of a saved tensor is caught at backward", function()
  local x = tensor.new({ 1, 2 }, { dtype = "f64" }):requires_grad()
  local y = x * 2
  local z = y * y
  autograd.no_grad(function() y:add_(1) end)
  T.raises(function() z:sum():backward() end, "modified in place")
end)

T.test("a graph that saved tensors cannot run backward twice", function()
  local x = tensor.new({ 1, 2 }, { dtype = "f64" }):requires_grad()
  local y = (x * x):sum()
  y:backward()
  T.raises(function() y:backward() end, "retain_graph")
end)


-- The coverage rule: every tensor function and method is gradchecked above,
-- or marked here as one of: not an op on values, discrete (integer or bool
-- results, or zero gradient almost everywhere), or without a rule yet (the
-- binding refuses inputs that need grad: see sd_ad_nondiff). In-place ops
-- (name_) refuse tensors that need grad (sd_check_inplace).
local not_an_op = {}
for w in ([[backward bytes copy dim dtype detach fill free grad_fn is_contiguous is_leaf item
  needs_grad numel requires_grad shape size stride tolist zero_grad arange bernoulli clock config
  default_generator empty eye from full generator get_num_threads is_tensor linspace load
  manual_seed memory new normal ones rand randint randn randperm save set_num_threads zeros
  _sgemm_raw]]):gmatch("%S+") do not_an_op[w] = true end
local discrete = {}
for w in ([[all any argmax argmin argsort bincount eq ge gt le lt ne isinf isnan logical_and
  logical_not logical_or nonzero one_hot unique multinomial ceil floor round sign]]):gmatch("%S+") do
  discrete[w] = true
end
local no_rule = {}
for w in ([[cdist cholesky det diag diagonal eigh index_add index_copy index_fill inverse lstsq qr
  repeat repeat_tensor roll scatter scatter_add slogdet solve svd]]):gmatch("%S+") do no_rule[w] = true end

T.test("every tensor op has a gradcheck or an explicit mark", function()
  local ops = {}
  for name in pairs(checked) do ops[name:match("^(%S+)")] = true end
  local missing, seen = {}, {}
  for full in pairs(sonde.docs()) do
    local op = full:match("^Tensor:(.+)$") or full:match("^tensor%.(.+)$")
    if op then
      seen[op] = true
      if not (op:match("_$") or not_an_op[op] or discrete[op] or no_rule[op] or ops[op]) then
        missing[#missing + 1] = op
      end
    end
  end
  table.sort(missing)
  T.eq(missing, {}, "ops without gradcheck or mark")
  for _, list in ipairs{ not_an_op, discrete, no_rule } do
    for op in pairs(list) do T.ok(seen[op], "marked op '" .. op .. "' does not exist") end
  end
end)

T.test("ops without a rule refuse inputs that need grad", function()
  local a = r(3, 3):requires_grad()
  local i = tensor.new{ 1, 2 }
  for _, call in ipairs{
    function() return a:roll(1) end, function() return a:diag() end,
    function() return a:diagonal() end, function() return a:scatter(1, tensor.new{ { 1, 2, 3 } }, 0) end,
    function() return a:index_add(1, i, r(2, 3)) end, function() return a:solve(r(3, 3)) end,
    function() return a:svd() end, function() return a:det() end,
    function() return a["repeat"](a, 2, 1) end,
  } do
    T.raises(call, "not differentiable")
  end
end)

T.test("in-place ops refuse tensors that need grad", function()
  local a = r(3):requires_grad()
  T.raises(function() a:add_(1) end, "in-place")
  T.raises(function() a:exp_() end, "in-place")
  T.raises(function() a:clamp_(0, 1) end, "in-place")
  T.raises(function() a:masked_fill_(tensor.new{ true, false, true }, 0) end, "in-place")
  T.raises(function() a:normal_() end, "in-place")
end)

T.test("non-differentiable linalg refuses inputs that need grad", function()
  local a = r(3, 3):requires_grad()
  T.raises(function() a:inverse() end, "not differentiable")
  T.raises(function() tensor.cdist(a, a) end, "not differentiable")
  T.ok(autograd.no_grad(function() return tensor.cdist(a, a) end))
end)

T.done()
