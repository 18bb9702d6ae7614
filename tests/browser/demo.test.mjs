// The demo page as a person uses it: open it in one tab, then in a second tab
// of the same browser; the second tab's stats panel must show bytes from peers.
// Also checks window.swarmcast.stats(), the automation hook the issue promises.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { REPO, STANDARD_MOUNTS, startStack } from "../support/servers.mjs";
import { launchBrowser, newViewerContext } from "../support/browser.mjs";

let stack, browser;
before(async () => {
  stack = await startStack({ mounts: { ...STANDARD_MOUNTS, "/": path.join(REPO, "demo") } });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

test("the second tab's stats panel shows bytes from peers", { timeout: 60_000 }, async (t) => {
  const context = await newViewerContext(browser.browser);
  const url = `${stack.origin.url}/?tracker=${encodeURIComponent(stack.tracker.url)}`;
  const open = async () => {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.swarmcast?.stats().startupMs > 0, null, { timeout: 20_000 });
    return page;
  };
  const first = await open();
  await first.waitForFunction(() => window.swarmcast.stats().currentTime > 3, null, { timeout: 20_000 });
  const second = await open();
  const eventLog = (page) => page.evaluate(() => document.getElementById("log").innerText);
  t.after(async () => t.diagnostic(`first tab's events:\n${await eventLog(first)}\nsecond tab's events:\n${await eventLog(second)}`));

  // The panel refreshes once a second; wait for it to show peer bytes.
  await second.waitForFunction(() => window.swarmcast.stats().p2pBytes > 0, null, { timeout: 25_000, polling: 500 });
  await second.waitForTimeout(1100);
  const panel = await second.evaluate(() => ({
    p2p: document.getElementById("p2p").textContent,
    ratio: document.getElementById("ratio").textContent,
    peerRows: [...document.querySelectorAll("#peers tr")].map((tr) => tr.textContent),
  }));
  const stats = await second.evaluate(() => window.swarmcast.stats());
  t.diagnostic(`second tab panel: ${JSON.stringify(panel)}; stats: ${stats.p2pBytes} B from peers, ${stats.httpBytes} B over HTTP`);

  assert.match(panel.p2p, /^[\d.]+ (B|KiB|MiB|GiB)$/, "P2P bytes shown with a unit");
  assert.notEqual(panel.p2p, "0 B", "the panel shows nonzero P2P bytes");
  assert.match(panel.ratio, /^\d+ %$/, "P2P ratio shown");
  assert.ok(panel.peerRows.length >= 1 && !/No peers/.test(panel.peerRows[0]), "the first tab is listed as a peer");
  for (const key of ["httpBytes", "p2pBytes", "uploadBytes", "stalls"]) assert.equal(typeof stats[key], "number", key);
  assert.ok(Array.isArray(stats.peers) && stats.peers.length >= 1, "stats().peers lists the first tab");
  assert.equal(stats.fatalErrors, 0, "no fatal hls.js error");
  const firstStats = await first.evaluate(() => window.swarmcast.stats());
  assert.ok(firstStats.uploadBytes > 0, "the first tab uploaded to the second");
});
