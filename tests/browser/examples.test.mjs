// The pages in examples/ as a user opens them, against the live test card and
// a tracker, with every player and library from node_modules: (a) each page
// plays, with swarmcast loading its segments and no error; (b) two Clappr
// pages (Clappr's own hls.js, swarmcast attached through a playback subclass)
// swap segments, in either direction (both play at the live edge), and every
// fragment either page's hls.js received is the origin's bytes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO, STANDARD_MOUNTS, startStack } from "../support/servers.mjs";
import { launchBrowser, newViewerContext } from "../support/browser.mjs";
import { FragmentCheck, OriginDigests } from "../support/integrity.mjs";
import { until } from "../support/player.mjs";
import { recordFragments } from "../support/www/record.js";

const EXAMPLES = ["hls", "plyr", "vidstack", "clappr"];
// The pages name their files relative to examples/, as in the repository.
const MOUNTS = {
  ...STANDARD_MOUNTS,
  "/examples": path.join(REPO, "examples"),
  "/node_modules": path.join(REPO, "node_modules"),
};
const CHECK_EVERY_MS = 2000; // live segments leave the origin with the window

// The examples put { hls, p2p, errors } on window.example; this init script
// starts recording that hls.js instance's fragments the moment it appears.
const RECORD_EXAMPLE = `(() => {
  const recordFragments = ${recordFragments};
  let example;
  Object.defineProperty(window, "example", {
    get: () => example,
    set(value) {
      example = value;
      example.recorder = recordFragments(value.hls);
    },
  });
})();`;

let stack, browser;
before(async () => {
  // One small rendition keeps encoding and six pages' decoding cheap.
  stack = await startStack({ mounts: MOUNTS, extraArgs: ["--renditions", "144p"] });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await stack?.stop();
});

/** An example page in its own context; `problems` collects page errors and requests that left the origin. */
async function openExample(name) {
  const context = await newViewerContext(browser.browser);
  const page = await context.newPage();
  await page.addInitScript(RECORD_EXAMPLE);
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const url = new URL(r.url());
    if (url.protocol.startsWith("http") && url.origin !== stack.origin.url) problems.push(`request to ${r.url()}`);
  });
  const q = new URLSearchParams({ tracker: stack.tracker.url });
  await page.goto(`${stack.origin.url}/examples/${name}.html?${q}`);
  return {
    name,
    page,
    problems,
    close: () => context.close().catch(() => {}),
    /** Playback position, swarmcast's stats and errors. */
    state: () =>
      page.evaluate(() => ({
        currentTime: document.querySelector("video")?.currentTime ?? 0,
        stats: window.example?.p2p.stats(),
        errors: window.example?.errors ?? [],
      })),
    recorded: (from) => page.evaluate((f) => window.example.recorder.recorded(f), from),
    /** Waits until the video has played `seconds` since it started (a live stream starts far from 0). */
    async waitForPlayback(seconds, timeoutMs = 30_000) {
      const time = async () => (await page.evaluate(() => window.example && document.querySelector("video")?.currentTime)) || 0;
      let start = 0;
      await until(async () => (start = await time()) > 0, timeoutMs, "playback to start");
      await until(async () => (await time()) >= start + seconds, timeoutMs, `${seconds} s of playback`);
    },
  };
}

test("(a) every example page plays through swarmcast without an error", { timeout: 60_000 }, async (t) => {
  const pages = await Promise.all(EXAMPLES.map(openExample));
  try {
    const failures = [];
    await Promise.all(
      pages.map(async (p) => {
        const started = await p.waitForPlayback(1).then(() => true, () => false);
        const s = await p.state();
        const segments = s.stats ? s.stats.segments.http + s.stats.segments.p2p : 0;
        t.diagnostic(`${p.name}: played ${s.currentTime.toFixed(1)} s, ${segments} segments through swarmcast, errors ${JSON.stringify(s.errors)}`);
        const fail = (what) => failures.push(`${p.name}: ${what}`);
        if (!started) fail("did not play 1 s within 30 s");
        if (!(segments > 0)) fail("no segment loaded through swarmcast");
        if (s.errors.length) fail(`swarmcast errors: ${s.errors.join("; ")}`);
        for (const problem of p.problems) fail(problem);
      }),
    );
    assert.deepEqual(failures, []);
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
});

test("(b) two Clappr pages swap segments, byte-identical to the origin's", { timeout: 90_000 }, async (t) => {
  const pages = [];
  const checks = [];
  const digests = new OriginDigests();
  const checkAll = () => Promise.all(checks.map((c) => c.check()));
  const open = async () => {
    const p = await openExample("clappr");
    pages.push(p);
    await p.waitForPlayback(1);
    checks.push(new FragmentCheck(p.recorded, digests));
    return p;
  };
  try {
    const first = await open();
    await first.waitForPlayback(2);
    const second = await open();
    // The second page joins a swarm of one. Both play at the live edge, so
    // either may fetch a new segment first and serve it to the other (45 s:
    // one run at load ~10 saw no connection within 30 s).
    const gotFromPeers = async () => (await Promise.all(pages.map((p) => p.state()))).some((s) => s.stats.p2pBytes > 0);
    const deadline = Date.now() + 45_000;
    while (!(await gotFromPeers()) && Date.now() < deadline) {
      await checkAll();
      await sleep(CHECK_EVERY_MS);
    }
    await checkAll();

    const states = await Promise.all(pages.map((p) => p.state()));
    for (const [i, s] of states.entries()) {
      t.diagnostic(
        `${i ? "second" : "first"}: ${s.stats.p2pBytes} B from peers, ${s.stats.uploadBytes} B sent, ` +
          `${s.stats.httpBytes} B over HTTP, ${checks[i].records.length} fragments`,
      );
    }
    const failures = [];
    for (const [i, p] of pages.entries()) {
      for (const problem of [...checks[i].problems(), ...p.problems, ...states[i].errors]) failures.push(`page ${i}: ${problem}`);
    }
    // Whatever one page got from peers, the other sent.
    const [a, b] = states.map((s) => s.stats);
    if (!(a.p2pBytes + b.p2pBytes > 0)) failures.push("neither page got bytes from peers");
    if (a.p2pBytes > 0 && !(b.uploadBytes > 0)) failures.push("the first page got bytes from peers the second did not send");
    if (b.p2pBytes > 0 && !(a.uploadBytes > 0)) failures.push("the second page got bytes from peers the first did not send");
    assert.deepEqual(failures, []);
  } finally {
    await Promise.all(pages.map((p) => p.close()));
  }
});
