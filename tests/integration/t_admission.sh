# Admission, each rule alone, with the scripted test dialer standing in for
# outdial-dialer: credit holds (a hold of exactly the balance; one that
# must wait; one that can never be covered), settlement and the ledger,
# destination locks (also freed by a failed call), plan caps, trunk CPS and
# concurrency, cancels (queued and in flight), expiry and not_before.
. "$(dirname "$0")/lib.sh"
t_setup_db "$FIXTURES/admission.json"
start_scheduler sched
start_dialer dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
submit() { outdialctl submit - >/dev/null; }
LIVE='"metadata":{"test":{"hold_ms":3000}}'

# --- credit: a hold of exactly the balance, then one that must wait -----
# rate +1: 1200 millicents/min, 6 s increment: 60 s -> 1200, 30 s -> 600.
# (Requests on different partitions have no order: submit one at a time
# where the order matters.)
req exact e1 +15551110001 '"max_duration_seconds":60,"metadata":{"test":{"hold_ms":3000}}' | submit
wait_status 20 exact e1 in_progress || not_ok "e1 up"
req exact e2 +15551110002 '"max_duration_seconds":30' | submit
wait_status 10 exact e2 queued || not_ok "e2 taken in"
req exact e3 +15551110003 '"max_duration_seconds":120' | submit
check "hold of exactly the balance admitted" "$(sql "SELECT hold_millicents FROM calls WHERE request_id='e1'")" 1200
check "available balance is 0 while held" "$(sql "SELECT balance_millicents || '/' || held_millicents FROM org_credit WHERE id='exact'")" 0/1200
check "the next call waits while the first holds the credit" "$(status exact e2)" queued
wait_status 20 exact e2 completed || not_ok "e2 admitted once e1 settled, and completed"
check "e2 admitted only after e1 ended" \
  "$(echo "$(event_time exact e2 call.initiated) >= $(event_time exact e1 call.completed)" | bc)" 1
wait_status 20 exact e3 rejected || not_ok "e3 decided"
check "a hold larger than all the org's credit is INSUFFICIENT_BALANCE" \
  "$(sql "SELECT error_code FROM calls WHERE request_id='e3'")" INSUFFICIENT_BALANCE
# talk 1 s -> 6 s billable (increment) -> 1200 * 6 / 60 = 120 each.
check "billable seconds rounded up to the increment" "$(sql "SELECT billable_seconds FROM calls WHERE request_id='e1'")" 6
check "cost settled" "$(sql "SELECT cost_millicents || ' ' || credit_status FROM calls WHERE request_id='e1'")" "120 settled"
check "balance after both settled" "$(sql "SELECT balance_millicents || '/' || held_millicents FROM org_credit WHERE id='exact'")" 960/0
check "ledger: grant, then a hold and a release per call" \
  "$(sql "SELECT string_agg(kind || ':' || amount_millicents, ',' ORDER BY id) FROM ledger WHERE org_id='exact'")" \
  "grant:1200,hold:-1200,release:1080,hold:-600,release:480"
ev=$(sql "SELECT string_agg(split_part(e.type, '.', 2), ',' ORDER BY e.seq) FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='e1'")
check "e1's events in order" "$ev" "queued,initiated,ringing,answered,in_progress,completed"
body=$(sql "SELECT body FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='e1' AND e.type='call.completed'")
for f in '"cost_millicents":120' '"billable_seconds":6' '"credit_status":"settled"' '"duration_seconds":1' '"attempt":1' '"hangup_by":"callee"' '"sip_status":200'; do
  check "call.completed carries $f" "$(echo "$body" | grep -c "$f")" 1
done

# --- destination lock, freed by a completed and by a failed call --------
req rich d1 +15552220000 "$LIVE" | submit
wait_status 20 rich d1 in_progress || not_ok "d1 up"
req rich d2 +15552220000 '"metadata":{"test":{"outcome":"failed","hold_ms":500}}' | submit
wait_status 10 rich d2 queued || not_ok "d2 taken in"
{ req rich d3 +15552220000 '"metadata":{"test":{"hold_ms":0}}'
  req rich d4 +15552220001 "$LIVE"; } | submit
wait_status 20 rich d4 in_progress || not_ok "another destination is not held up"
check "a second call to a busy destination waits" "$(status rich d2)" queued
wait_status 30 rich d3 completed || not_ok "d3 completed"
check "d2 (failed) ended" "$(sql "SELECT status || ' ' || sip_status || ' ' || error_code FROM calls WHERE request_id='d2'")" "failed 503 CARRIER_REJECTED"
check "d2 admitted after d1 ended" "$(echo "$(event_time rich d2 call.initiated) >= $(event_time rich d1 call.completed)" | bc)" 1
check "d3 admitted after d2 failed (a failed call frees the destination)" \
  "$(echo "$(event_time rich d3 call.initiated) >= $(event_time rich d2 call.failed)" | bc)" 1
check "the failed call released its whole hold" "$(sql "SELECT cost_millicents || ' ' || credit_status FROM calls WHERE request_id='d2'")" "0 released"

# --- plan cap: free = 1 call at a time, FIFO ---------------------------
for i in $(seq 1 20); do req capped c$i "+1555333$(printf %04d $i)" '"metadata":{"test":{"hold_ms":100}}'; done | submit
wait_for 60 "SELECT count(*) FROM calls WHERE org_id='capped' AND status='completed'" 20 || not_ok "20 capped calls completed"
check "capped calls admitted in FIFO (intake) order" \
  "$(sql "SELECT string_agg(request_id, ',' ORDER BY admitted_at) FROM calls WHERE org_id='capped'")" \
  "$(sql "SELECT string_agg(request_id, ',' ORDER BY queue_seq) FROM calls WHERE org_id='capped'")"

# --- trunk: cps 2 and max_concurrent 2, deployment-wide ----------------
for i in $(seq 1 6); do req trunky t$i "+1555444$(printf %04d $i)" '"metadata":{"test":{"hold_ms":1200}}'; done | submit
wait_for 60 "SELECT count(*) FROM calls WHERE org_id='trunky' AND status='completed'" 6 || not_ok "6 trunk calls completed"
span=$(sql "SELECT extract(epoch FROM max(admitted_at) - min(admitted_at)) FROM calls WHERE org_id='trunky'")
check "6 calls on a 2-call trunk took at least 2 turns of 1.2 s" "$(echo "$span >= 2.4" | bc)" 1

# --- cancel: queued (at once), in flight (by its dialer), unknown ------
req capped k1 +15553339001 '"metadata":{"test":{"hold_ms":4000}}' | submit
wait_status 20 capped k1 in_progress || not_ok "k1 up"
req capped k2 +15553339002 | submit
wait_status 10 capped k2 queued || not_ok "k2 taken in"
outdialctl submit --cancel --org capped --request-id k2 >/dev/null
wait_status 10 capped k2 canceled && ok "a queued call is canceled at once" || not_ok "k2 canceled"
check "a canceled queued call held nothing" "$(sql "SELECT coalesce(hold_millicents, 0) FROM calls WHERE request_id='k2'")" 0
outdialctl submit --cancel --org capped --request-id k1 >/dev/null
wait_status 10 capped k1 canceled && ok "a call in flight is canceled by its dialer" || not_ok "k1 canceled"
check "k1 settled for the time it was up" "$(sql "SELECT hangup_by || ' ' || credit_status FROM calls WHERE request_id='k1'")" "system settled"
outdialctl submit --cancel --org capped --request-id nope >/dev/null
wait_for 10 "SELECT count(*) FROM calls WHERE org_id='' AND error_message LIKE 'cancel: no call%'" 1 \
  && ok "a cancel for no call is rejected with a reason" || not_ok "unknown cancel answered"

# --- time: expires_at passed, not_before in the future ----------------
soon=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
{ req rich x1 +15555550001 '"expires_at":"2020-01-01T00:00:00Z"'
  req rich x0 +15555550003 '"expires_at":"1970-01-01T00:00:00Z"'
  req rich x2 +15555550002 "\"not_before\":\"$soon\""; } | submit
wait_status 10 rich x1 expired && ok "a request past expires_at ends expired" || not_ok "x1 expired"
wait_status 10 rich x0 expired && ok "expires_at at the epoch is a time, not absent: expired" ||
  not_ok "x0 expired (got $(status rich x0))"
check "x0 never dialed" "$(story rich x0)" "queued,expired"
sleep 1
check "not_before holds a call back" "$(status rich x2)" queued
wait_status 15 rich x2 completed || not_ok "x2 dialed after not_before"
check "x2 admitted at or after not_before" \
  "$(sql "SELECT admitted_at >= '$soon'::timestamptz FROM calls WHERE request_id='x2'")" t

wait_for 30 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
audit_ok --final
finish
