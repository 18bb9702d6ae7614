// Swarmcast's HTTP is hls.js's HTTP: in front of the origin sits a proxy that
// refuses media requests without an auth header (403). Pages that add the
// header through hls.js's own `xhrSetup`, or through swarmcast's
// `httpRequestSetup` hook, play with P2P and never send an anonymous
// request; a page without it gets hls.js's own 403 error, not a swallowed one.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startVodStack, freePort } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { openPlayer } from "../support/player.mjs";

const HEADER = "x-swarmcast-test"; // as in tests/support/www/player.js

/**
 * A reverse proxy to `target` on 127.0.0.1 that answers 403 to requests for
 * paths matching `guarded` unless they carry the auth header. Counts both.
 */
async function startAuthProxy(target, guarded) {
  const counts = { refused: 0, allowed: 0 };
  const server = http.createServer((req, res) => {
    const path = req.url.split("?")[0];
    if (guarded.test(path)) {
      if (req.headers[HEADER] !== "ok") {
        counts.refused++;
        res.writeHead(403).end("forbidden");
        return;
      }
      counts.allowed++;
    }
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    upstream.on("error", () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${port}`, counts, stop: () => new Promise((r) => server.close(r)) };
}

let stack, browser;
before(async () => {
  // Longer than hls.js's 30 s buffer goal, so the second page still has
  // segments to load once its peer connection is up.
  stack = await startVodStack({ seconds: 48 });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Two pages authenticating with `auth` against a proxy guarding `guarded`. */
async function twoPages(t, guarded, auth) {
  const proxy = await startAuthProxy(stack.origin.url, guarded);
  try {
    const src = `${proxy.url}/master.m3u8`;
    const opts = { trackers: [stack.tracker.url], rtcConfig: { iceServers: [] } };
    const first = await openPlayer(browser.browser, proxy.url, { src, opts, auth });
    await first.waitForProgress(2, 30_000);
    const second = await openPlayer(browser.browser, proxy.url, { src, opts, auth });
    await second.waitForProgress(4, 45_000);
    await second.page
      .waitForFunction(() => window.player.p2p.stats().p2pBytes > 0, null, { timeout: 30_000, polling: 250 })
      .catch(() => {}); // asserted below, with the stats
    const [a, b] = [await first.snapshot(), await second.snapshot()];
    t.diagnostic(`${auth}: proxy ${JSON.stringify(proxy.counts)}; second page ${JSON.stringify(b.stats)}`);
    for (const s of [a, b]) assert.deepEqual(s.fatal, [], "no fatal hls.js error");
    assert.equal(proxy.counts.refused, 0, "no media request went out without the header");
    assert.ok(proxy.counts.allowed > 0);
    assert.ok(b.stats.p2pBytes > 0, "the second page still got segments from the first");
    await Promise.all([first.close(), second.close()]);
  } finally {
    await proxy.stop();
  }
}

test("hls.js's xhrSetup authenticates every load swarmcast makes", { timeout: 150_000 }, (t) =>
  twoPages(t, /\.(m3u8|ts|m4s|mp4)$/, "xhrSetup"),
);

test("httpRequestSetup authenticates segment loads", { timeout: 150_000 }, (t) =>
  twoPages(t, /\.(ts|m4s)$/, "httpRequestSetup"),
);

test("without credentials hls.js sees the origin's 403", { timeout: 40_000 }, async () => {
  const proxy = await startAuthProxy(stack.origin.url, /\.ts$/);
  try {
    const opts = { trackers: [stack.tracker.url], rtcConfig: { iceServers: [] } };
    // One retry, not hls.js's default six with backoff: the 403 turns fatal in seconds.
    const errorRetry = { maxNumRetry: 1, retryDelayMs: 200, maxRetryDelayMs: 200 };
    const fragLoadPolicy = { default: { maxTimeToFirstByteMs: 10_000, maxLoadTimeMs: 60_000, timeoutRetry: null, errorRetry } };
    const page = await openPlayer(browser.browser, proxy.url, {
      src: `${proxy.url}/master.m3u8`,
      opts,
      hlsConfig: { fragLoadPolicy },
    });
    await page.page.waitForFunction(() => window.player.snapshot().fatal.length > 0, null, {
      timeout: 20_000,
      polling: 250,
    });
    const { fatal } = await page.snapshot();
    assert.equal(fatal[0].details, "fragLoadError");
    assert.equal(fatal[0].code, 403, "hls.js got the real status code");
    await page.close();
  } finally {
    await proxy.stop();
  }
});
