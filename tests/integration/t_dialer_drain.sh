# SIGTERM drains a dialer: it stops taking work, hands the work it has not
# started back to the group (another dialer dials it), lets live calls run
# until its drain deadline, then hangs them up, reports, and exits 0.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_DIALER_LOST_SECONDS=60 # the work waits in Kafka before any dialer runs
provision_sip "$FIXTURES/dialer.json"
sed -i 's/"cps": 200/"cps": 1/' "$T_DIR/prov.json" && outdialctl apply "$T_DIR/prov.json" >/dev/null
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"

for i in 1 2 3 4 5 6 7 8; do
  echo "{\"request_id\":\"d$i\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+15557770${i}09\",\"max_duration_seconds\":60}"
done | outdialctl submit - >/dev/null
wait_for 30 "SELECT count(*) FROM calls WHERE status = 'initiated'" 8 || not_ok "all admitted (1 per second)"

start_sip_dialer d1 --stale-seconds 120 --drain-seconds 2
D1=$LAST_PID
wait_for 30 "SELECT count(*) FROM calls WHERE status = 'in_progress'" 2 || not_ok "d1 dialing at 1 per second"
t0=$SECONDS
kill -TERM "$D1"
wait_log 10 "$T_DIR/d1.log" "handed back" || not_ok "d1 drains"
handed=$(grep -o 'draining: [0-9]* calls handed back' "$T_DIR/d1.log" | grep -o '[0-9]*' | head -1)
check_ge "d1 handed back the work it had not started" "${handed:-0}" 3
wait "$D1"; rc=$?
check "d1 exits 0" "$rc" 0
check "d1 exited after its drain deadline, promptly" "$(( SECONDS - t0 >= 2 && SECONDS - t0 <= 9 ))" 1
check_ge "d1 had live calls" "$(sql "SELECT count(*) FROM calls WHERE dialer_id LIKE 'd1/%'")" 2
wait_for 10 "SELECT count(*) FILTER (WHERE status = 'completed' AND hangup_by = 'system'
               AND error_message = 'the dialer shut down') = count(*) FROM calls WHERE dialer_id LIKE 'd1/%'" t &&
  ok "d1's live calls were hung up at the deadline" || not_ok "d1's calls ended"

# Another dialer takes the work handed back; it counts the work's age from
# the hand-back, so its default staleness limit does not refuse it.
DIALER_PORT=$((DIALER_PORT + 1)) start_sip_dialer d2 --drain-seconds 0
D2=$LAST_PID
wait_for 30 "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered')" 0 ||
  not_ok "d2 dialed every call handed back"
# (and any work the relay published after d1 stopped reading)
check "d2 has up every call d1 did not keep" \
  "$(sql "SELECT count(*) FROM calls WHERE dialer_id LIKE 'd2/%' AND status = 'in_progress'")" \
  "$(sql "SELECT 8 - count(*) FROM calls WHERE dialer_id LIKE 'd1/%'")"
kill -TERM "$D2"
wait "$D2" || not_ok "d2 exits 0"
wait_for 20 "SELECT count(*) FROM calls WHERE status = 'completed'" 8 || not_ok "every call completed"
check "none lost, none failed" "$(sql "SELECT count(*) FROM calls WHERE status <> 'completed' OR error_code IS NOT NULL")" 0
# Pacing: the trunk allows 1 call/s; no two INVITEs closer than half that.
gaps=$(awk '/^-+ [0-9-]+ [0-9:.]+$/ { t = $3 } /^INVITE sip:/ { split(t, a, ":"); print a[1] * 3600 + a[2] * 60 + a[3] }' \
  "$T_DIR/carrier.msg" | sort -n | awk 'NR > 1 && $1 - p < m || NR == 2 { m = $1 - p } { p = $1 } END { printf "%.2f", m }')
check "INVITEs paced to the trunk's cps (smallest gap >= 0.5 s)" "$(echo "$gaps >= 0.5" | bc)" 1
audit_ok --final
finish
