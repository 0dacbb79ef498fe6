-- init.lua: the prelude. Makes the stdlib's modules reachable as globals,
-- loaded on first use so start-up stays fast.
local preload = package.preload
-- A recipe file run as a plain script meets `experiment` here: recipes
-- run under `sonde run`, which defines it.
local function experiment(name)
  error(string.format("experiment %q: a recipe runs with `sonde run FILE [k=v ...]` "
    .. "(its params: `sonde show FILE`)", tostring(name)), 2)
end

setmetatable(_G, {
  __index = function(_, name)
    if preload[name] and name ~= "init" then return require(name) end
    if name == "experiment" then return experiment end
  end,
})

-- data.loader lives in Lua (stdlib/data_loader.lua), loaded on first call.
local data = package.loaded.data
if data and not data.loader then
  data.loader = function(...) return require("data_loader")(...) end
end

-- data.synthetic and the dataset transforms live in stdlib/synthetic.lua,
-- loaded on first use.
if data and not data.synthetic then
  local function synthetic() return require "synthetic" end
  data.synthetic = setmetatable({}, {
    __index = function(_, k) return synthetic()[k] end,
    __pairs = function() return next, synthetic(), nil end,
  })
  for _, name in ipairs {"label_noise", "long_tail", "split"} do
    data[name] = function(...) return synthetic()[name](...) end
  end
end

-- data.image_folder lives in Lua (stdlib/image_folder.lua), loaded on first call.
if data and not data.image_folder then
  data.image_folder = function(...) return require("image_folder")(...) end
end

-- image.grid with labels= draws them with cairo (stdlib/image_labels.lua),
-- loaded only when labels are asked for.
if image and image.grid then
  local grid = image.grid
  image.grid = function(images, opts)
    if type(opts) == "table" and opts.labels ~= nil then
      return require("image_labels")(grid, images, opts)
    end
    return grid(images, opts)
  end
end
