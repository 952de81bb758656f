# A dialer behind NAT or a load balancer advertises an address other than
# the one it binds: --sip-bind "sip:PUBLIC:PORT;maddr=LOCAL" binds LOCAL and
# writes PUBLIC:PORT into its Via and Contact (sofia-sip's maddr), so the
# carrier and the agent answer and send their in-dialog requests there.
# Here PUBLIC is a documentation address (203.0.113.7) nothing routes to:
# the call still completes because SIPp answers where the INVITE came from
# (rport), and the carrier's log shows what was advertised.
. "$(dirname "$0")/lib.sh"
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
${OUTDIAL_TEST_WRAP:-} outdial-dialer --group "d.$T_ID" --dialer-id adv \
  --sip-bind "sip:203.0.113.7:$DIALER_PORT;maddr=127.0.0.1" >>"$T_DIR/dialer.log" 2>&1 &
T_PIDS+=("$!")
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"
U=$(printf '%03d' $(($$ % 1000)))
echo "{\"request_id\":\"adv\",\"org_id\":\"acme\",\"agent_id\":\"hangup\",\"to_number\":\"+1555${U}0109\"}" |
  outdialctl submit - >/dev/null
wait_status 30 acme adv completed || not_ok "the call completed ($(status acme adv))"
w=$(sip_dialog "$T_DIR/carrier.msg" "INVITE sip:+1555${U}0109@")
check "the INVITE's Via names the advertised address" \
  "$(grep -m1 '^Via:' <<<"$w" | grep -c "SIP/2.0/UDP 203.0.113.7:$DIALER_PORT;")" 1
check "its Contact too" "$(grep -m1 '^Contact:' <<<"$w" | grep -c "<sip:203.0.113.7:$DIALER_PORT")" 1
check "the bound address appears nowhere in what was sent" \
  "$(grep '^\(Via\|Contact\):' <<<"$w" | grep -c "127.0.0.1:$DIALER_PORT" || true)" 0
finish
