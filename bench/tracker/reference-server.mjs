// Runs the reference tracker (bittorrent-tracker's Server, ws only) for
// bench/tracker/run.sh. With a cert and key it serves wss:// from node's own
// https server, since aquatic_ws_load_test only speaks TLS; the other two
// trackers terminate TLS in-process too, so the comparison stays like for like.
// Usage: node reference-server.mjs HOST:PORT [CERT.pem KEY.pem]
import { readFileSync } from 'node:fs'
import https from 'node:https'
import Server from 'bittorrent-tracker/server'

const [addr, cert, key] = process.argv.slice(2)
const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))]

if (cert) {
  const server = new Server({ http: false, udp: false, stats: false, ws: { noServer: true } })
  server.on('warning', () => {})
  const tls = https.createServer({ cert: readFileSync(cert), key: readFileSync(key) })
  tls.on('upgrade', (req, socket, head) => {
    server.ws.handleUpgrade(req, socket, head, ws => server.ws.emit('connection', ws, req))
  })
  tls.listen(port, host)
} else {
  const server = new Server({ http: false, udp: false, stats: false })
  server.on('warning', () => {})
  server.listen(port, host)
}
