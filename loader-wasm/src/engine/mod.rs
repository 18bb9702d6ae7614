//! The sans-IO loader engine: inputs and time in, actions out. No browser
//! calls live here, so every path runs natively under `cargo test`.
//!
//! Drive it like str0m/quinn-proto: for each browser event call
//! [`Engine::handle_input`], then drain [`Engine::poll_output`] until `None`,
//! then arm one timer for [`Engine::poll_timeout`] and feed [`Input::Tick`]
//! when it fires.
//!
//! The first rule: every fragment handed to hls.js is the origin's bytes for
//! the request's URL and range. Requests resolve to a stream, a sequence
//! number and a fingerprint of URL and range (`stream`), and only bytes
//! fetched for that very fingerprint answer them; anything that does not
//! resolve goes to hls.js's own loader.
//!
//! Layout: `api` (the contract), `identity` (swarm, stream and segment ids,
//! peer ids, PRNG), `stream` (the content's streams, their playlists and
//! deadlines), `claims` (peers fetching live segments), `requests` (hls.js requests: resolve, deliver, hand to HTTP),
//! `signalling` (tracker), `peers` (one peer: haves, trust, uploads),
//! `penalties` (bans and strikes by address), `store` (LRU cache),
//! `scheduler` (what to fetch from where), `transfer` (bytes arriving,
//! completion), `configure` (settings changed while playing).

mod api;
mod claims;
mod configure;
mod identity;
mod peers;
mod penalties;
mod requests;
mod scheduler;
mod signalling;
mod store;
mod stream;
#[cfg(test)]
mod tests;
mod transfer;
mod vecmap;

pub use api::*;
pub use identity::{main_stream_name, VariantAttributes};

use std::collections::VecDeque;

use swarmcast_protocol::peer::{have_messages, Message, VERSION};

use claims::{Claims, MAX_CLAIM_HOPS};
use identity::Rng;
use peers::Peer;
use penalties::Penalties;
use requests::{Delivered, Request};
use signalling::Signalling;
use store::Store;
use stream::{Content, Playback, SegmentKey};
use transfer::Download;
use vecmap::VecMap;

/// While work is in flight the engine re-checks deadlines at this period.
const TICK_MS: Millis = 100;
/// A claim of a live segment this far past our playlist's newest is relayed:
/// playlist refreshes of viewers are up to a target duration apart.
const CLAIM_AHEAD_SEGMENTS: u64 = 2;

/// The loader core. One per player.
pub struct Engine {
    cfg: Config,
    rng: Rng,
    peer_id: PeerId,
    now: Millis,
    /// Actions not yet polled, oldest first. A `VecDeque`, though it costs
    /// the wasm 0.17 KB: taken from the front of a `Vec`, a 500-peer engine
    /// handled 17 % fewer inputs per second (bench `engine_inputs`).
    out: VecDeque<Output>,
    stats: StatsSnapshot,
    /// The manifest being played and its streams, once a playlist arrived.
    content: Option<Content>,
    playback: Playback,
    store: Store,
    signalling: Signalling,
    peers: VecMap<ConnId, Peer>,
    requests: VecMap<RequestId, Request>,
    /// Oldest first; a Vec, not a VecDeque: it is short, and one fewer
    /// collection type keeps the wasm smaller.
    delivered: Vec<Delivered>,
    downloads: VecMap<SegmentKey, Download>,
    /// Segments peers told us someone is fetching over HTTP.
    claims: Claims,
    /// Peers whose data the page's check refused, by id and by address.
    penalties: Penalties,
    next_fetch: u32,
    next_p2p_req: u32,
}

impl Engine {
    /// `seed` comes from the shell's RNG (e.g. `crypto.getRandomValues`); it
    /// makes the peer id and every random choice. `now` is the current time.
    pub fn new(config: Config, seed: u64, now: Millis) -> Engine {
        let mut rng = Rng::new(seed);
        let peer_id = identity::new_peer_id(&mut rng, config.seeder);
        Engine {
            store: Store::new(config.memory_cap),
            signalling: Signalling::new(&config),
            cfg: config,
            rng,
            peer_id,
            now,
            out: VecDeque::new(),
            stats: StatsSnapshot::default(),
            content: None,
            playback: Playback::default(),
            peers: VecMap::default(),
            requests: VecMap::default(),
            delivered: Vec::new(),
            downloads: VecMap::default(),
            claims: Claims::default(),
            penalties: Penalties::default(),
            next_fetch: 1,
            next_p2p_req: 1,
        }
    }

    /// Our 20-byte tracker peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The content's tracker info_hash, once a playlist arrived.
    pub fn info_hash(&self) -> Option<[u8; 20]> {
        self.content.as_ref().map(|c| c.info_hash)
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
            } => self.playback.set(position_ms, playing, self.now),
            Input::SegmentRequest {
                req,
                stream,
                sn,
                url,
                range,
            } => self.on_request(req, &stream, sn, &url, range),
            Input::RequestLoaded { req, data } => self.on_request_loaded(req, data),
            Input::AbortRequest { req } => {
                self.requests.remove(&req);
            }
            Input::Configure(cfg) => self.configure(*cfg),
            Input::SegmentRejected { req } => self.on_rejected(req),
            Input::SegmentAccepted { req, checked } => self.on_accepted(req, checked),
            Input::SegmentBuffered { req } => self.share_delivered(req),
            Input::TrackerConnected { tracker } => {
                self.signalling.connected(tracker, &self.cfg, self.now)
            }
            Input::TrackerMessage { tracker, message } => {
                let (peers, penalties) = (&self.peers, &self.penalties);
                let known = |id: &PeerId| {
                    penalties.banned(id) || peers.values().any(|p| p.peer_id.as_ref() == Some(id))
                };
                self.signalling.message(
                    tracker,
                    message,
                    &self.peer_id,
                    &known,
                    peers.len(),
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
            Input::PeerAddress { conn, address } => self.on_peer_address(conn, address),
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
            Input::HttpLoaded {
                fetch,
                data,
                first_byte,
            } => self.on_http_loaded(fetch, data, first_byte),
            Input::HttpFailed { fetch } => self.on_http_failed(fetch),
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
            || self.content.as_ref().is_some_and(|c| c.live());
        let tick = busy.then_some(self.now + TICK_MS);
        let handshakes = self.peers.values().filter_map(Peer::handshake_deadline);
        [tick, self.signalling.timeout()]
            .into_iter()
            .flatten()
            .chain(handshakes)
            .min()
    }

    /// Shuts down (player destroyed): leaves the swarm on every tracker,
    /// closes all connections and aborts all fetches. Pending requests are
    /// handed to hls.js's loader. The engine stays inert afterwards.
    pub fn close(&mut self, now: Millis) {
        self.now = self.now.max(now);
        self.signalling.stop(&self.peer_id, &mut self.out);
        self.abort_downloads();
        self.drop_peers();
        for req in self.requests.keys_where(|r| !r.handed) {
            self.out.push_back(Output::LoadOverHttp { req });
        }
        self.requests.clear();
        self.content = None;
    }

    /// Cumulative statistics.
    pub fn stats(&self) -> StatsSnapshot {
        let s = &self.stats;
        let mut peers = Vec::new();
        for p in self.peers.values() {
            if let Some(peer_id) = p.peer_id {
                peers.push(PeerStats {
                    conn: p.conn,
                    peer_id,
                    down: p.down,
                    up: p.up,
                });
            }
        }
        // Field by field: cloning `self.stats` would clone its (empty) peer
        // list too, and Vec's clone code costs the wasm 0.18 KB gzip.
        StatsSnapshot {
            http_down: s.http_down,
            p2p_down: s.p2p_down,
            p2p_rejected: s.p2p_rejected,
            up: s.up,
            segments_http: s.segments_http,
            segments_p2p: s.segments_p2p,
            late_deliveries: s.late_deliveries,
            p2p_fallbacks: s.p2p_fallbacks,
            peers,
        }
    }

    /// Time-driven work after every input: signalling, stalls, scheduling.
    fn step(&mut self) {
        if self.cfg.p2p && self.content.is_some() {
            // Every open channel takes a place among `max_peers`, its
            // handshake done or not.
            let connected = self.peers.len();
            self.signalling.tick(
                self.now,
                connected,
                &self.peer_id,
                &self.stats,
                &self.cfg,
                &mut self.rng,
                &mut self.out,
            );
        }
        let silent = |p: &Peer| p.handshake_deadline().is_some_and(|d| d <= self.now);
        for conn in self.peers.keys_where(silent) {
            self.drop_peer(conn, true);
        }
        self.check_stalls();
        self.schedule();
    }

    fn on_playlist(&mut self, p: Playlist) {
        let key = identity::swarm_key(&p.manifest_url, self.cfg.swarm_id.as_deref()).to_owned();
        if self.content.as_ref().is_none_or(|c| c.key != key) {
            // New content (the first playlist, or another manifest): start afresh.
            self.abort_downloads();
            self.drop_peers();
            self.store.clear();
            self.claims.clear();
            let content = Content::new(key, self.cfg.swarm_id.is_some());
            if self.cfg.p2p {
                self.signalling
                    .set_swarm(content.info_hash, self.now, &mut self.out);
            }
            self.content = Some(content);
        }
        let Some(content) = &mut self.content else {
            return;
        };
        let (stream, stale) = content.update(p, self.now);
        for sn in stale {
            self.forget_segment(SegmentKey { stream, sn });
        }
    }

    /// A segment's resource changed under its number: drop what we hold or
    /// fetch for the old one, and let hls.js load requests for it itself.
    fn forget_segment(&mut self, key: SegmentKey) {
        if self.store.remove(key) {
            self.broadcast_have(&[], &[key]);
        }
        self.abort_download(key);
        self.hand_to_http(key);
    }

    fn on_channel_open(&mut self, conn: ConnId) {
        let Some(opened) = self.signalling.opened(conn) else {
            return;
        };
        let Some(content) = &self.content else {
            self.out.push_back(Output::CloseConnection { conn });
            return;
        };
        let mut peer = Peer::new(conn, opened.offered, self.now, self.cfg.validate_p2p);
        peer.send(
            &Message::Handshake {
                version: VERSION,
                peer_id: self.peer_id,
                swarm: content.info_hash,
            },
            &mut self.out,
        );
        for m in haves(&self.store.shared_ids(), &[]) {
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
                    && self.content.as_ref().is_some_and(|c| c.info_hash == swarm)
                    && peer_id != self.peer_id
                    && !self.penalties.banned(&peer_id);
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
            Message::Have {
                stream,
                added,
                removed,
            } => {
                for &sn in &added {
                    self.claims.forget(SegmentKey { stream, sn });
                }
                peer.apply_have(stream, &added, &removed);
            }
            Message::Fetching {
                stream,
                segment,
                hops,
            } => {
                let key = SegmentKey {
                    stream,
                    sn: segment,
                };
                // Only claims of segments our playlists list, or soon will,
                // travel on: a peer cannot make us spread claims of segments
                // nobody plays. And only claims worth waiting for here: one
                // hop farther, they would hold back no one.
                let ours = self
                    .content
                    .as_ref()
                    .and_then(|c| c.stream(stream))
                    .is_some_and(|s| s.lists_or_soon(segment, CLAIM_AHEAD_SEGMENTS));
                if self.claims.note(key, hops, self.now)
                    && hops < MAX_CLAIM_HOPS
                    && ours
                    && self.claimed(key, self.time_to_deadline(key))
                {
                    self.relay_fetching(key, hops + 1, Some(conn));
                }
            }
            Message::Request {
                req,
                stream,
                segment,
                fingerprint,
            } => {
                let key = SegmentKey {
                    stream,
                    sn: segment,
                };
                let data = if self.cfg.upload {
                    self.store
                        .get(key, fingerprint)
                        .filter(|s| s.shared)
                        .map(|s| s.data.clone())
                } else {
                    None
                };
                // The segment's duration prices it against the peer's budget;
                // one no longer in our playlists is priced beyond any budget.
                let media_ms = self.content.as_ref().and_then(|c| c.segment(key));
                let media_ms = media_ms.map_or(u64::MAX, |s| s.info.duration_ms);
                // Upload slots: a holder sending to every asker at once
                // finishes none of them in time; a refused asker takes the
                // segment from a peer that got it sooner, so a new segment
                // spreads as a tree, doubling its holders every upload.
                let slots_full =
                    self.peers.values().filter(|p| p.uploading()).count() >= self.cfg.upload_slots;
                let Some(peer) = self.peers.get_mut(&conn) else {
                    return;
                };
                let now = self.now;
                let data = data.filter(|_| peer.uploading() || !slots_full);
                let queued = data.is_some_and(|data| peer.queue_upload(req, data, media_ms, now));
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

    /// Forgets a peer. `close`: we drop it, and ask the shell to close the
    /// connection; otherwise the shell reported it closed.
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
        // Also after a channel that never shook hands: the other side may
        // be looking for us, and waiting a whole tracker interval is long.
        if self.peers.is_empty() {
            self.signalling.lost_last_peer();
        }
        for key in self.downloads.keys_where(|d| d.peer() == Some(conn)) {
            if close {
                self.fallback_to_http(key);
            } else {
                self.sender_left(key);
            }
        }
    }

    /// Closes every connection.
    fn drop_peers(&mut self) {
        for conn in self.peers.key_list() {
            self.drop_peer(conn, true);
        }
    }

    /// Forgets every transfer and aborts every fetch; requests waiting for
    /// one go to hls.js's loader. Called before dropping every peer (whose
    /// transfers would otherwise each go to HTTP, unrequested ones as
    /// fetches started only to be aborted), so peers get no `Cancel`.
    fn abort_downloads(&mut self) {
        for (key, d) in std::mem::take(&mut self.downloads) {
            if let Some(fetch) = d.fetch() {
                self.out.push_back(Output::HttpAbort { fetch });
            }
            self.hand_to_http(key);
        }
    }

    /// Tells every ready peer about a change in what we hold.
    fn broadcast_have(&mut self, added: &[SegmentKey], removed: &[SegmentKey]) {
        for m in haves(added, removed) {
            for p in self.peers.values_mut().filter(|p| p.ready()) {
                p.send(&m, &mut self.out);
            }
        }
    }
}

/// `Have` messages for a change in what we hold, one stream at a time.
fn haves(added: &[SegmentKey], removed: &[SegmentKey]) -> Vec<Message> {
    let mut streams: Vec<u64> = Vec::new();
    for key in added.iter().chain(removed) {
        if !streams.contains(&key.stream) {
            streams.push(key.stream);
        }
    }
    let sns = |keys: &[SegmentKey], stream: u64| {
        let mut sns = Vec::new();
        for k in keys.iter().filter(|k| k.stream == stream) {
            sns.push(k.sn);
        }
        sns
    };
    let mut messages = Vec::new();
    for s in streams {
        messages.extend(have_messages(s, &sns(added, s), &sns(removed, s)));
    }
    messages
}
