-- image_labels.lua: image.grid(images, {labels=}) draws each label on a
-- dark strip at the bottom of its tile, with cairo's text (plot.cairo).
-- The grid itself comes from the C image.grid; the labelled result is RGB
-- (3 channels), u8 for u8 images and f32/f64 in [0, 1] otherwise.
local cairo = require "plot.cairo"

return function(grid, images, opts)
  local labels = opts.labels
  if type(labels) ~= "table" then error("bad argument #2 to 'grid' (labels must be a list of strings)", 3) end
  local g = grid(images, opts)
  local n, H, W
  if tensor.is_tensor(images) then
    n, H, W = images:size(1), images:size(-2), images:size(-1)
  else
    n, H, W = #images, images[1]:size(-2), images[1]:size(-1)
  end
  if #labels > n then
    error(string.format("bad argument #2 to 'grid' (%d labels for %d images)", #labels, n), 3)
  end
  local ncol, pad = math.min(opts.ncol or 8, n), opts.padding or 2
  local float = g:dtype() ~= "u8"
  local u = float and (g:clamp(0, 1) * 255):round():to("u8") or g
  local C = u:size(1)
  u = C >= 3 and u:narrow(1, 1, 3) or u:narrow(1, 1, 1):expand(3, u:size(2), u:size(3))
  local cv = cairo.new(u:size(3), u:size(2))
  cv:image(u:contiguous(), 0, 0, u:size(3), u:size(2))
  local size = math.max(6, math.min(12, H // 3))
  for i, s in ipairs(labels) do
    local r, c = (i - 1) // ncol, (i - 1) % ncol
    local x0, y0, strip = pad + c * (W + pad), pad + r * (H + pad), size + 2
    cv:color(0, 0, 0, 0.6)
    cv:rect(x0, y0 + H - strip, W, strip)
    cv:color(1, 1, 1)
    cv:text(x0 + W / 2, y0 + H - strip / 2, tostring(s), { size = size })
  end
  local out = cv:pixels()
  if float then out = out:to(g:dtype()):div(255) end
  return out
end
