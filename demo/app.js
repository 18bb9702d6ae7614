// Wires the demo page: settings from the URL, the swarmcast session, and the
// once-a-second refresh of the stats panel, chart, peer list and event log.
// Automation reads the same numbers through window.swarmcast.stats().
import { startSession } from "./session.js";
import { shortId, swarmcast } from "./engines.js";
import { RateChart, formatBytes } from "./chart.js";
import { levelSelector } from "./levels.js";
import { SegmentList } from "./segments.js";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const src = params.get("src") || new URL("/live/master.m3u8", location.href).href;
const tracker = params.get("tracker") || `ws://${location.hostname || "127.0.0.1"}:8000`;
$("src").value = src;
$("tracker").value = tracker;
$("another").href = location.href;
$("offload").search = `?tracker=${encodeURIComponent(tracker)}`;

const LOG_LINES = 40;
function log(text) {
  const li = document.createElement("li");
  const time = document.createElement("time");
  time.textContent = new Date().toLocaleTimeString([], { hour12: false });
  li.append(time, text);
  $("log").prepend(li);
  while ($("log").children.length > LOG_LINES) $("log").lastChild.remove();
}

// Same colours as the legend in index.html.
const chart = new RateChart($("chart"), [{ color: "#e0693a" }, { color: "#2f9e6e" }, { color: "#4a6ee0", dash: [5, 4] }]);

const emptyPeersRow = $("peers").firstElementChild.cloneNode(true);

/** Renders stats `s`; `prev` is the sample RATE_WINDOW_S earlier (or the oldest), `dt` seconds ago. */
function render(s, prev, dt) {
  const total = s.httpBytes + s.p2pBytes;
  const ratio = total ? s.p2pBytes / total : 0;
  $("http").textContent = formatBytes(s.httpBytes);
  $("p2p").textContent = formatBytes(s.p2pBytes);
  $("ratio").textContent = total ? `${Math.round(ratio * 100)} %` : "–";
  $("ratio-bar").style.width = `${ratio * 100}%`;
  $("upload").textContent = formatBytes(s.uploadBytes);
  $("latency").textContent = s.latency === null ? "–" : `${s.latency.toFixed(1)} s`;
  $("stalls").textContent = s.stalls ? `${s.stalls} (${(s.stallMs / 1000).toFixed(1)} s)` : "0";

  $("peer-count").textContent = s.peers.length ? `(${s.peers.length})` : "";
  const rows = s.peers.map((p) => {
    const tr = document.createElement("tr");
    for (const text of [shortId(p.id), formatBytes(p.downloadedBytes), formatBytes(p.uploadedBytes)]) {
      tr.insertCell().textContent = text;
    }
    return tr;
  });
  if (rows.length) $("peers").replaceChildren(...rows);
  else $("peers").replaceChildren(emptyPeersRow.cloneNode(true));

  if (prev && dt > 0) {
    const rate = (k) => Math.max(0, (s[k] - prev[k]) / dt);
    chart.push(performance.now() / 1000, [rate("httpBytes"), rate("p2pBytes"), rate("uploadBytes")]);
  }
}

const video = $("video");
log(`playing ${src}`);
// Segments can arrive before the session is returned; list them once it is.
const early = [];
let segments = null;
const onSegment = (d) => (segments ? segments.add(d) : early.push(d));
const session = await startSession({ video, src, tracker, engine: swarmcast, log, onSegment });
segments = new SegmentList($("segments"), session.hls);
early.forEach((d) => segments.add(d));
levelSelector($("level"), session.Hls, session.hls, log);
window.swarmcast = { stats: () => session.stats() };

// Rates are averaged over a few seconds: segments arrive whole, every 2 s or so.
const RATE_WINDOW_S = 4;
const history = []; // [{ t, s }], the last RATE_WINDOW_S seconds of samples
setInterval(() => {
  const t = performance.now() / 1000;
  const s = session.stats();
  while (history.length > 1 && history[1].t <= t - RATE_WINDOW_S) history.shift();
  render(s, history[0]?.s, t - (history[0]?.t ?? t));
  history.push({ t, s });
}, 1000);
