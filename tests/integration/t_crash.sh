# The scheduler killed with SIGKILL while 10,000 requests flow, then
# restarted: every request stored exactly once, every call has exactly one
# first event (queued or rejected), and every event reaches the topic
# (redeliveries carry the same event_id).
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # what is tested here: intake and its events
t_setup_db
N=10000
gen_requests $N crash > "$T_DIR/req.jsonl"
start_scheduler sched1
wait_log 30 "$T_DIR/sched1.log" "partitions assigned" || not_ok "scheduler joined"
# Half the requests flow in; the scheduler is killed as soon as intake has
# started on them; the other half is produced while it is down.
head -n $((N / 2)) "$T_DIR/req.jsonl" > "$T_DIR/a.jsonl"
tail -n +$((N / 2 + 1)) "$T_DIR/req.jsonl" > "$T_DIR/b.jsonl"
outdialctl submit "$T_DIR/a.jsonl" > "$T_DIR/submit.log" 2>&1 &
submit_pid=$!
for _ in $(seq 1 400); do
  [ "$(sql 'SELECT count(*) FROM calls')" -ge 1 ] && break; sleep 0.02
done
kill -9 "$LAST_PID"
killed_at=$(sql 'SELECT count(*) FROM calls')
echo "killed with $killed_at of $N stored"
[ "$killed_at" -lt $N ] && ok "killed mid-flow" || not_ok "kill came too late ($killed_at)"
wait "$submit_pid" || not_ok "submit delivered everything"
outdialctl submit "$T_DIR/b.jsonl" >> "$T_DIR/submit.log" 2>&1 || not_ok "second half delivered"
start_scheduler sched2
stored_once $N
check "no call without its event" "$(sql 'SELECT count(*) FROM calls c WHERE NOT EXISTS (SELECT 1 FROM call_events e WHERE e.call_id=c.call_id)')" 0
check "rejections as generated (every 10th, every 25th, overlap 50th)" "$(sql "SELECT count(*) FROM calls WHERE status='rejected'")" 1200
kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_EVENTS" -o beginning -e -q -f '%k %h\n' > "$T_DIR/ev.txt" 2>/dev/null
check "every call has its event on the topic" "$(cut -d' ' -f1 "$T_DIR/ev.txt" | sort -u | wc -l)" $N
distinct_ids=$(grep -o 'ce_id=[^,]*' "$T_DIR/ev.txt" | sort -u | wc -l)
check "one distinct event_id per call" "$distinct_ids" $N
echo "redelivered events: $(( $(wc -l < "$T_DIR/ev.txt") - distinct_ids ))"
finish
