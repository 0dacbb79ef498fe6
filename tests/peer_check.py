"""peer_check.py: the tally of the Python side of a peer test (tests/peer.sh
puts tests/ on PYTHONPATH): check(ok, msg) prints and counts one check,
tally() prints the TALLY line tests/run.sh reads."""
passed = failed = 0


def check(ok, msg):
    global passed, failed
    print(("ok   " if ok else "FAIL ") + msg)
    if ok:
        passed += 1
    else:
        failed += 1


def tally():
    print("TALLY %d passed, %d failed" % (passed, failed))
