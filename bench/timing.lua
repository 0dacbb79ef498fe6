-- timing.lua: what the sonde side of every benchmark shares: the best
-- wall-clock time of several runs (after one warm-up) and the "name ms"
-- lines the shell scripts join with the peer's.
local M = {}

-- best(reps, fn): the fastest of reps runs of fn, in milliseconds
function M.best(reps, fn)
  fn()
  local t = math.huge
  for _ = 1, reps do
    local t0 = tensor.clock()
    fn()
    t = math.min(t, tensor.clock() - t0)
  end
  return t * 1e3
end

function M.out(name, ms) print(string.format("%s %.4f", name, ms)) end

return M
