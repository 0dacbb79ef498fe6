-- test_image_labels.lua: image.grid with labels= draws text on each tile's
-- bottom strip and leaves the rest of the grid as it was.
local T = require "testlib"

local imgs = tensor.full({ 4, 1, 24, 24 }, 0.5)

T.test("labels are drawn in the tiles' bottom strips only", function()
  local plain = image.grid(imgs, { ncol = 2 })
  local g = image.grid(imgs, { ncol = 2, labels = { "a", "bb", "ccc", "W" } })
  T.eq(g:shape(), { 3, plain:size(2), plain:size(3) })
  T.eq(g:dtype(), "f32")
  -- the top of the first tile is untouched (0.5 gray, rounded to u8 and back)
  T.near(g[{ 1, {3, 10}, {3, 20} }]:mean():item(), 128 / 255, 1e-6)
  -- its bottom strip is darker and holds white text
  local strip = g[{ 1, {3 + 24 - 9, 3 + 24 - 1}, {3, 3 + 23} }]
  T.ok(strip:amin():item() < 0.3, "dark strip")
  T.ok(strip:amax():item() > 0.7, "white text")
  local u8 = image.grid(imgs:mul(255):to("u8"), { ncol = 2, labels = { "x" } })
  T.eq(u8:dtype(), "u8")
end)

T.test("label errors", function()
  T.raises(function() image.grid(imgs, { labels = "abc" }) end, "labels must be a list of strings")
  T.raises(function() image.grid(imgs, { labels = { "1", "2", "3", "4", "5" } }) end, "5 labels for 4 images")
end)

T.done()
