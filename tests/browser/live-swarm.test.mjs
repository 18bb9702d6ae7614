// (a) Three pages play the live test card through swarmcast; over a 60 s
// window the two that joined later get at least half of their segment bytes
// from peers. (b) Closing the page the others download from does not stall them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer, longestStall } from "../support/player.mjs";

const WINDOW_MS = 60_000;

let stack, browser, pages;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const bytes = (s) => ({ p2p: s.stats.p2pBytes, http: s.stats.httpBytes });
test("(a) three live pages: the later joiners get >= 50% of their segment bytes from peers", { timeout: 180_000 }, async (t) => {
  const { origin, tracker } = stack;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const open = () => openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts });
  const first = await open();
  await first.waitForProgress(2, 45_000);
  const later = [await open(), await open()];
  pages = [first, ...later];
  await Promise.all(later.map((p) => p.waitForProgress(2, 45_000)));
  // The window starts once the swarm has formed: each later page has a peer.
  for (const p of later) {
    await p.page.waitForFunction(() => window.player.events.some((e) => e.type === "peerconnect"), null, {
      timeout: 30_000,
      polling: 250,
    });
  }

  const start = await Promise.all(pages.map((p) => p.snapshot()));
  await sleep(WINDOW_MS);
  const end = await Promise.all(pages.map((p) => p.snapshot()));

  for (const [i, s] of end.entries()) {
    assert.deepEqual(s.fatal, [], `page ${i}: no fatal hls.js error`);
    const played = s.currentTime - start[i].currentTime;
    assert.ok(played >= WINDOW_MS / 1000 - 10, `page ${i} played ${played.toFixed(1)} s of ${WINDOW_MS / 1000} s`);
  }
  // Segment bytes the later joiners loaded in the window, by source.
  let [p2p, http] = [0, 0];
  for (const i of [1, 2]) {
    const [a, b] = [bytes(start[i]), bytes(end[i])];
    const [peerBytes, httpBytes] = [b.p2p - a.p2p, b.http - a.http];
    t.diagnostic(
      `page ${i}: ${peerBytes} B from peers, ${httpBytes} B over HTTP ` +
        `(${((100 * peerBytes) / (peerBytes + httpBytes)).toFixed(1)}% P2P); peers ${end[i].stats.peers.length}`,
    );
    assert.ok(peerBytes + httpBytes > 0, `page ${i} loaded segments in the window`);
    p2p += peerBytes;
    http += httpBytes;
  }
  const ratio = p2p / (p2p + http);
  t.diagnostic(`later joiners together: P2P ratio ${(ratio * 100).toFixed(1)}%`);
  assert.ok(ratio >= 0.5, `later joiners' P2P ratio ${(ratio * 100).toFixed(1)}% >= 50%`);
});

test("(b) closing the page others download from causes no stall", { timeout: 90_000 }, async (t) => {
  assert.ok(pages, "needs the pages of (a)");
  const before = await Promise.all(pages.map((p) => p.snapshot()));
  // The page that uploaded most is the one the others depend on.
  const seeder = before.reduce((best, s, i) => (s.stats.uploadBytes > before[best].stats.uploadBytes ? i : best), 0);
  assert.ok(before[seeder].stats.uploadBytes > 0, "some page uploads to the others");
  const rest = pages.filter((_, i) => i !== seeder);
  await pages[seeder].close();

  const stalls = await Promise.all(rest.map((p) => longestStall(p, 20_000)));
  t.diagnostic(`closed page ${seeder}; longest stall of the others: ${stalls.join(", ")} ms`);
  for (const [i, p] of rest.entries()) {
    const s = await p.snapshot();
    assert.deepEqual(s.fatal, [], `remaining page ${i}: no fatal hls.js error`);
    assert.ok(stalls[i] < 1500, `remaining page ${i}: longest stall ${stalls[i]} ms < 1500 ms`);
    assert.ok((s.eventCounts.peerclose ?? 0) >= 1, `remaining page ${i} saw the peer close`);
  }
});
