#!/usr/bin/env bash
# Runs every test of Hearth: Rust format/lint, unit and integration tests,
# the web client's lint, type check and unit tests, and the browser
# end-to-end tests against the release binary (which embeds the web UI).
# Installs what it needs (Debian's chromium) when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

install_packages() {
  local missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  if [ ${#missing[@]} -eq 0 ]; then return; fi
  step "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

command -v cargo >/dev/null || { echo "cargo (Rust toolchain) is required" >&2; exit 1; }
command -v npm >/dev/null || { echo "Node.js 20 and npm are required" >&2; exit 1; }
install_packages

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --all-targets --locked -- -D warnings

step "web: npm ci, lint, type check, unit tests"
(cd web && npm ci --no-audit --no-fund && npm run lint && npm run typecheck && npm test)

# Release build first: it runs the web build and embeds web/dist, and the
# tests below run against that binary.
step "cargo build --release (embeds the web UI)"
cargo build --release --locked

step "Rust unit and integration tests"
cargo test --release --locked

step "browser end-to-end tests (Chromium)"
(cd web && HEARTH_BIN="$PWD/../target/release/hearth" npm run e2e)

step "all tests passed"
