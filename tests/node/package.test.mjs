// The npm tarball as the registry would publish it: `npm pack dist` ships
// the ES module, the script-tag build, the wasm, the types, the package's own
// README and both licences, and nothing else; the manifest says where the
// project lives and which browsers it needs; the README's links work on the
// registry; and the module can be imported and required in Node (server-side
// rendering) without touching browser APIs. Bundlers: bundlers.test.mjs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { packTarball } from "./support/package.mjs";

let tmp, files, app, pkgDir;
before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmcast-pack-"));
  const packed = await packTarball(tmp);
  files = packed.files;
  // Installed by hand: this package has no dependencies to resolve.
  app = path.join(tmp, "app");
  pkgDir = path.join(app, "node_modules/swarmcast");
  fs.mkdirSync(pkgDir, { recursive: true });
  execFileSync("tar", ["-xzf", packed.tarball, "-C", pkgDir, "--strip-components=1"]);
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const read = (f) => fs.readFileSync(path.join(pkgDir, f), "utf8");

test("the tarball holds the package's files and no others", () => {
  assert.deepEqual(files, [
    "LICENSE-APACHE",
    "LICENSE-MIT",
    "README.md",
    "package.json",
    "swarmcast.d.ts",
    "swarmcast.iife.js",
    "swarmcast.js",
    "swarmcast_loader_bg.wasm",
  ]);
});

test("the manifest: entry points, licence, project links, browsers, no dependencies", () => {
  const m = JSON.parse(read("package.json"));
  assert.equal(m.exports["."].types, "./swarmcast.d.ts");
  assert.equal(m.exports["."].default, "./swarmcast.js");
  assert.equal(m.license, "MIT OR Apache-2.0");
  assert.ok(m.repository?.url && m.homepage && m.bugs, "repository, homepage and bugs");
  assert.ok(m.browserslist?.length > 0, "browserslist");
  assert.ok(m.peerDependencies["hls.js"], "hls.js is a peer dependency");
  assert.equal(m.dependencies, undefined, "no runtime dependencies");
  assert.match(read("LICENSE-MIT"), /MIT License/);
  assert.match(read("LICENSE-APACHE"), /Apache License\s+Version 2\.0/);
});

test("the README is the package's, and its links work on the registry", () => {
  const readme = read("README.md");
  assert.match(readme, /npm install swarmcast/);
  assert.doesNotMatch(readme, /make demo|cargo /, "not the project's README");
  for (const [, target] of readme.matchAll(/\]\(([^)]+)\)/g)) {
    assert.ok(/^https:\/\//.test(target) || files.includes(target), `link ${target} leads somewhere`);
  }
});

test("the shipped JS has no asset for a bundler to resolve", () => {
  for (const f of ["swarmcast.js", "swarmcast.iife.js"]) {
    assert.doesNotMatch(read(f), /import\.meta|\.wasm\b/, `${f} names no .wasm URL`);
  }
});

test("Node can import and require it (server-side rendering) without browser APIs", () => {
  const probe = `({ Swarmcast }) => console.log(typeof Swarmcast.attach, Swarmcast.isSupported())`;
  const node = (...args) => String(execFileSync(process.execPath, args, { cwd: app, stdio: ["ignore", "pipe", "ignore"] })).trim();
  assert.equal(node("--input-type=module", "-e", `import("swarmcast").then(${probe})`), "function false");
  // Node 20.19+ and 22.12+ can require() an ES module (Node 20 warns that it is experimental).
  assert.equal(node("-e", `(${probe})(require("swarmcast"))`), "function false");
});
