// Fingerprints every fragment hls.js receives: SHA-256 of the FRAG_LOADED
// payload with its URL and byte range, so the benchmark can compare each
// against the origin's bytes for that URL and range. Also how long hls.js
// waited for it, measured here since loaders may report their own timings.
export function recordFragments(Hls, hls) {
  const records = [];
  const pending = [];
  const started = new WeakMap(); // fragment -> performance.now() at FRAG_LOADING
  hls.on(Hls.Events.FRAG_LOADING, (_, { frag }) => started.set(frag, performance.now()));
  hls.on(Hls.Events.FRAG_LOADED, (_, { frag, payload }) => {
    const range = frag.byteRange.length ? frag.byteRange : null;
    const waitMs = Math.round(performance.now() - started.get(frag));
    const record = { url: frag.url, range, sn: frag.sn, level: frag.level, type: frag.type, bytes: payload.byteLength, waitMs };
    // digest() copies the bytes before it returns, so hls.js may hand the
    // buffer to its worker right after this handler.
    pending.push(
      crypto.subtle.digest("SHA-256", payload).then((d) => records.push({ ...record, sha256: hex(d) })),
    );
  });
  /** Every fragment so far, once their digests are done. */
  return async () => {
    await Promise.all(pending);
    return records;
  };
}

const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
