-- plot.lua: figures saved as PNG: line, scatter, hist, bar, heatmap, ROC and
-- PR curves. A figure holds series and options; fig:save lays out axes
-- (nice 1-2-5 ticks, log-y), labels, title and legend and draws them on a
-- plot.cairo canvas. Colours follow matplotlib's tab10.
local sonde = require "sonde"
local cairo = require "plot.cairo"

local plot = {}
local Figure = {}
Figure.__index = Figure

local tab10 = {
  { 0.122, 0.467, 0.706 }, { 1.000, 0.498, 0.055 }, { 0.173, 0.627, 0.173 },
  { 0.839, 0.153, 0.157 }, { 0.580, 0.404, 0.741 }, { 0.549, 0.337, 0.294 },
  { 0.890, 0.467, 0.761 }, { 0.498, 0.498, 0.498 }, { 0.737, 0.741, 0.133 },
  { 0.090, 0.745, 0.812 },
}
plot.colors = tab10

local cmaps = {
  viridis = { { 68, 1, 84 }, { 71, 44, 122 }, { 59, 81, 139 }, { 44, 113, 142 }, { 33, 144, 141 },
              { 39, 173, 129 }, { 92, 200, 99 }, { 170, 220, 50 }, { 253, 231, 37 } },
  magma = { { 0, 0, 4 }, { 28, 16, 68 }, { 79, 18, 123 }, { 129, 37, 129 }, { 181, 54, 122 },
            { 229, 80, 100 }, { 251, 135, 97 }, { 254, 194, 135 }, { 252, 253, 191 } },
  gray = { { 0, 0, 0 }, { 255, 255, 255 } },
  coolwarm = { { 59, 76, 192 }, { 221, 221, 221 }, { 180, 4, 38 } },
}

-- the colour of t in [0, 1] on a colormap, as 0..255 components
local function cmap_rgb(cm, t)
  if t ~= t then t = 0 end
  t = math.max(0, math.min(1, t)) * (#cm - 1)
  local i = math.min(math.floor(t), #cm - 2)
  local f, a, b = t - i, cm[i + 1], cm[i + 2]
  return math.floor(a[1] + f * (b[1] - a[1]) + 0.5), math.floor(a[2] + f * (b[2] - a[2]) + 0.5),
         math.floor(a[3] + f * (b[3] - a[3]) + 0.5)
end

-- --- arguments --------------------------------------------------------------

local function argerr(fn, n, msg) error(string.format("bad argument #%d to '%s' (%s)", n, fn, msg), 4) end

-- a flat list of numbers from a 1-d tensor or a table (booleans give 0/1)
local function numbers(v, fn, n, name)
  if tensor.is_tensor(v) then
    if v:dim() ~= 1 then argerr(fn, n, string.format("%s must be 1-d, got %d dims", name, v:dim())) end
    v = v:tolist()
  elseif type(v) ~= "table" then
    argerr(fn, n, string.format("%s must be a tensor or a table of numbers, got %s", name, type(v)))
  end
  local out = {}
  for i = 1, #v do
    local e = v[i]
    if type(e) == "boolean" then e = e and 1 or 0 end
    if type(e) ~= "number" then argerr(fn, n, string.format("%s[%d] is not a number", name, i)) end
    out[i] = e
  end
  return out
end

local function iota(n) local t = {} for i = 1, n do t[i] = i end return t end

-- (x, y, opts) or (y, opts): x defaults to 1..#y
local function xy(fn, x, y, opts)
  if y == nil or (type(y) == "table" and not tensor.is_tensor(y) and y[1] == nil and next(y) ~= nil) then
    opts, y = y, numbers(x, fn, 1, "y")
    return iota(#y), y, opts or {}
  end
  x, y = numbers(x, fn, 1, "x"), numbers(y, fn, 2, "y")
  if #x ~= #y then argerr(fn, 2, string.format("y has %d values but x has %d", #y, #x)) end
  if opts ~= nil and type(opts) ~= "table" then argerr(fn, 3, "options must be a table") end
  return x, y, opts or {}
end

-- --- figures ----------------------------------------------------------------

-- legend=: true or a corner ("upper right", the default, "upper left",
-- "lower right", "lower left"); false hides it.
local corners = { ["upper right"] = true, ["upper left"] = true, ["lower right"] = true, ["lower left"] = true }

local function figure(opts)
  local legend = opts.legend
  if legend == true then legend = "upper right" end
  if legend ~= nil and legend ~= false and not corners[legend] then
    error(string.format("plot: legend= must be true, false or a corner (\"upper right\", \"upper left\", "
      .. "\"lower right\", \"lower left\"), got %s", tostring(legend)), 3)
  end
  return setmetatable({
    series = {}, title = opts.title, xlabel = opts.xlabel, ylabel = opts.ylabel,
    logy = opts.logy, width = opts.width or 640, height = opts.height or 480,
    legend = legend, xlim = opts.xlim, ylim = opts.ylim,
  }, Figure)
end

function Figure:add(s)
  s.color = s.color or tab10[(#self.series % #tab10) + 1]
  self.series[#self.series + 1] = s
  return self
end

function Figure:line(x, y, opts)
  local xs, ys; xs, ys, opts = xy("fig:line", x, y, opts)
  return self:add { kind = "line", x = xs, y = ys, label = opts.label, color = opts.color,
                    lw = opts.linewidth or 2, dash = opts.dash }
end

function Figure:scatter(x, y, opts)
  local xs, ys; xs, ys, opts = xy("fig:scatter", x, y, opts)
  if opts.c == nil then
    return self:add { kind = "scatter", x = xs, y = ys, label = opts.label, color = opts.color,
                      size = opts.size or 3 }
  end
  -- one series per distinct label, in sorted order, each with its colour
  local c = opts.c
  c = tensor.is_tensor(c) and c:tolist() or c
  if type(c) ~= "table" or #c ~= #xs then
    argerr("fig:scatter", 3, string.format("c must list one label per point (%d)", #xs))
  end
  local groups, keys = {}, {}
  for i = 1, #xs do
    local k = c[i]
    if not groups[k] then groups[k] = { x = {}, y = {} }; keys[#keys + 1] = k end
    local g = groups[k]
    g.x[#g.x + 1], g.y[#g.y + 1] = xs[i], ys[i]
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return tostring(a) < tostring(b)
  end)
  for _, k in ipairs(keys) do
    self:add { kind = "scatter", x = groups[k].x, y = groups[k].y, label = tostring(k), size = opts.size or 3 }
  end
  return self
end

-- --- layout helpers ---------------------------------------------------------

-- ticks at multiples of 1, 2 or 5 times a power of ten, about n of them
local function nice_ticks(lo, hi, n)
  if hi <= lo then hi = lo + 1 end
  local raw = (hi - lo) / (n or 6)
  local p = 10 ^ math.floor(math.log(raw, 10))
  local step
  for _, m in ipairs { 1, 2, 5, 10 } do
    step = m * p
    if step >= raw then break end
  end
  local ticks, i = {}, math.ceil(lo / step - 1e-9)
  while i * step <= hi + step * 1e-9 do
    local v = i * step
    ticks[#ticks + 1] = math.abs(v) < step * 1e-9 and 0 or v
    i = i + 1
  end
  return ticks, step
end

-- ticks at cell numbers 1..n of a heatmap: every cell, or a 1-2-5 step
local function cell_ticks(n)
  local t, step = nice_ticks(1, n, math.min(n, 8))
  if step < 1 then t = iota(n) end
  return t, 1
end

local function fmt_tick(v, step)
  if v == 0 then return "0" end
  local a = math.abs(v)
  if a >= 1e5 or a < 1e-4 then return (string.format("%.3g", v):gsub("e%+?(%-?)0*(%d)", "e%1%2")) end
  local d = math.max(0, -math.floor(math.log(step, 10) + 1e-9))
  return string.format("%." .. d .. "f", v)
end

local function data_range(self)
  local x0, x1, y0, y1 = math.huge, -math.huge, math.huge, -math.huge
  for _, s in ipairs(self.series) do
    for i = 1, #s.x do
      local x, y = s.x[i], s.y[i]
      if x == x and math.abs(x) ~= math.huge then x0, x1 = math.min(x0, x), math.max(x1, x) end
      if self.logy and y <= 0 then y = 0 / 0 end
      if y == y and math.abs(y) ~= math.huge then
        if self.logy then y = math.log(y, 10) end
        y0, y1 = math.min(y0, y), math.max(y1, y)
      end
      if s.x1 then x1 = math.max(x1, s.x1[i]) end
    end
    if s.kind == "bars" and not self.logy then y0 = math.min(y0, 0) end
  end
  if x0 > x1 then x0, x1 = 0, 1 end
  if y0 > y1 then y0, y1 = 0, 1 end
  return x0, x1, y0, y1
end

-- the legend: a framed box of entries at the corner `where`
local function draw_legend(c, self, px, py, pw, ph)
  local items = {}
  for _, s in ipairs(self.series) do if s.label then items[#items + 1] = s end end
  if #items == 0 or self.legend == false then return end
  local fs, lh, tw = 11, 18, 0
  for _, s in ipairs(items) do tw = math.max(tw, (c:text_size(s.label, fs))) end
  local w, h = tw + 44, #items * lh + 8
  local where = self.legend or "upper right"
  local x = where:find("left") and px + 8 or px + pw - w - 8
  local y = where:find("lower") and py + ph - h - 8 or py + 8
  c:color(1, 1, 1, 0.85); c:rect(x, y, w, h)
  c:color(0.8, 0.8, 0.8); c:width(1); c:rect(x + 0.5, y + 0.5, w - 1, h - 1, false)
  for i, s in ipairs(items) do
    local cy = y + 4 + (i - 0.5) * lh
    local r, g, b = table.unpack(s.color)
    c:color(r, g, b)
    if s.kind == "line" then
      c:width(s.lw); c:dash(s.dash); c:polyline({ x + 8, x + 30 }, { cy, cy }); c:dash()
    elseif s.kind == "scatter" then
      c:markers({ x + 19 }, { cy }, 4)
    else
      c:rect(x + 12, cy - 5, 14, 10)
    end
    c:color(0.1, 0.1, 0.1)
    c:text(x + 36, cy, s.label, { size = fs, ha = 0, va = 0.5 })
  end
end

-- --- rendering --------------------------------------------------------------

function Figure:render()
  local W, H = self.width, self.height
  local c = cairo.new(W, H)
  local cbar = self.image and 70 or 0
  local left, right = self.ylabel and 72 or 56, 18 + cbar
  local top, bottom = self.title and 36 or 14, self.xlabel and 52 or 34
  local px, py, pw, ph = left, top, W - left - right, H - top - bottom
  if pw < 10 or ph < 10 then error("fig:save: figure too small for its axes", 3) end

  local x0, x1, y0, y1 = data_range(self)
  local xt, xstep, yt, ystep
  if self.image then
    x0, x1, y0, y1 = 0.5, self.image.w + 0.5, 0.5, self.image.h + 0.5
    xt, xstep = cell_ticks(self.image.w)
    yt, ystep = cell_ticks(self.image.h)
  else
    if self.xlim then x0, x1 = self.xlim[1], self.xlim[2]
    else local m = (x1 - x0) * 0.04; if m == 0 then m = 0.5 end; x0, x1 = x0 - m, x1 + m end
    if self.ylim then
      y0, y1 = self.ylim[1], self.ylim[2]
      if self.logy then y0, y1 = math.log(y0, 10), math.log(y1, 10) end
    else
      local m = (y1 - y0) * 0.05; if m == 0 then m = 0.5 end
      local bars = false
      for _, s in ipairs(self.series) do bars = bars or s.kind == "bars" end
      y0, y1 = (bars and y0 == 0) and 0 or y0 - m, y1 + m
    end
    xt, xstep = nice_ticks(x0, x1)
    if self.logy then
      yt = {}
      for k = math.ceil(y0 - 1e-9), math.floor(y1 + 1e-9) do yt[#yt + 1] = k end
      if #yt < 2 then yt, ystep = nice_ticks(y0, y1) end
    else
      yt, ystep = nice_ticks(y0, y1)
    end
  end
  local function X(v) return px + (v - x0) / (x1 - x0) * pw end
  local function Y(v)
    if self.image then return py + (v - y0) / (y1 - y0) * ph end
    if self.logy then v = v > 0 and math.log(v, 10) or 0 / 0 end
    return py + ph - (v - y0) / (y1 - y0) * ph
  end
  local function Yt(k) -- a y tick position (ticks are in log units on a log axis)
    if self.logy and not ystep then return py + ph - (k - y0) / (y1 - y0) * ph end
    return Y(k)
  end
  local function ylabel_of(k)
    if self.logy and not ystep then
      if k >= -2 and k <= 3 then return fmt_tick(10 ^ k, 10 ^ math.min(k, 0)) end
      return "1e" .. k
    end
    return fmt_tick(k, ystep)
  end

  -- grid, frame, ticks
  c:width(1)
  c:color(0.9, 0.9, 0.9)
  if not self.image then
    for _, v in ipairs(xt) do c:polyline({ X(v), X(v) }, { py, py + ph }) end
    for _, v in ipairs(yt) do c:polyline({ px, px + pw }, { Yt(v), Yt(v) }) end
  end
  c:color(0.15, 0.15, 0.15)
  for _, v in ipairs(self.xticks and self.xticks.at or xt) do
    c:polyline({ X(v), X(v) }, { py + ph, py + ph + 5 })
  end
  if self.xticks then
    for i, v in ipairs(self.xticks.at) do c:text(X(v), py + ph + 8, self.xticks.labels[i], { size = 11, va = 0 }) end
  else
    for _, v in ipairs(xt) do c:text(X(v), py + ph + 8, fmt_tick(v, xstep), { size = 11, va = 0 }) end
  end
  for _, v in ipairs(yt) do
    c:polyline({ px - 5, px }, { Yt(v), Yt(v) })
    c:text(px - 8, Yt(v), ylabel_of(v), { size = 11, ha = 1 })
  end

  -- data, clipped to the plot area
  c:clip(px, py, pw, ph)
  if self.image then c:image(self.image.rgb, px, py, pw, ph) end
  for _, s in ipairs(self.series) do
    c:color(table.unpack(s.color))
    local xs, ys = {}, {}
    for i = 1, #s.x do xs[i], ys[i] = X(s.x[i]), Y(s.y[i]) end
    if s.kind == "line" then
      c:width(s.lw); c:dash(s.dash); c:polyline(xs, ys); c:dash()
    elseif s.kind == "scatter" then
      c:markers(xs, ys, s.size)
    elseif s.kind == "bars" then
      local base = self.logy and math.min(py + ph, Y(10 ^ y0)) or Y(0)
      for i = 1, #s.x do
        local a, b = X(s.x[i]), X(s.x1[i])
        local top_ = math.min(ys[i], base)
        if ys[i] == ys[i] then c:rect(a, top_, b - a, math.abs(base - ys[i])) end
      end
      c:color(1, 1, 1); c:width(0.8)
      for i = 1, #s.x do
        local a, b = X(s.x[i]), X(s.x1[i])
        if ys[i] == ys[i] then c:rect(a, math.min(ys[i], base), b - a, math.abs(base - ys[i]), false) end
      end
    end
  end
  c:clip()
  c:color(0.15, 0.15, 0.15); c:width(1)
  c:rect(px + 0.5, py + 0.5, pw - 1, ph - 1, false)
  draw_legend(c, self, px, py, pw, ph)

  -- the colorbar of a heatmap: a gradient with its own ticks
  if self.image then
    local bx, bw = px + pw + 16, 16
    local n = 256
    local cm = self.image.cmap
    local ch = { {}, {}, {} }
    for i = 1, n do
      local r, gg, b = cmap_rgb(cm, 1 - (i - 1) / (n - 1))
      ch[1][i], ch[2][i], ch[3][i] = { r }, { gg }, { b }
    end
    c:image(tensor.new(ch, { dtype = "u8" }), bx, py, bw, ph)
    c:color(0.15, 0.15, 0.15); c:width(1)
    c:rect(bx + 0.5, py + 0.5, bw - 1, ph - 1, false)
    local lo, hi = self.image.lo, self.image.hi
    local ct, cs = nice_ticks(lo, hi, 6)
    for _, v in ipairs(ct) do
      local yy = py + ph - (v - lo) / ((hi - lo) ~= 0 and (hi - lo) or 1) * ph
      c:polyline({ bx + bw, bx + bw + 4 }, { yy, yy })
      c:text(bx + bw + 7, yy, fmt_tick(v, cs), { size = 10, ha = 0 })
    end
  end

  -- title and axis labels
  c:color(0.1, 0.1, 0.1)
  if self.title then c:text(px + pw / 2, top / 2 + 2, self.title, { size = 15, bold = true }) end
  if self.xlabel then c:text(px + pw / 2, H - 14, self.xlabel, { size = 12 }) end
  if self.ylabel then c:text(16, py + ph / 2, self.ylabel, { size = 12, angle = 90 }) end
  return c
end

function Figure:save(path)
  if type(path) ~= "string" then error("bad argument #1 to 'fig:save' (path must be a string)", 2) end
  local c = self:render()
  c:save(path)
  return self
end

-- --- plot types -------------------------------------------------------------

function plot.figure(opts) return figure(opts or {}) end

function plot.line(x, y, opts)
  local xs, ys; xs, ys, opts = xy("plot.line", x, y, opts)
  return figure(opts):line(xs, ys, opts)
end

function plot.scatter(x, y, opts)
  local xs, ys; xs, ys, opts = xy("plot.scatter", x, y, opts)
  local fig = figure(opts)
  fig:scatter(xs, ys, opts)
  if opts.c ~= nil and fig.legend == nil then fig.legend = "upper right" end
  return fig
end

function plot.hist(v, opts)
  opts = opts or {}
  local xs = numbers(v, "plot.hist", 1, "v")
  local bins = opts.bins or 10
  if math.type(bins) ~= "integer" or bins < 1 then argerr("plot.hist", 2, "bins must be a positive integer") end
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do if x == x then lo, hi = math.min(lo, x), math.max(hi, x) end end
  if lo > hi then lo, hi = 0, 1 end
  if lo == hi then lo, hi = lo - 0.5, hi + 0.5 end
  local counts, e0, e1 = {}, {}, {}
  for i = 1, bins do counts[i] = 0; e0[i] = lo + (hi - lo) * (i - 1) / bins; e1[i] = lo + (hi - lo) * i / bins end
  for _, x in ipairs(xs) do
    if x == x then
      local i = math.min(bins, math.floor((x - lo) / (hi - lo) * bins) + 1)
      counts[i] = counts[i] + 1
    end
  end
  local fig = figure(opts)
  fig.ylabel = fig.ylabel or "count"
  return fig:add { kind = "bars", x = e0, x1 = e1, y = counts, label = opts.label, color = opts.color }
end

function plot.bar(labels, values, opts)
  opts = opts or {}
  if type(labels) ~= "table" then argerr("plot.bar", 1, "labels must be a table") end
  local ys = numbers(values, "plot.bar", 2, "values")
  if #labels ~= #ys then argerr("plot.bar", 2, string.format("%d values for %d labels", #ys, #labels)) end
  local x0, x1, names = {}, {}, {}
  for i = 1, #ys do x0[i], x1[i], names[i] = i - 0.4, i + 0.4, tostring(labels[i]) end
  local fig = figure(opts)
  fig.xticks = { at = iota(#ys), labels = names }
  fig.xlim = fig.xlim or { 0.4, #ys + 0.6 }
  return fig:add { kind = "bars", x = x0, x1 = x1, y = ys, label = opts.label, color = opts.color }
end

function plot.heatmap(M, opts)
  opts = opts or {}
  if not tensor.is_tensor(M) or M:dim() ~= 2 then argerr("plot.heatmap", 1, "M must be a 2-d tensor") end
  local cm = cmaps[opts.cmap or "viridis"]
  if not cm then argerr("plot.heatmap", 2, "unknown cmap '" .. tostring(opts.cmap) .. "' (viridis, magma, gray, coolwarm)") end
  local h, w = M:size(1), M:size(2)
  if h == 0 or w == 0 then argerr("plot.heatmap", 1, "M is empty") end
  local rows = M:tolist()
  local lo, hi = opts.vmin or math.huge, opts.vmax or -math.huge
  if not (opts.vmin and opts.vmax) then
    for i = 1, h do for j = 1, w do
      local v = rows[i][j]
      if v == v then
        if not opts.vmin then lo = math.min(lo, v) end
        if not opts.vmax then hi = math.max(hi, v) end
      end
    end end
  end
  if lo > hi then lo, hi = 0, 1 end
  local ch = { {}, {}, {} }
  for i = 1, h do
    local r, g, b = {}, {}, {}
    for j = 1, w do
      r[j], g[j], b[j] = cmap_rgb(cm, hi > lo and (rows[i][j] - lo) / (hi - lo) or 0.5)
    end
    ch[1][i], ch[2][i], ch[3][i] = r, g, b
  end
  local fig = figure(opts)
  fig.image = { rgb = tensor.new(ch, { dtype = "u8" }), w = w, h = h, lo = lo, hi = hi, cmap = cm }
  return fig
end

-- --- ROC and precision-recall ------------------------------------------------

-- (fp, tp) counts after each distinct score, scores descending; ties are
-- one step. Returns the lists, with P and N.
local function sweep(fn, scores, labels)
  local s = numbers(scores, fn, 1, "scores")
  local y = numbers(labels, fn, 2, "labels")
  if #s ~= #y then argerr(fn, 2, string.format("labels has %d values but scores has %d", #y, #s)) end
  local idx = iota(#s)
  table.sort(idx, function(a, b) return s[a] > s[b] end)
  local fps, tps, P, N = { 0 }, { 0 }, 0, 0
  for _, v in ipairs(y) do if v ~= 0 then P = P + 1 else N = N + 1 end end
  if P == 0 or N == 0 then argerr(fn, 2, "labels need both positives and negatives") end
  local tp, fp = 0, 0
  for k, i in ipairs(idx) do
    if y[i] ~= 0 then tp = tp + 1 else fp = fp + 1 end
    if k == #idx or s[idx[k + 1]] ~= s[i] then fps[#fps + 1], tps[#tps + 1] = fp, tp end
  end
  return fps, tps, P, N
end

-- roc curve points and trapezoid AUC
function plot.roc_curve(scores, labels)
  local fps, tps, P, N = sweep("plot.roc", scores, labels)
  local fpr, tpr, auc = {}, {}, 0
  for i = 1, #fps do
    fpr[i], tpr[i] = fps[i] / N, tps[i] / P
    if i > 1 then auc = auc + (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2 end
  end
  return fpr, tpr, auc
end

-- precision-recall points and average precision (sum of dR * P, as sklearn)
function plot.pr_curve(scores, labels)
  local fps, tps, P = sweep("plot.pr", scores, labels)
  local rec, prec, ap = { 0 }, { 1 }, 0
  for i = 2, #fps do
    rec[i], prec[i] = tps[i] / P, tps[i] / (tps[i] + fps[i])
    ap = ap + (rec[i] - rec[i - 1]) * prec[i]
  end
  return rec, prec, ap
end

function Figure:roc(scores, labels, opts)
  opts = opts or {}
  local fpr, tpr, auc = plot.roc_curve(scores, labels)
  local name = opts.label and (opts.label .. " ") or ""
  return self:line(fpr, tpr, { label = string.format("%sAUC = %.3f", name, auc), color = opts.color })
end

function Figure:pr(scores, labels, opts)
  opts = opts or {}
  local rec, prec, ap = plot.pr_curve(scores, labels)
  local name = opts.label and (opts.label .. " ") or ""
  return self:line(rec, prec, { label = string.format("%sAP = %.3f", name, ap), color = opts.color })
end

local function unit_axes(opts, title, xl, yl, legend)
  local o = {}
  for k, v in pairs(opts or {}) do o[k] = v end
  o.title = o.title or title
  o.xlabel, o.ylabel = o.xlabel or xl, o.ylabel or yl
  o.xlim, o.ylim = o.xlim or { -0.02, 1.02 }, o.ylim or { -0.02, 1.02 }
  o.legend = o.legend or legend
  return figure(o)
end

function plot.roc(scores, labels, opts)
  local fig = unit_axes(opts, "ROC curve", "false positive rate", "true positive rate", "lower right")
  fig:add { kind = "line", x = { 0, 1 }, y = { 0, 1 }, color = { 0.6, 0.6, 0.6 }, lw = 1, dash = 4 }
  fig:roc(scores, labels, opts)
  fig.series[2].color = (opts and opts.color) or tab10[1]
  return fig
end

function plot.pr(scores, labels, opts)
  local fig = unit_axes(opts, "Precision-recall curve", "recall", "precision", "lower left")
  return fig:pr(scores, labels, opts)
end

for _, d in ipairs {
  { "figure", "plot.figure({title=, xlabel=, ylabel=, logy=, width=640, height=480, xlim=, ylim=, legend=})", "an empty figure to add series to" },
  { "line", "plot.line([x,] y, {label=, color=, linewidth=2, dash=, title=, xlabel=, ylabel=, logy=, width=, height=})", "a line plot figure; x defaults to 1..#y" },
  { "scatter", "plot.scatter(x, y, {c=labels, size=3, label=, ...})", "a scatter plot figure; c colours points by label, with a legend" },
  { "hist", "plot.hist(v, {bins=10, ...})", "a histogram figure of the values of v" },
  { "bar", "plot.bar(labels, values, {...})", "a bar chart figure, one bar per label" },
  { "heatmap", "plot.heatmap(M, {cmap='viridis', vmin=, vmax=, ...})", "a heatmap figure of a 2-d tensor with a colorbar (cmaps: viridis, magma, gray, coolwarm)" },
  { "roc", "plot.roc(scores, labels, {label=, ...})", "a ROC curve figure (labels 1/true positive), AUC in the legend" },
  { "pr", "plot.pr(scores, labels, {label=, ...})", "a precision-recall curve figure, average precision in the legend" },
  { "roc_curve", "plot.roc_curve(scores, labels)", "fpr, tpr lists (ties grouped) and the trapezoid AUC" },
  { "pr_curve", "plot.pr_curve(scores, labels)", "recall, precision lists (ties grouped) and the average precision" },
} do sonde.doc("plot." .. d[1], d[2], d[3]) end
sonde.doc("Figure:line", "fig:line([x,] y, {label=, color=, linewidth=, dash=})", "add a line series")
sonde.doc("Figure:scatter", "fig:scatter(x, y, {label=, c=, size=})", "add scatter series")
sonde.doc("Figure:roc", "fig:roc(scores, labels, {label=})", "add a ROC curve with its AUC")
sonde.doc("Figure:pr", "fig:pr(scores, labels, {label=})", "add a precision-recall curve with its AP")
sonde.doc("Figure:save", "fig:save(path)", "draw the figure and write it as PNG, atomically")

plot.Figure = Figure
return plot
