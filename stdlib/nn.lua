-- nn.lua: neural-network modules in Lua over the C kernels of nn.functional.
-- A module is a table with forward and fields; fields holding modules,
-- parameters (tensors that require grad) and buffers are found in the order
-- they were assigned, never in pairs() order, so names, parameter lists and
-- saved files are the same on every run. Also: init as PyTorch's defaults,
-- capture of intermediate activations, forward hooks, state_dict, save/load,
-- and the training helpers nn.fit and nn.evaluate.
local sonde = require "sonde"
local F = require "nn.functional"

local nn = { functional = F }

local function is_module(v) return type(v) == "table" and v._is_module == true end
nn.is_module = is_module

-- --- Module: the base class -------------------------------------------------

local Module = { _is_module = true }

-- Assigning a field registers modules and parameters in assignment order.
local function module_newindex(m, k, v)
  if is_module(v) or (tensor.is_tensor(v) and v:needs_grad()) then
    local kind = rawget(m, "_kind")
    if not kind[k] then
      local order = rawget(m, "_order")
      order[#order + 1] = k
      kind[k] = is_module(v) and "module" or "param"
    end
  end
  rawset(m, k, v)
end

-- model(x) is model:forward(x), followed by the forward hooks.
local function module_call(m, ...)
  local hooks = rawget(m, "_hooks")
  if #hooks == 0 then return m:forward(...) end
  local x = ...
  local out = m:forward(...)
  for _, h in ipairs({ table.unpack(hooks) }) do
    local r = h.fn(m, x, out)
    if r ~= nil then out = r end
  end
  return out
end

local function module_tostring(m)
  local head = m.__name .. "(" .. (m:extra_repr() or "") .. ")"
  local lines = {}
  for name, c in m:named_children() do
    lines[#lines + 1] = "  (" .. name .. "): " .. tostring(c):gsub("\n", "\n  ")
  end
  if #lines == 0 then return head end
  return m.__name .. "(\n" .. table.concat(lines, "\n") .. "\n)"
end

-- A new class deriving from base; instances are made by calling it.
local function class(base, name)
  local cls = {
    __name = name, __index = nil, __newindex = module_newindex,
    __call = module_call, __tostring = module_tostring,
  }
  cls.__index = cls
  return setmetatable(cls, {
    __index = base,
    __call = function(c, ...) return c:new(...) end,
    __tostring = function() return "nn." .. name end,
  })
end

local function blank(cls)
  local m = setmetatable({}, cls)
  rawset(m, "_order", {})
  rawset(m, "_kind", {})
  rawset(m, "_hooks", {})
  rawset(m, "training", true)
  return m
end

Module.__name = "Module"
Module.__index = Module
Module.__newindex = module_newindex
Module.__call = module_call
Module.__tostring = module_tostring

-- nn.Module:extend(name): a class for user modules; define M:init(...) and
-- M:forward(x), then M(...) makes an instance.
function Module.extend(base, name)
  if type(name) ~= "string" then error("Module:extend: expected a class name", 2) end
  return class(base, name)
end

function Module.new(cls, ...)
  local m = blank(cls)
  m:init(...)
  return m
end

function Module:init() end
function Module:forward() error(self.__name .. ": forward is not defined", 2) end
function Module:extra_repr() return nil end

-- nn.Module{ fc = nn.Linear(4, 2), forward = function(self, x) ... end }: a
-- one-off module. A table constructor has no order, so its modules and
-- parameters are registered in sorted key order.
setmetatable(Module, {
  __call = function(cls, spec)
    if type(spec) ~= "table" or getmetatable(spec) then
      error("nn.Module{...}: expected a table of fields", 2)
    end
    local m = blank(cls)
    local keys = {}
    for k in pairs(spec) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    for _, k in ipairs(keys) do m[k] = spec[k] end
    return m
  end,
  __tostring = function() return "nn.Module" end,
})
nn.Module = Module

function Module:register_parameter(name, t)
  local kind = rawget(self, "_kind")
  if not kind[name] then
    local order = rawget(self, "_order")
    order[#order + 1] = name
  end
  kind[name] = "param"
  rawset(self, name, t)
  return t
end

-- A buffer is state saved with the module but not trained (running stats).
function Module:register_buffer(name, t)
  local kind = rawget(self, "_kind")
  if not kind[name] then
    local order = rawget(self, "_order")
    order[#order + 1] = name
  end
  kind[name] = "buffer"
  rawset(self, name, t)
  return t
end

-- Own entries of a kind, in registration order: name (string), value.
local function own(m, want)
  local out, kind = {}, rawget(m, "_kind")
  for _, k in ipairs(rawget(m, "_order")) do
    local v = rawget(m, k)
    if v ~= nil then
      local is = is_module(v) and "module" or (tensor.is_tensor(v) and kind[k] ~= "module" and kind[k])
      if is == want then out[#out + 1] = { tostring(k), v } end
    end
  end
  return out
end

-- Pre-order walk: the module, then its children; shared modules once.
local function walk_modules(m, prefix, out, seen)
  if seen[m] then return out end
  seen[m] = true
  out[#out + 1] = { prefix, m }
  for _, c in ipairs(own(m, "module")) do
    walk_modules(c[2], prefix == "" and c[1] or prefix .. "." .. c[1], out, seen)
  end
  return out
end

-- Own tensors of a kind across all modules, with dotted names; shared once.
local function walk_tensors(m, want)
  local out, seen = {}, {}
  for _, e in ipairs(walk_modules(m, "", {}, {})) do
    for _, t in ipairs(own(e[2], want)) do
      if not seen[t[2]] then
        seen[t[2]] = true
        out[#out + 1] = { e[1] == "" and t[1] or e[1] .. "." .. t[1], t[2] }
      end
    end
  end
  return out
end

local function iterate(list)
  local i = 0
  return function()
    i = i + 1
    local e = list[i]
    if e then return e[1], e[2] end
  end
end

local function values(list)
  local out = {}
  for i, e in ipairs(list) do out[i] = e[2] end
  return out
end

-- for name, p in model:named_parameters() do ... end (deterministic order)
function Module:named_parameters() return iterate(walk_tensors(self, "param")) end
function Module:named_buffers() return iterate(walk_tensors(self, "buffer")) end
function Module:named_children() return iterate(own(self, "module")) end
function Module:named_modules() return iterate(walk_modules(self, "", {}, {})) end
-- The parameter tensors themselves (the same objects on every call).
function Module:parameters() return values(walk_tensors(self, "param")) end
function Module:buffers() return values(walk_tensors(self, "buffer")) end
function Module:children() return values(own(self, "module")) end
function Module:modules() return values(walk_modules(self, "", {}, {})) end

function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p:numel() end
  return n
end

function Module:train(on)
  on = on == nil or on
  for _, m in ipairs(self:modules()) do rawset(m, "training", on and true or false) end
  return self
end

function Module:eval() return self:train(false) end

function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do p:zero_grad() end
  return self
end

-- m:register_forward_hook(function(module, input, output) ... end): runs
-- after each forward of m; a non-nil result replaces the output.
function Module:register_forward_hook(fn)
  if type(fn) ~= "function" then error("register_forward_hook: expected a function", 2) end
  local hooks = rawget(self, "_hooks")
  local h = { fn = fn }
  hooks[#hooks + 1] = h
  return {
    remove = function()
      for i, e in ipairs(hooks) do
        if e == h then table.remove(hooks, i) return end
      end
    end,
  }
end

-- The submodule at a dotted path ("features.3"), or nil.
function Module:get(path)
  local m = self
  for part in tostring(path):gmatch("[^.]+") do
    local kind = rawget(m, "_kind")
    local key = kind[part] and part or math.tointeger(tonumber(part))
    local v = key ~= nil and kind[key] == "module" and rawget(m, key) or nil
    if not is_module(v) then return nil end
    m = v
  end
  return m
end

-- model:capture(x, names): runs model(x) and returns a table of the outputs
-- of the named submodules (all of them when names is nil) plus `output`,
-- and the output itself as a second result.
function Module:capture(x, names)
  if names == nil then
    names = {}
    for name in self:named_modules() do
      if name ~= "" then names[#names + 1] = name end
    end
  elseif type(names) == "string" then
    names = { names }
  end
  local feats, handles = {}, {}
  for _, name in ipairs(names) do
    if name == "output" then error("capture: 'output' is reserved for the model's output", 2) end
    local m = self:get(name)
    if not m then
      local known = {}
      for n in self:named_modules() do if n ~= "" then known[#known + 1] = n end end
      for _, h in ipairs(handles) do h.remove() end
      error(string.format("capture: no module named '%s' (modules: %s)", name, table.concat(known, " ")), 2)
    end
    handles[#handles + 1] = m:register_forward_hook(function(_, _, out) feats[name] = out end)
  end
  local ok, out = pcall(self, x)
  for _, h in ipairs(handles) do h.remove() end
  if not ok then error(out, 0) end
  feats.output = out
  return feats, out
end

-- name -> tensor for every parameter and buffer (sharing their storage).
function Module:state_dict()
  local sd = {}
  for _, e in ipairs(walk_tensors(self, "param")) do sd[e[1]] = e[2]:detach() end
  for _, e in ipairs(walk_tensors(self, "buffer")) do sd[e[1]] = e[2] end
  return sd
end

local function shape_str(t) return "[" .. table.concat(t:shape(), ",") .. "]" end

-- Copies sd into the module's own tensors (identity kept). Every missing,
-- unexpected or misshapen entry is reported in one error.
function Module:load_state_dict(sd, opts)
  local strict = not (opts and opts.strict == false)
  local mine = {}
  for _, e in ipairs(walk_tensors(self, "param")) do mine[e[1]] = e[2] end
  for _, e in ipairs(walk_tensors(self, "buffer")) do mine[e[1]] = e[2] end
  local function sorted(t)
    local ks = {}
    for k in pairs(t) do ks[#ks + 1] = k end
    table.sort(ks)
    return ks
  end
  local problems = {}
  for _, k in ipairs(sorted(mine)) do
    local src = sd[k]
    if src == nil then
      if strict then problems[#problems + 1] = "missing " .. k end
    elseif not tensor.is_tensor(src) then
      problems[#problems + 1] = k .. " is a " .. type(src) .. ", not a tensor"
    elseif shape_str(src) ~= shape_str(mine[k]) then
      problems[#problems + 1] = string.format("%s: shape %s in the file, %s in the model", k,
        shape_str(src), shape_str(mine[k]))
    end
  end
  if strict then
    for _, k in ipairs(sorted(sd)) do
      if mine[k] == nil then problems[#problems + 1] = "unexpected " .. k end
    end
  end
  if #problems > 0 then
    error(string.format("load_state_dict: %d mismatch%s:\n  %s", #problems,
      #problems == 1 and "" or "es", table.concat(problems, "\n  ")), 2)
  end
  autograd.no_grad(function()
    for k, t in pairs(mine) do
      if sd[k] ~= nil then t:copy_(sd[k]) end
    end
  end)
  return self
end

-- nn.save(path, model): the state_dict in the native tensor file (atomic).
function nn.save(path, model)
  tensor.save(path, model:state_dict())
end

-- nn.load(path, model): loads a file of nn.save into model, checking names
-- and shapes; returns model.
function nn.load(path, model, opts)
  local sd = tensor.load(path)
  if tensor.is_tensor(sd) then sd = { [""] = sd } end
  local ok, err = pcall(model.load_state_dict, model, sd, opts)
  if not ok then error(path .. ": " .. tostring(err):gsub("^load_state_dict: ", ""), 2) end
  return model
end

-- --- initialisation -------------------------------------------------------

local init = {}
nn.init = init

function init.uniform_(t, a, b, gen)
  autograd.no_grad(function() t:uniform_(a, b, { gen = gen }) end)
  return t
end

function init.normal_(t, mean, std, gen)
  autograd.no_grad(function() t:normal_(mean or 0, std or 1, { gen = gen }) end)
  return t
end

function init.constant_(t, v)
  autograd.no_grad(function() t:fill_(v) end)
  return t
end

-- fan_in and fan_out of a weight [out, in, k...], as PyTorch computes them.
function init.fans(t)
  local s = t:shape()
  local field = 1
  for i = 3, #s do field = field * s[i] end
  return s[2] * field, s[1] * field
end

-- kaiming_uniform_(t, a): U(-b, b) with b = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2))
function init.kaiming_uniform_(t, a, gen)
  local fan_in = init.fans(t)
  local bound = math.sqrt(2 / (1 + (a or 0) ^ 2)) * math.sqrt(3 / fan_in)
  return init.uniform_(t, -bound, bound, gen)
end

function init.xavier_uniform_(t, gain, gen)
  local fan_in, fan_out = init.fans(t)
  local bound = (gain or 1) * math.sqrt(6 / (fan_in + fan_out))
  return init.uniform_(t, -bound, bound, gen)
end

local function param(shape)
  return tensor.empty(shape):requires_grad()
end

-- --- layers -----------------------------------------------------------------

local function layer(name)
  local cls = class(Module, name)
  nn[name] = cls
  return cls
end

local function pair(v, what)
  if type(v) == "table" then return v end
  if math.type(v) ~= "integer" then error(what .. ": expected an integer or a pair", 3) end
  return { v, v }
end

local Linear = layer("Linear")
-- nn.Linear(in, out, {bias=true, gen=}): y = x W^T + b, W and b from U(-1/sqrt(in), 1/sqrt(in))
function Linear:init(nin, nout, opts)
  opts = opts or {}
  self.in_features, self.out_features = nin, nout
  self.weight = init.kaiming_uniform_(param { nout, nin }, math.sqrt(5), opts.gen)
  if opts.bias ~= false then
    local bound = 1 / math.sqrt(nin)
    self.bias = init.uniform_(param { nout }, -bound, bound, opts.gen)
  end
end
function Linear:forward(x) return F.linear(x, self.weight, self.bias) end
function Linear:extra_repr()
  return string.format("in=%d, out=%d, bias=%s", self.in_features, self.out_features, tostring(self.bias ~= nil))
end

local Conv2d = layer("Conv2d")
-- nn.Conv2d(in, out, kernel, {stride=1, padding=0, dilation=1, groups=1, bias=true, gen=})
function Conv2d:init(cin, cout, kernel, opts)
  opts = opts or {}
  local groups = opts.groups or 1
  if cin % groups ~= 0 or cout % groups ~= 0 then
    error(string.format("Conv2d: in (%d) and out (%d) channels must be divisible by groups (%d)", cin, cout, groups), 3)
  end
  self.in_channels, self.out_channels = cin, cout
  self.kernel_size = pair(kernel, "Conv2d kernel")
  self.stride = pair(opts.stride or 1, "Conv2d stride")
  self.padding = pair(opts.padding or 0, "Conv2d padding")
  self.dilation = pair(opts.dilation or 1, "Conv2d dilation")
  self.groups = groups
  self.weight = init.kaiming_uniform_(param { cout, cin // groups, self.kernel_size[1], self.kernel_size[2] },
    math.sqrt(5), opts.gen)
  if opts.bias ~= false then
    local bound = 1 / math.sqrt(init.fans(self.weight))
    self.bias = init.uniform_(param { cout }, -bound, bound, opts.gen)
  end
end
function Conv2d:forward(x)
  return F.conv2d(x, self.weight, self.bias,
    { stride = self.stride, padding = self.padding, dilation = self.dilation, groups = self.groups })
end
function Conv2d:extra_repr()
  return string.format("%d, %d, kernel=%dx%d, stride=%d, padding=%d", self.in_channels, self.out_channels,
    self.kernel_size[1], self.kernel_size[2], self.stride[1], self.padding[1])
end

local function pool(name, fn)
  local P = layer(name)
  function P:init(kernel, opts)
    opts = opts or {}
    self.kernel_size = pair(kernel, name .. " kernel")
    self.stride = pair(opts.stride or kernel, name .. " stride")
    self.padding = pair(opts.padding or 0, name .. " padding")
  end
  function P:forward(x)
    return F[fn](x, self.kernel_size, { stride = self.stride, padding = self.padding })
  end
  function P:extra_repr() return string.format("kernel=%d, stride=%d", self.kernel_size[1], self.stride[1]) end
end
pool("MaxPool2d", "max_pool2d")
pool("AvgPool2d", "avg_pool2d")

local AdaptiveAvgPool2d = layer("AdaptiveAvgPool2d")
function AdaptiveAvgPool2d:init(size) self.output_size = pair(size, "AdaptiveAvgPool2d size") end
function AdaptiveAvgPool2d:forward(x) return F.adaptive_avg_pool2d(x, self.output_size) end

local Flatten = layer("Flatten")
-- nn.Flatten([start=2, end=-1]): keeps the batch dim
function Flatten:init(start, stop) self.start_dim, self.end_dim = start or 2, stop or -1 end
function Flatten:forward(x) return x:flatten(self.start_dim, self.end_dim) end

local Dropout = layer("Dropout")
-- nn.Dropout([p=0.5], {gen=}): zeroes with probability p in training, scales by 1/(1-p)
function Dropout:init(p, opts)
  self.p = p or 0.5
  self.gen = opts and opts.gen
end
function Dropout:forward(x) return F.dropout(x, self.p, { training = self.training, gen = self.gen }) end
function Dropout:extra_repr() return "p=" .. self.p end

local NestedDropout = layer("NestedDropout")
-- nn.NestedDropout([p=0.1], {gen=}): Rippel et al. 2014. In training, each
-- example keeps units 1..b of dim 2 and zeroes the rest, b ~ Geometric(p)
-- on {1, 2, ...}; the order of units becomes one of importance.
function NestedDropout:init(p, opts)
  self.p = p or 0.1
  if self.p <= 0 or self.p >= 1 then error("NestedDropout: p must be in (0, 1)", 3) end
  self.gen = opts and opts.gen
end
function NestedDropout:forward(x)
  if not self.training then return x end
  local n, d = x:size(1), x:size(2)
  local b = autograd.no_grad(function()
    -- b = 1 + floor(log(u) / log(1 - p)), u uniform in (0, 1]
    return (1 - tensor.rand(n, { gen = self.gen, dtype = "f64" })):log():div(math.log(1 - self.p)):floor():add(1)
  end)
  local shape = { n, d }
  for _ = 3, x:dim() do shape[#shape + 1] = 1 end
  local mask = tensor.arange(1, d + 1, { dtype = "f64" }):view(1, d):le(b:view(n, 1))
  return x * mask:to(x:dtype()):view(shape)
end
function NestedDropout:extra_repr() return "p=" .. self.p end

local function batchnorm(name, dims)
  local BN = layer(name)
  -- nn.BatchNorm(n, {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true})
  function BN:init(n, opts)
    opts = opts or {}
    self.num_features = n
    self.eps, self.momentum = opts.eps or 1e-5, opts.momentum or 0.1
    if opts.affine ~= false then
      self.weight = tensor.ones(n):requires_grad()
      self.bias = tensor.zeros(n):requires_grad()
    end
    if opts.track_running_stats ~= false then
      self:register_buffer("running_mean", tensor.zeros(n))
      self:register_buffer("running_var", tensor.ones(n))
      self:register_buffer("num_batches_tracked", tensor.zeros({}, { dtype = "i64" }))
    end
  end
  function BN:forward(x)
    if not dims[x:dim()] then
      error(string.format("%s: expected a %s input, got shape %s", name, dims.what, shape_str(x)), 2)
    end
    local stats = self.running_mean ~= nil
    if self.training and stats then self.num_batches_tracked:add_(1) end
    return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
      { training = self.training or not stats, momentum = self.momentum, eps = self.eps })
  end
  function BN:extra_repr() return string.format("%d, eps=%g, momentum=%g", self.num_features, self.eps, self.momentum) end
end
batchnorm("BatchNorm1d", { [2] = true, [3] = true, what = "2-d or 3-d" })
batchnorm("BatchNorm2d", { [4] = true, what = "4-d" })

local LayerNorm = layer("LayerNorm")
-- nn.LayerNorm(shape, {eps=1e-5, elementwise_affine=true}): normalises the last dims
function LayerNorm:init(shape, opts)
  opts = opts or {}
  self.normalized_shape = type(shape) == "table" and shape or { shape }
  self.eps = opts.eps or 1e-5
  if opts.elementwise_affine ~= false then
    self.weight = tensor.ones(self.normalized_shape):requires_grad()
    self.bias = tensor.zeros(self.normalized_shape):requires_grad()
  end
end
function LayerNorm:forward(x)
  return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, { eps = self.eps })
end

local Embedding = layer("Embedding")
-- nn.Embedding(n, dim, {gen=}): rows of a weight from N(0, 1), looked up by 1-based index
function Embedding:init(n, dim, opts)
  self.num_embeddings, self.embedding_dim = n, dim
  self.weight = init.normal_(param { n, dim }, 0, 1, opts and opts.gen)
end
function Embedding:forward(idx) return F.embedding(idx, self.weight) end
function Embedding:extra_repr() return self.num_embeddings .. ", " .. self.embedding_dim end

-- activations
local function activation(name, fn, arg, default)
  local A = layer(name)
  if arg then
    function A:init(v) self[arg] = v == nil and default or v end
    function A:forward(x) return fn(x, self[arg]) end
    function A:extra_repr() return arg .. "=" .. tostring(self[arg]) end
  else
    function A:forward(x) return fn(x) end
  end
end
activation("ReLU", F.relu)
activation("GELU", F.gelu)
activation("Tanh", F.tanh)
activation("Sigmoid", F.sigmoid)
activation("LeakyReLU", F.leaky_relu, "negative_slope", 0.01)
activation("Softmax", F.softmax, "dim", -1)
activation("LogSoftmax", F.log_softmax, "dim", -1)
activation("Identity", function(x) return x end)

-- --- containers -------------------------------------------------------------

local Sequential = layer("Sequential")
-- nn.Sequential{ m1, m2, ... }: children named "1", "2", ...; :add(m) appends
function Sequential:init(list)
  for _, m in ipairs(list or {}) do self:add(m) end
end
function Sequential:add(m)
  if not is_module(m) then error("Sequential:add: expected a module, got " .. type(m), 2) end
  self[#self + 1] = m
  return self
end
function Sequential:forward(x)
  for i = 1, #self do x = self[i](x) end
  return x
end

-- --- training ---------------------------------------------------------------

local function classify_stats(out, y)
  if out:dim() == 2 and y:dim() == 1 and (y:dtype() == "i64" or y:dtype() == "i32") then
    return out:argmax(2):eq(y):sum():item()
  end
end

-- A loader (or a pair {X, y}) to its iterator over one epoch.
local function epoch_of(v)
  if type(v) == "function" then return v end
  if not getmetatable(v) then v = require("data_loader")(v[1], v[2], { batch = 1000 }) end
  return v:iter()
end

-- nn.evaluate(model, loader, {loss=F.cross_entropy}) -> {loss=, acc=, n=}
-- in eval mode without recording; the model's mode is restored after.
function nn.evaluate(model, loader, opts)
  opts = opts or {}
  local loss_fn = opts.loss or F.cross_entropy
  local was = model.training
  model:eval()
  local total, correct, n, counted = 0, 0, 0, true
  local ok, err = pcall(autograd.no_grad, function()
    for xb, yb in epoch_of(loader) do
      local out = model(xb)
      local b = xb:size(1)
      total = total + loss_fn(out, yb):item() * b
      local c = classify_stats(out, yb)
      if c then correct = correct + c else counted = false end
      n = n + b
    end
  end)
  model:train(was)
  if not ok then error(err, 0) end
  return { loss = total / n, acc = counted and correct / n or nil, n = n }
end

local function isatty()
  return sonde.isatty and sonde.isatty() and (os.getenv("TERM") or "dumb") ~= "dumb"
end

local function fmt_metrics(m)
  local parts = { string.format("epoch %d", m.epoch), string.format("loss %.4f", m.loss) }
  if m.acc then parts[#parts + 1] = string.format("acc %.4f", m.acc) end
  if m.val_loss then parts[#parts + 1] = string.format("val_loss %.4f", m.val_loss) end
  if m.val_acc then parts[#parts + 1] = string.format("val_acc %.4f", m.val_acc) end
  parts[#parts + 1] = string.format("%.1fs", m.time)
  return table.concat(parts, "  ")
end

-- nn.fit(model, loader, {epochs=1, opt=Adam, loss=F.cross_entropy, val=,
-- sched=, log=}) trains and returns the per-epoch metrics {epoch, loss, acc,
-- val_loss, val_acc, time}. log: false for silence, or a function(metrics);
-- by default a progress bar on a terminal and one line per epoch otherwise.
function nn.fit(model, loader, opts)
  opts = opts or {}
  local epochs = opts.epochs or 1
  local opt = opts.opt or require("optim").Adam(model:parameters())
  local loss_fn = opts.loss or F.cross_entropy
  local val = opts.val
  local tty = opts.log == nil and isatty()
  local history = {}
  local nsteps = #loader
  for epoch = 1, epochs do
    model:train()
    local t0, last_draw = tensor.clock(), -1
    local total, correct, n, counted, step = 0, 0, 0, true, 0
    for xb, yb in epoch_of(loader) do
      opt:zero_grad()
      local out = model(xb)
      local loss = loss_fn(out, yb)
      loss:backward()
      opt:step()
      local b = xb:size(1)
      local l = loss:item()
      total, n, step = total + l * b, n + b, step + 1
      local c = autograd.no_grad(classify_stats, out:detach(), yb)
      if c then correct = correct + c else counted = false end
      if tty then
        local now = tensor.clock()
        if now - last_draw > 0.1 or step == nsteps then
          last_draw = now
          local w = 24
          local fill = math.floor(w * step / nsteps)
          io.stdout:write(string.format("\repoch %d/%d [%s%s] %d/%d loss %.4f %.0f samples/s ", epoch, epochs,
            string.rep("=", fill), string.rep(" ", w - fill), step, nsteps, total / n, n / math.max(now - t0, 1e-9)))
          io.stdout:flush()
        end
      end
    end
    if opts.sched then opts.sched:step() end
    local m = { epoch = epoch, loss = total / n, acc = counted and correct / n or nil }
    if val then
      local v = nn.evaluate(model, val, { loss = loss_fn })
      m.val_loss, m.val_acc = v.loss, v.acc
    end
    m.time = tensor.clock() - t0
    history[epoch] = m
    if type(opts.log) == "function" then
      opts.log(m)
    elseif opts.log ~= false then
      io.stdout:write((tty and "\r\27[K" or "") .. fmt_metrics(m) .. "\n")
      io.stdout:flush()
    end
  end
  return history
end


-- --- the evidential loss ---------------------------------------------------------

-- F.evidential_loss(evidence, target, {kind=, kl=, epoch=, annealing_step=10,
-- reduction=}): Sensoy et al. 2018, "Evidential Deep Learning to Quantify
-- Classification Uncertainty". evidence [N, K] >= 0 (relu, softplus or a
-- clamped exp of the logits) parameterises Dirichlet(alpha = evidence + 1),
-- S = sum alpha, p = alpha / S, y the one-hot of the 1-based targets:
--   mse:     sum_k (y_k - p_k)^2 + p_k (1 - p_k) / (S + 1)     (their eq. 5)
--   log:     sum_k y_k (log S - log alpha_k)                   (eq. 3)
--   digamma: sum_k y_k (digamma S - digamma alpha_k)           (eq. 4)
-- plus lambda KL(Dir(alpha~) || Dir(1)), alpha~ = y + (1 - y) alpha (the
-- evidence of the wrong classes), lambda = kl, else min(1, epoch /
-- annealing_step) when epoch is given (their annealing), else 1.
function F.evidential_loss(evidence, target, opts)
  opts = opts or {}
  local fn = "evidential_loss"
  if not tensor.is_tensor(evidence) or evidence:dim() ~= 2 or not (evidence:dtype() == "f32" or evidence:dtype() == "f64") then
    error(fn .. ": evidence must be a float tensor [N, K]", 2)
  end
  local n, K = evidence:size(1), evidence:size(2)
  if not tensor.is_tensor(target) or target:dim() ~= 1 or target:size(1) ~= n then
    error(string.format("%s: target must be [%d] class indices (1-based), got %s", fn, n,
      tensor.is_tensor(target) and "[" .. table.concat(target:shape(), ",") .. "]" or type(target)), 2)
  end
  local kind, reduction = opts.kind or "mse", opts.reduction or "mean"
  local lam = opts.kl
  if lam == nil then
    lam = opts.epoch and math.min(1, opts.epoch / (opts.annealing_step or 10)) or 1
  end
  if type(lam) ~= "number" or lam < 0 then error(fn .. ": kl must be a number >= 0", 2) end
  local ok, y = pcall(tensor.one_hot, target, K)
  if not ok then error(fn .. ": target: " .. tostring(y), 2) end
  y = y:to(evidence:dtype())
  local alpha = evidence + 1
  local S = alpha:sum(2, true)
  local data
  if kind == "mse" then
    local p = alpha / S
    data = ((y - p):square() + p * (1 - p) / (S + 1)):sum(2)
  elseif kind == "log" then
    data = (y * (S:log() - alpha:log())):sum(2)
  elseif kind == "digamma" then
    data = (y * (S:digamma() - alpha:digamma())):sum(2)
  else
    error(fn .. ": kind must be \"mse\", \"log\" or \"digamma\", got " .. tostring(kind), 2)
  end
  local loss = data
  if lam > 0 then
    local a = y + (1 - y) * alpha
    local Sa = a:sum(2, true)
    local kl = Sa:lgamma():view(-1) - a:lgamma():sum(2) - tensor.lgamma(tensor.new({ K }, { dtype = evidence:dtype() }))
      + ((a - 1) * (a:digamma() - Sa:digamma())):sum(2)
    loss = loss + kl * lam
  end
  if reduction == "mean" then return loss:mean()
  elseif reduction == "sum" then return loss:sum()
  elseif reduction == "none" then return loss end
  error(fn .. ": reduction must be \"mean\", \"sum\" or \"none\", got " .. tostring(reduction), 2)
end
sonde.doc("nn.functional.evidential_loss",
  "evidential_loss(evidence, target, {kind=\"mse\"|\"log\"|\"digamma\", kl=, epoch=, annealing_step=10, reduction=\"mean\"})",
  "Sensoy et al. 2018: Dirichlet(evidence + 1) fit to 1-based targets, + KL to Dir(1) on wrong-class evidence, annealed min(1, epoch/annealing_step)")

-- --- docs (help) ---------------------------------------------------------------

for _, d in ipairs {
  { "Linear", "nn.Linear(in, out, {bias=true, gen=})", "y = x Wᵀ + b; W, b ~ U(-1/sqrt(in), 1/sqrt(in)) as PyTorch" },
  { "Conv2d", "nn.Conv2d(in, out, k, {stride=1, padding=0, dilation=1, groups=1, bias=true, gen=})",
    "2-d convolution over [N, C, H, W]; Kaiming-uniform init as PyTorch" },
  { "MaxPool2d", "nn.MaxPool2d(k, {stride=k, padding=0})", "max over k x k windows" },
  { "AvgPool2d", "nn.AvgPool2d(k, {stride=k, padding=0})", "mean over k x k windows" },
  { "AdaptiveAvgPool2d", "nn.AdaptiveAvgPool2d(size)", "mean pooling to a fixed output size" },
  { "Flatten", "nn.Flatten([start=2, end=-1])", "merge dims start..end (keeps the batch dim)" },
  { "Dropout", "nn.Dropout([p=0.5], {gen=})", "zero with probability p in training, scale by 1/(1-p)" },
  { "NestedDropout", "nn.NestedDropout([p=0.1], {gen=})",
    "training: keep units 1..b of dim 2 per example, b ~ Geometric(p) (Rippel et al. 2014)" },
  { "BatchNorm1d", "nn.BatchNorm1d(n, {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true})",
    "batch norm of [N, C] or [N, C, L]; running statistics as buffers" },
  { "BatchNorm2d", "nn.BatchNorm2d(n, {eps=1e-5, momentum=0.1, affine=true, track_running_stats=true})",
    "batch norm of [N, C, H, W]; running statistics as buffers" },
  { "LayerNorm", "nn.LayerNorm(shape, {eps=1e-5, elementwise_affine=true})", "normalise over the last dims" },
  { "Embedding", "nn.Embedding(n, dim, {gen=})", "rows of a N(0, 1) weight at 1-based indices" },
  { "ReLU", "nn.ReLU()", "max(x, 0)" },
  { "LeakyReLU", "nn.LeakyReLU([slope=0.01])", "x where x > 0, else slope x" },
  { "GELU", "nn.GELU()", "x Φ(x)" },
  { "Tanh", "nn.Tanh()", "hyperbolic tangent" },
  { "Sigmoid", "nn.Sigmoid()", "1 / (1 + e^-x)" },
  { "Softmax", "nn.Softmax([dim=-1])", "softmax along dim" },
  { "LogSoftmax", "nn.LogSoftmax([dim=-1])", "log-softmax along dim" },
  { "Identity", "nn.Identity()", "returns its input" },
  { "Sequential", "nn.Sequential{m1, m2, ...}", "children \"1\", \"2\", ... applied in order; :add(m) appends" },
  { "Module", "nn.Module:extend(name) | nn.Module{fields}",
    "a user module class (define init and forward), or a one-off module from a table" },
  { "save", "nn.save(path, model)", "write model:state_dict() to a native tensor file, atomically" },
  { "load", "nn.load(path, model, {strict=true})", "load a file of nn.save into model; reports every mismatch" },
  { "fit", "nn.fit(model, loader, {epochs=1, opt=Adam, loss=cross_entropy, val=, sched=, log=})",
    "train; returns per-epoch metrics {epoch, loss, acc, val_loss, val_acc, time}" },
  { "evaluate", "nn.evaluate(model, loader, {loss=cross_entropy})", "{loss=, acc=, n=} in eval mode without recording" },
  { "is_module", "nn.is_module(v)", "true when v is an nn module" },
} do sonde.doc("nn." .. d[1], d[2], d[3]) end

for _, d in ipairs {
  { "forward", "m:forward(x)", "the computation; m(x) calls it and then the forward hooks" },
  { "parameters", "m:parameters()", "the parameter tensors in registration order, the same objects every call" },
  { "named_parameters", "m:named_parameters()", "iterator of dotted name, parameter" },
  { "buffers", "m:buffers()", "the buffer tensors (running statistics, ...)" },
  { "named_buffers", "m:named_buffers()", "iterator of dotted name, buffer" },
  { "children", "m:children()", "the direct submodules" },
  { "named_children", "m:named_children()", "iterator of name, direct submodule" },
  { "modules", "m:modules()", "m and all its submodules, pre-order" },
  { "named_modules", "m:named_modules()", "iterator of dotted path, module (\"\" for m)" },
  { "get", "m:get(path)", "the submodule at a dotted path (\"features.3\"), or nil" },
  { "num_parameters", "m:num_parameters()", "the number of parameter elements" },
  { "train", "m:train([on=true])", "training mode for m and its submodules; returns m" },
  { "eval", "m:eval()", "evaluation mode (dropout off, batch norm on running statistics); returns m" },
  { "zero_grad", "m:zero_grad()", "drop every parameter's .grad" },
  { "register_parameter", "m:register_parameter(name, t)", "make t a parameter of m under name" },
  { "register_buffer", "m:register_buffer(name, t)", "make t saved state of m (not trained)" },
  { "register_forward_hook", "m:register_forward_hook(fn(module, input, output))",
    "call fn after each forward (a non-nil result replaces the output); returns a handle with remove()" },
  { "capture", "m:capture(x, [names])",
    "run m(x); the outputs of the named submodules (all when nil) and `output`, plus the output" },
  { "state_dict", "m:state_dict()", "dotted name -> tensor of every parameter and buffer" },
  { "load_state_dict", "m:load_state_dict(sd, {strict=true})",
    "copy sd into m's tensors (identity kept); one error lists every mismatch" },
} do sonde.doc("Module:" .. d[1], d[2], d[3]) end

return nn
