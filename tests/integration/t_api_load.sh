# outdial-api's hot path against real PostgreSQL and Kafka: API keys and
# provisioning are served from memory, yet a key revoked or a number
# disabled with outdialctl is refused at once (NOTIFY, with a cache far
# longer than the test); and many keep-alive connections at once (wrk, more
# than the server has threads by two orders of magnitude) are all answered
# 202 after the broker's ack, every accepted request on the topic once.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # calls stay queued: nothing admits them
t_setup_db
start_scheduler sched
API_PORT=$((12000 + ($$ + 4000) % 8000))
BASE="http://127.0.0.1:$API_PORT"
outdial-api --listen "127.0.0.1:$API_PORT" --cache-seconds 600 --threads 2 --rate-per-key 1000000 >>"$T_DIR/api.log" 2>&1 &
API_PID=$!
T_PIDS+=("$API_PID")
wait_log 20 "$T_DIR/api.log" '"listening"' || not_ok "outdial-api listens"
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined its group"
KEY=$(outdialctl keys create --org acme --name load | tail -1)
OTHER=$(outdialctl keys create --org acme --name other | tail -1)

post() { # post KEY BODY: prints the status code
  curl -s -o "$T_DIR/post.out" -w '%{http_code}' -X POST "$BASE/v1/calls" -H "x-api-key: $1" -d "$2"
}
# until_code SECONDS WANT CMD...: retries CMD (a status code) until WANT.
until_code() {
  local deadline=$((SECONDS + $1)) want=$2 got; shift 2
  while :; do
    got=$("$@")
    [ "$got" = "$want" ] || [ $SECONDS -ge $deadline ] && break
    sleep 0.1
  done
  echo "$got"
}

# ---- a cached key, revoked: refused at once ----
check "the key works" "$(post "$KEY" '{"request_id":"k-1","agent_id":"support-bot","to_number":"+12125550101"}')" 202
check "... and again (from the cache)" "$(post "$KEY" '{"request_id":"k-2","agent_id":"support-bot","to_number":"+12125550102"}')" 202
id=$(sql "SELECT id FROM api_keys WHERE name = 'load'")
outdialctl keys revoke "$id" >/dev/null
t0=$SECONDS
check "revoked: 401 within 2 s, with a 600 s cache" \
  "$(until_code 2 401 post "$KEY" '{"request_id":"k-3","agent_id":"support-bot","to_number":"+12125550103"}')" 401
check "another key of the org still works" "$(post "$OTHER" '{"request_id":"k-4","agent_id":"support-bot","to_number":"+12125550104"}')" 202

# ---- provisioning changed: the next request sees it ----
body='{"request_id":"p-1","agent_id":"support-bot","to_number":"+12125550105","from_number":"+14155550100"}'
check "an enabled caller ID: 202" "$(post "$OTHER" "$body")" 202
sed 's/"e164": "+14155550100", "trunk": "carrier-a", "outbound_enabled": true/"e164": "+14155550100", "trunk": "carrier-a", "outbound_enabled": false/' \
  "$FIXTURES/provisioning.json" > "$T_DIR/prov_off.json"
grep -q '"+14155550100", "trunk": "carrier-a", "outbound_enabled": false' "$T_DIR/prov_off.json" || not_ok "fixture edited"
outdialctl apply "$T_DIR/prov_off.json" >/dev/null
check "disabled with outdialctl apply: 403 within 2 s" \
  "$(until_code 2 403 post "$OTHER" "${body/p-1/p-2}")" 403
check "... OUTBOUND_DISABLED" "$(grep -c '"code":"OUTBOUND_DISABLED"' "$T_DIR/post.out")" 1
outdialctl apply "$FIXTURES/provisioning.json" >/dev/null
check "enabled again: 202 within 2 s" "$(until_code 2 202 post "$OTHER" "${body/p-1/p-3}")" 202

# ---- 512 keep-alive connections on 2 threads, each POST answered after the ack ----
cat > "$T_DIR/post.lua" <<LUA
local n, threads = 0, {}
-- setup() runs in the main state and sets the global tid of each thread's own
function setup(t) t:set("tid", #threads + 1); table.insert(threads, t) end
function request()
  n = n + 1
  return wrk.format("POST", "/v1/calls", {["x-api-key"] = "$OTHER"},
    string.format('{"request_id":"w-%d-%d","agent_id":"support-bot","to_number":"+1212%07d"}', tid, n, n))
end
function done(s, latency, requests)
  local e = s.errors
  io.write(string.format("RESULT %d %d %d\n", s.requests, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA
read -r _ answers non2xx errs < <(wrk -t2 -c512 -d3s --timeout 10s -s "$T_DIR/post.lua" "$BASE/v1/calls" | grep '^RESULT')
check_ge "answers to 512 connections in 3 s" "$answers" 512
check "every answer 202" "$non2xx" 0
check "no socket errors" "$errs" 0
check_ge "the server still answers after the run" "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz-none")" 404
accepted=$((answers - non2xx))
# Read by kcat, an independent client. Requests in flight when wrk stopped
# were produced but not counted: at least as many as accepted.
kcat -C -b "$OUTDIAL_KAFKA_BROKERS" -t "$OUTDIAL_TOPIC_REQUESTS" -o beginning -e -q -f '%k\n' 2>/dev/null |
  grep ':w-' > "$T_DIR/keys" || true
check_ge "every accepted request on the topic" "$(wc -l < "$T_DIR/keys")" "$accepted"
check "none on it twice" "$(sort "$T_DIR/keys" | uniq -d | wc -l)" 0
# (p-* may be: the API and the scheduler each see a provisioning change when NOTIFY reaches them)
check "none of them refused by intake so far" "$(sql "SELECT count(*) FROM calls WHERE status = 'rejected' AND request_id LIKE 'w-%'")" 0

kill -TERM "$API_PID"
for _ in $(seq 1 100); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$API_PID" 2>/dev/null; then not_ok "SIGTERM stops outdial-api"; else ok "SIGTERM stops outdial-api"; fi
finish
