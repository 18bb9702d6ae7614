#!/usr/bin/env bash
# Fuzzes the tracker's client-message parser (tracker/fuzz, cargo-fuzz) for
# SECONDS (default 600), niced, on one core. Only the stable toolchain exists
# here, so RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's nightly flags.
# It runs in libFuzzer's fork mode and keeps going after a crash, so one run
# covers its whole time and collects every distinct crash. New corpus entries
# go to tracker/fuzz/corpus/, crashes to tracker/fuzz/artifacts/ (gitignored).
#
#   bench/tracker/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_TO_RUN=${1:-600}
TARGET=parse_client_message
LOG=bench/out/fuzz-$TARGET.log
export PATH=$HOME/.cargo/bin:$PATH
mkdir -p bench/out "tracker/fuzz/corpus/$TARGET"

if ! cargo fuzz --version >/dev/null 2>&1; then
  # The registry mirror may lack a version pinned in cargo-fuzz's lockfile.
  nice -n 19 cargo install --quiet --locked cargo-fuzz || nice -n 19 cargo install --quiet cargo-fuzz
fi

cd tracker/fuzz
echo "fuzzing $TARGET for ${SECONDS_TO_RUN}s; log: $LOG" >&2
RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run "$TARGET" "corpus/$TARGET" seeds -- \
  -max_total_time="$SECONDS_TO_RUN" -dict=json.dict -max_len=8192 -fork=1 -ignore_crashes=1 \
  2>&1 | tee "../../$LOG" | grep -E '^#[0-9]+: cov|^INFO: (fuzzed|exiting)|crash|panicked' >&2
ls -l "artifacts/$TARGET" 2>/dev/null >&2 || echo "no crashes" >&2
