-- test_memory.lua: tensor memory is visible to the garbage collector: loops
-- of temporaries need no collectgarbage(), and t:free() and <close> release
-- at once. Runs under sonde's generational GC (interp/main.c).
local T = require "testlib"

local function status(field)
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match(field .. ":%s+(%d+) kB")) / 1024 -- MiB
end

-- ASan keeps freed blocks in a quarantine (256 MiB by default) that RSS
-- counts; the bound allows for it when the sanitizer is present.
local function asan_allowance()
  local f = io.open("/proc/self/maps")
  local maps = f and f:read("a") or ""
  if f then f:close() end
  if not maps:find("libasan", 1, true) then return 0 end
  return tonumber((os.getenv("ASAN_OPTIONS") or ""):match("quarantine_size_mb=(%d+)")) or 256
end

local LIMIT = 300 + asan_allowance()
-- under ASan each 1 MiB block costs ~1 ms of mapping: the release build
-- runs the full loop, the sanitizer build a shorter one
local N = asan_allowance() > 0 and 10000 or 100000

-- Runs body(i) n times and returns the largest RSS seen (sampled, and the
-- kernel's high-water mark).
local function peak_rss(n, body)
  local peak = 0
  for i = 1, n do
    body(i)
    if i % 500 == 0 then peak = math.max(peak, status("VmRSS")) end
  end
  return math.max(peak, status("VmHWM"))
end

T.test("100,000 temporary 1 MiB tensors stay under 300 MiB RSS", function()
  local t0 = os.clock()
  local peak = peak_rss(N, function()
    local t = tensor.zeros(262144) -- 1 MiB of f32, touched
    assert(t:numel() == 262144)
  end)
  io.write(string.format("%d temporaries: peak RSS %.0f MiB (limit %d), %.2f s\n", N, peak, LIMIT,
    os.clock() - t0))
  T.ok(peak < LIMIT, string.format("peak RSS %.0f MiB", peak))
end)

T.test("tensors that live a few steps (old in generational GC) are collected too", function()
  local ring = {}
  local t0 = os.clock()
  local peak = peak_rss(N // 5, function(i) ring[i % 8 + 1] = tensor.zeros(262144) end)
  io.write(string.format("window of 8: peak RSS %.0f MiB, %.2f s\n", peak, os.clock() - t0))
  T.ok(peak < LIMIT, string.format("peak RSS %.0f MiB", peak))
end)

T.test("t:free() and <close> release at once", function()
  -- no garbage left from the tests above, so the pacer's collections
  -- cannot change tensor.memory() while this test measures it
  collectgarbage()
  collectgarbage()
  local m0 = tensor.memory()
  local t = tensor.zeros(1 << 20)
  T.eq(tensor.memory() - m0, 4 << 20)
  local v = t:view(1024, 1024) -- a view keeps its own reference
  t:free()
  T.eq(t:numel(), 0)
  T.eq(tensor.memory() - m0, 4 << 20, "the view still holds the storage")
  v:free()
  T.eq(tensor.memory(), m0)
  do
    local c <close> = tensor.ones(1 << 20)
    T.eq(tensor.memory() - m0, 4 << 20)
  end
  T.eq(tensor.memory(), m0, "released at the end of the block")
  local ok = pcall(function()
    local c <close> = tensor.ones(1 << 20)
    error("boom")
  end)
  T.ok(not ok)
  T.eq(tensor.memory(), m0, "released when the block raises")
end)

T.done()
