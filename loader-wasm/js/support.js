// Swarmcast.isSupported(): whether this browser has everything the engine and
// its glue use. Cheap and synchronous, so pages can ask before creating a player.

// The smallest module that declares a function taking an externref. Browsers
// that validate it also have the other wasm features rustc emits (multi-value,
// bulk memory, sign extension, non-trapping float-to-int, mutable globals).
const EXTERNREF_MODULE = new Uint8Array([
  ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // "\0asm", version 1
  ...[0x01, 0x05, 0x01, 0x60, 0x01, 0x6f, 0x00], // type section: one type, (func (param externref))
]);

export function isSupported() {
  const g = globalThis;
  return (
    typeof g.RTCPeerConnection?.prototype.createDataChannel === "function" &&
    typeof (g.MediaSource ?? g.ManagedMediaSource)?.isTypeSupported === "function" &&
    typeof g.DecompressionStream === "function" &&
    typeof g.WebAssembly?.validate === "function" &&
    g.WebAssembly.validate(EXTERNREF_MODULE)
  );
}
