-- static.lua: the rules of Lua 5.4 that are not syntax but that luac
-- checks while compiling, applied to the parse tree of grammar/sonde.lua:
-- break inside a loop, goto to a visible label, a label once per function
-- scope, no goto into the scope of a local, '...' only in vararg functions,
-- one <close> per local list, no assignment to <const> or <close>
-- variables. Messages use luac's wording. (The size limits — 200 locals,
-- 255 upvalues, 200 nesting levels — are not checked.)
-- returns function(G, src) -> nil | "line N: message"

local function is_node(c, r) return type(c) == "table" and (r == nil or c.r == r) end

return function(G, src)
  local root = G:tree(src)
  if not is_node(root, "block") then return nil end -- a syntax error: not ours

  local function line(pos)
    local n = 1
    for _ in src:sub(1, pos - 1):gmatch("\n") do n = n + 1 end
    return n
  end
  local function err(pos, fmt, ...)
    error({ static = string.format("line %d: " .. fmt, line(pos), ...) }, 0)
  end

  -- fs: the function being walked {parent, vararg, actives, block}; a block
  -- is {parent, loop, start, labels, pending}; actives is the stack of
  -- locals {name, attrib}, and a goto or label remembers its height.
  local fs
  local walk_block, walk_any, walk_stat

  local function declare(name, attrib) fs.actives[#fs.actives + 1] = { name = name, attrib = attrib } end

  local function find_var(name)
    local f = fs
    while f do
      for i = #f.actives, 1, -1 do
        if f.actives[i].name == name then return f.actives[i] end
      end
      f = f.parent
    end
  end

  local function assign(name, pos)
    local v = find_var(name)
    if v and v.attrib then err(pos, "attempt to assign to const variable '%s'", name) end
  end

  local function find_label(name)
    local b = fs.block
    while b do
      for _, l in ipairs(b.labels) do if l.name == name then return l end end
      b = b.parent
    end
  end

  local function walk_function(body, method)
    local parlist = is_node(body[2], "parlist") and body[2] or {}
    fs = { parent = fs, vararg = parlist[#parlist] == "...", actives = {} }
    for _, c in ipairs(body) do
      if is_node(c, "block") then
        walk_block(c, false, function()
          if method then declare("self") end
          for _, p in ipairs(parlist) do if p ~= "," and p ~= "..." then declare(p) end end
        end)
      end
    end
    fs = fs.parent
  end

  function walk_any(c, pos)
    if type(c) == "string" then
      if c == "..." and not fs.vararg then err(pos, "cannot use '...' outside a vararg function") end
    elseif c.r == "funcbody" then walk_function(c, false)
    else
      for _, x in ipairs(c) do walk_any(x, c.p or pos) end
    end
  end

  -- walk_block(node, loop, prologue, epilogue, is_repeat): prologue declares
  -- the block's parameters or loop variables; epilogue walks a repeat's
  -- condition, which sees the body's locals.
  function walk_block(node, loop, prologue, epilogue)
    local b = { parent = fs.block, loop = loop, start = #fs.actives, labels = {}, pending = {},
                is_repeat = epilogue ~= nil }
    fs.block = b
    if prologue then prologue() end
    for i, c in ipairs(node) do
      if is_node(c, "stat") then walk_stat(c, node, i) else walk_any(c, node.p) end
    end
    if epilogue then epilogue() end
    for _, g in ipairs(b.pending) do -- unresolved gotos move to the enclosing block
      if b.parent then
        g.height = math.min(g.height, b.start)
        b.parent.pending[#b.parent.pending + 1] = g
      elseif g.name == "break" then
        err(g.pos, "break outside loop at line %d", line(g.pos))
      else
        err(g.pos, "no visible label '%s' for <goto> at line %d", g.name, line(g.pos))
      end
    end
    for i = #fs.actives, b.start + 1, -1 do fs.actives[i] = nil end
    fs.block = b.parent
  end

  local function walk_label(lab, node, i)
    local name, b = lab[2], fs.block
    local prev = find_label(name)
    if prev then err(lab.p, "label '%s' already defined on line %d", name, line(prev.pos)) end
    -- a label followed only by void statements up to the block's end (not
    -- 'until') is outside the scope of the block's locals
    local last = not b.is_repeat
    for j = i + 1, #node do
      local c = node[j]
      if not (is_node(c, "stat") and (c[1] == ";" or is_node(c[1], "label"))) then last = false; break end
    end
    local height = last and b.start or #fs.actives
    b.labels[#b.labels + 1] = { name = name, pos = lab.p }
    local keep = {}
    for _, g in ipairs(b.pending) do
      if g.name ~= name then keep[#keep + 1] = g
      elseif g.height < height then
        err(g.pos, "<goto %s> at line %d jumps into the scope of local '%s'", name, line(g.pos),
          fs.actives[g.height + 1].name)
      end
    end
    b.pending = keep
  end

  local function jump(name, pos)
    if name == "break" then
      local b = fs.block
      while b and not b.loop do b = b.parent end
      if b then return end
    elseif find_label(name) then return end
    local p = fs.block.pending
    p[#p + 1] = { name = name, pos = pos, height = #fs.actives }
  end

  function walk_stat(st, node, i)
    local k = st[1]
    if k == ";" then return
    elseif is_node(k, "label") then walk_label(k, node, i)
    elseif k == "break" then jump("break", st.p)
    elseif k == "goto" then jump(st[2], st.p)
    elseif k == "do" or k == "if" or k == "while" then
      for _, c in ipairs(st) do
        if is_node(c, "block") then walk_block(c, k == "while") else walk_any(c, st.p) end
      end
    elseif k == "repeat" then
      local cond = {}
      for j = 4, #st do cond[#cond + 1] = st[j] end
      walk_block(st[2], true, nil, function() walk_any(cond, st.p) end)
    elseif k == "for" then
      local names, j = {}, 2
      while st[j] ~= "=" and st[j] ~= "in" do
        if st[j] ~= "," then names[#names + 1] = st[j] end
        j = j + 1
      end
      for _, c in ipairs(st) do
        if is_node(c, "block") then
          walk_block(c, true, function() for _, n in ipairs(names) do declare(n) end end)
        elseif c ~= "for" then walk_any(c, st.p) end
      end
    elseif k == "function" then
      if is_node(st[3], "funcbody") then assign(st[2], st.p) end
      walk_function(st[#st], st[#st - 2] == ":")
    elseif k == "local" and st[2] == "function" then
      declare(st[3])
      walk_function(st[4], false)
    elseif k == "local" then
      for j = 3, #st do walk_any(st[j], st.p) end
      local closes, list = 0, st[2]
      for j, c in ipairs(list) do
        if c ~= "," and c ~= "<" and c ~= ">" and list[j - 1] ~= "<" then
          local attrib = list[j + 1] == "<" and list[j + 2] or nil
          if attrib == "close" then
            closes = closes + 1
            if closes > 1 then err(list.p, "multiple to-be-closed variables in local list") end
          end
          declare(c, attrib)
        end
      end
    elseif is_node(k, "exprstat") then
      if k[2] == "=" or k[2] == "," then assign(k[1], k.p) end
      for _, c in ipairs(k) do
        if is_node(c, "var") and #c == 1 then assign(c[1], c.p) end
        walk_any(c, k.p)
      end
    else
      walk_any(st, st.p)
    end
  end

  fs = { vararg = true, actives = {} } -- the main chunk is a vararg function
  local ok, e = pcall(walk_block, root, false)
  if ok then return nil end
  if type(e) == "table" and e.static then return e.static end
  error(e, 0)
end
