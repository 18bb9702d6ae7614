// (e) A finished multivariant VOD whose fMP4 segments are byte ranges of one
// file per rendition (init segment by EXT-X-MAP, also a byte range) plays
// with P2P: the second page gets byte-range segments from the first.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";

let stack, browser, dir;
before(async () => {
  // Longer than hls.js's 30 s buffer goal, so the second page still has
  // segments to load once its peer connection is up.
  stack = await startVodStack({ seconds: 48, byterange: true, extraArgs: ["--fmp4"] });
  dir = stack.dir;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("(e) byte-range VOD plays with P2P", { timeout: 120_000 }, async (t) => {
  const { origin, tracker } = stack;
  const media = fs
    .readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith(".m3u8") && f !== "master.m3u8")
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
  assert.ok(media.length >= 2, "multivariant");
  for (const m of media) {
    assert.match(m, /#EXT-X-BYTERANGE/, "byte-range segments");
    assert.match(m, /#EXT-X-MAP:.*BYTERANGE/, "fMP4 init segment, itself a byte range");
    assert.match(m, /#EXT-X-ENDLIST/, "a finished VOD");
  }

  const src = `${origin.url}/master.m3u8`;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const first = await openPlayer(browser.browser, origin.url, { src, opts });
  await first.waitForProgress(2, 30_000);
  const second = await openPlayer(browser.browser, origin.url, { src, opts });
  await second.waitForProgress(4, 45_000);
  await second.page
    .waitForFunction(() => window.player.p2p.stats().p2pBytes > 0, null, { timeout: 40_000, polling: 250 })
    .catch(() => {}); // asserted below, with the stats

  const [a, b] = [await first.snapshot(), await second.snapshot()];
  t.diagnostic(`first: ${JSON.stringify(a.stats)}; second: ${JSON.stringify(b.stats)}`);
  for (const s of [a, b]) assert.deepEqual(s.fatal, [], "no fatal hls.js error");
  assert.ok(b.stats.p2pBytes > 0, "the second page got bytes from the first");
  const p2p = (await second.events("segmentloaded")).filter((e) => e.detail.source === "p2p");
  assert.ok(p2p.length > 0, "whole byte-range segments were delivered from a peer");
  await Promise.all([first.close(), second.close()]);
});
