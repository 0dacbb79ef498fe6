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
    local params, docs = {}, {}
    for line in text:gmatch("[^\n]*") do
      local pn = line:match("^%-%-%-@param ([%w_.]+)")
      if pn then params[#params + 1] = pn
      elseif line:match("^%-%-%-") and not line:match("^%-%-%-@") then docs[#docs + 1] = line:sub(4)
      else
        local fname = line:match("^function ([%w_.:]+)%(")
        local owner, key = line:match('^([%w_]+)%["([%w_]+)"%] = function')
        if owner then fname = owner .. ":" .. key end
        if fname then defined[fname] = { params = params, doc = table.concat(docs, "\n") } end
        if not line:match("^%-%-%-") then params, docs = {}, {} end
      end
    end
  end
end
check(meta_ok, "every library file starts with ---@meta")
check(load_ok, "every library file runs (in a sandbox)")
local missing, stale, wrong_params, wrong_doc, n = {}, {}, {}, {}, 0
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
local conf = recipe.json_decode(read(lib .. "/../config.json"))
check(conf.settings["Lua.runtime.version"] == "Lua 5.4" and conf.files[1] == "%.sonde$", "config.json: Lua 5.4, *.sonde files")
LUA
cat "$tmp/check.out"
p=$((p + $(grep -c '^ok' "$tmp/check.out"))); f=$((f + $(grep -c '^FAIL' "$tmp/check.out")))
grep -q '^ok   config.json' "$tmp/check.out" || { f=$((f + 1)); echo "FAIL the check did not finish"; }
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
