# PostgreSQL going away pauses intake; when it is back intake resumes and
# nothing is lost. SIGTERM then finishes, commits offsets and leaves the
# group: a restarted scheduler re-reads nothing.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # what is tested here: intake and its events
t_setup_db
gen_requests 1000 before > "$T_DIR/a.jsonl"
gen_requests 1000 during > "$T_DIR/b.jsonl"
start_scheduler s1
wait_log 30 "$T_DIR/s1.log" "partitions assigned" || not_ok "joined"
outdialctl submit "$T_DIR/a.jsonl" >/dev/null
wait_for 60 "SELECT count(*) FROM calls" 1000 || not_ok "first 1000 stored"

"$OUTDIAL_ROOT/scripts/dev" pg-stop
outdialctl submit "$T_DIR/b.jsonl" >/dev/null
wait_log 30 "$T_DIR/s1.log" "intake paused" && ok "intake paused while the database is away" || not_ok "paused"
sleep 2
kill -0 "$LAST_PID" && ok "scheduler still running during the outage" || not_ok "scheduler died"
"$OUTDIAL_ROOT/scripts/dev" pg-start
wait_log 60 "$T_DIR/s1.log" "intake resumed" && ok "intake resumed" || not_ok "resumed"
wait_for 60 "SELECT count(*) FROM calls" 2000 || not_ok "all 2000 stored after the outage"
wait_for 60 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained after the outage"
check "one first event per call" "$(sql 'SELECT count(*) FROM call_events')" 2000

kill -TERM "$LAST_PID"
wait "$LAST_PID"; rc=$?
check "SIGTERM exits 0" "$rc" 0
grep -q '"msg":"intake stopped"' "$T_DIR/s1.log" && ok "stopped cleanly" || not_ok "no clean stop"
start_scheduler s2
wait_log 30 "$T_DIR/s2.log" "partitions assigned" || not_ok "restart joined"
sleep 3
kill -TERM "$LAST_PID"; wait "$LAST_PID" || true
check "restarted scheduler re-read nothing (offsets were committed)" \
  "$(grep -c '"msg":"intake stopped","stored":0,"duplicates":0' "$T_DIR/s2.log")" 1
finish
