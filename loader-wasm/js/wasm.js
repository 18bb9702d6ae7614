// Loads the engine's WebAssembly, once per page. The .wasm ships inside the
// package's JavaScript (gzip, then base64, by scripts/build-wasm.sh; the entry,
// index.js, hands it over), so no bundler or dev server has to find, copy or
// rewrite a separate asset; the browser decompresses it with
// DecompressionStream. `wasmUrl` fetches a separate copy instead.
// Compiling here and instantiating with wasm-bindgen's initSync leaves its
// own fetch-and-instantiate code out of the bundle.
import { initSync } from "../pkg/swarmcast_loader.js";

let ready = null;
let embedded = "";

/** The package's own wasm: gzip, base64-encoded. */
export function setEmbeddedWasm(base64) {
  embedded = base64;
}

/** Resolves once the engine can run; a failed load is retried by the next call. */
export function loadWasm(wasmUrl) {
  ready ??= compileWasm(wasmUrl)
    .then((module) => void initSync({ module }))
    .catch((e) => {
      ready = null;
      throw e;
    });
  return ready;
}

// Compiled asynchronously, from the bytes whatever their content type (a
// server need not know .wasm).
async function compileWasm(wasmUrl) {
  const response = wasmUrl ? await fetch(wasmUrl) : embeddedWasm();
  if (!response.ok) throw new Error(`swarmcast: HTTP ${response.status} for ${response.url}`);
  return WebAssembly.compile(await response.arrayBuffer());
}

function embeddedWasm() {
  const gzip = Uint8Array.from(atob(embedded), (c) => c.charCodeAt(0));
  return new Response(new Blob([gzip]).stream().pipeThrough(new DecompressionStream("gzip")));
}
