#!/bin/sh
# render.sh: a screenshot of a recipe as editor-support/vim highlights it,
# made headless: Vim writes the highlight runs (spans.vim), sonde draws them
# (render.lua). Regenerate the README's picture with
#   sh editor-support/screenshot/render.sh ./sonde examples/recipe_demo.sonde editor-support/screenshot.png
set -e
SONDE=${1:?usage: render.sh SONDE FILE.sonde OUT.png}; file=${2:?}; out=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
spans=$(mktemp)
trap 'rm -f "$spans"' EXIT
SPANS=$spans vim -N -u NONE -i NONE -es --cmd "set rtp^=$here/../vim" --cmd "filetype plugin on" \
  --cmd "syntax on" -c "source $here/spans.vim" "$file" </dev/null >/dev/null 2>&1 || true
[ -s "$spans" ] || { echo "render.sh: vim wrote no highlight runs" >&2; exit 1; }
"$SONDE" "$here/render.lua" "$file" "$spans" "$out"
