# The probes across trouble: while PostgreSQL is stopped the scheduler is
# alive but not ready (/healthz 200, /readyz 503 naming the database), and
# ready again once it is back; a draining dialer keeps answering its
# probes (/healthz 200, /readyz 503 "draining") and says so in /metrics.
. "$(dirname "$0")/lib.sh"
# below the ephemeral range (32768-60999) and apart from the SIP ports (20000+)
OPS_BASE=$((10000 + ($$ % 1500) * 4))
SCHED_OPS=$OPS_BASE DIALER_OPS=$((OPS_BASE + 1))
API_PORT=$((16000 + $$ % 4000)) API_OPS=$((OPS_BASE + 2))
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
# A loop stuck for 5 s would fail /healthz: waiting out the outage must not.
start_scheduler sched --ops-listen "127.0.0.1:$SCHED_OPS" --ops-stale-seconds 5
start_sip_dialer dialer --ops-listen "127.0.0.1:$DIALER_OPS" --ops-stale-seconds 5 --drain-seconds 20
DIALER=$LAST_PID
outdial-api --listen "127.0.0.1:$API_PORT" --ops-listen "127.0.0.1:$API_OPS" >>"$T_DIR/api.log" 2>&1 &
T_PIDS+=("$!")
KEY=$(outdialctl keys create --org acme | tail -1)

probe() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2" || true; }
wait_probe() {
  local deadline=$((SECONDS + $1))
  until [ "$(probe "$2" "$3")" = "$4" ]; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done
}
wait_probe 30 "$SCHED_OPS" /readyz 200 && ok "scheduler ready" || not_ok "scheduler ready"
wait_probe 30 "$DIALER_OPS" /readyz 200 && ok "dialer ready" || not_ok "dialer ready"

# --- PostgreSQL stops: alive, not ready; back: ready -------------------------
"$OUTDIAL_ROOT/scripts/dev" pg-stop
restart_pg() { "$OUTDIAL_ROOT/scripts/dev" pg-start >/dev/null 2>&1 || true; }
trap 'restart_pg; t_cleanup' EXIT
wait_probe 15 "$SCHED_OPS" /readyz 503 && ok "not ready while PostgreSQL is down" || not_ok "readyz during the outage"
body=$(curl -s --max-time 2 "127.0.0.1:$SCHED_OPS/readyz")
grep -q "^fail database:" <<<"$body" && ok "readyz names the database" || not_ok "readyz body: $body"
grep -q "^fail kafka" <<<"$body" && not_ok "Kafka blamed: $body" || ok "Kafka still fine"
bad=0
for i in $(seq 1 16); do # 8 s down, longer than the stale threshold
  [ "$(probe "$SCHED_OPS" /healthz)" = 200 ] || bad=$((bad + 1))
  sleep 0.5
done
check "healthz 200 throughout the outage" "$bad" 0
check "the dialer (no database) stays ready" "$(probe "$DIALER_OPS" /readyz)" 200
check "the API, asked for a call meanwhile: 503" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "x-api-key: $KEY" \
  -d '{"request_id":"pg-down","agent_id":"bot","to_number":"+15557771210"}' "http://127.0.0.1:$API_PORT/v1/calls")" 503
grep -q "^fail database:api" <<<"$(curl -s --max-time 2 "127.0.0.1:$API_OPS/readyz")" && ok "the API's readyz names the database" ||
  not_ok "the API's readyz during the outage: $(curl -s "127.0.0.1:$API_OPS/readyz")"
m=$(curl -s "127.0.0.1:$SCHED_OPS/metrics")
grep -q '^outdial_ready 0$' <<<"$m" && ok "outdial_ready 0 in /metrics" || not_ok "outdial_ready gauge"
restart_pg
wait_probe 25 "$SCHED_OPS" /readyz 200 && ok "ready again once PostgreSQL is back" ||
  not_ok "readyz after the outage: $(curl -s "127.0.0.1:$SCHED_OPS/readyz")"
check "healthz after" "$(probe "$SCHED_OPS" /healthz)" 200
# no request reaches an unready API replica (its Service leaves it out): it
# must find out by itself that the database is back
wait_probe 15 "$API_OPS" /readyz 200 && ok "the API ready again with no request" ||
  not_ok "the API's readyz after the outage: $(curl -s "127.0.0.1:$API_OPS/readyz")"

# --- the dialer drains with a live call: probes keep answering -------------
echo '{"request_id":"long","org_id":"acme","agent_id":"bot","to_number":"+15557771209","max_duration_seconds":60}' |
  outdialctl submit - >/dev/null
wait_status 20 acme long in_progress || not_ok "a live call"
kill -TERM "$DIALER"
wait_probe 5 "$DIALER_OPS" /readyz 503 && ok "draining dialer: not ready" || not_ok "readyz while draining"
grep -q "^fail not_draining: draining" <<<"$(curl -s "127.0.0.1:$DIALER_OPS/readyz")" && ok "readyz says draining" ||
  not_ok "readyz body while draining"
bad=0
for i in $(seq 1 12); do # 6 s of drain
  [ "$(probe "$DIALER_OPS" /healthz)" = 200 ] || bad=$((bad + 1))
  sleep 0.5
done
check "draining dialer: healthz 200 throughout" "$bad" 0
m=$(curl -s "127.0.0.1:$DIALER_OPS/metrics")
grep -q '^outdial_dialer_draining 1$' <<<"$m" && ok "outdial_dialer_draining 1" || not_ok "draining gauge"
grep -q '^outdial_dialer_calls_up 1$' <<<"$m" && ok "the live call is up" || not_ok "calls_up: $(grep calls_up <<<"$m")"
check "the call is still live" "$(status acme long)" in_progress
kill -TERM "$DIALER" # a second signal ends the drain
wait "$DIALER"; check "the dialer exits 0" "$?" 0
check "its listener is gone" "$(probe "$DIALER_OPS" /healthz)" 000
finish
