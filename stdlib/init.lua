-- init.lua: the prelude. Makes the stdlib's modules reachable as globals,
-- loaded on first use so start-up stays fast.
local preload = package.preload
setmetatable(_G, {
  __index = function(_, name)
    if preload[name] and name ~= "init" then return require(name) end
  end,
})
