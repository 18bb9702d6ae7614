//! The sans-IO loader engine: inputs and time in, actions out. No browser
//! calls live here, so every path runs natively under `cargo test`.
//!
//! Drive it like str0m/quinn-proto: for each browser event call
//! [`Engine::handle_input`], then drain [`Engine::poll_output`] until `None`,
//! then arm one timer for [`Engine::poll_timeout`] and feed [`Input::Tick`]
//! when it fires.
//!
//! Layout: `api` (the contract), `identity` (swarm/peer ids, PRNG),
//! `signalling` (tracker), `peers` (peer table, uploads), `store` (LRU cache),
//! `swarm` (playlist and deadlines), `scheduler` (what to fetch from where),
//! `transfer` (bytes arriving, completion, delivery).

mod api;
mod identity;
mod peers;
mod scheduler;
mod signalling;
mod store;
mod swarm;
#[cfg(test)]
mod tests;
mod transfer;
mod vecmap;

pub use api::*;

use std::collections::VecDeque;

use swarmcast_protocol::peer::{have_messages, Message, VERSION};

use identity::Rng;
use peers::Peer;
use signalling::Signalling;
use store::Store;
use swarm::Swarm;
use transfer::Download;
use vecmap::{VecMap, VecSet};

/// While work is in flight the engine re-checks deadlines at this period.
const TICK_MS: Millis = 100;
/// Delivered requests remembered for `SegmentRejected`.
const DELIVERED_MEMORY: usize = 64;

/// An hls.js request not yet answered.
struct Request {
    id: u64,
    start: Millis,
}

/// A delivered request, kept so a validation failure can blame its source.
struct Delivered {
    req: RequestId,
    id: u64,
    source: Source,
    start: Millis,
}

/// The loader core. One per player.
pub struct Engine {
    cfg: Config,
    rng: Rng,
    peer_id: PeerId,
    now: Millis,
    out: VecDeque<Output>,
    stats: StatsSnapshot,
    swarm: Option<Swarm>,
    store: Store,
    signalling: Signalling,
    peers: VecMap<ConnId, Peer>,
    requests: VecMap<RequestId, Request>,
    /// Oldest first; a Vec, not a VecDeque: it is short, and one fewer
    /// collection type keeps the wasm smaller.
    delivered: Vec<Delivered>,
    downloads: VecMap<u64, Download>,
    /// Segments that must come over HTTP (a peer failed us for them).
    force_http: VecSet<u64>,
    /// Segments a peer told us it is fetching over HTTP, and when.
    peer_fetching: VecMap<u64, Millis>,
    /// Peers whose data validation refused: never connected to again.
    banned: Vec<PeerId>,
    next_fetch: u32,
    next_p2p_req: u32,
}

impl Engine {
    /// `seed` comes from the shell's RNG (e.g. `crypto.getRandomValues`); it
    /// makes the peer id and every random choice. `now` is the current time.
    pub fn new(config: Config, seed: u64, now: Millis) -> Engine {
        let mut rng = Rng::new(seed);
        let peer_id = identity::new_peer_id(&mut rng);
        Engine {
            store: Store::new(config.memory_cap),
            signalling: Signalling::new(&config),
            cfg: config,
            rng,
            peer_id,
            now,
            out: VecDeque::new(),
            stats: StatsSnapshot::default(),
            swarm: None,
            peers: VecMap::default(),
            requests: VecMap::default(),
            delivered: Vec::new(),
            downloads: VecMap::default(),
            force_http: VecSet::default(),
            peer_fetching: VecMap::default(),
            banned: Vec::new(),
            next_fetch: 1,
            next_p2p_req: 1,
        }
    }

    /// Our 20-byte tracker peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The current swarm's tracker info_hash, once a playlist arrived.
    pub fn info_hash(&self) -> Option<[u8; 20]> {
        self.swarm.as_ref().map(|s| s.info_hash)
    }

    /// Feed one input at time `now`.
    pub fn handle_input(&mut self, now: Millis, input: Input) {
        self.now = self.now.max(now);
        match input {
            Input::Tick => {}
            Input::Playlist(p) => self.on_playlist(p),
            Input::Playback {
                position_ms,
                playing,
            } => {
                if let Some(s) = &mut self.swarm {
                    s.set_position(position_ms, playing, self.now);
                }
            }
            Input::SegmentRequest { req, sn, .. } => self.on_request(req, sn),
            Input::AbortRequest { req } => {
                self.requests.remove(&req);
            }
            Input::SegmentRejected { req } => self.on_rejected(req),
            Input::SegmentAccepted { req } => self.on_accepted(req),
            Input::TrackerConnected { tracker } => {
                self.signalling.connected(tracker, &self.cfg, self.now)
            }
            Input::TrackerMessage { tracker, message } => {
                let (peers, banned) = (&self.peers, &self.banned);
                let known = |id: &PeerId| {
                    banned.contains(id) || peers.values().any(|p| p.peer_id.as_ref() == Some(id))
                };
                let room = peers.len() + self.signalling.pending_count() < self.cfg.max_peers;
                self.signalling.message(
                    tracker,
                    message,
                    &self.peer_id,
                    &known,
                    room,
                    self.now,
                    &self.cfg,
                    &mut self.out,
                );
            }
            Input::TrackerClosed { tracker } => {
                self.signalling.closed(tracker, &self.cfg, self.now)
            }
            Input::OfferCreated { conn, sdp } => self.signalling.offer_created(conn, sdp),
            Input::AnswerCreated { conn, sdp } => {
                self.signalling
                    .answer_created(conn, sdp, &self.peer_id, &mut self.out)
            }
            Input::ConnectionFailed { conn } | Input::ChannelClosed { conn } => {
                if !self.signalling.failed(conn) {
                    self.drop_peer(conn, false);
                }
            }
            Input::ChannelOpen { conn } => self.on_channel_open(conn),
            Input::ChannelMessage { conn, data } => match Message::decode(&data) {
                Ok(msg) => self.on_peer_message(conn, msg),
                Err(_) => self.drop_peer(conn, true),
            },
            Input::ChannelBufferedLow { conn } => {
                if let Some(p) = self.peers.get_mut(&conn) {
                    p.drained(self.cfg.channel_low_water);
                }
                self.pump(conn);
            }
            Input::HttpStarted {
                fetch,
                status,
                total,
            } => self.on_http_started(fetch, status, total),
            Input::HttpChunk { fetch, data } => self.on_http_chunk(fetch, data),
            Input::HttpDone { fetch } => self.on_http_done(fetch),
            Input::HttpFailed { fetch, status } => self.on_http_failed(fetch, status),
        }
        self.step();
    }

    /// The next action for the driver, in order; `None` when drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When the engine next needs an [`Input::Tick`] (absolute ms), if ever.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let busy = !self.downloads.is_empty()
            || !self.requests.is_empty()
            || self.swarm.as_ref().is_some_and(|s| s.live);
        let tick = busy.then_some(self.now + TICK_MS);
        match (tick, self.signalling.timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Shuts down (player destroyed): leaves the swarm on every tracker,
    /// closes all connections and aborts all fetches. Pending requests get
    /// no answer. The engine stays inert afterwards.
    pub fn close(&mut self, now: Millis) {
        self.now = self.now.max(now);
        self.signalling.stop(&self.peer_id, &mut self.out);
        self.drop_peers_and_downloads();
        self.requests.clear();
        self.swarm = None;
    }

    /// Cumulative statistics.
    pub fn stats(&self) -> StatsSnapshot {
        let mut s = self.stats.clone();
        s.peers = self
            .peers
            .values()
            .filter_map(|p| {
                Some(PeerStats {
                    conn: p.conn,
                    peer_id: p.peer_id?,
                    down: p.down,
                    up: p.up,
                })
            })
            .collect();
        s
    }

    /// Time-driven work after every input: signalling, stalls, scheduling.
    fn step(&mut self) {
        if self.cfg.p2p && self.swarm.is_some() {
            let ready = self.peers.len();
            let totals = (self.stats.up, self.stats.http_down + self.stats.p2p_down);
            self.signalling.tick(
                self.now,
                ready,
                &self.peer_id,
                totals,
                &self.cfg,
                &mut self.rng,
                &mut self.out,
            );
        }
        self.check_stalls();
        self.schedule();
    }

    fn on_playlist(&mut self, p: Playlist) {
        let key = identity::swarm_key(&p.manifest_url, self.cfg.swarm_id.as_deref(), &p.rendition);
        if self.swarm.as_ref().is_some_and(|s| s.key == key) {
            if let Some(s) = &mut self.swarm {
                s.update(p, self.now);
            }
            return;
        }
        // A new swarm (first playlist or rendition switch): start afresh.
        self.drop_peers_and_downloads();
        self.store.clear();
        self.force_http.clear();
        self.peer_fetching.clear();
        let info_hash = identity::info_hash(&key);
        self.swarm = Some(Swarm::new(key, info_hash, p, self.now));
        if self.cfg.p2p {
            self.signalling
                .set_swarm(info_hash, self.now, &mut self.out);
        }
        // Requests made before this playlist are re-resolved by sn.
        let pending: Vec<RequestId> = self.requests.keys().copied().collect();
        for req in pending {
            if let Some(r) = self.requests.remove(&req) {
                self.on_request(req, r.id);
            }
        }
    }

    fn on_request(&mut self, req: RequestId, sn: u64) {
        let id = match &self.swarm {
            Some(s) => s.id_of(sn),
            None => sn,
        };
        self.requests.insert(
            req,
            Request {
                id,
                start: self.now,
            },
        );
        if self.swarm.is_none() {
            return;
        }
        if self.store.contains(id) {
            self.deliver_stored(id);
        } else if self.swarm.as_ref().is_some_and(|s| s.segment(id).is_none())
            && !self.peers.values().any(|p| p.has.contains(&id))
        {
            self.requests.remove(&req);
            self.out.push_back(Output::FailRequest {
                req,
                reason: FailReason::Unknown,
            });
        }
    }

    fn on_rejected(&mut self, req: RequestId) {
        let Some(pos) = self.delivered.iter().position(|d| d.req == req) else {
            return;
        };
        let d = self.delivered.remove(pos);
        if let Source::P2p(conn) = d.source {
            if let Some(id) = self.peers.get(&conn).and_then(|p| p.peer_id) {
                self.banned.push(id);
            }
            self.drop_peer(conn, true);
            self.stats.p2p_fallbacks += 1;
            // The refused bytes did not help playback: keep the ratio honest.
            if let Some(len) = self.store.get(d.id).map(|s| s.data.len() as u64) {
                self.stats.p2p_down = self.stats.p2p_down.saturating_sub(len);
                self.stats.p2p_rejected += len;
                self.stats.segments_p2p = self.stats.segments_p2p.saturating_sub(1);
            }
        }
        if self.store.remove(d.id) {
            self.broadcast_have(&[], &[d.id]);
        }
        self.force_http.insert(d.id);
        self.requests.insert(
            req,
            Request {
                id: d.id,
                start: d.start,
            },
        );
    }

    fn on_accepted(&mut self, req: RequestId) {
        let Some(d) = self.delivered.iter().find(|d| d.req == req) else {
            return;
        };
        let id = d.id;
        if self.store.share(id) {
            self.broadcast_have(&[id], &[]);
        }
    }

    fn on_channel_open(&mut self, conn: ConnId) {
        let Some(opened) = self.signalling.opened(conn) else {
            return;
        };
        let Some(swarm) = &self.swarm else {
            self.out.push_back(Output::CloseConnection { conn });
            return;
        };
        let mut peer = Peer::new(conn, opened.offered);
        peer.send(
            &Message::Handshake {
                version: VERSION,
                peer_id: self.peer_id,
                swarm: swarm.info_hash,
            },
            &mut self.out,
        );
        let held: Vec<u64> = self.store.shared_ids().collect();
        for m in have_messages(&held, &[]) {
            peer.send(&m, &mut self.out);
        }
        self.peers.insert(conn, peer);
    }

    fn on_peer_message(&mut self, conn: ConnId, msg: Message) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        match msg {
            Message::Handshake {
                version,
                peer_id,
                swarm,
            } => {
                let ok = !peer.ready()
                    && version == VERSION
                    && self.swarm.as_ref().is_some_and(|s| s.info_hash == swarm)
                    && peer_id != self.peer_id
                    && !self.banned.contains(&peer_id);
                if !ok {
                    self.drop_peer(conn, true);
                    return;
                }
                // Two connections to one peer: keep the one offered by the
                // lower peer id, so both sides drop the same one.
                let offered = peer.offered;
                let other = self
                    .peers
                    .values()
                    .find(|p| p.conn != conn && p.peer_id == Some(peer_id))
                    .map(|p| p.conn);
                if let Some(other) = other {
                    let keep_new =
                        (offered && self.peer_id < peer_id) || (!offered && peer_id < self.peer_id);
                    let loser = if keep_new { other } else { conn };
                    self.drop_peer(loser, true);
                    if loser == conn {
                        return;
                    }
                }
                if let Some(p) = self.peers.get_mut(&conn) {
                    p.peer_id = Some(peer_id);
                }
                self.out
                    .push_back(Output::Event(Event::PeerConnected { conn, peer_id }));
            }
            _ if !peer.ready() => self.drop_peer(conn, true),
            Message::Have { added, removed } => {
                for id in &added {
                    self.peer_fetching.remove(id);
                }
                peer.apply_have(added, removed);
            }
            Message::Fetching { segment } => {
                self.peer_fetching.insert(segment, self.now);
            }
            Message::Request {
                req,
                segment,
                offset,
            } => {
                let data = if self.cfg.upload {
                    self.store
                        .get(segment)
                        .filter(|s| s.shared)
                        .map(|s| s.data.clone())
                } else {
                    None
                };
                let Some(peer) = self.peers.get_mut(&conn) else {
                    return;
                };
                let queued = data.is_some_and(|data| {
                    offset < data.len() as u64 && peer.queue_upload(req, data, offset as usize)
                });
                if queued {
                    self.pump(conn);
                } else {
                    peer.send(&Message::Absent { req }, &mut self.out);
                }
            }
            Message::Cancel { req } => peer.cancel_upload(req),
            Message::Data {
                req,
                offset,
                total,
                bytes,
            } => self.on_peer_data(conn, req, offset, total, bytes),
            Message::Absent { req } => self.on_peer_absent(conn, req),
        }
    }

    /// Sends queued upload chunks to `conn` as the channel allows.
    fn pump(&mut self, conn: ConnId) {
        let Some(p) = self.peers.get_mut(&conn) else {
            return;
        };
        let sent = p.pump(
            self.cfg.channel_high_water,
            self.cfg.corrupt_uploads,
            &mut self.out,
        );
        if sent > 0 {
            self.stats.up += sent;
            self.out
                .push_back(Output::Event(Event::BytesUp { conn, bytes: sent }));
        }
    }

    /// Forgets a peer; its downloads move to HTTP. `close` asks the shell to
    /// close the connection (not needed when it reported the close).
    fn drop_peer(&mut self, conn: ConnId, close: bool) {
        let Some(peer) = self.peers.remove(&conn) else {
            return;
        };
        if close {
            self.out.push_back(Output::CloseConnection { conn });
        }
        if let Some(peer_id) = peer.peer_id {
            self.out
                .push_back(Output::Event(Event::PeerClosed { conn, peer_id }));
        }
        let ids: Vec<u64> = self
            .downloads
            .iter()
            .filter(|(_, d)| d.peer() == Some(conn))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.fallback_to_http(id);
        }
    }

    /// Closes every connection and aborts every fetch.
    fn drop_peers_and_downloads(&mut self) {
        for conn in self.peers.keys().copied().collect::<Vec<_>>() {
            self.drop_peer(conn, true);
        }
        for (_, d) in std::mem::take(&mut self.downloads) {
            if let Some(fetch) = d.fetch() {
                self.out.push_back(Output::HttpAbort { fetch });
            }
        }
    }

    /// Tells every ready peer about a change in what we hold.
    fn broadcast_have(&mut self, added: &[u64], removed: &[u64]) {
        for m in have_messages(added, removed) {
            for p in self.peers.values_mut().filter(|p| p.ready()) {
                p.send(&m, &mut self.out);
            }
        }
    }
}
