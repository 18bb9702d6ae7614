#!/usr/bin/env bash
# Idempotent setup: installs everything a fresh Debian 12 machine lacks to build,
# test and demo swarmcast. Safe to run twice; a no-op when everything is present.
# Only the package registries are used (apt, crates.io, npm): nothing is fetched
# from elsewhere, which is why wasm-pack is given wasm-bindgen and wasm-opt itself.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(ffmpeg chromium chromium-driver firefox-esr fonts-dejavu-core pkg-config libssl-dev iproute2 util-linux nginx-light wrk zopfli)
WASM_PACK_VERSION=0.15.1

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # nginx-light starts a system nginx on port 80; the benchmark runs its own.
  sudo_if_needed systemctl disable --now nginx >/dev/null 2>&1 || sudo_if_needed service nginx stop >/dev/null 2>&1 || true
fi

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "rustup: adding wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
# The wasm build recompiles std for size (scripts/build-wasm.sh); that needs its source.
if ! rustup component list --installed | grep -q '^rust-src'; then
  log "rustup: adding rust-src"
  rustup component add rust-src || log "rust-src unavailable: the wasm bundle will be built without build-std (larger)"
fi

# wasm-bindgen-cli must match the wasm-bindgen crate pinned in Cargo.lock exactly,
# otherwise wasm-pack tries to fetch a matching binary from the internet.
# Both tools are built unoptimised (--debug): that halves their build on a
# fresh machine, and they run for seconds on a module this small.
BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$BINDGEN_VERSION" ]; then
  log "cargo: installing wasm-bindgen-cli $BINDGEN_VERSION"
  # --locked can name a dependency version the registry mirror lacks; then let
  # cargo resolve the CLI's dependencies afresh.
  cargo install --debug --locked --quiet wasm-bindgen-cli --version "$BINDGEN_VERSION" ||
    cargo install --debug --quiet wasm-bindgen-cli --version "$BINDGEN_VERSION"
fi
if [ "$(wasm-pack --version 2>/dev/null | awk '{print $2}')" != "$WASM_PACK_VERSION" ]; then
  log "cargo: installing wasm-pack $WASM_PACK_VERSION"
  cargo install --debug --locked --quiet wasm-pack --version "$WASM_PACK_VERSION"
fi

# npm ci only when package-lock.json changed since the last install.
stamp=node_modules/.swarmcast-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "npm: installing packages from package-lock.json"
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
  echo "$want" >"$stamp"
fi
log "ready"
