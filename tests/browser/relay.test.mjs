// With no digests published and no validateSegment hook (a page in front
// of a plain CDN, swarmcast's default options), a segment a page took from
// a peer is passed on to its own peers once hls.js buffered it. Before,
// such a page offered only what it fetched over HTTP, so a segment spread
// one hop from its HTTP fetcher. A chain on a VOD makes it deterministic:
// A fetches over HTTP, B takes from A, A leaves, and C can then take A's
// segments only through B.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer, until } from "../support/player.mjs";
import { FragmentCheck } from "../support/integrity.mjs";

let stack, browser;
before(async () => {
  const vod = { seconds: 60, extraArgs: ["--renditions", "144p"] };
  [stack, browser] = await Promise.all([startVodStack(vod), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** The sequence numbers of the media segments `player` loaded from `source`. */
async function loadedFrom(player, source) {
  const loaded = await player.events("segmentloaded");
  return new Set(loaded.filter((e) => e.detail.source === source).map((e) => e.detail.sn));
}

test("a segment taken from a peer is passed on once hls.js buffered it", { timeout: 150_000 }, async (t) => {
  const { origin, tracker } = stack;
  const options = { src: `${origin.url}/master.m3u8`, opts: { trackers: [tracker.url], rtcConfig: { iceServers: [] } }, record: true };
  const a = await openPlayer(browser.browser, origin.url, options);
  let b, c;
  try {
    // hls.js buffers 30 s ahead: A then holds what B will ask for.
    await a.waitForProgress(2, 30_000);
    b = await openPlayer(browser.browser, origin.url, options);
    await until(async () => (await loadedFrom(b, "p2p")).size >= 3, 40_000, "B to take 3 segments from A");
    await a.close();

    c = await openPlayer(browser.browser, origin.url, options);
    const check = new FragmentCheck(c.recorded);
    const relayed = async () => {
      const [fromB, bTookFromA] = [await loadedFrom(c, "p2p"), await loadedFrom(b, "p2p")];
      return [...fromB].filter((sn) => bTookFromA.has(sn));
    };
    await check.checkUntil(async () => (await relayed()).length > 0, 45_000);

    const [bs, cs, sns] = [await b.snapshot(), await c.snapshot(), await relayed()];
    t.diagnostic(
      `B: ${bs.stats.p2pBytes} B from peers, ${bs.stats.uploadBytes} B sent; C: ${cs.stats.p2pBytes} B from peers, ` +
        `${cs.stats.httpBytes} B over HTTP; segments B took from A and passed on to C: ${sns.join(", ")}; ` +
        `${check.records.length} of C's fragments checked`,
    );
    assert.ok(sns.length > 0, "C received from B none of the segments B had taken from A");
    assert.deepEqual(check.differences, [], "fragments that differ from the origin's bytes");
    assert.deepEqual(check.unverifiable, []);
    assert.deepEqual([bs.fatal, cs.fatal], [[], []]);
  } finally {
    await Promise.all([a.close(), b?.close(), c?.close()]);
  }
});
