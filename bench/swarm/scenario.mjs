// Runs one engine's swarm: N viewers of `src` joining staggered in one
// headless Chromium, each sampled once a second, until T seconds after the
// first joined. Returns the raw per-viewer data that report.mjs summarises.
import { setTimeout as sleep } from "node:timers/promises";
import { launchBrowser, newViewerContext } from "../../tests/support/browser.mjs";

const SAMPLE_MS = 1000;

/**
 * `stack` is startStack()'s result (origin with the bench mounts, tracker).
 * `viewerParams(i)` gives viewer i's extra page parameters (the ABR scenario's
 * level plan) or nothing.
 * Returns { engine, viewers: [{ joinedAt, params, samples: [{ t, ...stats }], final, segments, fragments, log }] }
 * where every t is seconds since the first viewer joined.
 */
export async function runScenario({ engine, stack, src, n, seconds, staggerS, viewerParams = () => ({}) }) {
  const { browser, close } = await launchBrowser();
  const viewers = [];
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  try {
    while (elapsed() < seconds) {
      if (viewers.length < n && elapsed() >= viewers.length * staggerS) {
        const params = viewerParams(viewers.length);
        const q = new URLSearchParams({ engine, src, tracker: stack.tracker.url, ...params });
        viewers.push({ ...(await join(browser, `${stack.origin.url}/bench/index.html?${q}`, elapsed())), params });
      }
      // All at once: one by one, a loaded machine stretches the 1 s period.
      await Promise.all(viewers.map((v) => sample(v, elapsed)));
      await sleep(SAMPLE_MS - ((Date.now() - t0) % SAMPLE_MS));
    }
    for (const v of viewers) {
      Object.assign(
        v,
        await v.page.evaluate(async () => ({
          final: window.swarmcast.stats(),
          segments: window.swarmcast.segments(),
          fragments: await window.swarmcast.fragments(),
          log: window.swarmcast.log,
        })),
      );
    }
    return { engine, viewers: viewers.map(({ page, ...rest }) => rest) };
  } finally {
    await close();
  }
}

async function join(browser, url, joinedAt) {
  const context = await newViewerContext(browser);
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(url);
  return { page, joinedAt, samples: [], errors };
}

async function sample(v, elapsed) {
  const s = await v.page.evaluate(() => window.swarmcast?.stats()).catch(() => null);
  if (s) v.samples.push({ t: elapsed(), ...s, peers: s.peers.length });
}
