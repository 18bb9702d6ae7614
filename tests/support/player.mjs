// Opens the test player page (tests/support/www/player.html, served by the
// origin at /test/) in its own browser context and gives tests a small handle
// to read its playback state and swarmcast stats.
import { newViewerContext } from "./browser.mjs";
import { setTimeout as sleep } from "node:timers/promises";

/** The test player page's URL for these options (see `openPlayer`). */
function playerUrl(origin, { src, opts, validate, auth, hlsConfig, record } = {}) {
  const q = new URLSearchParams({ src });
  if (opts) q.set("opts", JSON.stringify(opts));
  if (validate) q.set("validate", validate);
  if (auth) q.set("auth", auth);
  if (hlsConfig) q.set("hls", JSON.stringify(hlsConfig));
  if (record) q.set("record", "");
  return `${origin}/test/player.html?${q}`;
}

/**
 * Opens a page playing `src` in Chromium. `opts` are Swarmcast.attach options
 * (omit them for plain hls.js); `validate` names a validateSegment hook defined
 * in player.js; `hlsConfig` overrides hls.js config; `record` hashes every
 * fragment hls.js receives (see `recorded`); `beforeLoad` is a function run in
 * the page before any of its scripts.
 */
export async function openPlayer(browser, origin, { beforeLoad, ...options } = {}) {
  const context = await newViewerContext(browser);
  const page = await context.newPage();
  if (beforeLoad) await page.addInitScript(beforeLoad);
  return loadPlayer(context, page, origin, options);
}

/**
 * Loads the test player page (options as `openPlayer`'s) into `page`, a new
 * page of `context`, and returns a handle on it once its player is ready. It
 * uses only `goto`, `on` and `evaluate`, so Playwright's and Puppeteer's pages
 * both work.
 */
export async function loadPlayer(context, page, origin, options) {
  const consoleLines = [];
  page.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(playerUrl(origin, options));
  await until(() => page.evaluate(() => Boolean(window.player?.ready)), 15_000, "the player page to load");
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
      const target = (await handle.snapshot()).currentTime + seconds;
      await until(async () => (await handle.snapshot()).currentTime >= target, timeoutMs, `${seconds} s of playback`);
    },
    async close() {
      await context.close().catch(() => {});
    },
  };
  return handle;
}

/** Polls `condition` every 250 ms until it is true; throws after `timeoutMs`, naming what it waited for. */
export async function until(condition, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
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
