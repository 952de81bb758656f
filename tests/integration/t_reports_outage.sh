# The reports loop through a PostgreSQL outage longer than
# max.poll.interval.ms (lowered here to 6 s, the least librdkafka allows
# with our 6 s session time-out): it keeps polling (paused), so it stays in
# its consumer group (no rebalance, no "partitions revoked", no poll
# interval exceeded), and the reports the dialer sent during the outage are
# applied once the database is back.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_KAFKA_EXTRA=max.poll.interval.ms=6000
export OUTDIAL_DIALER_LOST_SECONDS=30 # the outage is not a lost dialer
t_setup_db "$FIXTURES/admission.json"
start_scheduler sched
SCHED=$LAST_PID
start_dialer dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
sleep 2
assigned=$(grep -c '"msg":"partitions assigned"' "$T_DIR/sched.log")

# A call answered before the outage whose end the dialer reports during it
# (4 s of talk, live for 4 s of wall time).
req rich long +15556660001 '"metadata":{"test":{"talk_ms":4000,"hold_ms":4000}}' | outdialctl submit - >/dev/null
wait_status 20 rich long in_progress || not_ok "answered before the outage"
"$OUTDIAL_ROOT/scripts/dev" pg-stop
t_stop=$(date +%s.%N)
sleep 15 # > max.poll.interval.ms, and the call ends meanwhile
kill -0 "$SCHED" && ok "scheduler still running after a 15 s outage" || not_ok "scheduler died"
"$OUTDIAL_ROOT/scripts/dev" pg-start
t_start=$(date +%s.%N)
wait_status 30 rich long completed && ok "the report sent during the outage was applied after it" ||
  not_ok "long completed"
ended=$(call_field rich long "extract(epoch FROM ended_at)")
check "it ended during the outage (the dialer's time, not when it was applied)" \
  "$(echo "$ended > $t_stop && $ended < $t_start" | bc)" 1
check "billed once: 4 s talk rounds up to 6 s" "$(call_field rich long "billable_seconds || ' ' || credit_status")" "6 settled"
sleep 2
check "no partitions revoked (the reports consumer kept its group membership)" \
  "$(grep -c '"msg":"partitions revoked"' "$T_DIR/sched.log" || true)" 0
check "no poll interval exceeded" "$(grep -ci 'max_poll\|maximum poll interval' "$T_DIR/sched.log" || true)" 0
check "no new assignment after the outage" "$(grep -c '"msg":"partitions assigned"' "$T_DIR/sched.log")" "$assigned"

# And the loop goes on: a call after the outage completes.
req rich after +15556660002 | outdialctl submit - >/dev/null
wait_status 30 rich after completed && ok "a call after the outage completes" || not_ok "after completed"
wait_for 30 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
audit_ok --final
finish
