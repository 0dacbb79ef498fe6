-- recipe.lua: the experiment form and the commands `sonde run`, `show`,
-- `verify`, `runs` and `sweep`. A recipe file calls
-- `experiment "name" { about=, params=, run= }`; a run gets a fresh
-- directory runs/<name>/<date>-<hex>/ with manifest.json, metrics.jsonl,
-- log.txt, status and its artifacts. Everything written uses sorted keys
-- and %.17g floats, so the same recipe, params and seed give the same
-- bytes on any thread count. `sonde run --safe` confines a recipe: see
-- install() below and runtime/io/guard.c.
local M = {}

-- Captured before any recipe runs: a --safe run hides or wraps the
-- globals, and sonde's own bookkeeping keeps using these.
local io_open, io_lines, io_input, io_output, io_write = io.open, io.lines, io.input, io.output, io.write
local io_popen, os_execute, os_remove, os_rename = io.popen, os.execute, os.remove, os.rename
local load0, loadfile0, dofile0 = load, loadfile, dofile
local traceback = debug.traceback
local io_confine, io_record = data.io_confine, data.io_record
local limits = rawget(_G, "sonde") and sonde.limits -- the sonde program's (interp/main.c); nil in sonde.so

-- A usage error prints without a traceback; tostring gives its message.
-- A failed run's error carries its own traceback, so it goes the same way.
local usage_mt = { __tostring = function(e) return e.usage end }
local function usage_error(msg) error(setmetatable({ usage = msg }, usage_mt), 0) end

-- --- deterministic helpers ---

-- sorted_pairs(t): pairs in sorted key order (numbers before strings), so
-- the randomly seeded string hash never reaches a result.
function M.sorted_pairs(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b)
    local ta, tb = type(a), type(b)
    if ta ~= tb then return ta < tb end
    return a < b
  end)
  local i = 0
  return function()
    i = i + 1
    local k = keys[i]
    if k ~= nil then return k, t[k] end
  end
end
local sorted_pairs = M.sorted_pairs

local function read_file(path)
  local f, err = io_open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

local function read_lines(path)
  local lines, f = {}, io_open(path, "rb")
  if not f then return lines end
  for line in f:lines() do lines[#lines + 1] = line end
  f:close()
  return lines
end

-- write_atomic(path, text): a temp file renamed into place, so a reader
-- (or a kill) sees the old content or the new, never half of it.
local function write_atomic(path, text)
  local tmp = path .. ".tmp"
  local f = assert(io_open(tmp, "wb"))
  assert(f:write(text))
  assert(f:close())
  assert(os_rename(tmp, path))
end

-- --- JSON (writer: sorted keys, %.17g; reader: enough for what we write) ---

local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_number(x)
  if math.type(x) == "integer" then return string.format("%d", x) end
  if x ~= x then return "NaN" end
  if x == math.huge then return "Infinity" end
  if x == -math.huge then return "-Infinity" end
  return string.format("%.17g", x)
end

-- shortest(x): the shortest %g form that reads back as x (for people; files
-- use %.17g).
function M.shortest(x)
  for digits = 6, 16 do
    local s = string.format("%." .. digits .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

-- tables with this metatable are written as objects even when empty
-- ({} and not []); json_decode gives it to every object it reads.
local object_mt = {}
function M.object(t) return setmetatable(t or {}, object_mt) end

local function json(v, where)
  local tv = type(v)
  if tv == "number" then return json_number(v)
  elseif tv == "string" then return json_string(v)
  elseif tv == "boolean" then return tostring(v)
  elseif v == nil then return "null"
  elseif tensor.is_tensor(v) then
    if v:numel() ~= 1 then
      error(string.format("json: %s is a tensor of %d elements (only 1-element tensors are numbers)",
        where, v:numel()), 0)
    end
    return json_number(v:item())
  elseif tv == "table" then
    local n, count = #v, 0
    for _ in pairs(v) do count = count + 1 end
    local parts = {}
    if count == n and (n > 0 or next(v) == nil) and getmetatable(v) ~= object_mt then
      for i = 1, n do parts[i] = json(v[i], where .. "[" .. i .. "]") end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    for k, x in sorted_pairs(v) do
      if type(k) ~= "string" then error("json: " .. where .. " mixes string and other keys", 0) end
      parts[#parts + 1] = json_string(k) .. ":" .. json(x, where .. "." .. k)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  error("json: " .. where .. " is a " .. tv .. " (numbers, strings, booleans, tables only)", 0)
end
function M.json(v) return json(v, "value") end

-- json_decode(s): objects, arrays, strings, numbers, true/false/null.
function M.json_decode(s)
  local pos = 1
  local function ws() pos = s:find("[^ \t\r\n]", pos) or #s + 1 end
  local function fail(what) error(string.format("json: %s at byte %d", what, pos), 0) end
  local value
  local function str()
    local out = {}
    pos = pos + 1
    while true do
      local c = s:sub(pos, pos)
      if c == "" then fail("unterminated string") end
      if c == '"' then pos = pos + 1; return table.concat(out) end
      if c == "\\" then
        local e = s:sub(pos + 1, pos + 1)
        if e == "u" then
          out[#out + 1] = utf8.char(tonumber(s:sub(pos + 2, pos + 5), 16))
          pos = pos + 6
        else
          out[#out + 1] = ({ n = "\n", r = "\r", t = "\t", b = "\b", f = "\f" })[e] or e
          pos = pos + 2
        end
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
  end
  function value()
    ws()
    local c = s:sub(pos, pos)
    if c == "{" then
      local t = M.object()
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "}" then pos = pos + 1; return t end
      while true do
        ws()
        if s:sub(pos, pos) ~= '"' then fail("expected a key") end
        local k = str(); ws()
        if s:sub(pos, pos) ~= ":" then fail("expected ':'") end
        pos = pos + 1
        t[k] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "}" then return t end
        if d ~= "," then fail("expected ',' or '}'") end
      end
    elseif c == "[" then
      local t = {}
      pos = pos + 1; ws()
      if s:sub(pos, pos) == "]" then pos = pos + 1; return t end
      while true do
        t[#t + 1] = value(); ws()
        local d = s:sub(pos, pos); pos = pos + 1
        if d == "]" then return t end
        if d ~= "," then fail("expected ',' or ']'") end
      end
    elseif c == '"' then return str()
    end
    for word, v in pairs { ["true"] = true, ["false"] = false, NaN = 0 / 0,
                           Infinity = math.huge, ["-Infinity"] = -math.huge } do
      if s:sub(pos, pos + #word - 1) == word then pos = pos + #word; return v end
    end
    if s:sub(pos, pos + 3) == "null" then pos = pos + 4; return nil end
    local num = s:match("^-?[%d.eE+-]+", pos)
    if not num or not tonumber(num) then fail("unexpected character") end
    pos = pos + #num
    return tonumber(num)
  end
  local v = value(); ws()
  if pos <= #s then fail("trailing characters") end
  return v
end

-- --- params: typed by their default ---

local function kind_of(v)
  local t = type(v)
  if t == "number" then return math.type(v) == "integer" and "integer" or "number" end
  if t == "table" then return "list" end
  if t == "string" or t == "boolean" then return t end
end

local function show_value(v)
  if type(v) == "table" then
    local parts = {}
    for i, x in ipairs(v) do parts[i] = show_value(x) end
    return table.concat(parts, ",")
  end
  if math.type(v) == "float" then return M.shortest(v) end
  return tostring(v)
end

-- the param table of a recipe: name -> {kind, default, doc, elem}
local function param_specs(name, params)
  local specs = {}
  for k, p in pairs(params or {}) do
    if type(k) ~= "string" or type(p) ~= "table" or p[1] == nil then
      error(string.format("experiment '%s': param %s must be { default, \"doc\" }", name, tostring(k)), 0)
    end
    local kind = kind_of(p[1])
    if not kind then
      error(string.format("experiment '%s': param '%s' has a default of type %s", name, k, type(p[1])), 0)
    end
    local elem = kind == "list" and (kind_of(p[1][1]) or "string") or nil
    specs[k] = { kind = kind, default = p[1], doc = p[2] or "", elem = elem }
  end
  return specs
end

local function valid_keys(r)
  local lines = { "valid params of '" .. r.name .. "':" }
  for k, s in sorted_pairs(r.specs) do
    lines[#lines + 1] = string.format("  %s (%s, default %s)  %s", k,
      s.kind == "list" and "list of " .. s.elem or s.kind, show_value(s.default), s.doc)
  end
  if not next(r.specs) then lines[#lines + 1] = "  (none)" end
  return table.concat(lines, "\n")
end

local function parse_scalar(kind, s)
  if kind == "string" then return s end
  if kind == "boolean" then
    if s == "true" or s == "1" then return true end
    if s == "false" or s == "0" then return false end
    return nil
  end
  local n = tonumber(s)
  if n == nil then return nil end
  if kind == "integer" then return math.tointeger(n) end
  return n + 0.0
end

-- coerce(kind, v): a value of a params file or manifest, checked and
-- converted (an integer given for a number param becomes a float).
local function coerce(kind, v)
  if kind == "integer" then return math.type(v) and math.tointeger(v) or nil end
  if kind == "number" then return type(v) == "number" and v + 0.0 or nil end
  if type(v) == kind then return v end
end

local function set_param(r, values, k, v, from_string)
  local s = r.specs[k]
  if not s then usage_error("unknown param '" .. tostring(k) .. "'\n" .. valid_keys(r)) end
  local out
  if s.kind == "list" then
    local items = {}
    if from_string then
      for item in (v .. ","):gmatch("([^,]*),") do items[#items + 1] = item end
      if v == "" then items = {} end
    elseif type(v) == "table" then items = v
    else items = nil end
    if items then
      out = {}
      for i, x in ipairs(items) do
        if from_string then out[i] = parse_scalar(s.elem, x) else out[i] = coerce(s.elem, x) end
        if out[i] == nil then out = nil; break end
      end
    end
  else
    if from_string then out = parse_scalar(s.kind, v) else out = coerce(s.kind, v) end
  end
  if out == nil then
    usage_error(string.format("param '%s' wants %s, got %s\n%s", k,
      s.kind == "list" and "a list of " .. s.elem or (s.kind == "integer" and "an " or "a ") .. s.kind,
      from_string and "'" .. v .. "'" or type(v), valid_keys(r)))
  end
  values[k] = out
end

-- resolve(r, file_values, args): defaults, then a params table, then
-- "key=value" strings.
function M.resolve(r, file_values, args)
  local values = {}
  for k, s in pairs(r.specs) do
    values[k] = s.kind == "list" and table.move(s.default, 1, #s.default, 1, {}) or s.default
  end
  for k, v in sorted_pairs(file_values or {}) do set_param(r, values, k, v, false) end
  for _, a in ipairs(args or {}) do
    local k, v = a:match("^([^=]+)=(.*)$")
    if not k then usage_error("expected key=value, got '" .. a .. "'\n" .. valid_keys(r)) end
    set_param(r, values, k, v, true)
  end
  return values
end

-- --- the doors of a recipe: files it reads, what --safe forbids ---

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function dirname(path) return path:match("^(.*)/[^/]*$") or "." end

local function under(root, path)
  return root == "/" or path == root or path:sub(1, #root + 1) == root .. "/"
end

-- install(opts): wraps the globals a recipe reaches files through, while it
-- loads and runs. Reads are reported to runtime/io's guard (recorded for
-- the manifest; refused outside the data roots once confined), and so are
-- writes (refused outside the run directory once confined). With opts.safe
-- the doors out of the sandbox are shut: os.execute, io.popen, os.exit,
-- os.tmpname, os.setlocale, package.loadlib, debug, C modules from disk,
-- binary chunks, dofile/loadfile outside opts.recipe_dir (resolved), and
-- the recipe module itself (its functions write anywhere) and the guard's
-- switches. Returns the function that puts everything back; a --safe run
-- never calls it, so finalizers the recipe left behind stay sandboxed.
local function install(opts)
  local saved = {}
  local function set(t, k, v)
    saved[#saved + 1] = { t, k, rawget(t, k) }
    rawset(t, k, v)
  end
  local io_check = data.io_check
  -- a refusal is raised at the recipe's line (level 3: past the wrapper)
  local function check(path, mode, who)
    local rp, err = io_check(path, mode, who)
    if err then error(err, 3) end
    return rp
  end
  local safe, rdir = opts.safe, opts.recipe_dir
  local function chunk_path(path, who)
    if type(path) ~= "string" then
      if safe then error(who .. ": standard input is not allowed in --safe mode", 3) end
      return
    end
    local rp, err = io_check(path, "r", who)
    if err then error(err, 3) end
    if safe and not (rp and under(rdir, rp)) then
      error(who .. ": " .. path .. " is outside the recipe directory (--safe)", 3)
    end
  end
  set(io, "open", function(path, mode, ...)
    if type(path) == "string" then check(path, mode or "r", "io.open") end
    return io_open(path, mode, ...)
  end)
  set(io, "lines", function(path, ...)
    if type(path) == "string" then check(path, "r", "io.lines") end
    return io_lines(path, ...)
  end)
  set(io, "input", function(f)
    if type(f) == "string" then check(f, "r", "io.input") end
    return io_input(f)
  end)
  set(io, "output", function(f)
    if type(f) == "string" then check(f, "w", "io.output") end
    return io_output(f)
  end)
  set(os, "remove", function(path)
    check(path, "w", "os.remove")
    return os_remove(path)
  end)
  set(os, "rename", function(a, b)
    check(a, "w", "os.rename")
    check(b, "w", "os.rename")
    return os_rename(a, b)
  end)
  local mode = safe and "t" or nil
  set(_G, "loadfile", function(path, m, ...)
    chunk_path(path, "loadfile")
    return loadfile0(path, mode or m, ...)
  end)
  set(_G, "dofile", function(path)
    chunk_path(path, "dofile")
    if not safe then return dofile0(path) end
    local f, err = loadfile0(path, "t")
    if not f then error(err, 2) end
    return f()
  end)
  if safe then
    local function banned(name)
      return function() error(name .. " is not allowed in --safe mode", 2) end
    end
    set(os, "execute", banned "os.execute")
    set(os, "exit", banned "os.exit")
    set(os, "tmpname", banned "os.tmpname")
    set(os, "setlocale", banned "os.setlocale")
    set(io, "popen", banned "io.popen")
    set(package, "loadlib", banned "package.loadlib")
    set(data, "io_confine", banned "data.io_confine")
    set(data, "io_record", banned "data.io_record")
    set(sonde, "limits", banned "sonde.limits")
    set(_G, "debug", setmetatable({}, { __index = function(_, k)
      error("debug." .. tostring(k) .. " is not allowed in --safe mode", 2)
    end }))
    set(package.loaded, "debug", nil)
    set(package.loaded, "recipe", nil)
    set(package.preload, "recipe", nil)
    set(_G, "load", function(chunk, name, _, ...)
      if type(chunk) == "string" and chunk:byte(1) == 27 then
        error("load: binary chunks are not allowed in --safe mode", 2)
      end
      return load0(chunk, name, "t", ...)
    end)
    -- require: the embedded stdlib, and Lua files of the recipe's directory
    local path = rdir .. "/?.lua;" .. rdir .. "/?.sonde"
    set(package, "path", path)
    set(package, "cpath", "")
    set(package, "searchers", { package.searchers[1], function(name)
      local file, err = package.searchpath(name, path)
      if not file then return err .. "\n\t(--safe: only the stdlib and the recipe's directory)" end
      chunk_path(file, "require")
      local f, lerr = loadfile0(file, "t")
      if not f then error(lerr, 2) end
      return f, file
    end })
  end
  return function()
    for i = #saved, 1, -1 do rawset(saved[i][1], saved[i][2], saved[i][3]) end
  end
end

-- --- loading a recipe ---

-- load(path, opts): runs the file with a global `experiment` and returns
-- the recipe it registered: {name, about, specs, run, path, dir, text,
-- sha256, reads}; reads are the files its top level read (for the manifest).
-- opts.safe: loaded sandboxed (install above).
function M.load(path, opts)
  opts = opts or {}
  local text, err = read_file(path)
  if not text then usage_error("cannot open recipe " .. path .. ": " .. tostring(err)) end
  local chunk, lerr = load0(text, "@" .. path, "t")
  if not chunk then error(lerr, 0) end
  io_record(true)
  local found
  local saved = rawget(_G, "experiment")
  _G.experiment = function(name)
    if type(name) ~= "string" then error("experiment: the name must be a string", 2) end
    return function(spec)
      if found then error("experiment: a recipe file defines one experiment", 2) end
      if type(spec) ~= "table" or type(spec.run) ~= "function" then
        error("experiment '" .. name .. "': needs { run = function(p, run) ... end }", 2)
      end
      found = { name = name, about = spec.about or "", specs = param_specs(name, spec.params),
                run = spec.run }
      return found
    end
  end
  local restore = install(opts)
  local ok, e = pcall(chunk)
  if not opts.safe then restore() end
  io_record(false)
  _G.experiment = saved
  if not ok then error(e, 0) end
  if not found then usage_error(path .. ": no experiment \"name\" { ... } in this file") end
  found.path, found.dir, found.text, found.sha256 = path, dirname(path), text, data.sha256(text)
  found.reads = data.io_reads()
  return found
end

-- --- the run object ---

-- What sonde needs of a run lives here, not in fields of the run a recipe
-- could change (run.dir = "/" must not move the checkpoint).
local private = setmetatable({}, { __mode = "k" })

local Run = {}
Run.__index = Run

local function own(self, what)
  local p = private[self]
  if not p then error(what .. ": not a run (call it as run:" .. what:match("[%w_]+$") .. "(...))", 3) end
  return p
end

function Run:gen(stream) return tensor.generator(self.seed, stream or 0) end

function Run:log(t)
  local p = own(self, "run:log")
  if type(t) ~= "table" then error("run:log: expected a table of metrics", 2) end
  local line = json(t, "log")
  p.metrics:write(line, "\n")
  p.metrics:flush()
  p.lines = p.lines + 1
  for k, v in pairs(t) do
    p.last[k] = tensor.is_tensor(v) and v:item() or v
  end
end

local function artifact_path(self, name, what)
  local p = own(self, what)
  if type(name) ~= "string" or name == "" or name:find("/") or name:find("^%.") then
    error(what .. ": name must be a plain file name, got " .. tostring(name), 3)
  end
  return p.dir .. "/" .. name
end

-- an artifact is listed once it is written (every writer is atomic)
local function add_artifact(self, name)
  local p = private[self]
  if not p.artifacts[name] then
    p.artifacts[name] = true
    p.artifacts[#p.artifacts + 1] = name
  end
end

function Run:save(name, obj)
  local path = artifact_path(self, name, "run:save")
  if type(obj) == "table" and type(obj.state_dict) == "function" then obj = obj:state_dict() end
  tensor.save(path, obj)
  add_artifact(self, name)
end

function Run:save_image(name, t, opts)
  data.save_png(artifact_path(self, name, "run:save_image"), t, opts)
  add_artifact(self, name)
end

-- run:plot(name, fig_or_fn, ...): a figure (or fn(...) returning one, as
-- run:plot("loss.png", plot.line, xs, ys, {title=})) saved as a PNG artifact.
function Run:plot(name, fig, ...)
  local path = artifact_path(self, name, "run:plot")
  if not name:find("%.png$") then error("run:plot: name must end in .png, got " .. name, 2) end
  if type(fig) == "function" then fig = fig(...) end
  if type(fig) ~= "table" or type(fig.save) ~= "function" then
    error("run:plot: expected a figure or a function returning one (plot.line, ...), got " .. type(fig), 2)
  end
  fig:save(path)
  add_artifact(self, name)
  return fig
end

-- read_checkpoint(dir): checkpoint.json of a run dir, or nil.
local function read_checkpoint(dir)
  local text = read_file(dir .. "/checkpoint.json")
  local ok, ck = pcall(M.json_decode, text or "")
  if text and ok and type(ck) == "table" then return ck end
end

-- run:checkpoint(state): state maps names to tensors (or tables of tensors,
-- models) and plain numbers, strings, booleans. The tensors go to a new
-- checkpoint-<n>.tensor, then checkpoint.json (the scalars, that file's name
-- and how many metric lines were logged) is renamed into place: that rename
-- is the commit, so a kill at any moment leaves the previous checkpoint whole.
function Run:checkpoint(state)
  local p = own(self, "run:checkpoint")
  if type(state) ~= "table" then error("run:checkpoint: expected a table", 2) end
  local tensors, values = {}, {}
  for k, v in pairs(state) do
    if type(k) ~= "string" then error("run:checkpoint: keys must be strings, got " .. type(k), 2) end
    if type(v) == "table" and type(v.state_dict) == "function" then v = v:state_dict() end
    local tv = type(v)
    if tensor.is_tensor(v) or tv == "table" then tensors[k] = v
    elseif tv == "number" or tv == "string" or tv == "boolean" then values[k] = v
    else
      error("run:checkpoint: '" .. k .. "' is a " .. tv ..
        " (tensors, tables of tensors, numbers, strings, booleans)", 2)
    end
  end
  local old = read_checkpoint(p.dir)
  local n = (old and old.count or 0) + 1
  local name = false
  if next(tensors) then
    name = string.format("checkpoint-%d.tensor", n)
    tensor.save(p.dir .. "/" .. name, tensors)
  end
  write_atomic(p.dir .. "/checkpoint.json", M.json({ count = n, tensors = name,
    values = values, metrics_lines = p.lines }) .. "\n")
  if old and old.tensors and old.tensors ~= name then os_remove(p.dir .. "/" .. old.tensors) end
end

-- run:restore(): the state of the last checkpoint (tables of tensors come
-- back flat, their keys joined with '.'), or nil when there is none.
function Run:restore()
  local p = own(self, "run:restore")
  local ck = read_checkpoint(p.dir)
  if not ck then return nil end
  local state = {}
  if ck.tensors then
    for k, v in pairs(tensor.load(p.dir .. "/" .. ck.tensors)) do state[k] = v end
  end
  for k, v in pairs(ck.values or {}) do state[k] = v end
  return state
end

-- --- the run directory ---

local function random_hex(n)
  local f = assert(io_open("/dev/urandom", "rb"))
  local b = f:read(n)
  f:close()
  return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- the directory name of a recipe name: no '/', no leading '.'
function M.dir_name(name)
  return (name:gsub("[^%w_.-]", "_"):gsub("^%.", "_"))
end

-- make_run_dir(parent): a new parent/<date>-<hex> (UTC date and time, 3
-- random bytes); `mkdir` without -p fails when the name exists, so a name
-- is never reused.
function M.make_run_dir(parent)
  os_execute("mkdir -p " .. shell_quote(parent))
  for _ = 1, 10 do
    local dir = string.format("%s/%s-%s", parent, os.date("!%Y%m%d-%H%M%S"), random_hex(3))
    if os_execute("mkdir " .. shell_quote(dir) .. " 2>/dev/null") then return dir end
  end
  error("cannot create a run directory in " .. parent, 0)
end

local function write_manifest(dir, m) write_atomic(dir .. "/manifest.json", M.json(m) .. "\n") end

-- the status file: "running", "done", "failed" (the error on the next
-- line) or "interrupted"; written atomically at each change.
local function write_status(dir, status, err)
  write_atomic(dir .. "/status", status .. "\n" .. (err and err .. "\n" or ""))
end

-- read_status(dir): the status word and the error text (or nil, nil).
function M.read_status(dir)
  local text = read_file(dir .. "/status")
  if not text then return nil end
  local word, rest = text:match("^([^\n]*)\n?(.*)$")
  return word, rest ~= "" and rest:gsub("\n$", "") or nil
end

local function now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

-- command output, or nil when it fails (not a git repository, ...)
local function popen_read(cmd)
  local p = io_popen(cmd .. " 2>/dev/null")
  if not p then return nil end
  local out = p:read("a")
  return p:close() and out or nil
end

-- git_info(dir, rundir): the commit of the repository holding the recipe,
-- and whether its tree differs from it; a dirty tree's diff goes to
-- rundir/git.diff, its hash to the manifest. false outside a repository.
local function git_info(dir, rundir)
  local q = shell_quote(dir)
  local commit = (popen_read("git -C " .. q .. " rev-parse HEAD") or ""):match("^%x+")
  if not commit then return false end
  local diff = popen_read("git -C " .. q .. " diff --no-ext-diff HEAD") or ""
  local g = { commit = commit, dirty = diff ~= "" }
  if diff ~= "" then
    g.diff_sha256, g.diff = data.sha256(diff), "git.diff"
    write_atomic(rundir .. "/git.diff", diff)
  end
  return g
end

local function host_info()
  local cpuinfo = read_file("/proc/cpuinfo") or ""
  local _, cpus = cpuinfo:gsub("\nprocessor%s*:", "")
  return {
    name = (read_file("/proc/sys/kernel/hostname") or ""):match("^[^\n]*"),
    os = (popen_read("uname -srm") or ""):match("^[^\n]*"),
    cpu = cpuinfo:match("model name%s*:%s*([^\n]*)") or "",
    cpus = cpus + (cpuinfo:find("^processor") and 1 or 0),
  }
end

-- resume_metrics(dir, p): keeps the metric lines the last checkpoint
-- had seen (later ones are logged again) and their last values.
local function resume_metrics(dir, p)
  local ck = read_checkpoint(dir)
  local keep = {}
  for i, line in ipairs(read_lines(dir .. "/metrics.jsonl")) do
    if i > (ck and ck.metrics_lines or 0) then break end
    keep[i] = line
    local ok, t = pcall(M.json_decode, line)
    if ok and type(t) == "table" then for k, v in pairs(t) do p.last[k] = v end end
  end
  write_atomic(dir .. "/metrics.jsonl", #keep > 0 and table.concat(keep, "\n") .. "\n" or "")
  p.lines = #keep
end

-- the files the run read (outside its own directory), each hashed when
-- first read and again now: a file changed during the run is named.
local function input_hashes(dir, m, load_reads)
  local inputs, changed, reads = m.inputs or M.object(), {}, data.io_reads()
  local rdir = data.io_check(dir, "r")
  for path, sha in pairs(load_reads or {}) do reads[path] = reads[path] or sha end
  for path, sha in sorted_pairs(reads) do
    if not under(rdir, path) then
      inputs[path] = "sha256:" .. sha
      local ok, now_sha = pcall(data.sha256_file, path)
      if not ok or now_sha ~= sha then changed[#changed + 1] = path end
    end
  end
  return inputs, #changed > 0 and changed or nil
end

-- apply_limits(l): --max-mem and --max-time ({memory=bytes, time=seconds},
-- from the command line or a manifest) from now until the run function
-- returns; a bad size is a usage error naming the option.
local function apply_limits(l)
  if not (l and (l.memory or l.time)) then return end
  if not limits then usage_error("--max-mem and --max-time need the sonde program") end
  local ok, err = pcall(limits, { memory = l.memory, time = l.time })
  if not ok then usage_error("--max-mem: " .. tostring(err):gsub("^limits: memory: ", "")) end
end

-- parse_limits(opts): the limits of --max-mem SIZE and --max-time DURATION
-- (seconds, or a number with s, m or h), or nil.
local function parse_limits(opts)
  local mem, time = opts["max-mem"], opts["max-time"]
  if not (mem or time) then return nil end
  local l = {}
  if mem then
    apply_limits { memory = mem }
    l.memory = limits().memory
  end
  if time then
    local n, unit = time:match("^(%d*%.?%d+)([smh]?)$")
    n = tonumber(n)
    if not n or n <= 0 then usage_error("--max-time: bad duration '" .. time .. "' (seconds, or a number with s, m or h)") end
    l.time = n * ({ s = 1, m = 60, h = 3600 })[unit ~= "" and unit or "s"]
  end
  return l
end

-- execute(r, opts): runs recipe r with opts {params, seed, out, threads,
-- safe, data_roots, limits} in a new out/<name>/<date>-<hex> (or opts.parent/...),
-- or continues the run dir opts.resume (its manifest opts.manifest);
-- returns the run dir, whether it succeeded, the error and the last metrics.
function M.execute(r, opts)
  if opts.threads then tensor.set_num_threads(opts.threads) end
  local cfg = tensor.config()
  local dir, m = opts.resume, opts.manifest
  if dir then
    m.resumed, m.threads, m["end"] = (m.resumed or 0) + 1, cfg.threads, nil
  else
    dir = M.make_run_dir(opts.parent or (opts.out or "runs") .. "/" .. M.dir_name(r.name))
    m = {
      recipe = r.path, recipe_cwd = os.getenv("PWD"), recipe_name = r.name,
      recipe_sha256 = r.sha256, recipe_text = r.text, params = opts.params, seed = opts.seed,
      sonde_version = sonde.version, git = git_info(r.dir, dir), host = host_info(),
      blas = cfg.blas, blas_core = cfg.blas_core, threads = cfg.threads, start = now(),
      safe = opts.safe or nil, data_roots = opts.data_roots, limits = opts.limits,
    }
  end
  if opts.safe then io_confine { write = dir } end
  write_manifest(dir, m)
  write_status(dir, "running")
  local log = assert(io_open(dir .. "/log.txt", opts.resume and "ab" or "wb"))
  local run = setmetatable({ dir = dir, seed = opts.seed }, Run)
  local p = { dir = dir, last = {}, artifacts = {}, lines = 0 }
  private[run] = p
  if opts.resume then
    resume_metrics(dir, p)
    for name in sorted_pairs(m.artifacts or {}) do add_artifact(run, name) end
  end
  p.metrics = assert(io_open(dir .. "/metrics.jsonl", opts.resume and "ab" or "wb"))
  local print0, write0, stderr0 = print, io.write, io.stderr
  print = function(...) -- tee: the terminal and log.txt
    print0(...)
    local n, parts = select("#", ...), {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    log:write(table.concat(parts, "\t"), "\n")
    log:flush()
  end
  local restore = install { safe = opts.safe, recipe_dir = opts.recipe_dir }
  io.write = function(...)
    log:write(...)
    log:flush()
    return io_write(...)
  end
  -- io.stderr: a stand-in whose write goes to the terminal and log.txt
  io.stderr = setmetatable({ write = function(f, ...)
    log:write(...)
    log:flush()
    stderr0:write(...)
    return f
  end }, { __index = function(_, k)
    local v = stderr0[k]
    if type(v) ~= "function" then return v end
    return function(_, ...) return v(stderr0, ...) end
  end })
  tensor.manual_seed(opts.seed)
  math.randomseed(opts.seed)
  io_record(true)
  apply_limits(opts.limits)
  local ok, err = xpcall(r.run, traceback, opts.params, run)
  if opts.limits then limits { memory = 0, time = 0 } end -- the bookkeeping is not limited
  if not opts.safe then restore() end
  print, io.write, io.stderr = print0, write0, stderr0
  -- the bookkeeping: a second try if a signal cut the first short
  local function finish()
    if io.type(p.metrics) == "file" then p.metrics:close() end
    if io.type(log) == "file" then
      if not ok then log:write(tostring(err), "\n") end
      log:close()
    end
    local hashes = M.object()
    for _, name in ipairs(p.artifacts) do
      local okh, sha = pcall(data.sha256_file, dir .. "/" .. name)
      hashes[name] = okh and "sha256:" .. sha or "missing"
    end
    m.artifacts, m["end"] = hashes, now()
    m.inputs, m.inputs_changed = input_hashes(dir, m, r.reads)
    io_record(false)
    write_manifest(dir, m)
    local signal = sonde.signal and sonde.signal()
    if signal == "SIGALRM" then -- the time limit: a failure, whatever the message says
      signal, err = nil, string.format("time limit of %g s reached (--max-time)", opts.limits.time)
    elseif not ok and opts.limits and opts.limits.memory and tostring(err):match("^not enough memory") then
      err = string.format("not enough memory: the Lua heap reached --max-mem (%.4g MB)", opts.limits.memory / 1e6)
    end
    local status = ok and "done"
      or (signal or tostring(err):find("interrupted!", 1, true)) and "interrupted" or "failed"
    write_status(dir, status, status == "failed" and tostring(err):match("^[^\n]*") or
      status == "interrupted" and (signal or "interrupted") or nil)
    if m.inputs_changed then
      io.stderr:write("sonde: warning: input files changed during the run: ",
        table.concat(m.inputs_changed, ", "), "\n")
    end
  end
  if not pcall(finish) then finish() end
  return dir, ok, err, p.last
end

-- --- the commands ---

local function parse_opts(args, flags)
  local opts, rest = {}, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local flag = a:match("^%-%-(.+)$")
    if flag and flags[flag] == "flag" then
      opts[flag] = true
      i = i + 1
    elseif flag then
      if not flags[flag] then usage_error("unknown option '" .. a .. "'") end
      local v = args[i + 1]
      if v == nil then usage_error("'" .. a .. "' needs a value") end
      if flags[flag] == "integer" then
        v = math.tointeger(tonumber(v))
        if not v then usage_error("'" .. a .. "' wants an integer, got '" .. args[i + 1] .. "'") end
      end
      if flags[flag] == "list" then
        opts[flag] = opts[flag] or {}
        table.insert(opts[flag], v)
      else
        opts[flag] = v
      end
      i = i + 2
    else
      rest[#rest + 1] = a
      i = i + 1
    end
  end
  return opts, rest
end

local function summary(last)
  local rows, w = {}, 6
  for k, v in sorted_pairs(last) do
    local s = math.type(v) == "float" and string.format("%.6g", v) or tostring(v)
    if type(v) == "table" then s = M.json(v) end
    rows[#rows + 1] = { tostring(k), s }
    w = math.max(w, #tostring(k))
  end
  if #rows == 0 then return end
  print(string.format("%-" .. w .. "s  %s", "metric", "last"))
  for _, row in ipairs(rows) do print(string.format("%-" .. w .. "s  %s", row[1], row[2])) end
end

local commands = {}

-- sandbox(path, safe, roots): the load and execute options of a recipe
-- at path; with safe, reads are confined from here on to the data roots:
-- the recipe's directory, /usr/share/datasets, $SONDE_DATA and roots.
local function sandbox(path, safe, roots)
  local opts = { safe = safe or nil, recipe_dir = data.io_check(dirname(path), "r") }
  if not safe then return opts end
  local all = { opts.recipe_dir, "/usr/share/datasets" }
  if os.getenv("SONDE_DATA") then all[#all + 1] = os.getenv("SONDE_DATA") end
  for _, d in ipairs(roots or {}) do
    if not os_execute("test -d " .. shell_quote(d)) then usage_error("--data-root: " .. d .. " is not a directory") end
    all[#all + 1] = d
  end
  for i, d in ipairs(all) do all[i] = data.io_check(d, "r") end
  opts.data_roots = all
  io_confine { read = all }
  return opts
end

-- load_manifest_recipe(m): the recipe a manifest names (relative paths
-- are tried from the current directory, then from where the run started),
-- loaded as it ran (--safe if it was); also the options for execute.
local function load_manifest_recipe(m)
  local path = m.recipe
  local f = io_open(path, "rb")
  if f then f:close()
  elseif m.recipe_cwd and path:sub(1, 1) ~= "/" then path = m.recipe_cwd .. "/" .. path end
  local sb = sandbox(path, m.safe, m.data_roots)
  return M.load(path, sb), sb
end

-- run --resume RUNDIR: the same recipe, params and seed, continuing in the
-- same directory; run:restore() gives the last checkpoint.
local function resume(dir, opts)
  dir = dir:gsub("/+$", "")
  local text = read_file(dir .. "/manifest.json")
  if not text then usage_error("no manifest.json in " .. dir) end
  local m = M.json_decode(text)
  if M.read_status(dir) == "done" then usage_error("run " .. dir .. " is done; nothing to resume") end
  local r, sb = load_manifest_recipe(m)
  if r.sha256 ~= m.recipe_sha256 then
    io.stderr:write("sonde: warning: the recipe ", r.path, " changed since the run started\n")
  end
  local params = M.resolve(r, m.params, {})
  local _, ok, err, last = M.execute(r, { params = params, seed = m.seed, threads = opts.threads,
    resume = dir, manifest = m, safe = sb.safe, recipe_dir = sb.recipe_dir, limits = m.limits })
  if not ok then usage_error(tostring(err) .. "\n(run directory: " .. dir .. ")") end
  summary(last)
  print("run directory: " .. dir)
  return true
end

function commands.run(args)
  local opts, rest = parse_opts(args, { seed = "integer", out = "string", threads = "integer",
    params = "string", resume = "string", safe = "flag", ["data-root"] = "list",
    ["max-mem"] = "string", ["max-time"] = "string" })
  if opts.resume then
    if #rest > 0 or opts.seed or opts.out or opts.params or opts.safe or opts["data-root"]
      or opts["max-mem"] or opts["max-time"] then
      usage_error("usage: sonde run --resume RUNDIR [--threads N] (params, seed, --safe and limits come from the manifest)")
    end
    return resume(opts.resume, opts)
  end
  local path = table.remove(rest, 1)
  if not path then
    usage_error("usage: sonde run RECIPE [key=value...] [--seed N] [--out DIR] [--threads N] [--params FILE] [--safe [--data-root DIR]...] [--max-mem SIZE] [--max-time DURATION]")
  end
  if opts["data-root"] and not opts.safe then usage_error("--data-root goes with --safe") end
  local lim = parse_limits(opts)
  local file_values
  if opts.params then -- the user's own file, read before any sandbox
    local ok, t = pcall(dofile0, opts.params)
    if not ok then usage_error("cannot read params file " .. opts.params .. ": " .. tostring(t)) end
    if type(t) ~= "table" then usage_error("params file " .. opts.params .. " must return a table") end
    file_values = t
  end
  if not read_file(path) then usage_error("cannot open recipe " .. path) end
  local sb = sandbox(path, opts.safe, opts["data-root"])
  local r = M.load(path, sb)
  local params = M.resolve(r, file_values, rest)
  local dir, ok, err, last = M.execute(r, { params = params, seed = opts.seed or 0,
    out = opts.out, threads = opts.threads, safe = sb.safe, recipe_dir = sb.recipe_dir,
    data_roots = sb.data_roots, limits = lim })
  if not ok then usage_error(tostring(err) .. "\n(run directory: " .. dir .. ")") end
  summary(last)
  print("run directory: " .. dir)
  return true
end

function commands.show(args)
  local path = args[1]
  if not path then usage_error("usage: sonde show RECIPE") end
  local r = M.load(path)
  print(r.name .. ": " .. r.about)
  print(valid_keys(r))
  return true
end

-- first_difference(a, b): the first key (sorted) where two metric lines differ.
local function first_difference(a, b)
  local ok1, x = pcall(M.json_decode, a)
  local ok2, y = pcall(M.json_decode, b)
  if ok1 and ok2 and type(x) == "table" and type(y) == "table" then
    local keys = {}
    for k in pairs(x) do keys[k] = true end
    for k in pairs(y) do keys[k] = true end
    for k in sorted_pairs(keys) do
      local u, v = x[k], y[k]
      if M.json(u) ~= M.json(v) then
        return string.format("key '%s': %s vs %s", k, u == nil and "(missing)" or M.json(u),
          v == nil and "(missing)" or M.json(v))
      end
    end
  end
  return a .. " vs " .. b
end

local function first_byte_difference(a, b)
  for i = 1, math.min(#a, #b) do
    if a:byte(i) ~= b:byte(i) then return string.format("byte %d: %d vs %d", i, a:byte(i), b:byte(i)) end
  end
  return string.format("sizes %d vs %d bytes", #a, #b)
end

-- verify RUNDIR: the recipe from the manifest run again (same params and
-- seed, next to the original), then compared: the recipe's hash, each
-- metric line, each artifact and input file by SHA-256.
function commands.verify(args)
  local opts, rest = parse_opts(args, { threads = "integer" })
  local old = rest[1]
  if not old then usage_error("usage: sonde verify RUNDIR [--threads N]") end
  old = old:gsub("/+$", "")
  local text = read_file(old .. "/manifest.json")
  if not text then usage_error("no manifest.json in " .. old) end
  local m = M.json_decode(text)
  local r, sb = load_manifest_recipe(m)
  local diffs = 0
  local function report(what, diff)
    if diff then diffs = diffs + 1; print(what .. ": differs, " .. diff)
    else print(what .. ": identical") end
  end
  report("recipe", r.sha256 ~= m.recipe_sha256
    and string.format("sha256 %s vs %s", tostring(m.recipe_sha256), r.sha256) or nil)
  local params = M.resolve(r, m.params, {})
  local dir, ok, err = M.execute(r, { params = params, seed = m.seed, parent = dirname(old),
    threads = opts.threads or m.threads, safe = sb.safe, recipe_dir = sb.recipe_dir,
    data_roots = sb.data_roots, limits = m.limits and { memory = m.limits.memory } })
  print("re-run: " .. dir .. " (threads " .. tensor.config().threads .. ")")
  if not ok then diffs = diffs + 1; print("re-run failed: " .. tostring(err)) end
  local a, b = read_lines(old .. "/metrics.jsonl"), read_lines(dir .. "/metrics.jsonl")
  for i = 1, math.max(#a, #b) do
    local diff
    if a[i] == nil or b[i] == nil then
      diff = a[i] == nil and "missing in the original" or "missing in the re-run"
    elseif a[i] ~= b[i] then diff = first_difference(a[i], b[i]) end
    report("metrics line " .. i, diff)
  end
  local m2 = M.json_decode(read_file(dir .. "/manifest.json"))
  -- artifacts: the hash each manifest recorded; the file on disk must still
  -- have it (a changed file is named with its first differing byte)
  local function compare(what, x, y, path_a, path_b)
    local names = {}
    for k in pairs(x or {}) do names[k] = true end
    for k in pairs(y or {}) do names[k] = true end
    for name in sorted_pairs(names) do
      local u, v = x and x[name], y and y[name]
      if path_a then
        local ok1, h1 = pcall(data.sha256_file, path_a .. "/" .. name)
        if u and ok1 and "sha256:" .. h1 ~= u then u = "sha256:" .. h1 end
      end
      local diff
      if not u or not v then diff = not u and "missing in the original" or "missing in the re-run"
      elseif u ~= v then
        local fa, fb = path_a and read_file(path_a .. "/" .. name), path_b and read_file(path_b .. "/" .. name)
        diff = fa and fb and first_byte_difference(fa, fb) or (u .. " vs " .. v)
      end
      report(what .. " " .. name, diff)
    end
  end
  compare("artifact", m.artifacts, m2.artifacts, old, dir)
  compare("input", m.inputs, m2.inputs)
  print(diffs == 0 and "verify: identical" or string.format("verify: %d difference(s)", diffs))
  return diffs == 0
end

local function human(v)
  if math.type(v) == "float" then return string.format("%.6g", v) end
  if type(v) == "table" then return show_value(v) end
  return tostring(v)
end

-- last_metrics(dir): the last logged value of each metric of a run dir.
local function last_metrics(dir)
  local last = {}
  for _, line in ipairs(read_lines(dir .. "/metrics.jsonl")) do
    local ok, t = pcall(M.json_decode, line)
    if ok and type(t) == "table" then for k, v in pairs(t) do last[k] = v end end
  end
  return last
end

local function read_manifest(dir)
  local text = read_file(dir .. "/manifest.json")
  local ok, m = pcall(M.json_decode, text or "")
  if text and ok and type(m) == "table" then return m end
end

-- runs --diff A B: params and final metrics side by side, only the rows
-- that differ, keys sorted.
local function runs_diff(a, b)
  if not a or not b then usage_error("usage: sonde runs --diff RUNDIR RUNDIR") end
  a, b = a:gsub("/+$", ""), b:gsub("/+$", "")
  local ma, mb = read_manifest(a), read_manifest(b)
  if not ma then usage_error("no manifest.json in " .. a) end
  if not mb then usage_error("no manifest.json in " .. b) end
  local rows = {}
  local function section(what, x, y)
    local keys = {}
    for k in pairs(x) do keys[k] = true end
    for k in pairs(y) do keys[k] = true end
    for k in sorted_pairs(keys) do
      local u, v = x[k], y[k]
      if u == nil or v == nil or M.json(u) ~= M.json(v) then
        rows[#rows + 1] = { (what ~= "" and what .. " " or "") .. k, u == nil and "-" or human(u), v == nil and "-" or human(v) }
      end
    end
  end
  section("param", ma.params or {}, mb.params or {})
  section("", { seed = ma.seed }, { seed = mb.seed })
  section("metric", last_metrics(a), last_metrics(b))
  if #rows == 0 then print("runs --diff: same params and final metrics"); return true end
  local w = { 3, 1 }
  for _, r in ipairs(rows) do w[1] = math.max(w[1], #r[1]); w[2] = math.max(w[2], #r[2]) end
  local fmt = "%-" .. w[1] .. "s  %-" .. w[2] .. "s  %s"
  print(fmt:format("key", "A", "B"))
  for _, r in ipairs(rows) do print(fmt:format(r[1], r[2], r[3])) end
  return true
end

-- run_dirs(dir): the run directories in dir and one level down (runs/
-- holds <name>/<date>-<hex>/), as paths relative to dir, sorted.
local function run_dirs(dir)
  local found = {}
  local ok, names, kinds = pcall(data.listdir, dir)
  if not ok then return found end
  for i, name in ipairs(names) do
    if kinds[i] == "dir" then
      if read_file(dir .. "/" .. name .. "/manifest.json") then found[#found + 1] = name
      else
        local _, sub, subkinds = pcall(data.listdir, dir .. "/" .. name)
        for j, s in ipairs(sub or {}) do
          if subkinds[j] == "dir" and read_file(dir .. "/" .. name .. "/" .. s .. "/manifest.json") then
            found[#found + 1] = name .. "/" .. s
          end
        end
      end
    end
  end
  return found
end

-- runs [DIR]: one line per run directory (sorted by name): status, params
-- and the last logged value of each metric. runs --diff A B compares two.
function commands.runs(args)
  if args[1] == "--diff" then return runs_diff(args[2], args[3]) end
  local dir = (args[1] or "runs"):gsub("/+$", "")
  local rows = {}
  for _, name in ipairs(run_dirs(dir)) do
    local m = read_manifest(dir .. "/" .. name)
    if m then
      local params, metrics = {}, {}
      for k, v in sorted_pairs(m.params or {}) do params[#params + 1] = k .. "=" .. human(v) end
      for k, v in sorted_pairs(last_metrics(dir .. "/" .. name)) do metrics[#metrics + 1] = k .. "=" .. human(v) end
      rows[#rows + 1] = { name, M.read_status(dir .. "/" .. name) or "?", table.concat(params, " "),
                          table.concat(metrics, " ") }
    end
  end
  if #rows == 0 then print("no runs in " .. dir); return true end
  local w = { 3, 6, 6 }
  for _, r in ipairs(rows) do for i = 1, 3 do w[i] = math.max(w[i], #r[i]) end end
  local fmt = "%-" .. w[1] .. "s  %-" .. w[2] .. "s  %-" .. w[3] .. "s  %s"
  print((fmt:format("run", "status", "params", "metrics"):gsub("%s+$", "")))
  for _, r in ipairs(rows) do print((fmt:format(r[1], r[2], r[3], r[4]):gsub("%s+$", ""))) end
  return true
end

-- --- sweep: a grid of runs as separate processes ---

-- sweep_values(spec, v): the points of one grid axis: "a..b" is an integer
-- range, otherwise a comma list (';' for a list param, whose value has commas).
local function sweep_values(kind, k, v)
  local lo, hi = v:match("^(-?%d+)%.%.(-?%d+)$")
  if lo then
    lo, hi = math.tointeger(tonumber(lo)), math.tointeger(tonumber(hi))
    if hi < lo then usage_error(string.format("sweep: empty range %s=%s", k, v)) end
    local out = {}
    for x = lo, hi do out[#out + 1] = tostring(x) end
    return out
  end
  local out = {}
  for item in (v .. (kind == "list" and ";" or ",")):gmatch(kind == "list" and "([^;]*);" or "([^,]*),") do
    out[#out + 1] = item
  end
  return out
end

-- sweep_jobs(r, grid_args): the job list, from the arguments alone: axes in
-- sorted key order, values in the order given, seeds innermost.
function M.sweep_jobs(r, grid_args)
  local axes, seeds = {}, { "0" }
  for _, a in ipairs(grid_args) do
    local k, v = a:match("^([^=]+)=(.*)$")
    if not k then usage_error("sweep: expected key=values, got '" .. a .. "'\n" .. valid_keys(r)) end
    if k ~= "seed" and not r.specs[k] then usage_error("unknown param '" .. k .. "'\n" .. valid_keys(r)) end
    if axes[k] or (k == "seed" and seeds.given) then usage_error("sweep: '" .. k .. "' given twice") end
    local vals = sweep_values(k ~= "seed" and r.specs[k].kind, k, v)
    if k == "seed" then
      seeds = {}
      for i, x in ipairs(vals) do
        seeds[i] = math.tointeger(tonumber(x))
        if not seeds[i] then usage_error("sweep: seed wants integers, got '" .. x .. "'") end
      end
      seeds.given = true
    else
      axes[k] = vals
    end
  end
  local combos = { {} }
  for k, vals in sorted_pairs(axes) do
    local next_combos = {}
    for _, c in ipairs(combos) do
      for _, v in ipairs(vals) do
        local c2 = table.move(c, 1, #c, 1, {})
        c2[#c2 + 1] = k .. "=" .. v
        next_combos[#next_combos + 1] = c2
      end
    end
    combos = next_combos
  end
  local jobs = {}
  for ci, c in ipairs(combos) do
    for _, seed in ipairs(seeds) do jobs[#jobs + 1] = { point = ci, params = c, seed = seed } end
  end
  return jobs, combos
end

-- self_exe(): the path of this sonde binary (the parent of popen's shell).
local function self_exe()
  local p = io_popen("readlink /proc/$PPID/exe")
  local exe = p and p:read("l")
  if p then p:close() end
  if not exe or exe == "" then error("sweep: cannot find the sonde executable (/proc/<pid>/exe)", 0) end
  return exe
end

local function mean_std(xs)
  local n, sum = #xs, 0
  for _, x in ipairs(xs) do sum = sum + x end
  local mean, ss = sum / n, 0
  for _, x in ipairs(xs) do ss = ss + (x - mean) ^ 2 end
  return mean, n > 1 and math.sqrt(ss / (n - 1)) or 0
end

-- sweep RECIPE k=a,b seed=1..5 [-j N] [--out DIR] [--threads N] [--safe]:
-- each job is a `sonde run` process in a pool of N: a finished job's slot
-- goes to the next job at once. One table at the end.
function commands.sweep(args)
  local a2 = {}
  for i, a in ipairs(args) do a2[i] = a == "-j" and "--jobs" or a end
  local opts, rest = parse_opts(a2, { jobs = "integer", out = "string", threads = "integer", safe = "flag",
    ["max-mem"] = "string", ["max-time"] = "string" })
  local path = table.remove(rest, 1)
  if not path then
    usage_error("usage: sonde sweep RECIPE key=a,b key=1..5 [seed=1..5] [-j N] [--out DIR] [--threads N] [--safe] [--max-mem SIZE] [--max-time DURATION]")
  end
  -- usage errors now, not in every job; the jobs apply the limits, not the sweep
  if parse_limits(opts) and limits then limits { memory = 0 } end
  local nproc = opts.jobs or 1
  if nproc < 1 then usage_error("'-j' wants a positive integer, got " .. nproc) end
  local r = M.load(path)
  local jobs, combos = M.sweep_jobs(r, rest)
  local dir = M.make_run_dir((opts.out or "runs") .. "/sweep")
  write_atomic(dir .. "/jobs.json", M.json({ recipe = path, threads = opts.threads or false,
    jobs = jobs }) .. "\n")
  print(string.format("sweep: %d job(s), %d at a time, in %s", #jobs, nproc, dir))
  local exe = self_exe()
  local function command(i, job)
    local words = { shell_quote(exe), "run", shell_quote(path) }
    for _, kv in ipairs(job.params) do words[#words + 1] = shell_quote(kv) end
    words[#words + 1] = "--seed " .. job.seed
    words[#words + 1] = "--out " .. shell_quote(dir)
    if opts.threads then words[#words + 1] = "--threads " .. opts.threads end
    if opts.safe then words[#words + 1] = "--safe" end
    for _, k in ipairs { "max-mem", "max-time" } do
      if opts[k] then words[#words + 1] = "--" .. k .. " " .. shell_quote(opts[k]) end
    end
    local log = shell_quote(string.format("%s/job-%03d", dir, i))
    -- the exit status appears by rename, so it is never read half-written
    return string.format("{ %s >%s.log 2>&1; echo $? >%s.rc.tmp; mv %s.rc.tmp %s.rc; } &",
      table.concat(words, " "), log, log, log, log)
  end
  local failed, running, nrunning, next_job, finished = 0, {}, 0, 1, 0
  while finished < #jobs do
    while nrunning < nproc and next_job <= #jobs do
      os_execute(command(next_job, jobs[next_job]))
      running[next_job], nrunning, next_job = true, nrunning + 1, next_job + 1
    end
    local i, rc = nil, nil
    for j = 1, next_job - 1 do
      if running[j] then
        rc = read_file(string.format("%s/job-%03d.rc", dir, j))
        if rc then i = j; break end
      end
    end
    if not i then os_execute("sleep 0.05")
    else
      running[i], nrunning, finished = nil, nrunning - 1, finished + 1
      local job, log = jobs[i], string.format("%s/job-%03d", dir, i)
      rc = tonumber(rc:match("%d+"))
      os_remove(log .. ".rc")
      local out = read_file(log .. ".log") or ""
      job.dir = out:match("run directory: ([^\n)]+)")
      job.ok = rc == 0
      local what = table.concat(job.params, " ") .. " seed=" .. job.seed
      if job.ok then
        print(string.format("[%d/%d] %s: ok", i, #jobs, what))
      else
        failed = failed + 1
        local msg = out:match("sonde: ([^\n]*)") or ("exit " .. tostring(rc))
        print(string.format("[%d/%d] %s: FAILED (%s; log %s.log)", i, #jobs, what, msg, log))
      end
    end
  end
  -- the table: one row per point, each final metric as mean ± std over seeds
  local rows, names = {}, {}
  for ci, c in ipairs(combos) do
    local values, n, nfail = {}, 0, 0
    for _, job in ipairs(jobs) do
      if job.point == ci then
        n = n + 1
        if job.ok and job.dir then
          for k, v in pairs(last_metrics(job.dir)) do
            if type(v) == "number" then
              values[k] = values[k] or {}
              table.insert(values[k], v)
              names[k] = true
            end
          end
        else
          nfail = nfail + 1
        end
      end
    end
    rows[ci] = { params = #c > 0 and table.concat(c, " ") or "(defaults)", values = values,
                 runs = n, failed = nfail }
  end
  local header = { "params" }
  for k in sorted_pairs(names) do header[#header + 1] = k end
  header[#header + 1] = "runs"
  header[#header + 1] = "failed"
  local cells = { header }
  for _, row in ipairs(rows) do
    local line = { row.params }
    for k in sorted_pairs(names) do
      local xs = row.values[k]
      line[#line + 1] = xs and string.format("%.4g ± %.4g", mean_std(xs)) or "-"
    end
    line[#line + 1] = tostring(row.runs)
    line[#line + 1] = tostring(row.failed)
    cells[#cells + 1] = line
  end
  local w = {}
  for _, line in ipairs(cells) do
    for j, cell in ipairs(line) do w[j] = math.max(w[j] or 0, utf8.len(cell)) end
  end
  for _, line in ipairs(cells) do
    local parts = {}
    for j, cell in ipairs(line) do parts[j] = cell .. string.rep(" ", w[j] - utf8.len(cell)) end
    print((table.concat(parts, "  "):gsub("%s+$", "")))
  end
  if failed > 0 then print(string.format("sweep: %d of %d run(s) failed", failed, #jobs)) end
  return failed == 0
end

-- main(cmd, ...): the entry of `sonde run|show|verify|runs|sweep`; returns true on
-- success. Usage errors print without a traceback.
function M.main(cmd, ...)
  local f = commands[cmd]
  if not f then usage_error("unknown command '" .. tostring(cmd) .. "'") end
  local args = { ... }
  local ok, res = xpcall(f, function(e)
    if type(e) == "table" and e.usage then return e end
    return traceback(tostring(e), 2)
  end, args)
  if ok then return res end
  io.stderr:write("sonde: ", type(res) == "table" and res.usage or tostring(res), "\n")
  return false
end

for _, d in ipairs {
  { "recipe.sorted_pairs", "recipe.sorted_pairs(t)", "pairs in sorted key order (numbers, then strings): no hash order reaches a result" },
  { "recipe.shortest", "recipe.shortest(x)", "the shortest %g form of a float that reads back as the same number" },
  { "recipe.object", "recipe.object(t)", "mark a table to be written as a JSON object even when empty" },
  { "recipe.json", "recipe.json(v)", "JSON with sorted keys and %.17g floats (1-element tensors as numbers)" },
  { "recipe.json_decode", "recipe.json_decode(s)", "read JSON: objects, arrays, strings, numbers, true/false/null, NaN/Infinity" },
  { "recipe.resolve", "recipe.resolve(r, file_values, {\"k=v\", ...})", "a recipe's params: defaults, then a params table, then k=v strings, typed and checked" },
  { "recipe.load", "recipe.load(path, {safe=})", "load a recipe file: {name, about, specs, run, path, dir, text, sha256, reads}" },
  { "recipe.dir_name", "recipe.dir_name(name)", "a recipe name as a directory name (no '/', no leading '.')" },
  { "recipe.make_run_dir", "recipe.make_run_dir(parent)", "a new, never reused parent/<date>-<hex> directory" },
  { "recipe.read_status", "recipe.read_status(dir)", "a run's status word (running, done, failed, interrupted) and its error text" },
  { "recipe.execute", "recipe.execute(r, {params=, seed=, out=, threads=, safe=})", "run a loaded recipe in a new run dir: dir, ok, err, last metrics" },
  { "recipe.sweep_jobs", "recipe.sweep_jobs(r, {\"k=a,b\", \"seed=1..3\", ...})", "a sweep's job list from its arguments alone: axes sorted, seeds innermost" },
  { "recipe.main", "recipe.main(cmd, ...)", "the entry of sonde run|show|verify|runs|sweep; true on success" },
  { "Run:log", "run:log{name=value, ...}", "append one line to metrics.jsonl (sorted keys, %.17g; 1-element tensors as numbers)" },
  { "Run:save", "run:save(name, tensor_or_model_or_table)", "save tensors (a model's state_dict) as an artifact of the run dir, atomically" },
  { "Run:save_image", "run:save_image(name, t, {bits=8})", "save a CxHxW or HxW tensor as a PNG artifact, atomically" },
  { "Run:plot", "run:plot(name, fig_or_fn, ...)", "save a figure (or fn(...)'s, e.g. plot.line) as a PNG artifact, atomically" },
  { "Run:checkpoint", "run:checkpoint(state)", "commit tensors, models and scalars atomically; --resume restores the last one" },
  { "Run:restore", "run:restore()", "the state of the last checkpoint (nested tensor keys joined with '.'), or nil" },
  { "Run:gen", "run:gen(stream)", "a generator seeded from the run seed for an independent stream (default 0)" },
} do sonde.doc(d[1], d[2], d[3]) end

return M
