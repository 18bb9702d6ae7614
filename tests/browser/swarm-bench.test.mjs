// A short run of the swarm benchmark (bench/swarm/run.mjs: 3 swarmcast viewers
// for 20 s): the command completes, every figure of the report is collected,
// and bytes flow between peers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { REPO } from "../support/servers.mjs";

test("short swarm benchmark collects its numbers and P2P bytes flow", { timeout: 150_000 }, async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), "swarm-bench-"));
  t.after(() => rm(out, { recursive: true, force: true }));
  const args = ["bench/swarm/run.mjs", "--n", "3", "--seconds", "20", "--engines", "swarmcast", "--out", out];
  const { stdout } = await promisify(execFile)("node", args, { cwd: REPO, timeout: 140_000 });
  for (const line of stdout.trim().split("\n")) t.diagnostic(line);

  const { rows, raw } = JSON.parse(await readFile(path.join(out, "swarm.json"), "utf8"));
  assert.equal(rows.length, 1);
  const [row] = rows;
  assert.equal(row.engine, "swarmcast");
  assert.equal(row.viewers, 3);
  assert.equal(row.started, 3, "every viewer rendered a first frame");
  assert.ok(row.startupMs > 0, "startup measured");
  assert.ok(row.latencyS > 0 && row.segmentsBehind > 0, "latency behind live measured");
  for (const key of ["stalls", "stallS", "hlsErrors", "amplification", "uniqueSegmentBytes"]) {
    assert.equal(typeof row[key], "number", `${key} collected`);
  }
  assert.equal(row.fatalErrors, 0, "no fatal hls.js error");
  assert.ok(row.httpBytes > 0, "the first viewer fetched over HTTP");
  assert.ok(row.p2pBytes > 0, "P2P bytes flow");
  assert.ok(row.uploadBytes > 0, "viewers upload to each other");
  assert.ok(row.ratioOverTime.length > 0, "P2P ratio over time sampled");
  assert.ok(raw[0].viewers.every((v) => v.samples.length > 0), "every viewer sampled");
  assert.ok((await stat(path.join(out, "swarm.png"))).size > 5000, "chart PNG written");
  assert.match(stdout, /\| swarmcast \|/, "table printed");
});
