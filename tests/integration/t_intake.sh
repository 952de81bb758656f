# Intake end to end with kcat as the independent client: requests produced
# by kcat, events consumed by kcat. A malformed message between two valid
# ones; a duplicate request_id; one request per rejection code; the
# CloudEvents headers; `outdialctl show`.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # what is tested here: intake and its events
t_setup_db
start_scheduler sched
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined its group"

V='"org_id":"acme","agent_id":"support-bot"'
{
  echo "{\"request_id\":\"good-1\",$V,\"to_number\":\"+442071838750\",\"metadata\":{\"campaign\":\"c7\"}}"
  echo 'this is not json'
  echo "{\"request_id\":\"good-2\",$V,\"to_number\":\"+442071838751\"}"
  echo "{\"request_id\":\"good-1\",$V,\"to_number\":\"+442071838750\"}"
  echo '[1,2,3]'
  echo "{\"request_id\":\"bad-phone\",$V,\"to_number\":\"0044\"}"
  echo "{\"request_id\":\"no-org\",\"org_id\":\"ghost\",\"agent_id\":\"support-bot\",\"to_number\":\"+442071838750\"}"
  echo "{\"request_id\":\"no-agent\",\"org_id\":\"acme\",\"agent_id\":\"ghost\",\"to_number\":\"+442071838750\"}"
  echo "{\"request_id\":\"not-owned\",$V,\"to_number\":\"+442071838750\",\"from_number\":\"+14155550999\"}"
  echo "{\"request_id\":\"disabled\",$V,\"to_number\":\"+442071838750\",\"from_number\":\"+14155550101\"}"
  echo "{\"request_id\":\"bad-field\",$V,\"to_number\":\"+442071838750\",\"ringing_timeout_seconds\":500}"
} > "$T_DIR/in.txt"
# All on one partition (same key), so the malformed one sits between the others.
kcat -P -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REQUESTS" -k same-key -l "$T_DIR/in.txt"

wait_for 30 "SELECT count(*) FROM calls" 10 || not_ok "10 calls stored"
wait_for 30 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
check "good-1 stored once" "$(sql "SELECT count(*) FROM calls WHERE request_id='good-1'")" 1
check "good-1 queued" "$(sql "SELECT status FROM calls WHERE request_id='good-1'")" queued
check "good-2 queued after the malformed one" "$(sql "SELECT status FROM calls WHERE request_id='good-2'")" queued
for pair in bad-phone:INVALID_PHONE_NUMBER no-org:ORG_NOT_FOUND no-agent:AGENT_NOT_FOUND \
            not-owned:NUMBER_NOT_OWNED disabled:OUTBOUND_DISABLED bad-field:INVALID_REQUEST; do
  check "${pair%%:*} rejected with ${pair#*:}" \
    "$(sql "SELECT status || ' ' || error_code FROM calls WHERE request_id='${pair%%:*}'")" "rejected ${pair#*:}"
done
check "both malformed messages rejected by position" \
  "$(sql "SELECT count(*) FROM calls WHERE org_id='' AND error_code='INVALID_REQUEST' AND source LIKE '$OUTDIAL_TOPIC_REQUESTS/%'")" 2

# What an analytics consumer sees, read by kcat.
for _ in $(seq 1 50); do
  read_events > "$T_DIR/events.tsv"
  [ "$(wc -l < "$T_DIR/events.tsv")" -ge 10 ] && break
  sleep 0.2
done
check "10 events on the topic" "$(wc -l < "$T_DIR/events.tsv")" 10
check "one call.queued per queued call" "$(grep -c '"type":"call.queued"' "$T_DIR/events.tsv")" 2
check "8 call.rejected" "$(grep -c '"type":"call.rejected"' "$T_DIR/events.tsv")" 8
good1=$(sql "SELECT call_id FROM calls WHERE request_id='good-1'")
line=$(grep "^$good1	" "$T_DIR/events.tsv" || true)
check "event keyed by call_id" "$(echo "$line" | cut -f1)" "$good1"
hdrs=$(echo "$line" | cut -f2)
for h in ce_specversion=1.0 ce_type=call.queued ce_source=/outdial content-type=application/json; do
  check "header $h" "$(echo "$hdrs" | tr ',' '\n' | grep -cx "$h")" 1
done
check "ce_id is the event_id" "$(echo "$hdrs" | tr ',' '\n' | grep -c "^ce_id=$(sql "SELECT event_id FROM call_events WHERE call_id='$good1'")$")" 1
body=$(echo "$line" | cut -f3)
check "metadata echoed" "$(echo "$body" | grep -c '"metadata":{"campaign":"c7"}')" 1
check "seq 1" "$(echo "$body" | grep -c '"seq":1,')" 1
check "default from_number filled in" "$(echo "$body" | grep -c '"from_number":"+14155550100"')" 1
bad=$(grep 'not JSON' "$T_DIR/events.tsv" | cut -f3)
check "malformed rejection names partition and offset" \
  "$(echo "$bad" | grep -cE '"source":\{"topic":"'"$OUTDIAL_TOPIC_REQUESTS"'","partition":[0-9]+,"offset":1\}')" 1

# The same messages again (a redelivery): nothing new.
kcat -P -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REQUESTS" -k same-key -l "$T_DIR/in.txt"
sleep 3
check "re-sent messages add no call" "$(sql 'SELECT count(*) FROM calls')" 12
check "... except the two malformed ones (new positions)" "$(sql "SELECT count(*) FROM calls WHERE org_id=''")" 4
check "no second event for any call" "$(sql 'SELECT count(*) FROM call_events WHERE seq > 1')" 0

# outdialctl show, by id and by org/request.
out=$(outdialctl show "$good1")
check "show by call_id" "$(echo "$out" | grep -c 'call.queued')" 1
out=$(outdialctl show --org acme --request bad-phone)
check "show by org/request" "$(echo "$out" | grep -c 'INVALID_PHONE_NUMBER')" 2
set +e; outdialctl show 00000000-0000-4000-8000-000000000000 2>/dev/null; rc=$?; set -e
check "show of an unknown call exits 1" "$rc" 1

# outdialctl watch --json sees the same events.
n=$(outdialctl watch --json --from-beginning --count 10 --timeout 20 | wc -l)
check "watch prints the events" "$n" 10
finish
