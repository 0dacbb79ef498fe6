" indent/sonde.vim: recipes indent as Lua.
if exists("b:did_indent")
  finish
endif
runtime! indent/lua.vim
