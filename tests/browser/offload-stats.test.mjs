// Offload statistics for operators: two pages play the live test card
// through swarmcast; their announces report HTTP and P2P bytes, and the
// tracker's /metrics (and the demo's live view of /stats.json) show both
// viewers and bytes that add up to no more than the pages loaded.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import path from "node:path";
import { startOrigin, startTracker, REPO, STANDARD_MOUNTS } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";

let origin, tracker, browser;
before(async () => {
  // Announces every 5 s (the loader's floor), so reports reach the tracker quickly.
  [origin, tracker] = await Promise.all([
    startOrigin({ testcard: true, mounts: { ...STANDARD_MOUNTS, "/demo": path.join(REPO, "demo") } }),
    startTracker({ extraArgs: ["--announce-interval", "5s"] }),
  ]);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await Promise.all([origin?.stop(), tracker?.stop()]);
});

const stats = (p) => p.page.evaluate(() => window.player.p2p.stats());

/** The tracker's `swarmcast_tracker_swarm_<name>{swarm="total"}`. */
async function totalMetric(name) {
  const text = await (await fetch(`${tracker.url.replace("ws:", "http:")}/metrics`)).text();
  return Number(new RegExp(`^swarmcast_tracker_swarm_${name}\\{swarm="total"\\} (\\S+)$`, "m").exec(text)?.[1]);
}

test("the tracker's metrics show both viewers and their HTTP and P2P bytes", { timeout: 150_000 }, async (t) => {
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const open = (hlsConfig) => openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts, hlsConfig });
  const first = await open();
  await first.waitForProgress(2, 45_000);
  // Further behind the live edge, the second page asks for each segment after
  // the first has it: it downloads from peers (at the same distance, either may).
  const second = await open({ liveSyncDurationCount: 5 });
  const pages = [first, second];
  await second.page.waitForFunction(() => window.player.p2p.stats().p2pBytes > 0, null, { timeout: 45_000, polling: 250 });

  // Each viewer's report counts from its first announce on: wait for the
  // next announces (every 5 s) to bring both kinds of bytes.
  let http, p2p;
  for (let tries = 0; tries < 60 && !(http > 0 && p2p > 0); tries++) {
    if (tries) await sleep(500);
    [http, p2p] = [await totalMetric("http_bytes_total"), await totalMetric("p2p_bytes_total")];
  }
  const loaded = await Promise.all(pages.map(stats));
  const pageHttp = loaded.reduce((n, s) => n + s.httpBytes, 0);
  const pageP2p = loaded.reduce((n, s) => n + s.p2pBytes, 0);
  t.diagnostic(`tracker: ${http} B HTTP, ${p2p} B P2P; pages: ${pageHttp} B HTTP, ${pageP2p} B P2P`);
  assert.ok(p2p > 0 && http > 0, "both kinds of bytes reached the tracker");
  assert.ok(p2p <= pageP2p && http <= pageHttp, "the tracker counts no more than the pages loaded");
  assert.equal(await totalMetric("viewers"), 2);
  assert.equal(await totalMetric("p2p_ratio"), p2p / (p2p + http));

  // The demo's live view of the same statistics.
  const view = await browser.browser.newPage();
  await view.goto(`${origin.url}/demo/tracker.html?tracker=${encodeURIComponent(tracker.url)}`);
  await view.locator("#swarms tr").first().locator("td", { hasText: /^2$/ }).waitFor({ timeout: 5_000 });
  await view.close();
  for (const p of pages) assert.deepEqual((await p.snapshot()).fatal, [], "no fatal hls.js error");
});
