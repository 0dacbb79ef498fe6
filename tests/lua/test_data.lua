-- test_data.lua: the data module's readers and writers: Fashion-MNIST,
-- round trips of every format and dtype, files written by NumPy / PyTorch
-- (skipped with a message when /usr/bin/python3 with numpy is absent),
-- and errors naming the file.
local T = require "testlib"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function tmp(name) return dir .. "/" .. name end

local function flat(t)
  local out = {}
  local function walk(v)
    if type(v) == "table" then for i = 1, #v do walk(v[i]) end
    elseif type(v) == "boolean" then out[#out + 1] = v and 1 or 0
    else out[#out + 1] = v end
  end
  walk(t:tolist())
  return out
end

-- Fashion-MNIST -------------------------------------------------------------

local fm_dir = os.getenv("SONDE_DATA") and (os.getenv("SONDE_DATA") .. "/fashion-mnist")
  or "/usr/share/datasets/fashion-mnist"
local fm = io.open(fm_dir .. "/t10k-labels-idx1-ubyte.gz", "rb")
if fm then
  fm:close()
  T.test("fashion_mnist train: shapes, range, known values", function()
    local X, y = data.fashion_mnist{ split = "train" }
    T.eq(X:shape(), { 60000, 1, 28, 28 })
    T.eq(X:dtype(), "f32")
    T.eq(y:shape(), { 60000 })
    T.eq(y:dtype(), "i64")
    T.near(X[1][1][15][15]:item(), 217 / 255, 1e-6)
    T.eq(y[1]:item(), 10) -- "Ankle boot", 1-based
    local lo, hi = math.huge, -math.huge
    for _, v in ipairs(flat(y)) do lo = math.min(lo, v); hi = math.max(hi, v) end
    T.eq({ lo, hi }, { 1, 10 })
    local px = flat(X[2])
    local mn, mx = math.huge, -math.huge
    for _, v in ipairs(px) do mn = math.min(mn, v); mx = math.max(mx, v) end
    T.ok(mn >= 0 and mx <= 1 and mx > 0.5)
  end)
  T.test("fashion_mnist test raw", function()
    local X, y = data.fashion_mnist{ split = "test", raw = true }
    T.eq(X:shape(), { 10000, 1, 28, 28 })
    T.eq(X:dtype(), "u8")
    T.eq(flat(y:narrow(1, 1, 5)), { 10, 3, 2, 2, 7 })
    T.eq(data.classes.fashion_mnist[10], "Ankle boot")
    T.eq(#data.classes.fashion_mnist, 10)
  end)
else
  print("skip: Fashion-MNIST not installed at " .. fm_dir)
end

T.test("fashion_mnist errors", function()
  T.raises(function() data.fashion_mnist{ split = "val" } end, 'split must be "train" or "test"')
  T.raises(function() data.fashion_mnist{ path = "/nonexistent" } end,
    "/nonexistent/train-images-idx3-ubyte.gz: cannot open")
end)

-- round trips ---------------------------------------------------------------

local dtypes = { "f32", "f64", "i32", "i64", "u8", "bool" }
local function sample(dt)
  local v = { { 0, 1, 2 }, { 3, 1, 0 } }
  if dt == "bool" then v = { { 1, 0, 1 }, { 0, 0, 1 } } end
  return tensor.new(v, { dtype = dt })
end

T.test("npy round trip, every dtype", function()
  for _, dt in ipairs(dtypes) do
    local a = sample(dt)
    data.save_npy(tmp("a.npy"), a)
    local b = data.load_npy(tmp("a.npy"))
    T.eq(b:dtype(), dt)
    T.eq(b:shape(), { 2, 3 })
    T.eq(flat(b), flat(a), dt)
  end
  local tt = sample("f64"):t()
  data.save_npy(tmp("t.npy"), tt)
  T.eq(flat(data.load_npy(tmp("t.npy"))), flat(tt))
end)

T.test("npz round trip, stored and deflated, sorted keys", function()
  local tbl = {}
  for _, dt in ipairs(dtypes) do tbl["m_" .. dt] = sample(dt) end
  for _, compress in ipairs({ false, true }) do
    data.save_npz(tmp("a.npz"), tbl, { compress = compress })
    local r = data.load_npz(tmp("a.npz"))
    for k, v in pairs(tbl) do
      T.eq(r[k]:dtype(), v:dtype())
      T.eq(flat(r[k]), flat(v), k)
    end
  end
  -- sorted member order: two runs give the same bytes
  local f = io.open(tmp("a.npz"), "rb"); local one = f:read("a"); f:close()
  data.save_npz(tmp("b.npz"), tbl, { compress = true })
  f = io.open(tmp("b.npz"), "rb"); local two = f:read("a"); f:close()
  T.eq(one == two, true)
  T.ok(one:find("m_bool.npy", 1, true) < one:find("m_u8.npy", 1, true))
end)

T.test("safetensors round trip with metadata", function()
  local tbl = {}
  for _, dt in ipairs(dtypes) do tbl[dt] = sample(dt) end
  data.save_safetensors(tmp("a.safetensors"), tbl, { format = "pt", note = "q\"uote\n" })
  local r, meta = data.load_safetensors(tmp("a.safetensors"))
  for k, v in pairs(tbl) do T.eq(flat(r[k]), flat(v), k) end
  T.eq(meta, { format = "pt", note = "q\"uote\n" })
  data.save_safetensors(tmp("b.safetensors"), { x = sample("f32") })
  local _, m2 = data.load_safetensors(tmp("b.safetensors"))
  T.eq(m2, nil)
  T.raises(function() data.save_safetensors(tmp("c.safetensors"), { x = 1 }) end, "string names to tensors")
end)

T.test("png round trip, 8 and 16 bits", function()
  local img = tensor.new({ { { 0, 64 }, { 128, 255 } }, { { 1, 2 }, { 3, 4 } }, { { 9, 8 }, { 7, 6 } } }, { dtype = "u8" })
  data.save_png(tmp("a.png"), img)
  local r = data.load_png(tmp("a.png"))
  T.eq(r:shape(), { 3, 2, 2 })
  T.eq(r:dtype(), "u8")
  T.eq(flat(r), flat(img))
  local g = tensor.new({ { 0, 0.5 }, { 1, 0.25 } }, { dtype = "f32" })
  data.save_png(tmp("g.png"), g, { bits = 16 })
  local r16 = data.load_png(tmp("g.png"))
  T.eq(r16:shape(), { 1, 2, 2 })
  T.near(flat(r16), { 0, 32768 / 65535, 1, 16384 / 65535 }, 1e-6)
  T.raises(function() data.save_png(tmp("x.png"), tensor.zeros(5, 2, 2)) end, "channels")
end)

T.test("csv: numeric, categorical, missing, quotes", function()
  local f = io.open(tmp("a.csv"), "w")
  f:write('x;kind;y\n1.5;"b;c";2\nNA;a;\n-3;"b;c";4e2\n')
  f:close()
  local c = data.load_csv(tmp("a.csv"), { sep = ";", dtype = "f64" })
  T.eq(c.columns, { "x", "kind", "y" })
  T.eq(c.X:shape(), { 3, 3 })
  T.eq(c.vocab, { kind = { "a", "b;c" } })
  T.eq(c.missing, { 1, 0, 1 })
  local v = flat(c.X)
  T.eq({ v[1], v[2], v[3], v[5], v[7], v[8], v[9] }, { 1.5, 2, 2, 1, -3, 2, 400 })
  T.ok(v[4] ~= v[4] and v[6] ~= v[6])
  local n = data.load_csv(tmp("a.csv"), { sep = ";", header = false })
  T.eq(n.columns, { "1", "2", "3" })
  T.eq(n.X:shape(), { 4, 3 })
end)

-- errors ----------------------------------------------------------------------

T.test("corrupt and missing files name the file", function()
  local f = io.open(tmp("bad.npy"), "wb"); f:write("\147NUMPY\1\0\200\0{'descr"); f:close()
  T.raises(function() data.load_npy(tmp("bad.npy")) end, tmp("bad.npy") .. ": truncated")
  T.raises(function() data.load_npz(tmp("bad.npy")) end, "no end of central directory")
  T.raises(function() data.idx(tmp("bad.npy")) end, "bad magic")
  T.raises(function() data.load_png(tmp("bad.npy")) end, "not a PNG")
  T.raises(function() data.load_safetensors(tmp("bad.npy")) end, "not a safetensors file")
  T.raises(function() data.load_npy(tmp("none.npy")) end, "none.npy: cannot open")
  T.raises(function() data.save_npy("/nonexistent/dir/x.npy", sample("f32")) end, "cannot create")
end)

-- NumPy and PyTorch -----------------------------------------------------------

local PY = [==[
import json, struct, sys
import numpy as np
d, mode = sys.argv[1], sys.argv[2]
arrs = {
  "f32": (np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5) / 3,
  "f64": np.linspace(-1, 1, 12).reshape(2, 3, 2),
  "i32": np.arange(-5, 5, dtype=np.int32),
  "i64": np.array([2**40, -3], np.int64),
  "u8": np.arange(250, 256, dtype=np.uint8),
  "bool": np.array([[True, False], [False, True]]),
  "f16": np.array([0.5, -2, 65504], np.float16),
  "be": np.arange(4, dtype=">i4"),
  "fort": np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 3, 4)),
  "scalar": np.array(3.5),
  "empty": np.zeros((0, 3), np.float32),
}
try:
  import torch
  arrs["torch"] = (torch.arange(6, dtype=torch.float32).reshape(2, 3) * 0.5).numpy()
except ImportError:
  pass
def lua(a):
  v = ",".join("%.17g" % x for x in np.asarray(a, np.float64).ravel())
  return "{shape={%s},v={%s}}" % (",".join(map(str, a.shape)), v)
if mode == "write":
  for k, a in arrs.items(): np.save("%s/%s.npy" % (d, k), a)
  np.savez(d + "/s.npz", **arrs)
  np.savez_compressed(d + "/c.npz", **arrs)
  h, data = {"__metadata__": {"by": "numpy"}}, b""
  for k in ["f32", "i64", "u8", "f16"]:
    raw = arrs[k].tobytes()
    h[k] = {"dtype": {"f32": "F32", "i64": "I64", "u8": "U8", "f16": "F16"}[k],
            "shape": list(arrs[k].shape), "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
  hj = json.dumps(h).encode()
  open(d + "/p.safetensors", "wb").write(struct.pack("<Q", len(hj)) + hj + data)
  with open(d + "/values.lua", "w") as f:
    f.write("return {" + ",".join("[%r]=%s" % (k, lua(a)) for k, a in arrs.items()) + "}")
else:  # check what sonde wrote back
  want = lambda k: arrs[k].astype(np.float32) if k == "f16" else arrs[k]
  bad = []
  for k in arrs:
    a = np.load("%s/out_%s.npy" % (d, k))
    if a.shape != arrs[k].shape or not np.array_equal(a, want(k)): bad.append(k)
  for z in ["out_s.npz", "out_c.npz"]:
    with np.load(d + "/" + z) as npz:
      for k in arrs:
        if not np.array_equal(npz[k], want(k)): bad.append(z + ":" + k)
  b = open(d + "/out.safetensors", "rb").read()
  n = struct.unpack("<Q", b[:8])[0]
  h = json.loads(b[8:8 + n])
  for k, e in h.items():
    if k == "__metadata__": continue
    dt = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}[e["dtype"]]
    s, t = e["data_offsets"]
    a = np.frombuffer(b[8 + n + s:8 + n + t], dt).reshape(e["shape"])
    if not np.array_equal(a, want(k)): bad.append("st:" + k)
  if h.get("__metadata__") != {"by": "sonde"}: bad.append("metadata")
  print("BAD " + " ".join(bad) if bad else "OK")
]==]

local has_numpy = os.execute("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1")
if has_numpy then
  local f = io.open(tmp("gen.py"), "w"); f:write(PY); f:close()
  local function py(mode)
    local p = io.popen("/usr/bin/python3 " .. tmp("gen.py") .. " " .. dir .. " " .. mode .. " 2>&1")
    local out = p:read("a"); p:close()
    return out
  end
  T.eq(py("write"), "")
  local want = dofile(tmp("values.lua"))

  T.test("reads .npy written by NumPy / PyTorch", function()
    for k, w in pairs(want) do
      local t = data.load_npy(tmp(k .. ".npy"))
      T.eq(t:shape(), w.shape, k)
      T.near(flat(t), w.v, 1e-6, k)
    end
    T.eq(data.load_npy(tmp("f16.npy")):dtype(), "f32")
    T.eq(data.load_npy(tmp("be.npy")):dtype(), "i32")
    T.eq(data.load_npy(tmp("bool.npy")):dtype(), "bool")
  end)

  T.test("reads .npz (stored and compressed) and safetensors from NumPy", function()
    for _, z in ipairs({ "s.npz", "c.npz" }) do
      local r = data.load_npz(tmp(z))
      for k, w in pairs(want) do T.near(flat(r[k]), w.v, 1e-6, z .. ":" .. k) end
    end
    local r, meta = data.load_safetensors(tmp("p.safetensors"))
    T.eq(meta, { by = "numpy" })
    for _, k in ipairs({ "f32", "i64", "u8", "f16" }) do T.near(flat(r[k]), want[k].v, 1e-6, k) end
  end)

  T.test("NumPy reads what sonde writes", function()
    local all = {}
    for k in pairs(want) do
      all[k] = data.load_npy(tmp(k .. ".npy"))
      data.save_npy(tmp("out_" .. k .. ".npy"), all[k])
    end
    data.save_npz(tmp("out_s.npz"), all)
    data.save_npz(tmp("out_c.npz"), all, { compress = true })
    data.save_safetensors(tmp("out.safetensors"), all, { by = "sonde" })
    T.eq(py("check"), "OK\n")
  end)
else
  print("skip: /usr/bin/python3 with numpy not available, NumPy interop tests skipped")
end

os.execute("rm -rf " .. dir)
T.done()
