# A dialer killed (SIGKILL) just after it took dial work and sent its
# INVITE: the next owner of the dial topic's partition must not dial that
# attempt again (a second INVITE to the callee). Found by scripts/chaos (48
# numbers called twice in one attempt in a 5-minute run): the dialer stores
# a work item's offset when it takes it, but the group commits stored
# offsets only once a second, so work taken in the last second before a
# crash is read again by the next owner, about 6 s later (the session
# timeout); only the --stale-seconds guard (6 s) stands in the way, and
# whether it refuses the work is a race. With --stale-seconds 30 (a setting
# a deployment may choose) the second INVITE is certain.
. "$(dirname "$0")/lib.sh"
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
start_sip_dialer dx --stale-seconds 30
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dx.log" "partitions assigned" || not_ok "dialer joined"

U=$(printf '%03d' $(($$ % 1000)))
num="+1555${U}0109" # the carrier answers at once; the agent `bot` stays
req acme once "$num" '"agent_id":"bot","max_duration_seconds":600' |
  sed 's/"agent_id":"a",//' | outdialctl submit - >/dev/null
invites() { grep -c "^INVITE sip:$num@" "$T_DIR/carrier.msg" 2>/dev/null || true; }
for _ in $(seq 1 500); do [ "$(invites)" -ge 1 ] && break; sleep 0.02; done
kill -9 "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
check "the carrier got the INVITE before the kill" "$(invites)" 1
start_sip_dialer dy --stale-seconds 30
wait_log 30 "$T_DIR/dy.log" "partitions assigned" || not_ok "the next dialer joined"
sleep 3 # what it re-reads, it takes at once
dialogs=$(awk -v RS='-----------------------------------------------' -v num="$num" '
  /message received/ && index($0, "INVITE sip:" num "@") && match($0, /Call-ID: [^\r\n]+/) {
    print substr($0, RSTART, RLENGTH) }' "$T_DIR/carrier.msg" | sort -u | wc -l)
check "one INVITE dialog at the carrier for the one attempt" "$dialogs" 1
finish
