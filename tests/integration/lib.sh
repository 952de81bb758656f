# Helpers for integration tests. Each test gets its own database and its
# own topics and consumer group on the stack of `scripts/dev up`, so tests
# never see each other's data. Sourced by tests/integration/t_*.sh.
set -euo pipefail
OUTDIAL_ROOT=${OUTDIAL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OUTDIAL_BIN=${OUTDIAL_BIN:-$OUTDIAL_ROOT/build/bin}
ENV_FILE=${OUTDIAL_DEV_ENV:-$OUTDIAL_ROOT/.dev/env}
[ -f "$ENV_FILE" ] || { echo "no $ENV_FILE: run scripts/dev up first" >&2; exit 1; }
. "$ENV_FILE"
export PATH="$OUTDIAL_BIN:$PATH"
FIXTURES=$OUTDIAL_ROOT/tests/fixtures

T_NAME=$(basename "$0" .sh)
T_ID="${T_NAME#t_}_$$_$RANDOM"
T_DIR=$(mktemp -d)
T_PASS=0
T_FAIL=0
T_PIDS=()
T_PGROUPS=() # process groups of servers that fork (Kamailio): killed whole

export OUTDIAL_PG_DSN="${OUTDIAL_DEV_PG_ADMIN_DSN%/postgres}/od_$T_ID"
export OUTDIAL_TOPIC_REQUESTS="t.$T_ID.requests"
export OUTDIAL_TOPIC_EVENTS="t.$T_ID.events"
export OUTDIAL_SCHEDULER_GROUP="g.$T_ID"
export OUTDIAL_TOPIC_DIAL="t.$T_ID.dial" OUTDIAL_TOPIC_REPORTS="t.$T_ID.reports"
export OUTDIAL_LOG_LEVEL=${OUTDIAL_LOG_LEVEL:-info}
# Every process's ops listener (/metrics, /healthz, /readyz) on a free
# loopback port unless a test picks one (tests run side by side).
export OUTDIAL_OPS_LISTEN=${OUTDIAL_OPS_LISTEN:-127.0.0.1:0}

sql() { psql "$OUTDIAL_PG_DSN" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }

# py_clients: the python of the virtualenv with the PyPI test clients
# (scripts/lib.sh; OUTDIAL_PY when scripts/test has made it already).
py_clients() {
  [ -n "${OUTDIAL_PY:-}" ] && { echo "$OUTDIAL_PY"; return; }
  bash -c '. "$1/scripts/lib.sh" && py_clients' _ "$OUTDIAL_ROOT"
}

t_cleanup() {
  disown -a 2>/dev/null || true # no "Killed" notices for the processes stopped below
  for p in "${T_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  # A group's leader is asked first, so that it stops and reaps its own
  # children (killed, they would be left to PID 1, which may not reap them).
  local g n
  for g in "${T_PGROUPS[@]}"; do kill -TERM "$g" 2>/dev/null || true; done
  for g in "${T_PGROUPS[@]}"; do
    for ((n = 0; n < 25; n++)); do kill -0 "$g" 2>/dev/null || break; sleep 0.2; done
    kill -9 -- "-$g" 2>/dev/null || true
  done
  [ -n "${T_KEEP:-}" ] || psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qc "DROP DATABASE IF EXISTS od_$T_ID WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "$T_FAIL" -gt 0 ] || [ -n "${T_KEEP:-}" ]; then
    echo "logs kept in $T_DIR" >&2
    for f in "$T_DIR"/*.log; do [ -f "$f" ] && { echo "--- $f (tail)"; tail -15 "$f"; } >&2; done
  else
    rm -rf "$T_DIR"
  fi
}
trap t_cleanup EXIT

ok() { T_PASS=$((T_PASS + 1)); echo "ok: $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "FAILED: $*" >&2; }
# check DESCRIPTION GOT WANT
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1: got '$2', want '$3'"; fi; }
# check_ge DESCRIPTION GOT MIN
check_ge() { if [ "$2" -ge "$3" ]; then ok "$1 ($2)"; else not_ok "$1: got $2, want >= $3"; fi; }
finish() {
  echo "$T_PASS passed, $T_FAIL failed"
  [ "$T_FAIL" -eq 0 ]
}

# A fresh, migrated, provisioned database.
t_setup_db() {
  psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qc "CREATE DATABASE od_$T_ID" >/dev/null
  outdialctl migrate >/dev/null
  outdialctl apply "${1:-$FIXTURES/provisioning.json}" >/dev/null
}

# start_scheduler NAME [args]: in the background, logs in $T_DIR/NAME.log;
# sets LAST_PID.
start_scheduler() {
  local name=$1; shift
  ${OUTDIAL_TEST_WRAP:-} outdial-scheduler "$@" >>"$T_DIR/$name.log" 2>&1 &
  LAST_PID=$!
  T_PIDS+=("$LAST_PID")
}

# wait_for SECONDS SQL WANT: polls until the query returns WANT.
wait_for() {
  local deadline=$((SECONDS + $1)) got=""
  while [ $SECONDS -lt $deadline ]; do
    got=$(sql "$2" 2>/dev/null || true)
    [ "$got" = "$3" ] && return 0
    sleep 0.3
  done
  echo "timed out waiting for [$2] = $3 (last: $got)" >&2
  return 1
}

# wait_log SECONDS FILE PATTERN
wait_log() {
  local deadline=$((SECONDS + $1))
  until grep -q "$3" "$2" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# The events topic, read to its end by kcat (an independent client):
# one line per message, "key<TAB>headers<TAB>value".
read_events() {
  kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_EVENTS" -o beginning -e -q \
    -f '%k\t%h\t%s\n' 2>/dev/null
}

# gen_requests N PREFIX: N JSONL requests for org acme, valid but for every
# 10th (an invalid number) and every 25th (an unknown org).
gen_requests() {
  awk -v n="$1" -v p="$2" 'BEGIN { for (i = 1; i <= n; i++) {
    org = (i % 25 == 0) ? "ghost" : "acme"
    to = (i % 10 == 0) ? "555" : sprintf("+1212555%04d", i % 10000)
    printf "{\"request_id\":\"%s-%d\",\"org_id\":\"%s\",\"agent_id\":\"support-bot\",\"to_number\":\"%s\",\"metadata\":{\"i\":%d}}\n", p, i, org, to, i } }'
}

# start_dialer NAME [args]: the scripted test dialer (tests/tools/fake_dialer.c).
start_dialer() {
  local name=$1; shift
  "$OUTDIAL_BIN/fake_dialer" --group "d.$T_ID" --dialer-id "$name" "$@" >>"$T_DIR/$name.log" 2>&1 &
  LAST_PID=$!
  T_PIDS+=("$LAST_PID")
}

# req ORG REQUEST_ID TO [extra JSON members]: one request line.
req() {
  echo "{\"request_id\":\"$2\",\"org_id\":\"$1\",\"agent_id\":\"a\",\"to_number\":\"$3\"${4:+,$4}}"
}

# status ORG REQUEST_ID
status() { sql "SELECT status FROM calls WHERE org_id='$1' AND request_id='$2'"; }

# wait_status SECONDS ORG REQUEST_ID STATUS
wait_status() {
  wait_for "$1" "SELECT status FROM calls WHERE org_id='$2' AND request_id='$3'" "$4"
}

# event_time ORG REQUEST_ID TYPE: epoch seconds (fractional) of that event.
event_time() {
  sql "SELECT extract(epoch FROM e.occurred_at) FROM call_events e JOIN calls c USING (call_id)
       WHERE c.org_id='$1' AND c.request_id='$2' AND e.type='$3' ORDER BY e.seq LIMIT 1"
}

# audit: outdialctl audit must pass (with --final when given).
audit_ok() {
  if outdialctl audit "$@" > "$T_DIR/audit.out" 2>&1; then ok "audit passes"
  else not_ok "audit: $(grep FAIL "$T_DIR/audit.out" | head -3)"; fi
}

# stored_once N: waits until N calls are stored and every event is
# published, then checks one call per request and one first event per call.
stored_once() {
  wait_for 120 "SELECT count(*) FROM calls" "$1" || not_ok "all $1 stored"
  wait_for 60 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
  check "one call per request" "$(sql 'SELECT count(DISTINCT (org_id, request_id)) FROM calls')" "$1"
  check "exactly one first event per call" "$(sql 'SELECT count(*) FROM call_events')" "$1"
}

# ---- SIP: SIPp as carrier and agent, and the real dialer ----------------

# Loopback ports of this test's own SIP peers (carrier, agent, dialer).
SIP_BASE=$((20000 + ($$ % 3000) * 4))
CARRIER_PORT=$SIP_BASE AGENT_PORT=$((SIP_BASE + 1)) DIALER_PORT=$((SIP_BASE + 2))

# start_sipp NAME SCENARIO PORT [sipp args]: a SIPp UAS from tests/sipp,
# logging every message to $T_DIR/NAME.msg.
start_sipp() {
  local name=$1 scen=$2 port=$3; shift 3
  sipp -sf "$OUTDIAL_ROOT/tests/sipp/$scen.xml" -i 127.0.0.1 -p "$port" -nostdin \
    -trace_msg -message_file "$T_DIR/$name.msg" -trace_err -error_file "$T_DIR/$name.err" \
    "$@" >"$T_DIR/$name.out" 2>&1 &
  T_PIDS+=("$!")
}

# Kamailio (tests/kamailio/carrier.cfg) as the carrier's proxy, on KAM_PORT
# (UDP and TCP), in front of the callee at CALLEE_HOSTPORT.
KAM_PORT=$((SIP_BASE + 3))

# start_kamailio NAME PASSWORD CALLEE_HOSTPORT: in its own process group (its
# children outlive a killed parent), logging to $T_DIR/NAME.log; returns once
# it accepts TCP connections.
start_kamailio() {
  local name=$1 cfg="$T_DIR/$1.cfg"
  sed -e "s/@KAM_PORT@/$KAM_PORT/g" -e "s/@PASSWORD@/$2/g" -e "s/@CALLEE@/$3/g" \
    "$OUTDIAL_ROOT/tests/kamailio/carrier.cfg" > "$cfg"
  setsid kamailio -f "$cfg" -DD -E -m 32 -M 8 -Y "$T_DIR" -w "$T_DIR" >"$T_DIR/$name.log" 2>&1 &
  T_PGROUPS+=("$!")
  local deadline=$((SECONDS + 20))
  until (exec 3<>"/dev/tcp/127.0.0.1/$KAM_PORT") 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { echo "kamailio did not start" >&2; return 1; }
    sleep 0.2
  done
}

# kam_saw NAME PATTERN: Kamailio's "OD|..." lines (tests/kamailio/carrier.cfg)
# for the calls whose INVITE's Request-URI contains PATTERN, in order, with
# the Call-ID field left out: "in|INVITE|udp|sip:...|1|<route>|<digest uri>".
kam_saw() {
  local log="$T_DIR/$1.log"
  grep -o 'OD|.*' "$log" | awk -F'|' -v pat="$2" '
    $2 == "in" && $4 == "INVITE" && index($6, pat) { want[$3] = 1 }
    { line[NR] = $0; cid[NR] = $3 }
    END { for (i = 1; i <= NR; i++) if (cid[i] in want) {
            n = split(line[i], f, "|"); s = f[2]
            for (j = 4; j <= n; j++) s = s "|" f[j]
            print s } }'
}

# start_sip_dialer NAME [args]: outdial-dialer on DIALER_PORT.
start_sip_dialer() {
  local name=$1; shift
  ${OUTDIAL_TEST_WRAP:-} outdial-dialer --group "d.$T_ID" --dialer-id "$name" \
    --sip-bind "sip:127.0.0.1:$DIALER_PORT" "$@" >>"$T_DIR/$name.log" 2>&1 &
  LAST_PID=$!
  T_PIDS+=("$LAST_PID")
}

# provision_sip FILE: a fixture with its @CARRIER_PORT@/@AGENT_PORT@ filled in.
provision_sip() {
  sed -e "s/@CARRIER_PORT@/$CARRIER_PORT/g" -e "s/@AGENT_PORT@/$AGENT_PORT/g" "$1" > "$T_DIR/prov.json"
  t_setup_db "$T_DIR/prov.json"
}

# sip_dialog FILE PATTERN: every message SIPp logged in FILE for the call
# whose first INVITE contains PATTERN, in order.
sip_dialog() {
  local cid
  cid=$(awk -v RS='-----------------------------------------------' -v pat="$2" '
    index($0, pat) && /INVITE sip:/ && match($0, /Call-ID: [^\r\n]+/) {
      print substr($0, RSTART + 9, RLENGTH - 9); exit }' "$1")
  [ -n "$cid" ] || return 0
  awk -v RS='-----------------------------------------------' -v cid="Call-ID: $cid" '
    index($0, cid) { print "-----" $0 }' "$1" | tr -d '\r'
}

# call_field ORG REQUEST_ID EXPR: one value of the call's row.
call_field() { sql "SELECT $3 FROM calls WHERE org_id='$1' AND request_id='$2'"; }

# story ORG REQUEST_ID: its event types in order, e.g. queued,initiated,...
story() {
  sql "SELECT string_agg(split_part(e.type, '.', 2), ',' ORDER BY e.seq) FROM call_events e
       JOIN calls c USING (call_id) WHERE c.org_id='$1' AND c.request_id='$2'"
}

# validate SCHEMA: every JSON line on stdin must validate against
# schemas/SCHEMA.schema.json (python3-jsonschema, Debian's); prints
# "<valid> <invalid>" and the first errors on stderr.
validate() {
  /usr/bin/python3 -c '
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
good = bad = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    errs = list(v.iter_errors(json.loads(line)))
    if errs:
        bad += 1
        if bad <= 3:
            print("invalid:", line[:200], "|", errs[0].message[:200], file=sys.stderr)
    else:
        good += 1
print(good, bad)' "$OUTDIAL_ROOT/schemas/$1.schema.json"
}
