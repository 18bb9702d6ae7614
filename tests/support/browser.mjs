// Launches headless Chromium through playwright-core with the flags that make
// WebRTC connect over loopback inside the tests' private network namespace
// (see shared/README.md), and closes it even when a test fails.
import { chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// Without both of these Chromium gathers no ICE candidate on a loopback-only
// host. They also make it offer plain addresses rather than mDNS (`.local`)
// names, which no browser on a real network does.
const LOOPBACK_WEBRTC_ARGS = ["--allow-loopback-in-peer-connection", "--use-fake-ui-for-media-stream"];

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--autoplay-policy=no-user-gesture-required",
  ...LOOPBACK_WEBRTC_ARGS,
  // Background pages must keep playing and keep their timers running.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/**
 * A headless Chromium; `close()` is safe to call twice. `asOnRealNetwork`
 * leaves out the loopback WebRTC flags, so that pages (in contexts without a
 * media permission) offer only mDNS host candidates, as browsers do on real
 * networks; it needs a namespace with a non-loopback interface
 * (`scripts/in-netns.sh --veth`).
 */
export async function launchBrowser({ args = [], asOnRealNetwork = false } = {}) {
  const base = asOnRealNetwork ? CHROMIUM_ARGS.filter((a) => !LOOPBACK_WEBRTC_ARGS.includes(a)) : CHROMIUM_ARGS;
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...base, ...args],
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
