// Where a connected peer is, for the engine's penalties (engine/penalties.rs):
// a 32-bit hash (never 0) of the remote IP of the connection's selected ICE
// candidate pair; undefined when that is unknown (no pair, an mDNS name).
export const remoteAddress = (pc) =>
  pc.getStats().then((stats) => {
    let pair;
    // Chromium names the pair on the transport; Firefox marks it `selected`.
    stats.forEach((s) => {
      pair ??= s.type === "transport" ? stats.get(s.selectedCandidatePairId) : s.selected && s;
    });
    const ip = stats.get(pair?.remoteCandidateId)?.address;
    if (!ip || ip.endsWith(".local")) return;
    let h = 0x811c9dc5; // FNV-1a
    for (const c of ip) h = Math.imul(h ^ c.charCodeAt(0), 0x1000193);
    return h >>> 0 || 1;
  }, () => {});
