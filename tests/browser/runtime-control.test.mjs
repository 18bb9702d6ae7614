// Two pages play the live test card through swarmcast. Once the second gets
// segments from peers, configure({ download: false }) on it: from then on it
// gets no byte from peers, keeps playing over HTTP, and every fragment hls.js
// receives still hashes equal to the origin's; configure({ download: true })
// and bytes from peers flow again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { FragmentCheck } from "../support/integrity.mjs";

let stack, browser;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Configures the page's swarmcast and returns its stats right after, in the
// same task: nothing from peers may be counted after this point.
const configure = (p, settings) =>
  p.page.evaluate((s) => {
    window.player.p2p.configure(s);
    return window.player.p2p.stats();
  }, settings);
const stats = (p) => p.page.evaluate(() => window.player.p2p.stats());
const untilP2p = (p, above, timeout) =>
  p.page.waitForFunction((n) => window.player.p2p.stats().p2pBytes > n, above, { timeout, polling: 250 });

test("download off: segments come over HTTP, intact; on again: from peers", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const first = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts });
  await first.waitForProgress(2, 30_000);
  const second = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts, record: true });
  await untilP2p(second, 0, 30_000);

  const check = new FragmentCheck(second.recorded);
  const off = await configure(second, { download: false });
  const loadsBefore = await second.page.evaluate(() => window.player.events.length);
  // Three more segments (2 s each), checked against the origin as they come.
  const played = (await second.snapshot()).currentTime + 6;
  await check.checkUntil(async () => (await second.snapshot()).currentTime >= played, 20_000);
  const later = await stats(second);
  const sources = await second.page.evaluate(
    (from) => window.player.events.slice(from).filter((e) => e.type === "segmentloaded").map((e) => e.detail.source),
    loadsBefore,
  );
  t.diagnostic(
    `download off: P2P ${off.p2pBytes} -> ${later.p2pBytes} B, HTTP ${off.httpBytes} -> ${later.httpBytes} B; ` +
      `segments after: ${sources.join(", ")}; ${check.records.length} fragments checked`,
  );
  assert.equal(later.p2pBytes, off.p2pBytes, "no bytes from peers while download is off");
  assert.ok(later.httpBytes > off.httpBytes, "segments keep coming over HTTP");
  // (A segment from a peer may still be passing its digest check right after configure.)
  assert.ok(sources.length >= 2 && sources.slice(1).every((s) => s === "http"), "the segments since came over HTTP");
  assert.deepEqual(check.problems(), [], "every fragment equals the origin's bytes");
  assert.ok(later.peers.length > 0, "the peers stay");

  await configure(second, { download: true });
  await untilP2p(second, later.p2pBytes, 30_000);
  for (const p of [first, second]) assert.deepEqual((await p.snapshot()).fatal, [], "no fatal hls.js error");
});
