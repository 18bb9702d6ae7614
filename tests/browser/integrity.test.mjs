// Segment integrity across stream shapes: every fragment hls.js receives
// (FRAG_LOADED's payload, main and audio, plus init segments) is byte for
// byte what the origin serves for that URL and byte range, on every page of
// a small swarm, including pages that switch levels or seek. Each case also
// needs no fatal hls.js error and bytes from peers on the pages that joined
// later. One row of CASES per stream shape; the pages of a case join a few
// seconds apart and differ only in what they do besides playing (ROLES).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { OriginDigests, compareWithOrigin } from "../support/integrity.mjs";

// Three small renditions keep three pages' decoding cheap on two cores.
const RENDITIONS = ["144p", "216p", "288p"];
const FOLDERS = [...RENDITIONS, "audio"];
const VOD_SECONDS = 32;
const JOIN_GAP_MS = 3000; // between the pages' arrivals
const PLAY_MS = 15_000; // once all pages are in
const CHECK_EVERY_MS = 2000; // live segments leave the origin with the window
// A short buffer makes pages fetch as they play, so the later ones still
// load segments once their peers are connected, and level switches matter.
const HLS_CONFIG = { maxBufferLength: 10, maxMaxBufferLength: 10 };

// What a page does besides playing: `start` runs in the page once it plays;
// `expect` says what its fragments must show for the role to have happened.
const ROLES = {
  auto: { name: "ABR" },
  switching: {
    name: "switching levels 0,2,1 every 5 s",
    start: () => {
      const levels = [0, 2, 1];
      let i = 0;
      const next = () => (window.player.hls.currentLevel = levels[i++ % levels.length]);
      next();
      setInterval(next, 5000);
    },
    expect: (frags) => new Set(frags.filter((f) => f.type === "main").map((f) => f.level)).size >= 2 || "played one level only",
  },
  seeking: {
    name: "seeking to 24 s, then back to 8 s",
    start: () => {
      const video = document.getElementById("video");
      setTimeout(() => (video.currentTime = 24), 4000);
      setTimeout(() => (video.currentTime = 8), 10_000);
    },
    expect: (frags) => frags.some((f) => f.type === "main" && f.sn >= 12) || "never loaded the segments at 24 s",
  },
};

const CASES = [
  { name: "VOD, MPEG-TS, three renditions", vod: [], pages: ["auto", "auto", "switching"] },
  { name: "VOD, fMP4, three renditions", vod: ["--fmp4"], pages: ["auto", "auto", "switching"] },
  { name: "live test card", live: ["--window", "20"], pages: ["auto", "auto", "switching"] },
  { name: "alternate audio rendition", vod: ["--alt-audio"], pages: ["auto", "auto", "auto"], audio: true },
  { name: "AES-128", vod: ["--aes128"], pages: ["auto", "auto", "auto"] },
  { name: "byte ranges (fMP4, one file per rendition)", vod: ["--byterange", "--fmp4"], pages: ["auto", "auto", "auto"] },
  { name: "seek in VOD", vod: [], pages: ["auto", "auto", "seeking"] },
];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const c of CASES) {
  test(c.name, { timeout: 150_000 }, (t) => runCase(t, c));
}

async function runCase(t, c) {
  const args = ["--renditions", RENDITIONS.join(",")];
  const stack = c.live
    ? await startStack({ extraArgs: [...args, ...c.live] })
    : await startVodStack({ seconds: VOD_SECONDS, extraArgs: [...args, ...c.vod] });
  const pages = [];
  try {
    const { origin, tracker } = stack;
    const src = c.live ? origin.liveUrl : `${origin.url}/master.m3u8`;
    const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
    const digests = new OriginDigests();
    const check = () => Promise.all(pages.map((p) => p.check(digests)));

    const start = Date.now();
    for (const [i, roleName] of c.pages.entries()) {
      await sleep(Math.max(0, start + i * JOIN_GAP_MS - Date.now()));
      const player = await openPlayer(browser.browser, origin.url, { src, opts, hlsConfig: HLS_CONFIG, record: true });
      const page = new CheckedPage(player, ROLES[roleName]);
      pages.push(page);
      // A page that never plays is reported with the others, not thrown.
      page.started = await player.waitForProgress(1, 30_000).then(
        () => true,
        () => false,
      );
      if (page.started && page.role.start) await player.page.evaluate(page.role.start);
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
      for (const d of p.differences.slice(0, 5)) t.diagnostic(`  differs: ${describeDifference(d)}`);
      const fail = (what) => failures.push(`page ${i} (${p.role.name}): ${what}`);
      if (!p.started) fail("did not start playing within 30 s");
      if (s.fragments === 0) fail("no fragments recorded");
      if (p.differences.length) fail(`${p.differences.length} of ${s.fragments} fragments differ from the origin's bytes`);
      if (p.unverifiable.length) fail(`${p.unverifiable.length} fragments not checked (origin: ${p.unverifiable[0].error})`);
      if (s.fatal.length) fail(`fatal hls.js errors: ${s.fatal.map((e) => e.details).join(", ")}`);
      const expected = p.role.expect?.(p.records) ?? true;
      if (expected !== true) fail(expected);
      if (i > 0 && !(s.p2pBytes > 0)) fail("no bytes from peers");
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
      byType: {
        main: count((r) => !r.init && r.type === "main"),
        audio: count((r) => !r.init && r.type === "audio"),
        init: count((r) => r.init),
      },
      levels: [...new Set(media.filter((r) => r.type === "main").map((r) => r.level))].sort(),
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

const pct = (part, whole) => (whole ? ((100 * part) / whole).toFixed(1) : "0.0");

function describe(s, audio) {
  const { main, audio: audioFrags, init } = s.byType;
  let line =
    `${s.fragments} fragments (main ${main}, audio ${audioFrags}, init ${init}; levels ${s.levels.join(",")}), ` +
    `P2P ${s.p2pBytes} B, HTTP ${s.httpBytes} B (${pct(s.p2pBytes, s.p2pBytes + s.httpBytes)}% P2P), ` +
    `fatal errors ${s.fatal.length}`;
  if (audio) {
    line +=
      `; audio: ${s.audio.total} B received, ${s.audio.p2p} B from peers (${pct(s.audio.p2p, s.audio.total)}% P2P), ` +
      `${s.audio.viaSwarmcast} audio segmentloaded events`;
  }
  return line;
}

function describeDifference(d) {
  const range = d.range ? ` bytes ${d.range[0]}-${d.range[1]}` : "";
  const whose = d.actually ? `, which are ${d.actually}'s bytes` : "";
  return `${d.type} sn ${d.sn} level ${d.level} ${new URL(d.url).pathname}${range}: got ${d.bytes} B ${d.sha256.slice(0, 12)}, origin has ${d.expected.bytes} B ${d.expected.sha256.slice(0, 12)}${whose}`;
}
