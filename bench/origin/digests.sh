#!/usr/bin/env bash
# The cost of publishing segment digests: wrk on the same media playlists
# served by two swarmcast-origin processes in the same run, one plain and one
# with --digests, measured plain, digests, digests, plain (each server's two
# runs averaged, so drifting load on the shared machine favours neither).
#   live: a 10-segment live window (200 KiB segments), the steady state between
#         playlist updates (every request checks the 11 files and serves the
#         kept text);
#   vod:  a 1000-segment VOD playlist (its files rechecked at most once a
#         second; the digests make the body 4.5x larger: 90 KiB).
# Then the one-off cost: the first request of a folder of 64 x 1 MiB segments,
# which hashes them all (MiB/s of SHA-256 through the origin).
# Prints requests/s and the digests/plain ratio per playlist.
# Usage: bench/origin/digests.sh [SECONDS] [CONNECTIONS]
# (needs a release build in ${CARGO_TARGET_DIR:-target})
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}; CONN=${2:-32}
BIN="${CARGO_TARGET_DIR:-target}/release/swarmcast-origin"
work=$(mktemp -d); pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

playlist() { # DIR COUNT [ENDLIST]
  { echo "#EXTM3U"; echo "#EXT-X-TARGETDURATION:2"
    for i in $(seq 1 "$2"); do echo "#EXTINF:2.0,"; echo "seg_$i.ts"; done
    if [ -n "${3:-}" ]; then echo "#EXT-X-ENDLIST"; fi; } >"$1/stream.m3u8"
}
mkdir -p "$work/www/live" "$work/www/vod" "$work/cold"
for i in $(seq 1 10); do head -c 204800 /dev/urandom >"$work/www/live/seg_$i.ts"; done
playlist "$work/www/live" 10
# The VOD's segments are small: what is measured is the per-file check.
for i in $(seq 1 1000); do head -c 1024 /dev/urandom >"$work/www/vod/seg_$i.ts"; done
playlist "$work/www/vod" 1000 end
for i in $(seq 1 64); do head -c 1048576 /dev/urandom >"$work/cold/seg_$i.ts"; done
playlist "$work/cold" 64 end
sleep 3 # past the settle time, even on whole-second file systems

start() { RUST_LOG=error,warp=off "$BIN" --listen "127.0.0.1:$1" "${@:2}" >/dev/null & pids+=($!); }
start 18192 --root "$work/www"
start 18193 --root "$work/www" --digests /
start 18194 --root "$work/cold" --digests /
sleep 1

rps() { wrk -t2 -c"$CONN" -d"${DUR}s" "$1" | awk '/Requests\/sec/ {print $2}'; }
printf '%-6s %14s %14s %7s\n' list plain_req_s digests_req_s ratio
for p in live vod; do
  curl -sf "http://127.0.0.1:18193/$p/stream.m3u8" | grep EXT-X-SWARMCAST-DIGEST >/dev/null
  a1=$(rps "http://127.0.0.1:18192/$p/stream.m3u8"); d1=$(rps "http://127.0.0.1:18193/$p/stream.m3u8")
  d2=$(rps "http://127.0.0.1:18193/$p/stream.m3u8"); a2=$(rps "http://127.0.0.1:18192/$p/stream.m3u8")
  a=$(echo "($a1 + $a2) / 2" | bc -l); d=$(echo "($d1 + $d2) / 2" | bc -l)
  printf '%-6s %14.0f %14.0f %7.2f\n' "$p" "$a" "$d" "$(echo "$d / $a" | bc -l)"
done

secs=$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:18194/stream.m3u8")
again=$(curl -sf -o /dev/null -w '%{time_total}' "http://127.0.0.1:18194/stream.m3u8")
hashed=$(curl -sf "http://127.0.0.1:18194/metrics" | awk '/^swarmcast_origin_digest_hashed_bytes_total/ {print $2}')
printf 'first request of 64 x 1 MiB: %.3f s (%.0f MiB/s hashed, %s bytes); next: %.4f s\n' \
  "$secs" "$(echo "$hashed / 1048576 / $secs" | bc -l)" "$hashed" "$again"
