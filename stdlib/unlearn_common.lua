-- unlearn_common.lua: what the parts of `unlearn` share: argument checks
-- (models, datasets, seeds), the deep copy of a model, seeded batches, the
-- optimizer and step loop of every method, and batched no-grad evaluation.
-- A dataset is a table {X=, y=} (or a pair {X, y}): X a float tensor whose
-- rows are samples, y a 1-d tensor of 1-based class labels.
local F = require "nn.functional"

local C = {}

function C.fail(fn, msg, level) error("unlearn." .. fn .. ": " .. msg, (level or 2) + 1) end

function C.model(fn, m, what)
  if not require("nn").is_module(m) then
    C.fail(fn, string.format("%s must be an nn module, got %s", what or "model", type(m)), 3)
  end
  return m
end

-- A checked dataset {X=, y=, n=} with i64 labels; nil passes when optional.
function C.set(fn, name, d, optional)
  if d == nil and optional then return nil end
  if type(d) ~= "table" or getmetatable(d) then
    C.fail(fn, string.format("%s must be a dataset {X=, y=}, got %s", name, d == nil and "nil" or type(d)), 3)
  end
  local X, y = d.X or d[1], d.y or d[2]
  if not tensor.is_tensor(X) or X:dim() < 1 then C.fail(fn, name .. ".X must be a tensor of samples", 3) end
  if not tensor.is_tensor(y) or y:dim() ~= 1 then C.fail(fn, name .. ".y must be a 1-d tensor of labels", 3) end
  if X:size(1) ~= y:size(1) then
    C.fail(fn, string.format("%s has %d rows in X but %d labels in y", name, X:size(1), y:size(1)), 3)
  end
  if X:size(1) == 0 then C.fail(fn, name .. " is empty", 3) end
  local dt = X:dtype()
  if dt ~= "f32" and dt ~= "f64" then X = X:to("f32") end
  return { X = X, y = y:to("i64"), n = X:size(1) }
end

function C.cat(a, b)
  return { X = tensor.cat { a.X, b.X }, y = tensor.cat { a.y, b.y }, n = a.n + b.n }
end

function C.subset(s, idx)
  return { X = s.X:index_select(1, idx), y = s.y:index_select(1, idx), n = idx:numel() }
end

function C.posint(fn, name, v, default)
  if v == nil then return default end
  if math.type(v) ~= "integer" or v < 1 then C.fail(fn, name .. " must be a positive integer", 3) end
  return v
end

function C.number(fn, name, v, default, min)
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or (min and v < min) then
    C.fail(fn, string.format("%s must be a number%s", name, min and (" >= " .. min) or ""), 3)
  end
  return v
end

-- The generator of a call: opts.gen, or tensor.generator(opts.seed or 0, stream).
function C.gen(fn, opts, stream)
  if opts.gen ~= nil then return opts.gen end
  local seed = opts.seed or 0
  if math.type(seed) ~= "integer" then C.fail(fn, "seed must be an integer", 3) end
  return tensor.generator(seed, stream or 0)
end

-- A deep copy of a module: parameters cloned (still requiring grad),
-- buffers and plain tables copied, shared submodules kept shared; functions
-- and generators are shared with the original.
local function copy(v, memo)
  if memo[v] ~= nil then return memo[v] end
  if tensor.is_tensor(v) then
    local c = v:detach():clone()
    if v:needs_grad() then c:requires_grad() end
    memo[v] = c
    return c
  elseif type(v) == "table" then
    local c = {}
    memo[v] = c
    for k, x in next, v do rawset(c, copy(k, memo), copy(x, memo)) end
    return setmetatable(c, getmetatable(v))
  end
  return v
end
function C.clone(m) return copy(m, {}) end

-- next_batch() -> xb, yb: shuffled epochs of s drawn from gen, one after another.
function C.batches(s, batch, gen)
  local perm, pos = nil, s.n + 1
  return function()
    if pos > s.n then perm, pos = tensor.randperm(s.n, { gen = gen }), 1 end
    local len = math.min(batch, s.n - pos + 1)
    local idx = perm:narrow(1, pos, len)
    pos = pos + len
    return s.X:index_select(1, idx), s.y:index_select(1, idx)
  end
end

-- optim.SGD (momentum, weight_decay) or optim.Adam over m's parameters.
function C.optimizer(fn, m, opts, d)
  local kind = opts.optim or d.optim or "sgd"
  local lr = C.number(fn, "lr", opts.lr, d.lr, 0)
  local wd = C.number(fn, "weight_decay", opts.weight_decay, d.weight_decay or 0, 0)
  if kind == "sgd" then
    return require("optim").SGD(m:parameters(), {
      lr = lr, momentum = C.number(fn, "momentum", opts.momentum, d.momentum or 0, 0), weight_decay = wd })
  elseif kind == "adam" then
    return require("optim").Adam(m:parameters(), { lr = lr, weight_decay = wd })
  end
  C.fail(fn, string.format("optim must be \"sgd\" or \"adam\", got %s", tostring(kind)), 3)
end

-- Up to steps updates of m in training mode; loss_fn(step) returns the
-- loss and, optionally, true to stop before updating on it. Returns the
-- last loss value and the number of updates made.
function C.run(m, opt, steps, loss_fn)
  local was = m.training
  m:train()
  local last, done = nil, 0
  for s = 1, steps do
    opt:zero_grad()
    local loss, stop = loss_fn(s)
    if stop then break end
    loss:backward()
    opt:step()
    last, done = loss:item(), s
  end
  m:train(was)
  return last, done
end

-- The accuracy of logits on labels, outside the graph.
function C.batch_acc(logits, y)
  return logits:detach():argmax(2):eq(y):to("f64"):mean():item()
end

-- fn(...) with m in evaluation mode and recording off; the mode is restored.
function C.frozen(m, fn, ...)
  local was = m.training
  m:eval()
  local ok, a, b = pcall(autograd.no_grad, fn, ...)
  m:train(was)
  if not ok then error(a, 0) end
  return a, b
end

-- m's outputs on the rows of X (no grad, eval mode), in chunks of 1000 rows.
function C.outputs(m, X)
  return C.frozen(m, function()
    local parts, n = {}, X:size(1)
    for s = 1, n, 1000 do parts[#parts + 1] = m(X:narrow(1, s, math.min(1000, n - s + 1))) end
    return #parts == 1 and parts[1] or tensor.cat(parts)
  end)
end

-- Per-sample cross-entropy.
function C.losses(logits, y) return F.cross_entropy(logits, y, { reduction = "none" }) end

-- Top-1 accuracy of m on s.
function C.accuracy(m, s)
  return require("metrics").accuracy(C.outputs(m, s.X):argmax(2), s.y)
end

return C
