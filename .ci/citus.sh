# Sourced by .ci/citus_regress and bench/citus: a throwaway Citus cluster on
# loopback, a coordinator and two workers, each its own PostgreSQL 15 data
# directory under one scratch directory, run by an unprivileged user.
#
#   citus_available      true when Citus is installed, or can be built from
#                        ../shared/vendor/citus (then citus_build builds it)
#   citus_build          builds and installs Citus from the vendored source
#   citus_start          starts the three nodes, creates the database
#                        $PGDATABASE with citus and risk, adds the workers;
#                        sets RISK_WORK, PGHOST, PGPORT (the coordinator's),
#                        PGUSER, PGDATABASE, CITUS_PORTS; stops them on exit
#   citus_stop
#   citus_psql N ...     psql on node N (0: the coordinator, 1, 2: the workers)

. "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"

CITUS_VENDOR=${CITUS_VENDOR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/../shared/vendor/citus}
CITUS_VERSION=13.2.2

citus_installed() {
  local so
  so="$(pg_config --pkglibdir)/citus.so"
  [ -f "$so" ] && grep -qaF "Citus $CITUS_VERSION " "$so"
}

citus_available() {
  citus_installed || [ -x "$CITUS_VENDOR/build.sh" ]
}

citus_build() {
  citus_installed && return 0
  echo "risk: building Citus $CITUS_VERSION from $CITUS_VENDOR (about 2 minutes)"
  "$CITUS_VENDOR/build.sh" "${CITUS_BUILD_DIR:-/tmp/citus-build}"
}

citus_node_start() {
  local n=$1 port=$2 dir=$RISK_WORK/node$1
  as_server_user "$PGBIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --locale=C --no-sync \
    >"$RISK_WORK/initdb$n.log" 2>&1 || { cat "$RISK_WORK/initdb$n.log" >&2; return 1; }
  cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$RISK_WORK'
shared_preload_libraries = 'citus'
max_prepared_transactions = 100
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = ${RISK_SHARED_BUFFERS:-256MB}
work_mem = 64MB
max_wal_size = 2GB
jit = off
log_min_messages = warning
citus.enable_statistics_collection = off
CONF
  as_server_user "$PGBIN/pg_ctl" -D "$dir" -l "$RISK_WORK/server$n.log" -w -t 60 start >/dev/null ||
    { cat "$RISK_WORK/server$n.log" >&2; return 1; }
}

citus_psql() {
  local n=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -h "$RISK_WORK" -p "${CITUS_PORTS[$n]}" -U postgres -d "$PGDATABASE" "$@"
}

citus_start() {
  RISK_WORK=$(mktemp -d /tmp/risk-citus.XXXXXX)
  chmod 755 "$RISK_WORK"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$RISK_WORK"; fi
  export RISK_WORK
  trap citus_stop EXIT
  export PGUSER=postgres PGDATABASE=${PGDATABASE_CITUS:-risk_citus} PGHOST=$RISK_WORK
  CITUS_PORTS=()
  local n port=${RISK_PORT:-54339}
  for n in 0 1 2; do
    while (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do port=$((port + 1)); done
    CITUS_PORTS[$n]=$port
    citus_node_start "$n" "$port" || return 1
    port=$((port + 1))
  done
  export PGPORT=${CITUS_PORTS[0]}
  for n in 0 1 2; do
    psql -X -q -h "$RISK_WORK" -p "${CITUS_PORTS[$n]}" -U postgres -d postgres \
      -c "CREATE DATABASE $PGDATABASE" || return 1
    citus_psql "$n" -c "CREATE EXTENSION citus" || return 1
  done
  citus_psql 0 -c "SELECT citus_set_coordinator_host('127.0.0.1', ${CITUS_PORTS[0]})" \
               -c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[1]})" \
               -c "SELECT citus_add_node('127.0.0.1', ${CITUS_PORTS[2]})" >/dev/null || return 1
}

citus_stop() {
  [ -n "${RISK_WORK:-}" ] && [ -d "$RISK_WORK" ] || return 0
  local n
  for n in 0 1 2; do
    [ -d "$RISK_WORK/node$n" ] &&
      as_server_user "$PGBIN/pg_ctl" -D "$RISK_WORK/node$n" -m fast -w stop >/dev/null 2>&1
  done
  if [ -z "${RISK_KEEP:-}" ]; then rm -rf "$RISK_WORK"; else echo "kept $RISK_WORK" >&2; fi
}
