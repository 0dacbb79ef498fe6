#!/bin/sh
# test_repl.sh: drives the REPL in a real pseudo-terminal (tmux, on a
# private socket) and checks what a user sees: printing, multi-line and
# pasted chunks, completion of names, fields and tensor methods, errors,
# Ctrl-C (at the prompt and in a running loop), help, history, Ctrl-D.
# Every check polls the screen with a timeout, so a loaded machine only
# makes it slower. Run by tests/run.sh with SONDE set to the binary.
SONDE=${SONDE:-./sonde}
case $SONDE in /*) ;; *) SONDE=$(pwd)/$SONDE ;; esac
passed=0
failed=0
if ! command -v tmux >/dev/null 2>&1; then
  echo "tmux is not installed (scripts/deps.sh installs it)"
  echo "TALLY 0 passed, 1 failed"
  exit 1
fi
tmp=$(mktemp -d)
T="tmux -L sonde-repl-test-$$ -f /dev/null"
trap '$T kill-server 2>/dev/null; rm -rf "$tmp"' EXIT HUP INT TERM
HIST=$tmp/history

# The session runs sonde, then reports its exit status and waits.
S=repl1
start() { # session name; the previous session ends once the new one runs
  old=$S
  S=$1
  $T new-session -d -s "$S" -x 200 -y 50 \
    "env INPUTRC=/dev/null SONDE_HISTORY=$HIST $SONDE; echo SONDE-EXIT=\$?; sleep 120"
  $T set-option -t "$S" history-limit 5000 >/dev/null
  [ "$old" != "$S" ] && $T kill-session -t "$old" 2>/dev/null
}
screen() { $T capture-pane -p -t "$S" -S -5000 2>/dev/null; }
keys() { $T send-keys -t "$S" "$@"; }
text() { $T send-keys -t "$S" -l "$1"; }
line() { text "$1"; keys Enter; }

flags() { if [ "$1" = -x ]; then echo -xF; else echo -F; fi; }

# wait_for MODE PATTERN [N]: until N lines (default 1) match; MODE -x
# matches whole lines, -e parts of lines.
wait_for() {
  i=0
  while [ $i -lt 300 ]; do
    [ "$(screen | grep -c $(flags "$1") -- "$2")" -ge "${3:-1}" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}

check() { # name mode pattern [count]
  if wait_for "$2" "$3" "$4"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: fewer than ${4:-1} lines matching '$3' on the screen:"
    screen | grep -v '^$' | tail -n 25 | sed 's/^/    | /'
  fi
}

check_not() { # name mode pattern
  if screen | grep -q $(flags "$2") -- "$3"; then
    failed=$((failed + 1))
    echo "FAIL $1: unexpected '$3' on the screen"
  else
    passed=$((passed + 1))
  fi
}

# Waits until the last non-empty line is exactly $1 (default ">": the
# prompt, as the pane shows "> " without its trailing space).
last_is() {
  i=0
  while [ $i -lt 300 ]; do
    [ "$(screen | grep -v '^$' | tail -n 1)" = "${1:->}" ] && return 0
    sleep 0.05
    i=$((i + 1))
  done
  return 1
}
prompt() { last_is ">"; }

check_last() { # name line
  if last_is "$2"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: the last line is not '$2':"
    screen | grep -v '^$' | tail -n 10 | sed 's/^/    | /'
  fi
}

start repl1
check "banner" -e "help() for help"

line '6*7000+1'
check "expression printed" -x "42001"

line '{3, 2, z = 1, a = {b = true}, [10] = "s"}'
check "table as a literal, keys sorted" -x '{3, 2, [10] = "s", a = {b = true}, z = 1}'

line 'cyc = {}; cyc.me = cyc'
line 'cyc'
check "cycle shown" -x '{me = <cycle>}'

line 'yy = 5'
line 'yy * 2 + 1000'
check "statement then global" -x "1010"

# multi-line: each line on its own, the continuation prompt in between
line 'function sq(a)'
check_last "continuation prompt" ">>"
line '  return a * a'
line 'end'
line 'sq(12)'
check "multi-line function" -x "144"

# pasted without bracketing: lines with tabs arrive at once
text "$(printf 'function cube(a)\n\treturn a * a * a\nend\ncube(3) + 100000')"
keys Enter
check "pasted lines with tabs" -x "100027"

# bracketed paste: the whole block is one line with newlines in it
$T set-buffer -b p "$(printf 'local function k()\n  return 77\nend\nprint(k() + 1000)')"
$T paste-buffer -p -d -b p -t "$S"
keys Enter
check "bracketed paste" -x "1077"

# completion of a module field, then use it
prompt
text 'tensor.ze'
keys Tab
check "complete tensor.ze" -x "> tensor.zeros"
line '(3):numel() + 300'
check "completed call runs" -x "303"

prompt
text 'string.fo'
keys Tab
check "complete string.fo" -x "> string.format"
line '("%d", 5)'
check "completed string.format runs" -x '"5"'

# methods of a tensor (userdata) through its metatable
line 'x = tensor.ones(2, 3)'
prompt
text 'x:resh'
keys Tab
check "complete tensor method" -x "> x:reshape"
line '(3, 2):size(1) + 500'
check "completed method runs" -x "503"

# nested fields, and a global name
line 'nt = {inner = {deepname = 601}}'
prompt
text 'nt.inner.dee'
keys Tab
check "complete nested field" -x "> nt.inner.deepname"
keys Enter
check "nested field value" -x "601"
prompt
text 'pri'
keys Tab
check "complete global" -x "> print"
line '("printed", 7)'
check "completed print runs" -x "printed 7"

# a Tab at the start of a line indents instead of listing every name
prompt
keys Tab
check_not "tab at empty line lists nothing" -e "possibilities"
line '700 + 1'
check "after indenting tab" -x "701"

# errors do not end the session
line 'error("boom-one")'
check "error reported" -e "boom-one"
line 'nil + 1'
check "runtime error reported" -e "attempt to perform arithmetic"
line 'x = = 1'
check "syntax error" -e "unexpected symbol"
line '2000 + 1'
check "session goes on after errors" -x "2001"

# Ctrl-C at the prompt clears the line
prompt
text 'junk_text'
keys C-c
prompt
line '3000 + 3'
check "Ctrl-C cleared the line" -x "3003"
check_not "no leftover text" -e "junk_text3000"

# Ctrl-C in a continuation abandons the chunk
line 'for i = 1, 3 do'
check_last "continuation before Ctrl-C" ">>"
keys C-c
prompt
line '3100 + 3'
check "Ctrl-C abandoned the chunk" -x "3103"

# Ctrl-C stops a running Lua loop
line 'while true do end'
sleep 0.3
keys C-c
check "Ctrl-C stops a loop" -e "interrupted"
line '4000 + 4'
check "prompt after Ctrl-C" -x "4004"

# ... and tensor work in a loop (C kernels poll the interrupt flag)
line 'big = tensor.ones(2000000)'
line 'while true do big:clone() end'
sleep 0.5
keys C-c
check "Ctrl-C stops tensor work" -e "interrupted" 2
line '4100 + 4'
check "prompt after Ctrl-C in tensor work" -x "4104"
# a second Ctrl-C later still works (the handler is re-armed)
line 'while true do end'
sleep 0.3
keys C-c
check "second Ctrl-C stops a loop" -e "interrupted" 3
line '4200 + 4'
check "prompt after the second Ctrl-C" -x "4204"

# help
line '?tensor.zeros'
check "?name" -x "    tensor of zeros"
line 'help(tensor.linspace)'
check "help(fn) by identity" -e "evenly spaced"
line 'help()'
check "help() lists modules" -e "modules (help(name)"
line 'help(x)'
check "help(tensor value) lists methods" -e "t:reshape("
line '?tensr.zeros'
check "unknown name suggests" -e "did you mean: tensor.zeros"

# history: recall with Up, and the file
prompt
keys Up
keys Enter
check "Up recalls the last chunk" -e "did you mean: tensor.zeros" 2
line '5000 + 5'
check "line after recall" -x "5005"
keys C-d
check "Ctrl-D exits with status 0" -x "SONDE-EXIT=0"
if grep -qxF '6*7000+1' "$HIST" && grep -qxF 'function sq(a)' "$HIST" &&
   grep -qxF '  return a * a' "$HIST"; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL history file: missing entries in $HIST:"
  sed 's/^/    | /' "$HIST" 2>/dev/null | tail -n 20
fi

# a new session reads the file: the multi-line chunk comes back whole
start repl2
check "second session" -e "help() for help"
prompt
line 'sq = nil'
prompt
keys C-r
text 'function sq'
keys Enter
prompt
line 'sq(9)'
check "history survives sessions, chunks whole" -x "81"

# the history file stays bounded: a long one is cut to its last 1000 entries
keys C-d
check "second session exits" -x "SONDE-EXIT=0"
seq 1 1200 | sed 's/^/h_entry_/' >"$HIST"
start repl3
check "third session" -e "help() for help"
prompt
keys Up
check "the newest entry is kept" -x "> h_entry_1200"
keys C-u C-d
check "third session exits" -x "SONDE-EXIT=0"
# (rewritten with a "#<time>" line before each entry)
entries=$(grep -vc '^#[0-9]' "$HIST")
first=$(grep -v '^#[0-9]' "$HIST" | head -n 1)
if [ "$entries" -eq 1000 ] && [ "$first" = h_entry_201 ]; then
  passed=$((passed + 1))
else
  failed=$((failed + 1))
  echo "FAIL history bounded: $entries entries, the first '$first'"
fi

check_not "no sanitizer report" -e "Sanitizer"

echo "TALLY $passed passed, $failed failed"
[ "$failed" -eq 0 ]
