#!/usr/bin/env bash
# Interleaved A/B runs of one `hearth-bench load` scenario against two builds
# (this machine is noisy: compare builds only run for run, alternating).
#
#   scripts/bench-ab.sh A_DIR B_DIR ROUNDS -- LOAD_ARGS...
#
# A_DIR and B_DIR each hold a `hearth` and a `hearth-bench` binary. Every round
# starts a fresh server from A, runs `hearth-bench load --url … --pid …
# LOAD_ARGS` with A's bench, stops it, then the same for B. Extra server flags:
# A_SERVER_ARGS / B_SERVER_ARGS (e.g. limits only one build knows). Prints one
# summary line per run; the full reports go to target/bench-ab/.
set -euo pipefail
[ $# -ge 4 ] && [ "$4" = "--" ] || { sed -n '2,12p' "$0"; exit 2; }
a_dir=$1 b_dir=$2 rounds=$3
shift 4
out=target/bench-ab
mkdir -p "$out"

run_one() { # label dir extra-server-args...
  local label=$1 dir=$2
  shift 2
  local data log pid addr
  data=$(mktemp -d)
  log=$(mktemp)
  "$dir/hearth" serve --bind 127.0.0.1:0 --no-open --log warn --data-dir "$data" \
    --send-rate 1000000 --send-burst 1000000 "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    addr=$(sed -n 's/.*listening on http:\/\/\([0-9.:]*\).*/\1/p' "$log" | head -1)
    [ -n "$addr" ] && break
    sleep 0.1
  done
  [ -n "$addr" ] || { cat "$log" >&2; kill "$pid"; exit 1; }
  local report="$out/$label-$(date +%s%N).txt"
  "$dir/hearth-bench" load --url "http://$addr" --pid "$pid" "${LOAD_ARGS[@]}" >"$report" 2>&1 || true
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data" "$log"
  # label | sent msg/s | ack p50/p99 | delivery p50/p99 | ratio | RSS per connection | CPU under load
  field() { grep -E "^$1" "$report" | grep -oE "$2" | head -1 | grep -oE '[ (][0-9.]+( [KM]iB)?' | tr -d ' (' | paste -sd/ -; }
  printf '%s | %s msg/s | ack %s ms | delivery %s ms | ratio %s | %s per conn | CPU %s %%\n' "$label" \
    "$(field sent '\([0-9.]+ msg/s')" \
    "$(field 'ack latency' 'p50 [0-9.]+ ms \| p99 [0-9.]+')" \
    "$(field latency 'p50 [0-9.]+ ms \| p99 [0-9.]+')" \
    "$(field deliveries 'ratio [0-9.]+')" \
    "$(field 'server RSS' 'per connection [0-9.]+ [KM]iB')" \
    "$(field 'server CPU' 'under load [0-9.]+')"
}

LOAD_ARGS=("$@")
read -r -a a_extra <<<"${A_SERVER_ARGS:-}"
read -r -a b_extra <<<"${B_SERVER_ARGS:-}"
for round in $(seq "$rounds"); do
  echo "# round $round"
  run_one A "$a_dir" "${a_extra[@]}"
  run_one B "$b_dir" "${b_extra[@]}"
done
