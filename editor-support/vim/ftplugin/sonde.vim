" ftplugin/sonde.vim: sonde recipes are Lua: Lua's comments, words and
" indentation, two spaces as in sonde's own sources.
if exists("b:did_ftplugin")
  finish
endif
runtime! ftplugin/lua.vim
let b:did_ftplugin = 1

setlocal commentstring=--\ %s
setlocal comments=:---,:--
setlocal expandtab shiftwidth=2 softtabstop=2 tabstop=8
setlocal suffixesadd=.sonde,.lua

let b:undo_ftplugin = get(b:, "undo_ftplugin", "")
      \ . "|setl cms< com< et< sw< sts< ts< sua<"
