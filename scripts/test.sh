#!/usr/bin/env bash
# Runs every test of Hearth: Rust format/lint, unit, property and integration
# tests, the web client's audit, lint, type check and unit tests, the browser
# end-to-end tests against the release binary (which embeds the web UI), the
# tests behind a real nginx, and the Autobahn WebSocket conformance suite. Installs what it needs when it is missing: Debian's
# chromium, nginx and postgresql, and CJK/emoji fonts for the screenshots.
# Starts a throw-away PostgreSQL cluster (scripts/postgres.sh) for the
# cluster-mode tests, which find it in HEARTH_TEST_PG, and removes it on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh

step() { printf '\n==> %s\n' "$*"; }

install_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
  # Fonts for the Chinese UI and emoji, so the e2e screenshots are readable.
  fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-noto-cjk)
  fc-list 2>/dev/null | grep -qi emoji || missing+=(fonts-noto-color-emoji)
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  step "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  # Packages like nginx start their service on install; the tests run their
  # own instances, so keep the package scripts from starting one.
  local policy=/usr/sbin/policy-rc.d added_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=1
  fi
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ "$added_policy" = 1 ]; then "${sudo[@]}" rm -f "$policy"; fi
}

command -v cargo >/dev/null || { echo "cargo (Rust toolchain) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20 and npm are required" >&2; exit 1; }
install_packages

step "PostgreSQL for the cluster-mode tests (scripts/postgres.sh)"
trap pg_stop EXIT
pg_start

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "web: npm ci, audit, lint, type check, unit tests"
(cd web && npm ci --no-audit --no-fund \
  && node scripts/audit.mjs \
  && npm run lint && npm run typecheck && npm test)

# Release build first: it runs the web build and embeds web/dist, and the
# tests below run against that binary.
step "cargo build --release (embeds the web UI)"
cargo build --release --locked

step "Rust unit and integration tests"
cargo test --release --locked

# The API suite again on the cluster store, each server on a fresh database
# of the throw-away PostgreSQL. Skipped there: what only SQLite has (disk
# faults of its file, upgrading its old files, the admin CLI on the data dir).
step "the API suite on the cluster store (PostgreSQL)"
HEARTH_TEST_STORE=postgres cargo test --release --locked --test api -- \
  --skip faults:: --skip upgrade:: --skip rooms::the_admin_cli_manages_rooms_beside_a_running_server

step "browser end-to-end tests (Chromium)"
(cd web && HEARTH_BIN="$PWD/../target/release/hearth" npm run e2e)

# WebSocket conformance of the hand-written upgrade and frame writer.
step "Autobahn|Testsuite, cases 1-10 (scripts/autobahn.sh)"
./scripts/autobahn.sh

# Small loads only; fails on a lost message or an error, never on timing.
step "benchmark smoke (hearth-bench suite --quick)"
target/release/hearth-bench suite --quick --out target/bench-smoke

step "all tests passed"
