// Real clients against both trackers: the bittorrent-tracker npm Client (what
// WebTorrent uses) and the announce format of P2P Media Loader 2.3.1 (the same
// client with its own info_hash and peer_id shapes, and one socket carrying
// several swarms under different peer ids). Each client's events must be the
// same with swarmcast-tracker as with the reference, which proves such clients
// work unchanged. The clients run without WebRTC, so they make no offers;
// offer and answer relay is covered by tracker-diff.test.mjs.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomInt } from 'node:crypto'
import { startReference, startSwarmcast } from './support/trackers.mjs'
import { loadReferenceClient } from './support/reference-client.mjs'

let browsers, reference, swarmcast
before(async () => {
  browsers = await loadReferenceClient(2)
  reference = await startReference()
  swarmcast = await startSwarmcast()
})
after(async () => {
  await reference?.close()
  await swarmcast?.close()
})

function makeClient (Client, url, infoHash, peerId) {
  const client = new Client({
    infoHash, peerId, announce: url, port: 6881, wrtc: {}, getAnnounceOpts: () => ({ numwant: 0 })
  })
  const problems = []
  client.on('warning', err => problems.push(`warning: ${err.message}`))
  client.on('error', err => problems.push(`error: ${err.message}`))
  return { client, problems }
}

/**
 * The next event `name` about the client's own swarm, without the fields that
 * name the tracker. Clients sharing a socket each see every scrape reply on
 * it, so replies about other swarms are skipped.
 */
function next (client, name, step) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off(name, onEvent)
      reject(new Error(`${step}: no '${name}' event within 3 s`))
    }, 3000)
    function onEvent (data) {
      if (data.infoHash !== undefined && data.infoHash !== client.infoHash) return
      clearTimeout(timer)
      client.off(name, onEvent)
      const { announce, interval, ...rest } = data
      if (interval !== undefined) assert.ok(Number.isInteger(interval) && interval > 0, `interval ${interval}`)
      resolve(rest)
    }
    client.on(name, onEvent)
  })
}

/**
 * Peers a and b, one per browser, join a swarm, scrape, b completes, both
 * stop; returns every event they saw.
 */
async function lifecycle (url, infoHash, [idA, idB]) {
  const a = makeClient(browsers[0], url, infoHash, idA)
  const b = makeClient(browsers[1], url, infoHash, idB)
  const events = []
  const step = async (name, client, event, action) => {
    action()
    events.push([name, await next(client, event, name)])
  }
  try {
    await step('a started', a.client, 'update', () => a.client.start())
    await step('b started', b.client, 'update', () => b.client.start())
    await step('a scrape', a.client, 'scrape', () => a.client.scrape())
    await step('b completed', b.client, 'update', () => b.client.complete())
    await step('a update', a.client, 'update', () => a.client.update())
    await step('b stopped', b.client, 'update', () => b.client.stop())
    await step('a scrape after b stopped', a.client, 'scrape', () => a.client.scrape())
  } finally {
    a.client.destroy()
    b.client.destroy()
  }
  assert.deepEqual([...a.problems, ...b.problems], [])
  return events
}

// Deliberate difference: swarmcast's scrape `downloaded` counts `completed`
// events; the reference reports its current seeder count there.
const withoutDownloaded = events => events.map(([step, { downloaded, ...rest }]) => [step, rest])

async function sameOnBoth (swarms) {
  const want = await Promise.all(swarms.map(([hash, ids]) => lifecycle(reference.url, hash, ids)))
  for (const events of want) {
    assert.equal(events[1][1].incomplete, 2, 'the reference counted both peers')
  }
  const got = await Promise.all(swarms.map(([hash, ids]) => lifecycle(swarmcast.url, hash, ids)))
  assert.deepEqual(got.map(withoutDownloaded), want.map(withoutDownloaded))
  for (const events of got) {
    assert.equal(events.at(-1)[1].downloaded, 1, 'swarmcast counted b\'s completion')
  }
}

test('the bittorrent-tracker Client sees the same announce and scrape results', async () => {
  const peerIds = ['-WW0208-'.padEnd(20, '\u0080'), '-WW0208-'.padEnd(20, '\u00ff')].map(id => Buffer.from(id, 'latin1'))
  await sameOnBoth([['c0ffee'.padEnd(40, 'e9'), peerIds]])
})

test('P2P Media Loader 2.3.1 announces are accepted', async () => {
  // p2p-media-loader-core 2.3.1 (src/utils/peer.ts, p2p-tracker-client.ts):
  // the info_hash is base64 of the first 15 bytes of SHA-1(stream swarm id),
  // so 20 ASCII chars; the peer_id is "-PM0203-" plus 12 random alphanumerics,
  // one per stream, and all streams of a page share one tracker socket.
  const streamHash = id => Buffer.from(createHash('sha1').update(id).digest().subarray(0, 15).toString('base64'))
  const alnum = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
  const peerId = () => Buffer.from('-PM0203-' + Array.from({ length: 12 }, () => alnum[randomInt(alnum.length)]).join(''))
  await sameOnBoth(['main-0', 'secondary-0'].map(stream =>
    [streamHash(`https://example.test/live.m3u8-v2-${stream}`), [peerId(), peerId()]]))
})
