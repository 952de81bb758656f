# A dialer killed (SIGKILL) with a call up and restarted under the same
# name, as Kubernetes restarts a crashed or OOM-killed container in its pod
# (OUTDIAL_DIALER_ID is the pod's name): the new process knows nothing of
# the old one's calls, so they must end DIALER_LOST like those of a dialer
# that never came back, freeing hold, lock and slots; and the restarted
# dialer places calls. (Found by scripts/chaos: such a call stayed
# in_progress for good, the new process's heartbeats keeping it alive.)
. "$(dirname "$0")/lib.sh"
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
start_sip_dialer dx
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dx.log" "partitions assigned" || not_ok "dialer joined"

U=$(printf '%03d' $(($$ % 1000)))
# the carrier answers at once (09); the agent `bot` stays until BYE
req acme up "+1555${U}0109" '"agent_id":"bot","max_duration_seconds":600' |
  sed 's/"agent_id":"a",//' | outdialctl submit - >/dev/null
wait_status 30 acme up in_progress || not_ok "the call is up"
sleep 2 # the dial work's offset committed (each second): the new process does not re-read it
kill -9 "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
killed_at=$SECONDS
start_sip_dialer dx
wait_log 30 "$T_DIR/dx.log" "partitions assigned" || not_ok "restarted dialer joined"

# lost: about 13 s after the old process's last heartbeat, within 15 s
wait_status 40 acme up failed || not_ok "the old process's call ended"
check "it ended as lost" "$(call_field acme up "concat_ws(' ', status, error_code)")" "failed DIALER_LOST"
echo "ended $((SECONDS - killed_at)) s after the kill"
check "its destination lock is free" "$(sql "SELECT count(*) FROM dest_locks")" 0

req acme after "+1555${U}0209" '"agent_id":"hangup"' | sed 's/"agent_id":"a",//' | outdialctl submit - >/dev/null
wait_status 30 acme after completed || not_ok "a call through the restarted dialer completes"
audit_ok --final
finish
