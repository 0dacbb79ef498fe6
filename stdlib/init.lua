-- init.lua: the prelude. Makes the stdlib's modules reachable as globals,
-- loaded on first use so start-up stays fast.
local preload = package.preload
setmetatable(_G, {
  __index = function(_, name)
    if preload[name] and name ~= "init" then return require(name) end
  end,
})

-- data.loader lives in Lua (stdlib/data_loader.lua), loaded on first call.
local data = package.loaded.data
if data and not data.loader then
  data.loader = function(...) return require("data_loader")(...) end
end
