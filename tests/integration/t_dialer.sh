# The dialer against SIPp as carrier and as agent: every outcome of a call,
# what the events say, what is billed, and what SIPp saw on the wire.
# Scenarios: tests/sipp/carrier.xml (by the last two digits of the number)
# and tests/sipp/agent.xml (by the agent's user).
. "$(dirname "$0")/lib.sh"
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
# Something silent holds the agent's TCP port (the SIPp agent is UDP only):
# an INVITE moved to TCP behind our back would vanish there.
python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(600)' "$AGENT_PORT" &
T_PIDS+=("$!")
start_scheduler sched
start_sip_dialer dialer --agent-answer-ms 2000
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

# call ID AGENT CODE [extra JSON]: a request to +1555<pid-ish><ID><CODE>
# (the carrier acts on CODE).
U=$(printf '%03d' $(($$ % 1000)))
call() {
  local num="+1555$U$1$3"
  echo "{\"request_id\":\"$1\",\"org_id\":\"acme\",\"agent_id\":\"$2\",\"to_number\":\"$num\",\"ringing_timeout_seconds\":5${4:+,$4}}"
}
carrier_saw() { sip_dialog "$T_DIR/carrier.msg" "INVITE sip:$(call_field acme "$1" to_number)@"; }
agent_saw() { sip_dialog "$T_DIR/agent.msg" "X-Outdial-Call-Id: $(call_field acme "$1" call_id)"; }
outcome() { call_field acme "$1" "concat_ws(' ', status, sip_status, error_code, hangup_by)"; }

{
  call 11 hangup 00 '"context":{"lang":"en"},"instructions":"be brief","metadata":{"k":"v"}'
  call 12 bot 01
  call 13 bot 02
  call 14 bot 03
  call 15 bot 04
  call 16 bot 05 '"max_duration_seconds":2'
  call 17 bot 06
  call 18 bot 07
  call 19 bot 09 '"max_duration_seconds":2'
  call 20 bot 08
  call 21 silent 09
  call 22 bot 03
  call 23 bot 09
  call 24 busy 09
  call 25 bot 10
  call 26 bot 04 '"retry":{"max_attempts":2,"delay_seconds":1,"on":["carrier_busy"]}'
  call 27 bot 02 '"retry":{"max_attempts":2,"delay_seconds":1,"on":["no_answer","busy","carrier_busy"]}'
  call 29 hangup 05 '"from_number":"+15550000200"'
  call 28 hangup 00 "\"context\":{\"blob\":\"$(head -c 9000 /dev/zero | tr '\0' 'x')\"}"
} | outdialctl submit - >/dev/null

# --- cancels: while ringing, and once up --------------------------------
wait_status 20 acme 22 ringing || not_ok "22 ringing"
outdialctl submit --cancel --org acme --request-id 22 >/dev/null
wait_status 20 acme 23 in_progress || not_ok "23 in progress"
sleep 1
outdialctl submit --cancel --org acme --request-id 23 >/dev/null

wait_for 40 "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered','in_progress')" 0 ||
  not_ok "every call ended"

# --- answered after ringing; the agent hangs up ---------------------------
check "answered, agent hangs up" "$(outcome 11)" "completed 200 agent"
check "its events" "$(story acme 11)" "queued,initiated,ringing,answered,in_progress,completed"
check "billed from answer to hang-up (1 s increments, 1200/min)" \
  "$(call_field acme 11 "billable_seconds BETWEEN 1 AND 3 AND cost_millicents = billable_seconds * 20 AND credit_status = 'settled'")" t
w=$(carrier_saw 11)
grep -q "^ACK sip:" <<<"$w" && ok "callee ACKed" || not_ok "callee ACK"
awk '/^ACK sip:/,0' <<<"$w" | grep -q "^m=audio [1-9]" && ok "the ACK carries the agent's SDP answer" ||
  not_ok "SDP in the callee's ACK"
grep -q "^BYE sip:" <<<"$w" && ok "the callee leg got a BYE when the agent hung up" || not_ok "BYE to callee"
w=$(agent_saw 11)
grep -q "^m=audio [1-9]" <<<"$w" && ok "the agent's INVITE carries the callee's offer" || not_ok "offer to agent"
b64() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
check "context in a header" "$(grep -c "^X-Outdial-Context: $(b64 '{"lang":"en"}')$" <<<"$w")" 1
check "instructions in a header" "$(grep -c "^X-Outdial-Instructions: $(b64 '"be brief"')$" <<<"$w")" 1
check "metadata in a header" "$(grep -c "^X-Outdial-Metadata: $(b64 '{"k":"v"}')$" <<<"$w")" 1

# --- a large context: split into header lines of at most 1 KB, over UDP ------
check "large context: the call completes" "$(outcome 28)" "completed 200 agent"
w=$(agent_saw 28)
parts=$(sed -n 's/^X-Outdial-Context-Parts: //p' <<<"$w")
check_ge "large context: split into numbered headers" "${parts:-0}" 10
check "large context: no header line over 1024 bytes" "$(awk 'length($0) > 1024' <<<"$w" | wc -l)" 0
joined=$(for i in $(seq 1 "${parts:-0}"); do sed -n "s/^X-Outdial-Context-$i: //p" <<<"$w"; done | tr -d '\n')
check "large context: the parts join into the context" \
  "$(printf '%s' "$joined" | tr '_-' '/+' | base64 -d 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["blob"]))')" 9000
grep -q "^INVITE sip:" <<<"$w" && ! grep -q "^Via: SIP/2.0/TCP" <<<"$w" && ok "large context: the agent's INVITE came over UDP" ||
  not_ok "large context over UDP"

# --- callee outcomes and carrier errors -----------------------------------
check "busy" "$(outcome 12)" "busy 486 callee"
check "declined" "$(outcome 13)" "failed 603 DECLINED callee"
check "ring timeout" "$(outcome 14)" "no_answer 487 system"
grep -q "^CANCEL sip:" <<<"$(carrier_saw 14)" && ok "ring timeout sent CANCEL" || not_ok "CANCEL on ring timeout"
check "carrier 503 with Retry-After: out of capacity" "$(outcome 15)" "failed 503 CARRIER_CAPACITY carrier"
check "503 with Retry-After is not re-sent" "$(carrier_saw 15 | grep -c '^INVITE sip:')" 1
check "carrier 480" "$(outcome 25)" "failed 480 CARRIER_REJECTED carrier"
check "503 + Retry-After, policy carrier_busy: retried once, then out of attempts" \
  "$(outcome 26) $(call_field acme 26 "attempt || ' ' || retry_after_seconds")" "failed 503 CARRIER_CAPACITY carrier 2 5"
check "its events" "$(story acme 26)" "queued,initiated,queued,initiated,failed"
check "the retry no sooner than the carrier's Retry-After (5 s, policy delay 1 s)" \
  "$(sql "SELECT max(occurred_at) - min(occurred_at) >= interval '5 s' FROM call_events e JOIN calls c USING (call_id)
          WHERE c.request_id = '26' AND e.type = 'call.initiated'")" t
check "the retry's queued event carries the carrier's Retry-After" \
  "$(sql "SELECT e.body->>'retry_after_seconds' FROM call_events e JOIN calls c USING (call_id)
          WHERE c.request_id = '26' AND e.type = 'call.queued' AND e.seq > 1")" 5
check "a decline is never retried, whatever the policy lists" "$(outcome 27) $(call_field acme 27 attempt)" "failed 603 DECLINED callee 1"
check "nothing billed for calls never answered" \
  "$(sql "SELECT count(*) FROM calls WHERE request_id IN ('12','13','14','15','17','25') AND (cost_millicents <> 0 OR credit_status <> 'released')")" 0

# --- digest authentication -------------------------------------------------
check "407 then success" "$(outcome 16)" "completed 200 system"
grep -q '^Proxy-Authorization: Digest username="u"' <<<"$(carrier_saw 16)" && ok "credentials sent" ||
  not_ok "Proxy-Authorization"
check "407 forever" "$(outcome 17)" "failed 407 AUTH_FAILED carrier"
check "407 forever (the same nonce): the challenge answered once, then given up" \
  "$(carrier_saw 17 | grep -c "^INVITE sip:")" 2
check "407 forever: the carrier's own phrase" "$(call_field acme 17 sip_reason)" "Proxy Authentication Required"

# --- a trunk behind an outbound proxy, caller ID in P-Asserted-Identity ----
check "outbound proxy + PAI: completed (after its challenge)" "$(outcome 29)" "completed 200 agent"
w=$(carrier_saw 29)
check "the Request-URI names the carrier, not the proxy it went through" \
  "$(grep -c "^INVITE sip:+1555${U}2905@carrier.example.invalid SIP/2.0" <<<"$w")" 2
grep -q "^From: <sip:trunkuser@carrier.example.invalid>" <<<"$w" && ok "From: the trunk's username" ||
  not_ok "From user = username"
grep -q "^P-Asserted-Identity: <sip:+15550000200@carrier.example.invalid>" <<<"$w" &&
  ok "the caller ID in P-Asserted-Identity" || not_ok "P-Asserted-Identity"
grep -q 'uri="sip:+1555'"$U"'2905@carrier.example.invalid"' <<<"$w" &&
  ok "the digest uri= is exactly the Request-URI" || not_ok "digest uri"

# --- hang-ups, limits, re-INVITE -------------------------------------------
check "callee hangs up" "$(outcome 18)" "completed 200 callee"
grep -q "^BYE sip:" <<<"$(agent_saw 18)" && ok "the agent leg got a BYE" || not_ok "BYE to agent"
check "max duration" "$(outcome 19)" "completed 200 system"
check "max duration: billed within the hold" \
  "$(call_field acme 19 "billable_seconds <= 2 AND cost_millicents <= 40")" t
check "max duration: both legs got a BYE" \
  "$(carrier_saw 19 | grep -c '^BYE sip:') $(agent_saw 19 | grep -c '^BYE sip:')" "1 1"
check "re-INVITE for hold relayed" "$(outcome 20)" "completed 200 callee"
grep -q "^a=sendonly" <<<"$(agent_saw 20)" && ok "the agent got the hold offer" || not_ok "hold to agent"
awk '/^SIP\/2.0 200/,0' <<<"$(carrier_saw 20)" | grep -q "^a=recvonly" &&
  ok "the callee got the agent's answer to it" || not_ok "hold answer to callee"

# --- the agent fails ------------------------------------------------------------
check "agent never answers" "$(outcome 21)" "failed 200 AGENT_NO_ANSWER system"
grep -q "^CANCEL sip:" <<<"$(agent_saw 21)" && ok "the agent's INVITE was canceled" || not_ok "agent CANCEL"
w=$(carrier_saw 21)
awk '/^ACK sip:/,0' <<<"$w" | grep -q "^m=audio 0 " && grep -q "^BYE sip:" <<<"$w" &&
  ok "the callee was released cleanly (ACK refusing the media, then BYE)" || not_ok "callee released"
check "agent refuses" "$(outcome 24)" "failed 486 AGENT_FAILED system"

# --- cancels -------------------------------------------------------------------
check "cancel while ringing" "$(outcome 22)" "canceled 487 system"
grep -q "^CANCEL sip:" <<<"$(carrier_saw 22)" && ok "CANCEL sent" || not_ok "CANCEL for 22"
check "cancel once up" "$(outcome 23)" "canceled 200 system"
check "cancel once up: both legs got a BYE, the time up is billed" \
  "$(carrier_saw 23 | grep -c '^BYE sip:') $(agent_saw 23 | grep -c '^BYE sip:') $(call_field acme 23 "cost_millicents > 0")" "1 1 t"

# --- end to end: a request produced by kcat, a settled call.completed read by kcat
echo "{\"request_id\":\"e2e\",\"org_id\":\"acme\",\"agent_id\":\"hangup\",\"to_number\":\"+1555${U}9900\"}" |
  kcat -P -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REQUESTS" -k acme
wait_status 30 acme e2e completed || not_ok "e2e completed"
wait_for 20 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
ev=$(read_events | grep '"request_id":"e2e"' | grep '"type":"call.completed"')
grep -q '"credit_status":"settled"' <<<"$ev" && grep -q '"cost_millicents":[1-9]' <<<"$ev" &&
  grep -q '"hangup_by":"agent"' <<<"$ev" && ok "kcat read the settled call.completed" ||
  not_ok "e2e event: $ev"

# --- every message on the wire validates against its schema ------------------
read -r good bad < <(read_events | cut -f3 | validate event)
check "every event validates against schemas/event.schema.json ($good)" "$bad" 0
check_ge "events checked" "$good" 60
read -r good bad < <(kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_DIAL" -o beginning -e -q | validate dial)
check "every dial message validates ($good)" "$bad" 0
kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_DIAL" -o beginning -e -q > "$T_DIR/dial.txt"
check "no password in clear on the dial topic" "$(grep -c '"password"' "$T_DIR/dial.txt")" 0
check "every dial message carries the trunk's password sealed" \
  "$(grep -c '"password_sealed":"v1\.' "$T_DIR/dial.txt")" "$(grep -c '"type":"dial"' "$T_DIR/dial.txt")"
read -r good bad < <(kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REPORTS" -o beginning -e -q | validate report)
check "every dialer report validates ($good)" "$bad" 0

audit_ok --final
check "SIPp carrier saw no unexpected message" "$(grep -c 'Aborting call' "$T_DIR/carrier.err" 2>/dev/null || true)" 0
finish
