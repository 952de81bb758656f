# The callee's 200 crossing our CANCEL at ring timeout (glare), many times
# in a row on one dialer: each call ends no_answer ANSWERED_AFTER_TIMEOUT
# with the carrier's 200, the 200 is ACKed with every stream refused and
# then BYEd, and the dialer lives on.
# The dialer crashed on the first such call before (use-after-free of the
# call, double free of its timer). OUTDIAL_GLARE_N calls (default 100).
. "$(dirname "$0")/lib.sh"
N=${OUTDIAL_GLARE_N:-100}
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier glare "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
start_sip_dialer dialer
DIALER_PID=$LAST_PID
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

awk -v n="$N" 'BEGIN { for (i = 1; i <= n; i++)
  printf "{\"request_id\":\"g%d\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+1556%07d\",\"ringing_timeout_seconds\":5}\n", i, i }' |
  outdialctl submit - >/dev/null
wait_for $((60 + N / 5)) "SELECT count(*) FROM calls WHERE status IN ('no_answer','failed','completed','busy','canceled')" "$N" ||
  not_ok "every glare call ended"
check "every glare call: no_answer, the carrier's 200, ANSWERED_AFTER_TIMEOUT, by the system" \
  "$(sql "SELECT count(*) FROM calls WHERE status = 'no_answer' AND sip_status = 200
          AND error_code = 'ANSWERED_AFTER_TIMEOUT' AND hangup_by = 'system' AND cost_millicents = 0")" "$N"
sql "SELECT status, sip_status, error_code, count(*) FROM calls GROUP BY 1, 2, 3" > "$T_DIR/outcomes.txt"
kill -0 "$DIALER_PID" 2>/dev/null && ok "the dialer is alive after $N glare calls" || not_ok "the dialer died"
# dialogs_with PATTERN: how many calls (Call-IDs) the carrier got a message
# matching PATTERN in (retransmissions count once).
dialogs_with() {
  awk -v RS='-----------------------------------------------' -v pat="$1" '
    $0 ~ pat && match($0, /Call-ID: [^\r\n]+/) { print substr($0, RSTART, RLENGTH) }' \
    "$T_DIR/carrier.msg" | sort -u | wc -l
}
check "the carrier got an ACK refusing the media in each call" "$(dialogs_with '\nACK sip:[^\n]*\n(.|\n)*\nm=audio 0 ')" "$N"
check "and a BYE in each" "$(dialogs_with '\nBYE sip:')" "$N"
check "no event claims the call was lost" "$(sql "SELECT count(*) FROM calls WHERE error_code = 'DIALER_LOST'")" 0
grep -q "AddressSanitizer\|runtime error" "$T_DIR/dialer.log" && not_ok "sanitizer report in the dialer log" ||
  ok "no sanitizer report"
finish
