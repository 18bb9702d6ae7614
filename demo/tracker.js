// The tracker statistics page: every 2 s, the tracker's /stats.json as a
// table, all streams first, then the busiest ones the tracker lists.
import { formatBytes } from "./chart.js";

const params = new URLSearchParams(location.search);
const tracker = params.get("tracker") || `ws://${location.hostname || "127.0.0.1"}:8000`;
// The tracker serves its statistics on the announce port, over HTTP(S).
const statsUrl = new URL("/stats.json", tracker.replace(/^ws/, "http"));
document.getElementById("back").search = location.search;

function row(name, s) {
  const tr = document.createElement("tr");
  const ratio = `${(100 * s.p2p_ratio).toFixed(1)} %`;
  for (const text of [name, s.viewers, formatBytes(s.http_bytes), formatBytes(s.p2p_bytes), ratio]) {
    const td = document.createElement("td");
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

async function refresh() {
  try {
    const { offload } = await (await fetch(statsUrl, { cache: "no-store" })).json();
    const rows = [row("all streams", offload), ...offload.top_swarms.map((s) => row(s.info_hash, s))];
    document.getElementById("swarms").replaceChildren(...rows);
    document.getElementById("status").textContent = `${statsUrl} at ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    document.getElementById("status").textContent = `${statsUrl}: ${e.message}`;
  }
}
refresh();
setInterval(refresh, 2000);
