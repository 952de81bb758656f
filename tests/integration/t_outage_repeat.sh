# Ten PostgreSQL outages in a row: after each, a request submitted during
# the outage is stored, its event published, it is admitted, dialed
# (fake dialer), its reports applied and its webhooks delivered, so every
# role (intake, admission, reports, relay, webhooks) came back each time.
# Nothing grows per outage: the scheduler's open files and database
# connections after the last outage are no more than after the first.
. "$(dirname "$0")/lib.sh"
PORT=$((SIP_BASE + 3))
OUTAGES=${OUTAGES:-10}
cat > "$T_DIR/prov.json" <<EOF
{"trunks": [{"id": "t", "proxy": "sip:127.0.0.1:5090", "cps": 1000, "max_concurrent": 1000}],
 "rates": [{"prefix": "+1", "millicents_per_minute": 1200, "increment_seconds": 6}],
 "orgs": [{"id": "acme", "plan": "enterprise", "balance_millicents": 100000000,
   "webhook_url": "http://127.0.0.1:$PORT/ok", "webhook_secret": "s3cret",
   "numbers": [{"e164": "+15550000001", "trunk": "t"}],
   "agents": [{"id": "a", "sip_uri": "sip:a@127.0.0.1", "default_from": "+15550000001"}]}]}
EOF
t_setup_db "$T_DIR/prov.json"
"$OUTDIAL_BIN/webhook_receiver" --port "$PORT" --secret s3cret > "$T_DIR/hooks.out" 2> "$T_DIR/receiver.log" &
T_PIDS+=("$!")
export OUTDIAL_WEBHOOK_ALLOW_PRIVATE=true
start_scheduler sched
SCHED=$LAST_PID
start_dialer dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"

fds() { ls "/proc/$SCHED/fd" | wc -l; }
conns() {
  psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qtAX -c \
    "SELECT count(*) FROM pg_stat_activity WHERE datname = 'od_$T_ID' AND application_name LIKE 'outdial-%'"
}
# one_call N: a request for call N goes all the way, webhooks included.
one_call() {
  wait_status 60 acme "r-$1" completed || { not_ok "outage $1: r-$1 completed"; return 1; }
  wait_for 30 "SELECT count(*) FROM outbox" 0 || { not_ok "outage $1: events published"; return 1; }
  wait_for 30 "SELECT w.status FROM call_webhooks w JOIN calls c USING (call_id) WHERE c.request_id = 'r-$1'" delivered ||
    { not_ok "outage $1: webhooks delivered"; return 1; }
  return 0
}

req acme r-0 +15551110000 | outdialctl submit - >/dev/null
one_call 0 && ok "before any outage: a call goes all the way"
conns0=$(conns)
working=0
for i in $(seq 1 "$OUTAGES"); do
  "$OUTDIAL_ROOT/scripts/dev" pg-stop
  req acme "r-$i" "+1555111$(printf %04d "$i")" | outdialctl submit - >/dev/null
  sleep 1
  kill -0 "$SCHED" || { not_ok "outage $i: scheduler died"; break; }
  "$OUTDIAL_ROOT/scripts/dev" pg-start
  one_call "$i" || break
  working=$i
  sleep 2 # let every loop reconnect before counting
  echo "outage $i: fds $(fds) connections $(conns) rss_kb $(awk '/VmRSS/ {print $2}' "/proc/$SCHED/status")"
  [ "$i" = 1 ] && { fds1=$(fds); conns1=$(conns); }
done
check "every role worked after each of $OUTAGES outages" "$working" "$OUTAGES"
if [ "$working" = "$OUTAGES" ]; then
  fdsn=$(fds) connsn=$(conns)
  check "open files did not grow ($fds1 after the first outage, $fdsn after the last)" "$((fdsn <= fds1))" 1
  check "connections did not grow ($conns0 before, $conns1 after the first, $connsn after the last)" \
    "$((connsn <= conns0 && conns1 <= conns0))" 1
fi
check "one call per request" "$(sql "SELECT count(*) FROM calls WHERE status = 'completed'")" "$((working + 1))"
check "intake paused and resumed once per outage" "$(grep -c "\"msg\":\"database back: intake resumed\"" "$T_DIR/sched.log")" "$OUTAGES"
audit_ok
finish
