-- test_image_folder.lua: data.listdir and data.image_folder on a folder
-- tree made here.
local T = require "testlib"
local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir -p '" .. tmp .. "/cat' '" .. tmp .. "/dog' '" .. tmp .. "/empty'")
local function img(v) return tensor.full({ 1, 4, 5 }, v, { dtype = "u8" }) end
data.save_png(tmp .. "/dog/b.png", img(30))
data.save_png(tmp .. "/dog/a.png", img(20))
data.save_png(tmp .. "/cat/x.png", img(10))
local f = io.open(tmp .. "/cat/notes.txt", "w"); f:write("not an image"); f:close()

T.test("listdir is sorted and tells kinds", function()
  local names, kinds = data.listdir(tmp)
  T.eq(names, { "cat", "dog", "empty" })
  T.eq(kinds, { "dir", "dir", "dir" })
  local files, fk = data.listdir(tmp .. "/cat")
  T.eq(files, { "notes.txt", "x.png" })
  T.eq(fk, { "file", "file" })
  T.raises(function() data.listdir(tmp .. "/nope") end, "listdir: " .. tmp .. "/nope")
end)

T.test("image_folder: classes from sorted sub-folders, files sorted, 1-based labels", function()
  local X, y, classes = data.image_folder(tmp)
  T.eq(classes, { "cat", "dog", "empty" })
  T.eq(X:shape(), { 3, 1, 4, 5 })
  T.eq(X:dtype(), "f32")
  T.eq(y:tolist(), { 1, 2, 2 })
  T.near(X[{ {}, 1, 1, 1 }]:tolist(), { 10 / 255, 20 / 255, 30 / 255 }, 1e-6)
  local R = data.image_folder(tmp, { raw = true })
  T.eq(R:dtype(), "u8")
end)

T.test("image_folder errors name the problem", function()
  data.save_png(tmp .. "/dog/c.png", tensor.zeros(1, 3, 3, { dtype = "u8" }))
  T.raises(function() data.image_folder(tmp) end, "c.png is 1x3x3, expected 1x4x5")
  T.raises(function() data.image_folder(tmp .. "/cat") end, "no sub-folders")
end)

os.execute("rm -rf '" .. tmp .. "'")
T.done()
