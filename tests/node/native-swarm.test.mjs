// Native peers only, against the real origin (live test card) and tracker:
// one swarmcast-peer seeder and one process hosting three viewers. Once the
// swarm has formed, over a window of new segments: the viewers take them
// from peers, and the origin serves each new segment once, to the seeder
// (the viewers run with maxHttpDownloads 0, as pages beside a seeder would).
// WebRTC binds 127.0.0.1 only, so no traffic leaves the machine.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, startPeer, originMetrics, playlistSegments, promSum } from "../support/servers.mjs";

const VIEWERS = 3;
const WINDOW_MS = 16_000;

let stack, seeder, viewers;
before(async () => {
  // One small rendition keeps the test card cheap; the viewers play it.
  stack = await startStack({ extraArgs: ["--renditions", "216p"] });
});
after(async () => {
  await viewers?.stop();
  await seeder?.stop();
  await stack?.stop();
});

async function newestSn(url) {
  const uris = await playlistSegments(url);
  return Number(/(\d+)\.\w+$/.exec(uris.at(-1))[1]);
}

async function mediaPlaylist(master) {
  const text = await (await fetch(master)).text();
  return new URL(text.split("\n").find((l) => l && !l.startsWith("#")), master).href;
}

test("a seeder and three native viewers: P2P bytes flow, the seeder alone fetches new segments", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const common = { stream: origin.liveUrl, tracker: tracker.url };
  seeder = await startPeer("seeder", common);
  viewers = await startPeer("viewer", {
    ...common,
    count: VIEWERS,
    extraArgs: ["--max-http-downloads", "0", "--join-interval", "300ms"],
  });

  // The swarm has formed once every viewer plays and each has a peer.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const m = await viewers.metrics();
    if (promSum(m, "swarmcast_peer_playing") === VIEWERS && promSum(m, "swarmcast_peer_connected_peers") >= VIEWERS) break;
    assert.ok(Date.now() < deadline, `swarm did not form: ${JSON.stringify(m)}`);
    await sleep(500);
  }
  const media = await mediaPlaylist(origin.liveUrl);
  const sample = async () => ({ sn: await newestSn(media), o: await originMetrics(origin), s: await seeder.metrics(), v: await viewers.metrics() });
  const a = await sample();
  await sleep(WINDOW_MS);
  const b = await sample();
  // The peers publish their counters once a second: what they did up to the
  // origin's sample is in theirs a second later.
  await sleep(1500);
  b.s = await seeder.metrics();
  b.v = await viewers.metrics();

  const delta = (name, which, label) => promSum(b[which], name, label) - promSum(a[which], name, label);
  const newSegments = b.sn - a.sn;
  const originSegments = delta("swarmcast_origin_requests_total", "o", 'kind="segment"');
  const seederHttp = delta("swarmcast_peer_segments_total", "s", 'source="http"');
  const viewerHttp = delta("swarmcast_peer_segments_total", "v", 'source="http"');
  const viewerP2p = delta("swarmcast_peer_segments_total", "v", 'source="p2p"');
  const p2pBytes = delta("swarmcast_peer_download_bytes_total", "v", 'source="p2p"');
  const uploaded = delta("swarmcast_peer_upload_bytes_total", "s");
  t.diagnostic(
    `${newSegments} new segments; origin served ${originSegments} segment requests, ` +
      `the seeder fetched ${seederHttp}; viewers: ${viewerP2p} segments (${p2pBytes} B) from peers, ` +
      `${viewerHttp} over HTTP; seeder uploaded ${uploaded} B`,
  );
  assert.ok(newSegments >= 5, `the test card published ${newSegments} segments in the window`);
  assert.equal(viewerHttp, 0, "viewers fetched no segment over HTTP");
  assert.ok(viewerP2p >= VIEWERS * (newSegments - 2), `viewers took ${viewerP2p} segments from peers`);
  assert.ok(p2pBytes > 0 && uploaded > 0, "segment bytes flowed over data channels");
  // The viewers loaded nothing over HTTP, so every segment request the
  // origin saw was the seeder's: one per new segment (a load in flight at
  // either edge of the window may shift the counts by one).
  assert.ok(Math.abs(originSegments - newSegments) <= 1, `origin served ${originSegments} segment requests for ${newSegments} new segments`);
  assert.ok(Math.abs(seederHttp - newSegments) <= 1, `the seeder fetched each new segment once (${seederHttp} for ${newSegments})`);
  assert.equal(promSum(b.v, "swarmcast_peer_late_deliveries_total"), 0, "no deadline misses");
});
