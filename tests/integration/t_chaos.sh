# scripts/chaos, short: 30 s of load at 50 requests a second, with each
# scheduler and dialer killed (SIGKILL) and restarted, the broker killed and
# restarted, PostgreSQL restarted and the trunk down for 5 s; every
# invariant must hold (scripts/chaos says which, and checks them from the
# outside). On a stack of its own: its own PostgreSQL, Kafka broker and SIP
# ports, picked from this test's PID away from those of scripts/dev and of
# the other tests, so it never disturbs the stack the other tests share.
set -euo pipefail
OUTDIAL_ROOT=${OUTDIAL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
OUTDIAL_BIN=${OUTDIAL_BIN:-$OUTDIAL_ROOT/build/bin}
# Every port below Linux's ephemeral range (32768-60999), where a listener
# can meet the local port of an outgoing socket (seen: Kafka's "Address
# already in use"), and apart from the SIP ports below.
base=$((14000 + ($$ % 3000) * 3))
export OUTDIAL_BIN OUTDIAL_CHAOS_PG_PORT=$base OUTDIAL_CHAOS_KAFKA_PORT=$((base + 1))
# SIP (UDP) below Linux's ephemeral range (32768-60999): a bind there can
# meet the local port of some outgoing socket (seen: "Address already in use")
export OUTDIAL_CHAOS_SIP_PORT=$((24000 + ($$ % 1000) * 4))
export OUTDIAL_CHAOS_DIR=${OUTDIAL_CHAOS_DIR:-$OUTDIAL_BIN/../chaos-test}
exec "$OUTDIAL_ROOT/scripts/chaos" --duration "${OUTDIAL_CHAOS_TEST_SECONDS:-30}" \
  --rate "${OUTDIAL_CHAOS_TEST_RATE:-50}"
