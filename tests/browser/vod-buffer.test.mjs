// Waiting for a peer never starves hls.js: on a VOD, a swarmcast page that
// joins a swarm keeps a forward buffer within one segment of a plain hls.js
// page's, measured in the same run over the same stretch of each page's
// playback (its 5th to 25th second).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";

const SEGMENT_S = 2; // the test card's segment duration
const FROM_S = 5;
const TO_S = 25;

let stack, browser;
before(async () => {
  stack = await startVodStack({ seconds: 60, extraArgs: ["--renditions", "360p"] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Seconds buffered ahead of the playhead. */
const ahead = (s) => {
  const range = s.buffered.find(([start, end]) => start <= s.currentTime + 0.1 && s.currentTime < end);
  return range ? range[1] - s.currentTime : 0;
};

/** Forward buffer samples of `page` while its playback is between FROM_S and TO_S. */
async function bufferWhilePlaying(page) {
  const samples = [];
  for (;;) {
    const s = await page.snapshot();
    if (s.currentTime >= TO_S) return samples;
    if (s.currentTime >= FROM_S) samples.push(ahead(s));
    await sleep(250);
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test("a swarmcast page's VOD buffer stays within one segment of plain hls.js's", { timeout: 150_000 }, async (t) => {
  const { origin, tracker } = stack;
  const src = `${origin.url}/master.m3u8`;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const seeder = await openPlayer(browser.browser, origin.url, { src, opts });
  await seeder.waitForProgress(2, 30_000);
  const [plain, joiner] = await Promise.all([
    openPlayer(browser.browser, origin.url, { src }),
    openPlayer(browser.browser, origin.url, { src, opts }),
  ]);
  const [plainBuffer, joinerBuffer] = await Promise.all([bufferWhilePlaying(plain), bufferWhilePlaying(joiner)]);
  const end = await joiner.snapshot();
  const [p, j] = [median(plainBuffer), median(joinerBuffer)];
  t.diagnostic(
    `median forward buffer: plain hls.js ${p.toFixed(1)} s, swarmcast ${j.toFixed(1)} s; ` +
      `swarmcast page ${end.stats.p2pBytes} B from peers, ${end.stats.httpBytes} B over HTTP`,
  );
  assert.ok(plainBuffer.length > 10 && joinerBuffer.length > 10, "both pages were sampled while playing");
  assert.ok(j >= p - SEGMENT_S, `swarmcast's buffer (${j.toFixed(1)} s) within a segment of hls.js's (${p.toFixed(1)} s)`);
  assert.ok(end.stats.p2pBytes > 0, "the swarmcast page did load from its peer");
  await Promise.all([seeder.close(), plain.close(), joiner.close()]);
});
