// Differential test of swarmcast-tracker against the reference WebTorrent
// tracker (bittorrent-tracker's Server, ws only). One scripted multi-peer
// session runs against each, over raw WebSockets; every reply and relayed
// message is compared field by field. Only these differences are allowed:
//   - which peers receive an offer, and which of a sender's offers each gets
//     (random peer choice): offer ids are compared as "one of X's offers";
//   - the `interval` value (a policy choice): any positive integer;
//   - the wording of `failure reason`: any non-empty string;
//   - scrape `downloaded`: swarmcast counts `completed` events, the reference
//     reports its current seeder count (checked on its own below);
//   - scrape `flags` ({min_request_interval}): reference only, no client reads it;
//   - text that is not JSON: swarmcast closes the socket (code 1007), the
//     reference replies with a failure reason (its own test below).
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startReference, startSwarmcast } from './support/trackers.mjs'
import { RawPeer, settle } from './support/ws-peer.mjs'

// 20-byte ids as the wire carries them: one char per byte. They include
// control characters, quotes, backslashes and bytes >= 0x80, so a tracker
// that mangles the latin1 form fails every comparison.
const binaryId = (tag, n = 0) => String.fromCharCode(
  ...Array.from({ length: 20 }, (_, i) => [0x00, 0x22, 0x5c, 0x7f, 0x80, 0xe9, 0xff][i % 7] ^ (i < 4 ? tag.charCodeAt(i % tag.length) : n))
)
const HASH1 = binaryId('sw1')
const HASH2 = binaryId('sw2')
const UNKNOWN_HASH = binaryId('none')
const PEERS = ['A', 'B', 'C', 'D']
const peerId = name => binaryId(`p${name}`, 1)
const LABELS = new Map([[HASH1, 'HASH1'], [HASH2, 'HASH2'], [UNKNOWN_HASH, 'UNKNOWN_HASH'],
  ...PEERS.map(p => [peerId(p), `peer ${p}`])])
const label = s => LABELS.get(s) ?? s

/** Per session: offers made so far, by offer_id, to recognise relays. */
function makeOffers (sent, from, count) {
  return Array.from({ length: count }, () => {
    const n = sent.size
    const offerId = binaryId(`o${from}`, n + 2)
    const offer = { type: 'offer', sdp: `v=0\r\no=- ${n} 2 IN IP4 127.0.0.1\r\ns=${from}\r\n` }
    sent.set(offerId, { from, offer })
    return { offer, offer_id: offerId }
  })
}

const announce = (who, fields) => ({
  action: 'announce', info_hash: HASH1, peer_id: peerId(who), uploaded: 0, downloaded: 0, left: 1000, ...fields
})

// The script. Each step acts on the peers; `random` marks steps whose offer
// recipients are a random subset of the swarm.
const STEPS = [
  { name: 'A announces started with 5 offers into an empty swarm',
    run: s => s.A.send(announce('A', { event: 'started', numwant: 5, offers: makeOffers(s.sent, 'A', 5) })) },
  { name: 'B announces started: A receives one of B\'s offers',
    run: s => s.B.send(announce('B', { event: 'started', numwant: 5, offers: makeOffers(s.sent, 'B', 5) })) },
  { name: 'C announces started: A and B each receive one of C\'s offers',
    run: s => s.C.send(announce('C', { event: 'started', numwant: 5, offers: makeOffers(s.sent, 'C', 5) })) },
  { name: 'A answers C\'s offer: C receives the answer, A gets no reply',
    run: s => {
      const relayed = s.history.get('C announces started: A and B each receive one of C\'s offers').A.find(m => m.offer)
      s.A.send({ action: 'announce', info_hash: HASH1, peer_id: peerId('A'), to_peer_id: peerId('C'),
        offer_id: relayed.offer_id, answer: { type: 'answer', sdp: 'v=0\r\ns=answer from A\r\n' } })
    } },
  { name: 'B periodic announce with 2 offers: A and C each receive one',
    run: s => s.B.send(announce('B', { numwant: 2, uploaded: 10, downloaded: 20, left: 980, offers: makeOffers(s.sent, 'B', 2) })) },
  { name: 'C periodic announce with 1 offer: one of A, B receives it', random: true,
    run: s => s.C.send(announce('C', { numwant: 1, offers: makeOffers(s.sent, 'C', 1) })) },
  { name: 'A announces completed: counted as a seeder',
    run: s => s.A.send(announce('A', { event: 'completed', left: 0, downloaded: 1000 })) },
  { name: 'D announces started as a seeder with no offers',
    run: s => s.D.send(announce('D', { event: 'started', left: 0, numwant: 0, offers: [] })) },
  { name: 'scrape of one info_hash as a string',
    run: s => s.D.send({ action: 'scrape', info_hash: HASH1 }) },
  { name: 'D joins a second swarm on the same socket; its offer has nobody to go to',
    run: s => s.D.send(announce('D', { info_hash: HASH2, event: 'started', numwant: 1, offers: makeOffers(s.sent, 'D', 1) })) },
  { name: 'scrape of several info_hashes, one unknown',
    run: s => s.B.send({ action: 'scrape', info_hash: [HASH1, HASH2, UNKNOWN_HASH] }) },
  { name: 'B announces stopped: reply counts exclude B',
    run: s => s.B.send(announce('B', { event: 'stopped', left: 980 })) },
  { name: 'C disconnects without stopping',
    run: s => s.C.close() },
  { name: 'scrape after stop and disconnect',
    run: s => s.A.send({ action: 'scrape', info_hash: [HASH1, HASH2] }) },
  { name: 'D\'s offers now reach A only (B stopped, C gone)',
    run: s => s.D.send(announce('D', { left: 0, numwant: 3, offers: makeOffers(s.sent, 'D', 3) })) },
  { name: 'invalid: unknown action', run: s => s.A.send({ action: 'bogus', info_hash: HASH1 }) },
  { name: 'invalid: info_hash of 19 chars',
    run: s => s.A.send(announce('A', { info_hash: HASH1.slice(1) })) },
  { name: 'invalid: announce without peer_id',
    run: s => s.A.send({ action: 'announce', info_hash: HASH1, numwant: 0 }) },
  { name: 'invalid: answer without to_peer_id',
    run: s => s.A.send({ action: 'announce', info_hash: HASH1, peer_id: peerId('A'), offer_id: binaryId('oA', 99), answer: { type: 'answer', sdp: 'v=0\r\n' } }) },
  { name: 'invalid: scrape with a 21-char info_hash',
    run: s => s.A.send({ action: 'scrape', info_hash: HASH1 + 'x' }) },
  { name: 'the socket still works after invalid requests',
    run: s => s.A.send(announce('A', { left: 0, numwant: 0 })) }
]

/** Replaces what may legitimately differ, and ids by readable labels. */
function normalize (msg, sent, relayedIds) {
  const out = {}
  for (const [key, value] of Object.entries(msg)) {
    if (key === 'interval') {
      out[key] = Number.isInteger(value) && value > 0 ? '<positive integer>' : value
    } else if (key === 'failure reason') {
      out[key] = typeof value === 'string' && value.length > 0 ? '<non-empty string>' : value
    } else if (key === 'offer_id' && sent.has(value)) {
      const { from, offer } = sent.get(value)
      out[key] = `<an offer_id of ${from}>`
      if (msg.offer) {
        assert.deepEqual(msg.offer, offer, 'a relayed offer travels with its own offer_id')
        assert.ok(!relayedIds.has(value), 'an offer is relayed at most once')
        relayedIds.add(value)
      }
    } else if (key === 'offer' && msg.offer_id && sent.has(msg.offer_id)) {
      out[key] = `<the offer of that offer_id>`
    } else if (key === 'files' && value && typeof value === 'object') {
      out[key] = Object.fromEntries(Object.entries(value).map(([h, { downloaded, ...counts }]) =>
        [label(h), { ...counts, downloaded: Number.isInteger(downloaded) && downloaded >= 0 ? '<count>' : downloaded }]))
    } else if (key === 'flags' && msg.action === 'scrape') {
      continue
    } else {
      out[key] = typeof value === 'string' ? label(value) : value
    }
  }
  return out
}

// Orders messages by content, whatever order each tracker wrote the keys in.
const canonical = v => v && typeof v === 'object'
  ? Object.fromEntries(Object.keys(v).sort().map(k => [k, canonical(v[k])]))
  : v
const byJson = (a, b) => JSON.stringify(canonical(a)).localeCompare(JSON.stringify(canonical(b)))

/**
 * Runs the script against one tracker. Returns one entry per step: what each
 * peer received, normalized. `expectedCounts` (from the reference run) lets
 * the second run wait for as many messages before it checks for quiet.
 */
async function runSession (url, expectedCounts = []) {
  const s = { sent: new Map(), history: new Map() }
  for (const name of PEERS) s[name] = await RawPeer.connect(url, name)
  const peers = PEERS.map(p => s[p])
  const transcript = []
  try {
    for (const [i, step] of STEPS.entries()) {
      await step.run(s)
      await settle(peers, { atLeast: expectedCounts[i] ?? 0 })
      const raw = Object.fromEntries(peers.map(p => [p.name, p.take()]))
      s.history.set(step.name, raw)
      const relayedIds = new Set()
      const received = {}
      for (const [name, msgs] of Object.entries(raw)) {
        if (msgs.length) received[name] = msgs.map(m => normalize(m, s.sent, relayedIds)).sort(byJson)
      }
      transcript.push({ step: step.name, raw, count: Object.values(raw).flat().length, received: step.random ? shuffleFree(received) : received })
    }
  } finally {
    await Promise.all(peers.map(p => p.close()))
  }
  return transcript
}

/** For random-recipient steps: the messages and how many distinct peers got them, not who. */
function shuffleFree (received) {
  return { messages: Object.values(received).flat().sort(byJson), recipients: Object.keys(received).length }
}

let reference, swarmcast
before(async () => {
  reference = await startReference()
  swarmcast = await startSwarmcast()
})
after(async () => {
  await reference?.close()
  await swarmcast?.close()
})

test('swarmcast-tracker replies like bittorrent-tracker to a scripted multi-peer session', async () => {
  const expected = await runSession(reference.url)
  // Guard the harness itself: the reference must have produced the traffic the script describes.
  assert.equal(expected[0].received.A[0].incomplete, 1)
  assert.equal(expected[2].received.A.length + expected[2].received.B.length, 2)
  const actual = await runSession(swarmcast.url, expected.map(e => e.count))
  // Every differing step is reported, not just the first.
  const differences = []
  for (const [i, want] of expected.entries()) {
    try {
      assert.deepEqual(actual[i].received, want.received)
    } catch (err) {
      differences.push(`step ${i + 1}: ${want.step}\n${err.message}`)
    }
  }
  assert.equal(differences.length, 0, differences.join('\n\n'))
  // `downloaded` counts completions: A's `completed` event, not D, who started complete.
  const scrape = actual.find(e => e.step === 'scrape after stop and disconnect').raw.A[0]
  assert.equal(scrape.files[HASH1].downloaded, 1)
})

test('text that is not JSON: the reference replies, swarmcast closes the socket', async () => {
  for (const [tracker, expectClose] of [[reference, false], [swarmcast, true]]) {
    const peer = await RawPeer.connect(tracker.url, 'X')
    const closed = new Promise(resolve => peer.socket.once('close', code => resolve(code)))
    try {
      peer.send('this is not json')
      if (expectClose) {
        assert.equal(await closed, 1007, `${tracker.name} closes with "invalid payload"`)
      } else {
        await settle([peer], { atLeast: 1 })
        assert.equal(typeof peer.take()[0]?.['failure reason'], 'string')
        assert.equal(peer.closed, false)
      }
    } finally {
      await peer.close()
    }
  }
})

test('swarmcast-tracker refuses ids with code points above U+00FF', async () => {
  // The reference accepts any 20 UTF-16 units; bytes are 0x00-0xFF, so a
  // wider char can only be a corrupted id (shared/TRACKERS.md).
  const peer = await RawPeer.connect(swarmcast.url, 'X')
  try {
    peer.send(announce('X', { info_hash: '\u20ac'.repeat(20), event: 'started', numwant: 0 }))
    await settle([peer], { atLeast: 1 })
    const [reply] = peer.take()
    assert.equal(typeof reply?.['failure reason'], 'string', JSON.stringify(reply))
  } finally {
    await peer.close()
  }
})
