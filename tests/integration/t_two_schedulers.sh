# Two schedulers in one consumer group share 10,000 requests: both take
# partitions, every request is stored once with one first event.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # what is tested here: intake and its events
t_setup_db
N=10000
gen_requests $N pair > "$T_DIR/req.jsonl"
start_scheduler a
start_scheduler b
wait_log 30 "$T_DIR/a.log" "partitions assigned" || not_ok "a joined"
wait_log 30 "$T_DIR/b.log" "partitions assigned" || not_ok "b joined"
outdialctl submit "$T_DIR/req.jsonl" >/dev/null
stored_once $N
kill -TERM "${T_PIDS[@]}"
wait "${T_PIDS[@]}" 2>/dev/null || true
sa=$(grep -o '"msg":"intake stopped","stored":[0-9]*' "$T_DIR/a.log" | grep -o '[0-9]*$')
sb=$(grep -o '"msg":"intake stopped","stored":[0-9]*' "$T_DIR/b.log" | grep -o '[0-9]*$')
echo "scheduler a stored ${sa:-?}, b stored ${sb:-?}"
check_ge "a did part of the work" "${sa:-0}" 1
check_ge "b did part of the work" "${sb:-0}" 1
check "together exactly all" "$(( ${sa:-0} + ${sb:-0} ))" $N
check "each says it stopped, last" "$(tail -1 "$T_DIR/a.log" | grep -c '"msg":"stopped"') $(tail -1 "$T_DIR/b.log" | grep -c '"msg":"stopped"')" "1 1"
finish
