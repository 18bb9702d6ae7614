// A Firefox page and a Chromium page play the live test card through
// swarmcast and swap segments in both directions: each receives bytes from
// the other, and every fragment either page's hls.js received is the origin's
// bytes. Runs under `scripts/in-netns.sh --veth` (Firefox needs a
// non-loopback interface to gather ICE candidates).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { launchFirefox, openFirefoxPlayer } from "../support/firefox.mjs";
import { openPlayer } from "../support/player.mjs";
import { FragmentCheck, OriginDigests } from "../support/integrity.mjs";

const CHECK_EVERY_MS = 2000; // live segments leave the origin with the window
const SWAP_TIMEOUT_MS = 40_000;

let stack, chromium, firefox;
before(async () => {
  // Each browser takes seconds to start on a busy machine: start them together.
  // One small rendition keeps encoding and decoding cheap.
  [stack, chromium, firefox] = await Promise.all([startStack({ extraArgs: ["--renditions", "144p"] }), launchBrowser(), launchFirefox()]);
});
after(async () => {
  await Promise.all([chromium?.close(), firefox?.close()]);
  await stack?.stop();
});

test("a Firefox page and a Chromium page swap segments both ways, byte-identical to the origin's", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const options = { src: origin.liveUrl, opts: { trackers: [tracker.url], rtcConfig: { iceServers: [] } }, record: true };
  const pages = [];
  const startedAt = Date.now();
  try {
    pages.push({ name: "Chromium", player: await openPlayer(chromium.browser, origin.url, options) });
    await pages[0].player.waitForProgress(2, 30_000);
    pages.push({ name: "Firefox", player: await openFirefoxPlayer(firefox.browser, origin.url, options) });
    const digests = new OriginDigests();
    for (const p of pages) p.check = new FragmentCheck(p.player.recorded, digests);

    // On a live stream the swarm spreads the fetching of new segments over
    // its viewers, so each page gets some from the other.
    const stats = async () => Promise.all(pages.map(async (p) => (await p.player.snapshot()).stats));
    const deadline = Date.now() + SWAP_TIMEOUT_MS;
    while (!(await stats()).every((s) => s.p2pBytes > 0) && Date.now() < deadline) {
      await Promise.all(pages.map((p) => p.check.check()));
      await sleep(CHECK_EVERY_MS);
    }
    await Promise.all(pages.map((p) => p.check.check()));

    const failures = [];
    for (const p of pages) {
      const s = await p.player.snapshot();
      t.diagnostic(
        `${p.name}: ${s.stats.p2pBytes} B from peers, ${s.stats.httpBytes} B over HTTP, ${s.stats.uploadBytes} B sent; ` +
          `played ${s.currentTime.toFixed(1)} s; ${p.check.records.length} fragments checked`,
      );
      const fail = (what) => failures.push(`${p.name}: ${what}`);
      if (!(s.stats.p2pBytes > 0)) fail(`no bytes from peers within ${SWAP_TIMEOUT_MS / 1000} s`);
      if (!(s.stats.uploadBytes > 0)) fail("sent no bytes to peers");
      if (s.fatal.length) fail(`fatal hls.js errors: ${s.fatal.map((e) => e.details).join(", ")}`);
      for (const problem of p.check.problems()) fail(problem);
      const errors = await p.player.events("error");
      if (errors.length) t.diagnostic(`${p.name} swarmcast errors: ${JSON.stringify(errors.map((e) => e.detail))}`);
      // Who fetched what, when (seconds since the first page opened), to
      // tell a late data channel from a page that never waits for its peer.
      const since = (e) => `${((e.at - startedAt) / 1000).toFixed(1)} s`;
      const timeline = (await p.player.events())
        .filter((e) => ["peerconnect", "peerclose", "segmentloaded"].includes(e.type))
        .map((e) => (e.type === "segmentloaded" ? `${e.detail.sn}/${e.detail.level} ${e.detail.source}` : e.type) + ` ${since(e)}`);
      t.diagnostic(`${p.name} timeline: ${timeline.join(", ")}`);
    }
    assert.deepEqual(failures, []);
  } finally {
    await Promise.all(pages.map((p) => p.player.close()));
  }
});
