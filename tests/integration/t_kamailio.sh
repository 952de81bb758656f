# The dialer against a real carrier proxy: Kamailio 5.6 (tests/kamailio/carrier.cfg)
# with digest auth that checks the Authorization's uri= against the Request-URI,
# Record-Route, UDP and TCP, in front of SIPp as the callee (tests/sipp/carrier.xml)
# and SIPp as the agent (tests/sipp/agent.xml). What the events say is read from
# the database; what happened on the wire, from Kamailio's own log (kam_saw).
. "$(dirname "$0")/lib.sh"

fill() { sed -e "s/@KAM_PORT@/$KAM_PORT/g" -e "s/@AGENT_PORT@/$AGENT_PORT/g" "$1" > "$2"; }
fill "$FIXTURES/kamailio.json" "$T_DIR/prov.json"
t_setup_db "$T_DIR/prov.json"
# The TCP trunk on its own: a dialer that does not know "transport" yet must
# not keep the UDP checks from running.
fill "$FIXTURES/kamailio_tcp.json" "$T_DIR/prov_tcp.json"
if outdialctl apply "$T_DIR/prov_tcp.json" >"$T_DIR/apply_tcp.out" 2>&1; then
  ok 'a trunk with "transport":"tcp" is provisioned'
else
  not_ok "a trunk with \"transport\":\"tcp\" is provisioned: $(tail -1 "$T_DIR/apply_tcp.out")"
fi

start_kamailio kam p "127.0.0.1:$CARRIER_PORT" || not_ok "kamailio started"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
start_sip_dialer dialer --agent-answer-ms 3000
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

# call ORG ID AGENT CODE FROM: a request to +1555<pid-ish><ID><CODE>; the
# callee (tests/sipp/carrier.xml) acts on CODE, the trunk is FROM's.
U=$(printf '%03d' $(($$ % 1000)))
call() {
  echo "{\"request_id\":\"$2\",\"org_id\":\"$1\",\"agent_id\":\"$3\",\"to_number\":\"+1555$U$2$4\",\"from_number\":\"$5\",\"ringing_timeout_seconds\":10}"
}
{
  call acme 11 hangup 00 +15550000100 # UDP: the agent hangs up, we BYE the callee
  call acme 12 bot 07 +15550000100    # UDP: the callee hangs up, its BYE comes through Kamailio
  call acme 13 bot 00 +15550000101    # UDP: a wrong password
  call tcp 21 hangup 00 +15550000102  # TCP: as 11
  call tcp 22 bot 07 +15550000102     # TCP: as 12
} | outdialctl submit - >/dev/null

wait_for 30 "SELECT count(*) FROM calls" 5 || not_ok "5 calls stored"
wait_for 45 "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered','in_progress')" 0 ||
  not_ok "every call ended"
sleep 1 # a third INVITE, or a late request, would show in Kamailio's log by now

outcome() { call_field "$1" "$2" "concat_ws(' ', status, sip_status, error_code, hangup_by)"; }
# final ORG ID FIELD: a field of the call's last event, as the event says it.
final() {
  sql "SELECT e.body->>'$3' FROM call_events e JOIN calls c USING (call_id)
       WHERE c.org_id='$1' AND c.request_id='$2' ORDER BY e.seq DESC LIMIT 1"
}
ruri() { echo "sip:$(call_field "$1" "$2" to_number)@127.0.0.1:$KAM_PORT${3:+;transport=$3}"; }
# Kamailio's ladder of the call, then views of it (tests/kamailio/carrier.cfg):
ladder() { kam_saw kam "sip:$(call_field "$1" "$2" to_number)@"; }
# INVITE transactions Kamailio saw (by CSeq, so a retransmission is not a second one)
invites() { ladder "$1" "$2" | awk -F'|' '$1 == "in" && $2 == "INVITE" { print $5 }' | sort -u | wc -l; }
# the Request-URIs of those INVITEs
invite_ruris() { ladder "$1" "$2" | awk -F'|' '$1 == "in" && $2 == "INVITE" { print $4 }' | sort -u | paste -sd' '; }
# for every INVITE with credentials: "same" when the digest uri= is the Request-URI
digest_uris() {
  ladder "$1" "$2" | awk -F'|' '$1 == "in" && $2 == "INVITE" && $7 != "<null>" {
    print ($7 == $4) ? "same" : "uri=" $7 " for " $4 }' | sort -u | paste -sd' '
}
# the transports the requests Kamailio got came over
transports() { ladder "$1" "$2" | awk -F'|' '$1 == "in" { print $3 }' | sort -u | paste -sd' '; }
# in-dialog requests that followed their Route set to Kamailio: METHOD/transport
loose() { ladder "$1" "$2" | awk -F'|' '$1 == "loose" { print $2 "/" $3 }' | uniq | paste -sd' '; }
# Route header values of the in-dialog requests (their ftag= left out)
routes() {
  ladder "$1" "$2" | awk -F'|' '$1 == "in" && $6 != "<null>" { sub(/;ftag=[^;>]*/, "", $6); print $6 }' |
    sort -u | paste -sd' '
}
# sent ORG ID METHOD: where Kamailio sent that request on: "transport ip:port"
sent() { ladder "$1" "$2" | awk -F'|' -v m="$3" '$1 == "send" && $2 == m { print $3 " " $4 }' | uniq | paste -sd,; }
# next ORG ID METHOD: the Request-URI of that in-dialog request, once routed
next_hop() { ladder "$1" "$2" | awk -F'|' -v m="$3" '$1 == "loose" && $2 == m { print $4 }' | uniq | paste -sd,; }
challenges() { ladder "$1" "$2" | awk -F'|' '$1 == "challenge" { print $2 }' | paste -sd,; }
carrier_saw() { sip_dialog "$T_DIR/carrier.msg" "INVITE sip:$(call_field "$1" "$2" to_number)@"; }
agent_saw() { sip_dialog "$T_DIR/agent.msg" "X-Outdial-Call-Id: $(call_field "$1" "$2" call_id)"; }
show_ladder() { echo "--- Kamailio's ladder of $1/$2:"; ladder "$1" "$2" | sed 's/^/    /'; }

# --- UDP: digest auth through the proxy, then the dialog through its Record-Route
check "UDP, agent hangs up: outcome" "$(outcome acme 11)" "completed 200 agent"
check "UDP: its events" "$(story acme 11)" "queued,initiated,ringing,answered,in_progress,completed"
check "UDP: two INVITEs (challenged, then with credentials)" "$(invites acme 11)" 2
check "UDP: the Request-URI is the trunk's domain" "$(invite_ruris acme 11)" "$(ruri acme 11)"
check "UDP: the digest uri= is exactly the Request-URI" "$(digest_uris acme 11)" same
check "UDP: the callee got the INVITE through Kamailio, Record-Routed" \
  "$(carrier_saw acme 11 | awk '/^INVITE sip:/,/^$/' | grep -cE "^Record-Route: <sip:127.0.0.1:$KAM_PORT;lr[;>]")" 1
check "UDP: ACK and BYE followed the Record-Route" "$(loose acme 11)" "ACK/udp BYE/udp"
check "UDP: with Kamailio as their Route" "$(routes acme 11)" "<sip:127.0.0.1:$KAM_PORT;lr>"
check "UDP: and on to the callee" "$(sent acme 11 ACK) $(sent acme 11 BYE)" \
  "udp 127.0.0.1:$CARRIER_PORT udp 127.0.0.1:$CARRIER_PORT"
check "UDP: the callee got them (one ACK, one BYE)" \
  "$(carrier_saw acme 11 | grep -c '^ACK sip:') $(carrier_saw acme 11 | grep -c '^BYE sip:')" "1 1"

check "UDP, callee hangs up: outcome" "$(outcome acme 12)" "completed 200 callee"
check "UDP: ACK and the callee's BYE followed the Record-Route" "$(loose acme 12)" "ACK/udp BYE/udp"
check "UDP: the callee's BYE went to our Contact" "$(next_hop acme 12 BYE)" "sip:127.0.0.1:$DIALER_PORT"
check "UDP: over UDP" "$(sent acme 12 BYE)" "udp 127.0.0.1:$DIALER_PORT"
check "UDP: the agent got a BYE" "$(agent_saw acme 12 | grep -c '^BYE sip:')" 1

# --- a wrong password: one retry with credentials, then Kamailio's own words
check "wrong password: outcome" "$(outcome acme 13)" "failed 407 AUTH_FAILED carrier"
check "wrong password: exactly one retry (two INVITEs seen by Kamailio)" "$(invites acme 13)" 2
check "wrong password: Kamailio challenged both" "$(challenges acme 13)" "no credentials,credentials refused"
check "wrong password: the retry's digest uri= is the Request-URI" "$(digest_uris acme 13)" same
check "wrong password: the event carries Kamailio's status and phrase" \
  "$(final acme 13 type) $(final acme 13 sip_status) $(final acme 13 sip_reason)" \
  "call.failed 407 Proxy Authentication Required"
check "wrong password: the callee never saw it" "$(carrier_saw acme 13 | grep -c '^INVITE sip:')" 0
check "wrong password: nothing billed" "$(call_field acme 13 "cost_millicents = 0 AND credit_status = 'released'")" t

# --- TCP: "transport":"tcp" on the trunk ----------------------------------------
check "TCP, agent hangs up: outcome" "$(outcome tcp 21)" "completed 200 agent"
check "TCP: two INVITEs" "$(invites tcp 21)" 2
check "TCP: the Request-URI says transport=tcp" "$(invite_ruris tcp 21)" "$(ruri tcp 21 tcp)"
check "TCP: the digest uri= is exactly the Request-URI" "$(digest_uris tcp 21)" same
check "TCP: every request of the dialer came over TCP" "$(transports tcp 21)" tcp
check "TCP: ACK and BYE followed the Record-Route over TCP" "$(loose tcp 21)" "ACK/tcp BYE/tcp"
check "TCP: the callee got one ACK and one BYE" \
  "$(carrier_saw tcp 21 | grep -c '^ACK sip:') $(carrier_saw tcp 21 | grep -c '^BYE sip:')" "1 1"
check "TCP, callee hangs up: outcome" "$(outcome tcp 22)" "completed 200 callee"
check "TCP: the callee's BYE went to our Contact, which says transport=tcp" \
  "$(next_hop tcp 22 BYE)" "sip:127.0.0.1:$DIALER_PORT;transport=tcp"
check "TCP: so it reached us over TCP" "$(sent tcp 22 BYE)" "tcp 127.0.0.1:$DIALER_PORT"

if [ "$T_FAIL" -gt 0 ]; then
  for c in "acme 11" "acme 12" "acme 13" "tcp 21" "tcp 22"; do show_ladder $c >&2; done
fi
audit_ok --final
finish
