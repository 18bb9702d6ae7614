#!/usr/bin/env node
// The swarm benchmark's native mode: N swarmcast-peer viewers (release build)
// of the live test card, for each N given, joining over a ramp, with churn,
// optionally beside a seeder. Measures over a steady window: P2P ratio
// against the (N-1)/N ceiling, origin amplification, latency behind live,
// deadline misses, tracker messages per second, CPU and memory per native
// peer. Prints one table and writes JSON, Markdown and a PNG of the figures
// against N. Run inside scripts/in-netns.sh (see README).
//
//   node bench/swarm/native.mjs [--n 25,50,100] [--seconds 60] [--ramp 20]
//        [--churn 0.1] [--churn-every 20] [--seeder] [--tabs 0]
//        [--out bench/out] [--publish]
//
// --tabs adds that many Chromium pages (swarmcast on hls.js) to each swarm.
//
// --publish also copies the results to bench/swarm/results/native-latest.*
// (native-seeder-latest.* with --seeder).
import os from "node:os";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO, originMetrics, parseProm, promSum, startStack } from "../../tests/support/servers.mjs";
import { launchBrowser } from "../../tests/support/browser.mjs";
import { openPlayer } from "../../tests/support/player.mjs";
import { Fleet } from "./fleet.mjs";
import { nativeChartSvg, nativeFigures, nativeMarkdown } from "./native-report.mjs";
import { svgToPng } from "./chart.mjs";

const SAMPLE_MS = 2000;
/** After the ramp, before the window: the last joiners reach the live edge and find peers. */
const SETTLE_S = 10;

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "25,50,100" },
    seconds: { type: "string", default: "60" },
    ramp: { type: "string", default: "20" },
    churn: { type: "string", default: "0.1" },
    "churn-every": { type: "string", default: "20" },
    seeder: { type: "boolean", default: false },
    tabs: { type: "string", default: "0" },
    out: { type: "string", default: path.join(REPO, "bench/out") },
    publish: { type: "boolean", default: false },
  },
});
const opts = {
  ns: args.n.split(",").map(Number),
  seconds: Number(args.seconds),
  rampS: Number(args.ramp),
  churn: Number(args.churn),
  churnEveryS: Number(args["churn-every"]),
  seeder: args.seeder,
  tabs: Number(args.tabs),
};
for (const n of opts.ns) if (!(Number.isInteger(n) && n >= 1)) throw new Error(`--n: ${n} is not a viewer count`);
if (!(opts.churn >= 0 && opts.churn < 1)) throw new Error("--churn is the share of viewers that churn, in [0, 1)");

/** The stream's (first) media playlist and the segments it lists, for the distinct-segment count. */
class SegmentLog {
  constructor(master) {
    this.master = master;
    this.media = null;
    /** uri -> bytes of every segment seen listed. */
    this.sizes = new Map();
    /** Bytes this script itself fetched from the origin (taken out of the origin's count). */
    this.ownBytes = 0;
  }

  async poll() {
    this.media ??= await mediaPlaylistOf(this.master);
    const text = await (await fetch(this.media)).text();
    for (const uri of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      const url = new URL(uri, this.media).href;
      if (this.sizes.has(url)) continue;
      const res = await fetch(url);
      const bytes = res.ok ? (await res.arrayBuffer()).byteLength : 0;
      this.ownBytes += bytes;
      this.sizes.set(url, bytes);
    }
  }

  /** Bytes of the segments first listed after `before` (a `sizes.size` taken earlier). */
  bytesSince(before) {
    return [...this.sizes.values()].slice(before).reduce((a, b) => a + b, 0);
  }
}

async function mediaPlaylistOf(master) {
  const text = await (await fetch(master)).text();
  if (text.includes("#EXTINF")) return master;
  return new URL(text.split("\n").find((l) => l && !l.startsWith("#")), master).href;
}

/** Opens `count` Chromium pages playing the stream with swarmcast, in the fleet's swarm. */
async function openTabs(browser, stack, count) {
  const swarmcast = { trackers: [stack.tracker.url], rtcConfig: { iceServers: [] } };
  const tabs = [];
  for (let i = 0; i < count; i++) {
    tabs.push(await openPlayer(browser, stack.origin.url, { src: stack.origin.liveUrl, opts: swarmcast }));
  }
  return tabs;
}

/** The tabs' bytes by source and fatal hls.js errors, summed. */
async function tabTotals(tabs) {
  const snaps = await Promise.all(tabs.map((t) => t.snapshot()));
  const add = (f) => snaps.reduce((a, s) => a + f(s), 0);
  return { p2pBytes: add((s) => s.stats.p2pBytes), httpBytes: add((s) => s.stats.httpBytes), fatal: add((s) => s.fatal.length) };
}

/** What the origin, the tracker, the fleet and the tabs have done so far. */
async function snapshot(stack, fleet, segments, tabs) {
  const [origin, tracker, peers, tabsNow] = await Promise.all([
    originMetrics(stack.origin),
    fetch(`http://127.0.0.1:${stack.tracker.port}/metrics`).then(async (r) => parseProm(await r.text())),
    fleet.sample(),
    tabTotals(tabs),
    segments.poll(),
  ]);
  return {
    t: Date.now() / 1000,
    originSegmentBytes: promSum(origin, "swarmcast_origin_response_bytes_total", 'kind="segment"'),
    ownBytes: segments.ownBytes,
    segmentsListed: segments.sizes.size,
    // Announces, offers and answers relayed, scrapes, errors; "dropped" (a full send queue) apart.
    trackerMessages:
      promSum(tracker, "swarmcast_tracker_messages_total") - promSum(tracker, "swarmcast_tracker_messages_total", 'kind="dropped"'),
    trackerDropped: promSum(tracker, "swarmcast_tracker_messages_total", 'kind="dropped"'),
    load1: os.loadavg()[0],
    tabs: tabsNow,
    ...peers,
  };
}

async function runOne(stack, browser, n) {
  const churners = Math.round(n * opts.churn);
  const fleet = new Fleet({
    stream: stack.origin.liveUrl,
    tracker: stack.tracker.url,
    n,
    churners,
    joinIntervalMs: Math.round((opts.rampS * 1000) / n),
    seeder: opts.seeder,
  });
  const segments = new SegmentLog(stack.origin.liveUrl);
  let tabs = [];
  try {
    await fleet.start();
    const rampEnd = Date.now() + opts.rampS * 1000;
    if (browser) tabs = await openTabs(browser, stack, opts.tabs);
    await sleep(rampEnd - Date.now() + SETTLE_S * 1000);
    await segments.poll();
    const first = await snapshot(stack, fleet, segments, tabs);
    const samples = [first];
    let nextChurn = first.t + opts.churnEveryS;
    while (Date.now() / 1000 < first.t + opts.seconds) {
      await sleep(SAMPLE_MS);
      if (churners > 0 && Date.now() / 1000 >= nextChurn) {
        await fleet.churn();
        nextChurn += opts.churnEveryS;
      }
      samples.push(await snapshot(stack, fleet, segments, tabs));
    }
    const distinctBytes = segments.bytesSince(first.segmentsListed);
    return nativeFigures({ n, tabs: opts.tabs, churners, seeder: opts.seeder, samples, distinctBytes });
  } finally {
    await Promise.all(tabs.map((t) => t.close()));
    await fleet.stop();
  }
}

const stack = await startStack({ extraArgs: ["--renditions", "360p"] });
const browser = opts.tabs > 0 ? await launchBrowser() : null;
const rows = [];
try {
  for (const n of opts.ns) {
    const extra = `${opts.seeder ? " + a seeder" : ""}${opts.tabs ? ` + ${opts.tabs} Chromium tabs` : ""}`;
    console.error(`[native] N = ${n}${extra}: ramp ${opts.rampS} s, window ${opts.seconds} s`);
    rows.push(await runOne(stack, browser?.browser, n));
    // The swarm's goodbyes reach the tracker before the next N starts.
    await sleep(2000);
  }
} finally {
  await browser?.close();
  await stack.stop();
}

const name = opts.seeder ? "swarm-native-seeder" : "swarm-native";
await mkdir(args.out, { recursive: true });
const files = Object.fromEntries(["json", "md", "png"].map((ext) => [ext, path.join(args.out, `${name}.${ext}`)]));
const report = nativeMarkdown(rows, opts);
await writeFile(files.json, JSON.stringify({ date: new Date().toISOString(), ...opts, rows }, null, 1));
await writeFile(files.md, report);
const chart = nativeChartSvg(rows, opts);
await svgToPng(files.png, chart.svg, chart);
if (args.publish) {
  const dir = path.join(REPO, "bench/swarm/results");
  const published = opts.seeder ? "native-seeder-latest" : "native-latest";
  for (const ext of ["json", "md", "png"]) await copyFile(files[ext], path.join(dir, `${published}.${ext}`));
}
console.log(report);
console.error(`[native] wrote ${Object.values(files).join(", ")}`);
