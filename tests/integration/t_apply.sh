# outdialctl apply: idempotent upsert; a bad file names the JSON path and
# changes nothing; fields absent from the file are left as they are, an
# explicit null clears one; a grant lowered below what is spent is refused
# with the numbers.
. "$(dirname "$0")/lib.sh"
psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qc "CREATE DATABASE od_$T_ID" >/dev/null
outdialctl migrate >/dev/null

out=$(outdialctl apply "$FIXTURES/provisioning.json")
check "first apply changes rows" "$(echo "$out" | grep -c 'change')" 1
out=$(outdialctl apply "$FIXTURES/provisioning.json")
check "second apply changes nothing" "$(echo "$out" | grep -c 'unchanged')" 1
snapshot() { sql "SELECT (SELECT count(*) FROM trunks), (SELECT count(*) FROM orgs),
  (SELECT count(*) FROM numbers), (SELECT count(*) FROM agents), (SELECT count(*) FROM ledger),
  (SELECT sum(balance_millicents) FROM orgs), (SELECT version FROM provisioning_version)"; }
before=$(snapshot)
check "ledger sums to balances" "$(sql "SELECT (SELECT sum(amount_millicents) FROM ledger) = (SELECT sum(balance_millicents) FROM orgs)")" t

# A bad number deep in the file: error with its path, nothing written.
sed 's/"+14155550200"/"+1 415 555 0200"/' "$FIXTURES/provisioning.json" > "$T_DIR/bad.json"
sed -i 's/"balance_millicents": 100000/"balance_millicents": 999999/' "$T_DIR/bad.json"
set +e
err=$(outdialctl apply "$T_DIR/bad.json" 2>&1); rc=$?
set -e
check "bad file exits 1" "$rc" 1
check "error names the JSON path" "$(echo "$err" | grep -c 'orgs\[1\].numbers\[0\]: e164')" 1
check "nothing changed" "$(snapshot)" "$before"

# A file that is not JSON: line and column.
printf '{"orgs": [\n  {"id": "x",, }\n]}\n' > "$T_DIR/syntax.json"
set +e
err=$(outdialctl apply "$T_DIR/syntax.json" 2>&1); rc=$?
set -e
check "syntax error exits 1" "$rc" 1
check "syntax error gives line:column" "$(echo "$err" | grep -c 'syntax.json:2:')" 1

# A number owned by another org is refused.
cat > "$T_DIR/steal.json" <<'JSON'
{"orgs": [{"id": "thief", "plan": "free",
  "numbers": [{"e164": "+14155550100", "trunk": "carrier-a"}]}]}
JSON
set +e
err=$(outdialctl apply "$T_DIR/steal.json" 2>&1); rc=$?
set -e
check "stealing a number exits 1" "$rc" 1
check "and says whose" "$(echo "$err" | grep -c 'owned by another org')" 1
check "nothing changed (the org was not created either)" "$(snapshot)" "$before"

# Raising the grant adds the difference to the balance and the ledger.
sed 's/"balance_millicents": 100000/"balance_millicents": 150000/' "$FIXTURES/provisioning.json" > "$T_DIR/more.json"
outdialctl apply "$T_DIR/more.json" >/dev/null
check "grant raised by 50000" "$(sql "SELECT balance_millicents FROM orgs WHERE id='acme'")" 150000
check "ledger entry of the difference" "$(sql "SELECT amount_millicents FROM ledger WHERE org_id='acme' ORDER BY id DESC LIMIT 1")" 50000
check "ledger still sums to balances" "$(sql "SELECT (SELECT sum(amount_millicents) FROM ledger) = (SELECT sum(balance_millicents) FROM orgs)")" t
check "provisioning version bumped" "$(sql 'SELECT version FROM provisioning_version')" 2
# --- absent fields are left as they are, for every kind of object ---------
cat > "$T_DIR/full.json" <<'JSON'
{"trunks": [{"id": "tr", "proxy": "sip:127.0.0.1:5099", "username": "u", "password": "p",
             "cps": 7, "max_concurrent": 70}],
 "rates": [{"prefix": "+1555", "millicents_per_minute": 900, "increment_seconds": 30}],
 "orgs": [{"id": "omitco", "plan": "pro", "max_concurrent": 7, "balance_millicents": 50000,
           "webhook_url": "https://hooks.example.com/omit", "webhook_secret": "sec",
           "numbers": [{"e164": "+15550009001", "trunk": "tr", "outbound_enabled": false},
                       {"e164": "+15550009002", "trunk": "tr"}],
           "agents": [{"id": "bot", "sip_uri": "sip:bot@127.0.0.1", "default_from": "+15550009002",
                       "max_duration_seconds": 900}]}]}
JSON
outdialctl apply "$T_DIR/full.json" >/dev/null
orgrow() { sql "SELECT plan, coalesce(max_concurrent::text, '-'), granted_millicents, balance_millicents,
  coalesce(webhook_url, '-'), coalesce(webhook_secret, '-') FROM orgs WHERE id = 'omitco'"; }
rows() { sql "SELECT (SELECT concat_ws(' ', proxy, coalesce(username, '-'), coalesce(password, '-'), cps, max_concurrent) FROM trunks WHERE id = 'tr'),
  (SELECT concat_ws(' ', millicents_per_minute, increment_seconds) FROM rates WHERE prefix = '+1555'),
  (SELECT concat_ws(' ', trunk_id, outbound_enabled) FROM numbers WHERE e164 = '+15550009001'),
  (SELECT concat_ws(' ', sip_uri, coalesce(default_from, '-'), max_duration_seconds) FROM agents WHERE org_id = 'omitco' AND id = 'bot')"; }
check "full org applied" "$(orgrow)" "pro|7|50000|50000|https://hooks.example.com/omit|sec"
ledger_n=$(sql "SELECT count(*) FROM ledger WHERE org_id = 'omitco'")
echo '{"orgs":[{"id":"omitco","plan":"business"}]}' > "$T_DIR/omit.json"
out=$(outdialctl apply "$T_DIR/omit.json")
check "re-applied with only its plan: one change" "$out" "applied $T_DIR/omit.json: 1 change"
check "only the plan changed; grant, balance, cap, webhook kept" "$(orgrow)" \
  "business|7|50000|50000|https://hooks.example.com/omit|sec"
check "no ledger entry" "$(sql "SELECT count(*) FROM ledger WHERE org_id = 'omitco'")" "$ledger_n"
before_rows=$(rows)
cat > "$T_DIR/omit2.json" <<'JSON'
{"trunks": [{"id": "tr", "proxy": "sip:127.0.0.1:5099"}],
 "rates": [{"prefix": "+1555", "millicents_per_minute": 900}],
 "orgs": [{"id": "omitco", "plan": "business",
           "numbers": [{"e164": "+15550009001", "trunk": "tr"}, {"e164": "+15550009002", "trunk": "tr"}],
           "agents": [{"id": "bot", "sip_uri": "sip:bot@127.0.0.1"}]}]}
JSON
out=$(outdialctl apply "$T_DIR/omit2.json")
check "trunk, rate, numbers, agent without their optional fields: unchanged" "$out" "applied $T_DIR/omit2.json: unchanged"
check "their optional fields kept" "$(rows)" "$before_rows"
check "(as they were)" "$before_rows" "sip:127.0.0.1:5099 u p 7 70|900 30|tr f|sip:bot@127.0.0.1 +15550009002 900"

# --- an explicit null clears a field (or restores its default) -------------
cat > "$T_DIR/clear.json" <<'JSON'
{"trunks": [{"id": "tr", "proxy": "sip:127.0.0.1:5099", "username": null, "password": null,
             "cps": null, "max_concurrent": null}],
 "rates": [{"prefix": "+1555", "millicents_per_minute": 900, "increment_seconds": null}],
 "orgs": [{"id": "omitco", "plan": "business", "max_concurrent": null,
           "webhook_url": null, "webhook_secret": null,
           "numbers": [{"e164": "+15550009001", "trunk": "tr", "outbound_enabled": null}],
           "agents": [{"id": "bot", "sip_uri": "sip:bot@127.0.0.1", "default_from": null,
                       "max_duration_seconds": null}]}]}
JSON
outdialctl apply "$T_DIR/clear.json" >/dev/null
check "null cleared the org's cap and webhook" "$(orgrow)" "business|-|50000|50000|-|-"
check "null cleared or restored the defaults of the rest" "$(rows)" \
  "sip:127.0.0.1:5099 - - 10 100|900 60|tr t|sip:bot@127.0.0.1 - 3600"
out=$(outdialctl apply "$T_DIR/clear.json")
check "clearing again changes nothing" "$out" "applied $T_DIR/clear.json: unchanged"

# --- the grant: null is refused, and so is a cut below what is spent ---------
snap2() { echo "$(snapshot) $(orgrow) $(sql "SELECT count(*) FROM ledger")"; }
before=$(snap2)
echo '{"orgs":[{"id":"omitco","plan":"business","balance_millicents":null}]}' > "$T_DIR/nullgrant.json"
set +e
err=$(outdialctl apply "$T_DIR/nullgrant.json" 2>&1); rc=$?
set -e
check "a null grant exits 1" "$rc" 1
check "and says why" "$(echo "$err" | grep -c 'orgs\[0\].balance_millicents: cannot be null')" 1
# 40000 of the 50000 spent or held by calls (as admission would leave it).
sql "UPDATE orgs SET balance_millicents = 10000, held_millicents = 40000 WHERE id = 'omitco'"
before=$(snap2)
cat > "$T_DIR/cut.json" <<'JSON'
{"orgs": [{"id": "omitco", "plan": "free", "balance_millicents": 20000, "webhook_url": "https://x.example.com/"}]}
JSON
set +e
err=$(outdialctl apply "$T_DIR/cut.json" 2>&1); rc=$?
set -e
check "a grant below what is spent exits 1" "$rc" 1
check "and says so plainly, with the numbers" "$err" \
  "outdialctl: $T_DIR/cut.json: orgs[0].balance_millicents: cannot lower the grant of org \"omitco\" from 50000 to 20000: 40000 of it is spent or held by calls, so the grant can go no lower than 40000 (available now: 10000); nothing was applied"
check "nothing was applied (plan, webhook, ledger)" "$(snap2)" "$before"
sed -i 's/20000/40000/' "$T_DIR/cut.json"
outdialctl apply "$T_DIR/cut.json" >/dev/null
check "down to exactly what is spent is allowed" "$(orgrow)" "free|-|40000|0|https://x.example.com/|-"
check "ledger entry of the cut" "$(sql "SELECT amount_millicents FROM ledger WHERE org_id = 'omitco' ORDER BY id DESC LIMIT 1")" -10000
finish
