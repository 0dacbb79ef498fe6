-- gradcheck.lua: autograd.gradcheck(fn, inputs, opts): compares the
-- gradients autograd computes with central differences, in f64.
-- fn takes the inputs (tensors) and returns a tensor. The check projects
-- the output on a fixed random direction, so one backward pass gives the
-- whole gradient of every input. Returns true, or false and a report of the
-- worst element.
local function gradcheck(fn, inputs, opts)
  opts = opts or {}
  local eps, atol, rtol = opts.eps or 1e-6, opts.atol or 1e-5, opts.rtol or 1e-3
  if tensor.is_tensor(inputs) then inputs = { inputs } end
  local xs = {}
  for i, x in ipairs(inputs) do
    xs[i] = x:detach():to("f64"):clone():requires_grad()
  end
  local out = fn(table.unpack(xs))
  if not tensor.is_tensor(out) then error("gradcheck: fn must return a tensor", 2) end
  -- a fixed direction, the same every run: w_k = sin(k) + 0.5
  local n = out:numel()
  local w = {}
  for k = 1, n do w[k] = math.sin(k) + 0.5 end
  local dir = tensor.new(w, { dtype = "f64" }):view(out:shape())
  local function project(o)
    local flat, s = o:contiguous():reshape(n):tolist(), 0
    for k = 1, n do s = s + flat[k] * w[k] end
    return s
  end
  local grads = autograd.grad({ out }, xs, { grad_outputs = { dir }, allow_unused = true })
  local worst = { err = -1 }
  for i, x in ipairs(xs) do
    local analytic = grads[i] and grads[i]:contiguous():reshape(x:numel()):tolist()
    local base = x:detach()
    local flat = base:reshape(x:numel())  -- a view when contiguous: writes reach x
    if not flat:is_contiguous() or flat:numel() ~= x:numel() then error("gradcheck: inputs must be contiguous", 2) end
    for k = 1, x:numel() do
      local v = flat[k]:item()
      flat[k] = v + eps
      -- evaluated with recording on: fn may itself take gradients
      local fp = project(fn(table.unpack(xs)))
      flat[k] = v - eps
      local fm = project(fn(table.unpack(xs)))
      flat[k] = v
      local numeric = (fp - fm) / (2 * eps)
      local a = analytic and analytic[k] or 0
      local err = math.abs(a - numeric)
      local bound = atol + rtol * math.abs(numeric)
      if err - bound > worst.err then
        worst = { err = err - bound, input = i, index = k, analytic = a, numeric = numeric }
      end
    end
  end
  if worst.err <= 0 then return true end
  return false, string.format("input %d, element %d: autograd %.10g, numeric %.10g",
    worst.input, worst.index, worst.analytic, worst.numeric)
end

return gradcheck
