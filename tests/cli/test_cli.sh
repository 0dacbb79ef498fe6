#!/bin/sh
# test_cli.sh: the sonde program's command line: exit statuses, what goes
# to stdout and stderr, the arg table, '-' for stdin, -i, reserved
# commands, the recipe commands' usage, and `help` as a global in
# scripts. Run by tests/run.sh with SONDE set to the binary.
SONDE=${SONDE:-./sonde}
case $SONDE in /*) ;; *) SONDE=$(pwd)/$SONDE ;; esac
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

# run ARGS...: runs sonde with stdin from $tmp/in, records out, err, rc.
: >in
run() {
  "$SONDE" "$@" <in >out 2>err
  rc=$?
}

ok() { passed=$((passed + 1)); }
bad() {
  failed=$((failed + 1))
  echo "FAIL $1"
  echo "    exit $rc; stdout:"; sed 's/^/    | /' out | head -n 10
  echo "    stderr:"; sed 's/^/    | /' err | head -n 10
}
# expect NAME RC STREAM MODE TEXT: exit status and a line of out/err that
# contains (MODE -e) or equals (MODE -x) TEXT.
expect() {
  if [ "$4" = -x ]; then f=-qxF; else f=-qF; fi
  if [ "$rc" -eq "$2" ] && grep $f -- "$5" "$3"; then ok; else bad "$1"; fi
}
# expect_empty NAME STREAM
expect_empty() { if [ ! -s "$2" ]; then ok; else bad "$1: $2 not empty"; fi; }

run --version
expect "--version" 0 out -e "sonde 0."
run -v
expect "-v" 0 out -e "sonde 0."

run --help
expect "--help" 0 out -e "usage: sonde"
expect_empty "--help writes nothing to stderr" err

run -e 'print(1+1)'
expect "-e prints" 0 out -x "2"
expect_empty "-e clean stderr" err

run -e 'print('
expect "-e syntax error exits 1" 1 err -e "(command line)"

run -x
expect "unknown option" 1 err -e "unknown option '-x'"

run -e
expect "-e without code" 1 err -e "'-e' needs an argument"

# the recipe commands (tests/cli/test_recipe.sh, test_sweep.sh cover them): usage on no arguments
for c in run show verify sweep; do
  run "$c"
  expect "command $c without arguments" 1 err -e "usage: sonde $c"
done
run runs
expect "runs without a runs/ dir" 0 out -x "no runs in runs"

printf 'print("the run script", ...)\n' >run
run ./run x
expect "./run runs a script named run" 0 out -x "the run script	x"

# a script error: exit 1, file:line, a traceback
printf 'local x = 1\n\nlocal function f() error("bad thing") end\nf()\n' >err.lua
run err.lua
expect "script error exit status and file:line" 1 err -e "err.lua:3: bad thing"
expect "traceback" 1 err -x "stack traceback:"
expect "traceback names the caller line" 1 err -e "err.lua:4:"

printf 'error({code = 1})\n' >errobj.lua
run errobj.lua
expect "non-string error object" 1 err -e "(error object is a table value)"

run no_such_file.sonde
expect "missing script" 1 err -e "cannot open no_such_file.sonde"

# the arg table: script at 0, its arguments from 1, options below 0
printf 'print(arg[0], arg[1], arg[2], #arg, select("#", ...), ...)\nprint(arg[-1])\n' >args.lua
run args.lua one two
expect "arg table and varargs" 0 out -x "args.lua	one	two	2	2	one	two"
run -e 'x = 1' args.lua one
expect "options before the script sit at negative indices" 0 out -x "x = 1"

# '-' reads the script from stdin
printf 'print("from stdin", ...)\n' >in
run - p q
expect "- reads stdin with arguments" 0 out -x "from stdin	p	q"
# no arguments and stdin not a terminal: run stdin as a script
printf 'print(6 * 7)\n' >in
run
expect "stdin without a terminal runs as a script" 0 out -x "42"
printf 'error("from piped stdin")\n' >in
run
expect "error in piped stdin exits 1" 1 err -e "from piped stdin"

# -i: run, then the REPL (here reading the pipe); its results are printed
printf 'y + 1\n{1, 2}\n' >in
run -e 'y = 41' -i
expect "-i keeps the state of -e" 0 out -x "42"
expect "-i pretty prints" 0 out -x "{1, 2}"
printf 'print(z)\n' >in
printf 'z = "from the script"\n' >set_z.lua
run -i set_z.lua
expect "-i after a script" 0 out -x "from the script"
printf 'error("oops")\n6 * 100\n' >in
run -i
expect "-i: an error does not end the session" 0 out -x "600"
expect "-i: the error is on stderr" 0 err -e "oops"
: >in

# help is a global in scripts too
run -e 'help(tensor.zeros)'
expect "help in a script" 0 out -e "tensor.zeros("
run -e 'help "tensr.zeros"'
expect "help suggests close names" 0 out -e "did you mean: tensor.zeros"

# stdlib modules are lazy: nothing but the prelude runs at start-up
run -e 'print(package.loaded.repl, package.loaded.help)'
expect "stdlib stays unloaded at start-up" 0 out -x "nil	nil"

echo "TALLY $passed passed, $failed failed"
[ "$failed" -eq 0 ]
