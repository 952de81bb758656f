# Webhook isolation under a backlog: one org's endpoint accepts connections
# and never answers, with 400 deliveries waiting for it; another org's
# events still get their first delivery attempt within 2 s of being
# committed, and the hanging org never holds more than its share (8) of
# the sender's requests at once.
. "$(dirname "$0")/lib.sh"
PORT=$((SIP_BASE + 3))
BACKLOG=400
cat > "$T_DIR/prov.json" <<EOF
{"trunks": [{"id": "t", "proxy": "sip:127.0.0.1:5090", "cps": 1000, "max_concurrent": 1000}],
 "rates": [{"prefix": "+1", "millicents_per_minute": 1200, "increment_seconds": 6}],
 "orgs": [
  {"id": "hangco", "plan": "enterprise", "balance_millicents": 100000000,
   "webhook_url": "http://127.0.0.1:$PORT/hang", "webhook_secret": "s3cret",
   "numbers": [{"e164": "+15550000001", "trunk": "t"}],
   "agents": [{"id": "a", "sip_uri": "sip:a@127.0.0.1", "default_from": "+15550000001"}]},
  {"id": "fine", "plan": "enterprise", "balance_millicents": 100000000,
   "webhook_url": "http://127.0.0.1:$PORT/ok", "webhook_secret": "s3cret",
   "numbers": [{"e164": "+15550000002", "trunk": "t"}],
   "agents": [{"id": "a", "sip_uri": "sip:a@127.0.0.1", "default_from": "+15550000002"}]}
 ]}
EOF
t_setup_db "$T_DIR/prov.json"
"$OUTDIAL_BIN/webhook_receiver" --port "$PORT" --secret s3cret > "$T_DIR/hooks.out" 2> "$T_DIR/receiver.log" &
T_PIDS+=("$!")
# No admission: each call keeps its one event (call.queued), so every
# delivery of the backlog is due at once.
export OUTDIAL_ROLES=intake,relay,webhooks OUTDIAL_WEBHOOK_ALLOW_PRIVATE=true
start_scheduler sched
wait_log 30 "$T_DIR/sched.log" "partitions assigned" || not_ok "scheduler joined"

for i in $(seq 1 "$BACKLOG"); do req hangco "h-$i" "+1555111$(printf %04d "$i")"; done |
  outdialctl submit - >/dev/null
wait_for 60 "SELECT count(*) FROM webhook_deliveries WHERE org_id = 'hangco' AND status = 'pending'" "$BACKLOG" ||
  not_ok "hangco's backlog queued"
wait_for 10 "SELECT count(*) >= 8 FROM webhook_deliveries WHERE org_id = 'hangco' AND attempts > 0" t ||
  not_ok "hangco's endpoint is being tried"
sleep 1

for i in $(seq 1 10); do req fine "f-$i" "+1555222$(printf %04d "$i")"; done | outdialctl submit - >/dev/null
wait_for 30 "SELECT count(*) FROM webhook_deliveries WHERE org_id = 'fine' AND status = 'delivered'" 10 ||
  not_ok "fine's 10 deliveries made"
# The receiver logs when it answered; /ok answers at once: the first
# attempt's time. From the event's commit (occurred_at).
worst=$(sql "SELECT extract(epoch FROM e.occurred_at) || ' ' || e.event_id FROM call_events e
             JOIN calls c USING (call_id) WHERE c.org_id = 'fine'" |
  awk 'NR == FNR { t[$2] = $1; next } $2 == "/ok" && ($3 in t) { d = $1 / 1000 - t[$3]; if (d > w) w = d; n++ }
       END { if (n < 10) w = 999; printf "%d %.2f", n, w }' - "$T_DIR/hooks.out")
check "fine: each of its 10 events posted once" "${worst% *}" 10
check "fine: first attempts within 2 s of the commit, behind a backlog of $BACKLOG (worst: ${worst#* } s)" \
  "$(echo "${worst#* } < 2" | bc)" 1
check "hangco still has its backlog waiting meanwhile" \
  "$(sql "SELECT count(*) > $((BACKLOG - 50)) FROM webhook_deliveries WHERE org_id = 'hangco' AND status = 'pending'")" t
# In flight = leased (next_at moved by the lease, 40 s; a retry waits a few s).
check "hangco holds at most 8 requests at once" \
  "$(sql "SELECT count(*) <= 8 FROM webhook_deliveries WHERE org_id = 'hangco' AND status = 'pending' AND next_at > now() + interval '20 seconds'")" t
finish
