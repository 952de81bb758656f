# outdialctl migrate: idempotent, and safe when several pods run it at once.
. "$(dirname "$0")/lib.sh"
psql "$OUTDIAL_DEV_PG_ADMIN_DSN" -qc "CREATE DATABASE od_$T_ID" >/dev/null

# Five at once on an empty database: each succeeds, the schema is applied once.
for i in 1 2 3 4 5; do outdialctl migrate >"$T_DIR/m$i.out" 2>&1 & done
fails=0
for job in $(jobs -p); do wait "$job" || fails=$((fails + 1)); done
check "concurrent migrations all succeed" "$fails" 0
check "each migration recorded once" "$(sql 'SELECT count(*) FROM outdial_schema_migrations')" \
  "$(ls "$OUTDIAL_ROOT"/schemas/sql/*.sql | wc -l)"
applied_now=$(cat "$T_DIR"/m*.out | grep -vc '(0 migrations applied now)' || true)
check "exactly one of them applied them" "$applied_now" 1

out=$(outdialctl migrate)
check "a second migrate applies nothing" "$(echo "$out" | grep -c '(0 migrations applied now)')" 1

# A bad DSN is a clear error, not a crash.
set +e
err=$(OUTDIAL_PG_DSN="postgresql://outdial@127.0.0.1:1/none" outdialctl migrate 2>&1)
rc=$?
set -e
check "unreachable database exits non-zero" "$rc" 1
check "and says so" "$(echo "$err" | grep -c '^outdialctl: database:')" 1
finish
