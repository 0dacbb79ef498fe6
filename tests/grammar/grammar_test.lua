-- grammar_test.lua: grammar/sonde.ebnf, through its executable twin
-- (grammar/sonde.lua), against luac5.4 -p: on every source file of the
-- tree, on tricky snippets (tests/grammar/snippets.lua) and on seeded token
-- mutations of the examples; then the recipe schema on every file that
-- calls `experiment`, and on broken recipes with the messages they get.
-- usage (from the repository root): lua5.4 tests/grammar/grammar_test.lua
package.path = "grammar/?.lua;tests/grammar/?.lua;" .. package.path
local S = require "sonde"
local G = S.load()

local passed, failed = 0, 0
local function check(ok, name, detail)
  if ok then passed = passed + 1 else
    failed = failed + 1
    print("FAIL " .. name .. (detail and (": " .. detail) or ""))
  end
end

local tmp = os.tmpname()
os.remove(tmp)
tmp = tmp .. ".lua"

-- luac(src): true, or false and luac's message
local function luac(src)
  local f = assert(io.open(tmp, "wb"))
  f:write(src)
  f:close()
  local p = io.popen("luac5.4 -p " .. tmp .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return ok == true, (out:gsub("^luac5%.4: ", ""):gsub("%s+$", ""))
end

-- twin(src): true, or false and "line N near ..." (syntax, then static)
local function twin(src)
  local ok, line, _, near = G:parse(src)
  if not ok then return false, string.format("line %d near '%s'", line, near) end
  local msg = G:static(src)
  if msg then return false, msg end
  return true
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function source_files()
  local list = {}
  local p = io.popen("find examples tests stdlib grammar editor-support -type f \\( -name '*.sonde' -o -name '*.lua' \\) 2>/dev/null | sort")
  for path in p:lines() do list[#list + 1] = path end
  p:close()
  return list
end

-- 1. the EBNF itself: every rule is used, the reserved words are Lua's
do
  local used = { File = true, recipe = true }
  local function walk(n)
    if n.k == "ref" then used[n.v] = true end
    for _, x in ipairs(n) do walk(x) end
  end
  for _, r in ipairs(G.rules) do walk(r.body) end
  local unused = {}
  for _, r in ipairs(G.rules) do if not used[r.name] then unused[#unused + 1] = r.name end end
  check(#unused == 0, "every EBNF rule is used", table.concat(unused, ", "))
  check(#G.rules >= 60, "the EBNF has its rules", #G.rules .. " rules")

  local reserved = {}
  for _, alt in ipairs(G.byname.Reserved.body) do reserved[alt.v] = true end
  local words = { "continue", "const", "close", "self", "_ENV", "experiment", "goto_", "End", "NIL" }
  for w in pairs(reserved) do words[#words + 1] = w end
  table.sort(words)
  for _, w in ipairs(words) do
    local src = "local " .. w .. " = 1"
    local lok = luac(src)
    check(lok == not reserved[w], "reserved word list agrees with luac on '" .. w .. "'")
    check(G:parse(src) == lok, "twin agrees with luac on `" .. src .. "`")
  end
end

-- 1b. against the manual: the tokens of section 3.1 are exactly the
-- terminals of part 1, and every nonterminal of section 9 is a rule or is
-- restated in a comment (the left-recursive ones)
do
  local manual_symbols = { "+", "-", "*", "/", "%", "^", "#", "&", "~", "|", "<<", ">>", "//", "==", "~=",
    "<=", ">=", "<", ">", "=", "(", ")", "{", "}", "[", "]", "::", ";", ":", ",", ".", "..", "..." }
  local manual_words = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
    "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" }
  local used, words = {}, {}
  local function walk(n, lexical)
    if n.k == "lit" and not lexical then
      if n.v:match("^%a+$") then words[n.v] = true else used[n.v] = true end
    end
    for _, x in ipairs(n) do walk(x, lexical) end
  end
  local part2 = false
  for _, r in ipairs(G.rules) do
    if r.name == "recipe" then part2 = true end
    if not part2 then walk(r.body, r.name:match("^%u") ~= nil) end
  end
  local want = {}
  for _, t in ipairs(manual_symbols) do want[t] = true end
  local missing, extra = {}, {}
  for t in pairs(want) do if not used[t] then missing[#missing + 1] = t end end
  for t in pairs(used) do if not want[t] then extra[#extra + 1] = t end end
  check(#missing == 0 and #extra == 0, "part 1's symbols are the manual's tokens (3.1)",
    "missing " .. table.concat(missing, " ") .. "; extra " .. table.concat(extra, " "))
  local res = {}
  for _, alt in ipairs(G.byname.Reserved.body) do res[#res + 1] = alt.v end
  table.sort(res)
  check(table.concat(res, " ") == table.concat(manual_words, " "), "Reserved is the manual's list (3.1)",
    table.concat(res, " "))
  for _, w in ipairs(manual_words) do
    check(words[w] or w == "goto" or w == "break", "reserved word '" .. w .. "' appears in the syntax")
  end
  local text = read(S.ebnf_path)
  for _, nt in ipairs { "chunk", "block", "stat", "attnamelist", "attrib", "retstat", "label", "funcname",
                        "varlist", "var", "namelist", "explist", "exp", "prefixexp", "functioncall", "args",
                        "functiondef", "funcbody", "parlist", "tableconstructor", "fieldlist", "field",
                        "fieldsep", "binop", "unop" } do
    check(G.byname[nt] or text:find(nt .. " ::=", 1, true), "the manual's " .. nt .. " is in sonde.ebnf")
  end
end

-- 2. snippets: the expected verdict, luac's, and the twin's all agree
do
  local counts = { valid = 0, invalid = 0, static = 0 }
  for _, s in ipairs(require "snippets") do
    local class, name, src, want = s[1], s[2], s[3], s[4]
    counts[class] = counts[class] + 1
    local lok, lmsg = luac(src)
    local sok = G:parse(src)
    local tok, tmsg = twin(src)
    if class == "valid" then
      check(lok, "luac accepts: " .. name, lmsg)
      check(tok, "twin accepts: " .. name, tmsg)
    elseif class == "invalid" then
      check(not lok, "luac rejects: " .. name)
      check(not sok, "twin rejects as syntax: " .. name)
    else
      check(not lok and lmsg:find(want) ~= nil, "luac rejects (" .. want .. "): " .. name, lmsg)
      check(sok, "twin accepts the syntax: " .. name)
      check(not tok and tmsg and tmsg:find(want) ~= nil, "twin's static pass rejects (" .. want .. "): " .. name,
        tostring(tmsg))
    end
  end
  print(string.format("snippets: %d valid, %d invalid, %d static", counts.valid, counts.invalid, counts.static))
end

-- 3. every source file of the tree: the twin agrees with luac
local files = source_files()
do
  local n = 0
  for _, path in ipairs(files) do
    local src = read(path)
    local lok, lmsg = luac(src)
    local tok, tmsg = twin(src)
    check(lok == tok, "twin agrees with luac on " .. path,
      string.format("luac %s, twin %s", lok and "accepts" or lmsg, tok and "accepts" or tmsg))
    n = n + 1
  end
  check(n >= 20, "found the source files", n .. " files")
  print(string.format("files: %d parsed", n))
end

-- 4. seeded token mutations of the examples and a few library files
do
  local tokens = G:compile("Skip {| ({} (Name / Numeral / LiteralString / '...' / '..' / '::' / '//' / '<<' / '>>' / '<=' / '>=' / '==' / '~=' / .) Skip)* |} {}")
  local pool = { "end", ")", "(", "=", ",", "..", "[[", "\"", "local", "function", "::", ".", "]", "{",
                 "}", "do", "0x", "1e", "<const>", "goto", "break", "...", ":", "return", "--[[", "x" }
  local seed = 12345
  local function rand(n) -- an LCG, so the mutants are the same on every run
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n + 1
  end
  local sources = {}
  for _, path in ipairs(files) do
    if path:match("^examples/") or path:match("^stdlib/recipe%.lua$") or path:match("^stdlib/nn%.lua$") then
      sources[#sources + 1] = path
    end
  end
  local agree, total, rejected = 0, 0, 0
  for m = 1, 300 do
    local src = read(sources[(m - 1) % #sources + 1])
    local pos = tokens:match(src)
    local i = rand(#pos - 1)
    local a, b = pos[i], pos[i + 1]
    local op = rand(4)
    local mutant
    if op == 1 then mutant = src:sub(1, a - 1) .. src:sub(b)                              -- delete
    elseif op == 2 then mutant = src:sub(1, b - 1) .. src:sub(a, b - 1) .. src:sub(b)    -- repeat
    elseif op == 3 then mutant = src:sub(1, a - 1) .. pool[rand(#pool)] .. " " .. src:sub(a) -- insert
    else mutant = src:sub(1, a - 1) .. pool[rand(#pool)] .. src:sub(b) end                 -- replace
    local lok, lmsg = luac(mutant)
    local tok, tmsg = twin(mutant)
    total = total + 1
    if not lok then rejected = rejected + 1 end
    if lok == tok then agree = agree + 1 else
      check(false, string.format("mutant %d (op %d at byte %d of %s)", m, op, a, sources[(m - 1) % #sources + 1]),
        string.format("luac %s, twin %s", lok and "accepts" or lmsg, tok and "accepts" or tmsg))
    end
  end
  check(agree == total, "twin agrees with luac on every mutant", agree .. "/" .. total)
  check(rejected > total // 3 and rejected < total, "mutants are a mix of valid and invalid", rejected .. " rejected")
  print(string.format("mutants: %d, luac rejected %d, twin agreed on %d", total, rejected, agree))
end

-- 4b. seeded character mutations of the snippets, many more of them: in
-- process with load(), which runs the same parser luac does
do
  local srcs = {}
  for _, s in ipairs(require "snippets") do srcs[#srcs + 1] = s[3] end
  local bits = { "[", "]", "=", "-", "'", '"', "\\", ".", "0", "x", "e", "p", "\n", "\r", "z", "u", "{", "}",
                 "<", ">", "~", "/", ":", ";", "#", "(", ")", "9", "a", " ", "--", "[[", "]]", "[=[", "\\u{",
                 "\\x", "0x", "..", "...", "::", "end", "local", "goto", "break", "<const>", "<close>",
                 "function", "return", "do", "until", "repeat", "::a::", "goto a", "f()" }
  local seed = 4242
  local function rand(n)
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed // 16 % n + 1
  end
  local total, valid, disagree = 20000, 0, 0
  for _ = 1, total do
    local src = srcs[rand(#srcs)]
    if rand(2) == 1 then src = src .. "\n" .. srcs[rand(#srcs)] end
    for _ = 1, rand(3) do
      local i, op = rand(#src + 1), rand(3)
      if op == 1 then src = src:sub(1, i - 1) .. src:sub(i + rand(3))
      elseif op == 2 then src = src:sub(1, i - 1) .. bits[rand(#bits)] .. src:sub(i)
      else src = src:sub(1, i - 1) .. bits[rand(#bits)] .. src:sub(i + 1) end
    end
    if src:sub(1, 1) == "#" then src = " " .. src end -- load() does not skip a first # line
    local lok, lmsg = load(src, "=mutant", "t")
    lok = lok ~= nil
    if lok then valid = valid + 1 end
    local tok, tmsg = twin(src)
    if lok ~= tok then
      disagree = disagree + 1
      if disagree <= 5 then
        check(false, "character mutant " .. string.format("%q", src),
          string.format("load %s, twin %s", lok and "accepts" or lmsg, tok and "accepts" or tmsg))
      end
    end
  end
  check(disagree == 0, "twin agrees with load() on every character mutant", disagree .. " of " .. total .. " disagree")
  check(valid > total // 50 and valid < total // 2, "character mutants are a mix", valid .. " valid")
  print(string.format("character mutants: %d, %d valid, %d disagreements", total, valid, disagree))
end

-- 5. the recipe schema: every recipe of the tree is valid
do
  local recipes = 0
  for _, path in ipairs(files) do
    local found, errs = G:check_recipes(read(path), path)
    if found > 0 then
      recipes = recipes + 1
      check(#errs == 0, "recipe schema: " .. path, table.concat(errs, "\n  "))
    end
  end
  check(recipes >= 2, "found the recipe files", recipes .. " files")
  print(string.format("recipes: %d files checked against the schema", recipes))
end

-- 6. broken recipes: each gets its message, with the right line
do
  local cases = {
    { 'experiment "a" {\n  run = function(p, run) end,\n  sizes = 3,\n}', "bad.sonde:3: experiment: unknown field 'sizes'" },
    { 'experiment "a" {\n  about = 42,\n  run = function(p, run) end }', "bad.sonde:2: experiment: about must be a string" },
    { 'experiment "a" { about = "x" }', "bad.sonde:1: experiment: needs run = function" },
    { 'experiment "a" {\n  params = {\n    lr = { 2 * x, "rate" },\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'lr': the default must be a constant" },
    { 'experiment "a" {\n  params = {\n    lr = { rate, "rate" },\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'lr': the default must be a constant" },
    { 'experiment "a" {\n  params = {\n    n = { 1 // 0, "n" },\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'n': the default cannot be computed: " },
    { 'experiment "a" {\n  params = {\n    sizes = { { 2, 3 // 0 }, "n" },\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'sizes': the default cannot be computed: " },
    { 'experiment "a" {\n  params = {\n    lr = { 0.1, 7 },\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'lr': the doc must be a string" },
    { 'experiment "a" {\n  params = {\n    lr = 0.1,\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'lr': must be { default, \"doc\" }" },
    { 'experiment "a" {\n  params = {\n    sizes = { { 1, "two" }, "mixed" },\n  },\n  run = function(p, run) end }',
      "bad.sonde:3: param 'sizes': the default list mixes integer and string" },
    { 'experiment "a" {\n  params = { k = { 1 }, k = { 2 } },\n  run = function(p, run) end }',
      "bad.sonde:2: param 'k' declared twice" },
    { 'experiment "a" {\n  run = function(p, run) end,\n  run = function(p, run) end }',
      "bad.sonde:3: experiment: field 'run' given twice" },
    { 'experiment "a" {\n  run = main }', "bad.sonde:2: experiment: run must be a function literal" },
    { 'experiment "a" { run = function() end }\nexperiment "b" { run = function() end }',
      "bad.sonde:2: a recipe file defines one experiment" },
    { 'local n = "x"\nexperiment(n) { run = function() end }', nil }, -- not a literal name: not found as a recipe
  }
  for i, c in ipairs(cases) do
    local src, want = c[1], c[2]
    local found, errs = G:check_recipes(src, "bad.sonde")
    if want then
      local all = table.concat(errs, "\n")
      check(all:find(want, 1, true) ~= nil, "broken recipe " .. i .. " says " .. want, all)
    else
      check(found == 0, "broken recipe " .. i .. ": a computed name is not a recipe call")
    end
  end
  -- and the good form with every kind of default
  local good = [==[
experiment "all kinds" {
  about = "every param type " .. "in one recipe",
  params = {
    n = { 100, "integer" }, lr = { 1e-3, "number" }, neg = { -2, "negative integer" },
    name = { "mlp", "string" }, flag = { false, "boolean" }, sizes = { { 64, 8 }, "list" },
    rates = { { 0.1, 1 }, "numbers" }, words = { { "a", [[b]] } }, hex = { 0x10 },
    eps = { 8 / 255, "arithmetic" }, big = { 2 ^ 10 }, half = { -(1 + 2) // 2 }, mix = { { 1 / 2, 3 * 4 } },
  },
  run = function(p, run) run:log{ n = p.n } end,
}]==]
  local found, errs = G:check_recipes(good, "good.sonde")
  check(found == 1 and #errs == 0, "a recipe with every param type is valid", table.concat(errs, "\n"))
end

os.remove(tmp)
print(string.format("TALLY %d passed, %d failed", passed, failed))
os.exit(failed == 0 and 0 or 1)
