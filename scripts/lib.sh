# Shared by the scripts: paths, logging, and installing what is missing.
# Sourced, not run.
OUTDIAL_ROOT=${OUTDIAL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
OUTDIAL_DEV=${OUTDIAL_DEV:-$OUTDIAL_ROOT/.dev}
OUTDIAL_BUILD=${OUTDIAL_BUILD:-$OUTDIAL_ROOT/build}
OUTDIAL_CACHE=${OUTDIAL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/outdial}
KAFKA_VERSION=3.9.1

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Debian packages the project needs to build, test and run locally (clang and
# libclang-rt-dev: the libFuzzer harnesses of scripts/fuzz; libmicrohttpd-dev:
# the HTTP server of lib/httpd; python3-requests: the tests' independent
# HTTP client; wrk: the load generator of scripts/bench/api and t_api_load).
OUTDIAL_APT_PACKAGES=(build-essential cmake ninja-build pkg-config librdkafka-dev libpq-dev
  libjansson-dev libcurl4-openssl-dev libssl-dev libmicrohttpd-dev libsofia-sip-ua-dev postgresql-15 postgresql-client-15
  kcat sip-tester kamailio baresip tcpdump procps bc python3-jsonschema python3-requests openssl wrk
  clang libclang-rt-dev)
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
