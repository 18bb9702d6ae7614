//! CPU per peer message against playlist length: a connected peer sends
//! `Have` and `Request` messages to an engine playing a VOD of 100 and of
//! 100,000 segments (2 s each), positioned mid-stream; prints the time per
//! message for each and their ratio (bounded work: close to 1).
//!
//!   cargo bench -p swarmcast-loader --bench per_message

use std::time::Instant;

use swarmcast_loader::engine::{
    Config, ConnId, Engine, Input, Output, Playlist, SegmentInfo, StreamKind, TrackerId,
};
use swarmcast_protocol::ids::Id20;
use swarmcast_protocol::peer::{Message, VERSION};
use swarmcast_protocol::tracker::{RelayedOffer, ServerMessage, SessionDescription};

const MESSAGES: u32 = 20_000;

fn engine_with_peer(segments: u64) -> (Engine, ConnId) {
    let cfg = Config {
        trackers: vec!["wss://t".into()],
        ..Config::default()
    };
    let mut e = Engine::new(cfg, 7, 0);
    e.handle_input(
        0,
        Input::Playlist(Playlist {
            manifest_url: "http://o/m.m3u8".into(),
            stream: "main/0".into(),
            kind: StreamKind::Main,
            live: false,
            segments: (0..segments)
                .map(|sn| SegmentInfo {
                    sn,
                    url: format!("http://o/{sn}.ts"),
                    range: None,
                    start_ms: sn * 2_000,
                    duration_ms: 2_000,
                })
                .collect(),
        }),
    );
    e.handle_input(
        0,
        Input::Playback {
            position_ms: segments * 1_000,
            playing: false,
        },
    );
    let swarm = e.info_hash().expect("a swarm");
    let remote = *b"-SC0100-benchbenchbe";
    e.handle_input(
        0,
        Input::TrackerMessage {
            tracker: TrackerId(0),
            message: ServerMessage::Offer(RelayedOffer {
                action: Default::default(),
                info_hash: Id20(swarm),
                peer_id: Id20(remote),
                offer_id: Id20(remote),
                offer: SessionDescription {
                    kind: "offer".into(),
                    sdp: "o".into(),
                },
            }),
        },
    );
    let conn = std::iter::from_fn(|| e.poll_output())
        .find_map(|o| match o {
            Output::CreateAnswer { conn, .. } => Some(conn),
            _ => None,
        })
        .expect("answers the offer");
    e.handle_input(0, Input::ChannelOpen { conn });
    let hello = Message::Handshake {
        version: VERSION,
        peer_id: remote,
        swarm,
    };
    e.handle_input(
        0,
        Input::ChannelMessage {
            conn,
            data: hello.encode(),
        },
    );
    while e.poll_output().is_some() {}
    (e, conn)
}

/// Nanoseconds per message.
fn per_message(segments: u64) -> f64 {
    let (mut e, conn) = engine_with_peer(segments);
    let messages: Vec<Vec<u8>> = (0..MESSAGES)
        .map(|i| {
            let msg = if i % 2 == 0 {
                Message::Have {
                    stream: 12345,
                    added: vec![u64::from(i)],
                    removed: vec![],
                }
            } else {
                Message::Request {
                    req: i,
                    stream: 12345,
                    segment: u64::from(i),
                    fingerprint: 1,
                }
            };
            msg.encode()
        })
        .collect();
    let start = Instant::now();
    for data in messages {
        e.handle_input(1, Input::ChannelMessage { conn, data });
        while e.poll_output().is_some() {}
    }
    start.elapsed().as_nanos() as f64 / f64::from(MESSAGES)
}

fn main() {
    let short = per_message(100);
    let long = per_message(100_000);
    println!("per peer message: {short:.0} ns with 100 segments, {long:.0} ns with 100,000 segments: {:.2}x", long / short);
}
