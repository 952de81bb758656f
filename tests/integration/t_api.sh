# outdial-api end to end, with curl and with Python's requests as two
# independent HTTP clients, against real PostgreSQL and Kafka: API keys
# (create, list, revoke; both headers), POST /v1/calls answered with the
# call_id that the calls row and the events topic then carry (and that
# anyone can compute: UUID v5 of org_id NUL request_id), idempotent
# retries, intake's rejection codes answered at once, cross-org isolation,
# 413, cancel of a queued call, 404/405, graceful SIGTERM.
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # calls stay queued: nothing admits them
t_setup_db
start_scheduler sched
API_PORT=$((12000 + $$ % 8000)) # below the SIP tests' ports and the ephemeral range
BASE="http://127.0.0.1:$API_PORT"
API_OPS=$((API_PORT + 2))
outdial-api --listen "127.0.0.1:$API_PORT" --ops-listen "127.0.0.1:$API_OPS" >>"$T_DIR/api.log" 2>&1 &
API_PID=$!
T_PIDS+=("$API_PID")
wait_log 20 "$T_DIR/api.log" '"listening"' || not_ok "outdial-api listens"
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined its group"

# ---- keys ----
out=$(outdialctl keys create --org acme --name ci)
KEY_A=$(echo "$out" | tail -1)
check "the key alone on the last line" "$(echo "$KEY_A" | grep -cE '^od_[0-9A-Za-z]{40}$')" 1
KEY_B=$(outdialctl keys create --org tiny | tail -1)
OLD=$(outdialctl keys create --org acme --name old | tail -1)
check "only hashes stored" "$(sql "SELECT count(*) FROM api_keys WHERE hash = encode(sha256('$KEY_A'), 'hex')")" 1
check "no key in the table" "$(sql "SELECT count(*) FROM api_keys WHERE hash LIKE 'od_%' OR name LIKE 'od_%'")" 0
list=$(outdialctl keys list --org acme)
check "keys list shows the org's keys" "$(echo "$list" | grep -c ' acme ')" 2
check "keys list never shows a key" "$(echo "$list" | grep -c "$KEY_A")" 0
old_id=$(sql "SELECT id FROM api_keys WHERE name = 'old'")
outdialctl keys revoke "$old_id" >/dev/null
check "revoked key: 401" "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $OLD" "$BASE/v1/calls/$old_id")" 401
check "no key: 401" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$BASE/v1/calls" -d '{}')" 401
body=$(curl -s -H 'Authorization: Bearer od_nonsense' "$BASE/v1/calls/$old_id")
check "bad key: error body with its code" "$(echo "$body" | grep -c '"code":"UNAUTHORIZED"')" 1

# ---- POST with curl (Bearer), then the row and the event carry its call_id ----
post() { # post KEY_HEADER BODY [extra curl args]: prints "STATUS BODY"
  curl -s -w ' %{http_code}' -X POST "$BASE/v1/calls" -H "Content-Type: application/json" \
    -H "$1" -d "$2" "${@:3}"
}
r=$(post "Authorization: Bearer $KEY_A" '{"request_id":"c-1","agent_id":"support-bot","to_number":"+442071838750","metadata":{"lead":7}}')
check "POST answers 202" "${r##* }" 202
cid=$(echo "${r% *}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
want=$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid5(uuid.UUID("6f403f91-02ae-4c8f-88c5-83d2d9b9860a"), "acme\0c-1"))')
check "call_id is UUID v5 of (org_id, request_id)" "$cid" "$want"
wait_for 20 "SELECT call_id FROM calls WHERE org_id='acme' AND request_id='c-1'" "$cid" ||
  not_ok "the calls row has the answered call_id"
check "stored queued" "$(status acme c-1)" queued
wait_for 20 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
check "the call.queued event carries it" \
  "$(read_events | awk -F'\t' -v id="$cid" '$1 == id' | grep -c "\"call_id\":\"$cid\".*\"type\":\"call.queued\"\|\"type\":\"call.queued\".*\"call_id\":\"$cid\"")" 1

# A request sent to Kafka (outdialctl submit) gets the same kind of id.
outdialctl submit --org acme --agent support-bot --to +442071838760 --request-id k-1 >/dev/null
wait_status 20 acme k-1 queued || not_ok "kafka request stored"
check "same call_id rule over Kafka" "$(call_field acme k-1 call_id)" \
  "$(/usr/bin/python3 -c 'import uuid; print(uuid.uuid5(uuid.UUID("6f403f91-02ae-4c8f-88c5-83d2d9b9860a"), "acme\0k-1"))')"

# ---- the same with Python requests (x-api-key), an independent client ----
/usr/bin/python3 - "$BASE" "$KEY_A" "$KEY_B" "$cid" > "$T_DIR/py.out" 2>&1 <<'PY' || not_ok "python client: $(tail -3 "$T_DIR/py.out")"
import sys, uuid, requests
base, key_a, key_b, cid = sys.argv[1:5]
A = {"x-api-key": key_a}
B = {"Authorization": "Bearer " + key_b}
ns = uuid.UUID("6f403f91-02ae-4c8f-88c5-83d2d9b9860a")
def expect(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
body = {"agent_id": "support-bot", "to_number": "+442071838751"}
r1 = requests.post(base + "/v1/calls", json=body, headers={**A, "Idempotency-Key": "idem-1"})
r2 = requests.post(base + "/v1/calls", json=body, headers={**A, "Idempotency-Key": "idem-1"})
expect(r1.status_code == 202 and r2.status_code == 202, "idempotent POSTs answered 202")
expect(r1.json()["call_id"] == r2.json()["call_id"] == str(uuid.uuid5(ns, "acme\0idem-1")),
       "a retried POST returns the same call_id")
r = requests.post(base + "/v1/calls", json=body, headers=A)
expect(r.status_code == 202 and uuid.UUID(r.json()["request_id"]).version == 4,
       "no Idempotency-Key: a request_id is made and returned")
r = requests.post(base + "/v1/calls", json={**body, "to_number": "0044"}, headers=A)
expect(r.status_code == 400 and r.json()["code"] == "INVALID_PHONE_NUMBER"
       and set(r.json()) == {"error", "code", "details"}, "bad E.164: 400 INVALID_PHONE_NUMBER")
r = requests.post(base + "/v1/calls", json={**body, "ringing_timeout_seconds": 500}, headers=A)
expect(r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", "bad field: 400 INVALID_REQUEST")
r = requests.post(base + "/v1/calls", json={**body, "agent_id": "ghost"}, headers=A)
expect(r.status_code == 404 and r.json()["code"] == "AGENT_NOT_FOUND", "unknown agent: 404")
r = requests.post(base + "/v1/calls", json={**body, "from_number": "+14155550999"}, headers=A)
expect(r.status_code == 403 and r.json()["code"] == "NUMBER_NOT_OWNED", "number not owned: 403")
r = requests.post(base + "/v1/calls", json={**body, "from_number": "+14155550101"}, headers=A)
expect(r.status_code == 403 and r.json()["code"] == "OUTBOUND_DISABLED", "outbound disabled: 403")
r = requests.post(base + "/v1/calls", json={**body, "org_id": "tiny"}, headers=A)
expect(r.status_code == 403, "another org_id in the body: 403")
r = requests.post(base + "/v1/calls", data="not json", headers=A)
expect(r.status_code == 400 and r.json()["code"] == "INVALID_REQUEST", "not JSON: 400")
r = requests.post(base + "/v1/calls", data="x" * 300000, headers=A)
expect(r.status_code == 413, "oversize body: 413")
# Cross-org: org B's key can neither read nor cancel org A's call.
r = requests.get(base + "/v1/calls/" + cid, headers=B)
expect(r.status_code == 404 and cid not in r.text, "org B cannot GET org A's call")
r = requests.post(base + "/v1/calls/" + cid + "/cancel", headers=B)
expect(r.status_code == 404, "org B cannot cancel org A's call")
r = requests.get(base + "/v1/calls/" + str(uuid.uuid5(ns, "tiny\0c-1")), headers=B)
expect(r.status_code == 404, "an id that exists for no call: 404")
r = requests.get(base + "/v1/calls/" + cid, headers=A)
c = r.json()
expect(r.status_code == 200 and c["call_id"] == cid and c["status"] == "queued"
       and c["metadata"] == {"lead": 7} and c["request_id"] == "c-1"
       and "billable_seconds" in c and "cost_millicents" in c, "org A GETs its call")
r = requests.get(base + "/v1/nope", headers=A)
expect(r.status_code == 404 and r.json()["code"] == "NOT_FOUND", "unknown route: 404 JSON")
r = requests.delete(base + "/v1/calls/" + cid, headers=A)
expect(r.status_code == 405 and r.headers.get("Allow") == "GET", "wrong method: 405 with Allow")
PY
cat "$T_DIR/py.out"
T_PASS=$((T_PASS + $(grep -c '^ok: ' "$T_DIR/py.out" || true)))
T_FAIL=$((T_FAIL + $(grep -c '^FAILED: ' "$T_DIR/py.out" || true)))

wait_for 20 "SELECT count(*) FROM calls WHERE org_id='acme' AND request_id='idem-1'" 1 ||
  not_ok "idem-1 stored"
sleep 1
check "two POSTs with one Idempotency-Key: one row" \
  "$(sql "SELECT count(*) FROM calls WHERE request_id='idem-1'")" 1
check "a request twice in one intake batch is stored once, the batch not refused" \
  "$(cat "$T_DIR"/sched*.log | grep -c 'batch refused' || true)" 0
check "nothing stored for refused requests" "$(sql "SELECT count(*) FROM calls WHERE status = 'rejected'")" 0

# ---- 413 with curl; cancel of a queued call ----
head -c 300000 /dev/zero | tr '\0' x > "$T_DIR/big"
check "oversize body (curl): 413" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "x-api-key: $KEY_A" --data-binary @"$T_DIR/big" "$BASE/v1/calls")" 413
r=$(curl -s -w ' %{http_code}' -X POST -H "x-api-key: $KEY_A" "$BASE/v1/calls/$cid/cancel")
check "cancel answered 202" "${r##* }" 202
wait_status 20 acme c-1 canceled || not_ok "the queued call ends canceled"
r=$(curl -s -w ' %{http_code}' -X POST -H "x-api-key: $KEY_A" "$BASE/v1/calls/$cid/cancel")
check "cancel of an ended call: 409" "${r##* }" 409
check "GET shows it canceled" "$(curl -s -H "x-api-key: $KEY_A" "$BASE/v1/calls/$cid" | grep -c '"status":"canceled"')" 1

# ---- accepted but not stored yet: queued, not 404; its cancel still works ----
kill -TERM "$LAST_PID"; wait "$LAST_PID" 2>/dev/null || true # the scheduler: nothing is stored now
r=$(post "x-api-key: $KEY_A" '{"request_id":"late-1","agent_id":"support-bot","to_number":"+442071838770"}')
late=$(echo "${r% *}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
check "not stored yet" "$(sql "SELECT count(*) FROM calls WHERE request_id='late-1'")" 0
check "GET of an accepted call not stored yet: queued" \
  "$(curl -s -w ' %{http_code}' -H "x-api-key: $KEY_A" "$BASE/v1/calls/$late" | tr -d '\n' | grep -c '"status":"queued".* 200$')" 1
check "... and still not for another org" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY_B" "$BASE/v1/calls/$late")" 404
check "its cancel is accepted" \
  "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "x-api-key: $KEY_A" "$BASE/v1/calls/$late/cancel")" 202
start_scheduler sched2
wait_status 30 acme late-1 canceled || not_ok "stored, then canceled, in order"

# ---- the broker away: 503 with Retry-After, nothing stored ----
DOWN_PORT=$((API_PORT + 1))
DOWN_OPS=$((API_PORT + 3))
outdial-api --listen "127.0.0.1:$DOWN_PORT" --kafka-brokers 127.0.0.1:9 --kafka-wait-ms 500 \
  --ops-listen "127.0.0.1:$DOWN_OPS" >>"$T_DIR/api_down.log" 2>&1 &
T_PIDS+=("$!")
wait_log 20 "$T_DIR/api_down.log" '"listening"' || not_ok "second outdial-api listens"
curl -s -D "$T_DIR/down.h" -o "$T_DIR/down.b" -X POST -H "x-api-key: $KEY_A" \
  -d '{"request_id":"down-1","agent_id":"support-bot","to_number":"+442071838780"}' \
  "http://127.0.0.1:$DOWN_PORT/v1/calls"
check "no broker: 503" "$(head -1 "$T_DIR/down.h" | cut -d' ' -f2)" 503
check "... with Retry-After" "$(grep -ci '^Retry-After: ' "$T_DIR/down.h")" 1
check "... and its code" "$(grep -c '"code":"SERVICE_UNAVAILABLE"' "$T_DIR/down.b")" 1
check "no broker: alive, not ready, and /readyz says why" \
  "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$DOWN_OPS/healthz") $(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$DOWN_OPS/readyz") $(curl -s "127.0.0.1:$DOWN_OPS/readyz" | grep -c '^fail kafka:api')" "200 503 1"

# ---- its ops listener: probes, and metrics that promtool accepts ----
check "healthz, readyz" "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$API_OPS/healthz") $(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$API_OPS/readyz")" "200 200"
curl -s "127.0.0.1:$API_OPS/metrics" >"$T_DIR/metrics.txt"
promtool check metrics <"$T_DIR/metrics.txt" >"$T_DIR/promtool.out" 2>&1 && ok "promtool check metrics" ||
  not_ok "promtool check metrics: $(head -3 "$T_DIR/promtool.out")"
check "answers counted: 2xx and 4xx, and their durations" \
  "$(awk '/^outdial_api_responses_total\{class="2xx"\}/ { a = $2 > 0 } /^outdial_api_responses_total\{class="4xx"\}/ { b = $2 > 0 }
          /^outdial_api_request_duration_seconds_count/ { c = $2 > 0 } END { print a + b + c }' "$T_DIR/metrics.txt")" 3

# ---- graceful stop ----
kill -TERM "$API_PID"
for _ in $(seq 1 50); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$API_PID" 2>/dev/null; then not_ok "SIGTERM stops outdial-api"; else ok "SIGTERM stops outdial-api"; fi
check "it said so" "$(grep -c '"stopped"' "$T_DIR/api.log")" 1
finish
