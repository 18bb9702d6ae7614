// Records what an hls.js instance receives: FRAG_LOADED's payload for every
// media fragment (main, audio, subtitle) and, once per init segment, the init
// segment's bytes; a test compares each SHA-256 with the origin's bytes for the
// same URL and range (tests/support/integrity.mjs). The digest is taken when
// the event fires (WebCrypto copies the bytes at once), before hls.js could
// reuse the buffer.
//
// Self-contained (no imports, no module state) so that tests can also inject
// it into pages they do not control, as the source of an init script.
export function recordFragments(hls) {
  const fragments = [];
  const pendingHashes = [];
  const seenInit = new Set();
  const record = (frag, bytes, init) => {
    const start = frag.byteRangeStartOffset;
    const entry = {
      type: frag.type,
      sn: frag.sn,
      level: frag.level,
      init,
      url: frag.url,
      range: Number.isFinite(start) ? [start, frag.byteRangeEndOffset] : null,
      bytes: bytes.byteLength,
      sha256: null,
    };
    fragments.push(entry);
    pendingHashes.push(
      crypto.subtle.digest("SHA-256", bytes).then((d) => {
        entry.sha256 = Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
      }),
    );
  };
  // The instance's own class names the event, whichever copy of hls.js it is.
  hls.on(hls.constructor.Events.FRAG_LOADED, (_, { frag, payload }) => {
    record(frag, payload, false);
    const init = frag.initSegment;
    if (init?.data && !seenInit.has(init)) {
      seenInit.add(init);
      record(init, init.data, true);
    }
  });
  return {
    /** Recorded fragments from index `from` on, once their hashes are done. */
    async recorded(from = 0) {
      await Promise.all(pendingHashes.splice(0));
      return fragments.slice(from);
    },
  };
}
