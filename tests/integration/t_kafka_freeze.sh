# Calls that end while the broker is unreachable for longer than the
# dialer's message timeout: their `ended` reports must still reach the
# schedulers once the broker is back, and the calls end as they did on the
# wire (completed, billed), not stuck `in_progress` nor `DIALER_LOST`.
# Found by scripts/chaos --kafka-outages 10 (issue 12): a dialer's reports
# produced during an outage were dropped after librdkafka's message
# timeout; the dialer, still alive, heartbeated on without those calls, so
# nothing ever ended them. The broker here is frozen (SIGSTOP, then
# SIGCONT: a hung broker or a partition, and quick to undo on the shared
# stack) for 12 s, with the dialer's message timeout at 3 s so the outage
# outlasts it four times over.
. "$(dirname "$0")/lib.sh"
KAFKA_PID_FILE=$(dirname "$ENV_FILE")/kafka.pid
[ "${OUTDIAL_DEV_KAFKA:-}" = real ] && [ -f "$KAFKA_PID_FILE" ] || {
  echo "skipped: needs the real broker of scripts/dev up --kafka real"
  exit 0
}
BROKER=$(cat "$KAFKA_PID_FILE")
thaw() { kill -CONT "$BROKER" 2>/dev/null || true; }
trap 'thaw; t_cleanup' EXIT

provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
start_sip_dialer dx --kafka-extra message.timeout.ms=3000
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dx.log" "partitions assigned" || not_ok "dialer joined"

# four calls, answered at once (09), hung up by the dialer at 6 s
U=$(printf '%03d' $(($$ % 1000)))
for i in 1 2 3 4; do
  echo "{\"request_id\":\"f$i\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+1555${U}${i}09\",\"max_duration_seconds\":6}"
done | outdialctl submit - >/dev/null
wait_for 20 "SELECT count(*) FROM calls WHERE status = 'in_progress'" 4 || not_ok "four calls up"

kill -STOP "$BROKER"
frozen=$SECONDS
sleep 12 # the calls end at 6 s, their reports time out 3 s later
thaw
echo "# broker frozen for $((SECONDS - frozen)) s"
check "the calls ended on the wire during the outage (4 BYEs at the carrier)" \
  "$(grep -c '^BYE sip:' "$T_DIR/carrier.msg" || true)" 4

wait_for 45 "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered','in_progress')" 0 ||
  not_ok "every call ended after the outage (left: $(sql "SELECT string_agg(request_id || ' ' || status, ', ') FROM calls
         WHERE status IN ('queued','initiated','ringing','answered','in_progress')"))"
check "each ended as it did on the wire: completed at max duration, billed" \
  "$(sql "SELECT string_agg(request_id || ':' || status || '/' || coalesce(error_code, '-') || '/' || credit_status
                            || '/' || (billable_seconds BETWEEN 5 AND 8), ' ' ORDER BY request_id) FROM calls")" \
  "f1:completed/-/settled/true f2:completed/-/settled/true f3:completed/-/settled/true f4:completed/-/settled/true"
kill -0 "$LAST_PID" 2>/dev/null && ok "the dialer is still running" || not_ok "the dialer died"
audit_ok --final
finish
