-- render.lua: draws a source file as Vim highlighted it (runs from
-- spans.vim) to a PNG with sonde's cairo canvas: one fixed cell per
-- character, so the sans-serif font still lines up as code does.
-- usage: sonde editor-support/screenshot/render.lua SOURCE SPANS OUT.png
local source, spans_path, out = arg[1], arg[2], arg[3]

local palette = { -- a light theme; sonde's groups first
  sondeForm = { 0.60, 0.10, 0.55, true },
  sondeFormKey = { 0.75, 0.35, 0.00, false },
  sondeModule = { 0.00, 0.45, 0.55, true },
  sondeFunction = { 0.00, 0.40, 0.75, false },
  sondeMethod = { 0.00, 0.40, 0.75, false },
  sondeGlobal = { 0.00, 0.40, 0.75, false },
  Comment = { 0.45, 0.50, 0.45, false },
  String = { 0.65, 0.15, 0.10, false },
  Constant = { 0.65, 0.15, 0.10, false },
  Number = { 0.10, 0.50, 0.10, false },
  Float = { 0.10, 0.50, 0.10, false },
  Statement = { 0.15, 0.15, 0.60, true },
  Keyword = { 0.15, 0.15, 0.60, true },
  Repeat = { 0.15, 0.15, 0.60, true },
  Conditional = { 0.15, 0.15, 0.60, true },
  Operator = { 0.15, 0.15, 0.60, false },
  Function = { 0.15, 0.15, 0.60, true },
  Identifier = { 0.35, 0.25, 0.10, false },
  Special = { 0.55, 0.30, 0.00, false },
}
local plain = { 0.12, 0.12, 0.12, false }

local lines = {}
for line in io.lines(source) do lines[#lines + 1] = (line:gsub("\t", "  ")) end
local style = {} -- style[l][c]
for l = 1, #lines do style[l] = {} end
for row in io.lines(spans_path) do
  local l, c, n, g = row:match("^(%d+)\t(%d+)\t(%d+)\t(.*)$")
  l, c, n = tonumber(l), tonumber(c), tonumber(n)
  for i = c, c + n - 1 do style[l][i] = palette[g] or plain end
end

local size, cw, lh, margin, gutter = 14, 8.4, 20, 16, 40
local width = 0
for _, s in ipairs(lines) do width = math.max(width, #s) end
local W = math.floor(2 * margin + gutter + width * cw + 0.5)
local H = 2 * margin + #lines * lh
local c = require("plot.cairo").new(W, H)
c:color(0.98, 0.98, 0.96)
c:rect(0, 0, W, H)
c:color(0.93, 0.93, 0.90)
c:rect(0, 0, margin + gutter - 8, H)
for l, s in ipairs(lines) do
  local y = margin + (l - 0.5) * lh
  c:color(0.6, 0.6, 0.6)
  c:text(margin + gutter - 16, y, tostring(l), { size = size - 3, ha = 1 })
  for i = 1, #s do
    local ch = s:sub(i, i)
    if ch ~= " " then
      local st = style[l][i] or plain
      c:color(st[1], st[2], st[3])
      c:text(margin + gutter + (i - 0.5) * cw, y, ch, { size = size, bold = st[4] })
    end
  end
end
c:save(out)
