//! The engine's cost per input as the swarm and the playlist grow: one
//! engine with P connected peers (10, 100, 500) on a live playlist of 6
//! segments and on a VOD playlist of 1,000, fed the mix a busy viewer
//! sees — have-deltas, segment requests from peers, hls.js requests, playback
//! reports and timer ticks — with every output drained. Prints inputs per
//! second and each row's ratio to the 10-peer live row measured in the same
//! run; a bounded engine keeps the ratios near 1.
//!
//!   cargo bench -p swarmcast-loader --bench engine_inputs

use std::time::{Duration, Instant};

use swarmcast_loader::engine::{
    Config, ConnId, Engine, Input, Output, Playlist, RequestId, SegmentInfo, StreamKind,
};
use swarmcast_protocol::ids::Id20;
use swarmcast_protocol::peer::{Message, VERSION};
use swarmcast_protocol::tracker::{RelayedOffer, ServerMessage, SessionDescription};

const MANIFEST: &str = "http://o/live.m3u8";
const STREAM: &str = "main/0";
const SEG_MS: u64 = 2_000;
const RUN: Duration = Duration::from_secs(3);

fn main() {
    println!("| peers | playlist | inputs/s | ÷ 10 peers, live |");
    println!("|---|---|---|---|");
    let mut base = None;
    for (peers, live) in [
        (10, true),
        (100, true),
        (500, true),
        (10, false),
        (100, false),
        (500, false),
    ] {
        let rate = measure(peers, live);
        let base = *base.get_or_insert(rate);
        let shape = if live {
            "live, 6 segments"
        } else {
            "VOD, 1,000 segments"
        };
        println!("| {peers} | {shape} | {rate:.0} | {:.2} |", rate / base);
    }
}

fn playlist(live: bool, first: u64) -> Playlist {
    let sns = if live { first..first + 6 } else { 0..1_000 };
    Playlist {
        manifest_url: MANIFEST.into(),
        stream: STREAM.into(),
        kind: StreamKind::Main,
        live,
        segments: sns
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

struct Bench {
    engine: Engine,
    now: u64,
    inputs: u64,
    /// Requests hls.js handed back to its own loader, answered next round.
    handed: Vec<RequestId>,
    /// The stream's id on the wire, learnt from our first have-list.
    stream: Option<u64>,
}

impl Bench {
    fn input(&mut self, input: Input) -> Vec<Output> {
        self.inputs += 1;
        self.engine.handle_input(self.now, input);
        let out: Vec<Output> = std::iter::from_fn(|| self.engine.poll_output()).collect();
        self.handed.extend(out.iter().filter_map(|o| match o {
            Output::LoadOverHttp { req } => Some(*req),
            _ => None,
        }));
        out
    }

    /// A remote peer offers through the tracker, we answer, the channel
    /// opens and the peer shakes hands.
    fn connect(&mut self, remote: [u8; 20]) -> Option<ConnId> {
        let swarm = self.engine.info_hash()?;
        let offer = ServerMessage::Offer(RelayedOffer {
            action: Default::default(),
            info_hash: Id20(swarm),
            peer_id: Id20(remote),
            offer_id: Id20(remote),
            offer: SessionDescription {
                kind: "offer".into(),
                sdp: "o".into(),
            },
        });
        let out = self.input(Input::TrackerMessage {
            tracker: swarmcast_loader::engine::TrackerId(0),
            message: offer,
        });
        let conn = out.iter().find_map(|o| match o {
            Output::CreateAnswer { conn, .. } => Some(*conn),
            _ => None,
        })?;
        let opened = self.input(Input::ChannelOpen { conn });
        // Our own have-list goes out on open; it names the stream's wire id.
        self.stream = self.stream.or_else(|| {
            opened.iter().find_map(|o| match o {
                Output::SendData { data, .. } => match Message::decode(data) {
                    Ok(Message::Have { stream, .. }) => Some(stream),
                    _ => None,
                },
                _ => None,
            })
        });
        let handshake = Message::Handshake {
            version: VERSION,
            peer_id: remote,
            swarm,
        };
        self.input(Input::ChannelMessage {
            conn,
            data: handshake.encode(),
        });
        Some(conn)
    }
}

fn measure(peers: usize, live: bool) -> f64 {
    let cfg = Config {
        trackers: vec!["wss://t".into()],
        max_peers: peers,
        ..Config::default()
    };
    let mut b = Bench {
        engine: Engine::new(cfg, 7, 0),
        now: 0,
        inputs: 0,
        handed: Vec::new(),
        stream: None,
    };
    b.input(Input::Playlist(playlist(live, 0)));
    // Segment 0 over HTTP first, so that we hold something to announce.
    b.input(Input::SegmentRequest {
        req: RequestId(0),
        stream: STREAM.into(),
        sn: 0,
        url: "http://o/0.ts".into(),
        range: None,
    });
    b.input(Input::RequestLoaded {
        req: RequestId(0),
        data: vec![0; 100_000],
    });
    b.handed.clear();
    let conns: Vec<ConnId> = (0..peers)
        .filter_map(|i| {
            let mut id = [0u8; 20];
            id[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
            b.connect(id)
        })
        .collect();
    assert_eq!(conns.len(), peers, "every peer connected");
    let stream = b.stream.expect("our have-list named the stream");
    let started = Instant::now();
    let mut round: u64 = 0;
    while started.elapsed() < RUN {
        round += 1;
        b.now += 10;
        let sn = round / 20;
        if live && round.is_multiple_of(200) {
            b.input(Input::Playlist(playlist(true, sn)));
        }
        let conn = conns[round as usize % conns.len()];
        let have = Message::Have {
            stream,
            added: vec![sn + round % 6],
            removed: vec![sn.saturating_sub(10)],
        };
        b.input(Input::ChannelMessage {
            conn,
            data: have.encode(),
        });
        let ask = Message::Request {
            req: round as u32,
            stream,
            segment: sn,
            fingerprint: 0,
        };
        b.input(Input::ChannelMessage {
            conn,
            data: ask.encode(),
        });
        if round.is_multiple_of(20) {
            let req = RequestId(round as u32);
            b.input(Input::SegmentRequest {
                req,
                stream: STREAM.into(),
                sn,
                url: format!("http://o/{sn}.ts"),
                range: None,
            });
            for req in std::mem::take(&mut b.handed) {
                b.input(Input::RequestLoaded {
                    req,
                    data: vec![0; 100_000],
                });
            }
            b.input(Input::Playback {
                position_ms: sn * SEG_MS,
                playing: true,
            });
        }
        b.input(Input::Tick);
    }
    b.inputs as f64 / started.elapsed().as_secs_f64()
}
