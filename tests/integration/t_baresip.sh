# Third-party call control with real UAs: baresip (tests/baresip/config) as the
# callee behind the trunk and baresip as the AI agent. After the bridge, RTP
# must flow both ways between them, directly, and the dialer must carry none:
# counted on the loopback wire with tcpdump.
. "$(dirname "$0")/lib.sh"

# baresip 1.0 listens on its SIP port (UDP, TCP) and, for TLS, on the next
# one, which it cannot be told not to: both UAs get ports of their own, below
# the SIP_BASE range: R callee SIP (R+1 its TLS), R+2 agent SIP (R+3 TLS),
# R+4..R+7 callee RTP/RTCP, R+8..R+11 agent RTP/RTCP.
R=$((10000 + ($$ % 625) * 16))
CARRIER_PORT=$R AGENT_PORT=$((R + 2))
CALLEE_RTP="$((R + 4))-$((R + 7))" AGENT_RTP="$((R + 8))-$((R + 11))"
provision_sip "$FIXTURES/baresip.json"
U=$(printf '%03d' $(($$ % 1000)))
NUM="+1555${U}0100"

# start_baresip NAME USER SIP_PORT RTP_PORTS: one UA answering calls to USER.
start_baresip() {
  mkdir -p "$T_DIR/$1"
  sed -e "s/@SIP_PORT@/$3/" -e "s/@RTP_PORTS@/$4/" "$OUTDIAL_ROOT/tests/baresip/config" > "$T_DIR/$1/config"
  echo "<sip:$2@127.0.0.1:$3>;regint=0;answermode=auto;audio_codecs=PCMU" > "$T_DIR/$1/accounts"
  baresip -f "$T_DIR/$1" </dev/null >"$T_DIR/$1.log" 2>&1 &
  T_PIDS+=("$!")
}
start_baresip callee "$NUM" "$CARRIER_PORT" "$CALLEE_RTP"
start_baresip agent agent "$AGENT_PORT" "$AGENT_RTP"
tcpdump -i lo -nn -U --immediate-mode -w "$T_DIR/wire.pcap" \
  "udp and (portrange $CALLEE_RTP or portrange $AGENT_RTP or port $DIALER_PORT)" 2>"$T_DIR/tcpdump.log" &
TCPDUMP=$!
T_PIDS+=("$TCPDUMP")
start_scheduler sched
start_sip_dialer dialer
wait_log 20 "$T_DIR/callee.log" "baresip is ready" || not_ok "callee baresip ready"
wait_log 20 "$T_DIR/agent.log" "baresip is ready" || not_ok "agent baresip ready"
wait_log 20 "$T_DIR/tcpdump.log" "listening on lo" ||
  not_ok "tcpdump listening on lo (it needs the right to capture: root or CAP_NET_RAW): $(head -1 "$T_DIR/tcpdump.log")"
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

# Bridged for 4 s, then the dialer hangs up both legs (max duration).
echo "{\"request_id\":\"rtp\",\"org_id\":\"acme\",\"agent_id\":\"agent\",\"to_number\":\"$NUM\",\"max_duration_seconds\":4}" |
  outdialctl submit - >/dev/null
wait_for 40 "SELECT status NOT IN ('queued','initiated','ringing','answered','in_progress') FROM calls
              WHERE request_id='rtp'" t || not_ok "the call ended"
sleep 1 # the last packets in flight
kill -INT "$TCPDUMP" 2>/dev/null || true
for ((n = 0; n < 25; n++)); do kill -0 "$TCPDUMP" 2>/dev/null || break; sleep 0.2; done

check "outcome" "$(call_field acme rtp "concat_ws(' ', status, sip_status, error_code, hangup_by)")" "completed 200 system"
check "its events" "$(story acme rtp)" "queued,initiated,ringing,answered,in_progress,completed"
check "billed for the time up (4 s at 1200/min)" \
  "$(call_field acme rtp "billable_seconds BETWEEN 4 AND 5 AND cost_millicents = billable_seconds * 20")" t

# count FILTER: packets in the capture that FILTER selects. RTP is told by its
# header: version 2, payload type 0 (PCMU, the only codec offered).
count() { tcpdump -r "$T_DIR/wire.pcap" -nn "$1" 2>/dev/null | wc -l; }
RTP="(udp[8] & 0xc0) = 0x80 and (udp[9] & 0x7f) = 0"
to_agent=$(count "src portrange $CALLEE_RTP and dst portrange $AGENT_RTP and $RTP")
to_callee=$(count "src portrange $AGENT_RTP and dst portrange $CALLEE_RTP and $RTP")
# 4 s of 20 ms packets is 200 each way; at least 2 s of it must have flowed.
check_ge "RTP callee -> agent, directly" "$to_agent" 100
check_ge "RTP agent -> callee, directly" "$to_callee" 100
check "no RTP from either UA to anywhere but the other" \
  "$(count "(src portrange $CALLEE_RTP and not dst portrange $AGENT_RTP or src portrange $AGENT_RTP and not dst portrange $CALLEE_RTP) and $RTP")" 0
check "nothing on the dialer's port looks like RTP (SIP is text)" \
  "$(count "port $DIALER_PORT and (udp[8] & 0xc0) = 0x80")" 0
check "the dialer's port never talks to an RTP port" \
  "$(count "port $DIALER_PORT and (portrange $CALLEE_RTP or portrange $AGENT_RTP)")" 0
# (so that the two checks above are not vacuous: the capture saw the dialer's
# INVITEs, "INVI" at the start of the payload, to the callee and to the agent)
check_ge "the dialer's INVITEs were captured" "$(count "src port $DIALER_PORT and udp[8:4] = 0x494e5649")" 2
echo "RTP packets: callee -> agent $to_agent, agent -> callee $to_callee"
finish
