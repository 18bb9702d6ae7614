// Loads the real bittorrent-tracker Client (the one WebTorrent and P2P Media
// Loader use) in node without a WebRTC implementation. The package imports
// webrtc-polyfill, whose native module (node-datachannel) is not built here, so
// esbuild bundles the client with that import replaced by an empty stub. The
// client then announces and scrapes normally as long as it generates no offers
// (numwant 0) and is handed a truthy `wrtc` so it keeps its ws:// trackers.
// The client shares one WebSocket per tracker URL among all its instances in a
// module; each of the `browsers` classes returned is a separate module instance,
// so clients made from different ones use separate sockets, like two browsers.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { build } from 'esbuild'

export async function loadReferenceClient (browsers = 1) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'swarmcast-btclient-'))
  const outfile = path.join(dir, 'client.mjs')
  try {
    await build({
      stdin: { contents: "export { default } from 'bittorrent-tracker/client'", resolveDir: process.cwd() },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile,
      logLevel: 'error',
      // ESM bundles of CommonJS dependencies need a require() for node built-ins.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      plugins: [{
        name: 'no-webrtc',
        setup (b) {
          b.onResolve({ filter: /^webrtc-polyfill$/ }, () => ({ path: 'webrtc-polyfill', namespace: 'stub' }))
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
            contents: 'export const RTCPeerConnection = undefined, RTCSessionDescription = undefined, RTCIceCandidate = undefined',
            loader: 'js'
          }))
        }
      }]
    })
    const instances = []
    for (let i = 0; i < browsers; i++) instances.push((await import(`${pathToFileURL(outfile)}?browser=${i}`)).default)
    return instances
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
