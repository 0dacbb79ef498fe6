-- test_api_types.lua: the types stdlib/api_types.lua gives the built-ins
-- (the Lua language server's ---@param / ---@return lines) are the types
-- the built-ins really take and return. Every class constructor and at
-- least one function of every module is called on small inputs, and every
-- Tensor method and tensor function the rules type is swept with arguments
-- made from its declared param types; each result is checked against the
-- declared return types, each argument of an explicit call against the
-- declared param type.
local T = require "testlib"
local types = require "api_types"
local C = require "api_check"
local entries, methods, conforms, split = C.entries, C.methods, C.conforms, C.split
local describe, is_tensor, check_args, check_results, resolve = C.describe, C.is_tensor, C.check_args, C.check_results, C.resolve

local called, problems = {}, {}

-- call(name, f, ...): f(...) (f resolved from the name when nil), its
-- arguments and results checked; returns the results.
local function call(name, f, ...)
  assert(entries[name], "not a registry entry: " .. name)
  local args = table.pack(...)
  local res = table.pack(f(...))
  called[name] = true
  local p = check_args(name, args) or check_results(name, res)
  if p then problems[#problems + 1] = p end
  return table.unpack(res, 1, res.n)
end
-- m(obj, "Class:method", ...): a checked method call
local function m(obj, name, ...)
  return call(name, obj[name:match(":(.*)$")], obj, ...)
end
local function plot_cairo() return package.loaded["plot.cairo"] end
local function fn(name, ...)
  return call(name, resolve(name), ...)
end

local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p " .. tmp)

T.test("the type checker itself rejects wrong values", function()
  T.ok(conforms(tensor.ones(2), "Tensor") and not conforms(1, "Tensor"))
  T.ok(conforms(1, "Tensor|number") and not conforms("x", "Tensor|number"))
  T.ok(conforms(nil, "string?") and not conforms(1, "string?"))
  T.ok(conforms({ tensor.ones(1) }, "Tensor[]") and not conforms({ 1 }, "Tensor[]"))
  T.ok(conforms({ a = tensor.ones(1) }, "table<string, Tensor>") and not conforms({ a = 1 }, "table<string, Tensor>"))
  T.ok(conforms(1, "integer") and not conforms(1.5, "integer"))
  T.ok(conforms(nn.Linear(2, 2), "Module") and not conforms({}, "Module"))
  T.ok(not conforms(nn.Linear(2, 2), "Probe") and not conforms({}, "Detector"))
  T.ok(conforms(tensor.generator(1):state(), "GeneratorState") and not conforms({ seed = 1 }, "GeneratorState"))
  T.ok(check_results("tensor.zeros", table.pack(1)) ~= nil, "a number where a tensor is declared is a problem")
  T.ok(check_results("Tensor:dim", table.pack(1, 2)) ~= nil, "an extra result is a problem")
end)

-- small inputs
tensor.manual_seed(0)
local X = tensor.randn(40, 3)
local y = (X:select(2, 1):gt(0)):to("i64") + 1 -- labels 1, 2
local y01 = y - 1
local A = tensor.randn(3, 3)
local S = A:matmul(A:t()) + tensor.eye(3) * 3 -- symmetric positive definite

T.test("tensor functions and Tensor methods with explicit types", function()
  fn("tensor.zeros", 2, 3)
  fn("tensor.randn", 3, 4, { gen = fn("tensor.generator", 1, 0) })
  fn("tensor.default_generator")
  fn("tensor.manual_seed", 0)
  fn("tensor.config")
  fn("tensor.clock")
  fn("tensor.memory")
  fn("tensor.get_num_threads")
  fn("tensor.set_num_threads", tensor.get_num_threads())
  fn("tensor.is_tensor", 1)
  fn("tensor.cat", { X, X }, 1)
  fn("tensor.stack", { X, X }, 2)
  fn("tensor.eigh", S)
  fn("tensor.qr", S)
  fn("tensor.svd", S)
  fn("tensor.slogdet", S)
  fn("tensor.add", 1, X)
  fn("tensor.where", X:gt(0), X, 0)
  fn("tensor.from", X:bytes(), "f32", { 40, 3 })
  fn("tensor.save", tmp .. "/t.t", S)
  fn("tensor.load", tmp .. "/t.t")
  fn("tensor.save", tmp .. "/d.t", { a = S })
  fn("tensor.load", tmp .. "/d.t")
  m(S, "Tensor:max")
  m(S, "Tensor:max", 1)
  m(S, "Tensor:max", S)
  m(S, "Tensor:sort", 1)
  m(S, "Tensor:topk", 2)
  m(S, "Tensor:kthvalue", 1)
  m(S, "Tensor:unique", { return_inverse = true, return_counts = true })
  m(S, "Tensor:chunk", 2)
  m(S, "Tensor:split", 1)
  m(S, "Tensor:nonzero", { as_tuple = true })
  m(S, "Tensor:size")
  m(S, "Tensor:size", 1)
  m(S, "Tensor:stride")
  m(S, "Tensor:shape")
  m(S:sum(), "Tensor:item")
  m(S:sum():gt(0), "Tensor:item")
  m(S, "Tensor:tolist")
  m(S, "Tensor:dtype")
  m(S:clone(), "Tensor:add_", 1)
  m(S, "Tensor:narrow", 1, 1, 2)
  m(S, "Tensor:transpose", 1, 2)
  m(S, "Tensor:to", "f64")
  m(S, "Tensor:sum", { dim = 1, keepdim = true }); m(S, "Tensor:mean", 1, { keepdim = true })
  m(S, "Tensor:select", 1, 2); m(S:sum(), "Tensor:tolist")
  m(S, "Tensor:sort", { descending = true }); m(S, "Tensor:std", { correction = 0 })
  m(S, "Tensor:topk", 2, { largest = false }); fn("tensor.eye", 2, { dtype = "f64" })
  m(S, "Tensor:view", 9); m(S, "Tensor:view", { 9 }); m(S, "Tensor:reshape", 1, 9)
  m(S, "Tensor:permute", 2, 1); m(S, "Tensor:flip", { 1 }); m(S, "Tensor:repeat_tensor", 1, 2)
  fn("tensor.ones", { 2, 2 }); fn("tensor.rand", 2, 2); fn("tensor.normal", 0, 1, 3)
  m(S, "Tensor:index_select", 1, { 1, 3 })
  m(S, "Tensor:index_add", 1, tensor.new({ 1, 3 }), S:narrow(1, 1, 2))
  m(S, "Tensor:gather", 2, tensor.new({ { 1 }, { 2 }, { 3 } }))
  m(S, "Tensor:where", S:gt(0), 0)
  m(S, "Tensor:addmm", S, S)
  local x = tensor.ones(2):requires_grad()
  local z = (x * 2):sum()
  m(z, "Tensor:grad_fn")
  m(z, "Tensor:backward")
  for f, ty in pairs(types.fields.Tensor) do
    T.ok(conforms(x[f], ty), "Tensor field " .. f .. " is " .. ty)
  end
  T.ok(is_tensor(x.grad), "x.grad is set")
  m(x, "Tensor:zero_grad")
  m(tensor.ones(2), "Tensor:free")
  local g = tensor.generator(3)
  m(g, "Generator:clone")
  m(g, "Generator:seed")
  m(g, "Generator:seed", 4)
  m(g, "Generator:set_state", m(g, "Generator:state"))
end)

T.test("nn, optim: constructors, methods and functions", function()
  local lin = fn("nn.Linear", 3, 2)
  local net = fn("nn.Sequential", { lin, fn("nn.ReLU"), fn("nn.Linear", 2, 2) })
  fn("nn.Conv2d", 1, 2, 3)
  fn("nn.BatchNorm1d", 4); fn("nn.BatchNorm2d", 4); fn("nn.Embedding", 5, 2)
  fn("nn.Module", { forward = function(_, v) return v end })
  local Cls = call("nn.Module", nn.Module.extend, nn.Module, "Twice")
  T.ok(nn.is_module(Cls), "nn.Module:extend gives a module class")
  fn("nn.is_module", lin)
  m(net, "Module:forward", X)
  m(net, "Module:parameters")
  m(net, "Module:buffers")
  m(net, "Module:children")
  m(net, "Module:modules")
  m(net, "Module:num_parameters")
  m(net, "Module:state_dict")
  m(net, "Module:train")
  m(net, "Module:eval")
  m(net, "Module:zero_grad")
  m(net, "Module:get", "1")
  m(net, "Module:get", "nope")
  m(net, "Module:capture", X)
  m(net, "Module:named_parameters")
  m(net, "Module:named_modules")
  m(net, "Module:named_children")
  m(net, "Module:named_buffers")
  m(lin, "Module:register_buffer", "extra", tensor.zeros(1))
  m(lin, "Module:register_parameter", "extra2", tensor.zeros(1))
  local h = m(net, "Module:register_forward_hook", function() end)
  h.remove()
  m(net, "Module:load_state_dict", net:state_dict())
  fn("nn.save", tmp .. "/m.t", net)
  fn("nn.load", tmp .. "/m.t", net)
  local loader = fn("data.loader", X, y, { batch = 20 })
  fn("nn.evaluate", net, loader)
  fn("nn.fit", net, loader, { epochs = 1 })
  fn("nn.functional.relu", X)
  fn("nn.functional.max_pool2d", tensor.randn(1, 1, 4, 4), 2, { return_indices = true })
  fn("nn.functional.cross_entropy", X:narrow(2, 1, 2), y)
  local opt = fn("optim.SGD", net:parameters(), { lr = 0.1 })
  fn("optim.Adam", net:parameters()); fn("optim.AdamW", net:parameters()); fn("optim.LBFGS", net:parameters())
  m(opt, "Optimizer:zero_grad")
  m(opt, "Optimizer:step")
  local sched = fn("optim.StepLR", opt, { step_size = 1 })
  fn("optim.CosineAnnealingLR", opt, { T_max = 2 })
  m(sched, "Scheduler:step")
  m(sched, "Scheduler:get_last_lr")
  fn("autograd.is_grad_enabled")
  fn("autograd.no_grad", function() end)
end)

T.test("probe, metrics, detect", function()
  local p = fn("probe.logistic", X, y)
  fn("probe.lda", X, y); fn("probe.mass_mean", X, y)
  fn("probe.mlp", X, y, { hidden = { 4 }, epochs = 2 })
  local ccs = fn("probe.ccs", X, -X, { n_tries = 1, epochs = 5 })
  m(ccs, "Probe:confidence", X, -X)
  fn("probe.ridge", X, X:select(2, 1))
  fn("probe.ridge", X, X:select(2, 1), { alpha = { 1, 2 } })
  m(p, "Probe:predict", X); m(p, "Probe:predict_proba", X); m(p, "Probe:decision_function", X)
  m(p, "Probe:score", X, y); m(p, "Probe:direction")
  local cp = fn("probe.conformal", p, X, y)
  m(cp, "Conformal:predict_set", X)
  local mil = fn("probe.mil", { X, tensor.new({ 1, 11, 21, 31 }) }, { 0, 1, 0, 1 }, { max_iter = 5 })
  m(mil, "Mil:score_instances", X)
  m(mil, "Mil:decision_function", { X, tensor.new({ 1, 11, 21, 31 }) })
  m(mil, "Mil:predict", { X, tensor.new({ 1, 11, 21, 31 }) })
  local bags = { X, tensor.new({ 1, 11, 21, 31 }) }
  m(mil, "Mil:direction"); m(mil, "Mil:predict_proba", bags); m(mil, "Mil:score", bags, { 0, 1, 0, 1 })
  local svm = fn("probe.svm", X, y)
  m(svm, "Svm:decision_function", X); m(svm, "Svm:predict", X); m(svm, "Svm:direction"); m(svm, "Svm:score", X, y)
  local layers = fn("probe.layers", { X, X }, y, { folds = 2 })
  fn("probe.plot_layers", layers)
  local s = X:select(2, 1)
  fn("metrics.accuracy", p:predict(X), y)
  fn("metrics.auroc", s, y01); fn("metrics.aupr", s, y01); fn("metrics.aupr_trapz", s, y01)
  fn("metrics.fpr_at_tpr", s, y01); fn("metrics.tpr_at_fpr", s, y01, 0.1)
  fn("metrics.roc_curve", s, y01); fn("metrics.pr_curve", s, y01)
  fn("metrics.confusion", p:predict(X), y)
  fn("metrics.ece", p:predict_proba(X), y); fn("metrics.brier", p:predict_proba(X), y)
  fn("metrics.cka", X, X * 2); fn("metrics.svcca", X, X * 2)
  for _, name in ipairs { "ecod", "knn", "iforest", "hbos", "lof", "mahalanobis" } do
    fn("detect." .. name, X)
  end
  local d = fn("detect.knn", X, { k = 2 })
  fn("detect.autoencoder", X, { hidden = { 2 }, epochs = 1 })
  fn("detect.simplenet", X, { epochs = 1, hidden = 4 })
  m(d, "Detector:score", X); m(d, "Detector:predict", X); m(d, "Detector:threshold")
  m(d, "Detector:save", tmp .. "/d.det")
  fn("detect.load", tmp .. "/d.det")
  local maps = tensor.rand(4, 2, 3, 3)
  local pd = fn("detect.patches", maps)
  m(pd, "Detector:image_scores", maps)
  fn("detect.upsample", tensor.rand(2, 3, 3), 6, 6)
  fn("detect.coreset", X, 5)
  fn("detect.energy", X); fn("detect.msp", X); fn("detect.maxlogit", X)
  fn("detect.vacuity", X:abs()); fn("detect.dissonance", X:abs())
end)

T.test("plot, image, data, attack, unlearn, recipe, sonde", function()
  local fig = fn("plot.line", { 1, 2, 3 })
  fn("plot.figure", {}); fn("plot.scatter", { 1, 2 }, { 2, 1 }); fn("plot.hist", X:select(2, 1))
  fn("plot.bar", { "a", "b" }, { 1, 2 }); fn("plot.heatmap", S)
  fn("plot.roc", X:select(2, 1), y01); fn("plot.pr", X:select(2, 1), y01)
  fn("plot.roc_curve", X:select(2, 1), y01); fn("plot.pr_curve", X:select(2, 1), y01)
  m(fig, "Figure:save", tmp .. "/f.png")
  local cv = fn("plot.cairo.new", 20, 10)
  m(cv, "Canvas:pixels"); m(cv, "Canvas:text_size", "ab", 12)
  local img = tensor.rand(3, 8, 8)
  fn("image.resize", img, 4, 4); fn("image.flip", img, "h"); fn("image.crop", img, 1, 1, 2, 2)
  fn("image.heatmap", S); fn("image.grid", { img, img })
  fn("image.normalize", img, { 0.5, 0.5, 0.5 }, 0.2); fn("image.overlay", img, S, 0.5)
  local F = nn.functional
  local w, b = tensor.randn(2, 3), tensor.randn(2)
  fn("nn.functional.linear", X, w, b); fn("nn.functional.mse_loss", X, X); fn("nn.functional.softmax", X, 2)
  fn("nn.functional.conv2d", tensor.randn(1, 1, 4, 4), tensor.randn(2, 1, 3, 3), tensor.randn(2))
  fn("nn.functional.batch_norm", X, nil, nil, nil, nil, { training = true })
  fn("nn.functional.layer_norm", X, 3, tensor.ones(3), tensor.zeros(3))
  fn("nn.functional.embedding", tensor.new({ 1, 2 }), w); fn("nn.functional.dropout", X, 0.5)
  fn("nn.functional.leaky_relu", X, 0.1); fn("nn.functional.nll_loss", F.log_softmax(X, 2), tensor.new({ 1 }):expand(40))
  fn("image.save", tmp .. "/i.png", img)
  fn("image.load", tmp .. "/i.png")
  fn("data.load_png", tmp .. "/i.png")
  fn("data.listdir", tmp)
  fn("data.sha256", "abc"); fn("data.sha256_file", tmp .. "/i.png")
  fn("data.save_npy", tmp .. "/a.npy", S); fn("data.load_npy", tmp .. "/a.npy")
  fn("data.save_npz", tmp .. "/a.npz", { s = S }); fn("data.load_npz", tmp .. "/a.npz")
  fn("data.save_safetensors", tmp .. "/a.st", { s = S }, { k = "v" }); fn("data.load_safetensors", tmp .. "/a.st")
  local f = assert(io.open(tmp .. "/a.csv", "w")); f:write("a,b\n1,x\n2,y\n"); f:close()
  fn("data.load_csv", tmp .. "/a.csv")
  fn("data.label_noise", y, { rate = 0.2 })
  fn("data.long_tail", X, y, { imbalance = 2 })
  fn("data.io_confined")
  fn("data.synthetic.blobs", { n = 10 })
  fn("data.synthetic.deep_linear", { n = 10, lambda = { 1, 2 }, rho = { 1, 1 } })
  fn("data.synthetic.drift", { n = 10 })
  local model = nn.Sequential { nn.Linear(3, 2) }
  fn("attack.pgd", model, X, y, { steps = 1 })
  fn("attack.fgsm", model, X, y)
  fn("attack.pgd", function(v) return model(v) end, X, y, { steps = 1 })
  fn("attack.train_eval", function() return nn.Sequential { nn.Linear(3, 2) } end, X, y, X, y, { epochs = 1 })
  local set = { X = X, y = y }
  fn("unlearn.accuracy", model, set)
  fn("unlearn.evaluate", model, { forget = set, test = set })
  fn("unlearn.finetune", model, set, set, { steps = 1 })
  fn("unlearn.gradient_ascent", model, set, set, { steps = 1 })
  fn("unlearn.graddiff", model, set, set, { steps = 1 })
  fn("unlearn.npo", model, set, set, { steps = 1 })
  fn("unlearn.random_label", model, set, set, { steps = 1 })
  fn("unlearn.scrub", model, set, set, { steps = 1, rounds = 1 })
  fn("unlearn.retrain", model, set, set, { steps = 1, model_fn = function() return nn.Sequential { nn.Linear(3, 2) } end })
  fn("unlearn.report", { { method = "x" } }, { print = false })
  fn("recipe.json", { a = 1 }); fn("recipe.shortest", 0.1); fn("recipe.dir_name", "a b")
  fn("recipe.sorted_pairs", { b = 1, a = 2 })
  fn("recipe.make_run_dir", tmp)
  fn("sonde.isatty"); fn("sonde.signal"); fn("sonde.docs")
  local write = io.write
  io.write = function() end -- help prints
  fn("help", "tensor.zeros")
  io.write = write
end)

T.test("figure and canvas methods, kernels, results with fields", function()
  local s = X:select(2, 1)
  local fig = plot.line({ 1, 2 })
  m(fig, "Figure:line", { 1, 2 }); m(fig, "Figure:scatter", { 1, 2 }, { 2, 1 })
  m(fig, "Figure:roc", s, y01); m(fig, "Figure:pr", s, y01)
  local cv = plot_cairo().new(20, 10)
  m(cv, "Canvas:clip"); m(cv, "Canvas:color", 1, 0, 0); m(cv, "Canvas:dash", 2, 2)
  m(cv, "Canvas:image", tensor.zeros(3, 4, 4, { dtype = "u8" }), 0, 0, 4, 4)
  m(cv, "Canvas:markers", { 1 }, { 1 }, 2); m(cv, "Canvas:polyline", { 1, 2 }, { 1, 2 })
  m(cv, "Canvas:rect", 1, 1, 2, 2); m(cv, "Canvas:text", 1, 1, "a"); m(cv, "Canvas:width", 2)
  m(cv, "Canvas:save", tmp .. "/c.png")
  local p = probe.logistic(X, y)
  local cp = probe.conformal(p, X, y)
  m(cp, "Conformal:coverage", X, y); m(cp, "Conformal:three_way", X)
  local net = nn.Sequential { nn.Linear(3, 2) }
  local opt = optim.SGD(net:parameters(), { lr = 0.1 })
  m(opt, "Optimizer:zero_grad")
  m(optim.StepLR(opt, { step_size = 1 }), "Scheduler:step")
  fn("attack.evaluate", net, X, y, nil, { steps = 1 })
  fn("attack.fool", net, { target = 1, shape = { 3 }, steps = 2 })
  fn("attack.fool_evolve", net, { target = 1, shape = { 3 }, steps = 2 })
  fn("attack.kernels.linf_step_", X:clone(), X, X, 0.1, 0.1)
  fn("attack.unlearnable", function() return nn.Sequential { nn.Linear(3, 2) } end, X, y,
    { steps = 1, max_iter = 1, train_steps = 1 })
  local w = tensor.ones(2):requires_grad()
  fn("autograd.grad", (w * 2):sum(), { w }); fn("autograd.grad", (w * 2):sum(), w)
  fn("autograd.gradcheck", function(a) return a * 2 end, { tensor.ones(2, { dtype = "f64" }):requires_grad() })
  fn("autograd.set_grad_enabled", true)
  fn("data.io_check", tmp); fn("data.io_reads"); fn("data.io_record", false)
  fn("data.split", 10); fn("data.split", y, { kind = "stratified" }); fn("data.split", 10, { kind = "kfold", k = 2 })
  fn("data.synthetic.colored", { X = tensor.rand(4, 1, 4, 4), y = tensor.new { 1, 2, 1, 2 }, p = 0.5 })
  fn("data.synthetic.textures", { n = 2, size = 8 })
  fn("detect.kernels.aupr", s, y01); fn("detect.kernels.aupr_trapz", s, y01); fn("detect.kernels.auroc", s, y01)
  fn("detect.kernels.coreset", X, 3, 0); fn("detect.kernels.fpr_at_tpr", s, y01, 0.95, "first_ge")
  fn("detect.kernels.tpr_at_fpr", s, y01, 0.1, false); fn("detect.kernels.knn", X, X, 2)
  fn("detect.kernels.pr_curve", s, y01); fn("detect.kernels.roc_curve", s, y01, true)
  local nodes, roots = fn("detect.kernels.iforest_fit", X, 2, 16, 0)
  fn("detect.kernels.iforest_score", nodes, roots, X, 16)
  fn("detect.kernels.ecdf_counts", X:sort(1), X)
  fn("detect.kernels.pro", tensor.rand(2, 4, 4), tensor.rand(2, 4, 4):gt(0.5), 0.3)
  fn("metrics.bootstrap", metrics.auroc, s, y01, { n = 5 })
  fn("metrics.f1", y, y, { average = "macro" }); fn("metrics.f1", y, y, { average = "none" })
  fn("metrics.precision", y01, y01); fn("metrics.recall", y01, y01)
  fn("metrics.knn_accuracy", X, y, X, y)
  fn("metrics.pro", tensor.rand(2, 4, 4), tensor.rand(2, 4, 4):gt(0.5))
  fn("probe.rank_features", X, y); fn("probe.stability", X, y, function(v) return v end)
  fn("probe.kernels.logistic_fit", X:to("f64"), y, 2, nil, {})
  fn("recipe.object", {}); fn("recipe.read_status", tmp)
  fn("sonde.doc", "types_test_entry", "types_test_entry()", "a doc line")
  local set = { X = X, y = y }
  fn("unlearn.relearn", net, set, { steps = 2 }); fn("unlearn.mia", net, set, set)
  local function mlp() return nn.Sequential { nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2) } end
  fn("unlearn.representation", mlp(), mlp(), set)
end)

T.test("a run's methods", function()
  local path = tmp .. "/r.sonde"
  local f = assert(io.open(path, "w"))
  f:write('experiment "types" { run = function(p, run) TYPES_RUN = run end }\n')
  f:close()
  local r = recipe.load(path)
  recipe.execute(r, { out = tmp .. "/runs", params = {}, seed = 0 })
  local run = assert(TYPES_RUN, "the recipe ran")
  m(run, "Run:gen", 1)
end)

-- Sample values of a declared type, for the sweeps.
local function sample(ty, self, pname)
  for _, alt in ipairs(split(ty, "|")) do
    alt = alt:gsub("%?$", "")
    if pname == "index" then return nil -- its shape depends on the op
    elseif alt == "Tensor" and (pname == "mask" or pname == "cond") then return self:gt(0)
    elseif alt == "Tensor" then return self:clone()
    elseif alt == "integer" then return 1
    elseif alt == "number" then return 0.5
    elseif alt == "boolean" then return false
    elseif alt == "Tensor[]" then return { self:clone(), self:clone() } end
  end
end

local typed_failed = {} -- swept entries that fail with their typed arguments only

-- sweep(name, f, self): f called with arguments made from the declared
-- param types (optional ones left out), then with a few usual lists; the
-- first call that works is checked. Returns whether one worked.
local function sweep(name, f, self)
  local e = entries[name]
  local off = e.kind == "method" and { self:clone() } or {}
  local typed_args, ok_typed, complete = { table.unpack(off) }, true, true
  for _, p in ipairs(e.params) do
    if p.optional or p.vararg or p.table then complete = false; break end
    local v = p.type and sample(p.type, self, p.name)
    if v == nil then ok_typed = false; break end
    typed_args[#typed_args + 1] = v
  end
  local tries = {}
  if ok_typed then tries[#tries + 1] = typed_args end
  local I = tensor.new({ { 1, 2, 3 }, { 3, 2, 1 }, { 1, 1, 1 } }, { dtype = "i64" })
  local I1, M = tensor.new({ 1, 3 }, { dtype = "i64" }), self:gt(0)
  for _, extra in ipairs { {}, { 1 }, { self:clone() }, { 1, 1 }, { 3, 3 }, { self:clone(), self:clone() },
    { self:clone(), self:clone(), self:clone() }, { 1, I }, { 1, I, self:clone() }, { 1, I1 },
    { 1, I1, self:narrow(1, 1, 2):clone() }, { 1, I1, 0 }, { M, 0 }, { M }, { "f64" }, { M, self:clone() },
    { 1, 3, 3 }, { 0, 1, 3 }, { 2, 2, 1 } } do
    local a = { table.unpack(off) }
    for _, v in ipairs(extra) do a[#a + 1] = v end
    tries[#tries + 1] = a
  end
  for i, a in ipairs(tries) do
    local res = table.pack(pcall(f, table.unpack(a)))
    if res[1] and ok_typed and complete and #e.params > 0 and i > 1 then
      typed_failed[#typed_failed + 1] = name
    end
    if res[1] then
      called[name] = true
      local p = check_results(name, table.pack(table.unpack(res, 2, res.n)))
      if p then problems[#problems + 1] = p .. " (swept)" end
      return true
    end
  end
  return false
end

T.test("every Tensor method and tensor function typed by the rules returns its type", function()
  local tried, worked, idle = 0, 0, {}
  local skip = { ["tensor.set_num_threads"] = true, ["tensor.manual_seed"] = true, ["tensor.save"] = true,
    ["tensor.load"] = true, ["tensor._sgemm_raw"] = true, ["Tensor:free"] = true }
  for name, e in pairs(entries) do
    if (e.module == "Tensor" or e.module == "tensor") and e.returns and not skip[name] then
      tried = tried + 1
      local f = e.module == "Tensor" and S[name:match(":(.*)$")] or tensor[name:match("%.(.*)$")]
      if sweep(name, f, S) then worked = worked + 1 else idle[#idle + 1] = name end
    end
  end
  table.sort(idle)
  print(string.format("swept %d Tensor methods and tensor functions, %d called (not called: %s)",
    tried, worked, table.concat(idle, " ")))
  T.ok(worked >= 0.8 * tried, string.format("only %d of %d could be called", worked, tried))
  table.sort(typed_failed)
  T.eq(typed_failed, {}, "entries that work, but not with arguments of their declared types")
end)

T.test("constructors typed by name patterns are called and return their class", function()
  for name, e in pairs(entries) do
    if not called[name] and e.returns and not types.returns[name] and not types.defaults[e.module]
      and e.kind == "function" then
      local f = resolve(name)
      local ok = false
      for _, args in ipairs { {}, { 3 }, { 3, 2 }, { 3, 2, 3 }, { nn.Linear(2, 2):parameters() } } do
        local res = table.pack(pcall(f, table.unpack(args)))
        if res[1] then
          called[name], ok = true, true
          local p = check_results(name, table.pack(table.unpack(res, 2, res.n)))
          if p then problems[#problems + 1] = p end
          break
        end
      end
      if not ok then print("not exercised: " .. name) end
    end
  end
end)

T.test("the types given are the values seen", function()
  table.sort(problems)
  T.eq(problems, {})
end)

T.test("every class constructor and a function of every module were called", function()
  local missing, modules = {}, {}
  for name, e in pairs(entries) do
    if e.kind == "function" and e.module ~= "_G" then
      local top = e.module:match("^[^.]+")
      modules[top] = modules[top] or false
      if called[name] then modules[top] = true end
    end
    local r = types.returns[name]
    local first = type(r) == "table" and r[1] or r
    local class = type(first) == "string" and first:match("^[%w_]+")
    if class and class ~= "Tensor" and methods[class] and e.kind == "function" and not called[name] then
      missing[#missing + 1] = name
    end
  end
  for mod, seen in pairs(modules) do
    if not seen then missing[#missing + 1] = "module " .. mod end
  end
  table.sort(missing)
  T.eq(missing, {})
end)

os.execute("rm -rf " .. tmp)
T.done()
