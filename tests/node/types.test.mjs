// The package's TypeScript declarations as a user compiles against them: the
// consumer in tests/node/types/consumer.ts, with hls.js's real types, must
// pass `tsc --strict` (declaration files checked too, no skipLibCheck) under
// ESM and CommonJS settings, with TypeScript 5 (JavaScript) and 7 (native).
// The `@ts-expect-error` lines in it check that the private constructor and
// test-only options stay out of the public type.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO } from "../support/servers.mjs";
import { HLS_JS, packTarball, scratchProject } from "./support/package.mjs";

const run = promisify(execFile);
const CONSUMER = path.join(REPO, "tests/node/types/consumer.ts");

// Package names in the scratch project: two TypeScript majors side by side.
const COMPILERS = { "TypeScript 5.9": "ts5", "TypeScript 7.0": "ts7" };

// Each setting checks one copy of the consumer; the extension decides its module kind under nodenext.
const SETTINGS = {
  "ESM (module nodenext, .mts)": { file: "consumer.mts", options: { module: "nodenext" } },
  "CommonJS (module nodenext, .cts)": { file: "consumer.cts", options: { module: "nodenext" } },
  "bundler (module preserve, moduleResolution bundler)": {
    file: "consumer.ts",
    options: { module: "preserve", moduleResolution: "bundler" },
  },
  // TypeScript 7 no longer has node10 resolution; 5.x users of old CommonJS setups still do.
  "CommonJS (module commonjs, moduleResolution node10)": {
    file: "consumer.ts",
    options: { module: "commonjs", moduleResolution: "node10" },
    only: "ts5",
  },
};

let tmp, project;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmcast-types-"));
  const { tarball } = await packTarball(tmp);
  const deps = { ts5: "npm:typescript@5.9.3", ts7: "npm:typescript@7.0.2", "hls.js": HLS_JS, swarmcast: `file:${tarball}` };
  // The project itself is CommonJS, so that plain .ts files are CommonJS under node10.
  project = await scratchProject(path.join(tmp, "app"), { deps, type: "commonjs" });
  for (const { file } of Object.values(SETTINGS)) fs.copyFileSync(CONSUMER, path.join(project, file));
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

for (const [compiler, pkg] of Object.entries(COMPILERS)) {
  for (const [name, { file, options, only }] of Object.entries(SETTINGS)) {
    if (only && only !== pkg) continue;
    test(`${compiler}, ${name}`, { timeout: 60_000 }, async () => {
      const config = `tsconfig.${pkg}.${file}.json`;
      const compilerOptions = { strict: true, noEmit: true, target: "es2022", lib: ["es2022", "dom"], types: [], ...options };
      fs.writeFileSync(path.join(project, config), JSON.stringify({ compilerOptions, files: [file] }));
      const tsc = path.join(project, "node_modules", pkg, "bin/tsc");
      const result = await run(process.execPath, [tsc, "-p", config], { cwd: project }).catch((e) => e);
      assert.equal(result.stdout + (result.stderr ?? ""), "", `tsc reports no error for ${file}`);
    });
  }
}
