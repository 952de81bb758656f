# Webhooks against a local receiver that fails, stalls, refuses and is
# slow: every event delivered, in order per call, signed per the Standard
# Webhooks spec (verified by the reference library, standardwebhooks from
# PyPI, across a secret rotation, and by the openssl CLI as
# docs/webhooks.md shows), retries
# with backoff, 4xx final, the call's delivery status, a slow endpoint not
# delaying another org, and private destinations refused unless allowed.
. "$(dirname "$0")/lib.sh"
PORT=$((SIP_BASE + 3))
# the spec's form of secret: "whsec_" and base64 of 32 (and 24) bytes
NEW=whsec_AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=
OLD=whsec_ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8
cat > "$T_DIR/prov.json" <<EOF
{"trunks": [{"id": "t", "proxy": "sip:127.0.0.1:5090", "cps": 1000, "max_concurrent": 1000}],
 "rates": [{"prefix": "+1", "millicents_per_minute": 1200, "increment_seconds": 6}],
 "orgs": [
  {"id": "hooks", "plan": "enterprise", "balance_millicents": 100000000,
   "webhook_url": "http://127.0.0.1:$PORT/ok", "webhook_secret": "$NEW", "webhook_secret_previous": "$OLD",
   "numbers": [{"e164": "+15550000001", "trunk": "t"}],
   "agents": [{"id": "a", "sip_uri": "sip:a@127.0.0.1", "default_from": "+15550000001"}]},
  {"id": "slowco", "plan": "enterprise", "balance_millicents": 100000000,
   "webhook_url": "http://127.0.0.1:$PORT/slow", "webhook_secret": "other",
   "numbers": [{"e164": "+15550000002", "trunk": "t"}],
   "agents": [{"id": "a", "sip_uri": "sip:a@127.0.0.1", "default_from": "+15550000002"}]},
  {"id": "quiet", "plan": "enterprise", "balance_millicents": 100000000,
   "numbers": [{"e164": "+15550000003", "trunk": "t"}],
   "agents": [{"id": "a", "sip_uri": "sip:a@127.0.0.1", "default_from": "+15550000003"}]}
 ]}
EOF
t_setup_db "$T_DIR/prov.json"
mkdir -p "$T_DIR/bodies"
"$OUTDIAL_BIN/webhook_receiver" --port "$PORT" --secret "$NEW" --dir "$T_DIR/bodies" \
  > "$T_DIR/hooks.out" 2> "$T_DIR/receiver.log" &
T_PIDS+=("$!")
export OUTDIAL_WEBHOOK_ALLOW_PRIVATE=true OUTDIAL_WEBHOOK_TIMEOUT_MS=1000
start_scheduler sched
SCHED=$LAST_PID
start_dialer dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
hook() { echo "\"webhook_url\":\"http://127.0.0.1:$PORT/$1\""; }
{
  req hooks w-ok +15551110001
  req hooks w-flaky +15551110002 "$(hook flaky)"
  req hooks w-stall +15551110003 "$(hook stall)"
  req hooks w-gone +15551110004 "$(hook gone)"
  for i in 1 2 3 4 5 6 7 8 9 10 11 12; do req slowco "s-$i" "+155522200$(printf %02d $i)"; done
  req quiet q-none +15553330001
} | outdialctl submit - >/dev/null
wait_status 20 hooks w-ok completed || not_ok "w-ok completed"
hstatus() { sql "SELECT w.status || ' ' || delivered || '/' || events FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = '$1'"; }
wait_for 20 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-ok'" delivered ||
  not_ok "w-ok delivered"
check "every event of a call delivered" "$(hstatus w-ok)" "delivered 6/6"
lines() { awk -v c="$(sql "SELECT call_id FROM calls WHERE request_id='$1'")" '$4 == c' "$T_DIR/hooks.out"; }
check "in order, one attempt each" "$(lines w-ok | awk '{printf "%s%s", s, $5; s=","}')" "1,2,3,4,5,6"
check "signed, and the receiver verified every signature" "$(lines w-ok | grep -vc 'sig=ok' || true)" 0

# --- the Standard Webhooks reference library verifies them, with both secrets --
# (a rotation under way: webhook_secret_previous is set)
PY=$(py_clients)
mkdir -p "$T_DIR/okcall"
for ev in $(lines w-ok | awk '{print $3}'); do cp "$T_DIR/bodies/$ev".* "$T_DIR/okcall/"; done
check "standardwebhooks verifies every event with the new and the previous secret (events, signatures each)" \
  "$("$PY" "$OUTDIAL_ROOT/tests/tools/verify_webhooks.py" "$T_DIR/okcall" "$NEW" "$OLD")" "6 2-2"

# --- the openssl CLI verifies it, as docs/webhooks.md shows -----------------
ev=$(lines w-ok | awk 'NR == 1 {print $3}')
hdr() { sed -n "s/^$1: //p" "$T_DIR/bodies/$ev.hdr"; }
id=$(hdr webhook-id) t=$(hdr webhook-timestamp)
key=$(printf '%s' "${NEW#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
mine=$({ printf '%s.%s.' "$id" "$t"; cat "$T_DIR/bodies/$ev.json"; } |
  openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key" -binary | base64)
check "HMAC-SHA256 over \"<id>.<timestamp>.<body>\" with the org's secret, first of the signatures" \
  "$(hdr webhook-signature | cut -d' ' -f1)" "v1,$mine"
check "webhook-id is the event_id" "$id" "$ev"
check "timestamp is now" "$(( ${t:-0} > $(date +%s) - 120 ))" 1

# --- fails twice, then recovers: retried with backoff, still in order -------
wait_for 60 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-flaky'" delivered ||
  not_ok "w-flaky delivered"
check "flaky: all delivered" "$(hstatus w-flaky)" "delivered 6/6"
check "flaky: 3 attempts per event (503, 503, 200)" "$(lines w-flaky | awk '{print $8}' | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')" "200:6 503:12 "
check "flaky: never an event before the previous one was delivered" \
  "$(lines w-flaky | awk '$8 == 200 {ok[$5] = 1} { if ($5 > 1 && !ok[$5 - 1]) bad++ } END {print bad + 0}')" 0
gaps=$(lines w-flaky | awk '$5 == 1 {print $1}' | awk 'NR > 1 {print $1 - p} {p = $1}' | tr '\n' ' ')
check "flaky: retries back off (waits grow: $gaps ms)" "$(echo "$gaps" | awk '{print ($2 > $1 && $1 >= 600)}')" 1

# --- stalls past the time-out, then answers --------------------------------------
wait_for 60 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-stall'" delivered ||
  not_ok "w-stall delivered"
check "stalled attempt timed out and was retried" \
  "$(sql "SELECT attempts FROM webhook_deliveries d JOIN calls c USING (call_id) WHERE c.request_id = 'w-stall' AND d.seq = 1")" 2

# --- 410: final, recorded on the call ----------------------------------------------
wait_for 30 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-gone'" failed ||
  not_ok "w-gone failed"
check "a 4xx is final: one attempt" \
  "$(sql "SELECT max(attempts) || ' ' || min(last_error) FROM webhook_deliveries d JOIN calls c USING (call_id) WHERE c.request_id = 'w-gone'")" \
  "1 HTTP 410 (final)"
check "the call shows it" "$(sql "SELECT w.status || ': ' || w.last_error FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-gone'")" \
  "failed: HTTP 410 (final)"
check "the scheduler's log names the org and the event of a delivery given up" \
  "$(grep '"msg":"webhook attempt"' "$T_DIR/sched.log" | grep '"org_id":"hooks"' | grep '"outcome":"failed"' |
     grep -c "\"event_id\":\"$(sql "SELECT min(d.event_id::text) FROM webhook_deliveries d JOIN calls c USING (call_id) WHERE c.request_id = 'w-gone'")\"")" 1
outdialctl show --org hooks --request w-gone > "$T_DIR/show.out"
check "outdialctl show: the call's webhook state" \
  "$(grep -c '^webhooks    failed, 0 of [0-9]* events delivered; last error: HTTP 410 (final)$' "$T_DIR/show.out")" 1
check "outdialctl show: each event's delivery" \
  "$(grep -c 'call\.queued .*failed (1 try: HTTP 410 (final))$' "$T_DIR/show.out")" 1
check "outdialctl show --json: every event's delivery, refused with 410" \
  "$(outdialctl show --json --org hooks --request w-gone | grep -c '"last_status": 410')" \
  "$(sql "SELECT count(*) FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id = 'w-gone'")"
check "an org without a webhook queues nothing" \
  "$(sql "SELECT count(*) FROM webhook_deliveries d JOIN calls c USING (call_id) WHERE c.org_id = 'quiet'")" 0

# --- a slow endpoint does not delay another org ------------------------------------
# slowco's 72 events take 2 s each, 8 at a time; hooks' events meanwhile
# arrive within a second of being committed.
req hooks w-late +15551110009 | outdialctl submit - >/dev/null
wait_for 20 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-late'" delivered ||
  not_ok "w-late delivered while slowco is slow"
check "slowco still has deliveries waiting meanwhile" \
  "$(sql "SELECT count(*) > 0 FROM webhook_deliveries WHERE org_id = 'slowco' AND status = 'pending'")" t
late=$(sql "SELECT round(max(extract(epoch FROM d.finished_at - e.occurred_at))::numeric, 2) FROM webhook_deliveries d
            JOIN call_events e USING (call_id, seq) JOIN calls c USING (call_id) WHERE c.request_id = 'w-late'")
conns=$(lines w-late | awk '{print $9}' | sort -u | wc -l)
check "connections kept alive: w-late's 6 events used $conns connection(s)" "$((conns < 6))" 1
check "another org's events arrived within 1.5 s of their commit (worst: $late s)" "$(echo "$late < 1.5" | bc)" 1

# --- the rotation ends: the previous secret is dropped, one signature again -------
sed -e 's/, "webhook_secret_previous": "[^"]*"/, "webhook_secret_previous": null/' "$T_DIR/prov.json" >"$T_DIR/prov2.json"
outdialctl apply "$T_DIR/prov2.json" >/dev/null || not_ok "apply without the previous secret"
req hooks w-rotated +15551110011 | outdialctl submit - >/dev/null
wait_for 30 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-rotated'" delivered ||
  not_ok "w-rotated delivered"
mkdir -p "$T_DIR/rotated"
for ev in $(lines w-rotated | awk '{print $3}'); do cp "$T_DIR/bodies/$ev".* "$T_DIR/rotated/"; done
check "after the rotation: verified with the new secret, one signature each" \
  "$("$PY" "$OUTDIAL_ROOT/tests/tools/verify_webhooks.py" "$T_DIR/rotated" "$NEW")" "6 1-1"
"$PY" "$OUTDIAL_ROOT/tests/tools/verify_webhooks.py" "$T_DIR/rotated" "$OLD" >/dev/null 2>&1 &&
  not_ok "after the rotation: the previous secret still verifies" ||
  ok "after the rotation: the previous secret no longer verifies"

# --- private destinations are refused unless allowed --------------------------------
kill -TERM "$SCHED"; wait "$SCHED" 2>/dev/null || true
OUTDIAL_WEBHOOK_ALLOW_PRIVATE=false start_scheduler sched2
wait_log 30 "$T_DIR/sched2.log" "partitions assigned" || not_ok "scheduler 2 joined"
req hooks w-ssrf +15551110010 "\"webhook_url\":\"http://localhost:$PORT/ok\"" | outdialctl submit - >/dev/null
wait_for 30 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'w-ssrf'" failed ||
  not_ok "w-ssrf refused"
check "refused as private, never sent" \
  "$(sql "SELECT min(last_error) FROM webhook_deliveries d JOIN calls c USING (call_id) WHERE c.request_id = 'w-ssrf'") $(lines w-ssrf | wc -l)" \
  "refused: the destination is a private or loopback address 0"
audit_ok
finish
