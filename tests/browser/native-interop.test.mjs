// Browsers and native peers are one swarm, on the live test card:
// (a) a Chromium page downloads from a native seeder (swarmcast-peer), and
//     every fragment the page's hls.js receives is the origin's bytes;
// (b) a native viewer downloads from a Chromium page;
// (c) with a swarm id, a page and a native seeder that open the stream at
//     different URLs (another host name, per-viewer tokens) share it.
// Both directions share one origin and tracker; each starts a fresh swarm of
// its own peers (the previous ones have left).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, startPeer, promSum } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";
import { FragmentCheck } from "../support/integrity.mjs";

/** Once the page and the native peer are connected, segment bytes flow between them within this. */
const BYTES_WITHIN_MS = 30_000;
/** swarmcast-peer updates its /metrics once a second. */
const METRICS_LAG_MS = 1_500;
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

const waitForPeer = (player) =>
  player.page.waitForFunction(() => window.player.events.some((e) => e.type === "peerconnect"), null, {
    timeout: 30_000,
    polling: 250,
  });

/**
 * A native seeder of `seederStream` and a page playing `src`: the page must
 * take segment bytes from the seeder, every one the origin's.
 */
async function pageTakesFromSeeder(t, { seederStream, seederArgs = [], src, swarmId }) {
  const { origin, tracker } = stack;
  const seeder = await startPeer("seeder", { stream: seederStream, tracker: tracker.url, extraArgs: seederArgs });
  let player;
  try {
    // Beside a seeder the page leaves prefetching new segments to it.
    const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] }, maxHttpDownloads: 0, swarmId };
    player = await openPlayer(browser.browser, origin.url, { src, opts, record: true });
    const fragments = new FragmentCheck(player.recorded);
    await player.waitForProgress(1, 30_000);
    await waitForPeer(player);
    await fragments.checkUntil(async () => (await player.snapshot()).stats.p2pBytes > 0, BYTES_WITHIN_MS);

    const snap = await player.snapshot();
    const loaded = await player.events("segmentloaded");
    const fromSeeder = new Set(loaded.filter((e) => e.detail.source === "p2p").map((e) => e.detail.url));
    await sleep(METRICS_LAG_MS);
    const uploaded = promSum(await seeder.metrics(), "swarmcast_peer_upload_bytes_total");
    t.diagnostic(
      `page: ${fragments.records.length} fragments, ${snap.stats.p2pBytes} B from peers, ` +
        `${snap.stats.httpBytes} B over HTTP; seeder uploaded ${uploaded} B`,
    );
    assert.deepEqual(snap.fatal, [], "no fatal hls.js error");
    assert.deepEqual(fragments.problems(), [], "every fragment hls.js received is the origin's bytes");
    assert.ok(snap.stats.p2pBytes > 0, "the page took segment bytes from the native seeder");
    assert.ok(
      fragments.records.some((r) => fromSeeder.has(r.url)),
      "fragments the seeder delivered were among those checked",
    );
    assert.ok(uploaded > 0, "the seeder uploaded");
  } finally {
    await player?.close();
    await seeder.stop();
  }
}

test("(a) a Chromium page downloads from a native seeder, byte-identical to the origin", { timeout: 90_000 }, (t) =>
  pageTakesFromSeeder(t, { seederStream: stack.origin.liveUrl, src: stack.origin.liveUrl }),
);

test("(b) a native viewer downloads from a Chromium page", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] } };
  const player = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts });
  let viewer;
  try {
    await player.waitForProgress(1, 30_000);
    // The viewer fetches no segment for the swarm, so what it does not take
    // from the page it loads itself, when due. It plays two segments further
    // behind live than the page: at the same distance, whichever of the two
    // saw a new segment first fetched it, and in some runs that was always
    // the viewer, so nothing ever flowed from the page.
    viewer = await startPeer("viewer", {
      stream: origin.liveUrl,
      tracker: tracker.url,
      extraArgs: ["--max-http-downloads", "0", "--live-sync-segments", "5"],
    });
    await waitForPeer(player);
    // Segments the engines elect the viewer to fetch come from the origin
    // (at its deadline), the page's from the page: wait for one of those.
    const p2pOf = (m) => promSum(m, "swarmcast_peer_download_bytes_total", 'source="p2p"');
    for (const end = Date.now() + BYTES_WITHIN_MS; !(p2pOf(await viewer.metrics()) > 0) && Date.now() < end; ) {
      await sleep(1000);
    }

    const m = await viewer.metrics();
    const snap = await player.snapshot();
    const p2p = p2pOf(m);
    const http = promSum(m, "swarmcast_peer_download_bytes_total", 'source="http"');
    t.diagnostic(
      `native viewer: ${p2p} B from peers, ${http} B over HTTP; page: uploaded ${snap.stats.uploadBytes} B, ` +
        `${snap.stats.p2pBytes} B from peers, ${snap.stats.httpBytes} B over HTTP`,
    );
    assert.deepEqual(snap.fatal, [], "no fatal hls.js error");
    assert.ok(p2p > 0, "the native viewer took segment bytes from the page");
    assert.ok(snap.stats.uploadBytes > 0, "the page uploaded");
    assert.equal(promSum(m, "swarmcast_peer_stalls_total"), 0, "the native viewer never stalled");
  } finally {
    await viewer?.stop();
    await player.close();
  }
});

test("(c) with a swarm id, a page and a native seeder share the stream at different URLs", { timeout: 90_000 }, (t) => {
  // Two names for one origin, as two CDNs would be, and a token each: no
  // URL the two open is the same, so only the swarm id joins them.
  const seederStream = new URL(stack.origin.liveUrl);
  seederStream.hostname = "localhost";
  seederStream.search = "?token=seeder";
  return pageTakesFromSeeder(t, {
    seederStream: seederStream.href,
    seederArgs: ["--swarm-id", "testcard"],
    src: `${stack.origin.liveUrl}?token=page`,
    swarmId: "testcard",
  });
});
