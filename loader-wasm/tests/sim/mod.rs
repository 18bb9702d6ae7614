//! A deterministic in-process swarm: several engines exchanging messages over
//! simulated links (latency, per-peer uplink bandwidth), a simulated WebTorrent
//! tracker, a simulated HTTP origin publishing a live (or VOD) playlist, and
//! simulated hls.js players that request segments in order and play at real
//! time. Time advances in 10 ms steps; no threads, no sockets.

use std::collections::BTreeMap;

use swarmcast_loader::engine::{
    ByteRange, Config, ConnId, Engine, FetchId, Input, Output, Playlist, RequestId, SegmentInfo,
    Source, StatsSnapshot, TrackerReply, TrackerRequest,
};
use swarmcast_protocol::ids::Id20;
use swarmcast_protocol::tracker::{
    AnnounceResponse, ClientMessage, RelayedAnswer, RelayedOffer, ServerMessage,
};

pub const SEG_MS: u64 = 2_000;
const STEP_MS: u64 = 10;
const LINK_LATENCY_MS: u64 = 25;
const HTTP_RTT_MS: u64 = 60;
const SIGNAL_MS: u64 = 40;
const LIST_SIZE: u64 = 6;
const MANIFEST: &str = "http://origin/live/stream.m3u8";

/// Deterministic body of segment `sn`: ~100 KB (400 kbit/s at 2 s), small
/// enough to keep the suite fast, large enough to span several 16 KiB chunks.
pub fn segment_bytes(sn: u64) -> Vec<u8> {
    (0..segment_len(sn))
        .map(|i| (i as u64 ^ sn.wrapping_mul(31)) as u8)
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
    /// VOD only: serve all segments as byte ranges of one file.
    pub byte_ranges: bool,
    pub engine: Config,
    /// Per-node uplink and origin download speed, bytes per ms.
    pub uplink: u64,
    pub origin_speed: u64,
    /// Node joins are spread over this many ms.
    pub join_spread_ms: u64,
    pub seed: u64,
}

impl SimConfig {
    pub fn live(nodes: usize) -> SimConfig {
        SimConfig {
            nodes,
            live: true,
            byte_ranges: false,
            engine: Config {
                trackers: vec!["ws://tracker".into()],
                ..Config::default()
            },
            uplink: 1_000,
            origin_speed: 1_000,
            join_spread_ms: 3_000,
            seed: 1,
        }
    }
}

struct Player {
    /// Next sequence number to request, and the one awaiting an answer.
    next_sn: Option<u64>,
    waiting: Option<(RequestId, u64)>,
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
    uplink_free: u64,
    /// conn -> (remote node, remote conn), once both ends exist.
    links: BTreeMap<ConnId, (usize, ConnId)>,
    timer: Option<u64>,
    /// Segments that arrived, and whether in time.
    pub misses: Vec<u64>,
    pub delivered: u64,
    pub rejected: u64,
}

enum Ev {
    Input(usize, Input),
    Tracker(usize, TrackerRequest),
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
            rng: cfg.seed,
            cfg,
        };
        for i in 0..sim.cfg.nodes {
            let phase = sim.rand() % SEG_MS;
            // Viewers arrive once the live playlist is full.
            let join_at = sim.t0 + LIST_SIZE * SEG_MS + sim.rand() % sim.cfg.join_spread_ms.max(1);
            let engine = Engine::new(sim.cfg.engine.clone(), sim.cfg.seed * 1000 + i as u64, 0);
            sim.nodes.push(Node {
                engine,
                alive: true,
                joined: false,
                join_at,
                player: Player {
                    next_sn: None,
                    waiting: None,
                    play: None,
                    phase,
                    next_req: 1,
                },
                uplink_free: 0,
                links: BTreeMap::new(),
                timer: None,
                misses: Vec::new(),
                delivered: 0,
                rejected: 0,
            });
        }
        sim
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

    pub fn alive(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|&i| self.nodes[i].alive)
    }

    /// Kills node `i` abruptly: its peers see their channels close.
    pub fn leave(&mut self, i: usize) {
        self.nodes[i].alive = false;
        let links: Vec<_> = self.nodes[i].links.values().copied().collect();
        for (j, cj) in links {
            self.at(
                self.now + LINK_LATENCY_MS,
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

    fn playlist(&self) -> Playlist {
        let segments: Vec<SegmentInfo> = if self.cfg.live {
            let newest = self.newest_sn().unwrap_or(0);
            (newest.saturating_sub(LIST_SIZE - 1)..=newest)
                .map(|sn| self.segment_info(sn))
                .collect()
        } else {
            (0..60).map(|sn| self.segment_info(sn)).collect()
        };
        Playlist {
            manifest_url: format!("{MANIFEST}?token=abc"),
            rendition: "360p".into(),
            live: self.cfg.live,
            segments,
        }
    }

    fn segment_info(&self, sn: u64) -> SegmentInfo {
        if self.cfg.byte_ranges {
            let start = vod_offset(sn);
            SegmentInfo {
                sn,
                url: "http://origin/vod/all.ts".into(),
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
                url: format!("http://origin/live/seg_{sn}.ts"),
                range: None,
                start_ms: sn * SEG_MS,
                duration_ms: SEG_MS,
            }
        }
    }

    /// Origin content of a URL + range.
    fn origin(&self, url: &str, range: Option<ByteRange>) -> Vec<u8> {
        if url.ends_with("all.ts") {
            // Ranges in this simulation always cover whole segments.
            let r = range.expect("VOD file is fetched by range");
            let first = (0..60).find(|&s| vod_offset(s + 1) > r.start).unwrap();
            let mut body = Vec::new();
            let mut sn = first;
            while vod_offset(sn) < r.end {
                body.extend(segment_bytes(sn));
                sn += 1;
            }
            let skip = (r.start - vod_offset(first)) as usize;
            return body[skip..skip + (r.end - r.start) as usize].to_vec();
        }
        let body = {
            let sn: u64 = url
                .trim_start_matches("http://origin/live/seg_")
                .trim_end_matches(".ts")
                .parse()
                .unwrap();
            segment_bytes(sn)
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
            let refresh =
                self.cfg.live && now % SEG_MS == self.nodes[i].player.phase / STEP_MS * STEP_MS;
            if refresh || self.nodes[i].player.next_sn.is_none() {
                let p = self.playlist();
                self.input(i, Input::Playlist(p.clone()));
                let player = &mut self.nodes[i].player;
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
                    if let Input::HttpStarted { fetch, .. }
                    | Input::HttpChunk { fetch, .. }
                    | Input::HttpDone { fetch } = &input
                    {
                        if !self.fetches.contains_key(&(i, fetch.0)) {
                            continue;
                        }
                        if matches!(input, Input::HttpDone { .. }) {
                            self.fetches.remove(&(i, fetch.0));
                        }
                    }
                    if self.nodes[i].alive {
                        self.input(i, input);
                    }
                }
                Ev::Tracker(i, request) => self.tracker(i, request),
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
        let available = if self.cfg.live {
            self.newest_sn().is_some_and(|n| sn <= n)
        } else {
            sn < 60
        };
        // hls.js keeps about 30 s of buffer ahead.
        let buffered_enough = player
            .play
            .is_some_and(|(pos, t)| sn * SEG_MS > pos + (self.now - t) + 30_000);
        if !available || buffered_enough {
            return;
        }
        let req = RequestId(player.next_req);
        self.nodes[i].player.next_req += 1;
        self.nodes[i].player.waiting = Some((req, sn));
        let info = self.segment_info(sn);
        self.input(
            i,
            Input::SegmentRequest {
                req,
                sn,
                rendition: "360p".into(),
                url: info.url,
                range: info.range,
            },
        );
    }

    fn input(&mut self, i: usize, input: Input) {
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
                self.nodes[i].links.insert(conn, (j, cj));
                self.at(now + 60, Ev::Input(i, Input::ChannelOpen { conn }));
                self.at(now + 60, Ev::Input(j, Input::ChannelOpen { conn: cj }));
            }
            Output::CloseConnection { conn } => {
                if let Some((j, cj)) = self.nodes[i].links.remove(&conn) {
                    if self.nodes[j].links.remove(&cj).is_some() {
                        self.at(
                            now + LINK_LATENCY_MS,
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
                let sent = start + data.len() as u64 / self.cfg.uplink;
                self.nodes[i].uplink_free = sent;
                self.at(sent, Ev::Input(i, Input::ChannelBufferedLow { conn }));
                self.at(
                    sent + LINK_LATENCY_MS,
                    Ev::Input(j, Input::ChannelMessage { conn: cj, data }),
                );
            }
            Output::HttpFetch { fetch, url, range } => self.http(i, fetch, &url, range),
            Output::HttpAbort { fetch } => {
                self.fetches.remove(&(i, fetch.0));
            }
            Output::Deliver {
                req, data, source, ..
            } => self.on_deliver(i, req, data, source),
            Output::FailRequest { req, .. } => {
                // hls.js would retry; the simulation asks again.
                if self.nodes[i].player.waiting.is_some_and(|w| w.0 == req) {
                    self.nodes[i].player.waiting = None;
                }
            }
            Output::Event(_) => {}
        }
    }

    fn http(&mut self, i: usize, fetch: FetchId, url: &str, range: Option<ByteRange>) {
        let body = self.origin(url, range);
        self.fetches.insert((i, fetch.0), ());
        let status = if range.is_some() { 206 } else { 200 };
        let mut t = self.now + HTTP_RTT_MS;
        let total = Some(body.len() as u64);
        self.at(
            t,
            Ev::Input(
                i,
                Input::HttpStarted {
                    fetch,
                    status,
                    total,
                },
            ),
        );
        for chunk in body.chunks(64 * 1024) {
            t += chunk.len() as u64 / self.cfg.origin_speed;
            self.origin_bytes += chunk.len() as u64;
            self.at(
                t,
                Ev::Input(
                    i,
                    Input::HttpChunk {
                        fetch,
                        data: chunk.to_vec(),
                    },
                ),
            );
        }
        self.at(t, Ev::Input(i, Input::HttpDone { fetch }));
    }

    fn on_deliver(&mut self, i: usize, req: RequestId, data: Vec<u8>, source: Source) {
        let Some((wreq, sn)) = self.nodes[i].player.waiting else {
            return;
        };
        assert_eq!(wreq, req, "answer for a request the player did not make");
        if data != segment_bytes(sn) {
            // The JS validateSegment hook.
            assert!(matches!(source, Source::P2p(_)), "HTTP delivered bad data");
            self.nodes[i].rejected += 1;
            self.input(i, Input::SegmentRejected { req });
            return;
        }
        let now = self.now;
        let node = &mut self.nodes[i];
        node.delivered += 1;
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
