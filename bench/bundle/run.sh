#!/usr/bin/env bash
# Bundle size, gzip -9 of what a page downloads: swarmcast's single file (ES
# module, or the script-tag build), with the wasm inside, against P2P Media
# Loader's minified core + hls.js integration bundles from node_modules (the
# version package-lock.json pins), in the same run. Also prints what the same
# wasm and glue would cost shipped the other ways (see scripts/embed-wasm.mjs).
# Usage: bench/bundle/run.sh   (builds dist/ first if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build-wasm.sh >/dev/null
gz() { gzip -9 -c "$1" | wc -c; }

ours=$(gz dist/swarmcast.js)
iife=$(gz dist/swarmcast.iife.js)
core=node_modules/p2p-media-loader-core/dist/p2p-media-loader-core.es.min.js
hlsjs=node_modules/p2p-media-loader-hlsjs/dist/p2p-media-loader-hlsjs.es.min.js
theirs=$(($(gz "$core") + $(gz "$hlsjs")))
version=$(node -p 'require("./node_modules/p2p-media-loader-core/package.json").version')

# The alternatives, measured on this build: the glue without the embedded
# string, plus the wasm as a separate file or as base64 of its raw bytes.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
embedded=$(sed -n 's/^export default "\(.*\)";$/\1/p' loader-wasm/pkg/embedded-wasm.js)
glue=$(($(tr -d '\n' <dist/swarmcast.js | sed "s|$embedded||" | gzip -9 | wc -c)))
separate=$((glue + $(gz dist/swarmcast_loader_bg.wasm)))
raw64=$((glue + $(base64 -w0 dist/swarmcast_loader_bg.wasm | gzip -9 | wc -c)))

printf '%-44s %10s\n' bundle "gzip B"
printf '%-44s %10s\n' "swarmcast.js (ES module, wasm inside)" "$ours"
printf '%-44s %10s\n' "swarmcast.iife.js (script tag, wasm inside)" "$iife"
printf '%-44s %10s\n' "P2P Media Loader $version (core + hls.js)" "$theirs"
printf 'swarmcast / P2P Media Loader: %.2fx (%s B of headroom)\n' "$(echo "$ours / $theirs" | bc -l)" "$((theirs - ours))"
printf '\nother ways to ship the same wasm (gzip B, two downloads where separate):\n'
printf '%-44s %10s\n' "glue + separate .wasm" "$separate"
printf '%-44s %10s\n' "glue + base64 of the raw wasm" "$raw64"
