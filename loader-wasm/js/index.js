// The package's entry (dist/swarmcast.js; global.js wraps it for script tags).
// The wasm's bytes are imported here, last, so that the bundle ends with them:
// gzip then compresses the JS and the base64 in blocks of their own, 0.7 KB
// smaller than with the data in the middle of the JS.
export * from "./swarmcast.js";
import { setEmbeddedWasm } from "./wasm.js";
import EMBEDDED_WASM from "../pkg/embedded-wasm.js";

setEmbeddedWasm(EMBEDDED_WASM);
