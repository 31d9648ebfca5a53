#!/usr/bin/env bash
# The "Cluster (PostgreSQL)" benchmarks of docs/BENCHMARKS.md, rerunnable:
#
#   scripts/bench-cluster.sh [fanout] [ingest] [sweep] [statements]
#                                   (fanout and ingest when none is named)
#
# Starts a throw-away PostgreSQL (scripts/postgres.sh), then for every run a
# fresh database and fresh `hearth` nodes (own data dirs, abuse limits out of
# the way, as `hearth-bench suite` does), runs `hearth-bench load` against all
# of them (`--url` and `--pid` per node, `--pg-pid` for PostgreSQL's CPU),
# stops the nodes and drops the database. Configurations take turns, round
# after round, because this machine's noise is larger than most effects.
# Everything it started is stopped on exit, PostgreSQL included.
#
#   fanout  10,000 WebSocket receivers spread over the nodes, 10 HTTP senders
#           spread the same way, 10 msg/s for 20 s: delivery ratio, latency
#           same-node vs cross-node, CPU per node and of PostgreSQL.
#   ingest  closed loop: 20 HTTP senders (each its own account) each send as
#           soon as the previous message is acked (--rate 100000) for 10 s,
#           one WebSocket receiver per node (3 in all); acked msg/s. While it runs, pg_stat_activity
#           is sampled every 0.2 s: what the database's backends are doing.
#   sweep   the ingest run with 1, 4 and 20 senders (SWEEP_SENDERS) on
#           SWEEP_CONFIGS ("pg1 pg1-nosync"): how the acked rate grows with
#           concurrent writers when they all queue for one lock.
#   statements  the ingest run on STATEMENTS_CONFIGS ("pg1 pg2") with
#           pg_stat_statements loaded (PostgreSQL is restarted with it, so
#           this scenario runs last): every statement's calls per acked
#           message and its mean execution time inside PostgreSQL.
#
# A configuration is `sqlite` (one node on SQLite) or `pgN` (N nodes on one
# PostgreSQL database); `pgN-nosync` sets synchronous_commit=off on the
# database (a diagnostic: what the commit's WAL flush costs).
#
# Environment:
#   ROUNDS          rounds of every configuration (2)
#   BIN             dir with hearth and hearth-bench (target/release, built
#                   when missing)
#   OUT             reports: text, JSON, wait samples, summary.txt
#                   (target/bench-cluster/<time>)
#   FANOUT_CONFIGS  ("sqlite pg1 pg2"); FANOUT_CONNS (10000), FANOUT_RATE (10),
#                   FANOUT_SECS (20)
#   INGEST_CONFIGS  ("sqlite pg1 pg2 pg3"); INGEST_SECS (10)
#   SWEEP_CONFIGS   ("pg1 pg1-nosync"); SWEEP_SENDERS ("1 4 20")
#   SENDER_ACCOUNTS accounts the ingest senders post as (20: one each; 0:
#                   the receivers' 3 users, as `hearth-bench load` does
#                   without --sender-accounts)
#   STATEMENTS_CONFIGS ("pg1 pg2")
#   QUIET_BUSY, QUIET_WAIT  before each run, wait up to QUIET_WAIT s (300)
#                   until the machine is below QUIET_BUSY % busy (15):
#                   builds or tests running beside it swamp the results
# Needs jq. One summary line per run goes to stdout and OUT/summary.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-2}
BIN=${BIN:-target/release}
OUT=${OUT:-target/bench-cluster/$(date +%Y%m%d-%H%M%S)}
FANOUT_CONFIGS=${FANOUT_CONFIGS:-sqlite pg1 pg2}
FANOUT_CONNS=${FANOUT_CONNS:-10000}
FANOUT_RATE=${FANOUT_RATE:-10}
FANOUT_SECS=${FANOUT_SECS:-20}
INGEST_CONFIGS=${INGEST_CONFIGS:-sqlite pg1 pg2 pg3}
INGEST_SECS=${INGEST_SECS:-10}
SWEEP_CONFIGS=${SWEEP_CONFIGS:-pg1 pg1-nosync}
SWEEP_SENDERS=${SWEEP_SENDERS:-1 4 20}
SENDER_ACCOUNTS=${SENDER_ACCOUNTS:-20}
STATEMENTS_CONFIGS=${STATEMENTS_CONFIGS:-pg1 pg2}
PGSS=

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(fanout ingest)
for s in "${scenarios[@]}"; do
  case $s in fanout | ingest | sweep | statements) ;; *) sed -n '2,51p' "$0"; exit 2 ;; esac
done
command -v jq >/dev/null || { echo "bench-cluster.sh needs jq (apt-get install jq)" >&2; exit 1; }
if [ ! -x "$BIN/hearth" ] || [ ! -x "$BIN/hearth-bench" ]; then
  [ "$BIN" = target/release ] || { echo "no hearth/hearth-bench in $BIN" >&2; exit 1; }
  cargo build --release
fi
mkdir -p "$OUT"

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

NODE_PIDS=()
NODE_DIRS=()
NODE_URLS=()
SAMPLER=

stop_nodes() {
  local pid
  for pid in "${NODE_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${NODE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ ${#NODE_DIRS[@]} -gt 0 ]; then rm -rf "${NODE_DIRS[@]}"; fi
  NODE_PIDS=() NODE_DIRS=() NODE_URLS=()
}

cleanup() {
  if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
  stop_nodes
  pg_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts one node (on SQLite when the database URL is empty) and waits until
# it listens.
start_node() {
  local db_url=$1 dir pid addr=
  dir=$(mktemp -d)
  : >"$dir/log"
  local db=()
  [ -z "$db_url" ] || db=(--database "$db_url")
  "$BIN/hearth" --bind 127.0.0.1:0 --no-open --log warn --data-dir "$dir" "${db[@]}" \
    --send-rate 1000000 --send-burst 1000000 --read-rate 1000000 --read-burst 1000000 \
    --max-websockets-per-user 1000000 >"$dir/log" 2>&1 &
  pid=$!
  NODE_PIDS+=("$pid")
  NODE_DIRS+=("$dir")
  for _ in $(seq 300); do
    addr=$(sed -n 's/.*listening on http:\/\/\([0-9.:]*\).*/\1/p' "$dir/log" | head -1)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$addr" ] || { echo "node did not start:" >&2; cat "$dir/log" >&2; return 1; }
  NODE_URLS+=("http://$addr")
}

# What every backend of the run's database is doing, every 0.2 s, until
# killed: sample time, application, state, wait event, whether its
# transaction has an id yet (SELECT … FOR UPDATE assigns one: a transaction
# idle without one has not reached the stream lock) and what it runs (or ran
# last): which lock, and whose commit, it waits for.
SAMPLE_SQL="select extract(epoch from now()), coalesce(application_name, ''), coalesce(state, ''),
  coalesce(wait_event_type, ''), coalesce(wait_event, ''), backend_xid is not null,
  regexp_replace(left(query, 200), '[[:space:]|]+', ' ', 'g')
  from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid();"

# Averages the samples taken while the database was busy (any backend not
# idle): backends per sample in each class. Only one transaction at a time
# holds the stream lock (`stream_head ... FOR UPDATE`); it is the one that
# runs, waits for the node's next statement (idle in transaction, with a
# transaction id), flushes WAL or queues its NOTIFY; the rest wait on the
# lock (Lock:tuple / Lock:transactionid). The shared send limit updates one
# row per user (`rate_buckets`), a commit of its own.
summarize_waits() {
  awk -F'|' '
    $2 == "hearth-listener" { next }
    {
      t = $1; st = $3; ty = $4; ev = $5; xid = $6; q = $7
      if (st == "idle") next
      what = (q ~ /stream_head/) ? "the stream lock" : (q ~ /rate_buckets/) ? "a send-limit row" : "another lock"
      if (st == "idle in transaction" && xid == "t") c = "lock held, waiting for the node (idle in transaction)"
      else if (st == "idle in transaction") c = "before the lock, waiting for the node (idle in transaction)"
      else if (ty == "Lock" && (ev == "tuple" || ev == "transactionid")) c = "waiting for " what " (Lock:" ev ")"
      else if (ty == "Lock" && ev == "object") c = "NOTIFY queue lock (Lock:object)"
      else if (ty == "LWLock" && ev ~ /^Notify/) c = "NOTIFY queue (LWLock:" ev ")"
      else if ((ty == "IO" && ev ~ /^WAL/) || (ty == "LWLock" && ev ~ /^WAL/))
        c = "WAL write/flush (" ty ":" ev ")" ((q ~ /rate_buckets/) ? " of a send-limit update" : "")
      else if (ty == "Client") c = "waiting for the node (" ty ":" ev ")"
      else if (ty == "" && q ~ /rate_buckets/) c = "running a send-limit update"
      else if (ty == "" && q ~ /FROM events/) c = "running a publisher read"
      else if (ty == "") c = "running (no wait)"
      else c = "other (" ty ":" ev ")"
      busy[t] = 1; n[c]++
    }
    END {
      s = 0; for (t in busy) s++
      if (s == 0) { print "  (no busy samples)"; exit }
      printf "  %d busy samples; backends per sample:\n", s
      k = 0; for (c in n) { k++; key[k] = c }
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
        if (n[key[j]] > n[key[i]]) { x = key[i]; key[i] = key[j]; key[j] = x }
      for (i = 1; i <= k; i++) printf "  %6.2f  %s\n", n[key[i]] / s, key[i]
    }' "$1"
}

# The machine's CPU use (all cores, %) over one second, from /proc/stat.
cpu_busy() {
  local a b
  a=$(head -1 /proc/stat)
  sleep 1
  b=$(head -1 /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); t = 0
    for (i = 2; i <= n; i++) t += y[i] - x[i]
    idle = (y[5] + y[6]) - (x[5] + x[6])
    printf "%.0f", (t > 0 ? 100 * (t - idle) / t : 0) }'
}

# Waits (QUIET_WAIT seconds at most, default 300) until something else on
# the machine (a build, other tests) leaves it below QUIET_BUSY % busy
# (default 15): on a small shared machine those dominate the results.
wait_quiet() {
  local waited=0 busy
  while busy=$(cpu_busy) && [ "$busy" -gt "${QUIET_BUSY:-15}" ]; do
    if [ "$waited" -ge "${QUIET_WAIT:-300}" ]; then
      echo "machine still ${busy} % busy after ${waited} s; running anyway" >&2
      break
    fi
    [ "$waited" -gt 0 ] || echo "waiting for the machine to be quiet (${busy} % busy)…" >&2
    sleep 4
    waited=$((waited + 5))
  done
  BUSY_BEFORE=$busy
}

RUN_NO=0
# run LABEL CONFIG -- LOAD_ARGS...: one run on fresh nodes; prints the
# report's path.
run() {
  local label=$1 config=$2
  shift 3
  RUN_NO=$((RUN_NO + 1))
  local report="$OUT/$RUN_NO-$label-$config"
  local nodes=1 db_url= db= pg=()
  if [[ $config == pg* ]]; then
    nodes=${config#pg}
    nodes=${nodes%%-*}
    db=b$RUN_NO
    psql -X -q "$HEARTH_TEST_PG" -c "create database $db"
    [ -z "$PGSS" ] || psql -X -q "${HEARTH_TEST_PG%/*}/$db" -c "create extension pg_stat_statements"
    db_url=${HEARTH_TEST_PG%/*}/$db
    if [[ $config == *-nosync ]]; then
      psql -X -q "$HEARTH_TEST_PG" -c "alter database $db set synchronous_commit = off"
    fi
    pg=(--pg-pid "$(head -1 "$_HEARTH_PG_DIR/data/postmaster.pid")")
  fi
  wait_quiet
  local i
  for i in $(seq "$nodes"); do start_node "$db_url"; done
  if [ -n "$db" ]; then
    printf '%s\n\\watch 0.2\n' "$SAMPLE_SQL" | psql -X -q -A -t -F'|' "$db_url" >"$report.waits" 2>&1 &
    SAMPLER=$!
  fi
  { uptime; echo "machine busy before the run: $BUSY_BEFORE %"; } >"$report.txt"
  local urls pids
  urls=$(IFS=,; echo "${NODE_URLS[*]}")
  pids=$(IFS=,; echo "${NODE_PIDS[*]}")
  "$BIN/hearth-bench" load --url "$urls" --pid "$pids" "${pg[@]}" --json "$report.json" "$@" \
    >>"$report.txt" 2>&1 || echo "hearth-bench: exit $? (see $report.txt)" >&2
  if [ -n "$SAMPLER" ]; then
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
  fi
  stop_nodes
  if [ -n "$PGSS" ] && [ -n "$db" ]; then
    local acked
    acked=$(jq -r '.acked // 0' "$report.json" 2>/dev/null || echo 0)
    echo "select calls, round(calls / greatest($acked, 1)::numeric, 2) as per_message,
            round(mean_exec_time::numeric, 3) as mean_ms,
            left(regexp_replace(query, '\s+', ' ', 'g'), 80) as statement
          from pg_stat_statements
          where dbid = (select oid from pg_database where datname = current_database())
          order by calls desc limit 10;" |
      psql -X -P pager=off "$db_url" >"$report.statements" 2>&1 || true
  fi
  [ -z "$db" ] || psql -X -q "$HEARTH_TEST_PG" -c "drop database $db"
  RUN_REPORT=$report
}

# Node CPU list ("a+b") and PostgreSQL's CPU of a JSON report, under load.
cpu_cols() {
  jq -r '[(if (.per_node // []) | length > 0 then [.per_node[].load_cpu_percent | . * 10 | round / 10 | tostring] | join("+")
           else (.load_cpu_percent // 0 | . * 10 | round / 10 | tostring) end),
          (.database_load_cpu_percent // null | if . == null then "-" else (. * 10 | round / 10 | tostring) end)]
         | "hearth CPU \(.[0]) % | PostgreSQL CPU \(.[1]) %"' "$1"
}

summary() {
  echo "$*" | tee -a "$OUT/summary.txt"
}

fanout() {
  local round config j
  for round in $(seq "$ROUNDS"); do
    for config in $FANOUT_CONFIGS; do
      run fanout "$config" -- --conns "$FANOUT_CONNS" --users 100 --senders 10 --http-senders \
        --rate "$FANOUT_RATE" --duration "${FANOUT_SECS}s" --idle 5s
      j=$RUN_REPORT.json
      [ -s "$j" ] || { summary "fanout $config round $round: no report ($RUN_REPORT.txt)"; continue; }
      summary "$(jq -r '"fanout \($c) r\($r) | \(.connections) conns | \(.acked) acked | ratio \(.delivery_ratio)"
        + " | all p50/p99 \(.latency.p50_ms)/\(.latency.p99_ms) ms"
        + (if .cluster then " | same-node \(.cluster.same_node.ratio) p50/p99 \(.cluster.same_node.latency.p50_ms)/\(.cluster.same_node.latency.p99_ms)"
             + " | cross-node \(.cluster.cross_node.ratio) p50/p99 \(.cluster.cross_node.latency.p50_ms)/\(.cluster.cross_node.latency.p99_ms)" else "" end)' \
        --arg c "$config" --arg r "$round" "$j") | $(cpu_cols "$j") | busy before $BUSY_BEFORE %"
    done
  done
}

# ingest_run LABEL CONFIG ROUND SENDERS: one closed-loop ingest run.
ingest_run() {
  local label=$1 config=$2 round=$3 senders=$4 j
  run "$label" "$config" -- --conns 3 --users 20 --senders "$senders" --http-senders \
    --sender-accounts "$SENDER_ACCOUNTS" --rate 100000 --duration "${INGEST_SECS}s" --idle 1s
  j=$RUN_REPORT.json
  [ -s "$j" ] || { summary "$label $config round $round: no report ($RUN_REPORT.txt)"; return; }
  summary "$(jq -r '"\($l) \($c) r\($r) | \(.senders) senders | \(.acked) acked, \(.acked / ($d | tonumber) | round) msg/s"
    + " | ack p50/p99 \(.ack_latency.p50_ms)/\(.ack_latency.p99_ms) ms | ratio \(.delivery_ratio)"' \
    --arg l "$label" --arg c "$config" --arg r "$round" --arg d "$INGEST_SECS" "$j") | $(cpu_cols "$j") | busy before $BUSY_BEFORE %"
  if [ -s "$RUN_REPORT.waits" ]; then summarize_waits "$RUN_REPORT.waits" | tee -a "$OUT/summary.txt"; fi
}

ingest() {
  local round config
  for round in $(seq "$ROUNDS"); do
    for config in $INGEST_CONFIGS; do ingest_run ingest "$config" "$round" 20; done
  done
}

sweep() {
  local round config senders
  for round in $(seq "$ROUNDS"); do
    for config in $SWEEP_CONFIGS; do
      for senders in $SWEEP_SENDERS; do ingest_run sweep "$config" "$round" "$senders"; done
    done
  done
}

statements() {
  local round config
  # Restart PostgreSQL with pg_stat_statements (scripts/postgres.sh's cluster).
  psql -X -q "$HEARTH_TEST_PG" -c "alter system set shared_preload_libraries = 'pg_stat_statements'"
  _pg_as_owner "$_HEARTH_PG_BIN/pg_ctl" -D "$_HEARTH_PG_DIR/data" -l "$_HEARTH_PG_DIR/postgres.log" \
    -w -t 30 restart >/dev/null
  PGSS=1
  for round in $(seq "$ROUNDS"); do
    for config in $STATEMENTS_CONFIGS; do
      ingest_run statements "$config" "$round" 20
      [ ! -s "$RUN_REPORT.statements" ] || tee -a "$OUT/summary.txt" <"$RUN_REPORT.statements"
    done
  done
}

pg_start
echo "reports in $OUT"
for s in fanout ingest sweep statements; do
  case " ${scenarios[*]} " in *" $s "*) "$s" ;; esac
done
