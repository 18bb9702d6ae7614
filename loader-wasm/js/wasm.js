// Loads the engine's WebAssembly, once per page. The .wasm ships inside the
// package's JavaScript (gzip, then base64: scripts/embed-wasm.mjs), so no
// bundler or dev server has to find, copy or rewrite a separate asset; the
// browser decompresses it with DecompressionStream and compiles it as it
// streams. `wasmUrl` fetches a separate copy instead.
import initWasm from "../pkg/swarmcast_loader.js";
import EMBEDDED_WASM from "../pkg/embedded-wasm.js";

let ready = null;

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
  const gzip = Uint8Array.from(atob(EMBEDDED_WASM), (c) => c.charCodeAt(0));
  const wasm = new Blob([gzip]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(wasm, { headers: { "content-type": "application/wasm" } });
}
