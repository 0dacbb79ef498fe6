-- test_plot.lua: every plot type writes a PNG of the asked size with ink in
-- the plot area and its series' colours; ROC/PR numbers; argument errors.
local T = require "testlib"

local lazy = package.loaded.plot == nil -- before anything below touches plot

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p " .. dir))
local function P(name) return dir .. "/" .. name end

-- pixels of a saved PNG as a list of {r, g, b} rows, after checking its size
local function load(path, w, h)
  local img = data.load_png(path)
  local s = img:size()
  T.ok(s[1] == 3 or s[1] == 4, "3 or 4 channels, got " .. s[1])
  T.eq({ s[2], s[3] }, { h, w })
  local ch = img:tolist()
  return function(i, j) return ch[1][i][j], ch[2][i][j], ch[3][i][j] end
end

-- distinct colours overall, non-white pixels in the central half, and
-- whether a colour (0..1 components) appears within a tolerance
local function inspect(px, w, h, rgb)
  local colours, n, ink, found = {}, 0, 0, false
  local want = rgb and { rgb[1] * 255, rgb[2] * 255, rgb[3] * 255 }
  for i = 1, h do
    for j = 1, w do
      local r, g, b = px(i, j)
      local k = (r << 16) | (g << 8) | b
      if not colours[k] then colours[k] = true; n = n + 1 end
      if i > h / 4 and i < 3 * h / 4 and j > w / 4 and j < 3 * w / 4 and k ~= 0xffffff then ink = ink + 1 end
      if want and math.abs(r - want[1]) <= 3 and math.abs(g - want[2]) <= 3 and math.abs(b - want[3]) <= 3 then
        found = true
      end
    end
  end
  return n, ink, found
end

local function check(fig, name, w, h, rgb)
  fig:save(P(name))
  local n, ink, found = inspect(load(P(name), w, h), w, h, rgb)
  T.ok(n >= 8, name .. ": only " .. n .. " distinct colours")
  T.ok(ink > w * h / 200, name .. ": almost no ink in the plot area (" .. ink .. ")")
  if rgb then T.ok(found, name .. ": the series colour is missing") end
end

T.test("plot loads lazily, on first use", function()
  T.ok(lazy, "plot was loaded before use")
  T.eq(type(plot.line), "function")
  T.ok(package.loaded.plot ~= nil)
end)

T.test("line with two series, labels, title and legend", function()
  local x = tensor.linspace(0, 6, 50)
  local fig = plot.line(x, x:sin(), { label = "sin", title = "t", xlabel = "x", ylabel = "y", width = 320, height = 240 })
  fig:line(x, x:cos(), { label = "cos" })
  check(fig, "line.png", 320, 240, plot.colors[2])
  -- y alone: x is 1..#y; the canvas keeps the asked size
  check(plot.line({ 3, 1, 4, 1, 5 }, { width = 200, height = 150 }), "line_y.png", 200, 150, plot.colors[1])
end)

T.test("legend= takes true, false or a corner, and names a bad value", function()
  local x = tensor.linspace(0, 1, 5)
  for _, v in ipairs { true, false, "lower left" } do
    local fig = plot.figure({ legend = v, width = 200, height = 150 })
    fig:line(x, x, { label = "a" })
    check(fig, "legend.png", 200, 150, plot.colors[1])
  end
  T.raises(function() plot.figure({ legend = "middle" }) end, "legend= must be true, false or a corner")
end)

T.test("scatter coloured by label", function()
  local x, y, c = {}, {}, {}
  for i = 1, 60 do x[i], y[i], c[i] = i % 10, i // 10, i % 3 + 1 end
  local fig = plot.scatter(x, y, { c = c, width = 300, height = 200 })
  T.eq(#fig.series, 3)
  T.eq(fig.series[3].label, "3")
  check(fig, "scatter.png", 300, 200, plot.colors[3])
end)

T.test("hist, bar, log-y", function()
  local fig = plot.hist(tensor.randn(500), { bins = 20, width = 320, height = 240 })
  local counts = 0
  for _, v in ipairs(fig.series[1].y) do counts = counts + v end
  T.eq(counts, 500)
  T.eq(#fig.series[1].y, 20)
  check(fig, "hist.png", 320, 240, plot.colors[1])
  check(plot.bar({ "a", "b", "c" }, tensor.new { 3, 1, 2 }, { width = 320, height = 240 }), "bar.png", 320, 240, plot.colors[1])
  check(plot.line({ 1, 2, 3 }, { 1, 100, 1e4 }, { logy = true, width = 320, height = 240 }), "logy.png", 320, 240, plot.colors[1])
end)

T.test("heatmap with colorbar", function()
  local M = tensor.arange(0, 12):to("f32"):view(3, 4)
  check(plot.heatmap(M, { width = 320, height = 240 }), "heat.png", 320, 240, { 253 / 255, 231 / 255, 37 / 255 })
  check(plot.heatmap(M, { cmap = "gray", width = 320, height = 240 }), "heat_gray.png", 320, 240)
end)

T.test("roc and pr: curves, ties grouped, AUC and AP", function()
  local fpr, tpr, auc = plot.roc_curve({ 0.9, 0.8, 0.7, 0.6 }, { 1, 0, 1, 0 })
  T.eq(fpr, { 0, 0, 0.5, 0.5, 1 })
  T.eq(tpr, { 0, 0.5, 0.5, 1, 1 })
  T.near(auc, 0.75, 1e-12)
  local _, _, tied = plot.roc_curve({ 1, 1, 0, 0 }, { 1, 0, 1, 0 })
  T.near(tied, 0.5, 1e-12)
  local rec, prec, ap = plot.pr_curve({ 0.9, 0.8, 0.7, 0.6 }, { true, false, true, false })
  T.eq(rec, { 0, 0.5, 0.5, 1, 1 })
  T.near(ap, 0.5 + 0.5 * 2 / 3, 1e-12)
  local s = tensor.randn(200)
  local y = (s + tensor.randn(200)):gt(0)
  local fig = plot.roc(s, y, { width = 320, height = 240 })
  T.ok(fig.series[2].label:match("^AUC = 0%.%d%d%d$"), fig.series[2].label)
  check(fig, "roc.png", 320, 240, plot.colors[1])
  check(plot.pr(s, y, { width = 320, height = 240 }), "pr.png", 320, 240, plot.colors[1])
end)

T.test("errors name the argument", function()
  T.raises(function() plot.line({ 1, 2, 3 }, { 1, 2 }) end, "#2 to 'plot.line' (y has 2 values but x has 3)")
  T.raises(function() plot.scatter(tensor.zeros(3), tensor.zeros(4)) end, "y has 4 values")
  T.raises(function() plot.line(tensor.zeros(2, 2), tensor.zeros(4)) end, "x must be 1-d")
  T.raises(function() plot.hist({ 1, 2 }, { bins = 0 }) end, "bins")
  T.raises(function() plot.heatmap(tensor.zeros(2, 2), { cmap = "nope" }) end, "unknown cmap 'nope'")
  T.raises(function() plot.roc({ 1, 2 }, { 1, 1 }) end, "both positives and negatives")
  T.raises(function() plot.line({ 1 }, { 2 }):save(dir .. "/no/such/dir/a.png") end, "a.png")
  T.raises(function() plot.line({ 1 }, { 2 }, { width = 0 }):save(P("z.png")) end, "width")
end)

os.execute("rm -rf " .. dir)
T.done()
