// What the example pages share, so each page shows only its player's recipe:
// where the stream and the tracker are, the swarmcast options, and a stats
// line under the player. In your site, write your own URLs here.
//
// URL parameters (all optional): ?src=<HLS URL>&tracker=<ws:// or wss:// URL>.
// The defaults are the ones `make demo` serves.
const params = new URLSearchParams(location.search);

export const src = params.get("src") ?? new URL("/live/master.m3u8", location.href).href;

export const options = {
  trackers: [params.get("tracker") ?? `ws://${location.hostname}:8000`],
  // Viewers on one machine need no STUN server. On the internet, leave
  // rtcConfig out (swarmcast then uses a public STUN server) or name yours.
  rtcConfig: { iceServers: [] },
};

/**
 * Shows what swarmcast does under the player, once a second: bytes from
 * peers and over HTTP, and any error. Also puts `{ hls, p2p, errors }` on
 * `window.example`, to look at from the browser console.
 */
export function showStats(hls, p2p) {
  const errors = [];
  window.example = { hls, p2p, errors };
  const line = document.createElement("p");
  line.className = "swarmcast-stats";
  document.body.append(line);
  p2p.addEventListener("error", (e) => errors.push(`${e.detail.where}: ${e.detail.message}`));
  const update = () => {
    const s = p2p.stats();
    const total = s.p2pBytes + s.httpBytes;
    const share = total ? Math.round((100 * s.p2pBytes) / total) : 0;
    line.textContent =
      `swarmcast: ${mib(s.p2pBytes)} from peers, ${mib(s.httpBytes)} over HTTP (${share} % P2P), ` +
      `${mib(s.uploadBytes)} sent, ${s.peers.length} peer(s)` +
      (errors.length ? `; last error: ${errors.at(-1)}` : "");
  };
  update();
  setInterval(update, 1000);
}

const mib = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
