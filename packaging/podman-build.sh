#!/usr/bin/env bash
# Builds Hearth's image from packaging/Dockerfile, unchanged, with Podman, on a
# machine with neither a Docker engine nor an image registry (the test
# machines). Every base image the Dockerfile and the compose files name is
# first made locally, under that exact name, as a stand-in:
#
#   debian:bookworm-slim    debootstrap --variant=minbase bookworm, trimmed
#   node:20-bookworm-slim   that plus this machine's Node 20 and npm
#   rust:1-bookworm         that plus a C toolchain and this machine's Rust
#   postgres:15, nginx:stable   Debian's packages (docker-compose.cluster.yml)
#
# Stand-ins are kept between runs and rebuilt when their recipe
# (packaging/standins/), this machine's Node or Rust, or its CA bundle change.
# Hearth's image itself is always built; Podman reuses a layer only when the
# files it was built from are identical, so a stale image cannot pass.
#
# Usage: packaging/podman-build.sh [TAG]     (default: hearth:latest)
# Needs root and Debian's podman, runc, debootstrap, containernetworking-plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
tag="${1:-hearth:latest}"
standins=packaging/standins
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/$standins/containers.conf}"
LABEL=org.hearth.standin

say() { printf '[podman-build %3ss] %s\n' "$SECONDS" "$*"; }
[ "$(id -u)" = 0 ] || { echo "packaging/podman-build.sh needs root (debootstrap, rootful podman)" >&2; exit 1; }
for tool in podman debootstrap node npm rustc; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

# The machine's CA bundle: this network's registries are reached through TLS
# interception, so the stand-ins (never the Dockerfile) must trust its CA.
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
key=$( {
  cat "$0" "$standins"/*
  node --version; npm --version; rustc -vV
  cat "$ca_bundle"
} | sha256sum | cut -c1-16)

current() { # IMAGE -> success when it exists and carries this key
  [ "$(podman image inspect --format "{{index .Labels \"$LABEL\"}}" "$1" 2>/dev/null)" = "$key" ]
}

mirror() { # the machine's own Debian mirror, from its apt sources
  local uri
  uri=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null \
    | grep -v security | head -n1 | sed -E 's/^URIs: *//; s/^deb (\[[^]]*\] )?//; s/ .*//')
  echo "${uri:-http://deb.debian.org/debian}"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

debian=docker.io/library/debian:bookworm-slim
if current "$debian"; then say "stand-in $debian: up to date"; else
  say "stand-in $debian: debootstrap from $(mirror)"
  debootstrap --variant=minbase bookworm "$work/rootfs" "$(mirror)" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
  # Trimmed like the official slim image: no package lists, caches or docs.
  rm -rf "$work"/rootfs/var/lib/apt/lists/* "$work"/rootfs/var/cache/apt/* \
    "$work"/rootfs/usr/share/doc/* "$work"/rootfs/usr/share/man/* "$work"/rootfs/usr/share/info/*
  mkdir -p "$work/rootfs/etc/ssl/certs"
  cp "$ca_bundle" "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  tar -C "$work/rootfs" -c . | podman import -q \
    --change "LABEL $LABEL=$key" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["bash"]' - "$debian" >/dev/null
  rm -rf "$work/rootfs"
fi

standin() { # NAME CONTAINERFILE CONTEXT
  say "stand-in $1: building"
  podman build -q --pull=never --network host --format docker --label "$LABEL=$key" \
    -f "$2" -t "$1" "$3" >/dev/null
}

node_image=docker.io/library/node:20-bookworm-slim
if current "$node_image"; then say "stand-in $node_image: up to date"; else
  node_bin=$(readlink -f "$(command -v node)")
  mkdir -p "$work/node"
  cp "$node_bin" "$work/node/node"
  cp -a "$(dirname "$(dirname "$node_bin")")/lib/node_modules" "$work/node/node_modules"
  standin "$node_image" "$standins/node.Containerfile" "$work/node"
fi

rust_image=docker.io/library/rust:1-bookworm
if current "$rust_image"; then say "stand-in $rust_image: up to date"; else
  sysroot=$(rustc --print sysroot)
  mkdir -p "$work/rust/toolchain"
  # The toolchain without its documentation (share/).
  for part in bin lib libexec etc; do
    [ -e "$sysroot/$part" ] && cp -a "$sysroot/$part" "$work/rust/toolchain/"
  done
  standin "$rust_image" "$standins/rust.Containerfile" "$work/rust"
  rm -rf "$work/rust"
fi

for pair in postgres:15:postgres nginx:stable:nginx; do
  image="docker.io/library/${pair%:*}"
  if current "$image"; then say "stand-in $image: up to date"; else
    standin "$image" "$standins/${pair##*:}.Containerfile" "$standins"
  fi
done

say "building $tag from packaging/Dockerfile"
start=$(date +%s)
# --format docker keeps the Dockerfile's HEALTHCHECK (the OCI format has none).
podman build --pull=never --network host --format docker \
  --ignorefile packaging/Dockerfile.dockerignore \
  -f packaging/Dockerfile -t "$tag" .
say "built $tag in $(( $(date +%s) - start )) s; $(podman image inspect --format '{{.Size}}' "$tag" \
  | awk '{printf "%.1f MB", $1/1e6}') (base $(podman image inspect --format '{{.Size}}' "$debian" \
  | awk '{printf "%.1f MB", $1/1e6}'))"
# Layers no tag uses any more (earlier builds of changed sources) pile up; drop
# those older than a day (a dropped cache layer costs time, never correctness).
podman image prune -f --filter until=24h >/dev/null || true
