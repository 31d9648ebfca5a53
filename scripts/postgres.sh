# shellcheck shell=bash
# A throw-away PostgreSQL cluster for the cluster-mode tests. Source it, then
#
#   source scripts/postgres.sh && pg_start    # ... tests ... ; pg_stop
#
# pg_start installs Debian's postgresql package when initdb/pg_ctl are missing,
# creates a cluster in a fresh temp dir (initdb, trust auth, superuser
# `hearth`), starts it on a free port on 127.0.0.1 and exports
#
#   HEARTH_TEST_PG=postgres://hearth@127.0.0.1:PORT/postgres
#
# with the PostgreSQL bin dir (psql, pg_dump, ...) put first on PATH. pg_stop
# stops it (pg_ctl stop -m fast), removes the temp dir and unsets
# HEARTH_TEST_PG; it does nothing when no cluster runs, so it can be an EXIT
# trap. PostgreSQL refuses to run as root: as root, the server runs as the
# user HEARTH_PG_RUN_AS (default `nobody`), who owns the temp dir.
#
# The functions return non-zero on failure and never exit, and they leave the
# calling shell's options alone, so they are safe in an interactive shell and
# under `set -euo pipefail`.

if [ -z "${BASH_VERSION:-}" ]; then
  echo "scripts/postgres.sh needs bash" >&2
  return 1 2>/dev/null || exit 1
fi
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "source it: source scripts/postgres.sh && pg_start  (and pg_stop)" >&2
  exit 2
fi

# State of the running cluster (empty when none).
_HEARTH_PG_DIR=${_HEARTH_PG_DIR:-}
_HEARTH_PG_BIN=${_HEARTH_PG_BIN:-}
_HEARTH_PG_PORT=${_HEARTH_PG_PORT:-}

_pg_log() { printf 'postgres.sh: %s\n' "$*" >&2; }

# The directory holding initdb, pg_ctl, postgres and pg_isready, or nothing.
# Debian keeps them in /usr/lib/postgresql/<version>/bin, off PATH (its
# /usr/bin/psql is a wrapper), so look there too, newest version first.
_pg_find_bin() {
  local cand dir
  for cand in "$(command -v pg_ctl 2>/dev/null)" \
              $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    [ -n "$cand" ] || continue
    if [ -d "$cand" ]; then dir=$cand; else dir=$(dirname "$(readlink -f "$cand")"); fi
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] \
       && [ -x "$dir/pg_isready" ]; then
      printf '%s\n' "$dir"
      return 0
    fi
  done
  return 1
}

# Installs Debian's postgresql the way scripts/test.sh installs its packages:
# apt-get, sudo when not root, and a policy-rc.d that keeps the package from
# starting its own service (the tests run their own cluster).
_pg_install() {
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      _pg_log "need root (or sudo) to install postgresql"; return 1
    fi
  fi
  command -v apt-get >/dev/null 2>&1 \
    || { _pg_log "initdb/pg_ctl not found and no apt-get: install PostgreSQL"; return 1; }
  printf '\n==> %s\n' "installing Debian packages: postgresql"
  local policy=/usr/sbin/policy-rc.d added_policy=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null || return 1
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  "${sudo[@]}" apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q \
         --no-install-recommends postgresql || rc=$?
  if [ "$added_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi
  return "$rc"
}

# Runs a command as the cluster's owner: the current user, or
# HEARTH_PG_RUN_AS (default nobody) when root. The working directory is the
# temp dir, which that user can enter.
_pg_as_owner() {
  if [ "$(id -u)" -ne 0 ]; then
    (cd "$_HEARTH_PG_DIR" && "$@")
    return
  fi
  local user=${HEARTH_PG_RUN_AS:-nobody}
  if command -v runuser >/dev/null 2>&1; then
    (cd "$_HEARTH_PG_DIR" && runuser -u "$user" -- "$@")
  elif command -v setpriv >/dev/null 2>&1; then
    (cd "$_HEARTH_PG_DIR" && setpriv --reuid="$user" --regid="$(id -g "$user")" \
       --clear-groups -- "$@")
  else
    _pg_log "running as root, but neither runuser nor setpriv is available"
    return 1
  fi
}

# A TCP port on 127.0.0.1 that nothing listens on.
_pg_free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' \
      && return 0
  fi
  local i port
  for i in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  _pg_log "no free TCP port found"
  return 1
}

_pg_running() {
  [ -n "$_HEARTH_PG_DIR" ] && [ -f "$_HEARTH_PG_DIR/data/postmaster.pid" ] \
    && _pg_as_owner "$_HEARTH_PG_BIN/pg_ctl" -D "$_HEARTH_PG_DIR/data" status >/dev/null 2>&1
}

pg_start() {
  if [ -n "$_HEARTH_PG_DIR" ]; then
    if _pg_running; then
      _pg_log "already running: $HEARTH_TEST_PG"
      return 0
    fi
    pg_stop   # a leftover from a failed start: clean it up first
  fi

  local bin
  if ! bin=$(_pg_find_bin); then
    _pg_install || return 1
    bin=$(_pg_find_bin) || { _pg_log "postgresql installed, but initdb/pg_ctl not found"; return 1; }
  fi

  # A fresh temp dir; as root it belongs to the unprivileged owner, so it
  # must be somewhere that user can reach (TMPDIR may not be).
  local base=${TMPDIR:-/tmp} dir
  if [ "$(id -u)" -eq 0 ]; then
    local user=${HEARTH_PG_RUN_AS:-nobody}
    id "$user" >/dev/null 2>&1 || { _pg_log "user $user does not exist (set HEARTH_PG_RUN_AS)"; return 1; }
    if ! runuser -u "$user" -- test -x "$base" 2>/dev/null; then base=/tmp; fi
    dir=$(mktemp -d "$base/hearth-pg.XXXXXX") || return 1
    chown "$user:$(id -gn "$user")" "$dir" || { rm -rf "$dir"; return 1; }
  else
    dir=$(mktemp -d "$base/hearth-pg.XXXXXX") || return 1
  fi
  _HEARTH_PG_DIR=$dir
  _HEARTH_PG_BIN=$bin
  if ! _pg_as_owner test -w "$dir"; then
    _pg_log "$dir is not writable by the cluster's owner"
    pg_stop; return 1
  fi

  # initdb: C.UTF-8 collation when the system has it, else C.
  local locale=C
  if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
  if ! _pg_as_owner "$bin/initdb" -D "$dir/data" --auth=trust --username=hearth \
         -E UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1; then
    if [ "$locale" != C ] && _pg_as_owner rm -rf "$dir/data" \
       && _pg_as_owner "$bin/initdb" -D "$dir/data" --auth=trust --username=hearth \
            -E UTF8 --locale=C >"$dir/initdb.log" 2>&1; then
      :
    else
      _pg_log "initdb failed:"; cat "$dir/initdb.log" >&2
      pg_stop; return 1
    fi
  fi

  # Start on a free port; if another process takes the port between the
  # probe and the bind, try another one.
  local attempt port ready
  for attempt in 1 2 3; do
    port=$(_pg_free_port) || { pg_stop; return 1; }
    {
      echo "# scripts/postgres.sh"
      echo "listen_addresses = '127.0.0.1'"
      echo "port = $port"
      echo "unix_socket_directories = '$dir'"
      echo "max_connections = 300"
      echo "fsync = on"
      echo "logging_collector = off"
    } | _pg_as_owner tee -a "$dir/data/postgresql.conf" >/dev/null
    _HEARTH_PG_PORT=$port
    _pg_as_owner truncate -s 0 "$dir/postgres.log" 2>/dev/null || true
    # pg_ctl -w waits (30 s at most) until the server accepts connections,
    # and returns at once if the postmaster dies (e.g. the port was taken).
    ready=0
    if _pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 start \
         >"$dir/pg_ctl.log" 2>&1; then
      local i
      for i in $(seq 1 30); do
        if "$bin/pg_isready" -q -t 1 -h 127.0.0.1 -p "$port" -U hearth -d postgres; then
          ready=1; break
        fi
        sleep 1
      done
    fi
    [ "$ready" = 1 ] && break
    if grep -q 'could not bind\|Address already in use' "$dir/postgres.log" 2>/dev/null; then
      _pg_log "port $port was taken, trying another"
      _pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
      continue
    fi
    break
  done
  if [ "$ready" != 1 ]; then
    _pg_log "PostgreSQL did not start (or was not ready within 30 s); pg_ctl and server log:"
    cat "$dir/pg_ctl.log" "$dir/postgres.log" >&2 2>/dev/null || true
    pg_stop; return 1
  fi

  export HEARTH_TEST_PG="postgres://hearth@127.0.0.1:$port/postgres"
  case ":$PATH:" in *":$bin:"*) ;; *) export PATH="$bin:$PATH" ;; esac
  if ! "$bin/psql" -X -q -A -t "$HEARTH_TEST_PG" -c 'select 1' >/dev/null; then
    _pg_log "PostgreSQL answers pg_isready but not a query; its log:"
    cat "$dir/postgres.log" >&2
    pg_stop; return 1
  fi
  echo "PostgreSQL $("$bin/postgres" -V | awk '{print $3}') running at $HEARTH_TEST_PG (data and log in $dir)"
}

pg_stop() {
  local dir=$_HEARTH_PG_DIR bin=$_HEARTH_PG_BIN
  unset HEARTH_TEST_PG
  [ -n "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    local pid
    pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null || true)
    if ! _pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1; then
      # pg_ctl could not stop it: end the postmaster we started, by its pid.
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        _pg_log "pg_ctl stop failed; killing postmaster $pid"
        kill -QUIT "$pid" 2>/dev/null || true
        sleep 1
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
  rm -rf "$dir"
  _HEARTH_PG_DIR=
  _HEARTH_PG_PORT=
  return 0
}
