// (d) With P2P disabled the page behaves like plain hls.js: it plays the live
// test card, opens no tracker socket and no peer connection, and every
// segment byte comes over HTTP, as on a page without swarmcast at all.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startStack } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";

let stack, origin, tracker, browser;
before(async () => {
  stack = await startStack();
  ({ origin, tracker } = stack);
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

// Counts WebSocket and RTCPeerConnection constructions made by the page.
const countConnections = () => {
  window.__made = { ws: 0, rtc: 0 };
  const wrap = (name, key) => {
    const Real = window[name];
    window[name] = class extends Real {
      constructor(...args) {
        super(...args);
        window.__made[key]++;
      }
    };
  };
  wrap("WebSocket", "ws");
  wrap("RTCPeerConnection", "rtc");
};

test("p2p: false plays like plain hls.js, over HTTP only", { timeout: 90_000 }, async () => {
  const opts = { trackers: [tracker.url], rtcConfig: { iceServers: [] }, p2p: false };
  const players = [];
  for (const o of [opts, undefined]) {
    const p = await openPlayer(browser.browser, origin.url, { src: origin.liveUrl, opts: o, beforeLoad: countConnections });
    players.push(p);
  }
  const [swarmcast, plain] = players;
  await Promise.all(players.map((p) => p.waitForProgress(6, 45_000)));

  for (const p of players) {
    const s = await p.snapshot();
    assert.deepEqual(s.fatal, [], "no fatal hls.js error");
    assert.ok(s.fragsLoaded >= 3, `fragments loaded: ${s.fragsLoaded}`);
    assert.deepEqual(await p.page.evaluate(() => window.__made), { ws: 0, rtc: 0 }, "no tracker socket, no peer connection");
  }
  const s = await swarmcast.snapshot();
  assert.equal(s.stats.p2pBytes, 0);
  assert.equal(s.stats.segments.p2p, 0);
  assert.ok(s.stats.httpBytes > 0, "segment bytes are counted as HTTP");
  assert.deepEqual(s.stats.peers, []);
  assert.equal(s.eventCounts.peerconnect ?? 0, 0);
  assert.equal(s.eventCounts.error ?? 0, 0);
  const loaded = await swarmcast.events("segmentloaded");
  assert.ok(loaded.length > 0 && loaded.every((e) => e.detail.source === "http"));
  await Promise.all(players.map((p) => p.close()));
});
