//! Engine-level tests through the public input/output contract: the HTTP
//! path, the store, uploads, Range resume after a silent peer, validation
//! failures and the handshake rules. Whole-swarm behaviour lives in
//! `tests/swarm_sim.rs`.

use swarmcast_protocol::{
    ids::Id20,
    peer::{Message, VERSION},
    tracker::{RelayedOffer, ServerMessage, SessionDescription},
};

use super::*;

const URL: &str = "http://o/live.m3u8";

/// A playlist of 2 s segments numbered `sns`, for engine and swarm tests.
pub(super) fn playlist_of(live: bool, sns: std::ops::Range<u64>) -> Playlist {
    Playlist {
        manifest_url: URL.into(),
        rendition: "0".into(),
        live,
        segments: sns
            .map(|sn| SegmentInfo {
                sn,
                url: format!("http://o/{sn}.ts"),
                range: None,
                start_ms: sn * 2_000,
                duration_ms: 2_000,
            })
            .collect(),
    }
}

fn playlist(sns: std::ops::Range<u64>) -> Playlist {
    playlist_of(true, sns)
}

fn body(sn: u64) -> Vec<u8> {
    (0..40_000u32).map(|i| (i as u64 * 7 + sn) as u8).collect()
}

struct Rig {
    e: Engine,
    now: Millis,
}

impl Rig {
    fn new(cfg: Config) -> Rig {
        let mut e = Engine::new(
            Config {
                trackers: vec!["wss://t".into()],
                ..cfg
            },
            42,
            0,
        );
        e.handle_input(0, Input::Playlist(playlist(10..16)));
        let mut r = Rig { e, now: 0 };
        r.drain();
        r
    }

    fn input(&mut self, input: Input) -> Vec<Output> {
        self.e.handle_input(self.now, input);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.e.poll_output()).collect()
    }

    fn advance(&mut self, ms: Millis) -> Vec<Output> {
        let mut out = Vec::new();
        let end = self.now + ms;
        while self.now < end {
            self.now += 50;
            out.extend(self.input(Input::Tick));
        }
        out
    }

    fn request(&mut self, req: u32, sn: u64) -> Vec<Output> {
        self.input(Input::SegmentRequest {
            req: RequestId(req),
            sn,
            rendition: "0".into(),
            url: format!("http://o/{sn}.ts"),
            range: None,
        })
    }

    /// Completes an HTTP fetch with `data`.
    fn serve(&mut self, fetch: FetchId, status: u16, data: &[u8]) -> Vec<Output> {
        let mut out = self.input(Input::HttpStarted {
            fetch,
            status,
            total: Some(data.len() as u64),
        });
        out.extend(self.input(Input::HttpChunk {
            fetch,
            data: data.to_vec(),
        }));
        out.extend(self.input(Input::HttpDone { fetch }));
        out
    }

    /// A remote peer offers, we answer, the channel opens and it shakes hands.
    fn connect(&mut self, remote: PeerId) -> ConnId {
        let conn = self.open(remote);
        let swarm = self.e.info_hash().unwrap();
        self.peer_says(
            conn,
            Message::Handshake {
                version: VERSION,
                peer_id: remote,
                swarm,
            },
        );
        conn
    }

    /// A remote peer offers through the tracker; we answer and the channel opens.
    fn open(&mut self, remote: PeerId) -> ConnId {
        let swarm = self.e.info_hash().unwrap();
        let message = ServerMessage::Offer(RelayedOffer {
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
            tracker: TrackerId(0),
            message,
        });
        let conn = out
            .iter()
            .find_map(|o| match o {
                Output::CreateAnswer { conn, .. } => Some(*conn),
                _ => None,
            })
            .expect("answers the offer");
        self.input(Input::ChannelOpen { conn });
        conn
    }

    fn peer_says(&mut self, conn: ConnId, msg: Message) -> Vec<Output> {
        self.input(Input::ChannelMessage {
            conn,
            data: msg.encode(),
        })
    }
}

fn fetches(out: &[Output]) -> Vec<(FetchId, Option<ByteRange>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::HttpFetch { fetch, range, .. } => Some((*fetch, *range)),
            _ => None,
        })
        .collect()
}

fn delivered(out: &[Output]) -> Vec<(RequestId, Vec<u8>, Source)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Deliver {
                req, data, source, ..
            } => Some((*req, data.clone(), *source)),
            _ => None,
        })
        .collect()
}

fn sent(out: &[Output], to: ConnId) -> Vec<Message> {
    out.iter()
        .filter_map(|o| match o {
            Output::SendData { conn, data } if *conn == to => Message::decode(data).ok(),
            _ => None,
        })
        .collect()
}

#[test]
fn without_peers_a_request_goes_straight_to_http_and_is_cached() {
    let mut r = Rig::new(Config::default());
    let out = r.request(1, 12);
    let [(fetch, None)] = fetches(&out)[..] else {
        panic!("{out:?}")
    };
    let out = r.serve(fetch, 200, &body(12));
    assert_eq!(
        delivered(&out),
        vec![(RequestId(1), body(12), Source::Http)]
    );
    // A repeat request is answered from the store without a fetch.
    let out = r.request(2, 12);
    assert!(fetches(&out).is_empty());
    assert_eq!(delivered(&out).len(), 1);
    let s = r.e.stats();
    assert_eq!((s.http_down, s.segments_http), (40_000, 1));
}

fn timings(out: &[Output]) -> Vec<Timing> {
    out.iter()
        .filter_map(|o| match o {
            Output::Deliver { timing, .. } => Some(*timing),
            _ => None,
        })
        .collect()
}

#[test]
fn data_held_before_the_request_reports_the_speed_it_was_fetched_at() {
    let mut r = Rig::new(Config::default());
    r.now = 1_000;
    let fetch = fetches(&r.request(1, 12))[0].0;
    r.now = 1_100;
    r.input(Input::HttpStarted {
        fetch,
        status: 200,
        total: Some(40_000),
    });
    r.input(Input::HttpChunk {
        fetch,
        data: body(12),
    });
    r.now = 1_400;
    let out = r.input(Input::HttpDone { fetch });
    let fresh = Timing {
        start_ms: 1_000,
        first_byte_ms: 1_100,
        end_ms: 1_400,
    };
    assert_eq!(timings(&out), vec![fresh]);
    // Asked again 5 s later: the same 400 ms transfer, ending now, not an
    // instant load that would inflate hls.js's bandwidth estimate.
    r.now = 6_400;
    let out = r.request(2, 12);
    let again = Timing {
        start_ms: 6_000,
        first_byte_ms: 6_100,
        end_ms: 6_400,
    };
    assert_eq!(timings(&out), vec![again]);
}

#[test]
fn http_failure_fails_the_request() {
    let mut r = Rig::new(Config::default());
    let out = r.request(1, 12);
    let fetch = fetches(&out)[0].0;
    let out = r.input(Input::HttpFailed {
        fetch,
        status: Some(404),
    });
    assert!(out.iter().any(|o| matches!(
        o,
        Output::FailRequest {
            req: RequestId(1),
            reason: FailReason::Http(Some(404))
        }
    )));
}

#[test]
fn segments_are_uploaded_in_chunks_and_absent_ones_refused() {
    let mut r = Rig::new(Config::default());
    let out = r.request(1, 12);
    r.serve(fetches(&out)[0].0, 200, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.peer_says(
        conn,
        Message::Request {
            req: 5,
            segment: 12,
            offset: 0,
        },
    );
    let mut got = Vec::new();
    for m in sent(&out, conn) {
        if let Message::Data { req: 5, bytes, .. } = m {
            got.extend(bytes);
        }
    }
    assert_eq!(got, body(12));
    assert_eq!(r.e.stats().up, 40_000);
    let out = r.peer_says(
        conn,
        Message::Request {
            req: 6,
            segment: 99,
            offset: 0,
        },
    );
    assert_eq!(sent(&out, conn), vec![Message::Absent { req: 6 }]);
}

#[test]
fn upload_off_refuses_every_request() {
    let mut r = Rig::new(Config {
        upload: false,
        ..Config::default()
    });
    let out = r.request(1, 12);
    r.serve(fetches(&out)[0].0, 200, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.peer_says(
        conn,
        Message::Request {
            req: 5,
            segment: 12,
            offset: 0,
        },
    );
    assert_eq!(sent(&out, conn), vec![Message::Absent { req: 5 }]);
}

/// Starts a P2P download of segment 14 with position far enough back that
/// it is not urgent; the peer sends `partial` bytes then goes silent.
fn silent_peer(partial: usize) -> (Rig, ConnId, Vec<Output>) {
    let mut r = Rig::new(Config::default());
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    let conn = r.connect(*b"-SC0100-remoteremote");
    // Segment 14 is 6 s ahead: fetched from the peer as soon as it has it.
    let mut out = r.peer_says(
        conn,
        Message::Have {
            added: vec![14],
            removed: vec![],
        },
    );
    out.extend(r.request(1, 14));
    let Some(Message::Request {
        req, segment: 14, ..
    }) = sent(&out, conn).pop()
    else {
        panic!("expected a P2P request: {out:?}")
    };
    r.peer_says(
        conn,
        Message::Data {
            req,
            offset: 0,
            total: 40_000,
            bytes: body(14)[..partial].to_vec(),
        },
    );
    let out = r.advance(2_000);
    (r, conn, out)
}

#[test]
fn a_silent_peer_is_abandoned_and_http_resumes_with_a_range() {
    let (mut r, conn, out) = silent_peer(16_000);
    assert!(sent(&out, conn).contains(&Message::Cancel { req: 1 }));
    let [(fetch, Some(range))] = fetches(&out)[..] else {
        panic!("{out:?}")
    };
    assert_eq!(
        range,
        ByteRange {
            start: 16_000,
            end: 40_000
        }
    );
    let out = r.serve(fetch, 206, &body(14)[16_000..]);
    assert_eq!(delivered(&out)[0].1, body(14));
    assert_eq!(r.e.stats().p2p_fallbacks, 1);
}

#[test]
fn an_origin_ignoring_the_range_still_yields_the_whole_segment() {
    let (mut r, _, out) = silent_peer(16_000);
    let fetch = fetches(&out)[0].0;
    let out = r.serve(fetch, 200, &body(14));
    assert_eq!(delivered(&out)[0].1, body(14));
}

#[test]
fn rejected_p2p_data_drops_the_peer_and_refetches_over_http() {
    let (mut r, conn, _) = p2p_segment_with_a_watcher(Config::default());
    let out = r.input(Input::SegmentRejected { req: RequestId(1) });
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Event(Event::PeerClosed { .. }))));
    let [(fetch, None)] = fetches(&out)[..] else {
        panic!("{out:?}")
    };
    let out = r.serve(fetch, 200, &body(14));
    assert_eq!(
        delivered(&out),
        vec![(RequestId(1), body(14), Source::Http)]
    );
}

/// Segment 14 arrives from `from` for request 1 while `other` is connected.
fn p2p_segment_with_a_watcher(cfg: Config) -> (Rig, ConnId, ConnId) {
    let mut r = Rig::new(cfg);
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    let from = r.connect(*b"-SC0100-remoteremote");
    let other = r.connect(*b"-SC0100-otherotherot");
    let mut out = r.peer_says(
        from,
        Message::Have {
            added: vec![14],
            removed: vec![],
        },
    );
    out.extend(r.request(1, 14));
    let Some(Message::Request { req, .. }) = sent(&out, from).pop() else {
        panic!("{out:?}")
    };
    let out = r.peer_says(
        from,
        Message::Data {
            req,
            offset: 0,
            total: 3,
            bytes: vec![1, 2, 3],
        },
    );
    assert_eq!(delivered(&out)[0].2, Source::P2p(from));
    let announced = sent(&out, other)
        .iter()
        .any(|m| matches!(m, Message::Have { added, .. } if added.contains(&14)));
    assert_eq!(announced, !r.e.cfg.validate_p2p);
    (r, from, other)
}

#[test]
fn p2p_data_awaiting_validation_is_not_passed_on_until_accepted() {
    let cfg = Config {
        validate_p2p: true,
        ..Config::default()
    };
    let (mut r, _, other) = p2p_segment_with_a_watcher(cfg);
    let ask = |r: &mut Rig, req| {
        let out = r.peer_says(
            other,
            Message::Request {
                req,
                segment: 14,
                offset: 0,
            },
        );
        sent(&out, other)
    };
    assert_eq!(ask(&mut r, 7), vec![Message::Absent { req: 7 }]);
    let out = r.input(Input::SegmentAccepted { req: RequestId(1) });
    assert_eq!(
        sent(&out, other),
        vec![Message::Have {
            added: vec![14],
            removed: vec![]
        }]
    );
    assert!(matches!(ask(&mut r, 8)[..], [Message::Data { req: 8, .. }]));
}

#[test]
fn refused_p2p_bytes_leave_the_p2p_count() {
    let (mut r, _, _) = p2p_segment_with_a_watcher(Config::default());
    assert_eq!(r.e.stats().p2p_down, 3);
    r.input(Input::SegmentRejected { req: RequestId(1) });
    let s = r.e.stats();
    assert_eq!((s.p2p_down, s.p2p_rejected, s.segments_p2p), (0, 3, 0));
}

#[test]
fn a_peer_whose_data_was_refused_is_not_connected_again() {
    let (mut r, _, _) = p2p_segment_with_a_watcher(Config::default());
    r.input(Input::SegmentRejected { req: RequestId(1) });
    let swarm = r.e.info_hash().unwrap();
    let out = r.input(Input::TrackerMessage {
        tracker: TrackerId(0),
        message: ServerMessage::Offer(RelayedOffer {
            action: Default::default(),
            info_hash: Id20(swarm),
            peer_id: Id20(*b"-SC0100-remoteremote"),
            offer_id: Id20([5; 20]),
            offer: SessionDescription {
                kind: "offer".into(),
                sdp: "o".into(),
            },
        }),
    });
    assert!(
        !out.iter().any(|o| matches!(o, Output::CreateAnswer { .. })),
        "{out:?}"
    );
}

#[test]
fn a_handshake_for_another_swarm_or_version_closes_the_channel() {
    for (version, swarm) in [(VERSION, [1; 20]), (VERSION + 1, [0; 20])] {
        let mut r = Rig::new(Config::default());
        let swarm = if swarm == [0; 20] {
            r.e.info_hash().unwrap()
        } else {
            swarm
        };
        let other = r.open(*b"-SC0100-otherotherot");
        let out = r.peer_says(
            other,
            Message::Handshake {
                version,
                peer_id: *b"-SC0100-otherotherot",
                swarm,
            },
        );
        assert!(out
            .iter()
            .any(|o| matches!(o, Output::CloseConnection { conn } if *conn == other)));
    }
}

#[test]
fn p2p_off_never_talks_to_trackers() {
    let mut r = Rig::new(Config {
        p2p: false,
        ..Config::default()
    });
    let out = r.advance(5_000);
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::TrackerConnect { .. })));
}

#[test]
fn switching_rendition_switches_swarm_and_drops_peers() {
    let mut r = Rig::new(Config::default());
    let before = r.e.info_hash().unwrap();
    let conn = r.connect(*b"-SC0100-remoteremote");
    let mut p = playlist(10..16);
    p.rendition = "1".into();
    let out = r.input(Input::Playlist(p));
    assert_ne!(r.e.info_hash().unwrap(), before);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
    assert!(r.e.stats().peers.is_empty());
}

#[test]
fn close_leaves_nothing_running() {
    let mut r = Rig::new(Config::default());
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.request(1, 12);
    let fetch = fetches(&out)[0].0;
    r.e.close(r.now);
    let out = r.drain();
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::HttpAbort { fetch: f } if *f == fetch)));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
    assert_eq!(r.e.poll_timeout(), None);
}

#[test]
fn a_second_handshake_is_a_protocol_violation() {
    let mut r = Rig::new(Config::default());
    let conn = r.connect(*b"-SC0100-remoteremote");
    let swarm = r.e.info_hash().unwrap();
    let out = r.peer_says(
        conn,
        Message::Handshake {
            version: VERSION,
            peer_id: *b"-SC0100-otherotherot",
            swarm,
        },
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
}

#[test]
fn a_second_connection_to_the_same_peer_is_closed() {
    let mut r = Rig::new(Config::default());
    let x = *b"-SC0100-remoteremote";
    let first = r.connect(x);
    // A connection signalled as another peer turns out to be `x` again.
    let swarm = r.e.info_hash().unwrap();
    let third = r.open(*b"-SC0100-thirdthirdth");
    let out = r.peer_says(
        third,
        Message::Handshake {
            version: VERSION,
            peer_id: x,
            swarm,
        },
    );
    let closed: Vec<ConnId> = out
        .iter()
        .filter_map(|o| match o {
            Output::CloseConnection { conn } => Some(*conn),
            _ => None,
        })
        .collect();
    // Exactly one of the two paths to `x` goes (which one follows the
    // offerer-id rule both sides apply).
    assert_eq!(closed.len(), 1, "{out:?}");
    assert!(closed[0] == first || closed[0] == third);
    let to_x = r.e.stats().peers.iter().filter(|p| p.peer_id == x).count();
    assert_eq!(to_x, 1);
}
