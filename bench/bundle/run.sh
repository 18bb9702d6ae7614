#!/usr/bin/env bash
# Bundle size, gzip -9: swarmcast (wasm + JS glue, as shipped in dist/) against
# P2P Media Loader's minified core + hls.js integration bundles from
# node_modules (the version package-lock.json pins), in the same run.
# Usage: bench/bundle/run.sh   (builds dist/ first if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build-wasm.sh >/dev/null
gz() { gzip -9 -c "$1" | wc -c; }
ours=$(($(gz dist/swarmcast_loader_bg.wasm) + $(gz dist/swarmcast.js)))
pml_dir=node_modules
core=$pml_dir/p2p-media-loader-core/dist/p2p-media-loader-core.es.min.js
hlsjs=$pml_dir/p2p-media-loader-hlsjs/dist/p2p-media-loader-hlsjs.es.min.js
theirs=$(($(gz "$core") + $(gz "$hlsjs")))
version=$(node -p 'require("./node_modules/p2p-media-loader-core/package.json").version')
printf '%-28s %10s\n' bundle "gzip B"
printf '%-28s %10s\n' "swarmcast (wasm + glue)" "$ours"
printf '%-28s %10s\n' "P2P Media Loader $version" "$theirs"
printf 'swarmcast / P2P Media Loader: %.2fx (target: <= 40 KB = 40960 B)\n' "$(echo "$ours / $theirs" | bc -l)"
