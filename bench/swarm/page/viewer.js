// Runs one benchmark viewer with the demo's session and meter (so the demo and
// the benchmark measure alike), and records which segments hls.js played, for
// the origin-amplification figure.
import { startSession } from "/session.js";
import { plainHls, swarmcast } from "/engines.js";
import { p2pml } from "./p2pml.js";

const ENGINES = { hls: plainHls, p2pml, swarmcast };
const params = new URLSearchParams(location.search);
const engine = ENGINES[params.get("engine")];
if (!engine) throw new Error(`unknown engine ${params.get("engine")}`);

const log = [];
const segments = {}; // url -> bytes, every segment hls.js received
const session = await startSession({
  video: document.getElementById("video"),
  src: params.get("src"),
  tracker: params.get("tracker"),
  engine,
  log: (text) => log.push(`${Math.round(performance.now())} ${text}`),
});
session.hls.on("hlsFragLoaded", (_, d) => (segments[d.frag.url] = d.payload.byteLength));
window.swarmcast = { stats: () => session.stats(), segments: () => segments, log };
