#!/usr/bin/env bash
# Runs the Autobahn|Testsuite (wstest -m fuzzingclient, cases 1.* to 10.*;
# 12.* and 13.* are permessage-deflate, which Hearth does not offer) against
# examples/autobahn_echo.rs: Hearth's accept loop, hand-written upgrade and
# text frame writer behind an echo server. See docs/AUTOBAHN.md.
#
# Builds the example (release), makes a Python 2.7 virtualenv with pinned
# autobahntestsuite under target/autobahn-venv (wstest runs only on 2.7),
# runs the suite, writes the reports under target/autobahn/, prints the count
# per behavior and exits non-zero if any case failed, is unimplemented or
# missing. The echo server is always stopped.
#
# Environment: PYENV_ROOT (default /root/.pyenv) or AUTOBAHN_PYTHON (a Python
# 2.7 interpreter); CARGO_TARGET_DIR as for cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

step() { printf '\n==> %s\n' "$*"; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }

CASES='["1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "8.*", "9.*", "10.*"]'
EXCLUDE='["12.*", "13.*"]'
# The last releases that work on Python 2.7, resolved together (pip freeze of
# a working environment). Installing the same set again needs no resolver.
REQUIREMENTS='
autobahntestsuite==25.10.1
autobahn==0.10.9
Twisted==19.10.0
txaio==2.1.0
wsaccel==0.6.6
ujson==2.0.3
six==1.16.0
zope.interface==4.6.0
PyHamcrest==1.10.1
incremental==16.10.1
idna==2.10
typing==3.10.0.0
hyperlink==21.0.0
attrs==21.4.0
constantly==15.1.0
Automat==22.10.0
MarkupSafe==1.1.1
Jinja2==2.11.3
ipaddress==1.0.23
pycparser==2.21
cffi==1.15.1
enum34==1.1.10
cryptography==3.3.2
Werkzeug==1.0.1
klein==17.10.0
pyasn1==0.5.1
pyasn1-modules==0.3.0
service-identity==18.1.0
pyOpenSSL==19.1.0
linecache2==1.0.0
traceback2==1.4.0
argparse==1.4.0
unittest2==1.1.0
'
VIRTUALENV_VERSION=16.7.12 # the last single-file virtualenv; runs on 2.7
VENV=$ROOT/target/autobahn-venv
OUT=$ROOT/target/autobahn
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/examples/autobahn_echo

command -v cargo >/dev/null || { echo "cargo (Rust toolchain) is required" >&2; exit 1; }

t_start=$(now)
step "building examples/autobahn_echo (release)"
# Same flags as the test command's release build, so it reuses that build.
cargo build --release --locked --example autobahn_echo
t_built=$(now)

step "Python 2.7 virtualenv with autobahntestsuite ($VENV)"
python27() {
  if [ -n "${AUTOBAHN_PYTHON:-}" ]; then echo "$AUTOBAHN_PYTHON"; return; fi
  local pyenv_root=${PYENV_ROOT:-/root/.pyenv}
  local py=$pyenv_root/versions/2.7.18/bin/python
  if [ ! -x "$py" ]; then
    local pyenv=$pyenv_root/bin/pyenv
    command -v pyenv >/dev/null 2>&1 && pyenv=$(command -v pyenv)
    [ -x "$pyenv" ] || { echo "Python 2.7.18 not found and no pyenv at $pyenv_root" >&2; exit 1; }
    echo "installing Python 2.7.18 with pyenv" >&2
    PYENV_ROOT=$pyenv_root "$pyenv" install -s 2.7.18 >&2
  fi
  echo "$py"
}
stamp=$VENV/.requirements.cksum
want=$(printf '%s' "$REQUIREMENTS" | cksum)
if [ ! -x "$VENV/bin/wstest" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  PY=$(python27)
  rm -rf "$VENV" "$ROOT/target/autobahn-bootstrap"
  "$PY" -m pip install -q --disable-pip-version-check --no-warn-script-location \
    --target "$ROOT/target/autobahn-bootstrap" "virtualenv==$VIRTUALENV_VERSION"
  PYTHONPATH=$ROOT/target/autobahn-bootstrap "$PY" -m virtualenv -q "$VENV"
  rm -rf "$ROOT/target/autobahn-bootstrap"
  printf '%s\n' "$REQUIREMENTS" > "$VENV/requirements.txt"
  PYTHONWARNINGS=ignore "$VENV/bin/pip" install -q --disable-pip-version-check \
    -r "$VENV/requirements.txt"
  echo "$want" > "$stamp"
fi
"$VENV/bin/wstest" --autobahnversion
t_venv=$(now)

rm -rf "$OUT"
mkdir -p "$OUT"
server_pid=
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=
}
trap stop_server EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "starting the echo server"
# Port 0: the kernel picks a free loopback port; the server prints it.
"$BIN" 127.0.0.1:0 > "$OUT/echo-server.log" 2>&1 &
server_pid=$!
url=
for _ in $(seq 100); do
  url=$(sed -n 's/^autobahn_echo listening on \(ws:\/\/[0-9.:]*\)$/\1/p' "$OUT/echo-server.log")
  [ -n "$url" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$OUT/echo-server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "the echo server did not start" >&2; cat "$OUT/echo-server.log" >&2; exit 1; }
echo "echo server at $url (pid $server_pid)"

cat > "$OUT/fuzzingclient.json" <<EOF
{
  "outdir": "$OUT/reports",
  "servers": [{"agent": "hearth", "url": "$url"}],
  "cases": $CASES,
  "exclude-cases": $EXCLUDE,
  "exclude-agent-cases": {}
}
EOF

step "wstest -m fuzzingclient (log: $OUT/wstest.log)"
t_suite=$(now)
(cd "$OUT" && "$VENV/bin/wstest" -m fuzzingclient -s "$OUT/fuzzingclient.json") > "$OUT/wstest.log" 2>&1 || {
  echo "wstest failed:" >&2; tail -n 30 "$OUT/wstest.log" >&2; exit 1
}
t_done=$(now)
stop_server

step "summary (reports: $OUT/reports/index.html)"
status=0
"$VENV/bin/python" - "$OUT/fuzzingclient.json" "$OUT/reports" <<'PY' || status=$?
import json, os, sys
from collections import Counter, OrderedDict
from autobahntestsuite.case import Cases, CaseCategories, CaseSubCategories, CaseSetname, CaseBasename
from autobahntestsuite.caseset import CaseSet

spec = json.load(open(sys.argv[1]))
reports = sys.argv[2]
expected = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories, CaseSubCategories).parseSpecCases(spec)
index = json.load(open(os.path.join(reports, "index.json")))
results = index.get("hearth", {})
ALLOWED = ("OK", "NON-STRICT", "INFORMATIONAL")
CLOSE_ALLOWED = ("OK", "INFORMATIONAL", "WRONG CODE", "FAILED BY CLIENT")

groups = OrderedDict()
for case in expected:
    groups.setdefault(int(case.split(".")[0]), []).append(case)
print("%-6s %6s  %s" % ("group", "cases", "behavior (closing behavior)"))
for group, cases in groups.items():
    b = Counter(results[c]["behavior"] for c in cases if c in results)
    bc = Counter(results[c]["behaviorClose"] for c in cases if c in results)
    print("%-6s %6d  %s  (%s)" % ("%d.*" % group, len(cases),
        ", ".join("%s %d" % kv for kv in sorted(b.items())),
        ", ".join("%s %d" % kv for kv in sorted(bc.items()))))
total = Counter(results[c]["behavior"] for c in expected if c in results)
print("%-6s %6d  %s" % ("all", len(expected), ", ".join("%s %d" % kv for kv in sorted(total.items()))))

bad = 0
missing = [c for c in expected if c not in results]
if missing:
    bad += len(missing)
    print("\nMISSING (no result): %s" % " ".join(missing))
notable = [c for c in expected if c in results
           and (results[c]["behavior"] != "OK" or results[c]["behaviorClose"] != "OK")]
if notable:
    print("\nnot OK:")
for c in notable:
    r = results[c]
    detail = json.load(open(os.path.join(reports, r["reportfile"].replace(".html", ".json"))))
    failed = r["behavior"] not in ALLOWED or r["behaviorClose"] not in CLOSE_ALLOWED
    bad += failed
    print("  %-8s %s / close %s (code %s)%s\n           %s\n           %s | %s" % (
        c, r["behavior"], r["behaviorClose"], r.get("remoteCloseCode"),
        "  <-- FAIL" if failed else "",
        detail.get("description", "").split("<")[0].strip()[:150],
        detail.get("result", ""), detail.get("resultClose", "")))
sys.exit(1 if bad else 0)
PY

echo
echo "build: $(elapsed "$t_start" "$t_built"), venv: $(elapsed "$t_built" "$t_venv"), suite: $(elapsed "$t_suite" "$t_done"), total: $(elapsed "$t_start" "$t_done")"
if [ "$status" -ne 0 ]; then
  echo "Autobahn: some cases failed or are missing (see above)" >&2
  exit 1
fi
echo "Autobahn: all cases OK, NON-STRICT or INFORMATIONAL"
