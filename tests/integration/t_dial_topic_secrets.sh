# No credential in clear on any topic (issue 11, 7): with a trunk and an
# agent provisioned with passwords, place calls (one meets the trunk's 407
# with them, which proves the dialer got the password somehow), then read
# every topic of the run with kcat and look for each password, in clear and
# in base64 / base64url at any alignment.
. "$(dirname "$0")/lib.sh"

TRUNK_PW="tp-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-Trunk"
AGENT_PW="ap-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')-Agent"
sed -e "s/@CARRIER_PORT@/$CARRIER_PORT/g" -e "s/@AGENT_PORT@/$AGENT_PORT/g" \
  -e "s/@TRUNK_PW@/$TRUNK_PW/g" -e "s/@AGENT_PW@/$AGENT_PW/g" "$FIXTURES/dial_secrets.json" >"$T_DIR/prov.json"
psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qc "CREATE DATABASE od_$T_ID" >/dev/null
outdialctl migrate >/dev/null
AGENT_CREDS=1
if outdialctl apply "$T_DIR/prov.json" >"$T_DIR/apply.out" 2>&1; then
  ok "provisioning takes an agent's username and password"
else
  AGENT_CREDS=0
  not_ok "provisioning takes an agent's username and password: $(head -c 300 "$T_DIR/apply.out")"
  /usr/bin/python3 -c 'import json, sys
p = json.load(open(sys.argv[1]))
for o in p["orgs"]:
    for a in o.get("agents", []):
        a.pop("username", None); a.pop("password", None)
json.dump(p, sys.stdout)' "$T_DIR/prov.json" >"$T_DIR/prov2.json"
  outdialctl apply "$T_DIR/prov2.json" >/dev/null
fi

start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
start_scheduler sched
start_sip_dialer dialer --agent-answer-ms 2000
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

# Numbers end in the carrier's codes (tests/sipp/carrier.xml): 05 challenges
# once (407), 00 answers, 01 busy.
U=$(printf '%03d' $(($$ % 1000)))
for c in 05 00 01; do
  echo "{\"request_id\":\"s$c\",\"org_id\":\"acme\",\"agent_id\":\"hangup\",\"to_number\":\"+1555${U}77$c\",\"ringing_timeout_seconds\":5}"
done | outdialctl submit - >/dev/null
wait_for 40 "SELECT count(*) FROM calls WHERE status IN ('completed','busy')" 3 ||
  not_ok "calls ended: $(sql "SELECT string_agg(request_id || ' ' || status, ', ') FROM calls")"
check "the 407 was met with the trunk's password" \
  "$(sql "SELECT concat_ws(' ', status, sip_status, hangup_by) FROM calls WHERE request_id = 's05'")" "completed 200 agent"
wait_for 20 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"

for t in "$OUTDIAL_TOPIC_DIAL" "$OUTDIAL_TOPIC_REQUESTS" "$OUTDIAL_TOPIC_EVENTS" "$OUTDIAL_TOPIC_REPORTS"; do
  kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$t" -o beginning -e -q -f '%k\t%h\t%s\n' >"$T_DIR/topic.${t##*.}" 2>/dev/null
done
check "the dial topic holds the 3 dial messages (read)" "$(grep -c . "$T_DIR/topic.dial" || true)" 3
grep -q '"secret-trunk"' "$T_DIR/topic.dial" && ok "the dial messages name the trunk" || not_ok "no trunk in the dial messages"

# Every string that gives a password away: itself, and its base64 and
# base64url at each of the 3 alignments it can have inside a longer
# encoded value (only the characters that depend on the password alone).
giveaways() {
  /usr/bin/python3 -c '
import base64, sys
pw = sys.argv[1].encode()
print(sys.argv[1])
for k in range(3):
    e = base64.b64encode(b"\0" * k + pw + b"\0\0").decode()
    first, last = -(-8 * k // 6), (8 * (k + len(pw)) - 6) // 6
    s = e[first:last + 1]
    print(s)
    print(s.replace("+", "-").replace("/", "_"))' "$1" | sort -u
}
for who in trunk agent; do
  pw=$TRUNK_PW; [ $who = agent ] && pw=$AGENT_PW
  if [ $who = agent ] && [ $AGENT_CREDS = 0 ]; then
    not_ok "agent password: not checked (the agent's credentials could not be provisioned)"; continue
  fi
  for t in dial requests events reports; do
    hits=$(giveaways "$pw" | while read -r g; do grep -cF -- "$g" "$T_DIR/topic.$t" || true; done | awk '{ s += $1 } END { print s + 0 }')
    check "no $who password (clear, base64, base64url) on the $t topic" "$hits" 0
  done
done
finish
