-- unlearn_audit.lua: part of the `unlearn` module (see unlearn.lua): the
-- audits besides membership inference. evaluate: accuracies on the forget,
-- retain and test sets. relearn: how many fine-tuning steps bring the
-- forget accuracy back. representation: whether the forgotten classes are
-- still linearly decodable from frozen features (a method that only moves
-- the last layer keeps them), and the CKA to the original model's features.
-- report: the table of all of these, one row per method.
local sonde = require "sonde"
local F = require "nn.functional"
local C = require "unlearn_common"

local M = {}

-- Top-1 accuracy of m on a dataset.
function M.accuracy(model, set)
  C.model("accuracy", model)
  local s = C.set("accuracy", "set", set)
  return C.accuracy(model, s)
end

-- unlearn.evaluate(model, {forget=, retain=, test=}) -> {forget_acc=, retain_acc=, test_acc=}
function M.evaluate(model, sets)
  C.model("evaluate", model)
  if type(sets) ~= "table" then C.fail("evaluate", "sets must be a table {forget=, retain=, test=}") end
  local r = {}
  for _, k in ipairs { "forget", "retain", "test" } do
    if sets[k] ~= nil then r[k .. "_acc"] = M.accuracy(model, C.set("evaluate", k, sets[k])) end
  end
  return r
end

-- unlearn.relearn(model, forget, {steps=100, lr=1e-3, threshold=0.5, ...})
-- fine-tunes a copy on the forget set (mixed with opts.retain when given)
-- and evaluates on opts.eval (default: the forget set) every `every` steps.
function M.relearn(model, forget, opts)
  local fn = "relearn"
  C.model(fn, model)
  opts = opts or {}
  if type(opts) ~= "table" then C.fail(fn, "opts must be a table") end
  local f = C.set(fn, "forget", forget)
  local r = C.set(fn, "retain", opts.retain, true)
  local ev = C.set(fn, "eval", opts.eval or forget)
  local steps = C.posint(fn, "steps", opts.steps, 100)
  local every = C.posint(fn, "every", opts.every, 1)
  local batch = C.posint(fn, "batch", opts.batch, 32)
  local threshold = C.number(fn, "threshold", opts.threshold, 0.5, 0)
  local gen = C.gen(fn, opts, 0)
  local m = C.clone(model)
  local opt = C.optimizer(fn, m, opts, { optim = "adam", lr = 1e-3 })
  local next_f = C.batches(f, batch, gen)
  local next_r = r and C.batches(r, batch, gen)
  local acc = C.accuracy(m, ev)
  local curve = { { step = 0, acc = acc } }
  local reached = acc >= threshold and 0 or nil
  local step = 0
  while step < steps and not (reached and opts.stop ~= false) do
    local k = math.min(every, steps - step)
    C.run(m, opt, k, function()
      local xb, yb = next_f()
      local loss = F.cross_entropy(m(xb), yb)
      if next_r then
        xb, yb = next_r()
        loss = loss + F.cross_entropy(m(xb), yb)
      end
      return loss
    end)
    step = step + k
    acc = C.accuracy(m, ev)
    curve[#curve + 1] = { step = step, acc = acc }
    if not reached and acc >= threshold then reached = step end
  end
  return { steps = reached, curve = curve, threshold = threshold, max_steps = steps, final_acc = acc }
end

-- The default feature layer: the child before the last of a Sequential
-- (the penultimate representation).
local function default_layer(fn, model)
  local names = {}
  for name in model:named_children() do names[#names + 1] = name end
  if #names < 2 then C.fail(fn, "opts.layer is required (the model has no penultimate child)", 3) end
  return names[#names - 1]
end

local function features(fn, model, layer, X)
  if not model:get(layer) then C.fail(fn, string.format("no module named '%s' in the model", layer), 3) end
  return C.frozen(model, function()
    local parts, n = {}, X:size(1)
    for s = 1, n, 1000 do
      parts[#parts + 1] = model:capture(X:narrow(1, s, math.min(1000, n - s + 1)), { layer })[layer]:flatten(2)
    end
    return (#parts == 1 and parts[1] or tensor.cat(parts)):to("f64")
  end)
end

-- The rows of s whose label is one of classes.
local function of_classes(s, classes)
  local mask = tensor.zeros(s.n, { dtype = "bool" })
  for _, c in ipairs(classes) do mask = mask:logical_or(s.y:eq(c)) end
  return mask:nonzero():view(-1)
end

-- unlearn.representation(model, original, data, {layer=, classes=, test=, l2=})
function M.representation(model, original, data, opts)
  local fn = "representation"
  C.model(fn, model)
  C.model(fn, original, "original")
  opts = opts or {}
  if type(opts) ~= "table" then C.fail(fn, "opts must be a table") end
  local d = C.set(fn, "data", data)
  local layer = opts.layer or default_layer(fn, model)
  if type(layer) ~= "string" then C.fail(fn, "layer must be a module name (a string)") end
  local classes = opts.classes
  if math.type(classes) == "integer" then classes = { classes } end
  if classes ~= nil and (type(classes) ~= "table" or #classes == 0) then
    C.fail(fn, "classes must be a class label or a list of them")
  end
  local train, test = d, C.set(fn, "test", opts.test, true)
  if not test then
    if d.n < 4 then C.fail(fn, "data needs at least 4 rows to split off a probe test half") end
    local perm = tensor.randperm(d.n, { gen = C.gen(fn, opts, 0) })
    local h = d.n // 2
    train, test = C.subset(d, perm:narrow(1, 1, h)), C.subset(d, perm:narrow(1, h + 1, d.n - h))
  end
  local A = features(fn, model, layer, train.X)
  local B = features(fn, original, layer, train.X)
  local metrics, probe = require "metrics", require "probe"
  local p = probe.logistic(A, train.y, { l2 = opts.l2 })
  local At = features(fn, model, layer, test.X)
  local res = {
    layer = layer,
    cka = metrics.cka(A, B, { kernel = "linear" }),
    probe_acc_all = p:score(At, test.y),
  }
  if classes then
    local idx = of_classes(test, classes)
    if idx:numel() == 0 then C.fail(fn, "no test rows of the given classes") end
    res.probe_acc = p:score(At:index_select(1, idx), test.y:index_select(1, idx))
  else
    res.probe_acc = res.probe_acc_all
  end
  return res
end

local columns = {
  { "method", "method", "%s" }, { "forget_acc", "forget acc", "%.3f" }, { "retain_acc", "retain acc", "%.3f" },
  { "test_acc", "test acc", "%.3f" }, { "mia_auc", "MIA AUC", "%.3f" }, { "relearn_steps", "relearn steps", "%s" },
  { "cka", "CKA", "%.3f" }, { "probe_acc", "probe acc", "%.3f" }, { "time", "time (s)", "%.1f" },
}

-- unlearn.report(rows, {print=true}) -> the table as a string.
function M.report(rows, opts)
  if type(rows) ~= "table" then C.fail("report", "rows must be a list of tables {method=, forget_acc=, ...}") end
  local cells, width = {}, {}
  for j, c in ipairs(columns) do width[j] = #c[2] end
  for i, row in ipairs(rows) do
    if type(row) ~= "table" then C.fail("report", string.format("row %d is a %s, not a table", i, type(row))) end
    cells[i] = {}
    for j, c in ipairs(columns) do
      local v = row[c[1]]
      local s = v == nil and "-" or (type(v) == "number" and string.format(c[3], v) or tostring(v))
      cells[i][j] = s
      width[j] = math.max(width[j], #s)
    end
  end
  local function line(vals)
    local parts = {}
    for j, v in ipairs(vals) do
      parts[j] = j == 1 and v .. string.rep(" ", width[j] - #v) or string.rep(" ", width[j] - #v) .. v
    end
    return table.concat(parts, "  ")
  end
  local head = {}
  for j, c in ipairs(columns) do head[j] = c[2] end
  local out = { line(head) }
  local rule = {}
  for j = 1, #columns do rule[j] = string.rep("-", width[j]) end
  out[2] = line(rule)
  for i = 1, #rows do out[#out + 1] = line(cells[i]) end
  local text = table.concat(out, "\n")
  if not (opts and opts.print == false) then print(text) end
  return text
end

for _, d in ipairs {
  { "accuracy", "unlearn.accuracy(model, set)", "top-1 accuracy of model on a dataset {X=, y=}" },
  { "evaluate", "unlearn.evaluate(model, {forget=, retain=, test=})", "{forget_acc=, retain_acc=, test_acc=} for the sets given" },
  { "relearn", "unlearn.relearn(model, forget, {steps=100, lr=1e-3, optim=\"adam\", batch=32, threshold=0.5, every=1, retain=, eval=forget, stop=true, seed=0})",
    "fine-tune a copy on forget (+ retain); {steps= first step with eval acc >= threshold or nil, curve={{step,acc}}, final_acc=}" },
  { "representation", "unlearn.representation(model, original, data, {layer=penultimate, classes=, test=half of data, l2=1/n, seed=0})",
    "{cka= linear CKA to original's features, probe_acc= logistic probe on frozen features, on classes, probe_acc_all=}" },
  { "report", "unlearn.report(rows, {print=true})",
    "one row per method: forget/retain/test acc, MIA AUC, relearn steps, CKA, probe acc, time; returns the text" },
} do sonde.doc("unlearn." .. d[1], d[2], d[3]) end

return M
