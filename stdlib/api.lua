-- api.lua: the doc registry as data, for editors. `sonde --dump-api` prints
-- it as JSON (one entry a line, keys sorted, so the bytes are stable) and
-- scripts/editor_files.lua generates the vim, emacs, VS Code, tree-sitter
-- and Lua language-server files from that, never by hand.
local sonde = require "sonde"
local help = require "help"
local recipe = require "recipe"
local types = require "api_types"

local M = {}

-- params(sig): the arguments a signature names, in order, each
-- {name=, optional=, vararg=, table=, keys=}. Brackets mark optional
-- arguments ("[dim=1]"), and so does a default ("fpr=1e-3"); "...dims" a
-- vararg, "{lr=1, ...}" a table argument (the last one is "opts", its keys
-- listed); "f{...}" takes one table; defaults after "=", alternatives after
-- "|" and nested "fn(a, b)" are skipped.
function M.params(sig)
  local open = sig:find("[({]")
  if not open then return {} end
  local body = sig:sub(open, open) == "(" and sig:match("%b()", open) or sig:match("%b{}", open)
  if not body then return {} end
  if body:sub(1, 1) == "{" then body = "(" .. body .. ")" end
  body = body:sub(2, -2)
  local out, bracket, brace, paren = {}, 0, 0, 0
  local skip = false -- after a default, an alternative or a name in this argument
  local named -- the param this argument named, if any
  local tbl
  local i = 1
  while i <= #body do
    local c = body:sub(i, i)
    local top = brace == 0 and paren == 0
    if c == '"' or c == "'" then
      i = body:find(c, i + 1, true) or #body
    elseif c == "[" then bracket = bracket + 1
    elseif c == "]" then bracket = bracket - 1; skip = false
    elseif c == "(" then paren = paren + 1
    elseif c == ")" then paren = paren - 1
    elseif c == "{" then
      if top and not skip then
        tbl = { name = "tbl", optional = bracket > 0, table = true, keys = {} }
        out[#out + 1] = tbl
        skip = true
      end
      brace = brace + 1
    elseif c == "}" then brace = brace - 1
    elseif c == "," and top then skip = false; named = nil
    elseif (c == "=" or c == "|") and top then
      if c == "=" and named then named.optional = true end
      skip = true
    elseif c == "." and body:sub(i, i + 2) == "..." then
      local id = body:match("^[%a_][%w_]*", i + 3)
      if top and not skip then
        out[#out + 1] = { name = id or "...", optional = true, vararg = true }
        skip = true
      end
      i = i + 2 + (id and #id or 0)
    elseif c:match("[%a_]") then
      local id = body:match("^[%a_][%w_]*", i)
      if top and not skip then
        out[#out + 1] = { name = id, optional = bracket > 0 }
        skip, named = true, out[#out]
      elseif tbl and brace == 1 and paren == 0 and body:match("^%s*=", i + #id) then
        tbl.keys[#tbl.keys + 1] = id
      end
      i = i + #id - 1
    end
    i = i + 1
  end
  -- the last table argument is the options table; names are made unique
  local seen = {}
  for j = #out, 1, -1 do
    if out[j].table then
      -- options are optional by the house convention, except f{...}'s one table
      out[j].name, out[j].optional = "opts", out[j].optional or sig:sub(open, open) == "("
      break
    end
  end
  for _, p in ipairs(out) do
    local n, k = p.name, 1
    while seen[n] do k = k + 1; n = p.name .. k end
    seen[n], p.name = true, n
  end
  return out
end

-- kind and module of a doc name: "Tensor:sum" is a method of Tensor,
-- "data.synthetic.blobs" a function of data.synthetic, "help" a global
-- function (module "_G"), a name that is itself a loaded (not callable)
-- module a module.
local function classify(name)
  local t = package.loaded[name] or sonde[name]
  local mt = type(t) == "table" and getmetatable(t)
  if type(t) == "table" and not (type(mt) == "table" and mt.__call) then -- help is callable
    return "module", name:match("^(.*)%.[^.]+$") or name
  end
  local class = name:match("^(.*):[^:]+$")
  if class then return "method", class end
  return "function", name:match("^(.*)%.[^.]+$") or "_G"
end

-- typed(e): e with the types stdlib/api_types.lua gives it: e.returns (a
-- list of "Type name", {} for nothing), p.type of its positional params and
-- e.overloads; whatever the lists do not say stays untyped (any).
local function typed(e)
  if e.kind == "module" then return e end
  local r = types.returns[e.name]
  for _, pat in ipairs(r == nil and types.patterns or {}) do
    if e.name:match(pat[1]) then r = pat[2]; break end
  end
  if r == nil then r = types.defaults[e.module] end
  if r ~= nil then e.returns = type(r) == "string" and { r } or r end
  local own, scope = types.params[e.name] or {}, types.params[e.module] or {}
  for i, p in ipairs(e.params) do
    if not p.table then p.type = own[p.name] or scope[p.name] end -- a vararg: each value's
    -- a skipped optional argument or the values of a vararg run into the
    -- options table: t:sort{descending=true}, tensor.zeros(2, 3, {dtype=})
    local last = e.params[#e.params]
    if (p.vararg or p.optional) and p.type and i < #e.params and last.table then p.type = p.type .. "|table" end
  end
  e.overloads = types.overloads[e.name]
  return e
end

-- entries(): every documented built-in, sorted by name, after loading every
-- stdlib module (help.load_all) so modules added later appear by themselves.
function M.entries()
  local docs, list = help.load_all(), {}
  for name, d in pairs(docs) do
    local kind, module = classify(name)
    local params = M.params(d.sig or "")
    local args = {}
    for i, p in ipairs(params) do args[i] = p.name end
    list[#list + 1] = typed { name = name, module = module, kind = kind, signature = d.sig or name,
      doc = d.doc or "", args = args, params = params }
  end
  table.sort(list, function(a, b) return a.name < b.name end)
  return list
end

-- dump(): the JSON object name -> entry, one entry a line.
function M.dump()
  local lines = {}
  for _, e in ipairs(M.entries()) do lines[#lines + 1] = recipe.json(e.name) .. ":" .. recipe.json(e) end
  io.write("{\n", table.concat(lines, ",\n"), "\n}\n")
  io.flush()
end

return M
