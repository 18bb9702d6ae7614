// A hostile peer for browser tests, speaking the real tracker and peer
// protocols (protocol/src/peer.rs, shared/TRACKERS.md) from plain JS, so
// that the loader under test needs no test-only behaviour. It offers itself
// to the swarm of `manifestUrl` and, connection after connection, misbehaves
// in turn: an oversized Have, a truncated transfer then silence, an absurd
// total, floods of Have and Request messages, wrong bytes, and after each
// ban a fresh peer id (from the same address).
// `window.hostile.run(options)` resolves with what it saw.

const M64 = (1n << 64n) - 1n;
const mix = (z) => {
  z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & M64;
  return z ^ (z >> 31n);
};
// The swarm's info_hash, as the engine derives it from the manifest URL (engine/identity.rs).
function infoHash(key) {
  let h = 0xcbf29ce484222325n;
  for (const b of new TextEncoder().encode(key)) h = ((h ^ BigInt(b)) * 0x100000001b3n) & M64;
  const out = new Uint8Array(20);
  for (let lane = 0; lane < 3; lane++) {
    let v = mix(h ^ ((BigInt(lane + 1) * 0x9e3779b9n) & M64));
    for (let i = 0; i < 8 && lane * 8 + i < 20; i++, v >>= 8n) out[lane * 8 + i] = Number(v & 0xffn);
  }
  return out;
}

const latin1 = (bytes) => String.fromCharCode(...bytes);
const randomId = () => {
  const id = crypto.getRandomValues(new Uint8Array(20));
  id.set(new TextEncoder().encode("-XX0001-"));
  return id;
};

const varint = (n) => {
  n = BigInt(n);
  const out = [];
  for (; n >= 0x80n; n >>= 7n) out.push(Number(n & 0x7fn) | 0x80);
  out.push(Number(n));
  return out;
};
function readVarint(b, pos) {
  let v = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const x = b[pos++];
    v |= BigInt(x & 0x7f) << shift;
    if (x < 0x80) return [v, pos];
  }
}
// The peer protocol's version (protocol/src/peer.rs `VERSION`).
const VERSION = 3;
const wire = {
  handshake: (peerId, swarm) => Uint8Array.of(1, VERSION, ...peerId, ...swarm),
  // ids: ascending BigInts.
  have: (stream, ids) => {
    const deltas = ids.flatMap((id, i) => varint(i ? id - ids[i - 1] : id));
    return Uint8Array.of(2, ...varint(stream), ...varint(ids.length), ...deltas, 0);
  },
  request: (req, stream, segment, fingerprint) =>
    Uint8Array.of(3, ...varint(req), ...varint(stream), ...varint(segment), ...varint(fingerprint)),
  data: (req, offset, total, bytes) => {
    const head = [5, ...varint(req), ...varint(offset), ...varint(total)];
    const out = new Uint8Array(head.length + bytes.length);
    out.set(head);
    out.set(bytes, head.length);
    return out;
  },
};
// The fields of a message from the victim that the attacks need.
function parse(b) {
  let pos = 1;
  const field = () => {
    let v;
    [v, pos] = readVarint(b, pos);
    return v;
  };
  switch (b[0]) {
    case 2: {
      const stream = field();
      const n = Number(field());
      const ids = [];
      for (let i = 0, id = 0n; i < n; i++) ids.push((id += field()));
      return { kind: "have", stream, ids };
    }
    case 3:
      return { kind: "request", req: field(), stream: field(), segment: field(), fingerprint: field() };
    case 5:
      return { kind: "data", req: field(), offset: field(), total: field(), bytes: b.length - pos };
    default:
      return { kind: b[0] };
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const gathered = (pc) =>
  new Promise((resolve) => {
    if (pc.iceGatheringState === "complete") return resolve();
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
    setTimeout(resolve, 2000);
  });

/** One connection to the victim under `peerId`; resolves with its channel once open. */
async function connect(ws, swarm, peerId) {
  const pc = new RTCPeerConnection({ iceServers: [] });
  const dc = pc.createDataChannel("swarmcast", { ordered: true });
  dc.binaryType = "arraybuffer";
  await pc.setLocalDescription();
  await gathered(pc);
  const offerId = randomId();
  const answered = new Promise((resolve) => {
    const onMessage = async ({ data }) => {
      const m = JSON.parse(data);
      if (!m.answer || m.offer_id !== latin1(offerId)) return;
      ws.removeEventListener("message", onMessage);
      await pc.setRemoteDescription(m.answer);
      resolve();
    };
    ws.addEventListener("message", onMessage);
  });
  ws.send(
    JSON.stringify({
      action: "announce",
      info_hash: latin1(swarm),
      peer_id: latin1(peerId),
      numwant: 1,
      uploaded: 0,
      downloaded: 0,
      left: 0,
      event: "started",
      offers: [{ offer: { type: "offer", sdp: pc.localDescription.sdp }, offer_id: latin1(offerId) }],
    }),
  );
  // Open, or closed by the victim at once.
  const opened = new Promise((resolve) => (dc.onopen = dc.onclose = resolve));
  const late = sleep(10_000).then(() => "late");
  if ((await Promise.race([answered.then(() => opened), late])) === "late") {
    pc.close();
    throw new Error("no answer, or the channel did not open");
  }
  return { pc, dc };
}

async function run({ trackerUrl, manifestUrl, floodSeconds = 8 }) {
  const swarm = infoHash(manifestUrl);
  const ws = new WebSocket(trackerUrl);
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  const report = { connections: [], uploadSegments: 0, uploadBytes: 0, floodMs: 0, haveFlood: 0, requestFlood: 0 };
  // Learnt from the victim: its stream id, the segments it holds, each segment's fingerprint.
  let stream = null;
  const held = new Set();
  const fingerprints = new Map();

  // Each connection's behaviour, in turn, each under a fresh peer id. The
  // first sends a Have longer than any honest one. The second answers the
  // victim's first request with a truncated transfer and then silence, its
  // second with an absurd total, stays silent while it floods the victim with
  // Have and Request messages, then sends wrong bytes. The third and fourth
  // come back after the ban and send wrong bytes at once.
  const plans = ["oversize have", "truncate, absurd, flood, wrong", "wrong", "wrong again"];
  for (const plan of plans) {
    const peerId = randomId();
    const conn = { plan, peerId: latin1(peerId), requests: 0, wrongSent: 0, closedAfterMs: null };
    report.connections.push(conn);
    let pc, dc;
    // A connection attempt can fail on a busy machine; a few more are cheap.
    for (let attempt = 1; !dc && attempt <= 3; attempt++) {
      try {
        ({ pc, dc } = await connect(ws, swarm, peerId));
      } catch (e) {
        conn.error = `attempt ${attempt}: ${e}`;
      }
    }
    if (!dc) continue;
    // The victim may close it as soon as it opened.
    const closed = new Promise((r) => (dc.readyState === "closed" ? r() : dc.addEventListener("close", r)));
    const opened = performance.now();
    const send = (bytes) => dc.readyState === "open" && dc.send(bytes);
    let mode = plan.startsWith("wrong") ? "wrong" : "truncate";
    dc.onmessage = ({ data }) => {
      const m = parse(new Uint8Array(data));
      if (m.kind === "have") {
        stream = m.stream;
        m.ids.forEach((id) => held.add(id));
      } else if (m.kind === "data") {
        report.uploadBytes += m.bytes;
        if (m.offset === 0n) report.uploadSegments++;
      } else if (m.kind === "request") {
        fingerprints.set(m.segment, m.fingerprint);
        conn.requests++;
        const garbage = crypto.getRandomValues(new Uint8Array(16_000));
        if (mode === "truncate") {
          send(wire.data(m.req, 0, 400_000, garbage));
          mode = "absurd";
        } else if (mode === "absurd") {
          send(wire.data(m.req, 0, 1n << 50n, garbage));
          mode = "silent";
        } else if (mode === "wrong") {
          for (let off = 0; off < 160_000; off += 16_000) send(wire.data(m.req, off, 160_000, garbage));
          conn.wrongSent++;
        }
      }
    };
    send(wire.handshake(peerId, swarm));
    while (stream === null && performance.now() - opened < 10_000) await sleep(100);
    if (stream === null) {
      conn.error = "the victim announced nothing";
    } else if (plan === "oversize have") {
      send(wire.have(stream, Array.from({ length: 801 }, (_, i) => BigInt(i))));
    } else {
      // Claim every segment the victim may want, so it asks us for them.
      send(wire.have(stream, Array.from({ length: 800 }, (_, i) => BigInt(i))));
    }
    if (plan.includes("flood")) {
      // Wait for a segment the victim holds whose fingerprint we learnt.
      const known = () => [...held].filter((sn) => fingerprints.has(sn));
      while (!known().length && performance.now() - opened < 20_000) await sleep(100);
      // The largest honest Have (800 ids) of another stream, many times.
      const many = Array.from({ length: 800 }, (_, i) => 1_000_000n + BigInt(i));
      for (let i = 0; i < 200; i++, report.haveFlood++) send(wire.have(stream + 1n, many));
      // Requests for what it holds, as fast as the channel takes them: its
      // upload to us must stay within the budget.
      const start = performance.now();
      const before = report.uploadSegments;
      let req = 1_000;
      while (performance.now() - start < floodSeconds * 1000 && dc.readyState === "open") {
        for (const sn of known()) {
          if (dc.bufferedAmount < 1 << 20) {
            send(wire.request(req++, stream, sn, fingerprints.get(sn)));
            report.requestFlood++;
          }
        }
        await sleep(20);
      }
      report.floodMs = performance.now() - start;
      report.floodSegments = report.uploadSegments - before;
      mode = "wrong";
    }
    const end = await Promise.race([closed.then(() => "closed"), sleep(45_000).then(() => "timeout")]);
    conn.closedAfterMs = end === "closed" ? performance.now() - opened : null;
    dc.close();
    pc.close();
  }
  ws.close();
  return report;
}

window.hostile = { run };
