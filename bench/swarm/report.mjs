// Turns raw scenario data into the benchmark's figures: one summary row per
// engine, swarmcast's ratios against the other rows, the issue's targets, and
// the P2P ratio over time that the chart plots. Two scenarios: `live` (the
// live test card) and `abr` (a VOD, viewers on different levels, see abr.mjs).
import { RENDITIONS, SWITCH_EVERY_S, describePlans, isSwitching } from "./abr.mjs";

const WINDOW_S = 10; // the ratio-over-time curve uses bytes of the last 10 s

/** Figures for one engine's run (see runScenario). */
export function summarize({ engine, viewers }, { seconds }) {
  const sum = (f) => viewers.reduce((a, v) => a + f(v), 0);
  const httpBytes = sum((v) => v.final.httpBytes);
  const p2pBytes = sum((v) => v.final.p2pBytes);
  const pinned = viewers.filter((v) => v.params?.levels && !isSwitching(v.params));
  const switching = viewers.filter((v) => v.params && isSwitching(v.params));
  const p2pRatioOf = (vs) => ratio(vs.reduce((a, v) => a + v.final.p2pBytes, 0), vs.reduce((a, v) => a + v.final.p2pBytes + v.final.httpBytes, 0));
  const unique = new Map();
  for (const v of viewers) for (const [url, bytes] of Object.entries(v.segments)) unique.set(url, bytes);
  const uniqueSegmentBytes = [...unique.values()].reduce((a, b) => a + b, 0);
  const startups = viewers.map((v) => v.final.startupMs).filter((x) => x !== null);
  const latencies = viewers.flatMap((v) => v.samples.filter((s) => s.startupMs !== null && s.latency !== null));
  return {
    engine,
    viewers: viewers.length,
    p2pRatio: ratio(p2pBytes, httpBytes + p2pBytes),
    amplification: ratio(httpBytes, uniqueSegmentBytes),
    httpBytes,
    p2pBytes,
    uploadBytes: sum((v) => v.final.uploadBytes),
    uniqueSegmentBytes,
    stalls: sum((v) => v.final.stalls),
    stallS: sum((v) => v.final.stallMs) / 1000,
    started: startups.length,
    startupMs: median(startups),
    startupMaxMs: startups.length ? Math.max(...startups) : null,
    latencyS: mean(latencies.map((s) => s.latency)),
    segmentsBehind: mean(latencies.map((s) => s.segmentsBehindEdge)),
    segmentsBehindMax: latencies.length ? Math.max(...latencies.map((s) => s.segmentsBehindEdge)) : null,
    hlsErrors: sum((v) => v.final.hlsErrors),
    fatalErrors: sum((v) => v.final.fatalErrors),
    pageErrors: sum((v) => v.errors.length),
    ratioOverTime: ratioOverTime(viewers, seconds),
    // ABR scenario: the viewers pinned to a level and those switching, apart.
    pinnedP2pRatio: p2pRatioOf(pinned),
    switchingP2pRatio: p2pRatioOf(switching),
    // ABR scenario: bytes hls.js received; above the bytes downloaded when a loader's cache answers refetches.
    deliveredBytes: sum((v) => v.fragments.reduce((a, f) => a + f.bytes, 0)),
    // ABR scenario: the best P2P ratio a loader could reach with what it
    // downloaded, since each distinct segment must come from the origin once.
    p2pCeiling: ratio(httpBytes + p2pBytes - uniqueSegmentBytes, httpBytes + p2pBytes),
    viewersWithoutPeers: viewers.filter((v) => v.samples.every((s) => s.peers === 0)).length,
    pinnedWaitP95Ms: waitP95(pinned),
    switchingWaitP95Ms: waitP95(switching),
  };
}

/** 95th percentile of how long hls.js waited for a fragment, over the viewers' fragments. */
function waitP95(viewers) {
  const waits = viewers.flatMap((v) => v.fragments.map((f) => f.waitMs)).sort((a, b) => a - b);
  return waits.length ? waits[Math.floor(0.95 * (waits.length - 1))] : null;
}

/** P2P share of the bytes all viewers received in the WINDOW_S before each t. */
function ratioOverTime(viewers, seconds) {
  const at = (v, t, key) => v.samples.findLast((s) => s.t <= t)?.[key] ?? 0;
  const points = [];
  for (let t = WINDOW_S; t <= seconds; t += 2) {
    const d = (key) => viewers.reduce((a, v) => a + at(v, t, key) - at(v, t - WINDOW_S, key), 0);
    const p2p = d("p2pBytes");
    const total = p2p + d("httpBytes");
    if (total > 0) points.push({ t, ratio: p2p / total });
  }
  return points;
}

/** The targets for swarmcast in `scenario`, each { name, ok, detail }; [] without the rows needed. */
export function targets(rows, { scenario, n }) {
  return scenario === "abr" ? abrTargets(rows) : liveTargets(rows, n);
}

/** The P2P-ratio target the chart draws, or null. */
export function chartTarget(rows, { scenario, n }) {
  if (scenario !== "abr") return { ratio: (0.9 * (n - 1)) / n, label: "target" };
  const p2pml = rows.find((r) => r.engine === "p2pml");
  return p2pml?.p2pRatio == null ? null : { ratio: p2pml.p2pRatio + 0.1, label: "target: P2P Media Loader +10 points" };
}

function abrTargets(rows) {
  const by = Object.fromEntries(rows.map((r) => [r.engine, r]));
  const sc = by.swarmcast;
  if (!sc) return [];
  const out = [];
  if (by.p2pml) {
    const want = by.p2pml.p2pRatio + 0.1;
    out.push({ name: `P2P ratio >= P2P Media Loader's + 10 points = ${fmt(want, 3)}`, ok: sc.p2pRatio >= want, detail: fmt(sc.p2pRatio, 3) });
  }
  out.push({
    name: "no fragment differs from the origin's bytes",
    ok: sc.fragmentsChecked > 0 && sc.fragmentsDiffering === 0,
    detail: `${sc.fragmentsDiffering} of ${sc.fragmentsChecked} (plain hls.js, the harness check: ${by.hls ? `${by.hls.fragmentsDiffering} of ${by.hls.fragmentsChecked}` : "not run"})`,
  });
  return out;
}

function liveTargets(rows, n) {
  const by = Object.fromEntries(rows.map((r) => [r.engine, r]));
  const sc = by.swarmcast;
  if (!sc) return [];
  const want = (0.9 * (n - 1)) / n;
  const out = [
    { name: `P2P ratio >= 0.9 x (N-1)/N = ${want.toFixed(2)}`, ok: sc.p2pRatio >= want, detail: fmt(sc.p2pRatio, 3) },
    {
      name: "within 3 segments of the live edge (mean)",
      ok: sc.segmentsBehind !== null && sc.segmentsBehind <= 3,
      detail: `${fmt(sc.segmentsBehind, 2)} segments (max ${fmt(sc.segmentsBehindMax, 2)}; plain hls.js ${fmt(by.hls?.segmentsBehind, 2)})`,
    },
  ];
  if (by.hls) {
    out.push({ name: "no more stalls than plain hls.js", ok: sc.stalls <= by.hls.stalls, detail: `${sc.stalls} vs ${by.hls.stalls}` });
    out.push({
      name: "startup within 300 ms of plain hls.js",
      ok: sc.startupMs !== null && by.hls.startupMs !== null && sc.startupMs <= by.hls.startupMs + 300,
      detail: `${fmt(sc.startupMs, 0)} vs ${fmt(by.hls.startupMs, 0)} ms`,
    });
  }
  if (by.p2pml) {
    out.push({ name: "higher P2P ratio than P2P Media Loader", ok: sc.p2pRatio > by.p2pml.p2pRatio, detail: `${fmt(sc.p2pRatio, 3)} vs ${fmt(by.p2pml.p2pRatio, 3)}` });
  }
  return out;
}

const NAMES = { hls: "plain hls.js", p2pml: "P2P Media Loader 2.3.1", swarmcast: "swarmcast" };

/** The report as Markdown: the results table, swarmcast's ratios, the targets. */
export function markdown(rows, opts) {
  const lines = opts.scenario === "abr" ? abrTable(rows, opts) : liveTable(rows, opts);
  const sc = rows.find((r) => r.engine === "swarmcast");
  const others = rows.filter((r) => r.engine !== "swarmcast");
  if (sc && others.length) {
    const live = opts.scenario !== "abr";
    lines.push(
      "",
      "swarmcast ÷ each other engine (P2P ratio higher is better; the rest lower is better):",
      "",
      `| swarmcast ÷ | P2P ratio | origin amplification | stalls | startup |${live ? " latency |" : ""}`,
      `|---|---|---|---|---|${live ? "---|" : ""}`,
      ...others.map(
        (o) =>
          `| ${NAMES[o.engine]} | ${x(sc.p2pRatio, o.p2pRatio)} | ${x(sc.amplification, o.amplification)} | ${x(sc.stalls, o.stalls)} | ${x(sc.startupMs, o.startupMs)} |${live ? ` ${x(sc.latencyS, o.latencyS)} |` : ""}`,
      ),
    );
  }
  const checks = targets(rows, opts);
  if (checks.length) {
    lines.push("", "Targets for swarmcast:", "", ...checks.map((c) => `- ${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.detail}`));
  }
  return lines.join("\n") + "\n";
}

function liveTable(rows, { n, seconds, staggerS }) {
  return [
    `N = ${n} viewers joining ${staggerS} s apart, T = ${seconds} s per engine, live test card (2 s segments).`,
    "",
    "| engine | P2P ratio | origin amplification | stalls (count, total s) | startup median / max (ms) | latency behind live (s) / segments behind edge | hls.js errors (fatal) |",
    "|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${NAMES[r.engine]} | ${fmt(r.p2pRatio, 3)} | ${fmt(r.amplification, 2)} | ${r.stalls}, ${r.stallS.toFixed(1)} | ${fmt(r.startupMs, 0)} / ${fmt(r.startupMaxMs, 0)} | ${fmt(r.latencyS, 1)} / ${fmt(r.segmentsBehind, 2)} | ${r.hlsErrors} (${r.fatalErrors}) |`,
    ),
  ];
}

function abrTable(rows, { n, seconds, staggerS }) {
  return [
    `N = ${n} viewers joining ${staggerS} s apart, T = ${seconds} s per engine, VOD test card with ${RENDITIONS.length} renditions (${RENDITIONS.join(", ")}; 2 s segments, audio muxed in).`,
    `Levels per viewer (→: switching every ${SWITCH_EVERY_S} s with hls.currentLevel): ${describePlans(n)}.`,
    "",
    "| engine | P2P ratio | P2P ceiling | P2P ratio pinned / switching viewers | origin offload | origin amplification | stalls (count, total s) | startup median / max (ms) | fragment wait p95 (ms) pinned / switching | MB to hls.js / downloaded | fragments differing from origin / checked | hls.js errors (fatal) |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${NAMES[r.engine]} | ${fmt(r.p2pRatio, 3)} | ${fmt(r.p2pCeiling, 3)} | ${fmt(r.pinnedP2pRatio, 3)} / ${fmt(r.switchingP2pRatio, 3)} | ${fmt(offload(r), 3)} | ${fmt(r.amplification, 2)} | ${r.stalls}, ${r.stallS.toFixed(1)} | ${fmt(r.startupMs, 0)} / ${fmt(r.startupMaxMs, 0)} | ${fmt(r.pinnedWaitP95Ms, 0)} / ${fmt(r.switchingWaitP95Ms, 0)} | ${mb(r.deliveredBytes)} / ${mb(r.httpBytes + r.p2pBytes)} | ${r.fragmentsDiffering} / ${r.fragmentsChecked} | ${r.hlsErrors} (${r.fatalErrors}) |`,
    ),
    "",
    "P2P ceiling: 1 − distinct segment bytes ÷ bytes downloaded, the ratio if every distinct segment came from the origin exactly once. Origin offload: 1 − origin bytes ÷ bytes hls.js received (a loader's cache answering hls.js's refetches after a switch counts here, not in the P2P ratio).",
    "",
    `Viewers that never had a peer: ${rows
      .filter((r) => r.engine !== "hls")
      .map((r) => `${NAMES[r.engine]} ${r.viewersWithoutPeers} of ${r.viewers}`)
      .join(", ")}.`,
  ];
}

export const engineName = (engine) => NAMES[engine];

/** Share of the bytes hls.js received that the origin did not serve. */
const offload = (r) => (r.deliveredBytes > 0 ? 1 - r.httpBytes / r.deliveredBytes : null);

function x(a, b) {
  if (a === null || b === null || b === 0) return "–";
  return `${(a / b).toFixed(2)}x`;
}
const mb = (bytes) => (bytes / 1e6).toFixed(1);
/** `v` with `digits` decimals, or – when there is no value. */
export function fmt(v, digits) {
  return v === null || v === undefined || Number.isNaN(v) ? "–" : v.toFixed(digits);
}
function ratio(a, b) {
  return b > 0 ? a / b : null;
}
function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}
function median(xs) {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
