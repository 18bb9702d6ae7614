// Figures, Markdown and chart of bench/swarm/native.mjs: one row per N from
// the samples taken over its steady window (each a cumulative snapshot of
// the origin, the tracker and the native processes; see native.mjs).
import { fmt } from "./report.mjs";

/** Issue #12's targets: at N = 100 (checked at every N here), and with a seeder. */
const TARGET_SHARE_OF_CEILING = 0.9;
const MAX_AMPLIFICATION = 1.3;
const MAX_AMPLIFICATION_WITH_SEEDER = 1.1;

/** The P2P ratio's ceiling: without a seeder one of the swarm's N viewers must fetch each segment over HTTP. */
const ceilingOf = (n, seeder) => (seeder ? 1 : (n - 1) / n);

/**
 * One row: the window's figures for `n` native viewers (`churners` of them
 * replaced every so often) and `tabs` Chromium pages; `tabsFragments` is the
 * check of the tabs' fragments against the origin, `vodReach` how many of a
 * VOD's segments the origin had served by the end (null on the live stream).
 */
export function nativeFigures({ n, tabs, churners, seeder, samples, distinctBytes, tabsFragments, vodReach }) {
  const [a, b] = [samples[0], samples.at(-1)];
  const seconds = b.t - a.t;
  const d = (key) => (b.viewers[key] ?? 0) - (a.viewers[key] ?? 0);
  const downloaded = d("p2pBytes") + d("httpBytes");
  const dChurners = (key) => (b.churners[key] ?? 0) - (a.churners[key] ?? 0);
  const churnersDownloaded = dChurners("p2pBytes") + dChurners("httpBytes");
  const originBytes = b.originSegmentBytes - a.originSegmentBytes - (b.ownBytes - a.ownBytes);
  const mean = (f) => samples.reduce((s, x) => s + f(x), 0) / samples.length;
  const tabBytes = (key) => b.tabs[key] - a.tabs[key];
  const tabsDownloaded = tabBytes("p2pBytes") + tabBytes("httpBytes");
  return {
    n,
    tabs,
    churners,
    seeder,
    seconds,
    p2pRatio: downloaded > 0 ? d("p2pBytes") / downloaded : null,
    ceiling: ceilingOf(n + tabs, seeder),
    churnersP2pRatio: churnersDownloaded > 0 ? dChurners("p2pBytes") / churnersDownloaded : null,
    churnersHttpShare: d("httpBytes") > 0 ? dChurners("httpBytes") / d("httpBytes") : null,
    tabsP2pRatio: tabsDownloaded > 0 ? tabBytes("p2pBytes") / tabsDownloaded : null,
    tabsFatalErrors: b.tabs.fatal,
    tabsFragments,
    vodReach,
    originBytes,
    distinctBytes,
    amplification: distinctBytes > 0 ? originBytes / distinctBytes : null,
    // Viewers of a VOD report none: there is no live edge.
    latencyS: d("latencyCount") > 0 ? d("latencySumS") / d("latencyCount") : null,
    // Mean time from joining to the first fragment: of every viewer of the
    // run, and of those that joined in the window (churn).
    startupMs: b.viewers.startupCount > 0 ? (1000 * b.viewers.startupSumS) / b.viewers.startupCount : null,
    windowStartupMs: d("startupCount") > 0 ? (1000 * d("startupSumS")) / d("startupCount") : null,
    misses: d("lateDeliveries"),
    stalls: d("stalls"),
    playingMin: Math.min(...samples.map((s) => s.viewers.playing ?? 0)),
    peersPerViewer: mean((s) => (s.viewers.peers ?? 0) / n),
    trackerMessagesPerS: (b.trackerMessages - a.trackerMessages) / seconds,
    trackerDropped: b.trackerDropped - a.trackerDropped,
    cpuPerPeer: d("cpuS") / seconds / n,
    rssPerPeerMiB: mean((s) => s.viewers.rssMiB ?? 0) / n,
    seederUploadBytes: b.seeder && a.seeder ? b.seeder.uploadBytes - a.seeder.uploadBytes : null,
    seederCpu: b.seeder && a.seeder ? (b.seeder.cpuS - a.seeder.cpuS) / seconds : null,
    load1: mean((s) => s.load1),
  };
}

/** Each target as { name, ok, detail }, for every row. */
export function nativeTargets(rows) {
  return rows.flatMap((r) => {
    const at = `N = ${r.n}${r.seeder ? " + seeder" : ""}`;
    const maxAmp = r.seeder ? MAX_AMPLIFICATION_WITH_SEEDER : MAX_AMPLIFICATION;
    const out = [];
    if (!r.seeder) {
      const want = TARGET_SHARE_OF_CEILING * r.ceiling;
      out.push({ name: `${at}: P2P ratio >= 0.9 x (N-1)/N = ${want.toFixed(3)}`, ok: r.p2pRatio >= want, detail: fmt(r.p2pRatio, 3) });
    }
    out.push({ name: `${at}: origin amplification <= ${maxAmp}`, ok: r.amplification !== null && r.amplification <= maxAmp, detail: fmt(r.amplification, 2) });
    out.push({ name: `${at}: no deadline miss`, ok: r.misses === 0, detail: `${r.misses}` });
    return out;
  });
}

/** The report: conditions, one table row per N, the targets. */
export function nativeMarkdown(rows, { seconds, rampS, churn, churnEveryS, seeder, vod, vodSeconds, liveSync, startupWaitS = 0 }) {
  const pct = (x) => (x === null ? "–" : `${(x * 100).toFixed(1)} %`);
  const stream = vod
    ? `a ${vodSeconds} s VOD test card (360p, 2 s segments; every viewer plays it from its beginning; origin amplification counts the segments the origin served for the first time in the window as new)`
    : `the live test card (360p, 2 s segments; viewers start ${liveSync} segments behind the newest)`;
  const lines = [
    `Native viewers (swarmcast-peer, release build) of ${stream}${seeder ? ", beside a seeder (viewers leave new segments to it: maxHttpDownloads 0)" : ""}.`,
    `Viewers join over ${rampS} s${startupWaitS > 0 ? ` and wait up to ${startupWaitS} s at startup for their first segments from peers` : ""}; ${churn > 0 ? `${pct(churn)} of them (one process) leave and are replaced every ${churnEveryS} s` : "no churn"}; figures over a ${seconds} s window starting 10 s after the last join.`,
    "",
    "| N | P2P ratio | ceiling | ratio ÷ ceiling | origin amplification | latency behind live (s) | startup (ms): all, in window | deadline misses | stalls | peers per viewer | tracker msg/s (per viewer), dropped | CPU per viewer (% of a core) | RSS per viewer (MiB) | load average |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.n}${r.tabs ? ` + ${r.tabs} tabs` : ""}${r.seeder ? " + seeder" : ""} | ${fmt(r.p2pRatio, 3)} | ${fmt(r.ceiling, 3)} | ${r.p2pRatio === null ? "–" : fmt(r.p2pRatio / r.ceiling, 3)} | ${fmt(r.amplification, 2)} | ${fmt(r.latencyS, 1)} | ${fmt(r.startupMs, 0)}, ${fmt(r.windowStartupMs, 0)} | ${r.misses} | ${r.stalls} | ${fmt(r.peersPerViewer, 1)} | ${fmt(r.trackerMessagesPerS, 1)} (${fmt(r.trackerMessagesPerS / r.n, 2)}), ${r.trackerDropped} | ${fmt(r.cpuPerPeer * 100, 2)} | ${fmt(r.rssPerPeerMiB, 1)} | ${fmt(r.load1, 1)} |`,
    ),
  ];
  const withChurn = rows.filter((r) => r.churners > 0);
  if (withChurn.length) {
    lines.push(
      "",
      `The churning viewers (each process's viewers join cold): ${withChurn.map((r) => `N = ${r.n}: P2P ratio ${fmt(r.churnersP2pRatio, 3)}, ${pct(r.churnersHttpShare)} of the viewers' HTTP bytes`).join("; ")}.`,
    );
  }
  const withTabs = rows.filter((r) => r.tabs > 0);
  if (withTabs.length) {
    lines.push(
      "",
      `Chromium tabs in the swarm (the ceiling counts them): ${withTabs.map((r) => `N = ${r.n}: ${r.tabs} tabs, P2P ratio ${fmt(r.tabsP2pRatio, 3)}, ${r.tabsFatalErrors} fatal hls.js errors, ${tabFragments(r.tabsFragments)}`).join("; ")}.`,
    );
  }
  if (vod) {
    lines.push("", `VOD reach (no viewer may reach the end): ${rows.map((r) => `N = ${r.n}: the origin served ${r.vodReach.served} of its ${r.vodReach.of} segments`).join("; ")}.`);
  }
  const withSeeder = rows.filter((r) => r.seeder);
  if (withSeeder.length) {
    lines.push(
      "",
      `Seeder: ${withSeeder.map((r) => `N = ${r.n}: uploaded ${(r.seederUploadBytes / 1e6).toFixed(1)} MB, ${fmt(r.seederCpu * 100, 1)} % of a core`).join("; ")}.`,
    );
  }
  lines.push("", "Targets:", "", ...nativeTargets(rows).map((c) => `- ${c.ok ? "PASS" : "FAIL"} ${c.name}: ${c.detail}`));
  return lines.join("\n") + "\n";
}

/** The tabs' fragment check as a phrase. */
function tabFragments({ checked, differing, unverifiable }) {
  return `${differing} of ${checked} fragments differing from the origin's bytes${unverifiable ? ` (${unverifiable} not checkable: gone from the origin)` : ""}`;
}

const PANEL = { w: 400, h: 260, left: 56, right: 16, top: 36, bottom: 40 };

/** One panel: `points` ({n, y}) against N, with dashed reference lines ({ y or points, label, labelBelow }). */
function panel(x0, y0, { title, points, lines = [], yMax, yFormat }) {
  const pw = PANEL.w - PANEL.left - PANEL.right;
  const ph = PANEL.h - PANEL.top - PANEL.bottom;
  const nMax = Math.max(...points.map((p) => p.n));
  const x = (n) => x0 + PANEL.left + (pw * n) / nMax;
  const y = (v) => y0 + PANEL.top + ph * (1 - Math.min(v, yMax) / yMax);
  const parts = [`<text x="${x0 + PANEL.w / 2}" y="${y0 + 20}" text-anchor="middle" font-weight="bold">${title}</text>`];
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    parts.push(
      `<line x1="${x0 + PANEL.left}" x2="${x0 + PANEL.w - PANEL.right}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e7ec"/>`,
      `<text x="${x0 + PANEL.left - 6}" y="${y(v) + 4}" text-anchor="end">${yFormat(v)}</text>`,
    );
  }
  for (const p of points) parts.push(`<text x="${x(p.n)}" y="${y0 + PANEL.h - PANEL.bottom + 16}" text-anchor="middle">${p.n}</text>`);
  parts.push(`<text x="${x0 + PANEL.w / 2}" y="${y0 + PANEL.h - 6}" text-anchor="middle" fill="#666">N viewers</text>`);
  for (const line of lines) {
    const pts = (line.points ?? points.map((p) => ({ n: p.n, y: line.y }))).map((p) => `${x(p.n).toFixed(1)},${y(p.y).toFixed(1)}`);
    parts.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="#999" stroke-dasharray="6 4"/>`);
    const last = pts.at(-1).split(",");
    const dy = line.labelBelow ? 16 : -6;
    parts.push(`<text x="${last[0]}" y="${Number(last[1]) + dy}" text-anchor="end" fill="#666">${line.label}</text>`);
  }
  const valid = points.filter((p) => p.y !== null);
  parts.push(`<polyline points="${valid.map((p) => `${x(p.n).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ")}" fill="none" stroke="#2f9e6e" stroke-width="2.5"/>`);
  for (const p of valid) parts.push(`<circle cx="${x(p.n)}" cy="${y(p.y)}" r="4" fill="#2f9e6e"/>`);
  return parts.join("\n");
}

/** The figures against N in four panels, as { svg, width, height }. */
export function nativeChartSvg(rows, { seeder }) {
  const at = (f) => rows.map((r) => ({ n: r.n, y: f(r) }));
  const maxOf = (f, floor) => Math.max(floor, ...rows.map((r) => f(r) ?? 0)) * 1.15;
  const maxAmp = seeder ? MAX_AMPLIFICATION_WITH_SEEDER : MAX_AMPLIFICATION;
  const panels = [
    panel(0, 0, {
      title: "P2P ratio",
      points: at((r) => r.p2pRatio),
      lines: seeder ? [] : [{ points: at((r) => r.ceiling), label: "(N−1)/N" }, { points: at((r) => TARGET_SHARE_OF_CEILING * r.ceiling), label: "target", labelBelow: true }],
      yMax: 1,
      yFormat: (v) => `${Math.round(v * 100)} %`,
    }),
    panel(PANEL.w, 0, {
      title: "Origin amplification",
      points: at((r) => r.amplification),
      lines: [{ y: maxAmp, label: "target" }],
      yMax: maxOf((r) => r.amplification, maxAmp),
      yFormat: (v) => v.toFixed(2),
    }),
    panel(0, PANEL.h, {
      title: "CPU per viewer (% of a core)",
      points: at((r) => r.cpuPerPeer * 100),
      yMax: maxOf((r) => r.cpuPerPeer * 100, 1),
      yFormat: (v) => v.toFixed(1),
    }),
    panel(PANEL.w, PANEL.h, {
      title: "RSS per viewer (MiB)",
      points: at((r) => r.rssPerPeerMiB),
      yMax: maxOf((r) => r.rssPerPeerMiB, 1),
      yFormat: (v) => v.toFixed(1),
    }),
  ];
  const [width, height] = [2 * PANEL.w, 2 * PANEL.h];
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#1d2330">
<rect width="100%" height="100%" fill="#fff"/>
${panels.join("\n")}
</svg>`;
  return { svg, width, height };
}
