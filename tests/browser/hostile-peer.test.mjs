// A hostile peer (tests/support/www/hostile.js, the real tracker and peer
// protocols spoken from plain JS) joins a viewer's swarm and, in turn, sends
// an oversized Have, then a truncated transfer then silence, an absurd
// total, floods of Have and Request messages, wrong bytes, and after the ban
// comes back twice under a fresh id (from the same address) with wrong bytes
// again. With the origin's digests on, the viewer must receive only the
// origin's bytes, stall no longer than a plain hls.js page playing
// alongside, keep its wasm memory bounded, upload to the hostile peer no
// more than its budget, and take at most one segment from each of its
// connections: the first comeback is on probation, the second finds its
// address backing off.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startVodStack } from "../support/servers.mjs";
import { launchBrowser, newViewerContext } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { compareWithOrigin, OriginDigests } from "../support/integrity.mjs";

let stack, browser;
before(async () => {
  stack = await startVodStack({ seconds: 60, extraArgs: ["--renditions", "360p"] }, { extraArgs: ["--digests", "/"] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// In the page before its scripts: keeps the peak size of the engine's wasm
// memory (the instance's one exported WebAssembly.Memory) in window.wasmPeak.
function watchWasmMemory() {
  window.wasmPeak = 0;
  // The package compiles its wasm, then instantiates it with `new WebAssembly.Instance`.
  const Instance = WebAssembly.Instance;
  WebAssembly.Instance = function (module, imports) {
    const instance = new Instance(module, imports);
    const memory = Object.values(instance.exports).find((v) => v instanceof WebAssembly.Memory);
    const sample = () => (window.wasmPeak = Math.max(window.wasmPeak, memory.buffer.byteLength));
    setInterval(sample, 100);
    return instance;
  };
}

// In a player page: the bytes received from each peer, by peer id (hex).
function countBytesByPeer() {
  window.bytesFrom = {};
  window.player.p2p.addEventListener("bytes", ({ detail: { kind, bytes, peerId } }) => {
    if (kind === "p2p") window.bytesFrom[peerId] = (window.bytesFrom[peerId] ?? 0) + bytes;
  });
}

// In a player page: the longest time playback did not advance while
// `window.stalls.on`, sampled every 100 ms.
function watchStalls() {
  const video = document.querySelector("video");
  window.stalls = { on: true, worst: 0, last: video.currentTime, since: performance.now() };
  setInterval(() => {
    const s = window.stalls;
    if (!s.on) return;
    if (video.currentTime > s.last) [s.last, s.since] = [video.currentTime, performance.now()];
    s.worst = Math.max(s.worst, performance.now() - s.since);
  }, 100);
}

test("a hostile peer costs the viewer no wrong byte, no extra stall, bounded memory and upload", { timeout: 150_000 }, async (t) => {
  const { origin, tracker } = stack;
  const src = `${origin.url}/master.m3u8`;
  const hlsConfig = { maxBufferLength: 10, maxMaxBufferLength: 10 };
  // Peers' segments are checked when hls.js asks for them, so a bad peer is
  // caught once playback nears what it sent: a 10 s P2P window (30 s by
  // default) keeps that, and this test, short.
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] }, p2pWindowSeconds: 10 };
  const [victim, plain] = await Promise.all([
    openPlayer(browser.browser, origin.url, { src, opts, hlsConfig, record: true, beforeLoad: watchWasmMemory }),
    openPlayer(browser.browser, origin.url, { src, hlsConfig }),
  ]);
  await Promise.all([victim.waitForProgress(2, 30_000), plain.waitForProgress(2, 30_000)]);
  await Promise.all([victim.page.evaluate(watchStalls), plain.page.evaluate(watchStalls), victim.page.evaluate(countBytesByPeer)]);

  const hostileContext = await newViewerContext(browser.browser);
  const hostile = await hostileContext.newPage();
  await hostile.goto(`${origin.url}/test/hostile.html`);
  await hostile.waitForFunction(() => window.hostile);
  const report = await hostile.evaluate((o) => window.hostile.run(o), {
    trackerUrl: tracker.url,
    manifestUrl: src,
    floodSeconds: 5,
  });
  const stall = async (p) => p.page.evaluate(() => ((window.stalls.on = false), window.stalls.worst));
  const [victimStall, plainStall] = await Promise.all([stall(victim), stall(plain)]);
  const s = await victim.snapshot();
  const peak = await victim.page.evaluate(() => window.wasmPeak);
  const refusals = (await victim.events("error")).filter((e) => e.detail.where === "integrity").length;
  const bytesFrom = await victim.page.evaluate(() => window.bytesFrom);
  t.diagnostic(`hostile: ${JSON.stringify(report)}`);
  t.diagnostic(
    `victim: longest stall ${victimStall} ms (plain hls.js ${plainStall} ms); wasm memory peak ${(peak / 2 ** 20).toFixed(1)} MiB; ` +
      `integrity refusals ${refusals}; stats ${JSON.stringify(s.stats)}`,
  );

  // Zero wrong bytes reached hls.js.
  const { differences } = await compareWithOrigin(await victim.recorded(), new OriginDigests());
  assert.deepEqual(differences, []);
  assert.deepEqual(s.fatal, [], "no fatal hls.js error");
  assert.ok(victimStall <= plainStall + 1000, `victim stalled ${victimStall} ms, plain hls.js ${plainStall} ms`);
  assert.ok(peak <= 96 * 2 ** 20, `wasm memory peak ${peak} B`);
  // Upload: at most 60 s of media at once, then 4 s of media a second (2 s segments).
  const budget = (60_000 + 4 * report.floodMs) / 2_000 + 1;
  assert.ok(report.requestFlood > 0 && report.floodSegments <= budget, `${report.floodSegments} segments > ${budget}`);
  // Each connection was dropped: at the oversized Have; after one wrong
  // segment (the first liar, and its comeback on probation); at once (the
  // second comeback, while its address backs off).
  const [oversize, first, probation, backoff] = report.connections;
  t.diagnostic(`connections: ${JSON.stringify(report.connections)}; bytes taken by peer: ${JSON.stringify(bytesFrom)}`);
  assert.ok(oversize.closedAfterMs !== null, `oversized Have: dropped (${JSON.stringify(oversize)})`);
  assert.ok(first.closedAfterMs !== null && first.wrongSent === 1, `first liar: one wrong segment (${JSON.stringify(first)})`);
  assert.ok(probation.closedAfterMs !== null && probation.wrongSent <= 1, `on probation: at most one (${JSON.stringify(probation)})`);
  assert.ok(backoff.closedAfterMs !== null && backoff.requests === 0, `backing off: nothing asked (${JSON.stringify(backoff)})`);
  // What the victim took from each liar: at most one segment (the hostile's
  // wrong ones are 160 kB), plus the one 16 kB chunk of the transfer the
  // first truncated (discarded when it went silent).
  for (const c of [first, probation, backoff]) {
    const taken = bytesFrom[Buffer.from(c.peerId, "latin1").toString("hex")] ?? 0;
    assert.ok(taken <= 160_000 + 16_000, `${c.plan}: ${taken} bytes taken`);
  }
  assert.ok(s.stats.rejectedBytes > 0, "the wrong bytes were refused");
  await Promise.all([victim.close(), plain.close(), hostileContext.close()]);
});
