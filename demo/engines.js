// The two ways the demo can load segments, behind one small interface so the
// page (and the swarm benchmark, which adds P2P Media Loader) treats them alike.
// An engine is `async ({ Hls, tracker, log, onSegment }) => { hls, stats() }`,
// where stats() returns cumulative { httpBytes, p2pBytes, uploadBytes,
// peers: [{ id, downloadedBytes, uploadedBytes }] } and onSegment (optional)
// is called with { type, level, sn, url, bytes, source, peerId } per segment.

/** Plain hls.js: every segment byte comes over HTTP. The baseline. */
export async function plainHls({ Hls, onSegment }) {
  const hls = new Hls();
  let httpBytes = 0;
  hls.on(Hls.Events.FRAG_LOADED, (_, { frag }) => {
    httpBytes += frag.stats.loaded;
    const { type, level, sn, url } = frag;
    onSegment?.({ type, level, sn, url, bytes: frag.stats.loaded, source: "http", peerId: null });
  });
  return {
    hls,
    stats: () => ({ httpBytes, p2pBytes: 0, uploadBytes: 0, peers: [] }),
  };
}

/**
 * hls.js with the swarmcast loader from /dist/swarmcast.js. If the loader cannot
 * be loaded (not built yet, say) the page still plays, over HTTP only.
 */
export async function swarmcast({ Hls, tracker, log, onSegment }) {
  let Swarmcast;
  try {
    ({ Swarmcast } = await import("/dist/swarmcast.js"));
  } catch (e) {
    log(`swarmcast loader unavailable (${e.message}); playing over HTTP only`);
    return plainHls({ Hls, onSegment });
  }
  const hls = new Hls();
  // Host candidates only: the demo's tabs share one machine, and no STUN server
  // outside it is contacted.
  const p2p = await Swarmcast.attach(hls, { trackers: [tracker], rtcConfig: { iceServers: [] } });
  p2p.addEventListener("peerconnect", (e) => log(`peer ${shortId(e.detail.id)} connected`));
  p2p.addEventListener("peerclose", (e) => log(`peer ${shortId(e.detail.id)} left`));
  p2p.addEventListener("error", (e) => log(`swarmcast ${e.detail.where}: ${e.detail.message}`));
  p2p.addEventListener("segmentloaded", (e) => {
    const d = e.detail;
    if (d.source === "p2p") log(`segment ${d.sn} from peer ${shortId(d.peerId)} (${Math.round(d.bytes / 1024)} KiB)`);
    onSegment?.(d);
  });
  return {
    hls,
    stats: () => p2p.stats(),
  };
}

/** A peer id short enough to show; the tail, since ids share a client prefix. */
export const shortId = (id) => String(id).slice(-8);
