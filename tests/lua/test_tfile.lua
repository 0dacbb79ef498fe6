-- test_tfile.lua: tensor.save / tensor.load: round trips, tables of named
-- tensors (nested keys flattened with "."), determinism, errors.
local T = require "testlib"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function P(name) return dir .. "/" .. name end
local function read(p) local f = assert(io.open(p, "rb")); local s = f:read("a"); f:close(); return s end
local function write(p, s) local f = assert(io.open(p, "wb")); f:write(s); f:close() end
local function same(a, b)
  return a:dtype() == b:dtype() and T.show(a:shape()) == T.show(b:shape()) and a:bytes() == b:bytes()
end

T.test("round trip of every dtype, 0-d, empty and views", function()
  local cases = {
    tensor.randn(3, 4),
    tensor.randn(2, 3, { dtype = "f64" }),
    tensor.arange(10):to("i32"),
    tensor.new({ { math.maxinteger, math.mininteger }, { 1, -1 } }),
    tensor.arange(5):to("u8"),
    tensor.new({ true, false, true }),
    tensor.full({}, 2.5),
    tensor.zeros(0, 3),
    tensor.randn(4, 5):t(),
    tensor.new({ 1, 2, 3 }):expand(2, 3),
  }
  for i, t in ipairs(cases) do
    tensor.save(P("a.sdt"), t)
    local u = tensor.load(P("a.sdt"))
    T.ok(tensor.is_tensor(u), "case " .. i)
    T.ok(same(t:contiguous(), u), "case " .. i)
  end
end)

T.test("tables: flat names, nesting flattened with '.', integer keys", function()
  local w, b = tensor.randn(3, 2), tensor.zeros(3)
  tensor.save(P("sd.sdt"), { fc = { weight = w, bias = b }, ["head.0"] = tensor.ones(2), [1] = b })
  local d = tensor.load(P("sd.sdt"))
  T.ok(same(d["fc.weight"], w))
  T.ok(same(d["fc.bias"], b))
  T.ok(same(d["head.0"], tensor.ones(2)))
  T.ok(same(d["1"], b))
  local n = 0
  for _ in pairs(d) do n = n + 1 end
  T.eq(n, 4)
  -- an empty table and a one-entry table stay tables
  tensor.save(P("e.sdt"), {})
  T.eq(next(tensor.load(P("e.sdt"))), nil)
  tensor.save(P("one.sdt"), { x = w })
  T.ok(same(tensor.load(P("one.sdt")).x, w))
end)

T.test("the file does not depend on table order", function()
  local t = {}
  for i = 1, 50 do t["k" .. i] = tensor.full({ 2 }, i) end
  tensor.save(P("o1.sdt"), t)
  local u = {}
  for i = 50, 1, -1 do u["k" .. i] = tensor.full({ 2 }, i) end
  tensor.save(P("o2.sdt"), u)
  T.eq(read(P("o1.sdt")), read(P("o2.sdt")))
  T.eq(read(P("o1.sdt")):sub(1, 8), "SONDE\0T1")
end)

T.test("save errors name the problem", function()
  T.raises(function() tensor.save(P("x.sdt"), 5) end, "tensor or table of tensors")
  T.raises(function() tensor.save(P("x.sdt"), { a = 1 }) end, "save: 'a' is a number, expected a tensor")
  T.raises(function() tensor.save(P("x.sdt"), { [true] = tensor.ones(1) }) end, "keys must be strings or integers")
  T.raises(function() tensor.save(P("x.sdt"), { a = { b = tensor.ones(1) }, ["a.b"] = tensor.ones(1) }) end,
    "two entries are named 'a.b'")
  local cyc = {}
  cyc.self = cyc
  T.raises(function() tensor.save(P("x.sdt"), cyc) end, "nested deeper")
  T.raises(function() tensor.save(P("nodir/x.sdt"), tensor.ones(1)) end, "cannot create")
  T.eq(io.open(P("x.sdt")), nil, "nothing written")
end)

T.test("a failed save leaves the old file", function()
  tensor.save(P("keep.sdt"), tensor.ones(3))
  local before = read(P("keep.sdt"))
  T.raises(function() tensor.save(P("keep.sdt"), { a = tensor.ones(1), b = "oops" }) end, "'b' is a string")
  T.eq(read(P("keep.sdt")), before)
end)

T.test("load errors name the file and the problem", function()
  T.raises(function() tensor.load(P("missing.sdt")) end, "load: " .. P("missing.sdt") .. ": cannot open")
  write(P("bad.sdt"), string.rep("x", 64))
  T.raises(function() tensor.load(P("bad.sdt")) end, P("bad.sdt") .. ": not a sonde tensor file (bad magic)")
  tensor.save(P("t.sdt"), { a = tensor.randn(5), b = tensor.arange(7) })
  local good = read(P("t.sdt"))
  for len = 0, #good - 1, 7 do
    write(P("cut.sdt"), good:sub(1, len))
    T.raises(function() tensor.load(P("cut.sdt")) end, P("cut.sdt"))
  end
  -- a huge shape in the first entry (its first dim is at byte 30)
  local huge = good:sub(1, 29) .. string.pack("<i8", 1 << 40) .. good:sub(38)
  write(P("huge.sdt"), huge)
  T.raises(function() tensor.load(P("huge.sdt")) end, "shape needs")
end)

T.test("tensor.memory follows allocations", function()
  local m0 = tensor.memory()
  local t = tensor.zeros(1000, { dtype = "f64" })
  T.eq(tensor.memory() - m0, 8000)
  t:free()
  T.eq(tensor.memory(), m0)
end)

os.execute("rm -rf " .. dir)
T.done()
