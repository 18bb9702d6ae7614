#!/usr/bin/env bash
# Starts the demo: the tracker, and the origin serving the live test card, the
# demo page, the built loader (dist/), hls.js, and the player examples
# (examples/, with the node_modules they load). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

TRACKER_ADDR=${TRACKER_ADDR:-127.0.0.1:8000}
ORIGIN_ADDR=${ORIGIN_ADDR:-127.0.0.1:8080}
BIN=target/release

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$BIN/swarmcast-tracker" --listen "$TRACKER_ADDR" &
pids+=($!)
"$BIN/swarmcast-origin" --listen "$ORIGIN_ADDR" --testcard \
  --mount /=demo --mount /dist=dist --mount /vendor/hls.js=node_modules/hls.js/dist \
  --mount /examples=examples --mount /node_modules=node_modules &
pids+=($!)

cat <<MSG

  swarmcast demo is running.
    demo page : http://$ORIGIN_ADDR/?tracker=ws://$TRACKER_ADDR
    live HLS  : http://$ORIGIN_ADDR/live/master.m3u8
    tracker   : ws://$TRACKER_ADDR   (stats: http://$TRACKER_ADDR/stats.json)
    players   : http://$ORIGIN_ADDR/examples/   (hls.js, Plyr, Vidstack, Clappr)

  Open the demo page in several tabs: the later tabs fetch most segments
  from the earlier ones over WebRTC. Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
