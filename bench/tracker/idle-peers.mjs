// Connection-scale client for bench/tracker/run.sh: opens COUNT WebSocket
// connections to a tracker, announces each as a started leecher (no offers)
// into one of TORRENTS swarms, then keeps them open and idle. Prints
// "ready <n>" once every announce got its reply, and closes everything on
// SIGTERM or after HOLD_S seconds. One process holds at most ~19k sockets (the
// open-file limit is 20,000), so run.sh starts several. Each process binds its
// sockets to 64 source addresses 127.N.0.1-64, like peers from many hosts:
// ephemeral ports last, and trackers' per-IP connection caps are not hit.
// Usage: node idle-peers.mjs URL COUNT TORRENTS N HOLD_S
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'

const [url, count, torrents, net, holdS] = process.argv.slice(2)
const COUNT = Number(count)
const hashes = Array.from({ length: Number(torrents) }, (_, i) => Buffer.from(`bench-swarm-${i}`.padEnd(20, '.')).toString('latin1'))
const sockets = []
let announced = 0
let failed = 0

function openOne (i) {
  return new Promise(resolve => {
    const localAddress = `127.${net}.0.${1 + (i % 64)}`
    const ws = new WebSocket(url, { localAddress, perMessageDeflate: false, rejectUnauthorized: false })
    sockets.push(ws)
    ws.once('open', () => {
      ws.send(JSON.stringify({
        action: 'announce', info_hash: hashes[i % hashes.length], peer_id: randomBytes(20).toString('latin1'),
        event: 'started', numwant: 0, uploaded: 0, downloaded: 0, left: 1000, offers: []
      }))
    })
    ws.once('message', () => { announced++; resolve() })
    ws.once('error', err => { failed++; if (failed <= 3) console.error(`connection ${i}: ${err.message}`); resolve() })
  })
}

// Opens connections a batch at a time so the tracker's accept backlog keeps up.
for (let i = 0; i < COUNT; i += 250) {
  await Promise.all(Array.from({ length: Math.min(250, COUNT - i) }, (_, j) => openOne(i + j)))
}
console.log(`ready ${announced} failed ${failed}`)

const stop = () => { for (const ws of sockets) ws.terminate(); process.exit(0) }
process.on('SIGTERM', stop)
setTimeout(stop, Number(holdS) * 1000)
