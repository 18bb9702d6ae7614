// A raw WebSocket tracker peer for scripted sessions: sends any frame (valid
// JSON or not) and records every reply, so a test sees exactly what a tracker
// put on the wire. `settle` waits until a set of peers has gone quiet.
import WebSocket from 'ws'

export class RawPeer {
  constructor (name, socket) {
    this.name = name
    this.socket = socket
    this.inbox = []
    this.lastMessageAt = 0
    this.closed = false
    socket.on('message', (data, isBinary) => {
      const text = data.toString('utf8')
      let msg
      try { msg = JSON.parse(text) } catch { msg = { unparsable: text, binary: isBinary } }
      this.inbox.push(msg)
      this.lastMessageAt = Date.now()
    })
    socket.on('close', () => { this.closed = true })
  }

  static connect (url, name) {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { perMessageDeflate: false })
      socket.once('open', () => resolve(new RawPeer(name, socket)))
      socket.once('error', reject)
    })
  }

  send (message) {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message))
  }

  /** Returns and forgets everything received so far. */
  take () {
    const msgs = this.inbox
    this.inbox = []
    return msgs
  }

  close () {
    if (this.closed) return Promise.resolve()
    return new Promise(resolve => {
      this.socket.once('close', resolve)
      this.socket.close()
    })
  }
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

/**
 * Resolves once the peers together hold at least `atLeast` messages and none
 * arrived during the last `quietMs`, or after `maxMs`.
 */
export async function settle (peers, { atLeast = 0, quietMs = 75, maxMs = 3000 } = {}) {
  const start = Date.now()
  for (;;) {
    await sleep(10)
    const now = Date.now()
    const count = peers.reduce((n, p) => n + p.inbox.length, 0)
    const last = Math.max(start, ...peers.map(p => p.lastMessageAt))
    if ((count >= atLeast && now - last >= quietMs) || now - start >= maxMs) return
  }
}
