#!/usr/bin/env node
// The swarm benchmark's native mode: N swarmcast-peer viewers (release build)
// of the live test card (or, with --vod, of a finished VOD test card, each
// viewer from its beginning), for each N given, joining over a ramp, with
// churn, optionally beside a seeder. Measures over a steady window: P2P ratio
// against the (N-1)/N ceiling, origin amplification, latency behind live,
// deadline misses, tracker messages per second, CPU and memory per native
// peer. Prints one table and writes JSON, Markdown and a PNG of the figures
// against N. Run inside scripts/in-netns.sh (see README).
//
//   node bench/swarm/native.mjs [--vod] [--n 25,50,100] [--seconds 60]
//        [--ramp 20] [--churn 0.1] [--churn-every 20] [--seeder] [--tabs 0]
//        [--live-sync 3] [--startup-wait 0] [--out bench/out] [--publish]
//
// --live-sync sets how many segments behind the newest a live viewer starts
// (swarmcast-peer --live-sync-segments; hls.js liveSyncDurationCount, whose
// default is 3): the time a new segment has to spread before it is due.
//
// --startup-wait gives viewers that many seconds, at startup, to take their
// first segments from peers (swarmcast-peer --startup-peer-wait): each
// joiner then costs the origin less, at the price of startup time.
// --tabs adds that many Chromium pages (swarmcast on hls.js) to each swarm;
// every fragment they receive is checked against the origin's bytes.
//
// --publish also copies the results to bench/swarm/results/native-latest.*
// (native-vod-latest.* with --vod; -seeder, -sync<N> for a --live-sync other
// than 3 and -startup-wait for a --startup-wait above 0 go before `-latest`).
import os from "node:os";
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO, STANDARD_MOUNTS, mediaPlaylistOf, originMetrics, parseProm, playlistSegments, promSum, startStack } from "../../tests/support/servers.mjs";
import { launchBrowser } from "../../tests/support/browser.mjs";
import { FragmentCheck, OriginDigests } from "../../tests/support/integrity.mjs";
import { openPlayer } from "../../tests/support/player.mjs";
import { Fleet } from "./fleet.mjs";
import { ListedSegments, ServedSegments } from "./new-segments.mjs";
import { cachedVod } from "./vod-cache.mjs";
import { nativeChartSvg, nativeFigures, nativeMarkdown } from "./native-report.mjs";
import { svgToPng } from "./chart.mjs";

const SAMPLE_MS = 2000;
/** After the ramp, before the window: the last joiners reach the live edge and find peers. */
const SETTLE_S = 10;
/** swarmcast-peer's default forward buffer (--max-buffer): how far the first viewer runs ahead (tabs are held to it too). */
const VIEWER_BUFFER_S = 30;
/** Where the origin serves the VOD. */
const VOD_PREFIX = "/vod";

/** A bad command line: says what is wrong and exits. */
function usage(problem) {
  console.error(`native.mjs: ${problem}\nUsage: node bench/swarm/native.mjs [--vod] [--n 25,50,100] [--seconds 60] [--ramp 20] [--churn 0.1] [--churn-every 20] [--seeder] [--tabs 0] [--live-sync 3] [--startup-wait 0] [--out DIR] [--publish]`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      vod: { type: "boolean", default: false },
      n: { type: "string", default: "25,50,100" },
      seconds: { type: "string", default: "60" },
      ramp: { type: "string", default: "20" },
      churn: { type: "string", default: "0.1" },
      "churn-every": { type: "string", default: "20" },
      seeder: { type: "boolean", default: false },
      tabs: { type: "string", default: "0" },
      "live-sync": { type: "string", default: "3" },
      "startup-wait": { type: "string", default: "0" },
      out: { type: "string", default: path.join(REPO, "bench/out") },
      publish: { type: "boolean", default: false },
    },
  });
} catch (e) {
  usage(e.message);
}
const args = parsed.values;

/** `--name`'s value as a number that passes `ok`, or the usage error `want`. */
function numberArg(name, ok, want, text = args[name]) {
  const v = Number(text);
  if (text.trim() === "" || !ok(v)) usage(`--${name} ${text}: ${want}`);
  return v;
}
const isCount = (v) => Number.isInteger(v) && v >= 0;
const opts = {
  vod: args.vod,
  ns: args.n.split(",").map((text) => numberArg("n", (v) => isCount(v) && v >= 1, "want viewer counts (integers >= 1), comma-separated", text)),
  seconds: numberArg("seconds", (v) => v > 0, "want a window in seconds > 0"),
  rampS: numberArg("ramp", (v) => v >= 0, "want seconds >= 0"),
  churn: numberArg("churn", (v) => v >= 0 && v < 1, "want the share of viewers that churn, in [0, 1)"),
  churnEveryS: numberArg("churn-every", (v) => v > 0, "want seconds > 0"),
  seeder: args.seeder,
  tabs: numberArg("tabs", isCount, "want a number of Chromium pages (an integer >= 0)"),
  liveSync: numberArg("live-sync", (v) => isCount(v) && v >= 1, "want a number of segments (an integer >= 1)"),
  startupWaitS: numberArg("startup-wait", (v) => v >= 0, "want seconds >= 0"),
};
// The first viewer fetches up to its buffer ahead of its playhead; the margin
// covers the sampling's own time. No viewer may reach the end in the run.
if (opts.vod) opts.vodSeconds = opts.rampS + SETTLE_S + opts.seconds + VIEWER_BUFFER_S + 30;

/**
 * Opens `count` Chromium pages playing `src` with swarmcast, in the fleet's
 * swarm, each hashing every fragment hls.js receives; returns each page with
 * the check of those fragments against the origin (`digests`).
 */
async function openTabs(browser, stack, src, count, digests) {
  const swarmcast = { trackers: [stack.tracker.url], rtcConfig: { iceServers: [] } };
  // As far ahead as the native viewers: by its byte-size rule hls.js would
  // otherwise fetch the whole VOD in its first seconds.
  const hlsConfig = { maxBufferLength: VIEWER_BUFFER_S, maxMaxBufferLength: VIEWER_BUFFER_S, liveSyncDurationCount: opts.liveSync };
  const tabs = [];
  for (let i = 0; i < count; i++) {
    const tab = await openPlayer(browser, stack.origin.url, { src, opts: swarmcast, hlsConfig, record: true });
    tabs.push(Object.assign(tab, { fragments: new FragmentCheck(tab.recorded, digests) }));
  }
  return tabs;
}

/**
 * Compares the tabs' newly received fragments with the origin; often, since a
 * live segment leaves the origin with the playlist window.
 */
const checkTabs = (tabs) => Promise.all(tabs.map((t) => t.fragments.check()));

/** The tabs' fragments checked, differing from the origin's bytes, and not checkable. */
function tabIntegrity(tabs) {
  const add = (f) => tabs.reduce((a, t) => a + f(t.fragments), 0);
  return { checked: add((c) => c.records.length), differing: add((c) => c.differences.length), unverifiable: add((c) => c.unverifiable.length) };
}

/** The tabs' bytes by source and fatal hls.js errors, summed. */
async function tabTotals(tabs) {
  const snaps = await Promise.all(tabs.map((t) => t.snapshot()));
  const add = (f) => snaps.reduce((a, s) => a + f(s), 0);
  return { p2pBytes: add((s) => s.stats.p2pBytes), httpBytes: add((s) => s.stats.httpBytes), fatal: add((s) => s.fatal.length) };
}

/** What the origin, the tracker, the fleet and the tabs have done so far. */
async function snapshot(stack, fleet, segments, tabs, digests) {
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
    ownBytes: segments.ownBytes + digests.fetchedBytes,
    newSegmentsMark: segments.mark(),
    // Announces, offers and answers relayed, scrapes, errors; "dropped" (a full send queue) apart.
    trackerMessages:
      promSum(tracker, "swarmcast_tracker_messages_total") - promSum(tracker, "swarmcast_tracker_messages_total", 'kind="dropped"'),
    trackerDropped: promSum(tracker, "swarmcast_tracker_messages_total", 'kind="dropped"'),
    load1: os.loadavg()[0],
    tabs: tabsNow,
    ...peers,
  };
}

/**
 * The origin (serving the live test card, or the VOD at VOD_PREFIX with its
 * segment digests, as the test card has) and the tracker; `src` is the
 * stream's URL, `vodSegments` the VOD's segment count.
 */
async function startSource() {
  if (!opts.vod) {
    const stack = await startStack({ extraArgs: ["--renditions", "360p"] });
    return { stack, src: stack.origin.liveUrl };
  }
  console.error(`[native] encoding (or reusing) the ${opts.vodSeconds} s VOD test card`);
  const dir = await cachedVod(args.out, "native-vod", { seconds: opts.vodSeconds, renditions: ["360p"] });
  const mounts = { ...STANDARD_MOUNTS, [VOD_PREFIX]: dir };
  const stack = await startStack({ testcard: false, mounts, extraArgs: ["--digests", VOD_PREFIX] });
  const src = `${stack.origin.url}${VOD_PREFIX}/master.m3u8`;
  return { stack, src, vodSegments: (await playlistSegments(await mediaPlaylistOf(src))).length };
}

async function runOne({ stack, src, vodSegments }, browser, n, digests) {
  const churners = Math.round(n * opts.churn);
  const fleet = new Fleet({
    stream: src,
    tracker: stack.tracker.url,
    n,
    churners,
    joinIntervalMs: Math.round((opts.rampS * 1000) / n),
    liveSync: opts.liveSync,
    startupWaitMs: Math.round(opts.startupWaitS * 1000),
    seeder: opts.seeder,
  });
  const segments = opts.vod ? new ServedSegments(stack.origin.child, `${VOD_PREFIX}/`) : new ListedSegments(src);
  let tabs = [];
  try {
    await fleet.start();
    const windowStart = Date.now() + (opts.rampS + SETTLE_S) * 1000;
    if (browser) tabs = await openTabs(browser, stack, src, opts.tabs, digests);
    while (Date.now() < windowStart) {
      await sleep(Math.min(SAMPLE_MS, windowStart - Date.now()));
      await checkTabs(tabs);
    }
    await segments.poll();
    const first = await snapshot(stack, fleet, segments, tabs, digests);
    const samples = [first];
    let nextChurn = first.t + opts.churnEveryS;
    while (Date.now() / 1000 < first.t + opts.seconds) {
      await sleep(SAMPLE_MS);
      if (churners > 0 && Date.now() / 1000 >= nextChurn) {
        await fleet.churn();
        nextChurn += opts.churnEveryS;
      }
      await checkTabs(tabs);
      samples.push(await snapshot(stack, fleet, segments, tabs, digests));
    }
    return nativeFigures({
      n,
      tabs: opts.tabs,
      churners,
      seeder: opts.seeder,
      samples,
      distinctBytes: segments.bytesSince(first.newSegmentsMark),
      tabsFragments: tabs.length ? tabIntegrity(tabs) : null,
      vodReach: opts.vod ? { served: segments.mark(), of: vodSegments } : null,
    });
  } finally {
    segments.close();
    await Promise.all(tabs.map((t) => t.close()));
    await fleet.stop();
  }
}

const source = await startSource();
const browser = opts.tabs > 0 ? await launchBrowser() : null;
const digests = new OriginDigests();
const rows = [];
try {
  for (const n of opts.ns) {
    const extra = `${opts.seeder ? " + a seeder" : ""}${opts.tabs ? ` + ${opts.tabs} Chromium tabs` : ""}`;
    console.error(`[native] N = ${n}${extra}${opts.vod ? " on the VOD" : ""}: ramp ${opts.rampS} s, window ${opts.seconds} s`);
    rows.push(await runOne(source, browser?.browser, n, digests));
    // The swarm's goodbyes reach the tracker before the next N starts.
    await sleep(2000);
  }
} finally {
  await browser?.close();
  await source.stack.stop();
}

// Runs away from the defaults publish under their own names.
const variant = [
  opts.vod ? "-vod" : "",
  opts.seeder ? "-seeder" : "",
  opts.liveSync !== 3 ? `-sync${opts.liveSync}` : "",
  opts.startupWaitS > 0 ? "-startup-wait" : "",
].join("");
const name = `swarm-native${variant}`;
await mkdir(args.out, { recursive: true });
const files = Object.fromEntries(["json", "md", "png"].map((ext) => [ext, path.join(args.out, `${name}.${ext}`)]));
const report = nativeMarkdown(rows, opts);
await writeFile(files.json, JSON.stringify({ date: new Date().toISOString(), ...opts, rows }, null, 1));
await writeFile(files.md, report);
const chart = nativeChartSvg(rows, opts);
await svgToPng(files.png, chart.svg, chart);
if (args.publish) {
  const dir = path.join(REPO, "bench/swarm/results");
  for (const ext of ["json", "md", "png"]) await copyFile(files[ext], path.join(dir, `native${variant}-latest.${ext}`));
}
console.log(report);
console.error(`[native] wrote ${Object.values(files).join(", ")}`);
