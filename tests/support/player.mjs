// Opens the test player page (tests/support/www/player.html, served by the
// origin at /test/) in its own browser context and gives tests a small handle
// to read its playback state and swarmcast stats.
import { newViewerContext } from "./browser.mjs";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Opens a page playing `src`. `opts` are Swarmcast.attach options (omit them for
 * plain hls.js); `validate` names a validateSegment hook defined in player.js;
 * `hlsConfig` overrides hls.js config; `record` hashes every fragment hls.js
 * receives (see `recorded`); `beforeLoad` is a function run in the page before
 * any of its scripts.
 */
export async function openPlayer(browser, origin, { src, opts, validate, auth, hlsConfig, record, beforeLoad } = {}) {
  const context = await newViewerContext(browser);
  const page = await context.newPage();
  if (beforeLoad) await page.addInitScript(beforeLoad);
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  const q = new URLSearchParams({ src });
  if (opts) q.set("opts", JSON.stringify(opts));
  if (validate) q.set("validate", validate);
  if (auth) q.set("auth", auth);
  if (hlsConfig) q.set("hls", JSON.stringify(hlsConfig));
  if (record) q.set("record", "");
  await page.goto(`${origin}/test/player.html?${q}`);
  await page.waitForFunction(() => window.player && window.player.ready);
  await page.evaluate(() => window.player.ready);

  const handle = {
    page,
    context,
    consoleLines,
    /** The page's window.player.snapshot(): playback state, hls.js errors, swarmcast stats. */
    snapshot: () => page.evaluate(() => window.player.snapshot()),
    /** Swarmcast events recorded so far, optionally of one type. */
    events: (type) => page.evaluate((t) => window.player.events.filter((e) => !t || e.type === t), type),
    /** With `record`: the fragments hls.js received from index `from` on, hashed. */
    recorded: (from = 0) => page.evaluate((f) => window.player.recorded(f), from),
    /** Waits until the video has played `seconds` past where it is now. */
    async waitForProgress(seconds, timeoutMs = 30_000) {
      const start = (await handle.snapshot()).currentTime;
      await page.waitForFunction((target) => window.player.snapshot().currentTime >= target, start + seconds, {
        timeout: timeoutMs,
        polling: 250,
      });
    },
    async close() {
      await context.close().catch(() => {});
    },
  };
  return handle;
}

/**
 * Samples `player.snapshot().currentTime` every `stepMs` for `ms` and returns the
 * longest span in which it did not advance (a stall), in milliseconds.
 */
export async function longestStall(player, ms, stepMs = 250) {
  let last = (await player.snapshot()).currentTime;
  let since = Date.now();
  let worst = 0;
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(stepMs);
    const now = (await player.snapshot()).currentTime;
    if (now > last) {
      last = now;
      since = Date.now();
    }
    worst = Math.max(worst, Date.now() - since);
  }
  return worst;
}
