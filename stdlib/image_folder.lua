-- image_folder.lua: data.image_folder(root, {raw=false}) reads a folder of
-- PNG files whose sub-folder names are the classes (root/cat/1.png, ...),
-- like torchvision's ImageFolder. Classes are the sub-folders in sorted
-- order, labelled 1..C; files are read in sorted order within each.
-- Returns X (N×C×H×W, f32 in [0,1], or u8 with raw=true), y (i64) and the
-- class names. Every image must have the first one's shape.
local sonde = require "sonde"

local function image_folder(root, opts)
  if type(root) ~= "string" then error("data.image_folder: root must be a path", 2) end
  opts = opts or {}
  local names, kinds = data.listdir(root)
  local classes, images, labels, first_path = {}, {}, {}, nil
  for i, name in ipairs(names) do
    if kinds[i] == "dir" then
      classes[#classes + 1] = name
      local dir = root .. "/" .. name
      local files, fkinds = data.listdir(dir)
      for j, f in ipairs(files) do
        if fkinds[j] == "file" and f:lower():match("%.png$") then
          local path = dir .. "/" .. f
          local img = data.load_png(path)
          local first = images[1]
          if first and table.concat(img:shape(), "x") ~= table.concat(first:shape(), "x") then
            error(string.format("data.image_folder: %s is %s, expected %s like %s", path,
              table.concat(img:shape(), "x"), table.concat(first:shape(), "x"), first_path), 2)
          end
          first_path = first_path or path
          images[#images + 1] = img
          labels[#labels + 1] = #classes
        end
      end
    end
  end
  if #classes == 0 then error("data.image_folder: " .. root .. " has no sub-folders (one per class)", 2) end
  if #images == 0 then error("data.image_folder: no .png files under " .. root, 2) end
  local X = tensor.stack(images, 1)
  if not opts.raw and X:dtype() == "u8" then X = X:to("f32"):div(255) end
  return X, tensor.new(labels, { dtype = "i64" }), classes
end

sonde.doc("data.image_folder", "data.image_folder(root, {raw=false})",
  "PNGs in root/<class>/*.png: X N×C×H×W (f32 in [0,1], u8 with raw), y 1..C, class names (sorted)")

return image_folder
