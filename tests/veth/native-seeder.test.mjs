// The operator's setup, as on a real network: a native seeder on its default
// bind (every interface but loopback; here the namespace's veth pair) and a
// page in a Chromium without the tests' loopback flags and without a media
// permission, which offers only mDNS (`.local`) host candidates. The page
// downloads from the seeder, and every fragment its hls.js receives is the
// origin's bytes. Runs under `scripts/in-netns.sh --veth`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startStack, startPeer, promSum } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { loadPlayer } from "../support/player.mjs";
import { FragmentCheck } from "../support/integrity.mjs";

const BYTES_WITHIN_MS = 30_000;
const METRICS_LAG_MS = 1_500; // swarmcast-peer updates /metrics once a second

let stack, browser;
before(async () => {
  [stack, browser] = await Promise.all([
    startStack({ extraArgs: ["--renditions", "216p"] }),
    launchBrowser({ asOnRealNetwork: true }),
  ]);
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Records the host candidates of every local description the page sets. */
function recordLocalCandidates() {
  const Original = window.RTCPeerConnection;
  window.localCandidates = [];
  window.RTCPeerConnection = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener("icecandidate", (e) => e.candidate && window.localCandidates.push(e.candidate.address));
    }
  };
}

test("a page offering only mDNS candidates downloads from a seeder on its default bind", { timeout: 90_000 }, async (t) => {
  const { origin, tracker } = stack;
  const seeder = await startPeer("seeder", { stream: origin.liveUrl, tracker: tracker.url, udpBind: null });
  const context = await browser.browser.newContext();
  try {
    const page = await context.newPage();
    await page.addInitScript(recordLocalCandidates);
    const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] }, maxHttpDownloads: 0 };
    const player = await loadPlayer(context, page, origin.url, { src: origin.liveUrl, opts, record: true });
    const fragments = new FragmentCheck(player.recorded);
    await fragments.checkUntil(async () => (await player.snapshot()).stats.p2pBytes > 0, BYTES_WITHIN_MS);

    const snap = await player.snapshot();
    const candidates = await page.evaluate(() => window.localCandidates);
    await sleep(METRICS_LAG_MS);
    const uploaded = promSum(await seeder.metrics(), "swarmcast_peer_upload_bytes_total");
    t.diagnostic(
      `page: candidates ${[...new Set(candidates)].join(", ")}; ${fragments.records.length} fragments, ` +
        `${snap.stats.p2pBytes} B from peers, ${snap.stats.httpBytes} B over HTTP; seeder uploaded ${uploaded} B`,
    );
    assert.ok(candidates.length > 0, "the page gathered host candidates");
    assert.ok(candidates.every((a) => a.endsWith(".local")), "the page offered only mDNS candidates");
    assert.deepEqual(snap.fatal, [], "no fatal hls.js error");
    assert.deepEqual(fragments.problems(), [], "every fragment hls.js received is the origin's bytes");
    assert.ok(snap.stats.p2pBytes > 0, "the page took segment bytes from the seeder");
    assert.ok(uploaded > 0, "the seeder uploaded");
  } finally {
    await context.close();
    await seeder.stop();
  }
});
