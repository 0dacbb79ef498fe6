-- test_image.lua: the image module: bilinear resize against PyTorch 1.13
-- (skipped with a message when /usr/bin/python3 with torch is absent) and its
-- invariants, crop views, flips, normalize, grid shape and padding,
-- colormap endpoints and known matplotlib values, overlay, PNG round trips
-- and errors naming the function and shapes.
local T = require "testlib"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function tmp(name) return dir .. "/" .. name end

local function flat(t)
  local out = {}
  local function walk(v)
    if type(v) == "table" then for i = 1, #v do walk(v[i]) end else out[#out + 1] = v end
  end
  walk(t:tolist())
  return out
end

-- a deterministic, non-smooth test image of the given shape
local function img(dtype, ...)
  local n = 1
  for _, s in ipairs({ ... }) do n = n * s end
  return (tensor.arange(n):to("f64") * 0.7):sin():reshape(...):to(dtype)
end

-- resize --------------------------------------------------------------------

T.test("resize: hand-computed 2x2 -> 4x4 (align_corners=false)", function()
  local t = tensor.new({ { 1, 2 }, { 3, 4 } }):to("f32")
  local r = image.resize(t, 4, 4)
  T.eq(r:shape(), { 4, 4 })
  T.near(flat(r[1]), { 1, 1.25, 1.75, 2 })
  T.near(flat(r[2]), { 1.5, 1.75, 2.25, 2.5 })
  T.near(flat(image.resize(t, 1, 1)), { 2.5 })
end)

T.test("resize: identity size gives the image back, for f32 and f64", function()
  for _, dt in ipairs({ "f32", "f64" }) do
    local t = img(dt, 3, 5, 7)
    local r = image.resize(t, 5, 7)
    T.eq(r:dtype(), dt)
    T.eq(flat(r), flat(t))
  end
end)

T.test("resize: a constant image stays constant at any size", function()
  local t = tensor.full({ 2, 3, 4, 5 }, 0.375)
  for _, hw in ipairs({ { 1, 1 }, { 9, 2 }, { 4, 5 }, { 17, 13 } }) do
    local r = image.resize(t, hw[1], hw[2])
    T.eq(r:shape(), { 2, 3, hw[1], hw[2] })
    for _, v in ipairs(flat(r)) do T.near(v, 0.375, 1e-7) end
  end
end)

T.test("resize: non-contiguous input and u8 (resized as f32)", function()
  local t = img("f32", 6, 5):t()
  T.eq(flat(image.resize(t, 3, 2)), flat(image.resize(t:contiguous(), 3, 2)))
  local u = tensor.new({ { 0, 255 } }):to("u8")
  local r = image.resize(u, 1, 4)
  T.eq(r:dtype(), "f32")
  T.near(flat(r), { 0, 63.75, 191.25, 255 })
end)

local has_torch = os.execute("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1")
if has_torch then
  T.test("resize: matches torch.nn.functional.interpolate(bilinear) up and down", function()
    local cases = {
      { "a", img("f32", 1, 1, 5, 7), 9, 13 },
      { "b", img("f32", 2, 3, 8, 6), 3, 4 },
      { "c", img("f64", 1, 2, 7, 9), 7, 3 },
      { "d", img("f32", 1, 1, 4, 4), 11, 1 },
    }
    for _, c in ipairs(cases) do data.save_npy(tmp(c[1] .. ".npy"), c[2]) end
    local py = io.open(tmp("gen.py"), "w")
    py:write([[
import sys, numpy as np, torch
d = sys.argv[1]
for name, h, w in [("a", 9, 13), ("b", 3, 4), ("c", 7, 3), ("d", 11, 1)]:
    x = torch.from_numpy(np.load(d + "/" + name + ".npy"))
    y = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    np.save(d + "/" + name + "_out.npy", y.numpy())
]])
    py:close()
    T.ok(os.execute("/usr/bin/python3 " .. tmp("gen.py") .. " " .. dir), "python failed")
    for _, c in ipairs(cases) do
      local want = data.load_npy(tmp(c[1] .. "_out.npy"))
      local got = image.resize(c[2], c[3], c[4])
      T.eq(got:shape(), want:shape())
      T.eq(got:dtype(), want:dtype())
      T.near(flat(got), flat(want), c[2]:dtype() == "f64" and 1e-12 or 1e-5, c[1])
      -- C x H x W gives the same as 1 x C x H x W
      T.eq(flat(image.resize(c[2][1], c[3], c[4])), flat(got[1]))
    end
  end)
else
  print("skip: /usr/bin/python3 with torch not available, resize-vs-torch test skipped")
end

T.test("resize: errors name the function and the shape", function()
  T.raises(function() image.resize(tensor.zeros(5), 2, 2) end, "'resize'")
  T.raises(function() image.resize(tensor.zeros(2, 3), 0, 2) end, "resize: size 0x2")
  T.raises(function() image.resize(tensor.zeros(1, 0, 3), 2, 2) end, "[1,0,3]")
end)

-- crop and flip -------------------------------------------------------------

T.test("crop: 1-based window, a view that writes through", function()
  local t = tensor.arange(1, 21):reshape(1, 4, 5):to("f32")
  local c = image.crop(t, 2, 3, 2, 2)
  T.eq(c:shape(), { 1, 2, 2 })
  T.eq(flat(c), { 8, 9, 13, 14 })
  c:fill_(-1)
  T.eq(t[1][2][3]:item(), -1)
  T.eq(t[1][3][4]:item(), -1)
  T.eq(t[1][1][1]:item(), 1)
  T.eq(image.crop(t, 1, 1, 4, 5):shape(), { 1, 4, 5 })
  T.raises(function() image.crop(t, 4, 1, 2, 2) end, "crop: 2x2 at (4,1) does not fit image [1,4,5]")
  T.raises(function() image.crop(t, 0, 1, 1, 1) end, "crop")
end)

T.test("flip: h mirrors columns, v mirrors rows, a copy; twice is identity", function()
  local t = tensor.arange(1, 7):reshape(2, 3)
  T.eq(image.flip(t, "h"):tolist(), { { 3, 2, 1 }, { 6, 5, 4 } })
  T.eq(image.flip(t, "v"):tolist(), { { 4, 5, 6 }, { 1, 2, 3 } })
  local b = img("f32", 2, 3, 4, 5)
  T.eq(flat(image.flip(image.flip(b, "h"), "h")), flat(b))
  T.eq(flat(image.flip(b, "v")[2][3][1]), flat(b[2][3][4]))
  local f = image.flip(t, "h")
  f:fill_(0)
  T.eq(t[1][1]:item(), 1)
  T.raises(function() image.flip(t, "x") end, "flip")
end)

-- normalize -----------------------------------------------------------------

T.test("normalize: per channel, u8 to f32, f64 kept; errors", function()
  local t = tensor.new({ { { 10, 20 } }, { { 30, 40 } } }):to("u8")
  local n = image.normalize(t, { 10, 30 }, { 10, 5 })
  T.eq(n:dtype(), "f32")
  T.eq(flat(n), { 0, 1, 0, 2 })
  local b = img("f64", 2, 3, 2, 2)
  local m = image.normalize(b, { 0.1, 0.2, 0.3 }, 2)
  T.eq(m:dtype(), "f64")
  T.near(m[2][3][2][1]:item(), (b[2][3][2][1]:item() - 0.3) / 2, 1e-12)
  T.eq(flat(b), flat(img("f64", 2, 3, 2, 2))) -- input untouched
  T.raises(function() image.normalize(b, { 1, 2 }, { 1, 1, 1 }) end, "normalize: mean has 2 entries for 3 channels")
  T.raises(function() image.normalize(b, 0, { 1, 0, 1 }) end, "std[2] is 0")
end)

-- grid ----------------------------------------------------------------------

T.test("grid: shape and padding like make_grid", function()
  local b = tensor.zeros(5, 3, 4, 6)
  local g = image.grid(b, { ncol = 2 })
  -- 3 rows x 2 cols of 4x6 with padding 2
  T.eq(g:shape(), { 3, 3 * 6 + 2, 2 * 8 + 2 })
  T.eq(g[1][1][1]:item(), 1)     -- outer padding
  T.eq(g[2][3][3]:item(), 0)     -- first image
  T.eq(g[3][3][9]:item(), 1)     -- between columns
  T.eq(g[3][7][3]:item(), 1)     -- between rows
  T.eq(g[1][15][11]:item(), 1)   -- the empty sixth cell
  T.eq(g[1][15][3]:item(), 0)    -- the fifth image
  T.eq(image.grid(b):shape(), { 3, 6 + 2, 5 * 8 + 2 }) -- default ncol=8 -> one row
end)

T.test("grid: a list, padding=0, pad_value (labels: test_image_labels.lua)", function()
  local a, c = tensor.full({ 1, 2, 2 }, 0.25), tensor.full({ 1, 2, 2 }, 0.75)
  local g = image.grid({ a, c }, { padding = 0 })
  T.eq(g:tolist(), { { { 0.25, 0.25, 0.75, 0.75 }, { 0.25, 0.25, 0.75, 0.75 } } })
  local p = image.grid({ a }, { padding = 1, pad_value = 0.5 })
  T.eq(flat(p), { 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.25, 0.25, 0.5, 0.5, 0.5, 0.5, 0.5 })
  T.raises(function() image.grid({ a, tensor.zeros(1, 3, 2) }) end, "grid: image 2 is [1,3,2], expected CxHxW like image 1 [1,2,2]")
  T.raises(function() image.grid({}) end, "grid: no images")
  T.raises(function() image.grid(tensor.zeros(2, 2)) end, "'grid'")
  T.raises(function() image.grid({ a }, { labels = "x" }) end, "labels")
end)

-- heatmap and overlay ------------------------------------------------------

-- matplotlib 3.6: viridis(0), viridis(1), viridis[128], magma(0), magma(1)
local viridis0 = { 0.267004, 0.004874, 0.329415 }
local viridis1 = { 0.993248, 0.906157, 0.143936 }
local magma0 = { 0.001462, 0.000466, 0.013866 }
local magma1 = { 0.987053, 0.991438, 0.749504 }

local function pixel(h, i, j) return { h[1][i][j]:item(), h[2][i][j]:item(), h[3][i][j]:item() } end

T.test("heatmap: vmin gives the first colour, vmax the last", function()
  local t = tensor.new({ { 0, 0.5 }, { 1, 2 } })
  local h = image.heatmap(t)
  T.eq(h:shape(), { 3, 2, 2 })
  T.eq(h:dtype(), "f32")
  T.near(pixel(h, 1, 1), viridis0, 1e-6)
  T.near(pixel(h, 2, 2), viridis1, 1e-6)
  h = image.heatmap(t, { cmap = "magma", vmin = 0.5, vmax = 1 })
  T.near(pixel(h, 1, 1), magma0, 1e-6)  -- below vmin: clamped
  T.near(pixel(h, 1, 2), magma0, 1e-6)
  T.near(pixel(h, 2, 1), magma1, 1e-6)
  T.near(pixel(h, 2, 2), magma1, 1e-6)  -- above vmax: clamped
  h = image.heatmap(t, { cmap = "gray", vmin = 0, vmax = 2 })
  T.near(pixel(h, 2, 1), { 0.5, 0.5, 0.5 }, 1e-7)
end)

T.test("heatmap: middle of viridis within 1/255 of matplotlib's table", function()
  -- viridis entry 128 sits at 128/255
  local h = image.heatmap(tensor.new({ { 0, 128, 255 } }))
  T.near(pixel(h, 1, 2), { 0.127568, 0.566949, 0.550556 }, 1 / 255)
  T.raises(function() image.heatmap(tensor.zeros(2, 2), { cmap = "jet" }) end, "heatmap: unknown cmap 'jet'")
  T.raises(function() image.heatmap(tensor.zeros(2, 2, 2)) end, "heatmap: map must be HxW")
end)

T.test("heatmap: constant map is the first colour, NaN is black", function()
  local h = image.heatmap(tensor.new({ { 3, 3 }, { 3, 0 / 0 } }))
  T.near(pixel(h, 1, 1), viridis0, 1e-6)
  T.eq(pixel(h, 2, 2), { 0, 0, 0 })
end)

T.test("overlay: alpha 0 is the image, 1 the resized heatmap; gray and u8 images", function()
  local im = img("f32", 3, 8, 6):abs()
  local map = tensor.new({ { 0, 1 }, { 1, 0 } })
  local o0 = image.overlay(im, map, 0)
  T.eq(o0:shape(), { 3, 8, 6 })
  T.near(flat(o0), flat(im), 1e-7)
  local o1 = image.overlay(im, map, 1)
  T.near(flat(o1), flat(image.heatmap(image.resize(map, 8, 6), { vmin = 0, vmax = 1 })), 1e-6)
  local gray = tensor.full({ 1, 4, 4 }, 255):to("u8")
  local o = image.overlay(gray, tensor.zeros(2, 2), 0.5, { cmap = "magma" })
  for k = 1, 3 do T.near(o[k][1][1]:item(), 0.5 + 0.5 * magma0[k], 1e-6) end
  T.raises(function() image.overlay(tensor.zeros(2, 4, 4), map) end, "overlay: image must be 1xHxW or 3xHxW, got [2,4,4]")
  T.raises(function() image.overlay(im, map, 2) end, "overlay: alpha 2")
end)

-- files ---------------------------------------------------------------------

T.test("save/load round trip: u8 exact, float within 1/255", function()
  local u = (img("f64", 3, 5, 4):abs() * 255):to("u8")
  image.save(tmp("u.png"), u)
  local back = image.load(tmp("u.png"))
  T.eq(back:dtype(), "u8")
  T.eq(back:shape(), { 3, 5, 4 })
  T.eq(flat(back), flat(u))
  local f = image.load(tmp("u.png"), { float = true })
  T.eq(f:dtype(), "f32")
  for i, v in ipairs(flat(f)) do T.near(v, flat(u)[i] / 255, 1e-6) end
  local h = image.heatmap(img("f32", 6, 7))
  image.save(tmp("h.png"), h)
  T.near(flat(image.load(tmp("h.png"), { float = true })), flat(h), 0.5 / 255 + 1e-6)
  T.raises(function() image.save(tmp("x.png"), tensor.zeros(4)) end, "'save'")
  T.raises(function() image.load(tmp("missing.png")) end, "missing.png")
end)

T.test("every function has a one-line doc and signature", function()
  local docs, n = sonde.docs(), 0
  for name, fn in pairs(image) do
    n = n + 1
    T.ok(type(fn) == "function", name)
    local d = docs["image." .. name]
    T.ok(d and d.doc ~= "" and not d.doc:find("\n") and d.sig:find("image." .. name, 1, true), name)
  end
  T.eq(n, 9)
end)

os.execute("rm -rf " .. dir)
T.done()
