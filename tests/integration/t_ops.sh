# The ops listeners under a real Prometheus: it scrapes the scheduler and
# the dialer every second while SIPp answers and refuses real calls, and
# PromQL through its HTTP API shows the counters and histograms moving;
# `promtool check metrics` accepts each binary's scrape; /healthz and
# /readyz answer 200 with a line per loop and check.
. "$(dirname "$0")/lib.sh"
# below the ephemeral range (32768-60999) and apart from the SIP ports (20000+)
OPS_BASE=$((10000 + ($$ % 1500) * 4))
SCHED_OPS=$OPS_BASE DIALER_OPS=$((OPS_BASE + 1)) PROM_PORT=$((OPS_BASE + 2)) API_OPS=$((OPS_BASE + 3))
provision_sip "$FIXTURES/dialer.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"

mkdir -p "$T_DIR/prom"
cat > "$T_DIR/prometheus.yml" <<EOF
global: {scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s}
scrape_configs:
  - job_name: scheduler
    static_configs: [{targets: ["127.0.0.1:$SCHED_OPS"]}]
  - job_name: dialer
    static_configs: [{targets: ["127.0.0.1:$DIALER_OPS"]}]
EOF
prometheus --config.file="$T_DIR/prometheus.yml" --storage.tsdb.path="$T_DIR/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$T_DIR/prometheus.log" 2>&1 &
T_PIDS+=("$!")

start_scheduler sched --ops-listen "127.0.0.1:$SCHED_OPS"
start_sip_dialer dialer --ops-listen "127.0.0.1:$DIALER_OPS" --agent-answer-ms 2000
API_PORT=$((16000 + $$ % 4000))
outdial-api --listen "127.0.0.1:$API_PORT" --ops-listen "127.0.0.1:$API_OPS" >>"$T_DIR/api.log" 2>&1 &
T_PIDS+=("$!")

# probe PORT PATH: prints the HTTP status
probe() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1$2" || true; }
# wait_probe SECONDS PORT PATH STATUS
wait_probe() {
  local deadline=$((SECONDS + $1))
  until [ "$(probe "$2" "$3")" = "$4" ]; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done
}
wait_probe 30 "$SCHED_OPS" /readyz 200 && ok "scheduler ready" || not_ok "scheduler ready: $(curl -s "127.0.0.1:$SCHED_OPS/readyz")"
wait_probe 30 "$DIALER_OPS" /readyz 200 && ok "dialer ready" || not_ok "dialer ready: $(curl -s "127.0.0.1:$DIALER_OPS/readyz")"
check "scheduler healthz" "$(probe "$SCHED_OPS" /healthz)" 200
check "dialer healthz" "$(probe "$DIALER_OPS" /healthz)" 200
body=$(curl -s "127.0.0.1:$SCHED_OPS/readyz")
for c in database:intake database:admission database:relay database:reports database:webhooks kafka:intake kafka:reports; do
  grep -qx "ok $c" <<<"$body" && ok "scheduler readiness lists $c" || not_ok "readyz lacks $c: $body"
done
grep -qx "ok intake" <<<"$(curl -s "127.0.0.1:$SCHED_OPS/healthz")" && ok "healthz lists the intake loop" || not_ok "healthz lines"
check "unknown path" "$(probe "$SCHED_OPS" /nope)" 404

# promql EXPR: the first sample's value, or "none"
promql() {
  curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "none")' 2>/dev/null || echo none
}
# wait_promql SECONDS EXPR: until the expression returns a sample (a filter)
wait_promql() {
  local deadline=$((SECONDS + $1))
  until [ "$(promql "$2")" != none ]; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.5; done
}
wait_promql 20 'sum(up) == 2' && ok "Prometheus scrapes both targets" || not_ok "targets up: $(promql 'sum(up)')"

# Calls: 6 answered (the agent hangs up), 4 busy; the carrier acts on the
# number's last two digits (tests/sipp/carrier.xml).
U=$(printf '%03d' $(($$ % 1000)))
{
  for i in 1 2 3 4 5 6; do
    echo "{\"request_id\":\"a$i\",\"org_id\":\"acme\",\"agent_id\":\"hangup\",\"to_number\":\"+1555$U${i}100\"}"
  done
  for i in 1 2 3 4; do
    echo "{\"request_id\":\"b$i\",\"org_id\":\"acme\",\"agent_id\":\"bot\",\"to_number\":\"+1555$U${i}201\"}"
  done
  echo '{"request_id":"bad","org_id":"acme","agent_id":"bot","to_number":"555"}'
} | outdialctl submit - >/dev/null
wait_for 40 "SELECT count(*) FROM calls WHERE status IN ('completed','busy','rejected')" 11 ||
  not_ok "every call ended: $(sql "SELECT string_agg(status, ',') FROM calls")"

# How much a counter moved in the run (exact: no extrapolation).
moved() { echo "max_over_time(($1)[5m:1s]) - min_over_time(($1)[5m:1s])"; }
wait_promql 15 "$(moved 'sum(outdial_dialer_invites_total{leg="callee"})') >= 10" &&
  ok "INVITEs to callees moved by >= 10" || not_ok "INVITEs: $(promql 'sum(outdial_dialer_invites_total)')"
wait_promql 10 "$(moved 'outdial_requests_stored_total') >= 11" &&
  ok "requests stored moved by >= 11" || not_ok "stored: $(promql 'outdial_requests_stored_total')"
wait_promql 10 "$(moved 'outdial_requests_consumed_total') >= 11" && ok "requests consumed moved" || not_ok "consumed"
wait_promql 10 'outdial_requests_rejected_total{code="INVALID_PHONE_NUMBER"} >= 1' &&
  ok "a rejection counted by its code" || not_ok "rejected by code"
wait_promql 10 'outdial_dialer_callee_responses_total{class="2xx"} >= 6' && ok "2xx responses counted" || not_ok "2xx"
wait_promql 10 'outdial_dialer_callee_responses_total{class="4xx"} >= 4' && ok "4xx responses counted" || not_ok "4xx"
wait_promql 10 'outdial_dialer_callee_responses_by_code_total{code="486"} >= 4' && ok "486 counted by code" || not_ok "486"
wait_promql 10 'outdial_dialer_call_setup_seconds_count >= 6' && ok "setup-time histogram counted the answers" ||
  not_ok "setup histogram: $(promql outdial_dialer_call_setup_seconds_count)"
q=$(promql 'histogram_quantile(0.5, sum by (le) (rate(outdial_dialer_call_setup_seconds_bucket[2m])))')
check "a median setup time from the buckets" "$(python3 -c "import sys; v = float(sys.argv[1]) if sys.argv[1] not in ('none', 'NaN') else 0; print(int(0 < v < 60))" "$q")" 1
wait_promql 10 'outdial_intake_batch_duration_seconds_count >= 1' && ok "intake batch histogram" || not_ok "batch histogram"
wait_promql 10 'outdial_admission_round_duration_seconds_count > 0 and outdial_calls_admitted_total >= 10' &&
  ok "admission rounds timed, calls admitted" || not_ok "admission: $(promql outdial_calls_admitted_total)"
wait_promql 10 'outdial_relay_published_total{kind="event"} >= 11 and on() outdial_relay_published_total{kind="dial"} >= 10' &&
  ok "events and dial work published" || not_ok "published"
wait_promql 10 'sum(outdial_dialer_calls_paced_total{trunk="sipp"}) >= 10' && ok "calls paced on trunk sipp" || not_ok "paced"
wait_promql 10 'outdial_dialer_reports_pending == 0 and on() outdial_dialer_draining == 0' && ok "dialer gauges" || not_ok "dialer gauges"
wait_promql 10 'outdial_dialer_agent_responses_total{class="2xx"} >= 6' && ok "agent answers counted" || not_ok "agent responses"
wait_promql 15 'outdial_outbox_rows == 0 and on() outdial_calls_queued{plan="enterprise"} == 0' && ok "database gauges" || not_ok "db gauges"
wait_promql 10 'count(outdial_kafka_consumer_lag_messages) >= 3' && ok "consumer lag per topic" || not_ok "lag: $(promql 'count(outdial_kafka_consumer_lag_messages)')"
for job in scheduler dialer; do
  wait_promql 5 "process_resident_memory_bytes{job=\"$job\"} > 1e6 and on() process_open_fds{job=\"$job\"} > 3 and on() process_cpu_seconds_total{job=\"$job\"} > 0" &&
    ok "$job: process metrics" || not_ok "$job process metrics"
done

curl -s -o /dev/null "127.0.0.1:$API_PORT/v1/calls" # one answer (401), so its histogram has a sample
for p in "$SCHED_OPS" "$DIALER_OPS" "$API_OPS"; do
  curl -s "127.0.0.1:$p/metrics" > "$T_DIR/scrape.$p"
  if promtool check metrics < "$T_DIR/scrape.$p" > "$T_DIR/promtool.$p" 2>&1; then ok "promtool check metrics ($p)"
  else not_ok "promtool ($p): $(head -5 "$T_DIR/promtool.$p")"; fi
done
# every metric deploy/'s alert rules and dashboard use is in these real scrapes
if "$(py_clients)" "$OUTDIAL_ROOT/tests/deploy/metric_exprs.py" "$OUTDIAL_ROOT" "$T_DIR"/scrape.* >"$T_DIR/names.out" 2>&1; then
  ok "the rules' and the dashboard's metrics are all scraped ($(tail -1 "$T_DIR/names.out"))"
else
  not_ok "metrics used by deploy/ and not scraped: $(head -5 "$T_DIR/names.out")"
fi
check "Content-Type of /metrics" "$(curl -s -o /dev/null -w '%{content_type}' "127.0.0.1:$SCHED_OPS/metrics")" \
  "text/plain; version=0.0.4; charset=utf-8"
finish
