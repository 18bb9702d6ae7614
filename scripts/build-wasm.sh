#!/usr/bin/env bash
# Builds the npm package into dist/, which is the package's root (`npm pack
# dist`): the loader crate to wasm with wasm-pack (the workspace's size
# profile, then wasm-opt from npm's binaryen, never Debian's), the wasm
# embedded in the JS glue, bundled and minified by esbuild as an ES module
# and as a script-tag build, the TypeScript declarations, and the package's
# manifest, README and licences. Prints the gzip size of what a page
# downloads. When no input changed since the last build it only prints sizes.
#   --twiggy   also print where the wasm bytes go (needs `cargo install twiggy`)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"

DIST=dist
PKG=loader-wasm/pkg
WASM=swarmcast_loader_bg.wasm
STAMP=$PKG/.inputs.sha256

# A page downloads one file: swarmcast.js (or swarmcast.iife.js), wasm inside.
print_sizes() {
  local esm iife
  esm=$(gzip -9 -c "$DIST/swarmcast.js" | wc -c)
  iife=$(gzip -9 -c "$DIST/swarmcast.iife.js" | wc -c)
  printf 'swarmcast bundle (gzip -9): swarmcast.js %s B = %.1f KB (raw %s B, wasm inside); swarmcast.iife.js %s B\n' \
    "$esm" "$(awk "BEGIN{print $esm / 1024}")" "$(wc -c <"$DIST/swarmcast.js")" "$iife"
}

# rustc's wasm32 target emits bulk-memory, sign-ext and friends, so wasm-opt
# must be told it may keep them.
WASM_FEATURES=(--enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext
  --enable-mutable-globals --enable-reference-types --enable-multivalue)

# The same optimisation as the shipped file, but keeping function names, so
# twiggy can say which functions the bytes belong to.
twiggy_report() {
  local out=target/twiggy
  rm -rf "$out" && mkdir -p "$out"
  wasm-bindgen target/wasm32-unknown-unknown/wasm-release/swarmcast_loader.wasm --out-dir "$out" --target web
  wasm-opt -g -Oz "${WASM_FEATURES[@]}" \
    "$out/swarmcast_loader_bg.wasm" -o "$out/named.wasm"
  twiggy top -n 25 "$out/named.wasm" | cut -c1-160
}

inputs_hash() {
  find loader-wasm/src loader-wasm/js protocol/src -type f -print0 | sort -z | xargs -0 sha256sum
  sha256sum Cargo.toml Cargo.lock loader-wasm/Cargo.toml protocol/Cargo.toml "$0"
}
# The package's own files, copied on every run (cheap, and never stale).
copy_package_files() {
  mkdir -p "$DIST"
  cp loader-wasm/npm/package.json loader-wasm/npm/README.md LICENSE-MIT LICENSE-APACHE "$DIST/"
}

want=$(inputs_hash | sha256sum | cut -d' ' -f1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && [ -f "$DIST/swarmcast.js" ] && [ -f "$DIST/swarmcast.iife.js" ]; then
  copy_package_files
  print_sizes
  if [ "${1:-}" = --twiggy ]; then twiggy_report; fi
  exit 0
fi

# wasm-opt: Debian's v108 produces modules that Chromium rejects, so insist on
# npm's binaryen.
if [ "$(command -v wasm-opt)" != "$PWD/node_modules/.bin/wasm-opt" ]; then
  echo "build-wasm: wasm-opt from node_modules (npm binaryen) not found; run scripts/setup.sh" >&2
  exit 1
fi
if ! command -v zopfli >/dev/null; then
  echo "build-wasm: zopfli not found; run scripts/setup.sh" >&2
  exit 1
fi

# Size: std is rebuilt with the size profile and panics trap at once, so no
# panic messages, locations or formatting code reach the wasm (~5 KB gzip).
# Both options are unstable; this build alone enables them on the pinned
# stable compiler (RUSTC_BOOTSTRAP). With the host target given explicitly,
# RUSTFLAGS does not reach build scripts or proc macros.
build_std=()
if rustup component list --installed 2>/dev/null | grep -q '^rust-src'; then
  export RUSTC_BOOTSTRAP=1 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort -Zlocation-detail=none -Zfmt-debug=none"
  build_std=(-- -Zbuild-std=std,panic_abort)
else
  echo "build-wasm: rust-src is not installed (scripts/setup.sh adds it); building without build-std" >&2
fi
wasm-pack --quiet build loader-wasm --target web --out-dir pkg --out-name swarmcast_loader \
  --no-pack --no-typescript --profile wasm-release "${build_std[@]}"

mkdir -p "$DIST"
# --flatten --rereloop: rebuilds each function's control flow from scratch;
# the size passes then find more to fold (two rounds: ~0.7 KB gzip less than
# -Oz alone, measured on this crate). --generate-global-effects: the size
# passes may use what each function (transitively) touches, so they remove
# more dead stores and calls.
wasm-opt "${WASM_FEATURES[@]}" --flatten --rereloop -Oz --flatten --rereloop -Oz \
  --generate-global-effects --converge --strip-debug --strip-producers --strip-target-features \
  "$PKG/$WASM" -o "$PKG/converged.wasm"
# Separate run: with --converge the renaming would run (and print) repeatedly.
wasm-opt "${WASM_FEATURES[@]}" --minify-imports-and-exports-and-modules \
  "$PKG/converged.wasm" -o "$DIST/$WASM" >"$PKG/names.json"
node scripts/shorten-wasm-names.mjs "$PKG/names.json" "$PKG/swarmcast_loader.js"
# The wasm goes inside the JS, so that the package is one self-contained file:
# no bundler or dev server has to resolve a .wasm asset (Vite's dev
# pre-bundling, for one, breaks `new URL(..., import.meta.url)`). It is
# gzipped, then base64-encoded; loader-wasm/js/index.js hands it to
# loader-wasm/js/wasm.js, which unpacks it with
# DecompressionStream. zopfli writes standard gzip 5 % smaller than gzip -9,
# which pays for base64 under the server's compression and then some
# (bench/bundle/run.sh compares the ways to ship it).
zopfli -c "$DIST/$WASM" >"$PKG/$WASM.gz"
printf '// Generated by scripts/build-wasm.sh: %s, gzip (zopfli), base64.\nexport default "%s";\n' \
  "$WASM" "$(base64 -w0 "$PKG/$WASM.gz")" >"$PKG/embedded-wasm.js"
# Our glue plus wasm-bindgen's, minified, with the wasm inside: one ES module,
# and one classic script that defines the global `Swarmcast`.
# ES2022 keeps `#private` members native (es2020 would add WeakMap helpers,
# +0.4 KB gzip); every browser with the wasm features above has them.
esbuild loader-wasm/js/index.js --bundle --format=esm --minify --target=es2022 \
  --log-level=warning --outfile="$DIST/swarmcast.js"
esbuild loader-wasm/js/global.js --bundle --format=iife --minify --target=es2022 \
  --log-level=warning --outfile="$DIST/swarmcast.iife.js"
cp loader-wasm/js/swarmcast.d.ts "$DIST/swarmcast.d.ts"
copy_package_files
echo "$want" >"$STAMP"
print_sizes
if [ "${1:-}" = --twiggy ]; then twiggy_report; fi
