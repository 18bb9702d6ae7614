//! A deterministic in-process swarm: several engines exchanging messages over
//! simulated links (latency, per-peer uplink bandwidth), a simulated WebTorrent
//! tracker, a simulated HTTP origin publishing a live (or VOD) stream in one
//! or more levels, and simulated hls.js players that request segments in
//! order, play at real time, may switch levels, and load over HTTP what the
//! engine hands back to them. Every segment a player receives is checked
//! against the origin's bytes for its level. Time advances in 10 ms steps; no
//! threads, no sockets. For scale runs (`benches/swarm_scale.rs`) it also
//! models slow uplinks, pairs that cannot connect (NAT), per-pair latency and
//! churn.

use std::collections::BTreeMap;

use swarmcast_loader::engine::{
    ByteRange, Config, ConnId, Engine, FetchId, Input, Output, Playlist, RequestId, SegmentInfo,
    Source, StatsSnapshot, StreamKind, TrackerReply, TrackerRequest,
};
use swarmcast_protocol::ids::Id20;
use swarmcast_protocol::tracker::{
    AnnounceResponse, ClientMessage, RelayedAnswer, RelayedOffer, ServerMessage,
};

pub const SEG_MS: u64 = 2_000;
const STEP_MS: u64 = 10;
const LINK_LATENCY_MS: u64 = 25;
/// How long a connection between a blocked pair tries before failing (ICE).
const ICE_TIMEOUT_MS: u64 = 5_000;
const HTTP_RTT_MS: u64 = 60;
const SIGNAL_MS: u64 = 40;
const LIST_SIZE: u64 = 6;
const MANIFEST: &str = "http://origin/live/stream.m3u8";

/// Deterministic body of segment `sn` of `level`: ~100 KB (400 kbit/s at
/// 2 s), small enough to keep the suite fast, large enough to span several
/// 16 KiB chunks. Levels have the same numbers and lengths but other bytes,
/// so handing one level's segment for another's is caught.
pub fn segment_bytes(level: u64, sn: u64) -> Vec<u8> {
    (0..segment_len(sn))
        .map(|i| (i as u64 ^ sn.wrapping_mul(31) ^ level.wrapping_mul(0x5b)) as u8)
        .collect()
}

pub fn segment_len(sn: u64) -> usize {
    96_000 + (sn * 7_919 % 8_000) as usize
}

/// VOD: offset of segment `sn` inside the single byte-range file.
fn vod_offset(sn: u64) -> u64 {
    (0..sn).map(|s| segment_len(s) as u64).sum()
}

pub struct SimConfig {
    pub nodes: usize,
    pub live: bool,
    /// Levels of the stream; node `i` starts on level `i % levels`.
    pub levels: u64,
    /// Nodes that switch level every this many ms (cycling 0, 2, 1, 0, …).
    pub switchers: Vec<usize>,
    pub switch_every_ms: u64,
    /// VOD only: serve all segments as byte ranges of one file.
    pub byte_ranges: bool,
    pub engine: Config,
    /// Per-node uplink and origin download speed, bytes per ms.
    pub uplink: u64,
    pub origin_speed: u64,
    /// Node joins are spread over this many ms.
    pub join_spread_ms: u64,
    pub seed: u64,
    /// Share of nodes (0..=1) whose uplink is `slow_uplink` instead of `uplink`.
    pub slow_share: f64,
    pub slow_uplink: u64,
    /// Share of node pairs that can never connect (both behind strict NATs).
    pub blocked_pairs: f64,
    /// Extra one-way latency per pair, up to this many ms (0: every link
    /// has `LINK_LATENCY_MS`).
    pub latency_spread_ms: u64,
    /// Churn: every this many ms one viewer leaves and a new one joins, while
    /// spare nodes last (nodes beyond `viewers` start as spares).
    pub churn_every_ms: Option<u64>,
    pub viewers: Option<usize>,
}

impl SimConfig {
    pub fn live(nodes: usize) -> SimConfig {
        SimConfig {
            nodes,
            live: true,
            levels: 1,
            switchers: Vec::new(),
            switch_every_ms: 5_000,
            byte_ranges: false,
            engine: Config {
                trackers: vec!["ws://tracker".into()],
                ..Config::default()
            },
            uplink: 1_000,
            origin_speed: 1_000,
            join_spread_ms: 3_000,
            seed: 1,
            slow_share: 0.0,
            slow_uplink: 1_000,
            blocked_pairs: 0.0,
            latency_spread_ms: 0,
            churn_every_ms: None,
            viewers: None,
        }
    }
}

/// A request the player is waiting on.
#[derive(Clone, Copy)]
struct Waiting {
    req: RequestId,
    level: u64,
    sn: u64,
}

struct Player {
    level: u64,
    /// The newest segment of the last playlist given to the engine: like
    /// hls.js, the player asks only for what its playlist lists.
    listed: Option<u64>,
    /// When the player last switched level.
    switched_at: u64,
    /// Next sequence number to request, and the one awaiting an answer.
    next_sn: Option<u64>,
    waiting: Option<Waiting>,
    /// Media time at which playback started, and wall time then.
    play: Option<(u64, u64)>,
    phase: u64,
    next_req: u32,
}

struct Node {
    engine: Engine,
    alive: bool,
    joined: bool,
    join_at: u64,
    player: Player,
    /// Bytes per ms this node can upload.
    uplink: u64,
    uplink_free: u64,
    /// conn -> (remote node, remote conn), once both ends exist.
    links: BTreeMap<ConnId, (usize, ConnId)>,
    /// Bytes queued on each channel and not yet sent (`bufferedAmount`).
    buffered: BTreeMap<ConnId, usize>,
    timer: Option<u64>,
    /// Segments that arrived, and whether in time.
    pub misses: Vec<u64>,
    pub delivered: u64,
    pub rejected: u64,
    /// Segments that arrived after a level switch (counted per source).
    pub after_switch: (u64, u64),
}

enum Ev {
    Input(usize, Input),
    Tracker(usize, TrackerRequest),
    /// hls.js's own loader finished a request the engine handed to it.
    HlsLoaded(usize, RequestId, Vec<u8>),
    /// A message of this many bytes left node's channel `conn`.
    Sent(usize, ConnId, usize),
}

pub struct Sim {
    pub cfg: SimConfig,
    pub now: u64,
    t0: u64,
    nodes: Vec<Node>,
    queue: BTreeMap<(u64, u64), Ev>,
    seq: u64,
    /// info_hash (latin1 string) -> peer_id string -> node index.
    swarms: BTreeMap<Id20, BTreeMap<Id20, usize>>,
    /// (node, fetch) still in flight: aborted ones are removed.
    fetches: BTreeMap<(usize, u32), ()>,
    pub origin_bytes: u64,
    /// Origin bytes hls.js's loader fetched (requests the engine handed back).
    pub handed_bytes: u64,
    /// Announces and relayed offers/answers the tracker handled.
    pub tracker_messages: u64,
    /// Engine inputs handled, over all nodes.
    pub inputs: u64,
    /// Segments the origin served, by (level, sn): the distinct ones.
    pub served: BTreeMap<(u64, u64), u64>,
    next_churn: u64,
    rng: u64,
}

impl Sim {
    pub fn new(cfg: SimConfig) -> Sim {
        let mut sim = Sim {
            now: 0,
            t0: 10_000,
            nodes: Vec::new(),
            queue: BTreeMap::new(),
            seq: 0,
            swarms: BTreeMap::new(),
            fetches: BTreeMap::new(),
            origin_bytes: 0,
            handed_bytes: 0,
            tracker_messages: 0,
            inputs: 0,
            served: BTreeMap::new(),
            next_churn: 0,
            rng: cfg.seed,
            cfg,
        };
        let viewers = sim.cfg.viewers.unwrap_or(sim.cfg.nodes);
        for i in 0..sim.cfg.nodes {
            let phase = sim.rand() % SEG_MS;
            // Viewers arrive once the live playlist is full; spares wait for churn.
            let join_at = if i < viewers {
                sim.t0 + LIST_SIZE * SEG_MS + sim.rand() % sim.cfg.join_spread_ms.max(1)
            } else {
                u64::MAX
            };
            // Drawn only when asked for, so other runs keep their random sequence.
            let slow = sim.cfg.slow_share > 0.0
                && (sim.rand() % 1000) as f64 / 1000.0 < sim.cfg.slow_share;
            let uplink = if slow {
                sim.cfg.slow_uplink
            } else {
                sim.cfg.uplink
            };
            let engine = Engine::new(sim.cfg.engine.clone(), sim.cfg.seed * 1000 + i as u64, 0);
            sim.nodes.push(Node {
                engine,
                alive: true,
                joined: false,
                join_at,
                player: Player {
                    level: i as u64 % sim.cfg.levels.max(1),
                    listed: None,
                    switched_at: 0,
                    next_sn: None,
                    waiting: None,
                    play: None,
                    phase,
                    next_req: 1,
                },
                uplink,
                uplink_free: 0,
                links: BTreeMap::new(),
                buffered: BTreeMap::new(),
                timer: None,
                misses: Vec::new(),
                delivered: 0,
                rejected: 0,
                after_switch: (0, 0),
            });
        }
        sim.next_churn = sim.t0 + LIST_SIZE * SEG_MS + sim.cfg.join_spread_ms;
        sim
    }

    /// A stable pseudo-random value in 0..1000 for the unordered pair (i, j).
    fn pair_hash(&self, i: usize, j: usize, salt: u64) -> u64 {
        let (a, b) = (i.min(j) as u64, i.max(j) as u64);
        let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(salt ^ self.cfg.seed);
        x ^= x >> 31;
        x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        (x ^ (x >> 29)) % 1000
    }

    fn blocked(&self, i: usize, j: usize) -> bool {
        (self.pair_hash(i, j, 1) as f64) < self.cfg.blocked_pairs * 1000.0
    }

    /// One-way latency between nodes `i` and `j`.
    fn latency(&self, i: usize, j: usize) -> u64 {
        LINK_LATENCY_MS + self.pair_hash(i, j, 2) * self.cfg.latency_spread_ms / 1000
    }

    /// Every node ever created: viewers, leavers and spares.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Deadline misses of every node, including those that left.
    pub fn miss_count(&self) -> usize {
        self.nodes.iter().map(|n| n.misses.len()).sum()
    }

    /// Nodes that have joined and not left.
    pub fn watching(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].alive && self.nodes[i].joined)
    }

    /// Media time node `i` plays now, once it started.
    pub fn position(&self, i: usize) -> Option<u64> {
        let (pos, t) = self.nodes[i].player.play?;
        Some(pos + (self.now - t))
    }

    /// How far node `i` plays behind the newest segment's end, in ms.
    pub fn behind_live(&self, i: usize) -> Option<u64> {
        let edge = (self.newest_sn()? + 1) * SEG_MS;
        Some(edge.saturating_sub(self.position(i)?))
    }

    /// Bytes of the distinct segments the origin served.
    pub fn distinct_bytes(&self) -> u64 {
        self.served.values().sum()
    }

    /// One churn event: a random watching node leaves, a spare joins now.
    fn churn(&mut self) {
        let Some(every) = self.cfg.churn_every_ms else {
            return;
        };
        if self.now < self.next_churn {
            return;
        }
        self.next_churn = self.now + every;
        let Some(spare) = (0..self.nodes.len()).find(|&i| self.nodes[i].join_at == u64::MAX) else {
            return;
        };
        let watching: Vec<usize> = self.watching().collect();
        if watching.is_empty() {
            return;
        }
        let leaving = watching[self.rand() as usize % watching.len()];
        self.leave(leaving);
        self.nodes[spare].join_at = self.now;
    }

    fn rand(&mut self) -> u64 {
        self.rng = self
            .rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.rng >> 33
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((t, self.seq), ev);
    }

    /// Makes node `i` corrupt what it uploads (must be set before it joins).
    pub fn corrupt(&mut self, i: usize) {
        let mut cfg = self.cfg.engine.clone();
        cfg.corrupt_uploads = true;
        self.nodes[i].engine = Engine::new(cfg, 999, 0);
    }

    pub fn stats(&self, i: usize) -> StatsSnapshot {
        self.nodes[i].engine.stats()
    }

    pub fn misses(&self) -> Vec<(usize, u64)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.alive)
            .flat_map(|(i, n)| n.misses.iter().map(move |s| (i, *s)))
            .collect()
    }

    pub fn delivered(&self, i: usize) -> u64 {
        self.nodes[i].delivered
    }

    pub fn rejected(&self, i: usize) -> u64 {
        self.nodes[i].rejected
    }

    /// Segments node `i` received within one segment after a level switch:
    /// (from peers, all).
    pub fn after_switch(&self, i: usize) -> (u64, u64) {
        self.nodes[i].after_switch
    }

    pub fn alive(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].alive)
    }

    /// Kills node `i` abruptly: its peers see their channels close.
    pub fn leave(&mut self, i: usize) {
        self.nodes[i].alive = false;
        let links: Vec<_> = self.nodes[i].links.values().copied().collect();
        for (j, cj) in links {
            self.at(
                self.now + self.latency(i, j),
                Ev::Input(j, Input::ChannelClosed { conn: cj }),
            );
        }
        for peers in self.swarms.values_mut() {
            peers.retain(|_, n| *n != i);
        }
    }

    /// A live node currently sending segment data to some peer.
    pub fn mid_upload(&self) -> Option<usize> {
        self.queue.values().find_map(|e| match e {
            Ev::Input(j, Input::ChannelMessage { conn, data }) if data.first() == Some(&5) => {
                let (i, _) = *self.nodes[*j].links.get(conn)?;
                self.nodes[i].alive.then_some(i)
            }
            _ => None,
        })
    }

    fn newest_sn(&self) -> Option<u64> {
        if self.now < self.t0 {
            return None;
        }
        ((self.now - self.t0) / SEG_MS).checked_sub(1)
    }

    fn playlist(&self, level: u64) -> Playlist {
        let segments: Vec<SegmentInfo> = if self.cfg.live {
            let newest = self.newest_sn().unwrap_or(0);
            (newest.saturating_sub(LIST_SIZE - 1)..=newest)
                .map(|sn| self.segment_info(level, sn))
                .collect()
        } else {
            (0..60).map(|sn| self.segment_info(level, sn)).collect()
        };
        Playlist {
            manifest_url: MANIFEST.into(),
            stream: format!("{MANIFEST}/L{level}.m3u8"),
            kind: StreamKind::Main,
            live: self.cfg.live,
            segments,
        }
    }

    fn segment_info(&self, level: u64, sn: u64) -> SegmentInfo {
        if self.cfg.byte_ranges {
            let start = vod_offset(sn);
            SegmentInfo {
                sn,
                url: format!("http://origin/vod/L{level}/all.ts"),
                range: Some(ByteRange {
                    start,
                    end: start + segment_len(sn) as u64,
                }),
                start_ms: sn * SEG_MS,
                duration_ms: SEG_MS,
            }
        } else {
            SegmentInfo {
                sn,
                url: format!("http://origin/live/L{level}/seg_{sn}.ts"),
                range: None,
                start_ms: sn * SEG_MS,
                duration_ms: SEG_MS,
            }
        }
    }

    /// Origin content of a URL + range.
    fn origin(&self, url: &str, range: Option<ByteRange>) -> Vec<u8> {
        let level = level_of(url);
        if url.ends_with("all.ts") {
            // Ranges in this simulation always cover whole segments.
            let r = range.expect("VOD file is fetched by range");
            let first = (0..60).find(|&s| vod_offset(s + 1) > r.start).unwrap();
            let mut body = Vec::new();
            let mut sn = first;
            while vod_offset(sn) < r.end {
                body.extend(segment_bytes(level, sn));
                sn += 1;
            }
            let skip = (r.start - vod_offset(first)) as usize;
            return body[skip..skip + (r.end - r.start) as usize].to_vec();
        }
        let body = {
            let sn: u64 = url
                .rsplit("seg_")
                .next()
                .and_then(|s| s.trim_end_matches(".ts").parse().ok())
                .unwrap();
            segment_bytes(level, sn)
        };
        match range {
            Some(r) => body[r.start as usize..r.end as usize].to_vec(),
            None => body,
        }
    }

    pub fn run_until(&mut self, end: u64) {
        while self.now < end {
            self.now += STEP_MS;
            self.step();
        }
    }

    fn step(&mut self) {
        let now = self.now;
        self.churn();
        // Joins, playlist refreshes and playback reports.
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                continue;
            }
            if !self.nodes[i].joined && now >= self.nodes[i].join_at {
                self.nodes[i].joined = true;
            }
            if !self.nodes[i].joined {
                continue;
            }
            let switch = self.cfg.switchers.contains(&i)
                && self.nodes[i].player.play.is_some()
                && now >= self.nodes[i].player.switched_at + self.cfg.switch_every_ms;
            if switch {
                // 0, 2, 1, 0, …: up, down, and back to a level loaded before.
                let player = &mut self.nodes[i].player;
                player.level = (player.level + 2) % self.cfg.levels;
                player.switched_at = now;
            }
            let refresh =
                self.cfg.live && now % SEG_MS == self.nodes[i].player.phase / STEP_MS * STEP_MS;
            if refresh || switch || self.nodes[i].player.next_sn.is_none() {
                let p = self.playlist(self.nodes[i].player.level);
                self.input(i, Input::Playlist(p.clone()));
                let player = &mut self.nodes[i].player;
                player.listed = p.segments.last().map(|s| s.sn);
                if player.next_sn.is_none() {
                    let newest = p.segments.last().map_or(0, |s| s.sn);
                    player.next_sn = Some(if self.cfg.live {
                        newest.saturating_sub(2)
                    } else {
                        0
                    });
                }
                if let Some((pos, t)) = player.play {
                    let position = pos + (now - t);
                    self.input(
                        i,
                        Input::Playback {
                            position_ms: position,
                            playing: true,
                        },
                    );
                }
            }
            self.request_next(i);
        }
        // Queued deliveries.
        while let Some((&(t, s), _)) = self.queue.iter().next() {
            if t > now {
                break;
            }
            let ev = self.queue.remove(&(t, s)).unwrap();
            match ev {
                Ev::Input(i, input) => {
                    if let Input::HttpLoaded { fetch, .. } = &input {
                        if self.fetches.remove(&(i, fetch.0)).is_none() {
                            continue;
                        }
                    }
                    if self.nodes[i].alive {
                        self.input(i, input);
                    }
                }
                Ev::Tracker(i, request) => self.tracker(i, request),
                Ev::Sent(i, conn, len) => {
                    // Like the browser: `bufferedamountlow` fires when the
                    // buffered amount falls to the threshold.
                    let low = self.cfg.engine.channel_low_water;
                    let buffered = self.nodes[i].buffered.entry(conn).or_default();
                    let crossed = *buffered > low && *buffered - len <= low;
                    *buffered -= len;
                    if crossed && self.nodes[i].alive {
                        self.input(i, Input::ChannelBufferedLow { conn });
                    }
                }
                Ev::HlsLoaded(i, req, data) => {
                    let waits = self.nodes[i].player.waiting.filter(|w| w.req == req);
                    if let (true, Some(w)) = (self.nodes[i].alive, waits) {
                        self.input(
                            i,
                            Input::RequestLoaded {
                                req,
                                data: data.clone(),
                            },
                        );
                        self.played(i, w, &data, Source::Http);
                    }
                }
            }
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].alive && self.nodes[i].timer.is_some_and(|t| t <= now) {
                self.input(i, Input::Tick);
            }
        }
    }

    fn request_next(&mut self, i: usize) {
        let player = &self.nodes[i].player;
        let (Some(sn), None) = (player.next_sn, player.waiting) else {
            return;
        };
        let available = player.listed.is_some_and(|n| sn <= n);
        // hls.js keeps about 30 s of buffer ahead.
        let buffered_enough = player
            .play
            .is_some_and(|(pos, t)| sn * SEG_MS > pos + (self.now - t) + 30_000);
        if !available || buffered_enough {
            return;
        }
        let req = RequestId(player.next_req);
        let level = player.level;
        self.nodes[i].player.next_req += 1;
        self.nodes[i].player.waiting = Some(Waiting { req, level, sn });
        let info = self.segment_info(level, sn);
        self.input(
            i,
            Input::SegmentRequest {
                req,
                stream: format!("{MANIFEST}/L{level}.m3u8"),
                sn,
                url: info.url,
                range: info.range,
            },
        );
    }

    fn input(&mut self, i: usize, input: Input) {
        self.inputs += 1;
        self.nodes[i].engine.handle_input(self.now, input);
        while let Some(out) = self.nodes[i].engine.poll_output() {
            self.output(i, out);
        }
        self.nodes[i].timer = self.nodes[i].engine.poll_timeout();
    }

    fn output(&mut self, i: usize, out: Output) {
        let now = self.now;
        match out {
            Output::TrackerConnect { tracker, .. } => self.at(
                now + SIGNAL_MS,
                Ev::Input(i, Input::TrackerConnected { tracker }),
            ),
            Output::TrackerSend { message, .. } => {
                self.at(now + SIGNAL_MS, Ev::Tracker(i, *message))
            }
            Output::TrackerClose { .. } => {}
            Output::CreateOffer { conn } => self.at(
                now + 20,
                Ev::Input(
                    i,
                    Input::OfferCreated {
                        conn,
                        sdp: format!("{i} {}", conn.0),
                    },
                ),
            ),
            Output::CreateAnswer { conn, offer_sdp } => {
                let (j, cj) = parse_sdp(&offer_sdp);
                self.nodes[i].links.insert(conn, (j, cj));
                self.at(
                    now + 20,
                    Ev::Input(
                        i,
                        Input::AnswerCreated {
                            conn,
                            sdp: format!("{i} {}", conn.0),
                        },
                    ),
                );
            }
            Output::ApplyAnswer { conn, answer_sdp } => {
                let (j, cj) = parse_sdp(&answer_sdp);
                if !self.nodes[j].alive || !self.nodes[j].links.contains_key(&cj) {
                    self.at(now + 50, Ev::Input(i, Input::ConnectionFailed { conn }));
                    return;
                }
                if self.blocked(i, j) {
                    // Both ends try until ICE gives up.
                    self.nodes[j].links.remove(&cj);
                    let t = now + ICE_TIMEOUT_MS;
                    self.at(t, Ev::Input(i, Input::ConnectionFailed { conn }));
                    self.at(t, Ev::Input(j, Input::ConnectionFailed { conn: cj }));
                    return;
                }
                self.nodes[i].links.insert(conn, (j, cj));
                // DTLS and SCTP handshakes: a round trip and then some.
                let open = now + 10 + 2 * self.latency(i, j);
                self.at(open, Ev::Input(i, Input::ChannelOpen { conn }));
                self.at(open, Ev::Input(j, Input::ChannelOpen { conn: cj }));
            }
            Output::CloseConnection { conn } => {
                if let Some((j, cj)) = self.nodes[i].links.remove(&conn) {
                    if self.nodes[j].links.remove(&cj).is_some() {
                        self.at(
                            now + self.latency(i, j),
                            Ev::Input(j, Input::ChannelClosed { conn: cj }),
                        );
                    }
                }
            }
            Output::SendData { conn, data } => {
                let Some(&(j, cj)) = self.nodes[i].links.get(&conn) else {
                    return;
                };
                let start = self.nodes[i].uplink_free.max(now);
                let sent = start + data.len() as u64 / self.nodes[i].uplink;
                self.nodes[i].uplink_free = sent;
                *self.nodes[i].buffered.entry(conn).or_default() += data.len();
                self.at(sent, Ev::Sent(i, conn, data.len()));
                self.at(
                    sent + self.latency(i, j),
                    Ev::Input(j, Input::ChannelMessage { conn: cj, data }),
                );
            }
            Output::NotifyWhenDrained { conn } => {
                // Like the browser shell: now if the buffer is already low,
                // else `bufferedamountlow` will (see `Ev::Sent`).
                let buffered = self.nodes[i].buffered.get(&conn).copied().unwrap_or(0);
                if buffered <= self.cfg.engine.channel_low_water {
                    self.at(now, Ev::Input(i, Input::ChannelBufferedLow { conn }));
                }
            }
            Output::HttpFetch { fetch, url, range } => self.http(i, fetch, &url, range),
            Output::HttpAbort { fetch } => {
                self.fetches.remove(&(i, fetch.0));
            }
            Output::Deliver {
                req, data, source, ..
            } => self.on_deliver(i, req, data, source),
            Output::LoadOverHttp { req } => {
                let w = self.nodes[i].player.waiting.expect("handed a request");
                assert_eq!(w.req, req, "handed a request the player did not make");
                let info = self.segment_info(w.level, w.sn);
                let body = self.origin(&info.url, info.range);
                self.origin_bytes += body.len() as u64;
                self.handed_bytes += body.len() as u64;
                self.served.insert((w.level, w.sn), body.len() as u64);
                let t = self.now + HTTP_RTT_MS + body.len() as u64 / self.cfg.origin_speed;
                self.at(t, Ev::HlsLoaded(i, req, body));
            }
            Output::Event(_) => {}
        }
    }

    fn http(&mut self, i: usize, fetch: FetchId, url: &str, range: Option<ByteRange>) {
        let body = self.origin(url, range);
        self.fetches.insert((i, fetch.0), ());
        self.origin_bytes += body.len() as u64;
        self.served
            .insert((level_of(url), url_key(url, range)), body.len() as u64);
        let first_byte = self.now + HTTP_RTT_MS;
        let t = first_byte + body.len() as u64 / self.cfg.origin_speed;
        let input = Input::HttpLoaded {
            fetch,
            data: body,
            first_byte,
        };
        self.at(t, Ev::Input(i, input));
    }

    fn on_deliver(&mut self, i: usize, req: RequestId, data: Vec<u8>, source: Source) {
        let Some(w) = self.nodes[i].player.waiting else {
            return;
        };
        assert_eq!(w.req, req, "answer for a request the player did not make");
        if data != segment_bytes(w.level, w.sn) {
            assert!(matches!(source, Source::P2p(_)), "HTTP delivered bad data");
            // The JS validateSegment hook.
            self.nodes[i].rejected += 1;
            self.input(i, Input::SegmentRejected { req });
            return;
        }
        self.played(i, w, &data, source);
    }

    /// The player got `data` for its waiting request: it must be exactly
    /// that level's segment, never another stream's.
    fn played(&mut self, i: usize, w: Waiting, data: &[u8], source: Source) {
        for level in 0..self.cfg.levels {
            if level != w.level {
                assert!(
                    data != segment_bytes(level, w.sn),
                    "node {i} got level {level}'s sn {} for level {}",
                    w.sn,
                    w.level
                );
            }
        }
        assert_eq!(data, segment_bytes(w.level, w.sn), "node {i}: wrong bytes");
        let now = self.now;
        let node = &mut self.nodes[i];
        node.delivered += 1;
        if node.player.switched_at > 0 && now < node.player.switched_at + 2 * SEG_MS {
            node.after_switch.1 += 1;
            if matches!(source, Source::P2p(_)) {
                node.after_switch.0 += 1;
            }
        }
        let sn = w.sn;
        node.player.waiting = None;
        node.player.next_sn = Some(sn + 1);
        match node.player.play {
            None => node.player.play = Some((sn * SEG_MS, now)),
            Some((pos, t)) => {
                if now > t + (sn * SEG_MS - pos) {
                    node.misses.push(sn);
                }
            }
        }
        if let Some((pos, t)) = node.player.play {
            let position = pos + (now - t);
            self.input(
                i,
                Input::Playback {
                    position_ms: position,
                    playing: true,
                },
            );
        }
    }

    /// A minimal WebTorrent tracker: replies with an interval, relays each
    /// offer to a distinct other peer, relays answers to their offerer.
    fn tracker(&mut self, from: usize, request: TrackerRequest) {
        let ClientMessage::Announce(a) = request else {
            return;
        };
        self.tracker_messages += 1;
        let (hash, me) = (a.info_hash, a.peer_id);
        self.swarms.entry(hash).or_default().insert(me, from);
        if let Some(answer) = a.answer {
            let Some(&j) = self.swarms[&hash].get(&answer.to_peer_id) else {
                return;
            };
            let msg = ServerMessage::Answer(RelayedAnswer {
                action: Default::default(),
                info_hash: hash,
                peer_id: me,
                offer_id: answer.offer_id,
                answer: answer.answer,
            });
            self.at(self.now + SIGNAL_MS, Ev::Input(j, tracker_msg(msg)));
            return;
        }
        let reply = ServerMessage::Announce(AnnounceResponse {
            action: Default::default(),
            info_hash: hash,
            interval: 120,
            complete: 0,
            incomplete: self.swarms[&hash].len() as u32,
        });
        self.at(self.now + SIGNAL_MS, Ev::Input(from, tracker_msg(reply)));
        let others: Vec<usize> = self.swarms[&hash]
            .iter()
            .filter(|(p, _)| **p != me)
            .map(|(_, n)| *n)
            .collect();
        // Like the reference tracker: each offer to a distinct random peer.
        let r = self.rand() as usize;
        for (k, offer) in a.offers.into_iter().enumerate().take(others.len()) {
            let j = others[(k + r) % others.len()];
            let msg = ServerMessage::Offer(RelayedOffer {
                action: Default::default(),
                info_hash: hash,
                peer_id: me,
                offer_id: offer.offer_id,
                offer: offer.offer,
            });
            self.at(self.now + SIGNAL_MS, Ev::Input(j, tracker_msg(msg)));
        }
    }
}

fn tracker_msg(message: TrackerReply) -> Input {
    Input::TrackerMessage {
        tracker: swarmcast_loader::engine::TrackerId(0),
        message,
    }
}

/// The level in a simulated origin URL (".../L<level>/...").
fn level_of(url: &str) -> u64 {
    let at = url.find("/L").expect("level in URL") + 2;
    url[at..at + 1].parse().unwrap()
}

/// A key for a fetched URL and range within its level: the segment number
/// for whole-segment URLs, the range start for byte ranges.
fn url_key(url: &str, range: Option<ByteRange>) -> u64 {
    match range {
        Some(r) => (0..60)
            .find(|&s| vod_offset(s) == r.start)
            .unwrap_or(r.start),
        None => url
            .rsplit("seg_")
            .next()
            .and_then(|s| s.trim_end_matches(".ts").parse().ok())
            .unwrap(),
    }
}

/// Our fake SDP is "node conn".
fn parse_sdp(sdp: &str) -> (usize, ConnId) {
    let mut it = sdp.split(' ');
    let node = it.next().unwrap().parse().unwrap();
    let conn = it.next().unwrap().parse().unwrap();
    (node, ConnId(conn))
}

/// Sum of HTTP and P2P bytes over live nodes.
pub fn totals(sim: &Sim) -> (u64, u64) {
    sim.alive().fold((0, 0), |(h, p), i| {
        let s = sim.stats(i);
        (h + s.http_down, p + s.p2p_down)
    })
}
