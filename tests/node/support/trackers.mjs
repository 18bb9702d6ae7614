// Starts the trackers the node tests talk to, each on 127.0.0.1 with a free port:
// the reference (bittorrent-tracker's Server, WebSocket only) in this process,
// and swarmcast-tracker (from $SWARMCAST_BIN_DIR, else target/release) as a
// child process. Both return { name, url, close() } so a test can run one
// script against either.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import Server from 'bittorrent-tracker/server'
import { BIN_DIR } from '../../support/servers.mjs'

export const TRACKER_BIN = path.join(BIN_DIR, 'swarmcast-tracker')

export async function freePort () {
  const srv = net.createServer()
  await new Promise((resolve, reject) => srv.listen(0, '127.0.0.1', resolve).on('error', reject))
  const { port } = srv.address()
  await new Promise(resolve => srv.close(resolve))
  return port
}

export async function startReference () {
  const server = new Server({ http: false, udp: false, ws: true, stats: false })
  // The reference emits 'warning' for every bad request; those are expected here.
  server.on('warning', () => {})
  const port = await freePort()
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  return {
    name: 'bittorrent-tracker',
    url: `ws://127.0.0.1:${port}`,
    close: () => new Promise(resolve => server.close(() => resolve()))
  }
}

async function waitForPort (port, child, deadlineMs) {
  const until = Date.now() + deadlineMs
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`swarmcast-tracker exited with ${child.exitCode}`)
    const ok = await new Promise(resolve => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true) })
      s.on('error', () => resolve(false))
    })
    if (ok) return
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  throw new Error(`swarmcast-tracker did not listen on ${port} within ${deadlineMs} ms`)
}

export async function startSwarmcast (extraArgs = []) {
  if (!existsSync(TRACKER_BIN)) {
    throw new Error(`${TRACKER_BIN} is missing: run \`cargo build -p swarmcast-tracker\` (debug, with SWARMCAST_BIN_DIR=target/debug) or \`cargo build --release -p swarmcast-tracker\` first`)
  }
  const port = await freePort()
  const child = spawn(TRACKER_BIN, ['--listen', `127.0.0.1:${port}`, ...extraArgs], {
    stdio: ['ignore', 'ignore', 'pipe']
  })
  let stderr = ''
  child.stderr.on('data', d => { stderr = (stderr + d).slice(-4000) })
  try {
    await waitForPort(port, child, 5000)
  } catch (err) {
    child.kill('SIGKILL')
    throw new Error(`${err.message}\n${stderr}`)
  }
  return {
    name: 'swarmcast-tracker',
    url: `ws://127.0.0.1:${port}`,
    close: () => new Promise(resolve => {
      if (child.exitCode !== null) return resolve()
      child.once('exit', resolve)
      child.kill('SIGTERM')
      setTimeout(() => child.kill('SIGKILL'), 2000).unref()
    })
  }
}
