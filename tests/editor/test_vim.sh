#!/bin/sh
# test_vim.sh: editor-support/vim in a headless Vim (vim -es): filetype,
# ftplugin settings, and the syntax group under chosen words of a sample
# recipe, then every documented built-in of `sonde --dump-api` highlighted.
SONDE=${SONDE:-./sonde}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! command -v vim >/dev/null; then echo "SKIP: vim is not installed"; echo "TALLY 1 passed, 0 failed"; exit 0; fi
rtp=$(pwd)/editor-support/vim
"$SONDE" --dump-api >"$tmp/api.json" && "$SONDE" tests/editor/builtins_sample.lua "$tmp/api.json" >"$tmp/all.sonde"

cat >"$tmp/check.vim" <<'VIM'
let s:out = []
function! s:ok(cond, what) abort
  call add(s:out, (a:cond ? 'ok   ' : 'FAIL ') . a:what)
endfunction
" the group at the first match of pat (at its \zs), from the top of the file
function! s:group(pat) abort
  call cursor(1, 1)
  if search(a:pat, 'cW') == 0 | return 'NOT FOUND' | endif
  return synIDattr(synID(line('.'), col('.'), 1), 'name')
endfunction
function! s:is(pat, group) abort
  let g = s:group(a:pat)
  call s:ok(g ==# a:group, printf('%s is %s (got %s)', a:pat, a:group, g))
endfunction
call s:ok(&filetype ==# 'sonde', 'filetype of *.sonde is sonde (got ' . &filetype . ')')
call s:ok(&commentstring ==# '-- %s', 'commentstring -- %s')
call s:ok(&shiftwidth == 2 && &expandtab, 'shiftwidth 2, expandtab')
call s:ok(&indentexpr =~# 'Lua', 'Lua indentexpr (' . &indentexpr . ')')
call s:ok(!exists('g:lua_version'), 'g:lua_version is not left set for plain Lua buffers')
call s:is('\<experiment\>', 'sondeForm')
call s:ok(synIDattr(synIDtrans(synID(line('.'), col('.'), 1)), 'name') ==# 'Statement', 'sondeForm links to Statement')
call s:is('^\s*\zsparams', 'sondeFormKey')
call s:is('^\s*\zsabout', 'sondeFormKey')
call s:is('tensor\.randn', 'sondeFunction')
call s:is('tensor\.\zsrandn', 'sondeFunction')
call s:is('nn\.Linear', 'sondeFunction')
call s:is('nn\.functional\.cross_entropy', 'sondeFunction')
call s:is('probe\.logistic', 'sondeFunction')
call s:is('X:\zssum', 'sondeMethod')
call s:is('opt:\zszero_grad', 'sondeMethod')
call s:is('= \zsnn\.functional$', 'sondeModule')
call s:is('\zstensor\.not_a_builtin', 'sondeModule')
call s:ok(s:group('tensor\.\zsnot_a_builtin') !=# 'sondeFunction', 'an undocumented name is not a built-in')
call s:is('help "', 'sondeGlobal')
call s:is('-- sample', 'luaComment')
call s:is('"\zssamples"', 'luaString')
call s:is('\<local\> g', 'luaStatement')
call s:is('for step', 'luaRepeat')
call s:is('= \zsfunction(p', 'luaFunction')
" reindenting the sample changes nothing (it is written with 2 spaces)
let before = getline(1, '$')
normal! gg=G
call s:ok(getline(1, '$') == before, 'gg=G keeps the sample''s indentation')
call writefile(s:out, $CHECK_OUT)
qa!
VIM

cat >"$tmp/all.vim" <<'VIM'
let s:bad = []
for l in range(1, line('$'))
  let text = getline(l)
  let want = text =~# '^x:' ? 'sondeMethod' : (text =~# '\.' ? 'sondeFunction' : 'sondeGlobal')
  let col = text =~# '^x:' ? 3 : 1
  let got = synIDattr(synID(l, col, 1), 'name')
  let last = synIDattr(synID(l, len(text) - 2, 1), 'name')
  if got !=# want || last !=# want | call add(s:bad, text . ' (' . got . ', ' . last . ')') | endif
endfor
call writefile([line('$') . ' ' . len(s:bad)] + s:bad, $CHECK_OUT)
qa!
VIM

run_vim() { # script file
  vim -N -u NONE -i NONE -es --cmd "set rtp^=$rtp" --cmd "filetype plugin indent on" \
    --cmd "syntax on" -c "source $1" "$2" </dev/null >/dev/null 2>&1
}
p=0; f=0
CHECK_OUT="$tmp/check.out" run_vim "$tmp/check.vim" tests/editor/sample.sonde
if [ -s "$tmp/check.out" ]; then
  cat "$tmp/check.out"
  p=$((p + $(grep -c '^ok' "$tmp/check.out"))); f=$((f + $(grep -c '^FAIL' "$tmp/check.out")))
else
  echo "FAIL vim wrote no results"; f=$((f + 1))
fi
CHECK_OUT="$tmp/all.out" run_vim "$tmp/all.vim" "$tmp/all.sonde"
set -- $(head -n 1 "$tmp/all.out" 2>/dev/null)
if [ "${1:-0}" -gt 100 ] && [ "${2:-1}" -eq 0 ]; then
  echo "ok   all $1 documented built-ins are highlighted"; p=$((p + 1))
else
  echo "FAIL built-ins not highlighted (${2:-?} of ${1:-?}; run make editor-files):"; tail -n +2 "$tmp/all.out" | head -20
  f=$((f + 1))
fi
echo "TALLY $p passed, $f failed"
[ "$f" -eq 0 ]
