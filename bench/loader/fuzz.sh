#!/usr/bin/env bash
# Fuzzes the loader engine with what peers and trackers can send
# (loader-wasm/fuzz, cargo-fuzz) for SECONDS (default 600). The same cases
# run on stable in `cargo test` (loader-wasm/tests/fuzz_peer_input.rs). See
# bench/cargo-fuzz.sh for where corpus, crashes and the log go.
#
#   bench/loader/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bench/cargo-fuzz.sh loader-wasm/fuzz peer_input "${1:-600}" -max_len=16384
