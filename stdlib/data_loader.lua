-- data_loader.lua: data.loader(X, y, {batch=, shuffle=, gen=, drop_last=})
-- batches the rows (dim 1) of X and y. With shuffle, each epoch draws a
-- permutation from gen (or the default generator) and a batch is an
-- index_select of its rows; without, a batch is a view. Nothing else of X
-- is copied, so X may be large.
--   for xb, yb in loader do ... end          -- one epoch
--   for xb, yb in loader:iter() do ... end   -- the same, restartable
local sonde = require "sonde"

local Loader = {}
Loader.__index = Loader

local function new(X, y, opts)
  if not tensor.is_tensor(X) then error("data.loader: X must be a tensor", 2) end
  if y ~= nil and not tensor.is_tensor(y) then
    if opts == nil and type(y) == "table" then y, opts = nil, y
    else error("data.loader: y must be a tensor or nil", 2) end
  end
  opts = opts or {}
  local n = X:dim() > 0 and X:size(1) or 0
  if y and (y:dim() == 0 or y:size(1) ~= n) then
    error(string.format("data.loader: X has %d rows but y has %s", n, y:dim() == 0 and "none" or y:size(1)), 2)
  end
  local batch = opts.batch or 64
  if math.type(batch) ~= "integer" or batch < 1 then error("data.loader: batch must be a positive integer", 2) end
  local self = setmetatable({
    X = X, y = y, n = n, batch = batch, shuffle = opts.shuffle or false,
    gen = opts.gen, drop_last = opts.drop_last or false, transform = opts.transform,
  }, Loader)
  return self
end

-- Number of batches per epoch.
function Loader:__len()
  if self.drop_last then return self.n // self.batch end
  return (self.n + self.batch - 1) // self.batch
end

-- A fresh epoch: an iterator over (xb, yb) pairs.
function Loader:iter()
  local perm = self.shuffle and self.n > 0 and tensor.randperm(self.n, { gen = self.gen }) or nil
  local nb, k = #self, 0
  local X, y, bs, tf = self.X, self.y, self.batch, self.transform
  return function()
    k = k + 1
    if k > nb then return nil end
    local start = (k - 1) * bs + 1
    local len = math.min(bs, self.n - start + 1)
    local xb, yb
    if perm then
      local idx = perm:narrow(1, start, len)
      xb, yb = X:index_select(1, idx), y and y:index_select(1, idx)
    else
      xb, yb = X:narrow(1, start, len), y and y:narrow(1, start, len)
    end
    if tf then xb = tf(xb) end
    return xb, yb
  end
end

-- `for xb, yb in loader do`: the loader is its own iterator, starting a
-- new epoch after the last one ended.
function Loader:__call()
  if not self.current then self.current = self:iter() end
  local xb, yb = self.current()
  if xb == nil then self.current = nil end
  return xb, yb
end

function Loader:__tostring()
  return string.format("data.loader(%d rows, batch %d%s, %d batches)", self.n, self.batch,
    self.shuffle and ", shuffled" or "", #self)
end

sonde.doc("data.loader", "data.loader(X, [y], {batch=64, shuffle=false, gen=, drop_last=false, transform=})",
  "batches of the rows of X (and y); `for xb, yb in loader` is one epoch, seeded shuffle by gen")

return new
