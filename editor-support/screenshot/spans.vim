" spans.vim: writes the highlight of the current buffer as runs, one a
" line: LINE<TAB>COL<TAB>LENGTH<TAB>GROUP (sonde's own groups by name, Lua's
" by the group they link to), to the file $SPANS. Used by render.sh.
let s:out = []
for l in range(1, line('$'))
  let text = getline(l)
  let start = 1
  let cur = ''
  for c in range(1, len(text) + 1)
    let g = ''
    if c <= len(text)
      let id = synID(l, c, 1)
      let g = synIDattr(id, 'name') =~# '^sonde' ? synIDattr(id, 'name') : synIDattr(synIDtrans(id), 'name')
    endif
    if c > len(text) || g !=# cur
      if c > start && cur !=# ''
        call add(s:out, printf("%d\t%d\t%d\t%s", l, start, c - start, cur))
      endif
      let start = c
      let cur = g
    endif
  endfor
endfor
call writefile(s:out, $SPANS)
qa!
