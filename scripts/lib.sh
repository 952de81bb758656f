# Shared by the scripts: paths, logging, and installing what is missing.
# Sourced, not run.
OUTDIAL_ROOT=${OUTDIAL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
OUTDIAL_DEV=${OUTDIAL_DEV:-$OUTDIAL_ROOT/.dev}
OUTDIAL_BUILD=${OUTDIAL_BUILD:-$OUTDIAL_ROOT/build}
OUTDIAL_CACHE=${OUTDIAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outdial}
KAFKA_VERSION=3.9.1
# The scripts run several schedulers and dialers side by side: each one's
# ops listener (/metrics, /healthz, /readyz) takes a free loopback port
# unless OUTDIAL_OPS_LISTEN says otherwise (the binaries' defaults are
# 127.0.0.1:9464 for the scheduler and 127.0.0.1:9465 for the dialer).
export OUTDIAL_OPS_LISTEN=${OUTDIAL_OPS_LISTEN:-127.0.0.1:0}

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the project needs to build, test and run locally (clang and
# libclang-rt-dev: the libFuzzer harnesses of scripts/fuzz; libmicrohttpd-dev:
# the HTTP server of lib/httpd; python3-requests: the tests' independent
# HTTP client; python3-venv: the PyPI test clients of tests/requirements.txt;
# prometheus: its server and promtool scrape the ops listeners in tests; wrk:
# the load generator of scripts/bench/api and t_api_load).
OUTDIAL_APT_PACKAGES=(build-essential cmake ninja-build pkg-config librdkafka-dev libpq-dev
  libjansson-dev libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libsofia-sip-ua-dev postgresql-15 postgresql-client-15
  kcat sip-tester kamailio baresip tcpdump procps bc python3-jsonschema python3-requests python3-venv openssl wrk
  clang libclang-rt-dev prometheus)
OUTDIAL_APT_JAVA=(openjdk-17-jre-headless maven)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# install_packages PKG...: installs those not installed yet.
install_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# build [cmake args...]: configures (once) and builds into $OUTDIAL_BUILD.
build() {
  if [ ! -f "$OUTDIAL_BUILD/build.ninja" ]; then
    cmake -S "$OUTDIAL_ROOT" -B "$OUTDIAL_BUILD" -G Ninja "$@" >/dev/null
  fi
  ninja -C "$OUTDIAL_BUILD" >/dev/null || { ninja -C "$OUTDIAL_BUILD"; die "build failed"; }
}

# kafka_jars: prints the directory of the Apache Kafka broker's jars,
# fetching them from Maven Central once.
kafka_jars() {
  local dir="$OUTDIAL_CACHE/kafka-$KAFKA_VERSION/libs"
  if [ ! -f "$dir/.complete" ]; then
    install_packages "${OUTDIAL_APT_JAVA[@]}"
    say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (once)"
    mkdir -p "$dir"
    mvn -q -B -f "$OUTDIAL_ROOT/scripts/kafka/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$dir" >&2 || die "could not fetch the Kafka jars"
    touch "$dir/.complete"
  fi
  echo "$dir"
}

# py_clients: prints the python of a virtualenv holding the independent test
# clients from PyPI that Debian does not package (tests/requirements.txt,
# pinned), made once under the cache and again when the list changes.
py_clients() {
  local venv="$OUTDIAL_CACHE/venv" req="$OUTDIAL_ROOT/tests/requirements.txt" sum
  sum=$(sha256sum "$req" | cut -c1-16)
  if [ "$(cat "$venv/.req" 2>/dev/null)" != "$sum" ]; then
    install_packages python3-venv
    say "installing the PyPI test clients (tests/requirements.txt)"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || die "python3 -m venv failed"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$req" >&2 ||
      die "pip install -r tests/requirements.txt failed (is PyPI reachable?)"
    echo "$sum" > "$venv/.req"
  fi
  echo "$venv/bin/python"
}

# wait_until SECONDS CMD...: retries CMD every 0.2 s; fails after SECONDS.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# For the benchmarks: q SQL runs one query on $OUTDIAL_PG_DSN, unaligned;
# median prints the median of the numbers on stdin, one per line.
q() { psql "$OUTDIAL_PG_DSN" -qtAX -c "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
