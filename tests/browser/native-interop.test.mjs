// Browsers and native peers are one swarm, on the live test card:
// (a) a Chromium page downloads from a native seeder (swarmcast-peer), and
//     every fragment the page's hls.js receives is the origin's bytes;
// (b) a native viewer downloads from a Chromium page.
// Both directions share one origin and tracker; each starts a fresh swarm of
// its own peers (the previous ones have left).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, startPeer } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { OriginDigests, compareWithOrigin } from "../support/integrity.mjs";

const PLAY_MS = 12_000;
// One small rendition: the native viewer plays the first variant, so the
// page plays the same one, and the test card costs less.
const ONE_RENDITION = ["--renditions", "216p"];

let stack, browser;
before(async () => {
  [stack, browser] = await Promise.all([startStack({ extraArgs: ONE_RENDITION }), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

const sum = (samples, name, label = "") =>
  Object.entries(samples)
    .filter(([k]) => k.startsWith(`${name}{`) && k.includes(label))
    .reduce((a, [, v]) => a + v, 0);

const waitForPeer = (player) =>
  player.page.waitForFunction(() => window.player.events.some((e) => e.type === "peerconnect"), null, {
    timeout: 30_000,
    polling: 250,
  });

test("(a) a Chromium page downloads from a native seeder, byte-identical to the origin", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const seeder = await startPeer("seeder", { stream: origin.liveUrl, tracker: tracker.url });
  let player;
  try {
    // Beside a seeder the page leaves prefetching new segments to it.
    const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] }, maxHttpDownloads: 0 };
    player = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts, record: true });
    await player.waitForProgress(1, 30_000);
    await waitForPeer(player);
    await sleep(PLAY_MS);

    const snap = await player.snapshot();
    const records = await player.recorded(0);
    const { differences, unverifiable } = await compareWithOrigin(records, new OriginDigests());
    const uploaded = sum(await seeder.metrics(), "swarmcast_peer_upload_bytes_total");
    t.diagnostic(
      `page: ${records.length} fragments, ${snap.stats.p2pBytes} B from peers, ${snap.stats.httpBytes} B over HTTP; ` +
        `seeder uploaded ${uploaded} B`,
    );
    assert.deepEqual(snap.fatal, [], "no fatal hls.js error");
    assert.ok(records.length > 0, "hls.js received fragments");
    assert.deepEqual(differences, [], "every fragment is the origin's bytes");
    assert.deepEqual(unverifiable, [], "every fragment could be checked");
    assert.ok(snap.stats.p2pBytes > 0, "the page took segment bytes from the native seeder");
    assert.ok(uploaded > 0, "the seeder uploaded");
  } finally {
    await player?.close();
    await seeder.stop();
  }
});

test("(b) a native viewer downloads from a Chromium page", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const player = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts });
  let viewer;
  try {
    await player.waitForProgress(1, 30_000);
    // The viewer fetches no segment for the swarm, so what it does not take
    // from the page it loads itself, when due.
    viewer = await startPeer("viewer", {
      stream: origin.liveUrl,
      tracker: tracker.url,
      extraArgs: ["--max-http-downloads", "0"],
    });
    await waitForPeer(player);
    await sleep(PLAY_MS);

    const m = await viewer.metrics();
    const snap = await player.snapshot();
    const p2p = sum(m, "swarmcast_peer_download_bytes_total", 'source="p2p"');
    const http = sum(m, "swarmcast_peer_download_bytes_total", 'source="http"');
    t.diagnostic(`native viewer: ${p2p} B from peers, ${http} B over HTTP; page uploaded ${snap.stats.uploadBytes} B`);
    assert.deepEqual(snap.fatal, [], "no fatal hls.js error");
    assert.ok(p2p > 0, "the native viewer took segment bytes from the page");
    assert.ok(snap.stats.uploadBytes > 0, "the page uploaded");
    assert.ok(sum(m, "swarmcast_peer_stalls_total") === 0, "the native viewer never stalled");
  } finally {
    await viewer?.stop();
    await player.close();
  }
});
