# outdialctl and the binaries as a newcomer meets them (issue 15): each
# mistake gets one plain message and a non-zero exit, never librdkafka's or
# libpq's raw output; --version, help and --json everywhere they are offered.
. "$(dirname "$0")/lib.sh"
unset OUTDIAL_LOG_LEVEL # as a user runs it: the default level
t_setup_db
# run EXPECTED_RC CMD...: the command's exit code must be EXPECTED_RC;
# stdout to $T_DIR/out, stderr to $T_DIR/err
run() {
  local want=$1 rc=0; shift
  "$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
  [ "$rc" = "$want" ] || not_ok "$*: exit $rc, want $want ($(head -c 300 "$T_DIR/err"))"
}
last_err() { tail -1 "$T_DIR/err"; }
no_raw_logs() { ! grep -q '^{"ts"' "$T_DIR/err"; }

run 2 outdialctl
check "bare outdialctl: the commands, then what to do" "$(last_err)" \
  "outdialctl: no command given (options: outdialctl --help)"
run 0 outdialctl help
grep -q '^options (each also an environment variable):$' "$T_DIR/out" && grep -q -- '--pg-dsn' "$T_DIR/out" &&
  ok "outdialctl help: the commands and every option" || not_ok "outdialctl help: $(tail -3 "$T_DIR/out")"
for b in outdialctl outdial-scheduler outdial-dialer outdial-api outdial-devbroker; do
  run 0 "$b" --version
  check "$b --version" "$(cat "$T_DIR/out")" "$b $(sed -n 's/^project(outdial VERSION \([0-9.]*\).*/\1/p' "$OUTDIAL_ROOT/CMakeLists.txt")"
done
run 0 outdial-dialer --help
check "the dialer's --help lists no database or public-topic setting" \
  "$(grep -c -- '--pg-dsn\|--topic-requests\|--topic-events' "$T_DIR/out" || true)" 0

run 1 outdialctl apply /nonexistent.json
check "apply: a file that is not there" "$(last_err)" \
  "outdialctl: /nonexistent.json: cannot open: No such file or directory"
printf '{"orgs": [\n' >"$T_DIR/bad.json"
run 1 outdialctl apply "$T_DIR/bad.json"
check "apply: a file that is not JSON" "$(last_err | sed "s#$T_DIR/##")" \
  "outdialctl: bad.json:2:0: not valid JSON: ']' expected near end of file"
run 1 outdialctl --pg-dsn garbage migrate
check "a --pg-dsn that is neither a URI nor conninfo" "$(last_err)" \
  "outdialctl: database: OUTDIAL_PG_DSN (--pg-dsn) is not a postgresql:// URI or key=value conninfo"

run 1 outdialctl stats --org nosuch
check "stats for an org that does not exist" "$(last_err)" 'outdialctl: stats: no org "nosuch"'

# a broker nothing listens on
DEAD=127.0.0.1:$((SIP_BASE + 5))
s=$SECONDS
run 1 timeout 30 outdialctl --kafka-brokers "$DEAD" watch
check "watch with no broker: says so, exits 1 ($((SECONDS - s)) s)" "$(last_err)" \
  "outdialctl: cannot reach the Kafka brokers at $DEAD (--kafka-brokers)"
no_raw_logs && ok "watch with no broker: no librdkafka lines" || not_ok "watch: raw lines: $(head -2 "$T_DIR/err")"
run 1 outdialctl --kafka-brokers "$DEAD" --kafka-extra message.timeout.ms=2000 \
  submit --org acme --agent a --to +15551234567 --request-id cli-dead
check "submit with no broker: one line" "$(last_err)" "outdialctl: 1 of 1 not delivered: Local: Message timed out"
no_raw_logs && ok "submit with no broker: no librdkafka lines" || not_ok "submit: raw lines: $(head -2 "$T_DIR/err")"

# Kafka security settings reach librdkafka (first-class, not only through --kafka-extra)
run 1 outdialctl --kafka-security-protocol bogus watch
check "a security protocol librdkafka does not know" "$(last_err)" \
  'outdialctl: Invalid value "bogus" for configuration property "security.protocol"'
run 2 outdialctl --kafka-sasl-password-file /nonexistent/pw watch
check "a SASL password file that is not there" "$(last_err)" \
  "outdialctl: OUTDIAL_KAFKA_SASL_PASSWORD_FILE /nonexistent/pw: No such file or directory"

# --json where the help offers it
run 0 outdialctl migrate --json
check "migrate --json" "$(cat "$T_DIR/out")" \
  "{\"version\":$(ls "$OUTDIAL_ROOT"/schemas/sql/[0-9]*.sql | wc -l),\"applied\":0}"
run 0 outdialctl submit --json --org acme --agent a --to +15551234567 --request-id cli-json
check "submit --json" "$(cat "$T_DIR/out")" '{"delivered":1,"not_delivered":0,"request_id":"cli-json"}'
run 0 outdialctl audit --json
check "audit --json: a document that says ok" \
  "$(/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["ok"], len(d["checks"]) > 5)' "$T_DIR/out")" \
  "True True"
finish
