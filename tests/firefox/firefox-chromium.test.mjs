// A Firefox page and Chromium pages play a VOD through swarmcast and swap
// segments in both directions, and every fragment any page's hls.js received
// is the origin's bytes. A VOD, not the live test card: a page that joins
// prefetches ahead from the page already playing, whereas on a live stream
// whichever page's playlist shows a new segment first fetches it, so the
// direction would depend on when each page polls. Runs under
// `scripts/in-netns.sh --veth` (Firefox needs a non-loopback interface to
// gather ICE candidates).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { launchFirefox, openFirefoxPlayer } from "../support/firefox.mjs";
import { openPlayer } from "../support/player.mjs";
import { FragmentCheck, OriginDigests } from "../support/integrity.mjs";

const SWAP_TIMEOUT_MS = 40_000;

let stack, chromium, firefox;
before(async () => {
  // Each browser takes seconds to start on a busy machine: start them together.
  // One small rendition keeps encoding and decoding cheap.
  const vod = { seconds: 60, extraArgs: ["--renditions", "144p"] };
  [stack, chromium, firefox] = await Promise.all([startVodStack(vod), launchBrowser(), launchFirefox()]);
});
after(async () => {
  await Promise.all([chromium?.close(), firefox?.close()]);
  await stack?.stop();
});

test("a Firefox page and Chromium pages swap segments both ways, byte-identical to the origin's", { timeout: 120_000 }, async (t) => {
  const { origin, tracker } = stack;
  // Default options and no published digests: Firefox took nearly all of its
  // segments from Chromium 1, and passes them on to Chromium 2 once its hls.js
  // buffered them.
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const options = { src: `${origin.url}/master.m3u8`, opts, record: true };
  const digests = new OriginDigests();
  const pages = [];
  const startedAt = Date.now();
  /** `role`: whether the page must receive bytes from peers, send them, or both. */
  const open = (name, player, role) => {
    const page = { name, player, role, check: new FragmentCheck(player.recorded, digests) };
    pages.push(page);
    return page;
  };
  /** Checks its last fragments and keeps its final state (a page may close before the end). */
  const settle = async (page) => {
    await page.check.check();
    [page.snapshot, page.events] = await Promise.all([page.player.snapshot(), page.player.events()]);
  };
  /** Checks fragments until `page` received bytes from peers (or the timeout). */
  const receives = (page) => page.check.checkUntil(async () => (await page.player.snapshot()).stats.p2pBytes > 0, SWAP_TIMEOUT_MS, 2000);
  try {
    // Chromium → Firefox: Firefox joins once Chromium holds segments ahead.
    const first = open("Chromium 1", await openPlayer(chromium.browser, origin.url, options), { sends: true });
    await first.player.waitForProgress(2, 30_000);
    const ff = open("Firefox", await openFirefoxPlayer(firefox.browser, origin.url, options), { receives: true, sends: true });
    await receives(ff);
    // Firefox → Chromium: the first Chromium page leaves, so Firefox is the
    // only holder the second one can take from.
    await settle(first);
    await first.player.close();
    const second = open("Chromium 2", await openPlayer(chromium.browser, origin.url, options), { receives: true });
    await receives(second);
    await Promise.all([settle(ff), settle(second)]);

    const failures = [];
    for (const p of pages) {
      const s = p.snapshot;
      t.diagnostic(
        `${p.name}: ${s.stats.p2pBytes} B from peers, ${s.stats.httpBytes} B over HTTP, ${s.stats.uploadBytes} B sent; ` +
          `played ${s.currentTime.toFixed(1)} s; ${p.check.records.length} fragments checked`,
      );
      const fail = (what) => failures.push(`${p.name}: ${what}`);
      if (p.role.receives && !(s.stats.p2pBytes > 0)) fail(`no bytes from peers within ${SWAP_TIMEOUT_MS / 1000} s`);
      if (p.role.sends && !(s.stats.uploadBytes > 0)) fail("sent no bytes to peers");
      if (s.fatal.length) fail(`fatal hls.js errors: ${s.fatal.map((e) => e.details).join(", ")}`);
      for (const problem of p.check.problems()) fail(problem);
    }
    // Who fetched what, when (seconds since the test began): tells a late
    // data channel from a page that never waits for its peer.
    const since = (e) => `${((e.at - startedAt) / 1000).toFixed(1)} s`;
    for (const p of failures.length ? pages : []) {
      const timeline = p.events
        .filter((e) => ["peerconnect", "peerclose", "segmentloaded", "error"].includes(e.type))
        .map((e) => describeEvent(e) + ` ${since(e)}`);
      t.diagnostic(`${p.name} timeline: ${timeline.join(", ")}`);
    }
    assert.deepEqual(failures, []);
  } finally {
    await Promise.all(pages.map((p) => p.player.close()));
  }
});

/** One swarmcast event, for a page's timeline. */
function describeEvent({ type, detail }) {
  if (type === "segmentloaded") return `${detail.sn}/${detail.level} ${detail.source}`;
  if (type === "error") return `error (${detail.where}: ${detail.message})`;
  return type;
}
