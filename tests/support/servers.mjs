// Starts the real swarmcast origin and tracker binaries on free loopback ports
// for tests and benchmarks: waits until they answer, and always stops them
// (with every child they spawned, e.g. ffmpeg) even when a test fails.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
/** Where the binaries are: `make test` points this at the debug builds. */
export const BIN_DIR = process.env.SWARMCAST_BIN_DIR ?? path.join(REPO, "target/release");

/** Directories every test page needs: the built loader, hls.js and the test player page. */
export const STANDARD_MOUNTS = {
  "/dist": path.join(REPO, "dist"),
  "/vendor/hls.js": path.join(REPO, "node_modules/hls.js/dist"),
  "/test": path.join(REPO, "tests/support/www"),
};

const running = new Set();
// Last resort: a crashed or interrupted test run must not leave servers behind.
process.on("exit", () => running.forEach((p) => killGroup(p, "SIGKILL")));
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => process.exit(130));
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal); // the whole process group, ffmpeg included
  } catch {
    // already gone
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.listen(0, "127.0.0.1", resolve).on("error", reject));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Runs one binary from BIN_DIR in its own process group. Resolves once
 * `ready()` succeeds; rejects (after killing it) if it exits or times out first.
 */
async function startBinary(name, args, ready, { timeoutMs = 30_000, quiet = !process.env.SWARMCAST_TEST_LOGS } = {}) {
  const child = spawn(path.join(BIN_DIR, name), args, {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", quiet ? "ignore" : "inherit", "pipe"],
  });
  running.add(child);
  // A server left running by a failed test must not keep Node alive; the exit
  // hook above kills it.
  child.unref();
  child.stderr.unref();
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr = (stderr + d).slice(-4000);
    if (!quiet) process.stderr.write(d);
  });
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));
  child.once("error", () => {}); // surfaced through `exited`

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child, "SIGTERM");
    const t = setTimeout(() => killGroup(child, "SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
    killGroup(child, "SIGKILL"); // stragglers in the group
  };

  const deadline = Date.now() + timeoutMs;
  let done = false;
  exited.then(() => (done = true));
  for (;;) {
    if (done) {
      const { code, signal } = await exited;
      throw new Error(`${name} exited early (code ${code}, signal ${signal}): ${stderr}`);
    }
    if (await ready().catch(() => false)) return { child, stop, stderr: () => stderr };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} not ready after ${timeoutMs} ms: ${stderr}`);
    }
    await sleep(100);
  }
}

const tcpOpen = (port) =>
  new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

/** Media segments listed in a media playlist (not the master). */
export async function playlistSegments(url) {
  const res = await fetch(url);
  if (!res.ok) return [];
  return (await res.text()).split("\n").filter((l) => l && !l.startsWith("#"));
}

/**
 * Starts swarmcast-origin. Options: `testcard` (serve the live test card at
 * /live/), `root` (a directory served at /), `mounts` ({prefix: dir}; defaults to
 * STANDARD_MOUNTS), `liveSegments` (with testcard: wait until the live media
 * playlist lists this many segments, so players start on a real window).
 */
export async function startOrigin({ testcard = false, root, mounts = STANDARD_MOUNTS, liveSegments = 3, extraArgs = [], timeoutMs } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = ["--listen", `127.0.0.1:${port}`];
  if (testcard) args.push("--testcard");
  if (root) args.push("--root", root);
  for (const [prefix, dir] of Object.entries(mounts)) args.push("--mount", `${prefix}=${dir}`);
  args.push(...extraArgs);
  const ready = testcard
    ? async () => (await liveMediaPlaylist(url)) && (await playlistSegments(await liveMediaPlaylist(url))).length >= liveSegments
    : () => tcpOpen(port);
  const proc = await startBinary("swarmcast-origin", args, ready, { timeoutMs: timeoutMs ?? (testcard ? 60_000 : 15_000) });
  return { ...proc, port, url, liveUrl: `${url}/live/master.m3u8` };
}

/** URL of the first media playlist of `master` (itself if it is one), or null while there is none. */
export async function mediaPlaylistOf(master) {
  const res = await fetch(master);
  if (!res.ok) return null;
  const text = await res.text();
  if (text.includes("#EXTINF")) return master;
  const first = text.split("\n").find((l) => l && !l.startsWith("#"));
  return first ? new URL(first, master).href : null;
}

const liveMediaPlaylist = (origin) => mediaPlaylistOf(`${origin}/live/master.m3u8`);

/** Starts swarmcast-tracker; `url` is its ws:// announce URL. */
export async function startTracker({ extraArgs = [] } = {}) {
  const port = await freePort();
  const proc = await startBinary("swarmcast-tracker", ["--listen", `127.0.0.1:${port}`, ...extraArgs], () => tcpOpen(port));
  return { ...proc, port, url: `ws://127.0.0.1:${port}` };
}

/** Runs swarmcast-testcard to write a finished VOD (optionally byte-range) into `out`. */
export async function makeVod(out, { seconds = 20, byterange = false, extraArgs = [] } = {}) {
  const args = ["--out", out, "--vod", String(seconds), ...(byterange ? ["--byterange"] : []), ...extraArgs];
  const child = spawn(path.join(BIN_DIR, "swarmcast-testcard"), args, { cwd: REPO, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr = (stderr + d).slice(-4000)));
  const code = await new Promise((resolve, reject) => child.once("exit", resolve).once("error", reject));
  if (code !== 0) throw new Error(`swarmcast-testcard failed (${code}): ${stderr}`);
}

/**
 * The usual pair: the origin (with the live test card unless `testcard: false`)
 * and a tracker. If one fails to start, the other is stopped before rethrowing.
 */
export async function startStack({ testcard = true, ...originOptions } = {}) {
  const [o, t] = await Promise.allSettled([startOrigin({ testcard, ...originOptions }), startTracker()]);
  const stop = () => Promise.all([o.value?.stop(), t.value?.stop()]);
  if (o.status === "rejected" || t.status === "rejected") {
    await stop();
    throw o.reason ?? t.reason;
  }
  return { origin: o.value, tracker: t.value, stop };
}

/** A finished VOD (see `makeVod` for options) in a new temporary folder; `remove()` deletes it. */
export async function makeTempVod(vodOptions) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmcast-vod-"));
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    await makeVod(dir, vodOptions);
  } catch (e) {
    remove();
    throw e;
  }
  return { dir, remove };
}

/**
 * A finished VOD (see `makeVod` for options) written to a temporary folder
 * and served by a stack without the live test card. `stop()` also removes
 * the folder; `dir` is where the VOD is.
 */
export async function startVodStack(vodOptions, originOptions = {}) {
  const { dir, remove } = await makeTempVod(vodOptions);
  try {
    const stack = await startStack({ ...originOptions, testcard: false, root: dir });
    return { ...stack, dir, stop: () => stack.stop().finally(remove) };
  } catch (e) {
    remove();
    throw e;
  }
}

/**
 * Starts swarmcast-peer (`role` "seeder" or "viewer", `count` peers in the
 * process) on the live stream `stream` with tracker `tracker`, WebRTC bound
 * to `udpBind` (loopback unless told; null: the peer's default, every
 * interface but loopback). Ready once /health answers; `metrics()` returns
 * its Prometheus samples (see `parseProm`; `promSum` adds up a metric's series).
 */
export async function startPeer(role, { stream, tracker, count = 1, udpBind = "127.0.0.1", extraArgs = [] }) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [role, "--stream", stream, "--tracker", tracker, "--count", String(count)];
  args.push("--listen", `127.0.0.1:${port}`, ...(udpBind ? ["--udp-bind", udpBind] : []), ...extraArgs);
  const ready = async () => (await fetch(`${url}/health`)).ok;
  const proc = await startBinary("swarmcast-peer", args, ready);
  const metrics = async () => parseProm(await (await fetch(`${url}/metrics`)).text());
  return { ...proc, url, metrics };
}

/** The samples of a Prometheus text exposition, as `{ 'name{labels}': value }`. */
export function parseProm(text) {
  const samples = {};
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*(?:\{[^}]*\})?) (\S+)/.exec(line);
    if (m) samples[m[1]] = Number(m[2]);
  }
  return samples;
}

/** The sum of metric `name`'s series (of those whose labels include `label`, e.g. 'source="p2p"'). */
export function promSum(samples, name, label = "") {
  return Object.entries(samples)
    .filter(([k]) => (k === name || k.startsWith(`${name}{`)) && k.includes(label))
    .reduce((a, [, v]) => a + v, 0);
}

/** Samples of the origin's /metrics. */
export async function originMetrics(origin) {
  return parseProm(await (await fetch(`${origin.url}/metrics`)).text());
}
