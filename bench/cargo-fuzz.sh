#!/usr/bin/env bash
# Runs one cargo-fuzz target for SECONDS, niced, on one core; shared by
# bench/tracker/fuzz.sh and bench/loader/fuzz.sh. Only the stable toolchain
# is assumed, so RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's nightly
# flags. libFuzzer's fork mode keeps going after a crash, so one run covers
# its whole time and collects every distinct crash. New corpus entries go to
# FUZZ_DIR/corpus/TARGET/, crashes to FUZZ_DIR/artifacts/TARGET/ (gitignored),
# the log to bench/out/fuzz-TARGET.log.
#
#   bench/cargo-fuzz.sh FUZZ_DIR TARGET SECONDS [more corpus dirs, libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_DIR=$1 TARGET=$2 SECONDS_TO_RUN=$3
shift 3
LOG=$PWD/bench/out/fuzz-$TARGET.log
export PATH=$HOME/.cargo/bin:$PATH
mkdir -p bench/out "$FUZZ_DIR/corpus/$TARGET"

if ! cargo fuzz --version >/dev/null 2>&1; then
  # The registry mirror may lack a version pinned in cargo-fuzz's lockfile.
  nice -n 19 cargo install --quiet --locked cargo-fuzz || nice -n 19 cargo install --quiet cargo-fuzz
fi

cd "$FUZZ_DIR"
echo "fuzzing $TARGET for ${SECONDS_TO_RUN}s; log: $LOG" >&2
RUSTC_BOOTSTRAP=1 nice -n 19 cargo fuzz run "$TARGET" "corpus/$TARGET" -- \
  -max_total_time="$SECONDS_TO_RUN" -fork=1 -ignore_crashes=1 "$@" \
  2>&1 | tee "$LOG" | grep -E '^#[0-9]+: cov|^INFO: (fuzzed|exiting)|crash|panicked' >&2
ls -l "artifacts/$TARGET" 2>/dev/null >&2 || echo "no crashes" >&2
