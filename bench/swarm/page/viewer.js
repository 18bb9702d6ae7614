// Runs one benchmark viewer with the demo's session and meter (so the demo and
// the benchmark measure alike), and records which segments hls.js played, for
// the origin-amplification figure. The ABR scenario adds ?levels= (see
// levels.js), ?buffer= (seconds of forward buffer) and ?verify (fingerprint
// every fragment, see fragments.js).
import Hls from "/vendor/hls.js/hls.mjs";
import { startSession } from "/session.js";
import { plainHls, swarmcast } from "/engines.js";
import { p2pml } from "./p2pml.js";
import { followLevelPlan } from "./levels.js";
import { recordFragments } from "./fragments.js";

const ENGINES = { hls: plainHls, p2pml, swarmcast };
const params = new URLSearchParams(location.search);
const engine = ENGINES[params.get("engine")];
if (!engine) throw new Error(`unknown engine ${params.get("engine")}`);

const log = [];
const logLine = (text) => log.push(`${Math.round(performance.now())} ${text}`);
const segments = {}; // url (and byte range) -> bytes, every segment hls.js received
const session = await startSession({
  video: document.getElementById("video"),
  src: params.get("src"),
  tracker: params.get("tracker"),
  engine,
  log: logLine,
});
const { hls } = session;
// Set before the first fragment loads; hls.js reads its config as it goes.
if (params.has("buffer")) hls.config.maxBufferLength = hls.config.maxMaxBufferLength = Number(params.get("buffer"));
hls.on(Hls.Events.FRAG_LOADED, (_, d) => (segments[`${d.frag.url} ${d.frag.byteRange.join("-")}`.trim()] = d.payload.byteLength));
if (params.has("levels")) followLevelPlan(Hls, hls, params.get("levels").split(",").map(Number), Number(params.get("every") ?? 5), logLine);
const fragments = params.has("verify") ? recordFragments(Hls, hls) : async () => [];
window.swarmcast = { stats: () => session.stats(), segments: () => segments, fragments, log };
