-- help.lua: help(obj), the reader of the doc registry (sonde.docs()).
-- The module is the function itself, so the lazy global `help` works in
-- scripts as in the REPL:
--   help()               the modules, one line each
--   help(tensor)         a module's functions (also help "tensor")
--   help(tensor.zeros)   a function's signature and doc, found by identity
--   help "Tensor:sum"    a name; help(x) on a tensor lists Tensor methods
local sonde = require "sonde"

local fmt, concat, sort = string.format, table.concat, table.sort

-- Modules whose functions are documented: C modules and the stdlib.
local function module_names()
  local names, seen = {}, {}
  local function add(n)
    if not seen[n] and n ~= "init" and n ~= "_G" then
      seen[n] = true
      names[#names + 1] = n
    end
  end
  for name in pairs(sonde) do
    if type(sonde[name]) == "table" then add(name) end
  end
  add("sonde")
  for name in pairs(package.preload) do add(name) end
  sort(names)
  return names
end

-- Loading every stdlib module registers its docs; help is the one place
-- that wants them all.
local function load_all()
  for _, name in ipairs(module_names()) do
    if package.loaded[name] == nil then pcall(require, name) end
  end
  return sonde.docs()
end

-- The Tensor method table: tensor.Tensor, else the table the tensor
-- metatable's __index (a C function) keeps as its upvalue.
local function tensor_methods()
  local t = package.loaded.tensor
  if type(t) == "table" and type(rawget(t, "Tensor")) == "table" then return t.Tensor end
  local mt = debug.getregistry()["sonde.Tensor"]
  local index = type(mt) == "table" and rawget(mt, "__index")
  if type(index) == "table" then return index end
  if type(index) == "function" then
    local _, up = debug.getupvalue(index, 1)
    if type(up) == "table" then return up end
  end
end

-- The documented tables: module name -> table, plus "Tensor" for methods.
local function documented_tables()
  local out = {}
  for _, name in ipairs(module_names()) do
    local m = package.loaded[name]
    if type(m) == "table" then out[name] = m end
  end
  out.Tensor = tensor_methods()
  return out
end

-- function -> sorted list of doc names, built from the tables on each call
-- (cheap, and always current as modules load).
local function names_of(fn)
  local docs, found, seen = load_all(), {}, {}
  local tables = documented_tables()
  for _, tbl in pairs(tables) do seen[tbl] = true end -- modules are scanned under their own name
  -- a module's functions, and those of its sub-tables (data.synthetic.blobs)
  local function scan(tname, tbl, depth)
    if depth > 1 then
      if seen[tbl] then return end
      seen[tbl] = true
    end
    for k, v in pairs(tbl) do
      if type(k) == "string" then
        if v == fn then
          for _, sep in ipairs({ ".", ":" }) do
            local n = tname .. sep .. k
            if docs[n] and not found[n] then found[n] = true; found[#found + 1] = n end
          end
        elseif type(v) == "table" and depth < 2 then
          scan(tname .. "." .. k, v, depth + 1)
        end
      end
    end
  end
  for tname, tbl in pairs(tables) do scan(tname, tbl, 1) end
  for n in pairs(found) do if type(n) == "string" then found[n] = nil end end
  sort(found)
  return found
end

local function entry_line(d)
  return fmt("%s\n    %s", d.sig, d.doc)
end

-- The entries under prefix ("tensor." or "Tensor:"), aligned in columns.
local function listing(prefix)
  local docs, list = load_all(), {}
  for name, d in pairs(docs) do
    if name:sub(1, #prefix) == prefix then list[#list + 1] = d end
  end
  sort(list, function(a, b) return a.name < b.name end)
  local width = 0
  for _, d in ipairs(list) do width = math.max(width, #d.sig) end
  width = math.min(width, 44)
  local lines = {}
  for i, d in ipairs(list) do
    lines[i] = fmt("  %-" .. width .. "s  %s", d.sig, d.doc)
  end
  return lines
end

local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

-- Up to 5 documented names closest to name (full names and last parts).
local function suggestions(name)
  local docs, scored = load_all(), {}
  local lname = name:lower()
  local function consider(n)
    local last = n:match("[.:]([^.:]+)$") or n
    local d = math.min(distance(lname, n:lower()), distance(lname, last:lower()))
    if d <= math.max(2, #name // 3) then scored[#scored + 1] = { n = n, d = d } end
  end
  for n in pairs(docs) do consider(n) end
  for _, m in ipairs(module_names()) do consider(m) end
  sort(scored, function(a, b) if a.d ~= b.d then return a.d < b.d end return a.n < b.n end)
  local out = {}
  for i = 1, math.min(5, #scored) do out[i] = scored[i].n end
  return out
end

local function module_summary(name)
  local docs = load_all()
  if docs[name] then return docs[name].doc end
  local n, first = 0, {}
  for k in pairs(docs) do
    if k:sub(1, #name + 1) == name .. "." then
      n = n + 1
      first[#first + 1] = k:sub(#name + 2)
    end
  end
  sort(first)
  if n == 0 then return "(no documented functions)" end
  local shown = concat(first, ", ", 1, math.min(6, #first))
  return fmt("%d functions: %s%s", n, shown, n > 6 and ", ..." or "")
end

-- The text help prints for obj (a string is a name).
local function text(...)
  local docs, obj = load_all(), ...
  if select("#", ...) == 0 then
    local lines = { "modules (help(name) lists one; help(fn) or ?name shows a function):" }
    for _, name in ipairs(module_names()) do
      local summary = module_summary(name)
      -- internal stdlib parts (data_loader, probe_linear, ...) document nothing
      if name ~= "help" and name ~= "repl" and summary ~= "(no documented functions)" then
        lines[#lines + 1] = fmt("  %-10s %s", name, summary)
      end
    end
    lines[#lines + 1] = "  Tensor     methods of tensors: help(x) for a tensor x, or help \"Tensor\""
    return concat(lines, "\n")
  end
  if type(obj) == "string" then
    local name = obj:match("^%s*(.-)%s*$")
    if name == "" then return text() end
    name = name:gsub("^t:", "Tensor:"):gsub("^x:", "Tensor:")
    if docs[name] then return entry_line(docs[name]) end
    if name == "Tensor" then
      return "Tensor methods (t:name(...)):\n" .. concat(listing("Tensor:"), "\n")
    end
    local mod = package.loaded[name]
    if mod == nil and package.preload[name] and name ~= "init" then
      local ok, m = pcall(require, name)
      mod = ok and m or nil
    end
    if type(mod) == "table" then return text(mod) end
    -- an unqualified name: every documented function called that
    local hits = {}
    for n, d in pairs(docs) do
      if n:match("[.:]([^.:]+)$") == name then hits[#hits + 1] = d end
    end
    if #hits > 0 then
      sort(hits, function(a, b) return a.name < b.name end)
      for i, d in ipairs(hits) do hits[i] = entry_line(d) end
      return concat(hits, "\n")
    end
    local near = suggestions(name)
    return fmt("no help for '%s'%s", name,
      #near > 0 and ("; did you mean: " .. concat(near, ", ") .. "?") or
      "; help() lists the modules")
  end
  local tensor = package.loaded.tensor
  if tensor and tensor.is_tensor and tensor.is_tensor(obj) then
    return fmt("a %s tensor of shape [%s]; Tensor methods (t:name(...)):\n", obj:dtype(),
      concat(obj:shape(), ","))
      .. concat(listing("Tensor:"), "\n")
  end
  if obj == package.loaded.help then return entry_line(docs.help) end
  if type(obj) == "table" then
    for tname, tbl in pairs(documented_tables()) do
      if tbl == obj then
        if tname == "Tensor" then return text("Tensor") end
        local head = docs[tname] and (tname .. ": " .. docs[tname].doc) or (tname .. " functions:")
        local lines = listing(tname .. ".")
        if #lines == 0 then lines = { "  (no documented functions)" } end
        return head .. "\n" .. concat(lines, "\n")
      end
    end
    return "no help for this table (not a documented module); help() lists the modules"
  end
  if type(obj) == "function" then
    local names = names_of(obj)
    if #names == 0 then
      local info = debug.getinfo(obj, "S")
      local where = info.what == "C" and "a C function" or
        fmt("a Lua function defined at %s:%d", info.short_src, info.linedefined)
      return "no doc for this function (" .. where .. ")"
    end
    local out = {}
    for i, n in ipairs(names) do out[i] = entry_line(docs[n]) end
    return concat(out, "\n")
  end
  return fmt("no help for a %s value; help() lists the modules", type(obj))
end

sonde.doc("help", "help([obj])",
  "signature and doc of a function, a module's functions, or the modules (help())")

-- load_all and module_names are shared with stdlib/api.lua (sonde --dump-api).
local help = setmetatable({ text = text, load_all = load_all, module_names = module_names }, {
  __call = function(_, ...)
    io.write(text(...), "\n")
    io.flush()
  end,
})
return help
