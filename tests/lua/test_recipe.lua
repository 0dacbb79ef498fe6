-- test_recipe.lua: stdlib/recipe: the experiment form, params typed by
-- their defaults (command line strings, params files, errors listing the
-- keys), the JSON writer's determinism, SHA-256, run directories, the
-- manifest, status, artifacts (run:plot) and the files a run reads.
local T = require "testlib"
local recipe = require "recipe"

local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p '" .. tmp .. "'")

local function write(name, text)
  local path = tmp .. "/" .. name
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local demo = write("demo.sonde", [[
experiment "demo" {
  about = "a test recipe",
  params = {
    n = { 3, "an integer" }, lr = { 0.5, "a number" }, name = { "x", "a string" },
    flag = { false, "a boolean" }, sizes = { { 1, 2 }, "a list of integers" },
    tags = { {}, "a list of strings" },
  },
  run = function(p, run)
    for i = 1, p.n do run:log{ i = i, lr = p.lr, r = math.random(1000), t = tensor.randn(1) } end
    run:save("w.tensor", tensor.arange(4))
    run:save_image("img.png", tensor.new({ { 0, 0.5 }, { 1, 0.25 } }))
    if p.flag then error("asked to fail") end
  end,
}
]])
local r = recipe.load(demo)

T.test("load reads name, about and typed params", function()
  T.eq(r.name, "demo")
  T.eq(r.about, "a test recipe")
  T.eq(r.specs.n.kind, "integer")
  T.eq(r.specs.lr.kind, "number")
  T.eq(r.specs.name.kind, "string")
  T.eq(r.specs.flag.kind, "boolean")
  T.eq(r.specs.sizes.kind, "list")
  T.eq(r.specs.sizes.elem, "integer")
  T.eq(r.specs.tags.elem, "string")
  T.eq(rawget(_G, "experiment"), nil, "experiment is only defined while loading")
end)

T.test("defaults, then a params table, then key=value strings", function()
  local p = recipe.resolve(r, nil, {})
  T.eq(p.n, 3); T.eq(p.lr, 0.5); T.eq(p.flag, false); T.eq(p.sizes, { 1, 2 })
  p = recipe.resolve(r, { n = 5, lr = 2 }, { "n=7", "flag=true", "sizes=4,5,6", "tags=a,b", "name=hi there" })
  T.eq(p.n, 7)
  T.eq(math.type(p.n), "integer")
  T.eq(math.type(p.lr), "float", "an integer given for a number param becomes a float")
  T.eq(p.lr, 2.0)
  T.eq(p.flag, true)
  T.eq(p.sizes, { 4, 5, 6 })
  T.eq(p.tags, { "a", "b" })
  T.eq(p.name, "hi there")
  p = recipe.resolve(r, nil, { "lr=1e-3", "flag=0", "tags=" })
  T.eq(p.lr, 1e-3); T.eq(p.flag, false); T.eq(p.tags, {})
end)

T.test("defaults are not shared between resolutions", function()
  local p = recipe.resolve(r, nil, {})
  p.sizes[1] = 99
  T.eq(recipe.resolve(r, nil, {}).sizes, { 1, 2 })
end)

T.test("unknown keys and wrong types list the valid keys with docs", function()
  local e = T.raises(function() recipe.resolve(r, nil, { "nn=3" }) end, "unknown param 'nn'")
  T.ok(tostring(e):find("n (integer, default 3)  an integer", 1, true), tostring(e))
  T.ok(tostring(e):find("sizes (list of integer, default 1,2)  a list of integers", 1, true))
  T.raises(function() recipe.resolve(r, nil, { "n=2.5" }) end, "param 'n' wants an integer, got '2.5'")
  T.raises(function() recipe.resolve(r, nil, { "lr=fast" }) end, "param 'lr' wants a number")
  T.raises(function() recipe.resolve(r, nil, { "flag=yes" }) end, "param 'flag' wants a boolean")
  T.raises(function() recipe.resolve(r, nil, { "sizes=1,x" }) end, "wants a list of integer")
  T.raises(function() recipe.resolve(r, nil, { "n" }) end, "expected key=value, got 'n'")
  T.raises(function() recipe.resolve(r, { n = "3" }, {}) end, "param 'n' wants an integer, got string")
  T.raises(function() recipe.resolve(r, { bogus = 1 }, {}) end, "valid params of 'demo'")
end)

T.test("bad recipe files", function()
  T.raises(function() recipe.load(write("none.sonde", "x = 1")) end, "no experiment")
  T.raises(function() recipe.load(write("norun.sonde", 'experiment "a" { about = "" }')) end,
    "needs { run = function")
  T.raises(function()
    recipe.load(write("two.sonde", 'experiment "a" { run = print }\nexperiment "b" { run = print }'))
  end, "defines one experiment")
  T.raises(function()
    recipe.load(write("badp.sonde", 'experiment "a" { params = { k = { print, "f" } }, run = print }'))
  end, "param 'k' has a default of type function")
  T.raises(function() recipe.load(tmp .. "/missing.sonde") end, "cannot open recipe")
end)

T.test("json: sorted keys whatever the insertion order, %.17g floats", function()
  local a, b = {}, {}
  local keys = {}
  for i = 1, 40 do keys[i] = "k" .. i end
  for i = 1, 40 do a[keys[i]] = i end
  for i = 40, 1, -1 do b[keys[i]] = i end
  T.eq(recipe.json(a), recipe.json(b))
  T.eq(recipe.json({ b = 1, a = 2, c = { z = true, y = "s" } }), '{"a":2,"b":1,"c":{"y":"s","z":true}}')
  T.eq(recipe.json(0.1 + 0.2), "0.30000000000000004")
  T.eq(recipe.json(3), "3")
  T.eq(recipe.json(-0.5), "-0.5")
  T.eq(recipe.json(math.huge), "Infinity")
  T.eq(recipe.json({ 1, 2.5, "x" }), '[1,2.5,"x"]')
  T.eq(recipe.json({}), "[]")
  T.eq(recipe.json('a"b\\c\n\1'), '"a\\"b\\\\c\\n\\u0001"')
  T.eq(recipe.json(tensor.new({ 0.5 })), "0.5")
  T.raises(function() recipe.json({ x = tensor.zeros(2) }) end, "value.x is a tensor of 2 elements")
  T.raises(function() recipe.json({ f = print }) end, "value.f is a function")
  T.raises(function() recipe.json({ 1, x = 2 }) end, "mixes string and other keys")
end)

T.test("json: decode reads back what the writer wrote", function()
  local v = { a = { 1, 2.5, -3e-7 }, b = "q\"\n\\", c = true, d = { e = false }, f = 0.1 + 0.2 }
  local back = recipe.json_decode(recipe.json(v))
  T.eq(back, v)
  T.eq(recipe.json(back), recipe.json(v))
  T.raises(function() recipe.json_decode('{"a":1') end, "json:")
  T.raises(function() recipe.json_decode('[1] x') end, "trailing")
end)

T.test("sorted_pairs", function()
  local seen = {}
  for k, v in recipe.sorted_pairs({ b = 2, a = 1, [2] = "y", [1] = "x" }) do seen[#seen + 1] = tostring(k) .. v end
  T.eq(seen, { "1x", "2y", "a1", "b2" })
end)

T.test("sha256 agrees with sha256sum at every padding boundary", function()
  local lens = { 0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 70000 }
  for _, n in ipairs(lens) do
    local s = {}
    for i = 1, n do s[i] = string.char((i * 7 + n) % 256) end
    s = table.concat(s)
    local path = write("sha" .. n, s)
    local p = io.popen("sha256sum " .. path)
    local want = p:read("a"):sub(1, 64)
    p:close()
    T.eq(data.sha256(s), want, "length " .. n)
    T.eq(data.sha256_file(path), want, "file of length " .. n)
  end
  T.eq(data.sha256("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  T.raises(function() data.sha256_file(tmp .. "/nowhere") end, "sha256_file")
end)

T.test("sha256_file: cached by path, size and mtime", function()
  local path = write("cached", "one")
  T.eq(data.sha256_file(path), data.sha256("one"))
  write("cached", "two, longer")
  T.eq(data.sha256_file(path), data.sha256("two, longer"), "a new size is hashed again")
end)

T.test("run directories are never reused", function()
  local dirs = {}
  for i = 1, 20 do
    local d = recipe.make_run_dir(tmp .. "/runs/" .. recipe.dir_name("same name"))
    T.ok(not dirs[d], "reused " .. d)
    dirs[d] = true
    T.ok(d:find(tmp .. "/runs/same_name/%d%d%d%d%d%d%d%d%-%d%d%d%d%d%d%-%x%x%x%x%x%x$"), d)
    local f = io.open(d .. "/x", "w")
    T.ok(f, "cannot write in " .. d)
    f:close()
  end
end)

T.test("execute: manifest, metrics, artifacts; same seed, same bytes", function()
  local p = recipe.resolve(r, nil, { "n=4" })
  local d1, ok1 = recipe.execute(r, { params = p, seed = 7, out = tmp .. "/ex" })
  local d2, ok2 = recipe.execute(r, { params = p, seed = 7, out = tmp .. "/ex" })
  local d3 = recipe.execute(r, { params = p, seed = 8, out = tmp .. "/ex" })
  T.ok(ok1 and ok2)
  T.ok(d1 ~= d2)
  local m1 = read(d1 .. "/metrics.jsonl")
  T.eq(select(2, m1:gsub("\n", "")), 4)
  T.eq(m1, read(d2 .. "/metrics.jsonl"), "math.random and unseeded randn follow the run seed")
  T.ok(m1 ~= read(d3 .. "/metrics.jsonl"))
  local m = recipe.json_decode(read(d1 .. "/manifest.json"))
  T.eq(recipe.read_status(d1), "done")
  T.eq(m.seed, 7)
  T.eq(m.params.n, 4)
  T.eq(m.recipe_name, "demo")
  T.eq(m.recipe_sha256, data.sha256(read(demo)))
  T.eq(m.recipe_text, read(demo))
  T.ok(d1:find(tmp .. "/ex/demo/", 1, true), d1)
  T.eq(m.artifacts["w.tensor"], "sha256:" .. data.sha256(read(d1 .. "/w.tensor")))
  T.eq(tensor.load(d1 .. "/w.tensor"):sum():item(), 6)
  T.ok(io.open(d1 .. "/manifest.json.tmp") == nil, "no temp file left")
  T.eq(read(d1 .. "/img.png"):sub(2, 4), "PNG")
  T.eq(m.artifacts["img.png"], "sha256:" .. data.sha256(read(d1 .. "/img.png")))
  T.eq(data.load_png(d1 .. "/img.png"):numel(), 4)
end)

T.test("artifact names are plain file names", function()
  local bad = write("bad_name.sonde", 'experiment "b" { run = function(p, run) run:save("../x", tensor.zeros(1)) end }')
  local d, ok, err = recipe.execute(recipe.load(bad), { params = {}, seed = 0, out = tmp .. "/bn" })
  T.ok(not ok)
  T.ok(tostring(err):find("run:save: name must be a plain file name", 1, true), tostring(err))
  T.ok(io.open(tmp .. "/bn/x") == nil)
end)

T.test("a failing run is marked failed with its error", function()
  local p, print0 = recipe.resolve(r, nil, { "flag=true" }), print
  local d, ok, err = recipe.execute(r, { params = p, seed = 0, out = tmp .. "/fail" })
  T.ok(not ok)
  T.ok(tostring(err):find("asked to fail", 1, true))
  local status, msg = recipe.read_status(d)
  T.eq(status, "failed")
  T.ok(msg:find("asked to fail", 1, true), msg)
  T.ok(not msg:find("traceback", 1, true), "the status holds the message, log.txt the traceback")
  T.ok(read(d .. "/log.txt"):find("asked to fail", 1, true))
  T.ok(print == print0, "print is restored after the run")
end)

T.test("an interrupted run is marked interrupted", function()
  -- the error Ctrl-C raises (interp/main.c's hook), raised here by hand
  local f = write("int.sonde", 'experiment "i" { run = function() error("interrupted!") end }')
  local d, ok = recipe.execute(recipe.load(f), { params = {}, seed = 0, out = tmp .. "/int" })
  T.ok(not ok)
  T.eq(recipe.read_status(d), "interrupted")
end)

T.test("run:plot: a figure or a function making one, saved as a PNG artifact", function()
  local f = write("plot.sonde", [[
experiment "p" { run = function(p, run)
  local fig = run:plot("a.png", plot.line, { 1, 2, 3 }, { 1, 4, 9 }, { title = "squares" })
  assert(type(fig) == "table")
  run:plot("b.png", plot.scatter({ 1, 2 }, { 2, 1 }))
end }]])
  local d, ok, err = recipe.execute(recipe.load(f), { params = {}, seed = 0, out = tmp .. "/plot" })
  T.ok(ok, tostring(err))
  local m = recipe.json_decode(read(d .. "/manifest.json"))
  for _, name in ipairs { "a.png", "b.png" } do
    T.eq(read(d .. "/" .. name):sub(2, 4), "PNG", name)
    T.eq(m.artifacts[name], "sha256:" .. data.sha256(read(d .. "/" .. name)))
  end
  local img = data.load_png(d .. "/a.png")
  T.ok(img:size(2) >= 100 and img:size(3) >= 100)
  T.ok(img:to("f32"):std():item() > 1, "the plot is not blank")
  for _, bad in ipairs {
    { 'run:plot("c.png", 42)', "run:plot: expected a figure" },
    { 'run:plot("c.txt", plot.line({1}, {1}))', "run:plot: name must end in .png" },
    { 'run:plot("../c.png", plot.line({1}, {1}))', "run:plot: name must be a plain file name" },
  } do
    local g = write("badplot.sonde", 'experiment "b" { run = function(p, run) ' .. bad[1] .. ' end }')
    local _, ok2, err2 = recipe.execute(recipe.load(g), { params = {}, seed = 0, out = tmp .. "/badplot" })
    T.ok(not ok2)
    T.ok(tostring(err2):find(bad[2], 1, true), tostring(err2))
  end
end)

T.test("the files a run reads: resolved path and SHA-256, in the manifest", function()
  local csv = write("in.csv", "a,b\n1,2\n3,4\n")
  local txt = write("in.txt", "hello\n")
  tensor.save(tmp .. "/in.tensor", tensor.arange(3))
  local f = write("reads.sonde", string.format([[
experiment "reads" { run = function(p, run)
  data.load_csv(%q)
  tensor.load(%q)
  local h = io.open(%q); h:read("a"); h:close()
  io.open(%q):close()
  run:save("x.tensor", tensor.zeros(1))
  run:checkpoint{ w = tensor.zeros(2) }
  run:restore()
end }]], csv, tmp .. "/in.tensor", txt, txt))
  local d, ok, err = recipe.execute(recipe.load(f), { params = {}, seed = 0, out = tmp .. "/reads" })
  T.ok(ok, tostring(err))
  local m = recipe.json_decode(read(d .. "/manifest.json"))
  local n = 0
  for _ in pairs(m.inputs) do n = n + 1 end
  T.eq(n, 3, "three files, each once; nothing of the run's own directory")
  T.eq(m.inputs[csv], "sha256:" .. data.sha256(read(csv)))
  T.eq(m.inputs[tmp .. "/in.tensor"], "sha256:" .. data.sha256(read(tmp .. "/in.tensor")))
  T.eq(m.inputs[txt], "sha256:" .. data.sha256("hello\n"))
  T.eq(m.inputs_changed, nil)
  -- a file changed during the run is named
  local g = write("change.sonde", string.format([[
experiment "c" { run = function(p, run)
  io.open(%q):close()
  local h = io.open(%q, "w"); h:write("changed, longer\n"); h:close()
end }]], txt, txt))
  local d2 = recipe.execute(recipe.load(g), { params = {}, seed = 0, out = tmp .. "/reads" })
  local m2 = recipe.json_decode(read(d2 .. "/manifest.json"))
  T.eq(m2.inputs[txt], "sha256:" .. data.sha256("hello\n"), "hashed when first read")
  T.eq(m2.inputs_changed, { txt })
end)

T.test("io wrappers are put back after a run", function()
  local open0, remove0 = io.open, os.remove
  recipe.execute(r, { params = recipe.resolve(r, nil, { "n=1" }), seed = 0, out = tmp .. "/wr" })
  T.ok(io.open == open0 and os.remove == remove0)
end)

os.execute("rm -rf '" .. tmp .. "'")
T.done()
