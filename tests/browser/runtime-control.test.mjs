// Two pages play the live test card through swarmcast. Once one of them (the
// viewer: it plays behind the other, the server) gets segments from peers,
// configure({ download: false }) on it: from then on it gets no byte from
// peers, keeps playing over HTTP, and every fragment hls.js receives still
// hashes equal to the origin's; configure({ download: true }) and bytes from
// peers flow again. configure({ upload: false }) on the server starts a new
// engine there that serves nothing (the viewer gets no more bytes from
// peers; the server's stats carry on); on again, it serves. A tracker URL
// nobody listens on gives trackererror events, and a tracker's
// `warning message` a trackerwarning event; on the first page, loads that
// hls.js abandons (stopLoad while the network is slow) give segmentabort,
// and loads that fail (segment requests refused) give segmenterror.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack, freePort } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { FragmentCheck } from "../support/integrity.mjs";
import { WebSocketServer } from "ws";

const WARNING = "swarmcast test warning";
let stack, browser, first, second, warner;
// Of the two pages, the one that plays behind the other and downloads from it,
// and that other one (see the first test).
let viewer, server;
before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
  // A tracker that answers every announce with a WebTorrent `warning message` (and no peers).
  warner = new WebSocketServer({ host: "127.0.0.1", port: await freePort() });
  warner.on("connection", (socket) =>
    socket.on("message", (data) => {
      const { action, info_hash } = JSON.parse(data);
      if (action === "announce")
        socket.send(JSON.stringify({ action, info_hash, interval: 120, "warning message": WARNING }));
    }),
  );
});
after(async () => {
  await browser?.close();
  await stack?.stop();
  warner?.close();
});

// Configures the page's swarmcast and returns its stats right after, in the
// same task: nothing from peers may be counted after this point.
const configure = (p, settings) =>
  p.page.evaluate((s) => {
    window.player.p2p.configure(s);
    return window.player.p2p.stats();
  }, settings);
const stats = (p) => p.page.evaluate(() => window.player.p2p.stats());
/** Waits until page `p` got more than `above` bytes from peers; on timeout, says who was connected. */
const untilP2p = (p, above, timeout) =>
  p.page
    .waitForFunction((n) => window.player.p2p.stats().p2pBytes > n, above, { timeout, polling: 250 })
    .catch(async (e) => {
      const peers = async (q) => JSON.stringify((await stats(q)).peers);
      throw new Error(`${e.message}; first page's peers ${await peers(first)}, second page's ${await peers(second)}`);
    });

/** The page that gets bytes from peers first, within `timeout` ms, and the other one. */
async function whoDownloads(timeout) {
  for (const end = Date.now() + timeout; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
    if ((await stats(second)).p2pBytes > 0) return [second, first];
    if ((await stats(first)).p2pBytes > 0) return [first, second];
  }
  throw new Error(`no page got bytes from peers within ${timeout} ms`);
}

test("download off: segments come over HTTP, intact; on again: from peers", { timeout: 150_000 }, async (t) => {
  const { origin, tracker } = stack;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  first = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts, record: true });
  await first.waitForProgress(2, 30_000);
  // The second page also has a tracker that cannot be reached, and one that warns.
  const unreachable = `ws://127.0.0.1:${await freePort()}`;
  const warning = `ws://127.0.0.1:${warner.address().port}`;
  const trackers = [tracker.url, unreachable, warning];
  // Two segments further behind the live edge than the first page, the
  // second usually asks for each segment after the first page has it and
  // downloads it from there; but a page that stalled plays further behind
  // than it started, so the roles are read from what happens.
  second = await openPlayer(browser.browser, origin.url, {
    src: origin.liveUrl,
    opts: { ...opts, trackers },
    hlsConfig: { liveSyncDurationCount: 5 },
    record: true,
  });
  [viewer, server] = await whoDownloads(45_000);
  t.diagnostic(`the ${viewer === second ? "second" : "first"} page downloads from the other`);
  const trackerErrors = await second.page.evaluate(() =>
    window.player.events.filter((e) => e.type === "trackererror").map((e) => e.detail),
  );
  assert.ok(trackerErrors.length > 0, "the unreachable tracker gives trackererror events");
  for (const e of trackerErrors) assert.deepEqual(e, { tracker: 1, url: unreachable, message: "connection closed" });
  const warnings = await second.page.evaluate(() =>
    window.player.events.filter((e) => e.type === "trackerwarning").map((e) => e.detail),
  );
  assert.deepEqual(warnings[0], { tracker: 2, url: warning, message: WARNING }, "the warning comes as trackerwarning");

  const check = new FragmentCheck(viewer.recorded);
  const off = await configure(viewer, { download: false });
  const loadsBefore = await viewer.page.evaluate(() => window.player.events.length);
  // Three more segments (2 s each), checked against the origin as they come.
  const played = (await viewer.snapshot()).currentTime + 6;
  await check.checkUntil(async () => (await viewer.snapshot()).currentTime >= played, 20_000);
  const later = await stats(viewer);
  const sources = await viewer.page.evaluate(
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

  await configure(viewer, { download: true });
  await untilP2p(viewer, later.p2pBytes, 45_000);
  for (const p of [first, viewer]) assert.deepEqual((await p.snapshot()).fatal, [], "no fatal hls.js error");
});

test("upload off: a new engine that serves nothing, stats carried on; on again: it serves", { timeout: 120_000 }, async (t) => {
  assert.ok(viewer && server, "needs the pages of the previous test");
  const before = await stats(server);
  // A change of trackers restarts the engine too (for the second page, it drops two).
  await configure(server, { upload: false, trackers: [stack.tracker.url] });
  // Chunks already on their way may still arrive in the next moment.
  await new Promise((r) => setTimeout(r, 1_000));
  const viewerOff = await stats(viewer);
  await new Promise((r) => setTimeout(r, 10_000));
  const [serverOff, viewerLater] = [await stats(server), await stats(viewer)];
  t.diagnostic(
    `upload off: the serving page uploaded ${before.uploadBytes} -> ${serverOff.uploadBytes} B; ` +
      `the viewing page's P2P ${viewerOff.p2pBytes} -> ${viewerLater.p2pBytes} B`,
  );
  assert.equal(viewerLater.p2pBytes, viewerOff.p2pBytes, "the viewing page gets nothing from peers");
  for (const k of ["httpBytes", "p2pBytes", "uploadBytes"]) assert.ok(serverOff[k] >= before[k], `${k} carries on`);
  await configure(server, { upload: true });
  await untilP2p(viewer, viewerLater.p2pBytes, 60_000);
  for (const p of [first, second]) assert.deepEqual((await p.snapshot()).fatal, [], "no fatal hls.js error");
});

/** Waits for the first page's first event of `type` after `from` events, and returns its detail. */
const nextEvent = (p, type, from) =>
  p.page
    .waitForFunction(([t, n]) => window.player.events.slice(n).find((e) => e.type === t)?.detail, [type, from], {
      timeout: 15_000,
      polling: 100,
    })
    .then((h) => h.jsonValue());

test("segmentabort and segmenterror", { timeout: 40_000 }, async () => {
  assert.ok(first, "needs the first page of the previous test");
  const cdp = await first.page.context().newCDPSession(first.page);
  const network = (downloadThroughput) =>
    cdp.send("Network.emulateNetworkConditions", { offline: false, latency: 0, downloadThroughput, uploadThroughput: -1 });
  await cdp.send("Network.enable");
  // Every load over HTTP, so that the network conditions below apply to it.
  await configure(first, { download: false });
  // At 20 kB/s every segment load lasts seconds: stopLoad() abandons one.
  await network(20_000);
  let from = await first.page.evaluate(() => window.player.events.length);
  // The moment hls.js is loading a fragment, it is told to stop (and go on).
  await first.page.evaluate(() => {
    const { hls } = window.player;
    const timer = setInterval(() => {
      if (hls.streamController.state !== "FRAG_LOADING") return;
      clearInterval(timer);
      hls.stopLoad();
      hls.startLoad();
    }, 20);
  });
  const aborted = await nextEvent(first, "segmentabort", from);
  assert.match(aborted.url, /\.ts$/);
  assert.equal(aborted.type, "main");

  // Segment requests fail (as on a network error) until one load has failed.
  await network(-1);
  from = await first.page.evaluate(() => window.player.events.length);
  await first.page.route("**/*.ts", (route) => route.abort());
  const failed = await nextEvent(first, "segmenterror", from);
  await first.page.unroute("**/*.ts");
  assert.match(failed.url, /\.ts$/);
  assert.equal(failed.message, "network error");
});
