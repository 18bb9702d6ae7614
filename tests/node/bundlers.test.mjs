// The npm package in every setup a web developer might use, with no config:
// Vite 6, 7 and 8 (dev server and build), webpack 5, esbuild, Rollup, a plain
// <script type="module"> with an import map, and the script-tag (IIFE) build.
// Each installs the `npm pack` tarball with a pinned bundler into a scratch
// project, builds or serves tests/node/bundlers/app/, and opens it in
// Chromium, where the page (app/check.js) plays a short VOD and must get a
// segment from the engine with no `error` event: proof the wasm instantiated.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO, freePort } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";
import { HLS_JS, packTarball, scratchProject, serveDir } from "./support/package.mjs";

const run = promisify(execFile);
const APP = path.join(REPO, "tests/node/bundlers/app");

// One scratch project per Vite major (they cannot share node_modules), one for the rest.
const PROJECTS = {
  vite6: { vite: "6.4.6" },
  vite7: { vite: "7.3.8" },
  vite8: { vite: "8.3.8" },
  tools: { webpack: "5.113.0", esbuild: "0.28.2", rollup: "4.68.8", "@rollup/plugin-node-resolve": "16.0.2" },
};

let tmp, browser, media;
const projects = {};

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmcast-bundlers-"));
  const { tarball } = await packTarball(tmp);
  const installs = Object.entries(PROJECTS).map(async ([name, tools]) => {
    const deps = { ...tools, "hls.js": HLS_JS, swarmcast: `file:${tarball}` };
    projects[name] = await scratchProject(path.join(tmp, name), { deps, files: fs.readdirSync(APP).map((f) => path.join(APP, f)) });
  });
  const vod = makeVod(path.join(tmp, "media"));
  await Promise.all([...installs, vod]);
  media = await serveDir(path.join(tmp, "media"));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  media?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Four seconds of 160x90 video in 2 s segments: enough for hls.js to ask for a segment. */
async function makeVod(dir) {
  fs.mkdirSync(dir);
  await run("ffmpeg", [
    ...["-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10", "-t", "4"],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "20"],
    ...["-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", path.join(dir, "index.m3u8")],
  ]);
}

/**
 * Opens `pageUrl` with the VOD (and `query`) and checks what app/check.js
 * reported; returns the URLs the page fetched.
 */
async function openApp(pageUrl, query = {}) {
  const page = await browser.browser.newPage();
  const pageErrors = [];
  const fetched = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  page.on("request", (r) => fetched.push(r.url()));
  try {
    await page.goto(`${pageUrl}?${new URLSearchParams({ src: `${media.url}/index.m3u8`, ...query })}`);
    await page.waitForFunction(() => window.result, null, { timeout: 30_000 });
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(pageErrors, [], "no uncaught error in the page");
    assert.deepEqual(result.errors, [], "no swarmcast error event");
    assert.ok(result.segment, "the engine delivered a segment");
    assert.equal(result.segment.source, "http");
    assert.ok(result.stats.segments.http >= 1 && result.stats.httpBytes > 0, "stats() answers from the engine");
    assert.equal(result.supported, true, "Swarmcast.isSupported()");
    return { fetched };
  } finally {
    await page.close();
  }
}

/** Runs a Vite dev server in `dir` until `use(url)` is done. */
async function withViteDev(dir, use) {
  const port = await freePort();
  const vite = path.join(dir, "node_modules/vite/bin/vite.js");
  const child = spawn(process.execPath, [vite, "--port", String(port), "--strictPort", "--host", "127.0.0.1"], {
    cwd: dir,
    stdio: ["ignore", "ignore", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    for (let i = 0; !(await fetch(url).then((r) => r.ok, () => false)); i++) {
      assert.ok(i < 300 && child.exitCode === null, `vite dev server did not start: ${stderr}`);
      await sleep(100);
    }
    return await use(url);
  } finally {
    process.kill(-child.pid, "SIGKILL");
  }
}

async function withServer(dir, use, options) {
  const server = await serveDir(dir, options);
  try {
    return await use(server.url);
  } finally {
    server.close();
  }
}

for (const major of [6, 7, 8]) {
  test(`Vite ${major} dev server (dependency pre-bundling)`, { timeout: 90_000 }, async () => {
    const { fetched } = await withViteDev(projects[`vite${major}`], (url) => openApp(`${url}/`));
    // The case that used to break: the package runs from Vite's pre-bundled copy.
    assert.ok(
      fetched.some((u) => /\/node_modules\/\.vite\/deps\/swarmcast\.js/.test(u)),
      `swarmcast came from .vite/deps: ${fetched.join(" ")}`,
    );
  });

  test(`Vite ${major} build`, { timeout: 90_000 }, async () => {
    const dir = projects[`vite${major}`];
    const { stderr } = await run(process.execPath, ["node_modules/vite/bin/vite.js", "build", "--outDir", "out", "--logLevel", "warn"], {
      cwd: dir,
    });
    // hls.js alone is over Vite's 500 kB chunk-size hint: that warning is expected.
    const warnings = stderr.split(/\n\s*\n/).filter((p) => p.trim() && !/chunks are larger than/.test(p));
    assert.deepEqual(warnings, [], "no other warnings");
    await withServer(path.join(dir, "out"), (url) => openApp(`${url}/index.html`));
  });
}

for (const bundler of ["webpack", "esbuild", "rollup"]) {
  test(`${bundler} build`, { timeout: 120_000 }, async () => {
    const dir = projects.tools;
    const { stderr } = await run(process.execPath, ["build.mjs", bundler], { cwd: dir });
    assert.equal(stderr, "", "no warnings");
    await withServer(dir, (url) => openApp(`${url}/out/${bundler}/index.html`));
  });
}

test(`<script type="module"> from a static folder, no bundler`, { timeout: 60_000 }, async () => {
  await withServer(projects.tools, (url) => openApp(`${url}/static.html`));
});

test("script-tag (IIFE) build: the global Swarmcast", { timeout: 60_000 }, async () => {
  await withServer(projects.tools, (url) => openApp(`${url}/iife.html`));
});

test("wasmUrl: the engine from a separate .wasm, slower than the playlist", { timeout: 60_000 }, async () => {
  // The page calls loadSource() before the engine is up; attach() must hold that call,
  // or the engine would never hear of this VOD's only playlist.
  const wasmUrl = "./node_modules/swarmcast/swarmcast_loader_bg.wasm";
  const { fetched } = await withServer(projects.tools, (url) => openApp(`${url}/static.html`, { wasmUrl }), { slow: /\.wasm$/ });
  assert.ok(fetched.some((u) => u.endsWith("/swarmcast_loader_bg.wasm")), "the .wasm was fetched");
});
