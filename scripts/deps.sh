#!/bin/sh
# deps.sh: install the Debian packages sonde builds, tests and benchmarks
# with. As root it runs apt-get; otherwise it prints the one line to run.
set -e
# usage: deps.sh [bench]; the tests compare files with NumPy and PyTorch,
# the benchmarks time PyTorch and scikit-learn side by side.
PKGS="build-essential pkg-config liblua5.4-dev lua5.4 libopenblas-dev libpng-dev libcairo2-dev fonts-dejavu-core libreadline-dev zlib1g-dev libdeflate-dev check tmux dataset-fashion-mnist clang libclang-rt-14-dev python3-numpy python3-torch python3-sklearn lua-lpeg vim emacs-nox elpa-lua-mode"
# node and npm run the tree-sitter and TextMate grammar tests; a NodeSource
# nodejs already bundles npm, so ask Debian only when the command is missing.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
[ "$1" = bench ] && PKGS="$PKGS hyperfine time"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "sonde needs these Debian packages; as root, run:" >&2
  echo "  apt-get install -y$missing" >&2
  exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
