// Launches Debian's firefox-esr headless through puppeteer-core, which drives
// it over WebDriver BiDi, and opens the test player page in it. Firefox
// gathers ICE candidates only with a non-loopback interface: run its tests
// under `scripts/in-netns.sh --veth` (see shared/README.md).
import puppeteer from "puppeteer-core";
import { loadPlayer } from "./player.mjs";

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? "/usr/bin/firefox-esr";

const PREFS = {
  "media.autoplay.default": 0, // allowed, with or without sound
  "media.navigator.permission.disabled": true,
  // Host candidates as addresses, not mDNS names, like Chromium's with its media permission.
  "media.peerconnection.ice.obfuscate_host_addresses": false,
};

/** A headless Firefox; `close()` is safe to call twice. */
export async function launchFirefox() {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: PREFS,
  });
  const close = async () => {
    if (browser.connected) await browser.close().catch(() => {});
  };
  return { browser, close };
}

/** The test player page (options as `openPlayer`'s in player.mjs) in a fresh Firefox context. */
export async function openFirefoxPlayer(browser, origin, options) {
  const context = await browser.createBrowserContext();
  return loadPlayer(context, await context.newPage(), origin, options);
}
