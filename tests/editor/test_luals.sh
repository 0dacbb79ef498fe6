#!/bin/sh
# test_luals.sh: editor-support/luals, the Lua language server's ---@meta
# files (the server itself is not installable here): they parse with
# luac5.4, run in a sandbox, and define exactly the documented built-ins of
# `sonde --dump-api` with their parameter names, signature and doc.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=0; f=0
lib=editor-support/luals/library
if command -v luac5.4 >/dev/null; then
  for file in "$lib"/*.lua; do
    if luac5.4 -p "$file" 2>"$tmp/err"; then p=$((p + 1)); echo "ok   luac5.4 -p $file"
    else f=$((f + 1)); echo "FAIL luac5.4 -p $file: $(cat "$tmp/err")"; fi
  done
else
  echo "SKIP: luac5.4 is not installed (the sandbox below still loads every file)"
fi
"$SONDE" --dump-api >"$tmp/api.json"
"$SONDE" - "$tmp/api.json" "$lib" >"$tmp/check.out" 2>&1 <<'LUA'
local recipe = require "recipe"
local api_path, lib = arg[1], arg[2]
local function read(path) local h = assert(io.open(path)); local s = h:read("a"); h:close(); return s end
local api = recipe.json_decode(read(api_path))
local function check(cond, what) print((cond and "ok   " or "FAIL ") .. what) end
local files = data.listdir(lib)
local defined, env, texts = {}, {}, {}
local meta_ok, load_ok = true, true
for _, name in ipairs(files) do
  if name:match("%.lua$") then
    local text = read(lib .. "/" .. name)
    texts[#texts + 1] = text
    if not text:match("^%-%-%-@meta ") then meta_ok = false; print("no ---@meta in " .. name) end
    local chunk, err = load(text, "=" .. name, "t", setmetatable({}, { __index = env, __newindex = env }))
    if not chunk or not pcall(chunk) then load_ok = false; print("cannot run " .. name .. ": " .. tostring(err)) end
    -- each definition, with the ---@param names and the doc lines above it
    local params, docs, ptypes, returns = {}, {}, {}, {}
    for line in text:gmatch("[^\n]*") do
      local pn, pt = line:match("^%-%-%-@param ([%w_.]+)%??%s+(.-)%s*$")
      if pt then pt = pt:gsub("%s+{[^{}]*}$", "") end -- an options table's keys
      if pn == "..." then pt = pt:match("^%S+") end -- a vararg's name follows its type
      local rt = line:match("^%-%-%-@return (.*)$")
      if pn then params[#params + 1] = pn; ptypes[#ptypes + 1] = pt
      elseif rt then returns[#returns + 1] = rt
      elseif line:match("^%-%-%-") and not line:match("^%-%-%-@") then docs[#docs + 1] = line:sub(4)
      else
        local fname = line:match("^function ([%w_.:]+)%(")
        local owner, key = line:match('^([%w_]+)%["([%w_]+)"%] = function')
        if owner then fname = owner .. ":" .. key end
        if fname then defined[fname] = { params = params, doc = table.concat(docs, "\n"), ptypes = ptypes, returns = returns } end
        if not line:match("^%-%-%-") then params, docs, ptypes, returns = {}, {}, {}, {} end
      end
    end
  end
end
check(meta_ok, "every library file starts with ---@meta")
check(load_ok, "every library file runs (in a sandbox)")
local missing, stale, wrong_params, wrong_doc, wrong_types, n = {}, {}, {}, {}, {}, 0
for name, e in pairs(api) do
  if e.kind == "function" or e.kind == "method" then
    n = n + 1
    local d = defined[name]
    if not d then missing[#missing + 1] = name
    else
      local want = {}
      for _, pr in ipairs(e.params) do
        if pr.vararg then want[#want + 1] = "..."; break end
        want[#want + 1] = pr.name
      end
      local got = table.concat(d.params, ","):gsub("([%w]+)_%f[,%z]", "%1") -- keyword names get a _
      if got ~= table.concat(want, ",") then wrong_params[#wrong_params + 1] = name .. " (" .. got .. ")" end
      if not d.doc:find(e.doc, 1, true) or not d.doc:find(e.signature, 1, true) then wrong_doc[#wrong_doc + 1] = name end
      -- the types of the dump (stdlib/api_types.lua): untyped is any, options are table
      local want_t = {}
      for _, pr in ipairs(e.params) do
        if pr.vararg then want_t[#want_t + 1] = pr.type or "any"; break end
        want_t[#want_t + 1] = pr.type or (pr.table and "table") or "any"
      end
      local rets = table.concat(e.returns or { "any" }, ";")
      if table.concat(d.ptypes, ";") ~= table.concat(want_t, ";") or table.concat(d.returns, ";") ~= rets then
        wrong_types[#wrong_types + 1] = name
      end
    end
  end
end
for name in pairs(defined) do if not api[name] then stale[#stale + 1] = name end end
table.sort(missing); table.sort(stale); table.sort(wrong_params)
local function list(t) return #t == 0 and "" or (": " .. table.concat(t, " ", 1, math.min(#t, 15)) .. " (run make editor-files)") end
check(n > 100 and #missing == 0, "all " .. n .. " documented functions and methods are defined" .. list(missing))
check(#stale == 0, "no definition of an undocumented name" .. list(stale))
check(#wrong_params == 0, "---@param names are the signature's arguments" .. list(wrong_params))
check(#wrong_doc == 0, "each definition carries its doc line and signature" .. list(wrong_doc))
table.sort(wrong_types)
check(#wrong_types == 0, "---@param and ---@return types are the dump's (stdlib/api_types.lua)" .. list(wrong_types))
-- module functions are reachable as globals in the sandbox: tensor.zeros is a function
local unreachable = {}
for name, e in pairs(api) do
  if e.kind == "function" then
    local v = env
    for part in name:gmatch("[^.]+") do v = type(v) == "table" and v[part] or nil end
    if type(v) ~= "function" then unreachable[#unreachable + 1] = name end
  end
end
table.sort(unreachable)
check(#unreachable == 0, "every module function is reachable from its global module table" .. list(unreachable))

-- stdlib/api_types.lua against the registry: no key for a name that is not
-- documented (a renamed or removed built-in), no type that names no class.
-- New registry entries without types are fine (they are any).
local function audit(types)
  local scopes, params_of, bad = {}, {}, {}
  for name, e in pairs(api) do
    if e.kind == "module" then scopes[name] = scopes[name] or {} end
    if e.kind ~= "module" then
      scopes[e.module] = scopes[e.module] or {}
      params_of[name] = {}
      for _, pr in ipairs(e.params) do
        params_of[name][pr.name] = true
        scopes[e.module][pr.name] = true
      end
    end
  end
  local known = { any = true, ["nil"] = true, boolean = true, number = true, integer = true, string = true,
    table = true, ["function"] = true, userdata = true, fun = true }
  for name, e in pairs(api) do if e.kind == "method" then known[e.module] = true end end
  for r in pairs(types.records) do known[r] = true end
  local function check_type(ty, where)
    ty = ty:gsub("[%a_][%w_]*%s*:", "") -- parameter names in fun(a: T)
    for id in ty:gmatch("[%a_][%w_]*") do
      if not known[id] then bad[#bad + 1] = where .. ": unknown type " .. id end
    end
  end
  local function check_ret(r, where) -- "Type name": the name is no type
    if r:sub(1, 4) ~= "fun(" then r = r:gsub("^(.-[^,])%s+[%a_][%w_]*$", "%1") end
    check_type(r, where)
  end
  for name, r in pairs(types.returns) do
    if not params_of[name] then bad[#bad + 1] = "returns: " .. name .. " is not documented" end
    for _, x in ipairs(type(r) == "table" and r or { r }) do check_ret(x, name) end
  end
  for key, ps in pairs(types.params) do
    if not params_of[key] and not scopes[key] then bad[#bad + 1] = "params: " .. key .. " is not documented" end
    local names = params_of[key] or scopes[key] or {}
    for pn, ty in pairs(ps) do
      if not names[pn] then bad[#bad + 1] = "params: " .. key .. " has no parameter " .. pn end
      check_type(ty, key .. " " .. pn)
    end
  end
  for key, ty in pairs(types.defaults) do
    if not scopes[key] then bad[#bad + 1] = "defaults: " .. key .. " is not a module or class" end
    check_type(ty, key)
  end
  for _, pat in ipairs(types.patterns) do
    local hit = false
    for name in pairs(params_of) do if name:match(pat[1]) then hit = true end end
    if not hit then bad[#bad + 1] = "patterns: " .. pat[1] .. " matches no entry" end
    check_type(pat[2], pat[1])
  end
  for name, os_ in pairs(types.overloads) do
    if not params_of[name] then bad[#bad + 1] = "overloads: " .. name .. " is not documented" end
    for _, o in ipairs(os_) do check_type(o, name) end
  end
  for class, ops in pairs(types.operators) do
    if not known[class] then bad[#bad + 1] = "operators: " .. class .. " is not a class" end
    for _, o in ipairs(ops) do check_type(o:gsub("^%a+", ""), class) end
  end
  for r, fields in pairs(types.records) do
    for f, ty in pairs(fields) do check_type(ty, r .. "." .. f) end
  end
  for class, fields in pairs(types.fields) do
    if not known[class] then bad[#bad + 1] = "fields: " .. class .. " is not a class" end
    for f, ty in pairs(fields) do check_type(ty, class .. "." .. f) end
  end
  table.sort(bad)
  return bad
end
local types = require "api_types"
local bad = audit(types)
check(#bad == 0, "stdlib/api_types.lua names only documented entries and declared types" ..
  (#bad == 0 and "" or (": " .. table.concat(bad, "; ", 1, math.min(#bad, 10)))))
local broken = { returns = { ["tensor.nope"] = "Tensor", ["tensor.zeros"] = "Tensr" },
  params = { Tensor = { bogus = "Tensor" } }, defaults = {}, patterns = { { "^nope%.", "Module" } },
  overloads = {}, operators = {}, records = {}, fields = {} }
check(#audit(broken) == 4, "the audit finds a stale name, an unknown type, a stale param and a dead pattern")
local conf = recipe.json_decode(read(lib .. "/../config.json"))
check(conf.settings["Lua.runtime.version"] == "Lua 5.4" and conf.files[1] == "%.sonde$", "config.json: Lua 5.4, *.sonde files")
LUA
cat "$tmp/check.out"
p=$((p + $(grep -c '^ok' "$tmp/check.out"))); f=$((f + $(grep -c '^FAIL' "$tmp/check.out")))
grep -q '^ok   config.json' "$tmp/check.out" || { f=$((f + 1)); echo "FAIL the check did not finish"; }
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
