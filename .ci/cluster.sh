# Sourced by .ci/regress, .ci/demo and bench/run: a throwaway PostgreSQL 15
# cluster in its own directory, on its own port, run by an unprivileged user
# (initdb and postgres refuse to run as root).  Never touches the system cluster.
#
#   cluster_start        sets RISK_WORK (a scratch directory the server can read),
#                        PGHOST, PGPORT, PGUSER, PGDATABASE; stops the cluster on exit
#   cluster_stop
#
#   RISK_SHARED_BUFFERS  the server's shared_buffers (default 512MB; bench/run: 4GB)
#   RISK_SERVER_ENV      extra environment of the server (VAR=value ..., e.g. the
#                        sanitizer runtime for make test-asan)

PGBIN=${PGBIN:-$(pg_config --bindir)}

as_server_user() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  local port=${RISK_PORT:-54329}
  while (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do
    port=$((port + 1))
  done
  echo "$port"
}

cluster_start() {
  RISK_WORK=$(mktemp -d /tmp/risk.XXXXXX)
  chmod 755 "$RISK_WORK"
  if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$RISK_WORK"; fi
  export RISK_WORK
  trap cluster_stop EXIT

  PGPORT=$(free_port)
  export PGHOST=$RISK_WORK PGPORT PGUSER=postgres PGDATABASE=postgres

  as_server_user "$PGBIN/initdb" -D "$RISK_WORK/data" -U postgres -A trust \
    -E UTF8 --locale=C --no-sync >"$RISK_WORK/initdb.log" 2>&1 || {
      cat "$RISK_WORK/initdb.log" >&2; return 1; }
  cat >>"$RISK_WORK/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $PGPORT
unix_socket_directories = '$RISK_WORK'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = ${RISK_SHARED_BUFFERS:-512MB}
work_mem = 64MB
maintenance_work_mem = 256MB
max_wal_size = 4GB
jit = off
log_min_messages = warning
CONF
  # shellcheck disable=SC2086
  as_server_user env ${RISK_SERVER_ENV:-} "$PGBIN/pg_ctl" -D "$RISK_WORK/data" -l "$RISK_WORK/server.log" \
    -w -t 60 start >/dev/null || { cat "$RISK_WORK/server.log" >&2; return 1; }
}

cluster_stop() {
  [ -n "${RISK_WORK:-}" ] && [ -d "$RISK_WORK/data" ] || return 0
  as_server_user "$PGBIN/pg_ctl" -D "$RISK_WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ -z "${RISK_KEEP:-}" ]; then rm -rf "$RISK_WORK"; else echo "kept $RISK_WORK" >&2; fi
}
