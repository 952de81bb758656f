# outdial-api beyond POST/GET/cancel of one call, against real PostgreSQL
# and Kafka: GET /v1/calls (every filter; pages with no duplicate and no
# gap, stable when a call is stored between two pages), GET
# /v1/calls/{id}/events, POST /v1/calls/batch with good and bad items,
# each seed's own documented request (copied from ../shared/seeds with
# only the base URL and key changed) against its route, 402 from
# admission's hold rule, 429 with Retry-After per key, one org never
# seeing another's calls; then schemathesis against the live server from
# schemas/openapi.yaml (no 5xx, no answer outside the schema) and
# openapi-spec-validator, from the tests' venv (tests/requirements.txt).
. "$(dirname "$0")/lib.sh"
export OUTDIAL_ROLES=intake,relay # calls stay queued: nothing admits them
t_setup_db "$FIXTURES/provisioning_api.json"
start_scheduler sched
API_PORT=$((12000 + $$ % 8000))
BASE="http://127.0.0.1:$API_PORT"
outdial-api --listen "127.0.0.1:$API_PORT" >>"$T_DIR/api.log" 2>&1 &
API_PID=$!
T_PIDS+=("$API_PID")
wait_log 20 "$T_DIR/api.log" '"listening"' || not_ok "outdial-api listens"
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined its group"
KEY=$(outdialctl keys create --org acme | tail -1)
KEY_B=$(outdialctl keys create --org beta | tail -1)
KEY_T=$(outdialctl keys create --org tiny | tail -1)

# ---- the seeds' own samples, with curl ----
# KrosAI (001, "Request"): x-api-key
r=$(curl -s -w ' %{http_code}' -X POST "$BASE/v1/outbound-calls" \
  -H "x-api-key: $KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "from_number": "+2348012345678",
    "to_number": "+14155551234",
    "endpoint_id": "ep_abc123",
    "metadata": {
      "customer_id": "cust_xyz",
      "campaign": "follow-up-q1"
    }
  }')
check "KrosAI curl sample: 200" "${r##* }" 200
check "... with its response's fields" "$(echo "${r% *}" | /usr/bin/python3 -c '
import json, sys; d = json.load(sys.stdin)
print(all(k in d for k in ("call_id", "status", "from_number", "to_number", "endpoint_id", "created_at")),
      d["endpoint_id"], d["from_number"])')" "True ep_abc123 +2348012345678"
kros_id=$(echo "${r% *}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')
# Pathors (002, "Example"): Bearer
r=$(curl -s -w ' %{http_code}' -X POST "$BASE/v1/calls/outbound" \
  -H "Authorization: Bearer $KEY" \
  -H "Content-Type: application/json" \
  -d '{
    "projectId": "proj_abc123",
    "fromNumber": "+886912345678",
    "toNumber": "+886987654321",
    "dynamicVariables": {
      "customerName": "Jane Doe",
      "orderId": "12345"
    }
  }')
check "Pathors curl sample: 200 {\"success\": true}" "${r##* } $(echo "${r% *}" | grep -c '"success":true')" "200 1"
path_id=$(echo "${r% *}" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["call_id"])')

# ---- the rest with Python requests ----
/usr/bin/python3 - "$BASE" "$KEY" "$KEY_B" "$KEY_T" "$kros_id" "$path_id" "$OUTDIAL_PG_DSN" \
  >"$T_DIR/py.out" 2>&1 <<'PY' || not_ok "python client: $(tail -3 "$T_DIR/py.out")"
import sys, os, time, uuid, subprocess, requests
base, key, key_b, key_t, kros_id, path_id, dsn = sys.argv[1:8]
A = {"x-api-key": key}
B = {"Authorization": "Bearer " + key_b}
T = {"Authorization": "Bearer " + key_t}
ns = uuid.UUID("6f403f91-02ae-4c8f-88c5-83d2d9b9860a")
def expect(cond, what):
    print(("ok: " if cond else "FAILED: ") + what, flush=True)
def sql(q):
    return subprocess.run(["psql", dsn, "-qtAX", "-c", q], capture_output=True, text=True).stdout.strip()
def wait_sql(q, want, secs=20):
    end = time.time() + secs
    while time.time() < end:
        if sql(q) == want:
            return True
        time.sleep(0.2)
    return False

# KrosAI's Python sample (001, "outbound.py"), the URL and key changed.
os.environ["KROSAI_API_KEY"] = key
def initiate_outbound_call(
    from_number: str,
    to_number: str,
    endpoint_id: str,
    metadata: dict = None,
    max_duration: int = None
):
    payload = {
        'from_number': from_number,
        'to_number': to_number,
        'endpoint_id': endpoint_id
    }

    if metadata:
        payload['metadata'] = metadata
    if max_duration:
        payload['max_duration'] = max_duration

    response = requests.post(
        base + '/v1/outbound-calls',
        headers={
            'x-api-key': os.environ['KROSAI_API_KEY'],
            'Content-Type': 'application/json'
        },
        json=payload
    )

    if not response.ok:
        error = response.json()
        raise Exception(f"Call failed: {error['code']} - {error['error']}")

    return response.json()

call = initiate_outbound_call(
    from_number='+2348012345678',
    to_number='+14155551234',
    endpoint_id='ep_abc123',
    metadata={
        'customer_id': 'cust_123',
        'campaign': 'welcome-series'
    }
)
expect(uuid.UUID(call['call_id']).version == 5, "KrosAI Python sample: a call_id")
# KrosAI's max_duration.json
r = requests.post(base + "/v1/outbound-calls", headers=A, json={
  "from_number": "+2348012345678",
  "to_number": "+14155551234",
  "endpoint_id": "ep_abc123",
  "max_duration": 600
})
expect(r.status_code == 200, "KrosAI max_duration sample: 200")
r = requests.post(base + "/v1/outbound-calls", headers=A, json={
    "from_number": "+2348012345678", "to_number": "4155551234", "endpoint_id": "ep_abc123"})
expect(r.status_code == 400 and r.json()["code"] == "INVALID_PHONE_NUMBER"
       and r.json()["details"] == {"field": "to_number"}, "KrosAI bad number: 400 as its error sample")
r = requests.post(base + "/v1/outbound-calls", headers=A, json={
    "from_number": "+2348012345678", "to_number": "+14155551234", "endpoint_id": "ep_nope"})
expect(r.status_code == 404 and r.json()["code"] == "ENDPOINT_NOT_FOUND", "KrosAI unknown endpoint: 404 ENDPOINT_NOT_FOUND")
r = requests.post(base + "/v1/outbound-calls", headers=A, json={
    "from_number": "+14155550999", "to_number": "+14155551234", "endpoint_id": "ep_abc123"})
expect(r.status_code == 400 and r.json()["code"] == "NUMBER_NOT_OWNED", "KrosAI number not owned: 400")
r = requests.post(base + "/v1/outbound-calls", headers=A, json={
    "from_number": "+14155550101", "to_number": "+14155551234", "endpoint_id": "ep_abc123"})
expect(r.status_code == 403 and r.json()["code"] == "OUTBOUND_DISABLED", "KrosAI outbound disabled: 403")
r = requests.post(base + "/v1/outbound-calls", headers={**A, "x-organization-id": "beta"}, json={
    "from_number": "+2348012345678", "to_number": "+14155551234", "endpoint_id": "ep_abc123"})
expect(r.status_code == 403, "KrosAI x-organization-id of another org: 403")
# Pathors' refusals
r = requests.post(base + "/v1/calls/outbound", headers=A, json={
    "projectId": "proj_nope", "fromNumber": "+886912345678", "toNumber": "+886987654321"})
expect(r.status_code == 403 and r.json()["success"] is False, "Pathors unknown project: 403")
r = requests.post(base + "/v1/calls/outbound", headers=A, json={
    "projectId": "proj_abc123", "fromNumber": "+14155550101", "toNumber": "+886987654321"})
expect(r.status_code == 400 and r.json()["code"] == "OUTBOUND_DISABLED", "Pathors number not active: 400")
r = requests.post(base + "/v1/calls/outbound", headers=A, json={
    "projectId": "proj_abc123", "toNumber": "+886987654321"})
expect(r.status_code == 400 and "fromNumber" in r.json()["error"], "Pathors without fromNumber: 400 naming it")
# CallingBox (003): its body is the native POST /v1/calls, sk_ key as Bearer
r = requests.post(base + "/v1/calls", headers={"Authorization": "Bearer " + key}, json={
    "agent_id": "b5a1c9f2-6d2d-4a7f-9f3a-5a2b1c3d4e5f",
    "to_number": "+15551234567",
    "from_number": "+15557654321",
    "instructions": "Confirm the patient's appointment tomorrow at 2pm.",
    "context": {"patient": "Maria Lopez", "doctor": "Dr. Chen"},
    "webhook_url": "https://your-server.com/callingbox-webhook",
    "metadata": {"appointment": "a-1"}})
expect(r.status_code == 202 and r.json()["status"] == "queued", "CallingBox sample: accepted")
cb_id = r.json().get("call_id")
# Cartesia (004): its OpenAPI's request, Cartesia-Version header
r = requests.post(base + "/agents/calls", headers={"Authorization": "Bearer " + key,
                  "Cartesia-Version": "2026-03-01"}, json={
    "from_number_id": "+15557654321",
    "agent_id": "b5a1c9f2-6d2d-4a7f-9f3a-5a2b1c3d4e5f",
    "outbound_calls": [{"to_number": "+14155559876", "metadata": {"lead": "l-1"}},
                       {"to_number": "+14155559877", "metadata": None},
                       {"to_number": "14155559878"}],
    "ringing_timeout_seconds": 30,
    "max_call_duration_minutes": 5})
c = r.json().get("calls", [])
expect(r.status_code == 200 and [x["number"] for x in c] == ["+14155559876", "+14155559877", "14155559878"]
       and c[0]["error"] is None and uuid.UUID(c[0]["agent_call_id"]).version == 5
       and c[2]["error"]["code"] == "INVALID_PHONE_NUMBER" and c[2]["agent_call_id"] == "",
       "Cartesia: one answer per destination, a bad one with its error")
cart_ids = [x["agent_call_id"] for x in c[:2]]
r = requests.post(base + "/agents/calls", headers={**A, "Cartesia-Version": "2026-03-01"}, json={
    "from_number_id": "+15557654321", "agent_id": "ghost", "outbound_calls": [{"to_number": "+14155559876"}]})
expect(r.status_code == 404, "Cartesia unknown agent: 404")
r = requests.post(base + "/agents/calls", headers={**A, "Cartesia-Version": "2026-03-01"}, json={
    "from_number_id": "+15557654321", "agent_id": "ep_abc123", "ringing_timeout_seconds": 81,
    "outbound_calls": [{"to_number": "+14155559876"}]})
expect(r.status_code == 400 and "ringing_timeout_seconds" in r.json()["error"], "Cartesia ringing timeout 81: 400")
r = requests.post(base + "/agents/calls", headers=A, json={
    "from_number_id": "+15557654321", "agent_id": "ep_abc123", "outbound_calls": [{"to_number": "+14155559876"}]})
expect(r.status_code == 400, "Cartesia without Cartesia-Version: 400")

# ---- 402: a hold the org can never cover (tiny: 500 millicents) ----
r = requests.post(base + "/v1/calls", headers=T, json={"agent_id": "bot", "to_number": "+14155550009"})
expect(r.status_code == 402 and r.json()["code"] == "INSUFFICIENT_BALANCE", "hold 1200 > credit 500: 402")
r = requests.post(base + "/v1/calls", headers=T, json={"agent_id": "bot", "to_number": "+14155550009",
                                                        "max_duration_seconds": 6})
expect(r.status_code == 202, "hold 120 <= credit 500: 202")
r = requests.post(base + "/v1/calls/outbound", headers=T, json={
    "projectId": "bot", "fromNumber": "+14155550200", "toNumber": "+14155550008"})
expect(r.status_code == 402, "Pathors: 402 too")

# ---- batch: good and bad items, one answer each ----
r = requests.post(base + "/v1/calls/batch", headers={**A, "Idempotency-Key": "b1"}, json={"calls": [
    {"agent_id": "support-bot", "to_number": "+14155552001", "metadata": {"customer": 42, "page": "b"}},
    {"agent_id": "ghost", "to_number": "+14155552002"},
    {"agent_id": "support-bot", "to_number": "555"},
    {"agent_id": "support-bot", "to_number": "+14155552004", "request_id": "own-id"},
    "not an object"]})
c = r.json()["calls"]
expect(r.status_code == 200 and [x["status"] for x in c] == ["queued", "refused", "refused", "queued", "refused"],
       "batch: one answer per item, in order")
expect(c[0]["call_id"] == str(uuid.uuid5(ns, "acme\0b1:0")) and c[3]["call_id"] == str(uuid.uuid5(ns, "acme\0own-id")),
       "batch: Idempotency-Key:INDEX, or the item's own request_id")
expect(c[1]["error"]["code"] == "AGENT_NOT_FOUND" and c[1]["error"]["http_status"] == 404
       and c[2]["error"]["code"] == "INVALID_PHONE_NUMBER", "batch: each refusal with its code")
r2 = requests.post(base + "/v1/calls/batch", headers={**A, "Idempotency-Key": "b1"}, json={"calls": [
    {"agent_id": "support-bot", "to_number": "+14155552001"}]})
expect(r2.json()["calls"][0]["call_id"] == c[0]["call_id"], "batch retried: same call_id")
r = requests.post(base + "/v1/calls/batch", headers=A, json={"calls": [{"agent_id": "x", "to_number": "+1"}] * 101})
expect(r.status_code == 400, "batch of 101: 400")
expect(wait_sql("SELECT count(*) FROM calls WHERE request_id IN ('b1:0', 'own-id')", "2"), "batch items stored")
expect(sql("SELECT count(*) FROM calls WHERE request_id LIKE 'b1:%'") == "1", "refused items never stored")

# ---- list: filters ----
def ids(page):
    return [x["call_id"] for x in page["calls"]]
n_acme = 9  # 2 KrosAI curl+py, max_duration, Pathors, CallingBox, 2 Cartesia, 2 batch
expect(wait_sql("SELECT count(*) FROM calls WHERE org_id = 'acme'", str(n_acme)), "all acme calls stored")
r = requests.get(base + "/v1/calls", headers=A)
expect(r.status_code == 200 and len(r.json()["calls"]) == n_acme and r.json()["next_cursor"] is None,
       "list: the org's calls, one page")
r = requests.get(base + "/v1/calls", headers=A, params={"metadata": "customer:42"})
expect(ids(r.json()) == [c[0]["call_id"]], "list: metadata=customer:42 (a number, compared as text)")
r = requests.get(base + "/v1/calls", headers=A, params={"metadata": "customer_id:cust_xyz"})
expect(ids(r.json()) == [kros_id], "list: metadata=customer_id:cust_xyz")
r = requests.get(base + "/v1/calls", headers=A, params={"to_number": "+886987654321"})
expect(ids(r.json()) == [path_id], "list: to_number")
r = requests.get(base + "/v1/calls", headers=A, params={"agent_id": "b5a1c9f2-6d2d-4a7f-9f3a-5a2b1c3d4e5f"})
expect(sorted(ids(r.json())) == sorted([cb_id] + cart_ids), "list: agent_id")
r = requests.get(base + "/v1/calls", headers=A, params={"status": "queued,ringing"})
expect(len(r.json()["calls"]) == n_acme, "list: status=queued,ringing")
r = requests.get(base + "/v1/calls", headers=A, params={"status": "completed"})
expect(r.json()["calls"] == [], "list: status=completed: none")
r1 = requests.get(base + "/v1/calls", headers=A, params={"created_after": "2000-01-01T00:00:00Z", "created_before": "2000-01-02T00:00:00Z"})
r2 = requests.get(base + "/v1/calls", headers=A, params={"created_after": "2000-01-01T00:00:00+01:00"})
expect(r1.json()["calls"] == [] and len(r2.json()["calls"]) == n_acme, "list: created_after/created_before")
for bad in ({"limit": 0}, {"limit": 201}, {"status": "nope"}, {"created_after": "yesterday"},
            {"cursor": "garbage"}, {"to_number": "555"}, {"metadata": "nocolon"}):
    r = requests.get(base + "/v1/calls", headers=A, params=bad)
    expect(r.status_code == 400 and r.json()["code"] in ("INVALID_REQUEST", "INVALID_PHONE_NUMBER"), f"list: {bad} is 400")

# ---- list: pages of 4, a call stored between pages ----
seen, cursor, pages, inserted = [], None, 0, None
while pages < 10:
    params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
    page = requests.get(base + "/v1/calls", headers=A, params=params).json()
    seen += ids(page)
    pages += 1
    if pages == 1:  # a new call, stored before the second page is read
        inserted = requests.post(base + "/v1/calls", headers=A, json={
            "agent_id": "support-bot", "to_number": "+14155552999"}).json()["call_id"]
        wait_sql(f"SELECT count(*) FROM calls WHERE call_id = '{inserted}'", "1")
    cursor = page["next_cursor"]
    if not cursor:
        break
expect(pages == 3 and len(seen) == n_acme and len(set(seen)) == n_acme, "pages: no duplicate, no gap (9 calls in 3 pages of 4)")
expect(inserted not in seen, "pages: a call stored meanwhile does not shift the later pages")
top = requests.get(base + "/v1/calls", headers=A, params={"limit": 1}).json()
expect(ids(top) == [inserted], "...and heads the list read afresh")

# ---- events ----
r = requests.get(base + f"/v1/calls/{kros_id}/events", headers=A)
ev = r.json()["events"]
expect(r.status_code == 200 and [e["type"] for e in ev] == ["call.queued"] and ev[0]["seq"] == 1
       and ev[0]["call_id"] == kros_id and ev[0]["metadata"] == {"customer_id": "cust_xyz", "campaign": "follow-up-q1"},
       "events: call.queued with its metadata")
requests.post(base + f"/v1/calls/{kros_id}/cancel", headers=A)
wait_sql(f"SELECT status FROM calls WHERE call_id = '{kros_id}'", "canceled")
ev = requests.get(base + f"/v1/calls/{kros_id}/events", headers=A).json()["events"]
expect([(e["seq"], e["type"]) for e in ev] == [(1, "call.queued"), (2, "call.canceled")], "events: in seq order")

# ---- cross-org ----
r = requests.get(base + "/v1/calls", headers=B)
expect(r.status_code == 200 and r.json()["calls"] == [], "org beta lists none of acme's calls")
r = requests.get(base + "/v1/calls", headers=B, params={"metadata": "customer:42"})
expect(r.json()["calls"] == [], "... not even by metadata")
r = requests.get(base + f"/v1/calls/{kros_id}/events", headers=B)
expect(r.status_code == 404 and kros_id not in r.text, "org beta cannot read acme's events")
PY
cat "$T_DIR/py.out"
T_PASS=$((T_PASS + $(grep -c '^ok: ' "$T_DIR/py.out" || true)))
T_FAIL=$((T_FAIL + $(grep -c '^FAILED: ' "$T_DIR/py.out" || true)))

# ---- 429: a second server with a low per-key rate ----
RL_PORT=$((API_PORT + 1))
outdial-api --listen "127.0.0.1:$RL_PORT" --rate-per-key 3 >>"$T_DIR/api_rl.log" 2>&1 &
T_PIDS+=("$!")
wait_log 20 "$T_DIR/api_rl.log" '"listening"' || not_ok "rate-limited outdial-api listens"
codes=""
for i in 1 2 3 4 5 6; do
  codes+=$(curl -s -D "$T_DIR/rl.h" -o "$T_DIR/rl.b" -w '%{http_code} ' -H "x-api-key: $KEY_B" "http://127.0.0.1:$RL_PORT/v1/calls?limit=1")
done
check "over 3/s: 429 after the burst" "$(echo "$codes" | tr ' ' '\n' | grep -c 429)" 3
check "... with Retry-After" "$(grep -ci '^Retry-After: 1' "$T_DIR/rl.h")" 1
check "... and its code" "$(grep -c RATE_LIMIT_EXCEEDED "$T_DIR/rl.b")" 1
check "another key has its own bucket" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY" "http://127.0.0.1:$RL_PORT/v1/calls?limit=1")" 200
sleep 1.1
check "a second later, allowed again" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "x-api-key: $KEY_B" "http://127.0.0.1:$RL_PORT/v1/calls?limit=1")" 200

# ---- the OpenAPI document, and schemathesis against the live server ----
VENV=$(dirname "$(dirname "$(py_clients)")")
if true; then
  if "$VENV/bin/openapi-spec-validator" "$OUTDIAL_ROOT/schemas/openapi.yaml" >"$T_DIR/osv.out" 2>&1; then
    ok "schemas/openapi.yaml validates (openapi-spec-validator)"
  else not_ok "openapi-spec-validator: $(tail -3 "$T_DIR/osv.out")"; fi
  KEY_S=$(outdialctl keys create --org acme --name schemathesis | tail -1)
  # from $T_DIR: whatever schemathesis keeps on disk stays out of the tree
  if (cd "$T_DIR" && timeout 120 "$VENV/bin/st" run "$OUTDIAL_ROOT/schemas/openapi.yaml" --url "$BASE" \
    -H "Authorization: Bearer $KEY_S" -c not_a_server_error,response_schema_conformance \
    --max-examples 25 --phases examples,coverage,fuzzing --workers 1 --seed 13 --no-color \
    --generation-database none) >"$T_DIR/st.out" 2>&1; then
    ok "schemathesis: no 5xx, every answer within the schema ($(grep -A1 "Test cases" "$T_DIR/st.out" | tail -1 | tr -s " " | sed "s/^ //"))"
  else
    grep -v "^ *'" "$T_DIR/st.out" | tail -40 | cut -c1-300 >&2
    not_ok "schemathesis found failures"
  fi
  if kill -0 "$API_PID" 2>/dev/null; then ok "outdial-api still up after schemathesis"
  else not_ok "outdial-api died under schemathesis"; fi
fi
finish
