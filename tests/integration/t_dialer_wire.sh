# The dialer against the carriers and agents of issue 11, from the wire up:
# what each outcome must be (docs/dialer.md, outcome table) and what went on
# the wire for it, with real calls through scheduler and dialer.
# Scenarios: tests/sipp/carrier_wire.xml (by the last two digits of the
# number), tests/sipp/agent_wire.xml (by the agent's user),
# tests/sipp/silent.xml (a trunk that never answers), tests/sipp/callee_gone.xml
# (a callee that vanishes after the answer), tests/tools/garbage_udp.py (a
# trunk answering garbage), and a port nothing listens on.
# Phase A runs every call that cannot hurt the dialer at once; phase B then
# runs, one after the other, those that crashed it (issue 11, 1 and 2, and
# the callee leg lost under ASan), checking after each that the same dialer
# process survives (and replacing it when it did not, so that each check
# still says something of its own case), and that it serves the next call.
. "$(dirname "$0")/lib.sh"

# Ports of this test's extra peers, from the PID like lib.sh's but in a
# range lib.sh does not use (10000-19999).
WBASE=$((10000 + ($$ % 620) * 16))
SILENT_PORT=$WBASE GARBAGE_PORT=$((WBASE + 1)) UNREACH_PORT=$((WBASE + 2)) GONE_PORT=$((WBASE + 3))
/usr/bin/python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).bind(("127.0.0.1", int(sys.argv[1])))' \
  "$UNREACH_PORT" 2>/dev/null || not_ok "nothing may listen on $UNREACH_PORT (the unreachable trunk)"

# --- provisioning: with agent credentials; if refused, without them so the
# --- rest still says something
sed -e "s/@CARRIER_PORT@/$CARRIER_PORT/g" -e "s/@AGENT_PORT@/$AGENT_PORT/g" \
  -e "s/@SILENT_PORT@/$SILENT_PORT/g" -e "s/@GARBAGE_PORT@/$GARBAGE_PORT/g" \
  -e "s/@UNREACH_PORT@/$UNREACH_PORT/g" -e "s/@GONE_PORT@/$GONE_PORT/g" \
  "$FIXTURES/dialer_wire.json" >"$T_DIR/prov.json"
psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qc "CREATE DATABASE od_$T_ID" >/dev/null
outdialctl migrate >/dev/null
if outdialctl apply "$T_DIR/prov.json" >"$T_DIR/apply.out" 2>&1; then
  ok "provisioning takes an agent's username and password"
else
  not_ok "provisioning takes an agent's username and password: $(head -c 300 "$T_DIR/apply.out")"
  /usr/bin/python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
for o in p["orgs"]:
    for a in o.get("agents", []):
        a.pop("username", None); a.pop("password", None)
json.dump(p, sys.stdout)' "$T_DIR/prov.json" >"$T_DIR/prov2.json"
  outdialctl apply "$T_DIR/prov2.json" >/dev/null
fi

start_sipp carrier carrier_wire "$CARRIER_PORT"
start_sipp agent agent_wire "$AGENT_PORT"
start_sipp silent silent "$SILENT_PORT" -default_behaviors none
start_sipp gone callee_gone "$GONE_PORT" -m 1
GONE_PID=${T_PIDS[-1]}
/usr/bin/python3 "$OUTDIAL_ROOT/tests/tools/garbage_udp.py" --port "$GARBAGE_PORT" --seconds 150 \
  --log "$T_DIR/garbage.log" >"$T_DIR/garbage.out" 2>&1 &
T_PIDS+=("$!")
start_scheduler sched
start_sip_dialer dialer --agent-answer-ms 2000
DIALER_PID=$LAST_PID DIALER_NAME=dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

# call ID AGENT CODE FROM [extra JSON]: a request to +1555<pid-ish><ID><CODE>
# from FROM (which picks the trunk: 200 wire, 201 wrongpw, 202 unreach,
# 203 silent, 204 garbage, 205 gone).
U=$(printf '%03d' $(($$ % 1000)))
num() { echo "+1555$U$1$2"; }
call() {
  echo "{\"request_id\":\"$1\",\"org_id\":\"acme\",\"agent_id\":\"$2\",\"to_number\":\"$(num "$1" "$3")\",\"from_number\":\"+15550000$4\",\"ringing_timeout_seconds\":5${5:+,$5}}"
}
carrier_saw() { sip_dialog "$T_DIR/carrier.msg" "INVITE sip:$(call_field acme "$1" to_number)@"; }
agent_saw() { sip_dialog "$T_DIR/agent.msg" "X-Outdial-Call-Id: $(call_field acme "$1" call_id)"; }
# outcome ID: status|sip_status|sip_reason|error_code|hangup_by, '-' for none.
outcome() {
  call_field acme "$1" "concat_ws('|', status, coalesce(sip_status::text, '-'), coalesce(sip_reason, '-'),
                         coalesce(error_code, '-'), coalesce(hangup_by, '-'))"
}
# invites FILE PATTERN: how many distinct INVITEs (Call-ID and CSeq; not
# retransmissions) SIPp received whose request line contains PATTERN.
invites() {
  awk -v RS='-----------------------------------------------' -v pat="$2" '
    /received/ && match($0, /\nINVITE sip:[^\n]*/) && index(substr($0, RSTART, RLENGTH), pat) {
      match($0, /\nCall-ID: [^\r\n]+/); id = substr($0, RSTART, RLENGTH)
      match($0, /\nCSeq: [^\r\n]+/); seen[id substr($0, RSTART, RLENGTH)] = 1 }
    END { n = 0; for (k in seen) n++; print n }' "$1"
}
# records FILE PATTERN: "date time|sent or received|first line" for every
# message SIPp logged in FILE that contains PATTERN, in order.
records() {
  awk -v RS='-----------------------------------------------' -v pat="$2" '
    index($0, pat) { n = split($0, l, "\n"); ts = l[1]; sub(/^ +/, "", ts)
      dir = (l[2] ~ /sent/) ? "sent" : "received"; first = ""
      for (i = 3; i <= n; i++) if (l[i] ~ /[^\r ]/) { first = l[i]; break }
      gsub(/\r/, "", first); print ts "|" dir "|" first }' "$1"
}
epoch() { date -d "$1" +%s.%N; }
# nreq METHOD: how many distinct METHOD requests (by CSeq; not
# retransmissions) are in the sip_dialog text on stdin.
nreq() {
  awk -v RS='\n-----' -v m="$1" '$0 ~ ("\n" m " sip:") && match($0, /\nCSeq: [^\r\n]+/) { s[substr($0, RSTART, RLENGTH)] = 1 }
    END { n = 0; for (k in s) n++; print n }'
}
# event ID TYPE FIELD: FIELD of that call's first event of TYPE, as JSON
# ("null" when absent), read by kcat.
event() {
  read_events | cut -f3 | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("request_id") == sys.argv[1] and e.get("type") == sys.argv[2]:
        print(json.dumps(e.get(sys.argv[3])))
        break' "$1" "$2" "$3"
}
b64() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
live() { sql "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered','in_progress')"; }

# About 21 KB of context JSON.
CTX=$(printf '{"doc":"%s"}' "$(seq -s- 1 4300)")
EVERY='"retry":{"max_attempts":2,"delay_seconds":1,"on":["no_answer","busy","carrier_busy"]}'

# ===== phase A: everything that cannot crash the dialer, at once ============
{
  call 31 bot 21 200
  call 32 bot 00 202
  call 33 bot 00 203
  call 34 bot 00 204
  call 36 bot 22 200 '"retry":{"max_attempts":2,"delay_seconds":1,"on":["carrier_busy"]}'
  call 37 bot 23 200 "$EVERY"
  call 38 bot 24 200
  call 39 bot 25 200
  call 40 bot 26 200
  call 41 authagent 00 200
  call 42 hangup 00 200 "\"context\":$CTX"
  call 43 bot 28 201
  call 44 bot 29 200
} | outdialctl submit - >"$T_DIR/submit.out" 2>&1 || not_ok "submit phase A: $(head -c 300 "$T_DIR/submit.out")"
wait_for 60 "SELECT count(*) FROM calls" 13 || not_ok "phase A stored"
wait_for 60 "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered','in_progress')" 0 ||
  not_ok "phase A: every call ended (left: $(sql "SELECT string_agg(request_id || ' ' || status, ', ') FROM calls
         WHERE status IN ('queued','initiated','ringing','answered','in_progress')"))"

# --- 302: reported, not followed ---------------------------------------------
check "302: outcome" "$(outcome 31)" "failed|302|Moved Temporarily|REDIRECTED|carrier"
check "302: no second INVITE" "$(invites "$T_DIR/carrier.msg" "sip:$(num 31 21)@") $(invites "$T_DIR/carrier.msg" "redirected-")" "1 0"
grep -q "redirected-" <<<"$(call_field acme 31 error_message)" && ok "302: error_message names the Contact" ||
  not_ok "302: error_message names the Contact: '$(call_field acme 31 error_message)'"

# --- no response from the trunk -------------------------------------------------
check "unreachable trunk (nothing listening)" "$(outcome 32)" "failed|-|-|CARRIER_UNREACHABLE|system"
check "silent trunk" "$(outcome 33)" "failed|-|-|CARRIER_UNREACHABLE|system"
check "silent trunk: it got the INVITE and sent nothing" \
  "$(invites "$T_DIR/silent.msg" "sip:$(num 33 00)@") $(grep -c 'message sent' "$T_DIR/silent.msg" || true)" "1 0"
check "garbage trunk" "$(outcome 34)" "failed|-|-|CARRIER_UNREACHABLE|system"
grep -q "INVITE sip:$(num 34 00)@" "$T_DIR/garbage.log" && ok "garbage trunk: it got the INVITE (and answered garbage)" ||
  not_ok "garbage trunk got nothing: $(head -3 "$T_DIR/garbage.log")"

# --- 503 + Retry-After, retried no sooner than asked; 603 never retried -----------
check "503 Retry-After: outcome" "$(outcome 36)" "failed|503|Service Unavailable|CARRIER_CAPACITY|carrier"
check "503 Retry-After: retried once (attempt 2, two INVITEs)" \
  "$(call_field acme 36 attempt) $(invites "$T_DIR/carrier.msg" "sip:$(num 36 22)@")" "2 2"
gap=$(records "$T_DIR/carrier.msg" "sip:$(num 36 22)@" | awk -F'|' '
  $2 == "sent" && $3 ~ /^SIP\/2.0 503/ && !t503 { t503 = $1; next }
  t503 && $2 == "received" && $3 ~ /^INVITE / && !done { print t503 "|" $1; done = 1 }')
if [ -n "$gap" ]; then
  gap=$(awk -v a="$(epoch "${gap%|*}")" -v b="$(epoch "${gap#*|}")" 'BEGIN { printf "%.3f", b - a }')
  awk -v g="$gap" 'BEGIN { exit !(g >= 4) }' && ok "503 Retry-After: 4: the second INVITE came $gap s after the 503" ||
    not_ok "503 Retry-After: 4: the second INVITE came only $gap s after the 503"
else
  not_ok "503 Retry-After: no second INVITE after the 503"
fi
check "503 Retry-After: retry_after_seconds on call.failed (kcat)" "$(event 36 call.failed retry_after_seconds)" 4
check "603 with a policy naming every value: outcome" "$(outcome 37)" "failed|603|Decline|DECLINED|callee"
check "603: never retried (attempt 1, one INVITE)" \
  "$(call_field acme 37 attempt) $(invites "$T_DIR/carrier.msg" "sip:$(num 37 23)@")" "1 1"
check "480 with Q.850 cause 34 (no circuit): outcome" "$(outcome 44)" \
  "failed|480|Temporarily Unavailable|CARRIER_CAPACITY|carrier"
check "480 with Q.850 cause 34: q850_cause on call.failed (kcat)" "$(event 44 call.failed q850_cause)" 34

# --- Reason: Q.850 -----------------------------------------------------------------
check "486 with Reason Q.850 17: outcome" "$(outcome 38)" "busy|486|Busy Here|-|callee"
check "486 with Reason Q.850 17: q850_cause on call.busy (kcat)" "$(event 38 call.busy q850_cause)" 17

# --- SDP in a 183, none in the 200 / none at all -------------------------------------
check "183 with SDP, 200 without: outcome" "$(outcome 39)" "completed|200|OK|-|callee"
grep -q "^s=early-media" <<<"$(agent_saw 39)" && ok "183 with SDP: the agent got the 183's SDP" ||
  not_ok "183 with SDP: the agent's INVITE lacks the 183's SDP"
awk '/^ACK sip:/,0' <<<"$(carrier_saw 39)" | grep -q "^m=audio [1-9]" &&
  ok "183 with SDP: the callee's ACK carries the agent's answer" || not_ok "183 with SDP: no answer in the callee's ACK"
check "180, 200 without SDP: outcome" "$(outcome 40)" "failed|200|OK|NO_SDP_OFFER|system"
w=$(carrier_saw 40)
check "180, 200 without SDP: the callee was ACKed, then BYE'd" \
  "$(nreq ACK <<<"$w") $(nreq BYE <<<"$w")" "1 1"
check "180, 200 without SDP: no INVITE to the agent" \
  "$(grep -c "X-Outdial-Call-Id: $(call_field acme 40 call_id)" "$T_DIR/agent.msg" || true)" 0

# --- an agent that requires digest auth ------------------------------------------------
check "agent with digest auth: outcome" "$(outcome 41)" "completed|200|OK|-|agent"
w=$(agent_saw 41)
# the second INVITE carries the credentials, and so does the ACK of its 200
# (RFC 3261 13.2.2.4: "the same credentials as the INVITE")
check "agent with digest auth: two INVITEs, the second and its ACK with its credentials" \
  "$(invites "$T_DIR/agent.msg" "sip:authagent@") $(grep -c '^Authorization: Digest username="agentuser"' <<<"$w" || true)" "2 2"

# --- large context to a UDP-only agent ---------------------------------------------------
w=$(agent_saw 42)
check "large context: outcome" "$(outcome 42)" "completed|200|OK|-|agent"
inv=$(awk '/^-----/ { n++ } n == 1' <<<"$w")
grep -q "^UDP message received" <<<"$inv" && ok "large context: the agent got its INVITE over UDP" ||
  not_ok "large context: no INVITE over UDP at the agent ($(head -2 <<<"$inv" | tail -1))"
check "large context: longest header line <= 1024 bytes" \
  "$(awk 'length > m { m = length } END { print (m <= 1024 && NR > 1) ? "yes" : "no, " m }' <<<"$inv")" yes
check "large context: no unsplit X-Outdial-Context" "$(grep -c '^X-Outdial-Context:' <<<"$inv" || true)" 0
parts=$(awk -F': *' '/^X-Outdial-Context-[0-9]+:/ { split($1, h, "-"); print h[4] "\t" $2 }' <<<"$inv" | sort -n)
check "large context: parts numbered 1..N in order" \
  "$(cut -f1 <<<"$parts" | awk '$1 != NR { bad = 1 } END { print (NR > 1 && !bad) ? "yes" : "no (" NR " parts)" }')" yes
check "large context: the parts concatenate to the context's base64url" \
  "$(cut -f2 <<<"$parts" | tr -d '\n' | md5sum)" "$(b64 "$CTX" | md5sum)"

# --- a wrong password against a fixed nonce ----------------------------------------------
check "wrong password, fixed nonce: outcome" "$(outcome 43)" "failed|401|Unauthorized (fixed nonce)|AUTH_FAILED|carrier"
check "wrong password, fixed nonce: exactly 2 INVITEs" "$(invites "$T_DIR/carrier.msg" "sip:$(num 43 28)@")" 2
check "wrong password: the retry carried credentials" \
  "$(carrier_saw 43 | grep -c '^Authorization: Digest username="u"' || true)" 1

# ===== phase B: those that crashed the dialer, one at a time =============================
dialer_alive() {
  if kill -0 "$DIALER_PID" 2>/dev/null; then ok "$1: the dialer (pid $DIALER_PID) is still running"; return; fi
  not_ok "$1: the dialer (pid $DIALER_PID) died: $(grep -m1 -i 'segv\|abort\|sanitizer' "$T_DIR/$DIALER_NAME.log" | head -c 200)"
  # A new one, so that what follows still says something of its own case.
  RESTARTS=$((RESTARTS + 1))
  DIALER_NAME=dialer$RESTARTS
  start_sip_dialer "$DIALER_NAME" --agent-answer-ms 2000
  DIALER_PID=$LAST_PID
  wait_log 30 "$T_DIR/dialer$RESTARTS.log" "partitions assigned" || not_ok "replacement dialer $RESTARTS joined"
}
RESTARTS=1

dialer_alive "after phase A"

# --- the callee leg lost mid-call (this one crashed the dialer under ASan) ----------
call 35 holder 00 205 | outdialctl submit - >/dev/null
wait_for 30 "SELECT count(*) FROM calls WHERE request_id = '35' AND status NOT IN ('queued','initiated','ringing','answered','in_progress')" 1 ||
  not_ok "callee leg lost: call ended"
# the 200 is what the callee said when it answered; the loss itself has no
# status (nothing came back: our stack's timeout is in the message)
check "callee leg lost: outcome" "$(outcome 35)" "completed|200|OK|CALLEE_LEG_LOST|system"
check "callee leg lost: talk time billed and settled" \
  "$(call_field acme 35 "billable_seconds BETWEEN 1 AND 5 AND cost_millicents = billable_seconds * 20 AND credit_status = 'settled'")" t
w=$(agent_saw 35)
check "callee leg lost: the agent sent its hold re-INVITE (test sanity)" \
  "$(nreq INVITE <<<"$w") $(grep -q 'a=sendonly' <<<"$w" && echo sendonly)" "2 sendonly"
check "callee leg lost: the agent got one BYE" "$(nreq BYE <<<"$w")" 1
kill -0 "$GONE_PID" 2>/dev/null && not_ok "the vanishing callee's SIPp is still running (test bug)" ||
  ok "the vanishing callee is gone (its SIPp exited after the ACK)"
check "callee leg lost: the callee got INVITE and ACK, then nothing" \
  "$(records "$T_DIR/gone.msg" "Call-ID" | grep received | cut -d'|' -f3 | cut -d' ' -f1 | tr '\n' ' ')" "INVITE ACK "

dialer_alive "after the callee leg was lost"

# --- the callee's 200 crosses our CANCEL at ring timeout: 20, its 200 before
# --- the CANCEL's; 30, the CANCEL's 200 first, then the INVITE's 200 anyway
glare() {
  local id=$1 code=$2 what=$3 w ack
  call "$id" bot "$code" 200 | outdialctl submit - >/dev/null
  wait_for 20 "SELECT count(*) FROM calls WHERE request_id = '$id' AND status NOT IN ('queued','initiated','ringing','answered','in_progress')" 1 ||
    not_ok "$what: call ended"
  check "$what: outcome" "$(outcome "$id")" "no_answer|200|OK|ANSWERED_AFTER_TIMEOUT|system"
  w=$(carrier_saw "$id")
  check "$what: one CANCEL, one ACK, one BYE" \
    "$(nreq CANCEL <<<"$w") $(nreq ACK <<<"$w") $(nreq BYE <<<"$w")" "1 1 1"
  ack=$(awk '/^ACK sip:/ { on = 1 } on && /^-----/ && seen { exit } on { seen = 1; print }' <<<"$w")
  check "$what: the ACK refuses every stream (2 m= lines, all port 0)" \
    "$(grep -c '^m=' <<<"$ack" || true) $(grep -c '^m=[a-z]* 0 ' <<<"$ack" || true)" "2 2"
  check "$what: the agent was never called" \
    "$(grep -c "X-Outdial-Call-Id: $(call_field acme "$id" call_id)" "$T_DIR/agent.msg" || true)" 0
  sleep 1
  dialer_alive "after $what"
}
glare 51 20 "glare (200 before the CANCEL's 200)"
glare 54 30 "glare (the CANCEL's 200, then the INVITE's 200)"

call 52 hangup 00 200 | outdialctl submit - >/dev/null
wait_status 20 acme 52 completed || not_ok "the next call completed"
check "the next call on the same dialer" "$(outcome 52)" "completed|200|OK|-|agent"
dialer_alive "after the next call"

# --- a 401 loop with stale=true and fresh nonces -------------------------------------------
call 53 bot 27 200 | outdialctl submit - >/dev/null
wait_for 30 "SELECT count(*) FROM calls WHERE request_id = '53' AND status NOT IN ('queued','initiated','ringing','answered','in_progress')" 1 ||
  not_ok "stale loop: call ended"
check "401 stale=true loop: outcome" "$(outcome 53)" "failed|401|Unauthorized (stale loop)|AUTH_FAILED|carrier"
n=$(invites "$T_DIR/carrier.msg" "sip:$(num 53 27)@")
[ "$n" -ge 2 ] && [ "$n" -le 3 ] && ok "401 stale=true loop: $n INVITEs (2 or 3)" || not_ok "401 stale=true loop: $n INVITEs, want 2 or 3"
sleep 1
dialer_alive "after the stale=true loop"

# --- events -----------------------------------------------------------------------------------
wait_for 20 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
read -r good bad < <(read_events | cut -f3 | validate event)
check "every event validates against schemas/event.schema.json ($good)" "$bad" 0
check "nothing billed for calls never answered" \
  "$(sql "SELECT coalesce(string_agg(request_id || ':' || status || '/' || cost_millicents || '/' || credit_status
                                   || '/' || coalesce(error_code, '-'), ' ' ORDER BY request_id), 'none')
          FROM calls WHERE request_id IN ('31','32','33','34','36','37','38','40','43','44','51','53','54')
          AND (cost_millicents <> 0 OR credit_status <> 'released')")" none
check "the dialer's log is JSON lines only, sofia-sip's own output included" \
  "$(cat "$T_DIR"/dialer*.log | /usr/bin/python3 -c '
import json, sys
bad = 0
for line in sys.stdin:
    try:
        json.loads(line)
    except ValueError:
        bad += 1
print(bad)')" 0
audit_ok --final
finish
