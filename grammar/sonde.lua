-- sonde.lua: the executable twin of grammar/sonde.ebnf. It reads the EBNF,
-- translates every rule into LPeg's `re` notation and compiles the result,
-- so the grammar that parses files is the text of sonde.ebnf itself.
-- Runs under plain Lua 5.4 with Debian's lua-lpeg, or under sonde itself
-- (`sonde grammar/sonde.lua ...`: its Lua finds the same lpeg):
--   lua5.4 grammar/sonde.lua FILE...          syntax and static check (file:line: message)
--   lua5.4 grammar/sonde.lua --recipe FILE... also check each experiment call
--   lua5.4 grammar/sonde.lua --re             print the generated re grammar
-- As a module (require "sonde" with grammar/ on package.path):
--   local G = M.load(); G:parse(src) -> true | false, line, col, near
local lpeg = require "lpeg"
local re = require "re"

-- each nested expression or block holds a few backtrack entries: LPeg's
-- default (400) would stop at about 60 levels; Lua itself allows 200
lpeg.setmaxstack(20000)

local M = {}

local here = debug.getinfo(1, "S").source:match("^@(.*[/\\])") or "./"
M.ebnf_path = here .. "sonde.ebnf"

-- --- reading the EBNF ---

-- tokens of the EBNF text: names, '::=', quoted terminals, ? specials ?,
-- and the one-character operators; (* comments *) and blanks are dropped.
local function ebnf_tokens(text)
  local toks, pos, line = {}, 1, 1
  local function fail(msg) error(string.format("sonde.ebnf:%d: %s", line, msg), 0) end
  while pos <= #text do
    local c = text:sub(pos, pos)
    if c == "\n" then line = line + 1; pos = pos + 1
    elseif c:match("%s") then pos = pos + 1
    elseif text:sub(pos, pos + 1) == "(*" then
      local e = text:find("*)", pos + 2, true) or fail("unfinished comment")
      for _ in text:sub(pos, e):gmatch("\n") do line = line + 1 end
      pos = e + 2
    elseif text:sub(pos, pos + 2) == "::=" then
      toks[#toks + 1] = { k = "::=", line = line }; pos = pos + 3
    elseif c == "'" or c == '"' then
      local e = text:find(c, pos + 1, true) or fail("unfinished terminal")
      toks[#toks + 1] = { k = "lit", v = text:sub(pos + 1, e - 1), line = line }; pos = e + 1
    elseif c == "?" then
      local e = text:find("?", pos + 1, true) or fail("unfinished special sequence")
      toks[#toks + 1] = { k = "spec", v = text:sub(pos + 1, e - 1):gsub("%s+", " "):match("^ *(.-) *$"), line = line }
      pos = e + 1
    elseif c:match("[%a_]") then
      local name = text:match("^[%w_]+", pos)
      toks[#toks + 1] = { k = "name", v = name, line = line }; pos = pos + #name
    elseif c:match("[|{}%[%]()!]") then
      toks[#toks + 1] = { k = c, line = line }; pos = pos + 1
    else fail("unexpected character '" .. c .. "'") end
  end
  toks[#toks + 1] = { k = "eof", line = line }
  return toks
end

-- rules: { {name=, line=, body=node}, ... } in file order, and by name.
-- node = {k="alt"|"seq", ...} | {k="rep"|"opt"|"group"|"not", x} |
--        {k="ref"|"lit"|"spec", v}
function M.read_ebnf(path)
  local f = assert(io.open(path or M.ebnf_path, "rb"))
  local toks = ebnf_tokens(f:read("a"))
  f:close()
  local i = 1
  local function peek(n) return toks[i + (n or 0)] end
  local function fail(msg) error(string.format("sonde.ebnf:%d: %s", peek().line, msg), 0) end
  local function expect(k)
    if peek().k ~= k then fail("expected " .. k .. ", got " .. (peek().v or peek().k)) end
    i = i + 1
  end
  local alt
  local function item()
    local t = peek()
    if t.k == "!" then i = i + 1; return { k = "not", item() } end
    i = i + 1
    if t.k == "name" then return { k = "ref", v = t.v, line = t.line } end
    if t.k == "lit" or t.k == "spec" then return { k = t.k, v = t.v } end
    local close = ({ ["("] = ")", ["["] = "]", ["{"] = "}" })[t.k]
    if not close then i = i - 1; fail("unexpected " .. (t.v or t.k)) end
    local x = alt()
    expect(close)
    return { k = ({ ["("] = "group", ["["] = "opt", ["{"] = "rep" })[t.k], x }
  end
  local function seq()
    local s = { k = "seq" }
    while true do
      local t = peek()
      if t.k == "eof" or t.k == "|" or t.k == ")" or t.k == "]" or t.k == "}"
        or (t.k == "name" and peek(1).k == "::=") then break end
      s[#s + 1] = item()
    end
    if #s == 0 then fail("empty alternative") end
    return #s == 1 and s[1] or s
  end
  function alt()
    local a = { k = "alt", seq() }
    while peek().k == "|" do i = i + 1; a[#a + 1] = seq() end
    return #a == 1 and a[1] or a
  end
  local rules, byname = {}, {}
  while peek().k ~= "eof" do
    local t = peek()
    if t.k ~= "name" then fail("expected a rule name") end
    i = i + 1
    expect("::=")
    if byname[t.v] then fail("rule " .. t.v .. " defined twice") end
    local r = { name = t.v, line = t.line, body = alt() }
    rules[#rules + 1], byname[t.v] = r, r
  end
  return rules, byname
end

-- --- translating to re ---

local function lexical(name) return name:match("^%u") ~= nil end
local function keyword(s) return s:match("^%a%a+$") ~= nil end

-- the prose of each special sequence, as an re expression
M.specials = {
  ["byte order mark"] = "%bom",
  ["end of input"] = "!.",
  ["nothing"] = "''",
  ["space, tab, vertical tab or form feed"] = "%hspace",
  ["carriage return"] = "%cr",
  ["line feed"] = "%lf",
  ["any character"] = ".",
  ["letter or underscore"] = "[A-Za-z_]",
  ["letter, digit or underscore"] = "[A-Za-z0-9_]",
  ["decimal digit"] = "[0-9]",
  ["hexadecimal digit"] = "[0-9a-fA-F]",
  ["zero or more '=', remembered as the level"] = "{:level: '='* :}",
  ["as many '=' as the level"] = "=level",
}

local function quote(s) return s:find("'", 1, true) and '"' .. s .. '"' or "'" .. s .. "'" end

-- guard(sym, syms): a symbol token must not be the start of a longer one
local function guard(sym, syms)
  local longer = {}
  for s in pairs(syms) do
    if #s > #sym and s:sub(1, #sym) == sym then longer[#longer + 1] = quote(s) end
  end
  table.sort(longer)
  if sym == "[" then longer[#longer + 1] = "'[[' / '[='" end -- a long bracket
  if #longer == 0 then return "" end
  return "!(" .. table.concat(longer, " / ") .. ") "
end

-- to_re(rules, byname, tree): the re grammar text, one rule per line, File
-- first. With tree (a set of rule names), tokens capture their text and
-- those rules capture a table {r = name, p = position, children...}: the
-- parse tree the static pass (grammar/static.lua) walks.
function M.to_re(rules, byname, tree)
  local syms = {}
  local function collect(n, lex)
    if n.k == "lit" and not lex and not keyword(n.v) then syms[n.v] = true end
    for _, x in ipairs(n) do collect(x, lex) end
  end
  for _, r in ipairs(rules) do collect(r.body, lexical(r.name)) end
  local function emit(n, lex)
    local k = n.k
    if k == "alt" or k == "seq" then
      local parts = {}
      for j, x in ipairs(n) do parts[j] = emit(x, lex) end
      return "(" .. table.concat(parts, k == "alt" and " / " or " ") .. ")"
    elseif k == "rep" then return "(" .. emit(n[1], lex) .. ")*"
    elseif k == "opt" then return "(" .. emit(n[1], lex) .. ")?"
    elseif k == "group" then return emit(n[1], lex)
    elseif k == "not" then return "!" .. emit(n[1], lex)
    elseif k == "spec" then
      return M.specials[n.v] or error("sonde.ebnf: unknown special sequence ? " .. n.v .. " ?", 0)
    elseif k == "ref" then
      if not byname[n.v] then error(string.format("sonde.ebnf:%d: undefined rule %s", n.line, n.v), 0) end
      if lex or not lexical(n.v) then return n.v end
      if tree and n.v ~= "EmptyString" then return "(%mark {" .. n.v .. "} Skip)" end
      return "(%mark " .. n.v .. " Skip)"
    elseif k == "lit" then
      local q = (tree and not lex) and "{" .. quote(n.v) .. "}" or quote(n.v)
      if keyword(n.v) then
        local w = q .. " !NameChar"
        return lex and "(" .. w .. ")" or "(%mark " .. w .. " Skip)"
      end
      if lex then return q end
      return "(%mark " .. guard(n.v, syms) .. q .. " Skip)"
    end
  end
  local out = {}
  for _, r in ipairs(rules) do
    local body = emit(r.body, lexical(r.name))
    if tree and tree[r.name] then body = "{| {:r: '' -> '" .. r.name .. "' :} {:p: {} :} " .. body .. " |}" end
    out[#out + 1] = r.name .. " <- " .. body
  end
  return table.concat(out, "\n") .. "\n"
end

-- --- the compiled grammar ---

local G = {}
G.__index = G

-- load(path): reads and translates sonde.ebnf; the object compiles entry
-- patterns over its rules and parses sources.
function M.load(path)
  local rules, byname = M.read_ebnf(path)
  local self = setmetatable({ rules = rules, byname = byname, far = 0 }, G)
  self.re_text = M.to_re(rules, byname)
  self.defs = {
    bom = lpeg.P "\239\187\191", cr = lpeg.P "\r", lf = lpeg.P "\n",
    hspace = lpeg.S " \t\v\f",
    -- records the farthest position where a token was tried: the error spot
    mark = lpeg.Cmt(lpeg.P(true), function(_, i)
      if i > self.far then self.far = i end
      return true
    end),
  }
  self.file = self:compile("File {}")
  return self
end

-- compile(entry, text): an re expression over the grammar's rules (or over
-- the rules of text), as a pattern
function G:compile(entry, text)
  return re.compile("entry__ <- " .. entry .. "\n" .. (text or self.re_text), self.defs)
end

-- tree(src): the parse tree of a valid source (see to_re), or nil; also nil
-- past LPeg's capture nesting limit (about 50 nested functions), where the
-- static pass is skipped
function G:tree(src)
  if not self.tree_pat then
    local wrap = { block = true, stat = true, funcbody = true, parlist = true, attnamelist = true,
                   label = true, exprstat = true, var = true }
    self.tree_pat = self:compile("File", M.to_re(self.rules, self.byname, wrap))
  end
  local ok, tree = pcall(self.tree_pat.match, self.tree_pat, src)
  return ok and tree or nil
end

-- static(src): nil, or the first violation of Lua's rules that are not
-- syntax, as "line N: message" (luac's wording)
local static_check
function G:static(src)
  static_check = static_check or dofile(here .. "static.lua")
  return static_check(self, src)
end

-- line_col(src, pos): 1-based line and column of a byte position
function M.line_col(src, pos)
  local line, last = 1, 0
  for nl in src:sub(1, pos - 1):gmatch("()\n") do line, last = line + 1, nl end
  return line, pos - last
end

-- parse(src): true, or false, line, col, near (the text at the farthest
-- position a token was tried)
function G:parse(src)
  self.far = 0
  local ok, e = self.file:match(src)
  if ok then return true end
  local pos = math.max(self.far, 1)
  local line, col = M.line_col(src, pos)
  local near = src:sub(pos, pos + 15):match("^[^\r\n]*")
  return false, line, col, near == "" and "<eof>" or near
end

-- --- the recipe schema (part 2 of the EBNF) ---

local recipe_pats
local function recipe_patterns(g)
  if recipe_pats then return recipe_pats end
  recipe_pats = {
    -- tokens with their positions, to find the calls of `experiment`
    tokens = g:compile("Skip {| ({| {:pos: {} :} ({:name: Name :} / {:str: LiteralString :} / {:sym: . :}) |} Skip)* |}"),
    recipe = g:compile("recipe {}"),
    head = g:compile("'experiment' Skip recipename '{' Skip {}"),
    close = g:compile("'}' Skip {}"),
    sep = g:compile("fieldsep {}"),
    recipefield = g:compile("recipefield {}"),
    keyed = g:compile("{Name} Skip !'==' '=' Skip {}"),
    field = g:compile("field {}"),
    params_open = g:compile("'{' Skip {}"),
    param = g:compile("param {}"),
    text = g:compile("text {}"),
    default = g:compile("default {}"),
    exp = g:compile("exp {}"),
    scalar_kind = g:compile([[ {number} {} / {'true' / 'false'} !NameChar Skip {} / {text} {} ]]),
    list_open = g:compile("'{' Skip {}"),
  }
  return recipe_pats
end

-- kind_of_literal(s): the type of a scalar the schema matched; a number
-- is computed (numerals and arithmetic only, so running it is harmless)
local function kind_of_literal(s)
  if s == "true" or s == "false" then return "boolean" end
  local c = s:match("^%s*(.)")
  if c == '"' or c == "'" or c == "[" then return "string" end
  local ok, v = pcall(load("return " .. s, "=default", "t", {}))
  if not ok then return nil, v end
  return math.type(v) == "integer" and "integer" or "number"
end

-- check_recipes(src, name): the experiment calls of a file checked against
-- the recipe schema; returns the number of calls found and a list of
-- "name:line: message" strings.
function G:check_recipes(src, name)
  local P = recipe_patterns(self)
  local errs, found = {}, 0
  local function err(pos, fmt, ...)
    errs[#errs + 1] = string.format("%s:%d: " .. fmt, name, (M.line_col(src, pos)), ...)
  end
  local toks = P.tokens:match(src) or {}
  for t = 1, #toks do
    local prev, nxt = toks[t - 1], toks[t + 1]
    local after = nxt and (nxt.str or (nxt.sym == "(" and toks[t + 2] and toks[t + 2].str))
    if toks[t].name == "experiment" and after
      and not (prev and (prev.sym == "." or prev.sym == ":" or prev.name == "function" or prev.name == "local")) then
      found = found + 1
      if found == 2 then err(toks[t].pos, "a recipe file defines one experiment") end
      if not P.recipe:match(src, toks[t].pos) then
        self:diagnose_recipe(src, toks[t].pos, err)
        if #errs == 0 then err(toks[t].pos, "experiment: does not match the recipe form") end
      end
      self:recipe_static(src, toks[t].pos, err)
    end
  end
  return found, errs
end

-- diagnose_recipe: walks the experiment table field by field to say what
-- part does not match the schema.
function G:diagnose_recipe(src, pos, err)
  local P = recipe_patterns(self)
  local q = P.head:match(src, pos)
  if not q then return err(pos, "experiment: wants experiment \"name\" { ... } with a string name") end
  while true do
    local e = P.close:match(src, q)
    if e then return end
    local key, v = P.keyed:match(src, q)
    if not key then return err(q, "experiment: fields are about = ..., params = ..., run = ...") end
    local fe = P.recipefield:match(src, q)
    if not fe then
      if key == "about" then err(v, "experiment: about must be a string")
      elseif key == "run" then
        err(v, "experiment: run must be a function literal: function(p, run) ... end")
      elseif key == "params" then self:diagnose_params(src, v, err)
      else err(q, "experiment: unknown field '%s' (about, params, run)", key) end
      fe = P.field:match(src, q)
      if not fe then return end
    end
    q = P.sep:match(src, fe)
    if not q then return end
  end
end

function G:diagnose_params(src, pos, err)
  local P = recipe_patterns(self)
  local q = P.params_open:match(src, pos)
  if not q then return err(pos, "params: must be a table { name = { default, \"doc\" }, ... }") end
  while not P.close:match(src, q) do
    local key, v = P.keyed:match(src, q)
    if not key then return err(q, "params: entries are name = { default, \"doc\" }") end
    if not P.param:match(src, q) then
      local d = P.list_open:match(src, v)
      local de = d and P.default:match(src, d)
      local s = de and P.sep:match(src, de)
      if not d then err(v, "param '%s': must be { default, \"doc\" }", key)
      elseif not de or not (s or P.close:match(src, de)) then
        err(d, "param '%s': the default must be a constant number, integer, string, boolean or list", key)
      elseif s and not P.close:match(src, s) and not P.text:match(src, s) then
        err(s, "param '%s': the doc must be a string", key)
      else err(v, "param '%s': must be { default, \"doc\" }", key) end
    end
    local fe = P.field:match(src, q)
    if not fe then return end
    q = P.sep:match(src, fe)
    if not q then return end
  end
end

-- recipe_static: what the schema says beyond the grammar: fields and
-- params once each, run present, lists of one type.
function G:recipe_static(src, pos, err)
  local P = recipe_patterns(self)
  local q = P.head:match(src, pos)
  if not q then return end
  local seen = {}
  while q and not P.close:match(src, q) do
    local key, v = P.keyed:match(src, q)
    if not key then return end
    if seen[key] then err(q, "experiment: field '%s' given twice", key) end
    seen[key] = true
    if key == "params" then self:params_static(src, v, err) end
    local fe = P.field:match(src, q)
    q = fe and P.sep:match(src, fe)
  end
  if not seen.run then err(pos, "experiment: needs run = function(p, run) ... end") end
end

function G:params_static(src, pos, err)
  local P = recipe_patterns(self)
  local q = P.params_open:match(src, pos)
  local seen = {}
  while q and not P.close:match(src, q) do
    local key, v = P.keyed:match(src, q)
    if not key then return end
    if seen[key] then err(q, "param '%s' declared twice", key) end
    seen[key] = true
    local d = P.list_open:match(src, v)
    local l = d and P.list_open:match(src, d)
    if l and P.default:match(src, d) then -- a list default: one element type
      local first, r = nil, l
      while r and not P.close:match(src, r) do
        local lit, e = P.scalar_kind:match(src, r)
        if not lit then break end
        local k, why = kind_of_literal(lit)
        if not k then err(r, "param '%s': the default cannot be computed: %s", key, why); break end
        if first == "number" and k == "integer" then k = "number" end
        if first and k ~= first then
          err(r, "param '%s': the default list mixes %s and %s", key, first, k)
          break
        end
        first = first or k
        r = P.sep:match(src, e)
      end
    elseif d then -- a scalar default: it must compute
      local lit = P.scalar_kind:match(src, d)
      local k, why = lit and kind_of_literal(lit)
      if lit and not k then err(d, "param '%s': the default cannot be computed: %s", key, why) end
    end
    local fe = P.field:match(src, q)
    q = fe and P.sep:match(src, fe)
  end
end

-- --- command line ---

local function main(args)
  local recipes, files = false, {}
  for _, a in ipairs(args) do
    if a == "--re" then io.write(M.load().re_text); return 0
    elseif a == "--recipe" then recipes = true
    else files[#files + 1] = a end
  end
  local g, status = M.load(), 0
  for _, path in ipairs(files) do
    local f, e = io.open(path, "rb")
    if not f then print(e); status = 1 else
      local src = f:read("a")
      f:close()
      local ok, line, _, near = g:parse(src)
      local static = ok and g:static(src)
      if not ok then
        print(string.format("%s:%d: syntax error near '%s'", path, line, near))
        status = 1
      elseif static then
        print((static:gsub("^line (%d+): ", path .. ":%1: ")))
        status = 1
      elseif recipes then
        local _, errs = g:check_recipes(src, path)
        for _, m in ipairs(errs) do print(m); status = 1 end
      end
    end
  end
  return status
end

if arg and arg[0] and arg[0]:match("sonde%.lua$") and debug.getinfo(3) == nil then
  os.exit(main(arg))
end
return M
