// Launches headless Chromium through playwright-core with the flags that make
// WebRTC connect over loopback inside the tests' private network namespace
// (see shared/README.md), and closes it even when a test fails.
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
  // Without both of these Chromium gathers no ICE candidate on a loopback-only host.
  "--allow-loopback-in-peer-connection",
  "--use-fake-ui-for-media-stream",
  // Background pages must keep playing and keep their timers running.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/** A headless Chromium; `close()` is safe to call twice. */
export async function launchBrowser({ args = [] } = {}) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
  const close = async () => {
    if (browser.isConnected()) await browser.close().catch(() => {});
  };
  return { browser, close };
}

/** A fresh browser context (own cache and storage, so it acts as a separate viewer). */
export async function newViewerContext(browser) {
  const context = await browser.newContext();
  await context.grantPermissions(["microphone", "camera"]);
  return context;
}
