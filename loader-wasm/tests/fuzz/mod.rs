//! One fuzz case for the engine: arbitrary bytes read as a script of what
//! peers and trackers may send (raw or nearly valid peer messages, tracker
//! JSON frames, offers and answers from chosen peer ids), mixed with hls.js
//! requests, playback and time. Shared by the stable proptest
//! (`tests/fuzz_peer_input.rs`, part of `cargo test`) and the cargo-fuzz
//! target (`loader-wasm/fuzz`, `bench/loader/fuzz.sh`).
//!
//! Besides "never panics", every case checks: hls.js only ever gets the
//! origin's bytes from HTTP, one input never makes the engine emit more than
//! [`MAX_OUTPUTS_PER_INPUT`] actions, and no upload outruns the peer budget.

use swarmcast_loader::engine::{
    Config, ConnId, Engine, Input, Output, Playlist, RequestId, SegmentInfo, Source, StreamKind,
    TrackerId, TrackerReply,
};
use swarmcast_protocol::ids::Id20;
use swarmcast_protocol::peer::{Message, VERSION};
use swarmcast_protocol::tracker::{RelayedOffer, ServerMessage, SessionDescription};

/// Far above what any single honest input causes (a Have to every peer,
/// a few chunks), far below what unbounded work would produce.
pub const MAX_OUTPUTS_PER_INPUT: usize = 2_000;
const SEG_MS: u64 = 2_000;

/// The origin's bytes of segment `sn`.
fn body(sn: u64) -> Vec<u8> {
    (0..30_000u32).map(|i| (i as u64 * 31 + sn) as u8).collect()
}

fn playlist(first: u64, live: bool) -> Playlist {
    Playlist {
        manifest_url: "http://o/m.m3u8".into(),
        stream: "main/0".into(),
        kind: StreamKind::Main,
        live,
        segments: (first..first + 8)
            .map(|sn| SegmentInfo {
                sn,
                url: format!("http://o/{sn}.ts"),
                range: None,
                start_ms: sn * SEG_MS,
                duration_ms: SEG_MS,
            })
            .collect(),
    }
}

/// Reads the script.
struct Script<'a>(&'a [u8]);

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }

    /// A length-prefixed chunk (up to 16 KiB + a little, past the message cap).
    fn chunk(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte().unwrap_or(0)) * 65 + usize::from(self.byte().unwrap_or(0));
        self.bytes(n).to_vec()
    }

    fn varint_ish(&mut self) -> u64 {
        match self.byte().unwrap_or(0) {
            b @ 0..=200 => u64::from(b),
            201..=240 => u64::from_le_bytes(pad(self.bytes(8))),
            _ => u64::MAX - u64::from(self.byte().unwrap_or(0)),
        }
    }
}

fn pad(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a[..b.len()].copy_from_slice(b);
    a
}

/// A tracker reply from JSON text, as the browser shell would decode it.
fn tracker_reply(text: &str) -> Option<TrackerReply> {
    Some(match ServerMessage::from_json(text).ok()? {
        ServerMessage::Offer(_) => ServerMessage::Offer(serde_json::from_str(text).ok()?),
        ServerMessage::Answer(_) => ServerMessage::Answer(serde_json::from_str(text).ok()?),
        ServerMessage::Announce(m) => ServerMessage::Announce(m),
        ServerMessage::Scrape(m) => ServerMessage::Scrape(m),
        ServerMessage::Error(m) => ServerMessage::Error(m),
    })
}

struct Harness {
    e: Engine,
    now: u64,
    /// Connections the engine opened, in order.
    conns: Vec<ConnId>,
    /// hls.js requests not yet answered: id -> sn.
    waiting: Vec<(u32, u64)>,
    next_req: u32,
    /// Uploads started: to which connection, when.
    uploaded_segments: Vec<(ConnId, u64)>,
    /// Our stream's wire id, once the engine announced a segment of it.
    stream: Option<u64>,
    executions: u64,
}

impl Harness {
    fn input(&mut self, input: Input) {
        self.executions += 1;
        self.e.handle_input(self.now, input);
        let mut n = 0;
        while let Some(out) = self.e.poll_output() {
            n += 1;
            assert!(
                n <= MAX_OUTPUTS_PER_INPUT,
                "one input made over {n} outputs"
            );
            self.check(out);
        }
    }

    fn check(&mut self, out: Output) {
        match out {
            Output::CreateAnswer { conn, .. } | Output::CreateOffer { conn }
                if !self.conns.contains(&conn) && self.conns.len() < 64 =>
            {
                self.conns.push(conn);
            }
            Output::Deliver {
                req, data, source, ..
            } => {
                let at = self.waiting.iter().position(|w| w.0 == req.0);
                let (_, sn) = self
                    .waiting
                    .remove(at.expect("delivered an unknown request"));
                if source == Source::Http {
                    assert!(
                        data == body(sn),
                        "HTTP delivery of {sn} is not the origin's"
                    );
                } else if data == body(sn) {
                    self.input(Input::SegmentAccepted { req, checked: true });
                } else {
                    // The page's check refuses it; the request comes back over HTTP.
                    self.waiting.push((req.0, sn));
                    self.input(Input::SegmentRejected { req });
                }
            }
            Output::LoadOverHttp { req } => {
                if let Some(at) = self.waiting.iter().position(|w| w.0 == req.0) {
                    let (_, sn) = self.waiting.remove(at);
                    self.input(Input::RequestLoaded {
                        req,
                        data: body(sn),
                    });
                }
            }
            Output::SendData { conn, data } => match Message::decode(&data) {
                Ok(Message::Data { offset: 0, .. }) => {
                    self.uploaded_segments.push((conn, self.now))
                }
                Ok(Message::Have { stream, .. }) => self.stream = Some(stream),
                _ => {}
            },
            _ => {}
        }
    }

    fn conn(&self, pick: u8) -> Option<ConnId> {
        (!self.conns.is_empty()).then(|| self.conns[usize::from(pick) % self.conns.len()])
    }

    fn offer_from(&mut self, peer_id: [u8; 20], swarm: [u8; 20]) {
        self.input(Input::TrackerMessage {
            tracker: TrackerId(0),
            message: ServerMessage::Offer(RelayedOffer {
                action: Default::default(),
                info_hash: Id20(swarm),
                peer_id: Id20(peer_id),
                offer_id: Id20(peer_id),
                offer: SessionDescription {
                    kind: "offer".into(),
                    sdp: "o".into(),
                },
            }),
        });
    }

    /// Upload budget: per connection, at most a 60 s burst plus 4× the wall
    /// time of 2 s segments (see the engine's README limits).
    fn check_upload_budget(&self) {
        let mut conns: Vec<ConnId> = self.uploaded_segments.iter().map(|u| u.0).collect();
        conns.dedup();
        for conn in conns {
            let n = self
                .uploaded_segments
                .iter()
                .filter(|u| u.0 == conn)
                .count() as u64;
            assert!(
                n * SEG_MS <= 60_000 + 4 * self.now + SEG_MS,
                "{conn:?} got {n} segments in {} ms",
                self.now
            );
        }
    }
}

/// Runs one case. Returns how many inputs the engine handled.
pub fn run(data: &[u8]) -> u64 {
    let mut s = Script(data);
    let live = s.byte().unwrap_or(0) % 2 == 0;
    let cfg = Config {
        trackers: vec!["wss://t".into()],
        memory_cap: 200_000,
        // The page checks peers' segments: trial, probation and penalties run.
        validate_p2p: true,
        ..Config::default()
    };
    let mut h = Harness {
        e: Engine::new(cfg, u64::from(s.byte().unwrap_or(1)), 0),
        now: 0,
        conns: Vec::new(),
        waiting: Vec::new(),
        next_req: 1,
        uploaded_segments: Vec::new(),
        stream: None,
        executions: 0,
    };
    h.input(Input::Playlist(playlist(10, live)));
    h.input(Input::TrackerConnected {
        tracker: TrackerId(0),
    });
    let swarm = h.e.info_hash().expect("a playlist names the swarm");
    // Two well-behaved connections to start from.
    for id in [*b"-SC0100-aaaaaaaaaaaa", *b"-SC0100-bbbbbbbbbbbb"] {
        h.offer_from(id, swarm);
        if let Some(&conn) = h.conns.last() {
            h.input(Input::ChannelOpen { conn });
            let hello = Message::Handshake {
                version: VERSION,
                peer_id: id,
                swarm,
            };
            h.input(Input::ChannelMessage {
                conn,
                data: hello.encode(),
            });
        }
    }
    while let Some(op) = s.byte() {
        let pick = s.byte().unwrap_or(0);
        match op % 12 {
            // Raw bytes from a peer.
            0 => {
                if let Some(conn) = h.conn(pick) {
                    let data = s.chunk();
                    h.input(Input::ChannelMessage { conn, data });
                }
            }
            // A message with a valid tag and arbitrary fields.
            1 => {
                if let Some(conn) = h.conn(pick) {
                    let mut data = s.chunk();
                    if let Some(tag) = data.first_mut() {
                        *tag = *tag % 7 + 1;
                    }
                    h.input(Input::ChannelMessage { conn, data });
                }
            }
            // Well-formed messages with hostile values.
            2 => {
                if let Some(conn) = h.conn(pick) {
                    let stream = match h.stream {
                        Some(id) if s.byte().unwrap_or(0) % 2 == 0 => id,
                        _ => s.varint_ish(),
                    };
                    let msg = match s.byte().unwrap_or(0) % 5 {
                        0 => {
                            let first = s.varint_ish();
                            let n = u64::from(s.byte().unwrap_or(0)) * 4;
                            Message::Have {
                                stream,
                                added: (0..n).map(|i| first.saturating_add(i)).collect(),
                                removed: vec![],
                            }
                        }
                        1 => Message::Request {
                            req: u32::from(s.byte().unwrap_or(0)),
                            stream,
                            segment: 10 + u64::from(s.byte().unwrap_or(0) % 10),
                            fingerprint: s.varint_ish(),
                        },
                        2 => Message::Data {
                            req: u32::from(s.byte().unwrap_or(0)),
                            offset: s.varint_ish(),
                            total: s.varint_ish(),
                            bytes: s.chunk(),
                        },
                        3 => Message::Fetching {
                            stream,
                            segment: s.varint_ish(),
                            hops: s.byte().unwrap_or(0),
                        },
                        _ => Message::Absent {
                            req: u32::from(s.byte().unwrap_or(0)),
                        },
                    };
                    h.input(Input::ChannelMessage {
                        conn,
                        data: msg.encode(),
                    });
                }
            }
            // A tracker frame.
            3 => {
                let text = String::from_utf8_lossy(&s.chunk()).into_owned();
                if let Some(message) = tracker_reply(&text) {
                    h.input(Input::TrackerMessage {
                        tracker: TrackerId(0),
                        message,
                    });
                }
            }
            // An offer from a chosen peer id, maybe for another swarm.
            4 => {
                let peer_id: [u8; 20] =
                    std::array::from_fn(|i| s.bytes(1).first().copied().unwrap_or(i as u8));
                let other = if pick % 4 == 0 { [pick; 20] } else { swarm };
                h.offer_from(peer_id, other);
            }
            // A channel opens, from one of a few addresses, with a handshake
            // from a chosen id.
            5 => {
                if let Some(conn) = h.conn(pick) {
                    h.input(Input::ChannelOpen { conn });
                    let address = u32::from(pick % 4) + 1;
                    h.input(Input::PeerAddress { conn, address });
                    let hello = Message::Handshake {
                        version: VERSION,
                        peer_id: [s.byte().unwrap_or(0); 20],
                        swarm,
                    };
                    h.input(Input::ChannelMessage {
                        conn,
                        data: hello.encode(),
                    });
                }
            }
            6 => {
                if let Some(conn) = h.conn(pick) {
                    h.input(Input::ChannelBufferedLow { conn });
                }
            }
            7 => {
                if let Some(conn) = h.conn(pick) {
                    h.input(Input::ChannelClosed { conn });
                }
            }
            // hls.js asks for a segment.
            8 => {
                let sn = 10 + u64::from(pick % 10);
                let req = h.next_req;
                h.next_req += 1;
                h.waiting.push((req, sn));
                h.input(Input::SegmentRequest {
                    req: RequestId(req),
                    stream: "main/0".into(),
                    sn,
                    url: format!("http://o/{sn}.ts"),
                    range: None,
                });
            }
            9 => h.input(Input::Playback {
                position_ms: u64::from(pick) * 200,
                playing: pick % 2 == 0,
            }),
            10 => h.input(Input::Playlist(playlist(10 + u64::from(pick % 4), live))),
            // Time passes.
            _ => {
                h.now += u64::from(pick) * 20;
                h.input(Input::Tick);
            }
        }
        h.check_upload_budget();
    }
    h.executions
}
