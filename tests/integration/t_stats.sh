# outdialctl stats against a known run: two orgs on different plans place
# real calls through SIPp (answered, busy, declined, no answer, refused by
# the carrier, canceled while queued, bad number, insufficient balance, an
# unknown org, a duplicate). Its figures must match what the campaign was
# built to do, and what an independent reading of calls.events (kcat)
# gives: counts by status, dialed, answered, answer rate, talk time,
# billing, error codes, webhook deliveries and the per-minute timeline.
. "$(dirname "$0")/lib.sh"
HOOK_PORT=$((SIP_BASE + 3))
cat > "$T_DIR/prov.json" <<JSON
{"trunks": [{"id": "sipp", "proxy": "sip:127.0.0.1:$CARRIER_PORT", "cps": 200, "max_concurrent": 100}],
 "rates": [{"prefix": "+1", "millicents_per_minute": 1200, "increment_seconds": 6}],
 "orgs": [
  {"id": "acme", "plan": "pro", "balance_millicents": 1000000,
   "webhook_url": "http://127.0.0.1:$HOOK_PORT/ok", "webhook_secret": "s3cret",
   "numbers": [{"e164": "+15550000100", "trunk": "sipp"}],
   "agents": [{"id": "hangup", "sip_uri": "sip:hangup@127.0.0.1:$AGENT_PORT", "default_from": "+15550000100"},
              {"id": "bot", "sip_uri": "sip:bot@127.0.0.1:$AGENT_PORT", "default_from": "+15550000100"}]},
  {"id": "tinyco", "plan": "free", "balance_millicents": 1000,
   "numbers": [{"e164": "+15550000300", "trunk": "sipp"}],
   "agents": [{"id": "hangup", "sip_uri": "sip:hangup@127.0.0.1:$AGENT_PORT", "default_from": "+15550000300"}]}
 ]}
JSON
t_setup_db "$T_DIR/prov.json"
start_sipp carrier carrier "$CARRIER_PORT"
start_sipp agent agent "$AGENT_PORT"
"$OUTDIAL_BIN/webhook_receiver" --port "$HOOK_PORT" --secret s3cret > "$T_DIR/hooks.out" 2>&1 &
T_PIDS+=("$!")
OUTDIAL_WEBHOOK_ALLOW_PRIVATE=true start_scheduler sched
start_sip_dialer dialer
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"
wait_log 30 "$T_DIR/dialer.log" "partitions assigned" || not_ok "dialer joined"

# call ORG ID AGENT NUMBER [extra JSON]; the carrier acts on the last two digits.
call() { echo "{\"request_id\":\"$2\",\"org_id\":\"$1\",\"agent_id\":\"$3\",\"to_number\":\"$4\"${5:+,$5}}"; }
later=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
{
  call acme a1 hangup +15551000100                          # answered; the agent hangs up
  call acme a2 bot +15551000109 '"max_duration_seconds":2'  # answered; ends at max duration
  call acme a3 bot +15551000101                             # busy
  call acme a4 bot +15551000102                             # declined
  call acme a5 bot +15551000103 '"ringing_timeout_seconds":5' # no answer
  call acme a6 bot +15551000110                             # 480 from the carrier
  call acme a7 bot 555-0100                                 # bad number
  call acme a8 bot +15551000100 "\"not_before\":\"$later\"" # canceled while queued
  call acme a1 hangup +15551000100                          # a duplicate
  call tinyco t1 hangup +15552000100 '"max_duration_seconds":30' # answered (hold 600 of 1000)
  call tinyco t2 hangup +15552000100 '"max_duration_seconds":300' # insufficient balance
  call ghost g1 hangup +15553000100                         # unknown org
} | outdialctl submit - >/dev/null
wait_status 20 acme a8 queued || not_ok "a8 queued"
outdialctl submit --cancel --org acme --request-id a8 >/dev/null
wait_for 40 "SELECT count(*) FROM calls WHERE status IN ('queued','initiated','ringing','answered','in_progress')" 0 ||
  not_ok "every call ended"
wait_for 20 "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'" 0 || not_ok "webhooks delivered"
wait_for 20 "SELECT count(*) FROM outbox" 0 || not_ok "every event published"

outdialctl stats --json > "$T_DIR/stats.json" || not_ok "stats --json exits 0"
# stats SQL: runs SQL with :'s' the document (psql interpolates only in input, not -c)
stats() { psql "$OUTDIAL_PG_DSN" -qtAX -v ON_ERROR_STOP=1 -v s="$(cat "$T_DIR/stats.json")" <<<"$1"; }
scope() { # scope ORG|all: that scope's figures
  if [ "$1" = all ]; then echo "(:'s'::jsonb->'overall')"
  else echo "(SELECT o FROM jsonb_array_elements(:'s'::jsonb->'orgs') o WHERE o->>'org_id' = '$1')"; fi
}
want() { # want LABEL SCOPE JSON: the scope contains JSON
  local got
  got=$(stats "SELECT CASE WHEN $(scope "$2") @> '$3'::jsonb THEN 'yes' ELSE $(scope "$2")::text END")
  check "$1" "$got" yes
}

# --- what the campaign was built to do -----------------------------------
want "acme by status" acme '{"requests": 8, "by_status": {"completed": 2, "busy": 1, "failed": 2,
  "no_answer": 1, "rejected": 1, "canceled": 1, "queued": 0, "in_progress": 0, "expired": 0}}'
want "acme dialed, answered, answer rate" acme '{"dialed": 6, "answered": 2, "answer_rate": 0.3333, "in_flight": 0}'
want "acme billing: two answered calls, one 6 s increment each at 1200/min" acme \
  '{"billable_seconds": 12, "cost_millicents": 240}'
check "acme error codes, and only those" \
  "$(stats "SELECT $(scope acme)->'errors' = '{\"DECLINED\": 1, \"CARRIER_REJECTED\": 1, \"INVALID_PHONE_NUMBER\": 1}'")" t
want "tinyco" tinyco '{"requests": 2, "by_status": {"completed": 1, "rejected": 1}, "dialed": 1,
  "answered": 1, "answer_rate": 1, "cost_millicents": 120, "errors": {"INSUFFICIENT_BALANCE": 1},
  "webhooks": {"pending": 0, "delivered": 0, "failed": 0}}'
want "an unknown org is counted under its name" ghost '{"requests": 1, "dialed": 0, "errors": {"ORG_NOT_FOUND": 1}}'
want "overall" all '{"requests": 11, "dialed": 7, "answered": 3, "answer_rate": 0.4286,
  "cost_millicents": 360, "by_status": {"completed": 3, "rejected": 3}}'

# --- the same figures from calls.events, read by kcat ---------------------
# Each call's final event carries its status, answered_at, ended_at,
# duration and cost; the first event when it was received.
read_events | cut -f3 > "$T_DIR/events.jsonl"
sql "CREATE TABLE ev (body jsonb)"
psql "$OUTDIAL_PG_DSN" -qX -v ON_ERROR_STOP=1 \
  -c "\\copy ev FROM '$T_DIR/events.jsonl' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
check "events read" "$(sql "SELECT count(*) = (SELECT count(*) FROM call_events) FROM ev")" t
cat > "$T_DIR/expected.sql" <<'SQL'
CREATE TABLE exp AS
WITH calls AS (
  SELECT body->>'call_id' AS id, body->>'org_id' AS org,
         (array_agg(body ORDER BY (body->>'seq')::int DESC))[1] AS last,
         (array_agg(body ORDER BY (body->>'seq')::int))[1] AS first,
         bool_or(body->>'type' = 'call.initiated') AS dialed
    FROM ev GROUP BY 1, 2),
scopes AS (SELECT DISTINCT org AS scope FROM calls UNION ALL SELECT '(all)'),
per AS (
  SELECT scope, (SELECT jsonb_build_object(
    'requests', count(*),
    'dialed', count(*) FILTER (WHERE dialed),
    'answered', count(last->'answered_at'),
    'answer_rate', round(count(last->'answered_at')::numeric / nullif(count(*) FILTER (WHERE dialed), 0), 4),
    'avg_duration_seconds', round(avg((last->>'duration_seconds')::int) FILTER (WHERE last ? 'answered_at'), 1),
    'billable_seconds', coalesce(sum((last->>'billable_seconds')::int), 0),
    'cost_millicents', coalesce(sum((last->>'cost_millicents')::bigint), 0))
      FROM calls c WHERE scope IN (c.org, '(all)'))
    || jsonb_build_object('by_status', (SELECT jsonb_object_agg(st, n) FROM (
         SELECT c.last->>'status' AS st, count(*) AS n FROM calls c
          WHERE scope IN (c.org, '(all)') GROUP BY 1) x)) AS f
    FROM scopes),
moments AS (
  SELECT (first->>'occurred_at')::timestamptz AS t, 1 AS r, 0 AS a, 0 AS f, 0 AS cost FROM calls
  UNION ALL SELECT (last->>'answered_at')::timestamptz, 0, 1, 0, 0 FROM calls WHERE last ? 'answered_at'
  UNION ALL SELECT coalesce(last->>'ended_at', last->>'occurred_at')::timestamptz, 0, 0, 1,
                   coalesce((last->>'cost_millicents')::bigint, 0) FROM calls)
SELECT scope AS org, f FROM per
UNION ALL
SELECT 'timeline', jsonb_agg(jsonb_build_object('minute', to_char(m AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI"Z"'),
       'received', r, 'answered', a, 'finished', f, 'cost_millicents', cost) ORDER BY m)
  FROM (SELECT date_trunc('minute', t) AS m, sum(r) AS r, sum(a) AS a, sum(f) AS f, sum(cost) AS cost
          FROM moments GROUP BY 1) tl;
SQL
psql "$OUTDIAL_PG_DSN" -qX -v ON_ERROR_STOP=1 -f "$T_DIR/expected.sql" >/dev/null
for org in acme tinyco ghost all; do
  key=$org; [ "$org" = all ] && key="(all)"
  got=$(stats "SELECT CASE WHEN $(scope "$org") @> f THEN 'yes' ELSE f::text || ' not in ' || $(scope "$org")::text END
               FROM exp WHERE org = '$key'")
  check "$org: figures match the events" "$got" yes
done
got=$(stats "SELECT CASE WHEN :'s'::jsonb->'timeline' = f THEN 'yes' ELSE f::text || ' vs ' || (:'s'::jsonb->'timeline')::text END
             FROM exp WHERE org = 'timeline'")
check "the per-minute timeline matches the events" "$got" yes
check "webhooks: every acme event delivered, nothing else" \
  "$(stats "SELECT $(scope acme)->'webhooks' = jsonb_build_object('pending', 0, 'failed', 0,
            'delivered', (SELECT count(*) FROM ev WHERE body->>'org_id' = 'acme'))")" t
check "the receiver got those deliveries, signed" \
  "$(grep -c ' sig=ok 200 ' "$T_DIR/hooks.out")" "$(sql "SELECT count(*) FROM ev WHERE body->>'org_id' = 'acme'")"

# --- filters, the table, bad input ----------------------------------------
check "--org keeps one org" \
  "$(outdialctl stats --json --org tinyco | grep -c '"org_id": "tinyco"')" 2
outdialctl stats --json --org tinyco > "$T_DIR/stats.json"
check "--org: the overall figures are that org's" "$(stats "SELECT :'s'::jsonb->'overall'->>'requests'")" 2
check "--until before the run counts nothing" \
  "$(outdialctl stats --json --until 2000-01-01T00:00:00Z | grep -c '"requests": 0')" 1
check "--since 10m counts the run" \
  "$(outdialctl stats --json --since 10m | grep -c '"requests": 11')" 1
outdialctl stats > "$T_DIR/table.out"
grep -Eq '^acme +8 +0 +6 +2 +33\.3% ' "$T_DIR/table.out" && ok "table: acme's row" ||
  not_ok "table: $(head -5 "$T_DIR/table.out")"
grep -Eq '^\(all\) +11 ' "$T_DIR/table.out" && ok "table: the overall row" || not_ok "table: overall row"
grep -q 'INSUFFICIENT_BALANCE' "$T_DIR/table.out" && ok "table: error codes" || not_ok "table: error codes"
err=$(outdialctl stats --since yesterday 2>&1) && not_ok "a bad --since is refused" ||
  check "a bad --since is refused with a message" "$(grep -c 'neither a duration' <<<"$err")" 1
err=$(outdialctl stats extra 2>&1) && not_ok "an argument is refused" || ok "an argument is refused"
finish
