// The demo page as a person uses it: open it in one tab, then in a second tab
// of the same browser; a tab's stats panel must show bytes from peers (the
// second's, or the first's: both play at the live edge).
// Also checks window.swarmcast.stats(), the automation hook the issue promises,
// and the level selector with the per-segment list that shows its effect.
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

test("in two tabs, a tab's stats panel shows bytes from the other", { timeout: 60_000 }, async (t) => {
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

  // Both tabs play at the live edge, so either may fetch a new segment first
  // and serve it to the other: wait for a tab whose panel shows peer bytes
  // (it refreshes once a second).
  const p2pBytes = (page) => page.evaluate(() => window.swarmcast.stats().p2pBytes);
  let viewer, server;
  for (const deadline = Date.now() + 25_000; !viewer && Date.now() < deadline; await second.waitForTimeout(500)) {
    if ((await p2pBytes(second)) > 0) [viewer, server] = [second, first];
    else if ((await p2pBytes(first)) > 0) [viewer, server] = [first, second];
  }
  assert.ok(viewer, "a tab got bytes from peers within 25 s");
  await viewer.waitForTimeout(1100);
  const panel = await viewer.evaluate(() => ({
    p2p: document.getElementById("p2p").textContent,
    ratio: document.getElementById("ratio").textContent,
    peerRows: [...document.querySelectorAll("#peers tr")].map((tr) => tr.textContent),
  }));
  const stats = await viewer.evaluate(() => window.swarmcast.stats());
  const tab = viewer === second ? "second" : "first";
  t.diagnostic(`${tab} tab panel: ${JSON.stringify(panel)}; stats: ${stats.p2pBytes} B from peers, ${stats.httpBytes} B over HTTP`);

  assert.match(panel.p2p, /^[\d.]+ (B|KiB|MiB|GiB)$/, "P2P bytes shown with a unit");
  assert.notEqual(panel.p2p, "0 B", "the panel shows nonzero P2P bytes");
  assert.match(panel.ratio, /^\d+ %$/, "P2P ratio shown");
  assert.ok(panel.peerRows.length >= 1 && !/No peers/.test(panel.peerRows[0]), "the other tab is listed as a peer");
  for (const key of ["httpBytes", "p2pBytes", "uploadBytes", "stalls"]) assert.equal(typeof stats[key], "number", key);
  assert.ok(Array.isArray(stats.peers) && stats.peers.length >= 1, "stats().peers lists the other tab");
  assert.equal(stats.fatalErrors, 0, "no fatal hls.js error");
  const serverStats = await server.evaluate(() => window.swarmcast.stats());
  assert.ok(serverStats.uploadBytes > 0, "the other tab uploaded to it");
});

test("the level selector switches levels and the segment list shows them", { timeout: 60_000 }, async (t) => {
  const context = await newViewerContext(browser.browser);
  const page = await context.newPage();
  await page.goto(`${stack.origin.url}/?tracker=${encodeURIComponent(stack.tracker.url)}`);
  await page.waitForFunction(() => !document.getElementById("level").disabled, null, { timeout: 20_000 });
  const options = await page.$$eval("#level option", (os) => os.map((o) => [o.value, o.textContent]));
  t.diagnostic(`level options: ${JSON.stringify(options)}`);
  assert.deepEqual(
    options.map(([v]) => v),
    ["-1", "0", "1"],
    "Auto, then each level of the test card (360p, 540p)",
  );
  assert.match(options[0][1], /^Auto/);
  assert.match(options[1][1], /^360p/);
  assert.match(options[2][1], /^540p/);

  // The newest row of the segment list once it shows a main segment of `level`.
  const newestRowOf = async (level) => {
    await page.waitForFunction(
      (l) => document.querySelector("#segments tr")?.dataset.level === String(l),
      level,
      { timeout: 20_000, polling: 250 },
    );
    return page.$eval("#segments tr", (tr) => ({ ...tr.dataset, cells: [...tr.cells].map((c) => c.textContent) }));
  };
  for (const [level, name] of [[1, "540p"], [0, "360p"]]) {
    await page.selectOption("#level", String(level));
    await page.waitForFunction((l) => window.swarmcast.stats().level === l && !window.swarmcast.stats().autoLevel, level, {
      timeout: 10_000,
    });
    const row = await newestRowOf(level);
    t.diagnostic(`after choosing ${name}: newest segment row ${JSON.stringify(row.cells)}`);
    assert.equal(row.type, "main");
    assert.equal(row.cells[1], "main");
    assert.equal(row.cells[2], name, "the row names the level");
    assert.match(row.cells[3], /^(HTTP|peer [0-9a-f]+)$/, "the row names the source");
    assert.match(row.cells[4], /^[\d.]+ (B|KiB|MiB)$/);
  }
  await page.selectOption("#level", "-1");
  await page.waitForFunction(() => window.swarmcast.stats().autoLevel, null, { timeout: 10_000 });
  assert.equal((await page.evaluate(() => window.swarmcast.stats())).fatalErrors, 0, "no fatal hls.js error");
  await context.close();
});
