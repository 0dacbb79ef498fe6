#!/bin/sh
# test_dump_api.sh: `sonde --dump-api` prints the whole doc registry as
# JSON with stable bytes, and the argument names parsed from signatures.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
p=0; f=0
ok() { p=$((p + 1)); echo "ok   $1"; }
bad() { f=$((f + 1)); echo "FAIL $1"; }

"$SONDE" --dump-api >"$tmp/a.json" && ok "exit status 0" || bad "exit status"
"$SONDE" --dump-api >"$tmp/b.json"
cmp -s "$tmp/a.json" "$tmp/b.json" && ok "two runs give the same bytes" || bad "bytes differ between runs"

# Decoded by sonde's own reader: every registry name, the fields, parsed args.
"$SONDE" - "$tmp/a.json" >"$tmp/check.out" 2>&1 <<'LUA'
local recipe = require "recipe"
local f = assert(io.open(arg[1])); local text = f:read("a"); f:close()
local api = recipe.json_decode(text)
local docs = require("help").load_all()
local function check(cond, what) print((cond and "ok   " or "FAIL ") .. what) end
local n, missing = 0, {}
for name in pairs(docs) do
  n = n + 1
  if not api[name] then missing[#missing + 1] = name end
end
local m = 0
for _ in pairs(api) do m = m + 1 end
check(#missing == 0 and m == n, "every registry name, no other (" .. n .. " names)")
local fields_ok = true
for name, e in pairs(api) do
  if e.name ~= name or type(e.signature) ~= "string" or type(e.doc) ~= "string"
    or type(e.args) ~= "table" or not (e.kind == "function" or e.kind == "method" or e.kind == "module")
    or type(e.module) ~= "string" then fields_ok = false; print("bad entry " .. name) end
end
check(fields_ok, "every entry has name, module, kind, signature, doc, args")
local function args(name) return table.concat(api[name] and api[name].args or {}, ",") end
local function expect(name, want) check(args(name) == want, name .. " args = " .. want .. " (got " .. args(name) .. ")") end
expect("tensor.cat", "tensors,dim")
expect("Tensor:argmax", "dim,keepdim")
expect("optim.LBFGS", "params,opts")
expect("Tensor:flip", "dims")
expect("data.save_npz", "path,tbl,opts")
expect("data.synthetic.blobs", "opts")
expect("Module:register_forward_hook", "fn")
check(api["Tensor:sum"].kind == "method" and api["Tensor:sum"].module == "Tensor", "Tensor:sum is a method of Tensor")
check(api["nn.functional.conv2d"].module == "nn.functional", "nn.functional.conv2d in nn.functional")
check(api.help.kind == "function" and api.help.module == "_G", "help is a global function")
check(api["Tensor:argmax"].params[1].optional == true, "[dim] is optional")
local api_mod = require "api"
local ps = api_mod.params("f(a, [b=2], ...rest, {x=1, y=\"a,b\"})")
check(#ps == 4 and ps[2].optional and ps[3].vararg and ps[4].name == "opts"
  and table.concat(ps[4].keys, ",") == "x,y", "params of a synthetic signature")
LUA
cat "$tmp/check.out"
p=$((p + $(grep -c '^ok' "$tmp/check.out"))); f=$((f + $(grep -c '^FAIL' "$tmp/check.out")))
grep -q '^ok   every registry' "$tmp/check.out" || f=$((f + 1))
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
