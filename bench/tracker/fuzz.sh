#!/usr/bin/env bash
# Fuzzes the tracker's client-message parser (tracker/fuzz, cargo-fuzz) for
# SECONDS (default 600), seeded with tracker/fuzz/seeds and a JSON dictionary.
# See bench/cargo-fuzz.sh for where corpus, crashes and the log go.
#
#   bench/tracker/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bench/cargo-fuzz.sh tracker/fuzz parse_client_message "${1:-600}" seeds -dict=json.dict -max_len=8192
