# Dialer reports into state: duplicates and reports out of order never move
# a call backwards or bill twice; retries after busy and no answer only,
# each attempt its own hold; a decline is never retried; a silent dialer's
# calls end failed (DIALER_LOST) and free everything; a cancel racing an
# answer ends the call once.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_DIALER_LOST_SECONDS=3
t_setup_db "$FIXTURES/admission.json"
start_scheduler sched
start_dialer dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
submit() { outdialctl submit - >/dev/null; }
report() { kcat -P -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REPORTS" -k "$1"; }
ledger_of() { sql "SELECT string_agg(kind, ',' ORDER BY id) FROM ledger WHERE call_id=(SELECT call_id FROM calls WHERE request_id='$1')"; }

# --- every report delivered twice: billed once --------------------------
req rich dup1 +15556660001 '"metadata":{"test":{"dup":true}}' | submit
wait_status 20 rich dup1 completed || not_ok "dup1 completed"
check "duplicated reports: one hold, one release" "$(ledger_of dup1)" "hold,release"
check "duplicated reports: one event per state" \
  "$(sql "SELECT string_agg(split_part(e.type, '.', 2), ',' ORDER BY e.seq) FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='dup1'")" \
  "queued,initiated,ringing,answered,in_progress,completed"

# --- reports out of order, and late: never backwards -------------------
req rich ooo +15556660002 '"metadata":{"test":{"silent":true}}' | submit
wait_status 20 rich ooo initiated || not_ok "ooo initiated"
id=$(sql "SELECT call_id FROM calls WHERE request_id='ooo'")
now=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
end=$(date -u -d '+7 seconds' +%Y-%m-%dT%H:%M:%S.000Z)
{ echo "{\"type\":\"ended\",\"call_id\":\"$id\",\"attempt\":1,\"outcome\":\"completed\",\"sip_status\":200,\"hangup_by\":\"agent\",\"answered_at\":\"$now\",\"ended_at\":\"$end\"}"
  echo "{\"type\":\"answered\",\"call_id\":\"$id\",\"attempt\":1,\"at\":\"$now\"}"
  echo "{\"type\":\"ringing\",\"call_id\":\"$id\",\"attempt\":1,\"at\":\"$now\"}"
  echo "{\"type\":\"ended\",\"call_id\":\"$id\",\"attempt\":1,\"outcome\":\"busy\"}"
  echo "{\"type\":\"answered\",\"call_id\":\"$id\",\"attempt\":2,\"at\":\"$now\"}"; } | report "$id"
wait_status 20 rich ooo completed || not_ok "ooo completed"
sleep 2
check "late reports changed nothing" \
  "$(sql "SELECT string_agg(split_part(e.type, '.', 2), ',' ORDER BY e.seq) FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='ooo'")" \
  "queued,initiated,completed"
# 7 s answered -> 12 s billable (6 s increment) -> 1200 * 12 / 60 = 240.
check "billed once, from the ended report's times" \
  "$(sql "SELECT billable_seconds || ' ' || cost_millicents || ' ' || hangup_by FROM calls WHERE request_id='ooo'")" "12 240 agent"
check "ooo: one hold, one release" "$(ledger_of ooo)" "hold,release"
echo '{"type":"ringing","call_id":"not-a-uuid","attempt":1}' | report x
echo 'not json at all' | report x
wait_log 10 "$T_DIR/sched.log" "skipped" && ok "a malformed report is skipped with its reason" || not_ok "malformed report logged"

# --- retries: busy then answered; no retry after a decline --------------
req rich r1 +15556660003 '"retry":{"max_attempts":3,"delay_seconds":1,"on":["busy"]},"metadata":{"test":{"outcomes":["busy","busy","completed"]}}' | submit
req rich r2 +15556660004 '"retry":{"max_attempts":3,"delay_seconds":1},"metadata":{"test":{"outcome":"declined"}}' | submit
req rich r3 +15556660005 '"retry":{"max_attempts":2,"delay_seconds":1,"on":["busy"]},"metadata":{"test":{"outcome":"no_answer"}}' | submit
wait_status 30 rich r1 completed || not_ok "r1 completed on its third attempt"
check "r1 attempts" "$(sql "SELECT attempt FROM calls WHERE request_id='r1'")" 3
check "r1's story" \
  "$(sql "SELECT string_agg(split_part(e.type, '.', 2) || coalesce(':' || (e.body->>'attempt'), ''), ',' ORDER BY e.seq) FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='r1'")" \
  "queued,initiated:1,queued:1,initiated:2,queued:2,initiated:3,ringing:3,answered:3,in_progress:3,completed:3"
check "each attempt its own hold" "$(ledger_of r1)" "hold,release,hold,release,hold,release"
gap=$(sql "SELECT extract(epoch FROM (SELECT occurred_at FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='r1' AND e.seq=4) - (SELECT occurred_at FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='r1' AND e.seq=3))")
check "the retry waited its delay" "$(echo "$gap >= 1" | bc)" 1
wait_status 20 rich r2 failed || not_ok "r2 failed"
check "a decline (603) is never retried" "$(sql "SELECT attempt || ' ' || sip_status || ' ' || error_code FROM calls WHERE request_id='r2'")" "1 603 DECLINED"
wait_status 20 rich r3 no_answer || not_ok "r3 ended no_answer"
check "no retry on an outcome the policy does not list" "$(sql "SELECT attempt FROM calls WHERE request_id='r3'")" 1

# --- a silent dialer: DIALER_LOST frees hold, lock and slot -------------
req capped lost +15556660006 '"metadata":{"test":{"silent":true}}' | submit
req capped after +15556660006 | submit
wait_status 20 capped lost failed || not_ok "lost call failed"
check "lost call's code" "$(sql "SELECT error_code || ' ' || credit_status FROM calls WHERE request_id='lost'")" "DIALER_LOST released"
lost_for=$(sql "SELECT extract(epoch FROM e.occurred_at - c.admitted_at) FROM calls c JOIN call_events e USING (call_id) WHERE c.request_id='lost' AND e.type='call.failed'")
check "ended within lost-seconds + 5 s" "$(echo "$lost_for < 8" | bc)" 1
wait_status 20 capped after completed && ok "its slot and destination were freed for the next call" || not_ok "after completed"

# --- a cancel racing an answer: one end, whichever wins ----------------
req capped race +15556660007 '"metadata":{"test":{"hold_ms":1500}}' | submit
outdialctl submit --cancel --org capped --request-id race >/dev/null
wait_for 20 "SELECT status IN ('canceled', 'completed') FROM calls WHERE request_id='race'" t || not_ok "race ended"
check "one terminal event" "$(sql "SELECT count(*) FROM call_events e JOIN calls c USING (call_id) WHERE c.request_id='race' AND e.type IN ('call.canceled','call.completed','call.failed')")" 1

wait_for 30 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
audit_ok --final
finish
