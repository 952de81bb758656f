# Hostile messages produced by kcat never stall intake and are never lost
# without an event (docs/requests.md, "Every message gets a row and an
# event"). Each poison carries a multi-byte character placed where a byte
# count would cut it in two; each one sits in the middle of a batch, then
# at the end of one (where a refused row used to be retried forever). A row
# the database refuses for a reason nobody foresaw (a CHECK constraint the
# test adds) still becomes a rejection. A new message at an offset seen
# before (the topic deleted and created again) is not taken for a
# duplicate, and `outdialctl audit` finds offsets that were never stored.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # what is tested here: intake and its events
t_setup_db
E=$(printf '\342\202\254') # U+20AC, three bytes: e2 82 ac
Z=zzzzz # so that a cut is needed
rep() { printf "%${2}s" '' | tr ' ' "$1"; }
V='"org_id":"acme","agent_id":"support-bot"'
TO='"to_number":"+442071838750"'

# poisons TAG: one per line, "request_id<TAB>error_code<TAB>message"; the
# multi-byte character straddles byte 40 (field names, numbers) or byte 64
# (org and agent ids), where the rejection texts used to be cut.
poisons() {
  local t=$1
  printf '%s\t%s\t%s\n' \
    "$t-field" INVALID_REQUEST "{\"request_id\":\"$t-field\",$V,$TO,\"$(rep a 39)$E$Z\":1}" \
    "$t-to" INVALID_PHONE_NUMBER "{\"request_id\":\"$t-to\",$V,\"to_number\":\"+$(rep 1 38)$E$Z\"}" \
    "$t-from" INVALID_PHONE_NUMBER "{\"request_id\":\"$t-from\",$V,$TO,\"from_number\":\"+$(rep 2 38)$E$Z\"}" \
    "$t-org" ORG_NOT_FOUND "{\"request_id\":\"$t-org\",\"org_id\":\"$(rep o 63)$E$Z\",\"agent_id\":\"support-bot\",$TO}" \
    "$t-agent" AGENT_NOT_FOUND "{\"request_id\":\"$t-agent\",\"org_id\":\"acme\",\"agent_id\":\"$(rep g 63)$E$Z\",$TO}" \
    "$t-retry" INVALID_REQUEST "{\"request_id\":\"$t-retry\",$V,$TO,\"retry\":{\"$(rep r 39)$E$Z\":1}}" \
    "$t-year0" INVALID_REQUEST "{\"request_id\":\"$t-year0\",$V,$TO,\"not_before\":\"0000-01-01T00:00:00Z\"}" \
    "$t-year0z" INVALID_REQUEST "{\"request_id\":\"$t-year0z\",$V,$TO,\"expires_at\":\"0001-01-01T00:00:00+01:00\"}"
}
good() { echo "{\"request_id\":\"$1\",$V,$TO}"; }
produce() { kcat -P -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REQUESTS" -k same-key -l "$1"; }
# stored REQUEST_ID: its row's outcome; a rejection that came before the
# request_id was read (an unknown field) is keyed by position, and found
# by the request it kept.
stored() {
  sql "SELECT status || ' ' || coalesce(error_code, '-') FROM calls
       WHERE (org_id <> '' AND request_id = '$1') OR (org_id = '' AND request->>'request_id' = '$1')"
}
by_rid() { echo "((org_id <> '' AND request_id = '$1') OR (org_id = '' AND request->>'request_id' = '$1'))"; }

# The very first message (offset 0): not JSON, and not UTF-8 either.
printf '\377 not json %s\n' "$(rep x 150)$E" > "$T_DIR/first.txt"
produce "$T_DIR/first.txt"
start_scheduler sched
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined its group"
wait_for 30 "SELECT count(*) FROM calls WHERE source LIKE '%/0'" 1 || not_ok "offset 0 stored"
P=$(sql "SELECT split_part(source, '/', 2) FROM calls WHERE source LIKE '%/0'") # one key: one partition
check "a message that is neither JSON nor UTF-8 is rejected" \
  "$(sql "SELECT status || ' ' || error_code FROM calls WHERE source LIKE '%/0'")" "rejected INVALID_REQUEST"
check "... and its text names the byte that is not UTF-8" \
  "$(sql "SELECT error_message LIKE '%0xff%' FROM calls WHERE source LIKE '%/0'")" t

# --- each poison in the middle of one batch -------------------------------
poisons mid > "$T_DIR/mid.tsv"
{ good mid-first; cut -f3 "$T_DIR/mid.tsv" | while IFS= read -r l; do echo "$l"; good "mid-after-$(echo "$l" | cut -d'"' -f4)"; done; } > "$T_DIR/mid.txt"
produce "$T_DIR/mid.txt"
n_mid=$(wc -l < "$T_DIR/mid.txt")
wait_for 30 "SELECT count(*) FROM calls WHERE coalesce(request->>'request_id', '') LIKE 'mid-%'" "$n_mid" || not_ok "all $n_mid stored"
while IFS=$'\t' read -r rid code _; do
  check "$rid (mid-batch) rejected with $code" "$(stored "$rid")" "rejected $code"
  check "the message after $rid stored" "$(stored "mid-after-$rid")" "queued -"
done < "$T_DIR/mid.tsv"

# --- each poison last in its batch, then the next message -----------------
poisons end > "$T_DIR/end.tsv"
while IFS=$'\t' read -r rid code msg; do
  { good "end-before-$rid"; echo "$msg"; } > "$T_DIR/end.txt"
  produce "$T_DIR/end.txt"
  wait_for 15 "SELECT count(*) FROM calls WHERE $(by_rid "$rid")" 1 || true
  check "$rid (end of batch) rejected with $code" "$(stored "$rid")" "rejected $code"
  good "end-after-$rid" > "$T_DIR/next.txt"
  produce "$T_DIR/next.txt"
  wait_for 15 "SELECT count(*) FROM calls WHERE request_id = 'end-after-$rid'" 1 || true
  check "the message after $rid stored" "$(stored "end-after-$rid")" "queued -"
done < "$T_DIR/end.tsv"
check "no rejection text cut inside a character" \
  "$(sql "SELECT count(*) FROM calls WHERE error_message LIKE '%' || chr(65533) || '%'")" 0
check "the texts that quote a value are cut before a whole character" \
  "$(sql "SELECT count(*) FROM calls WHERE ($(by_rid mid-field) AND error_message LIKE '%\"$(rep a 39)...\"%')
          OR (request_id = 'end-org' AND error_message LIKE '%\"$(rep o 63)...\"%')")" 2

# --- a row the database refuses, whatever the reason ----------------------
sql "ALTER TABLE calls ADD CONSTRAINT t_refuse CHECK (request_id NOT LIKE 'refuse-%')"
{ good refuse-mid; good after-refuse-mid; } > "$T_DIR/r1.txt"
produce "$T_DIR/r1.txt"
wait_for 15 "SELECT count(*) FROM calls WHERE request_id = 'after-refuse-mid'" 1 || not_ok "stored after a refused row"
good refuse-end > "$T_DIR/r2.txt"
produce "$T_DIR/r2.txt"
good after-refuse-end > "$T_DIR/r3.txt"
sleep 1
produce "$T_DIR/r3.txt"
wait_for 15 "SELECT count(*) FROM calls WHERE request_id = 'after-refuse-end'" 1 || not_ok "stored after a refused row at the end of a batch"
check "refused rows became rejections by position, with the database's reason" \
  "$(sql "SELECT count(*) FROM calls WHERE org_id = '' AND status = 'rejected' AND error_code = 'INVALID_REQUEST' AND error_message LIKE 'refused by the database:%t_refuse%'")" 2
sql "ALTER TABLE calls DROP CONSTRAINT t_refuse"

# --- every message has its row and its event --------------------------------
total=$(( 1 + n_mid + 3 * $(wc -l < "$T_DIR/end.tsv") + 4 ))
wait_for 30 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
check "one row per message" "$(sql 'SELECT count(*) FROM calls')" "$total"
for _ in $(seq 1 50); do
  read_events > "$T_DIR/events.tsv"
  [ "$(wc -l < "$T_DIR/events.tsv")" -ge "$total" ] && break
  sleep 0.2
done
check "one event per message on the topic" "$(wc -l < "$T_DIR/events.tsv")" "$total"
check "every event is valid UTF-8" "$(cut -f3 "$T_DIR/events.tsv" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 && echo yes)" yes
check "no audit gap so far" "$(outdialctl audit 2>&1 | grep -c 'FAIL')" 0

# --- a skipped offset range is found by audit -------------------------------
if [ "${OUTDIAL_DEV_KAFKA:-}" = real ]; then
  kill -TERM "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
  next=$(sql "SELECT count(*) FROM calls WHERE source LIKE '$OUTDIAL_TOPIC_REQUESTS/%'")
  { good skipped-1; good skipped-2; good after-skip; } > "$T_DIR/s.txt"
  produce "$T_DIR/s.txt"
  # Another member of the group takes the first two and commits past them
  # (kcat commits what it consumed when it leaves): they are skipped.
  timeout 30 kcat -b "$OUTDIAL_KAFKA_BROKERS" -G "$OUTDIAL_SCHEDULER_GROUP" -c 2 -q \
    "$OUTDIAL_TOPIC_REQUESTS" > "$T_DIR/thief.txt" 2>&1 || true
  check "two messages taken by another member" "$(grep -c skipped- "$T_DIR/thief.txt")" 2
  start_scheduler sched2
  wait_for 30 "SELECT count(*) FROM calls WHERE request_id = 'after-skip'" 1 || not_ok "after-skip stored"
  set +e; outdialctl audit > "$T_DIR/audit.out" 2>&1; rc=$?; set -e
  check "audit fails on skipped messages" "$rc" 1
  check "audit names the offsets never stored" \
    "$(grep -c "FAIL  every message on the requests topic has its row: 1 ($OUTDIAL_TOPIC_REQUESTS/$P offsets $next-$((next + 1)))" "$T_DIR/audit.out")" 1

  # --- a new message at an offset seen before --------------------------------
  kill -TERM "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
  kafka_admin delete-topic "$OUTDIAL_KAFKA_BROKERS" "$OUTDIAL_TOPIC_REQUESTS" ||
    not_ok "topic deleted"
  sleep 2 # deletion finishes in the background
  produce "$T_DIR/first.txt" # the same bytes, at offset 0 again
  export OUTDIAL_SCHEDULER_GROUP="$OUTDIAL_SCHEDULER_GROUP.2"
  start_scheduler sched3
  wait_for 30 "SELECT count(*) FROM calls WHERE source = '$OUTDIAL_TOPIC_REQUESTS/$P/0'" 2 ||
    not_ok "the new message at offset 0 stored"
  wait_for 30 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
  check "the new message at a reused offset has its own rejection" \
    "$(sql "SELECT count(DISTINCT call_id) FROM calls WHERE source = '$OUTDIAL_TOPIC_REQUESTS/$P/0' AND status = 'rejected'")" 2
  check "... and its own event" "$(read_events | grep -c "\"offset\":0}")" 2
  # A redelivery of it (a group that starts over) is still a duplicate.
  kill -TERM "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true
  export OUTDIAL_SCHEDULER_GROUP="$OUTDIAL_SCHEDULER_GROUP.3"
  start_scheduler sched4
  wait_log 30 "$T_DIR/sched4.log" "partitions assigned" || not_ok "scheduler 4 joined"
  sleep 3
  check "a redelivered message is still a duplicate" \
    "$(sql "SELECT count(*) FROM calls WHERE source = '$OUTDIAL_TOPIC_REQUESTS/$P/0'")" 2
else
  echo "skipped: the offset-gap and topic re-creation cases need the real broker (scripts/dev up --kafka real)"
fi
finish
