// The npm package as a user gets it: `npm pack` yields a tarball with the
// ESM entry, the wasm and the TypeScript declarations; a fresh page that
// imports "swarmcast" and "hls.js" bundles with plain esbuild (no plugins, no
// Node polyfills) and, served as static files, attaches to hls.js in Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import * as esbuild from "esbuild";
import { REPO } from "../support/servers.mjs";
import { launchBrowser } from "../support/browser.mjs";

let tmp;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmcast-pack-"));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Packs the repo and installs the tarball into a fresh app's node_modules. */
function packAndInstall() {
  // dist/ is built by `make wasm` beforehand; skip the prepack rebuild here.
  const out = JSON.parse(execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", tmp], { cwd: REPO }));
  const tarball = path.join(tmp, out[0].filename);
  const app = path.join(tmp, "app");
  const pkgDir = path.join(app, "node_modules/swarmcast");
  fs.mkdirSync(pkgDir, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "-C", pkgDir, "--strip-components=1"]);
  // hls.js is a peer dependency: the app brings its own.
  fs.symlinkSync(path.join(REPO, "node_modules/hls.js"), path.join(app, "node_modules/hls.js"));
  return { files: out[0].files.map((f) => f.path).sort(), app, pkgDir };
}

test("npm pack ships ESM, wasm and types, and a fresh page bundles and runs with no polyfills", { timeout: 120_000 }, async () => {
  const { files, app, pkgDir } = packAndInstall();
  for (const f of ["dist/swarmcast.js", "dist/swarmcast.d.ts", "dist/swarmcast_loader_bg.wasm", "package.json"]) {
    assert.ok(files.includes(f), `tarball has ${f}: ${files}`);
  }
  assert.ok(files.every((f) => f.startsWith("dist/") || /^(package\.json|README\.md|LICENSE.*)$/.test(f)), `only dist/ is shipped: ${files}`);
  const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  assert.ok(manifest.peerDependencies["hls.js"], "hls.js is a peer dependency");
  assert.equal(manifest.dependencies, undefined, "no runtime dependencies");

  fs.writeFileSync(
    path.join(app, "main.js"),
    `import Hls from "hls.js";
     import { Swarmcast } from "swarmcast";
     const hls = new Hls();
     window.result = Swarmcast.attach(hls, { trackers: [] }).then((p2p) => {
       const errors = [];
       p2p.addEventListener("error", (e) => errors.push(e.detail));
       return new Promise((r) => setTimeout(r, 200)).then(() => ({ errors, stats: p2p.stats() }));
     });`,
  );
  const outdir = path.join(app, "www");
  const built = await esbuild.build({
    entryPoints: [path.join(app, "main.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    outdir,
    absWorkingDir: app,
    metafile: true,
    logLevel: "silent",
  });
  assert.deepEqual(built.errors, []);
  assert.deepEqual(built.warnings, [], "no warnings (e.g. about Node built-ins)");
  const inputs = Object.keys(built.metafile.inputs);
  assert.ok(inputs.some((i) => i.includes("node_modules/swarmcast/dist/swarmcast.js")), `bundled swarmcast: ${inputs}`);
  assert.ok(!inputs.some((i) => /(^|\/)(buffer|events|process|stream|util|crypto)\//.test(i)), `no Node polyfill: ${inputs}`);
  // The wasm sits next to the bundle, where `new URL(..., import.meta.url)` finds it.
  fs.copyFileSync(path.join(pkgDir, "dist/swarmcast_loader_bg.wasm"), path.join(outdir, "swarmcast_loader_bg.wasm"));
  fs.writeFileSync(path.join(outdir, "index.html"), `<!doctype html><script type="module" src="main.js"></script>`);

  const server = http.createServer((req, res) => {
    const file = path.join(outdir, path.basename(new URL(req.url, "http://x").pathname) || "index.html");
    const type = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" }[path.extname(file)];
    fs.readFile(file, (err, data) => (err ? res.writeHead(404).end() : res.writeHead(200, { "content-type": type }).end(data)));
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const browser = await launchBrowser();
  try {
    const page = await browser.browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/index.html`);
    await page.waitForFunction(() => window.result);
    const result = await page.evaluate(() => window.result);
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(result.errors, [], "the wasm loaded and the engine started");
    assert.equal(result.stats.p2pBytes, 0);
  } finally {
    await browser.close();
    server.close();
  }
});
