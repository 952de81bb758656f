# Soak: 3 schedulers, 200 orgs on mixed plans and balances, N requests
# (50,000 by default; OUTDIAL_SOAK_N) to a pool of repeated destinations
# with random outcomes; one scheduler is killed with SIGKILL midway. Every
# request must end, and `outdialctl audit --final` must prove rules 1 to 6
# held throughout: no overdraft, caps and destination locks never exceeded
# at any instant, ledger equal to balances.
. "$(dirname "$0")/lib.sh"
# The default dialer-lost threshold: after the kill, the new owners of the
# dead scheduler's reports partitions read a backlog late, and no live call
# may be declared lost meanwhile (see od_reap).
unset OUTDIAL_DIALER_LOST_SECONDS
N=${OUTDIAL_SOAK_N:-50000}
ORGS=200
awk -v n=$ORGS 'BEGIN {
  split("free pro business enterprise", plan, " ")
  printf "{\"trunks\":[{\"id\":\"fast\",\"proxy\":\"sip:127.0.0.1:5090\",\"cps\":10000,\"max_concurrent\":100000}],"
  printf "\"rates\":[{\"prefix\":\"+1\",\"millicents_per_minute\":1200,\"increment_seconds\":6}],\"orgs\":["
  for (i = 1; i <= n; i++) {
    # every 10th org is poor: its calls wait for credit or are refused
    bal = (i % 10 == 0) ? 3000 : 100000000
    printf "%s{\"id\":\"o%d\",\"plan\":\"%s\",\"balance_millicents\":%d,", (i > 1 ? "," : ""), i, plan[i % 4 + 1], bal
    printf "\"numbers\":[{\"e164\":\"+1666%07d\",\"trunk\":\"fast\"}],", i
    printf "\"agents\":[{\"id\":\"a\",\"sip_uri\":\"sip:agent@127.0.0.1:5092\",\"default_from\":\"+1666%07d\",\"max_duration_seconds\":%d}]}", i, (i % 20 == 0) ? 600 : 60
  }
  print "]}" }' > "$T_DIR/orgs.json"
t_setup_db "$T_DIR/orgs.json"
awk -v n=$N -v orgs=$ORGS 'BEGIN { srand(7)
  split("completed completed completed busy no_answer failed declined", out, " ")
  for (i = 1; i <= n; i++) {
    o = int(rand() * orgs) + 1; d = int(rand() * 3000)
    retry = (i % 7 == 0) ? ",\"retry\":{\"max_attempts\":2,\"delay_seconds\":0}" : ""
    printf "{\"request_id\":\"s%d\",\"org_id\":\"o%d\",\"agent_id\":\"a\",\"to_number\":\"+1777%07d\"%s,", i, o, d, retry
    printf "\"metadata\":{\"test\":{\"outcome\":\"%s\",\"talk_ms\":%d,\"hold_ms\":%d}}}\n", out[int(rand() * 7) + 1], int(rand() * 20000), int(rand() * 30)
  } }' > "$T_DIR/req.jsonl"
for s in a b c; do start_scheduler $s; eval "pid_$s=\$LAST_PID"; done
start_dialer d1
start_dialer d2
for s in a b c; do wait_log 30 "$T_DIR/$s.log" "partitions assigned" || not_ok "$s joined"; done
started=$SECONDS
outdialctl submit "$T_DIR/req.jsonl" >/dev/null
for _ in $(seq 1 600); do
  [ "$(sql "SELECT count(*) FROM calls WHERE status NOT IN ('queued')")" -ge $((N / 3)) ] && break
  sleep 0.1
done
[ -n "${OUTDIAL_SOAK_NOKILL:-}" ] || kill -9 "$pid_b"
echo "killed scheduler b with $(sql "SELECT count(*) FROM calls WHERE status IN ('completed','busy','no_answer','failed','canceled','rejected','expired')") of $N ended"
deadline=$((SECONDS + ${OUTDIAL_SOAK_SECONDS:-1000}))
until [ "$(sql "SELECT count(*) FROM calls WHERE status IN ('completed','busy','no_answer','failed','canceled','rejected','expired')")" -ge $N ] || [ $SECONDS -ge $deadline ]; do sleep 1; done
took=$((SECONDS - started))
check "every request ended" "$(sql "SELECT count(*) FROM calls WHERE status IN ('completed','busy','no_answer','failed','canceled','rejected','expired')")" $N
check "one call per request" "$(sql 'SELECT count(*) FROM calls')" $N
wait_for 60 "SELECT count(*) FROM outbox" 0 || not_ok "outbox drained"
echo "soak: $N requests ended in ${took}s; by status: $(sql "SELECT string_agg(status || '=' || n, ' ' ORDER BY status) FROM (SELECT status, count(*) n FROM calls GROUP BY status) x")"
check_ge "some calls waited for credit and were refused (poor orgs)" "$(sql "SELECT count(*) FROM calls WHERE error_code='INSUFFICIENT_BALANCE'")" 1
check_ge "some calls were retried" "$(sql "SELECT count(*) FROM calls WHERE attempt = 2")" 1
check "no call was lost by a dialer" "$(sql "SELECT count(*) FROM calls WHERE error_code='DIALER_LOST'")" 0
audit_ok --final
finish
