// Loads the engine's WebAssembly, once per page. The .wasm ships inside the
// package's JavaScript (gzip, then base64, by scripts/build-wasm.sh; the entry,
// index.js, hands it over), so no bundler or dev server has to find, copy or
// rewrite a separate asset; the browser decompresses it with
// DecompressionStream and compiles it as it streams. `wasmUrl` fetches a
// separate copy instead.
import initWasm from "../pkg/swarmcast_loader.js";

let ready = null;
let embedded = "";

/** The package's own wasm: gzip, base64-encoded. */
export function setEmbeddedWasm(base64) {
  embedded = base64;
}

/** Resolves once the engine can run; a failed load is retried by the next call. */
export function loadWasm(wasmUrl) {
  ready ??= initWasm({ module_or_path: wasmUrl || embeddedWasm() }).catch((e) => {
    ready = null;
    throw e;
  });
  return ready;
}

// A Response, so that wasm-bindgen compiles it with instantiateStreaming.
function embeddedWasm() {
  const gzip = Uint8Array.from(atob(embedded), (c) => c.charCodeAt(0));
  const wasm = new Blob([gzip]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(wasm, { headers: { "content-type": "application/wasm" } });
}
