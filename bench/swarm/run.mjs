#!/usr/bin/env node
// The swarm benchmark: plain hls.js, P2P Media Loader v2 and swarmcast, each
// played by N staggered headless viewers of the same stream against the same
// origin and tracker, in one run. Prints one table and writes the JSON,
// Markdown and PNG chart. Run inside scripts/in-netns.sh (see README).
//
//   node bench/swarm/run.mjs [--scenario live|abr] [--n 6] [--seconds 120]
//        [--stagger 3] [--engines hls,p2pml,swarmcast] [--out bench/out] [--publish]
//
// live (default): the live test card. abr: a three-rendition VOD, viewers
// pinned to different levels or switching (abr.mjs), every fragment checked
// against the origin's bytes (verify.mjs).
// --publish also copies the results to bench/swarm/results/{latest,abr-latest}.{json,md,png}.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { REPO, STANDARD_MOUNTS, startStack } from "../../tests/support/servers.mjs";
import { runScenario } from "./scenario.mjs";
import { chartTarget, markdown, summarize, targets } from "./report.mjs";
import { writeChartPng } from "./chart.mjs";
import { abrVod, viewerParams } from "./abr.mjs";
import { checkFragments } from "./verify.mjs";

const ENGINES = ["hls", "p2pml", "swarmcast"];
const SCENARIOS = ["live", "abr"];

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
    scenario: { type: "string", default: "live" },
    n: { type: "string", default: "6" },
    seconds: { type: "string", default: "120" },
    stagger: { type: "string", default: "3" },
    engines: { type: "string", default: ENGINES.join(",") },
    out: { type: "string", default: path.join(REPO, "bench/out") },
    publish: { type: "boolean", default: false },
  },
});
const { scenario } = args;
if (!SCENARIOS.includes(scenario)) throw new Error(`unknown scenario ${scenario}; choose from ${SCENARIOS}`);
const opts = { scenario, n: Number(args.n), seconds: Number(args.seconds), staggerS: Number(args.stagger) };
const engines = args.engines.split(",");
for (const e of engines) if (!ENGINES.includes(e)) throw new Error(`unknown engine ${e}; choose from ${ENGINES}`);

const abr = scenario === "abr";
let stack;
let src;
if (abr) {
  console.error(`[swarm] abr: encoding (or reusing) the VOD test card`);
  const vod = await abrVod(args.out, opts.seconds);
  stack = await startStack({ testcard: false, mounts: { ...BENCH_MOUNTS, "/vod": vod } });
  src = `${stack.origin.url}/vod/master.m3u8`;
} else {
  stack = await startStack({ mounts: BENCH_MOUNTS });
  src = stack.origin.liveUrl;
}
const rows = [];
const raw = [];
try {
  for (const engine of engines) {
    console.error(`[swarm] ${scenario}, ${engine}: ${opts.n} viewers for ${opts.seconds} s`);
    const result = await runScenario({ engine, stack, src, ...opts, ...(abr && { viewerParams }) });
    raw.push(result);
    // The ABR scenario's VOD stays on the origin, so every fragment can be compared with it.
    rows.push({ ...summarize(result, opts), ...(abr && (await checkFragments(result.viewers))) });
  }
} finally {
  await stack.stop();
}

const report = markdown(rows, opts);
const name = abr ? "swarm-abr" : "swarm";
await mkdir(args.out, { recursive: true });
const files = Object.fromEntries(["json", "md", "png"].map((ext) => [ext, path.join(args.out, `${name}.${ext}`)]));
const summary = { date: new Date().toISOString(), ...opts, engines, rows, targets: targets(rows, opts) };
await writeFile(files.json, JSON.stringify({ ...summary, raw }, null, 1));
await writeFile(files.md, report);
await writeChartPng(files.png, rows, { ...opts, target: chartTarget(rows, opts) });
if (args.publish) {
  const dir = path.join(REPO, "bench/swarm/results");
  const published = abr ? "abr-latest" : "latest";
  await mkdir(dir, { recursive: true });
  // The committed copy leaves out the per-second samples of every viewer.
  await writeFile(path.join(dir, `${published}.json`), JSON.stringify(summary, null, 1));
  await copyFile(files.md, path.join(dir, `${published}.md`));
  await copyFile(files.png, path.join(dir, `${published}.png`));
}
console.log(report);
console.error(`[swarm] wrote ${Object.values(files).join(", ")}`);
