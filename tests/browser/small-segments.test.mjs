// A page keeps uploading segments too small to fill its data channel past
// the low-water mark (64 KiB), well beyond the channel's high-water mark
// (256 KiB). The browser fires `bufferedamountlow` only when a channel's
// buffer falls from above that mark, so such a channel never fires it by
// itself; before the shell checked the buffer when the engine asked, a page
// sent each peer 256 KiB of small segments and then nothing more, and its
// upload slot stayed taken for good. Low-bitrate renditions and audio-only
// streams have segments this small.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { FragmentCheck } from "../support/integrity.mjs";

const LOW_WATER = 64 << 10; // the engine's channel_low_water
const HIGH_WATER = 256 << 10; // the engine's channel_high_water

let stack, browser;
before(async () => {
  // 1 s segments of the smallest rendition: ~30 kB each.
  const vod = { seconds: 60, extraArgs: ["--renditions", "144p", "--segment-seconds", "1"] };
  [stack, browser] = await Promise.all([startVodStack(vod), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("a page uploads segments smaller than the low-water mark past the high-water mark", { timeout: 120_000 }, async (t) => {
  const { origin, tracker } = stack;
  const options = { src: `${origin.url}/master.m3u8`, opts: { trackers: [tracker.url], rtcConfig: { iceServers: [] } }, record: true };
  const seeder = await openPlayer(browser.browser, origin.url, options);
  let viewer;
  try {
    // hls.js buffers 30 s ahead: the seeder then holds what the viewer will ask for.
    await seeder.waitForProgress(3, 30_000);
    viewer = await openPlayer(browser.browser, origin.url, options);
    const check = new FragmentCheck(viewer.recorded);
    const received = async () => (await viewer.snapshot()).stats.p2pBytes;
    await check.checkUntil(async () => (await received()) > 2 * HIGH_WATER, 45_000);

    const [s, v] = [await seeder.snapshot(), await viewer.snapshot()];
    const media = check.records.filter((r) => !r.init);
    const largest = Math.max(...media.map((r) => r.bytes));
    t.diagnostic(
      `seeder sent ${s.stats.uploadBytes} B; viewer ${v.stats.p2pBytes} B from peers, ${v.stats.httpBytes} B over HTTP, ` +
        `${v.stats.p2pFallbacks} fallbacks; ${media.length} segments checked, the largest ${largest} B`,
    );
    assert.ok(largest < LOW_WATER, `the stream's segments must stay below the low-water mark (largest ${largest} B)`);
    assert.ok(v.stats.p2pBytes > 2 * HIGH_WATER, `the viewer took ${v.stats.p2pBytes} B from the seeder, not over ${2 * HIGH_WATER}`);
    assert.deepEqual(check.differences, [], "fragments that differ from the origin's bytes");
    assert.deepEqual(check.unverifiable, []);
    assert.deepEqual([s.fatal, v.fatal], [[], []]);
  } finally {
    await Promise.all([seeder.close(), viewer?.close()]);
  }
});
