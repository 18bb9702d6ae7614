// Segment integrity across stream shapes: every fragment hls.js receives
// (FRAG_LOADED's payload, main and audio, plus init segments) is byte for
// byte what the origin serves for that URL and byte range, on every page of
// a small swarm, including pages that switch levels or seek. Each case also
// needs no fatal hls.js error and bytes from peers on the pages that joined
// later. One row of CASES per stream shape; the pages of a case join a few
// seconds apart and differ only in what they do besides playing (ROLES).
// Level switches are the switching pages' job (and ABR's, on the pages of
// those cases); the other cases pin their pages to the top level, so that
// what they test is the stream shape alone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { makeTempVod, startStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { OriginDigests, compareWithOrigin } from "../support/integrity.mjs";

// Three small renditions keep three pages' decoding cheap on two cores.
const RENDITIONS = ["144p", "216p", "288p"];
const FOLDERS = [...RENDITIONS, "audio"];
const TOP = RENDITIONS.length - 1;
const VOD_SECONDS = 32;
const JOIN_GAP_MS = 3000; // between the pages' arrivals
const PLAY_MS = 12_000; // once all pages are in
const CHECK_EVERY_MS = 2000; // live segments leave the origin with the window
// A short buffer makes pages fetch as they play, so the later ones still
// load segments once their peers are connected, and level switches matter.
const HLS_CONFIG = { maxBufferLength: 10, maxMaxBufferLength: 10 };

// What a page does besides playing: `pinned` pages start on the top level
// and stay there; `start` runs in the page once it plays; `expect` lists
// what its fragments lack for the role to have happened.
const mainLevels = (frags) => new Set(frags.filter((f) => f.type === "main" && !f.init).map((f) => f.level));
const unless = (ok, problem) => (ok ? [] : [problem]);
const onTop = (frags) => unless([...mainLevels(frags)].every((l) => l === TOP), "left the top level");
const ROLES = {
  auto: { name: "ABR" },
  fixed: { name: `fixed at ${RENDITIONS[TOP]}`, pinned: true, expect: onTop },
  // Switches at once, as a quality menu does: hls.js flushes its buffer and
  // loads the same segments again at the new level. Level 2 is held longest:
  // it is the level the ABR pages play, so the only one whose segments peers
  // hold. On live, held for 5 s (two or three segments), the page sometimes
  // fetched every one of them itself and took nothing from peers.
  switching: {
    name: "switching to level 0, to 2 after 4 s, to 1 after 10 s",
    start: () => {
      const at = (ms, level) => setTimeout(() => (window.player.hls.currentLevel = level), ms);
      at(0, 0);
      at(4000, 2);
      at(10_000, 1);
    },
    expect: (frags) => unless(mainLevels(frags).size >= 2, "played one level only"),
  },
  seeking: {
    name: `fixed at ${RENDITIONS[TOP]}, seeking to 24 s, then back to 8 s`,
    pinned: true,
    start: () => {
      const video = document.getElementById("video");
      setTimeout(() => (video.currentTime = 24), 4000);
      setTimeout(() => (video.currentTime = 8), 10_000);
    },
    expect: (frags) => [
      ...onTop(frags),
      ...unless(frags.some((f) => f.type === "main" && f.sn >= 12), "never loaded the segments at 24 s"),
    ],
  },
};

const CASES = [
  { name: "VOD, MPEG-TS, three renditions", vod: [], pages: ["auto", "auto", "switching"] },
  { name: "VOD, fMP4, three renditions", vod: ["--fmp4"], pages: ["auto", "auto", "switching"] },
  { name: "live test card", live: ["--window", "20"], pages: ["auto", "auto", "switching"] },
  { name: "alternate audio rendition", vod: ["--alt-audio"], pages: ["fixed", "fixed", "fixed"], audio: true },
  { name: "AES-128", vod: ["--aes128"], pages: ["fixed", "fixed", "fixed"] },
  { name: "byte ranges (fMP4, one file per rendition)", vod: ["--byterange", "--fmp4"], pages: ["fixed", "fixed", "fixed"] },
  { name: "seek in VOD", vod: [], pages: ["fixed", "fixed", "seeking"] },
  // Pages that open the stream at other hosts (CDNs) with their own tokens:
  // no URL is the same, so streams and segments go by their swarm-id names.
  { name: "swarm id, each page at its own host and token", vod: ["--alt-audio"], pages: ["auto", "auto", "switching"], audio: true, swarmId: "integrity" },
];

const RENDITION_ARGS = ["--renditions", RENDITIONS.join(",")];

// Each VOD shape is encoded once, all before the first case: together they
// share the two cores better than one at a time between cases.
let browser;
const vods = new Map(); // VOD flags joined by spaces -> { dir, remove }
before(async () => {
  const shapes = [...new Set(CASES.filter((c) => c.vod).map((c) => c.vod.join(" ")))];
  const made = shapes.map(async (flags) => {
    const extraArgs = [...RENDITION_ARGS, ...flags.split(" ").filter(Boolean)];
    vods.set(flags, await makeTempVod({ seconds: VOD_SECONDS, extraArgs }));
  });
  await Promise.all([...made, launchBrowser().then((b) => (browser = b))]);
});
after(async () => {
  await browser?.close();
  vods.forEach((v) => v.remove());
});

for (const c of CASES) {
  test(c.name, { timeout: 150_000 }, (t) => runCase(t, c));
}

async function runCase(t, c) {
  // A fresh origin and tracker per case, so every case starts a new swarm.
  const stack = c.live
    ? await startStack({ extraArgs: [...RENDITION_ARGS, ...c.live] })
    : await startStack({ testcard: false, root: vods.get(c.vod.join(" ")).dir });
  const pages = [];
  try {
    const { origin, tracker } = stack;
    const src = c.live ? origin.liveUrl : `${origin.url}/master.m3u8`;
    const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] }, swarmId: c.swarmId };
    // With a swarm id, page i opens the stream at a host and token of its own.
    const srcOf = (i) => {
      if (!c.swarmId) return src;
      const url = new URL(src);
      url.hostname = i % 2 ? "localhost" : url.hostname;
      url.search = `?token=page${i}`;
      return url.href;
    };
    const digests = new OriginDigests();
    const check = () => Promise.all(pages.map((p) => p.check(digests)));

    const start = Date.now();
    for (const [i, roleName] of c.pages.entries()) {
      const role = ROLES[roleName];
      await sleep(Math.max(0, start + i * JOIN_GAP_MS - Date.now()));
      const hlsConfig = role.pinned ? { ...HLS_CONFIG, startLevel: TOP } : HLS_CONFIG;
      const player = await openPlayer(browser.browser, origin.url, { src: srcOf(i), opts, hlsConfig, record: true });
      const page = new CheckedPage(player, role);
      pages.push(page);
      // A page that never plays is reported with the others, not thrown.
      page.started = await player.waitForProgress(1, 30_000).then(
        () => true,
        () => false,
      );
      // loadLevel turns ABR off without flushing what is buffered.
      if (page.started && role.pinned) await player.page.evaluate((l) => (window.player.hls.loadLevel = l), TOP);
      if (page.started && role.start) await player.page.evaluate(role.start);
    }
    for (const end = Date.now() + PLAY_MS; Date.now() < end; ) {
      await sleep(CHECK_EVERY_MS);
      await check();
    }
    await check();

    const failures = [];
    for (const [i, p] of pages.entries()) {
      const s = await p.summary();
      t.diagnostic(`page ${i} (${p.role.name}): ${describe(s, c.audio)}`);
      for (const d of p.differences.slice(0, 5)) t.diagnostic(`  differs: ${describeDifference(d, s.deliveries)}`);
      const fail = (what) => failures.push(`page ${i} (${p.role.name}): ${what}`);
      if (!p.started) fail("did not start playing within 30 s");
      if (s.fragments === 0) fail("no fragments recorded");
      if (p.differences.length) fail(`${p.differences.length} of ${s.fragments} fragments differ from the origin's bytes`);
      if (p.unverifiable.length) fail(`${p.unverifiable.length} fragments not checked (origin: ${p.unverifiable[0].error})`);
      if (s.fatal.length) fail(`fatal hls.js errors: ${s.fatal.map((e) => e.details).join(", ")}`);
      for (const problem of p.role.expect?.(p.records) ?? []) fail(problem);
      if (i > 0 && !(s.p2pBytes > 0)) {
        fail("no bytes from peers");
        for (const line of await p.peerTimeline()) t.diagnostic(`  ${line}`);
      }
      if (i > 0 && c.audio && !(s.audio.p2p > 0)) fail("no audio bytes from peers");
    }
    assert.deepEqual(failures, [], `${c.name}:\n${failures.join("\n")}`);
  } finally {
    await Promise.all(pages.map((p) => p.player.close()));
    await stack.stop();
  }
}

/** A player page whose recorded fragments are compared with the origin as they arrive. */
class CheckedPage {
  records = [];
  started = false;
  differences = [];
  unverifiable = [];

  constructor(player, role) {
    this.player = player;
    this.role = role;
  }

  async check(digests) {
    const fresh = await this.player.recorded(this.records.length);
    this.records.push(...fresh);
    const { differences, unverifiable } = await compareWithOrigin(fresh, digests, FOLDERS);
    this.differences.push(...differences);
    this.unverifiable.push(...unverifiable);
  }

  /** Its stats and hls.js errors, when its peers came and went, and where each of its segments came from (ms since its first event). */
  async peerTimeline() {
    const events = await this.player.events();
    const t0 = events[0]?.t ?? 0;
    const line = ({ type, detail: d, t }) => {
      const when = `${Math.round(t - t0)} ms`;
      if (type === "segmentloaded") return `${when} ${d.type ?? "main"} sn ${d.sn} from ${d.source}`;
      if (type.startsWith("peer")) return `${when} ${type} ${String(d.id).slice(-8)}`;
      return `${when} ${type} ${JSON.stringify(d)}`;
    };
    const { stats } = await this.player.snapshot();
    const errors = await this.player.page.evaluate(() => window.player.hlsErrors);
    return [
      `stats: ${JSON.stringify({ ...stats, peers: undefined })}`,
      ...errors.map((e) => `hls.js error ${e.details} (${e.type}) sn ${e.sn} level ${e.level}: ${e.message.split("\n")[0]}`),
      ...events.map(line),
    ];
  }

  /** Counts by fragment type, swarmcast's bytes by source, and audio's P2P share. */
  async summary() {
    const snap = await this.player.snapshot();
    const loaded = (await this.player.events("segmentloaded")).map((e) => e.detail);
    // segmentloaded may lack a type: take it from hls.js's record of the same URL.
    const typeOf = new Map(this.records.map((r) => [r.url, r.type]));
    const audioLoads = loaded.filter((d) => (d.type ?? typeOf.get(d.url)) === "audio");
    const media = this.records.filter((r) => !r.init);
    const count = (pred) => this.records.filter(pred).length;
    return {
      fragments: this.records.length,
      deliveries: new Map(loaded.map((d) => [`${d.url}#${d.sn}`, d])), // the last delivery of each segment
      byType: {
        main: count((r) => !r.init && r.type === "main"),
        audio: count((r) => !r.init && r.type === "audio"),
        init: count((r) => r.init),
      },
      levels: [...new Set(media.filter((r) => r.type === "main").map((r) => r.level))].sort(),
      // Segments delivered from peers, per main level: where wrong bytes can come from.
      p2pLevels: countBy(loaded.filter((d) => d.source === "p2p" && (d.type ?? "main") === "main").map((d) => d.level)),
      fatal: snap.fatal,
      p2pBytes: snap.stats.p2pBytes,
      httpBytes: snap.stats.httpBytes,
      audio: {
        total: media.filter((r) => r.type === "audio").reduce((n, r) => n + r.bytes, 0),
        p2p: audioLoads.filter((d) => d.source === "p2p").reduce((n, d) => n + d.bytes, 0),
        viaSwarmcast: audioLoads.length,
      },
    };
  }
}

const countBy = (values) => values.reduce((m, v) => ((m[v] = (m[v] ?? 0) + 1), m), {});
const pct = (part, whole) => (whole ? ((100 * part) / whole).toFixed(1) : "0.0");

function describe(s, audio) {
  const { main, audio: audioFrags, init } = s.byType;
  let line =
    `${s.fragments} fragments (main ${main}, audio ${audioFrags}, init ${init}; levels ${s.levels.join(",")}), ` +
    `P2P ${s.p2pBytes} B, HTTP ${s.httpBytes} B (${pct(s.p2pBytes, s.p2pBytes + s.httpBytes)}% P2P; ` +
    `P2P segments by level ${JSON.stringify(s.p2pLevels)}), ` +
    `fatal errors ${s.fatal.length}`;
  if (audio) {
    line +=
      `; audio: ${s.audio.total} B received, ${s.audio.p2p} B from peers (${pct(s.audio.p2p, s.audio.total)}% P2P), ` +
      `${s.audio.viaSwarmcast} audio segmentloaded events`;
  }
  return line;
}

/** One wrong fragment: what came, what the origin has, whose bytes they were, and how swarmcast said it delivered them. */
function describeDifference(d, deliveries) {
  const range = d.range ? ` bytes ${d.range[0]}-${d.range[1]}` : "";
  const whose = d.actually ? `, which are ${d.actually}'s bytes` : "";
  const via = deliveries.get(`${d.url}#${d.sn}`);
  const delivered = via ? `; segmentloaded: ${via.source}${via.peerId ? ` from ${String(via.peerId).slice(-8)}` : ""}` : "";
  return (
    `${d.type} sn ${d.sn} level ${d.level} ${new URL(d.url).pathname}${range}: got ${d.bytes} B ${d.sha256.slice(0, 12)}, ` +
    `origin has ${d.expected.bytes} B ${d.expected.sha256.slice(0, 12)}${whose}${delivered}`
  );
}
