#!/usr/bin/env bash
# Runs every test of Hearth: Rust format/lint, unit, property and integration
# tests, the web client's audit, lint, type check and unit tests, the browser
# end-to-end tests against the release binary (which embeds the web UI), the
# tests behind a real nginx, the Autobahn WebSocket conformance suite, and
# the container image (packaging/Dockerfile built and run with Podman, as
# `docker run` and with both compose files). Installs what it needs when it is
# missing: Debian's chromium, nginx, postgresql, podman and its tools, and
# CJK/emoji fonts for the screenshots.
# Starts a throw-away PostgreSQL cluster (scripts/postgres.sh) for the
# cluster-mode tests, which find it in HEARTH_TEST_PG, and removes it on exit.
#
# HEARTH_SKIP_CONTAINER=1 skips the container image (it needs root and adds
# about five minutes on two cores) for a quicker local run; CI never skips it.
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
  if [ "$containers" = 1 ]; then
    # Rootful podman with runc (crun fails on these machines' cgroups),
    # debootstrap for the stand-in base images, CNI networking with iptables
    # for published ports, and CNI's dnsname plugin so compose services find
    # each other by name.
    local tool
    for tool in podman runc debootstrap podman-compose; do
      command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    command -v iptables >/dev/null 2>&1 || missing+=(iptables)
    [ -e /usr/lib/cni/bridge ] || missing+=(containernetworking-plugins)
    [ -e /usr/lib/cni/dnsname ] || missing+=(golang-github-containernetworking-plugin-dnsname)
  fi
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

containers=1
if [ -n "${HEARTH_SKIP_CONTAINER:-}" ]; then
  if [ "${CI:-}" = true ]; then
    echo "HEARTH_SKIP_CONTAINER is for local runs; CI always tests the image" >&2; exit 1
  fi
  containers=0
fi

command -v cargo >/dev/null || { echo "cargo (Rust toolchain) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20 and npm are required" >&2; exit 1; }
install_packages

image_build=
stop_background() {
  if [ -n "$image_build" ]; then pkill -P "$image_build" 2>/dev/null || true; kill "$image_build" 2>/dev/null || true; fi
  pg_stop
}
trap stop_background EXIT

if [ "$containers" = 1 ]; then
  # The image build (stand-in base images, then packaging/Dockerfile) waits
  # on the network and the disk for much of its time, so it runs beside the
  # compile steps below; the tests start only once it is done.
  step "container image: packaging/podman-build.sh, in the background (target/podman-build.log)"
  mkdir -p target
  ./packaging/podman-build.sh hearth:latest >target/podman-build.log 2>&1 &
  image_build=$!
fi

step "PostgreSQL for the cluster-mode tests (scripts/postgres.sh)"
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

if [ "$containers" = 1 ]; then
  step "container image: waiting for packaging/podman-build.sh"
  if ! wait "$image_build"; then
    image_build=
    tail -n 60 target/podman-build.log
    echo "packaging/podman-build.sh failed (whole log: target/podman-build.log)" >&2
    exit 1
  fi
  image_build=
  grep '^\[podman-build ' target/podman-build.log
fi

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

if [ "$containers" = 1 ]; then
  step "container image: docker run, docker-compose.yml, docker-compose.cluster.yml (podman)"
  cargo test --release --locked --test container -- --ignored --test-threads 1 --nocapture
else
  step "container image: skipped (HEARTH_SKIP_CONTAINER)"
fi

step "all tests passed"
