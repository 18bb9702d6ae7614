// The npm package as users get it, for the package, bundler and type tests:
// `npm pack` of dist/ (built by `make wasm`), scratch projects that install
// the tarball with pinned tools from the registry, and a static file server.
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { REPO } from "../../support/servers.mjs";

const run = promisify(execFile);

export const HLS_JS = "1.7.4"; // the version the rest of the tests use

/** Packs dist/ into `dir`; returns the tarball's path and its file list. */
export async function packTarball(dir) {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dir, path.join(REPO, "dist")]);
  const [info] = JSON.parse(stdout);
  return { tarball: path.join(dir, info.filename), files: info.files.map((f) => f.path).sort() };
}

/**
 * A fresh project in `dir` with `files` copied in and `deps` ({name: version
 * or file: spec}) installed. npm's own cache makes reruns fast; a fresh
 * machine downloads once.
 */
export async function scratchProject(dir, { deps, files = [], type = "module" }) {
  fs.mkdirSync(dir, { recursive: true });
  for (const f of files) fs.cpSync(f, path.join(dir, path.basename(f)), { recursive: true });
  const manifest = { name: path.basename(dir), private: true, type, dependencies: deps };
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  await run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], {
    cwd: dir,
    maxBuffer: 16 << 20,
  });
  return dir;
}

const TYPES = {
  ".html": "text/html",
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".wasm": "application/wasm",
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
};

/**
 * Serves `root` on a free 127.0.0.1 port, with CORS, as a CDN or a static
 * host would; files matching `slow` are answered one second late.
 */
export async function serveDir(root, { slow = null } = {}) {
  const server = http.createServer(async (req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!file.startsWith(root)) return res.writeHead(403).end();
    if (slow?.test(file)) await sleep(1000);
    fs.readFile(file, (err, data) => {
      if (err) return res.writeHead(404).end();
      const type = TYPES[path.extname(file)] ?? "application/octet-stream";
      res.writeHead(200, { "content-type": type, "access-control-allow-origin": "*" }).end(data);
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
}
