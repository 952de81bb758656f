# outdialctl apply: idempotent upsert; a bad file names the JSON path and
# changes nothing.
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
finish
