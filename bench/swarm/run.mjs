#!/usr/bin/env node
// The swarm benchmark: plain hls.js, P2P Media Loader v2 and swarmcast, each
// played by N staggered headless viewers of the same live test card against
// the same origin and tracker, in one run. Prints one table and writes the
// JSON, Markdown and PNG chart. Run inside scripts/in-netns.sh (see README).
//
//   node bench/swarm/run.mjs [--n 6] [--seconds 120] [--stagger 3]
//        [--engines hls,p2pml,swarmcast] [--out bench/out] [--publish]
//
// --publish also copies the results to bench/swarm/results/latest.{json,md,png}.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { REPO, STANDARD_MOUNTS, startStack } from "../../tests/support/servers.mjs";
import { runScenario } from "./scenario.mjs";
import { markdown, summarize, targets } from "./report.mjs";
import { writeChartPng } from "./chart.mjs";

const ENGINES = ["hls", "p2pml", "swarmcast"];

/** The origin serves the demo's modules, the viewer page and P2P Media Loader's dist bundles. */
const BENCH_MOUNTS = {
  ...STANDARD_MOUNTS,
  "/bench": path.join(REPO, "bench/swarm/page"),
  "/vendor/p2p-media-loader-core": path.join(REPO, "node_modules/p2p-media-loader-core/dist"),
  "/vendor/p2p-media-loader-hlsjs": path.join(REPO, "node_modules/p2p-media-loader-hlsjs/dist"),
  "/": path.join(REPO, "demo"),
};

const { values: args } = parseArgs({
  options: {
    n: { type: "string", default: "6" },
    seconds: { type: "string", default: "120" },
    stagger: { type: "string", default: "3" },
    engines: { type: "string", default: ENGINES.join(",") },
    out: { type: "string", default: path.join(REPO, "bench/out") },
    publish: { type: "boolean", default: false },
  },
});
const opts = { n: Number(args.n), seconds: Number(args.seconds), staggerS: Number(args.stagger) };
const engines = args.engines.split(",");
for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e}; choose from ${ENGINES}`);

const stack = await startStack({ mounts: BENCH_MOUNTS });
const rows = [];
const raw = [];
try {
  for (const engine of engines) {
    console.error(`[swarm] ${engine}: ${opts.n} viewers for ${opts.seconds} s`);
    const result = await runScenario({ engine, stack, ...opts });
    raw.push(result);
    rows.push(summarize(result, opts));
  }
} finally {
  await stack.stop();
}

const report = markdown(rows, opts);
await mkdir(args.out, { recursive: true });
const files = { json: path.join(args.out, "swarm.json"), md: path.join(args.out, "swarm.md"), png: path.join(args.out, "swarm.png") };
const summary = { date: new Date().toISOString(), ...opts, engines, rows, targets: targets(rows, opts.n) };
await writeFile(files.json, JSON.stringify({ ...summary, raw }, null, 1));
await writeFile(files.md, report);
await writeChartPng(files.png, rows, opts);
if (args.publish) {
  const dir = path.join(REPO, "bench/swarm/results");
  await mkdir(dir, { recursive: true });
  // The committed copy leaves out the per-second samples of every viewer.
  await writeFile(path.join(dir, "latest.json"), JSON.stringify(summary, null, 1));
  await copyFile(files.md, path.join(dir, "latest.md"));
  await copyFile(files.png, path.join(dir, "latest.png"));
}
console.log(report);
console.error(`[swarm] wrote ${Object.values(files).join(", ")}`);
