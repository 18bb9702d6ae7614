//! Engine-level tests through the public input/output contract: request
//! identity (stream, sn, URL, range), the hand-over to hls.js's loader, the
//! store, uploads, fallback after a silent peer, validation failures and the
//! handshake rules. Whole-swarm behaviour lives in `tests/swarm_sim.rs`.

use swarmcast_protocol::{
    ids::Id20,
    peer::{Message, VERSION},
    tracker::{
        AnnounceRequest, AnnounceResponse, ClientMessage, RelayedAnswer, RelayedOffer,
        ServerMessage, SessionDescription,
    },
};

use super::*;

const URL: &str = "http://o/live.m3u8";
/// The stream of [`playlist_of`]: level 0.
const STREAM: &str = "main/0";

/// A playlist of 2 s segments numbered `sns`, for engine and swarm tests.
pub(super) fn playlist_of(live: bool, sns: std::ops::Range<u64>) -> Playlist {
    Playlist {
        manifest_url: URL.into(),
        stream: STREAM.into(),
        kind: StreamKind::Main,
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
        Rig::seeded(cfg, 42)
    }

    /// A rig whose engine draws its peer id (and every random choice) from `seed`.
    fn seeded(cfg: Config, seed: u64) -> Rig {
        let mut e = Engine::new(
            Config {
                trackers: vec!["wss://t".into()],
                ..cfg
            },
            seed,
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
        self.request_of(req, STREAM, sn, &format!("http://o/{sn}.ts"))
    }

    fn request_of(&mut self, req: u32, stream: &str, sn: u64, url: &str) -> Vec<Output> {
        self.input(Input::SegmentRequest {
            req: RequestId(req),
            stream: stream.into(),
            sn,
            url: url.into(),
            range: None,
        })
    }

    /// hls.js's loader answers a handed request with `data`.
    fn loaded(&mut self, req: u32, data: &[u8]) -> Vec<Output> {
        self.input(Input::RequestLoaded {
            req: RequestId(req),
            data: data.to_vec(),
        })
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
        let conn = self.offered(remote, Id20(remote));
        self.input(Input::ChannelOpen { conn });
        conn
    }

    /// Offer `offer_id` of `remote` arrives through the tracker; returns the
    /// connection that answers it.
    fn offered(&mut self, remote: PeerId, offer_id: Id20) -> ConnId {
        let swarm = self.e.info_hash().unwrap();
        let message = ServerMessage::Offer(RelayedOffer {
            action: Default::default(),
            info_hash: Id20(swarm),
            peer_id: Id20(remote),
            offer_id,
            offer: SessionDescription {
                kind: "offer".into(),
                sdp: "o".into(),
            },
        });
        let out = self.input(Input::TrackerMessage {
            tracker: TrackerId(0),
            message,
        });
        out.iter()
            .find_map(|o| match o {
                Output::CreateAnswer { conn, .. } => Some(*conn),
                _ => None,
            })
            .expect("answers the offer")
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

/// The prefetch of segment `sn` among `out`.
fn prefetch_of(out: &[Output], sn: u64) -> Option<FetchId> {
    let want = format!("http://o/{sn}.ts");
    out.iter().find_map(|o| match o {
        Output::HttpFetch { fetch, url, .. } if *url == want => Some(*fetch),
        _ => None,
    })
}

fn handed(out: &[Output]) -> Vec<RequestId> {
    out.iter()
        .filter_map(|o| match o {
            Output::LoadOverHttp { req } => Some(*req),
            _ => None,
        })
        .collect()
}

fn timings(out: &[Output]) -> Vec<Timing> {
    out.iter()
        .filter_map(|o| match o {
            Output::Deliver { timing, .. } => Some(*timing),
            _ => None,
        })
        .collect()
}

/// The wire form of segment `sn` of [`STREAM`].
fn wire(sn: u64) -> (u64, u64) {
    let fingerprint = identity::fingerprint(&format!("http://o/{sn}.ts"), None, false);
    (identity::stream_id(STREAM), fingerprint)
}

fn have(sns: Vec<u64>) -> Message {
    Message::Have {
        stream: identity::stream_id(STREAM),
        added: sns,
        removed: vec![],
    }
}

fn ask(req: u32, sn: u64) -> Message {
    let (stream, fingerprint) = wire(sn);
    Message::Request {
        req,
        stream,
        segment: sn,
        fingerprint,
    }
}

#[test]
fn without_peers_hls_loads_the_request_and_its_bytes_are_kept() {
    let mut r = Rig::new(Config::default());
    let out = r.request(1, 12);
    assert_eq!(handed(&out), vec![RequestId(1)]);
    assert!(fetches(&out).is_empty(), "hls.js's own loader fetches it");
    let out = r.loaded(1, &body(12));
    assert!(delivered(&out).is_empty(), "hls.js already has it");
    // A repeat request is answered from the store.
    let out = r.request(2, 12);
    assert_eq!(
        delivered(&out),
        vec![(RequestId(2), body(12), Source::Http)]
    );
    let s = r.e.stats();
    assert_eq!((s.http_down, s.segments_http), (40_000, 1));
}

#[test]
fn stored_bytes_answer_only_their_own_url_and_range() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    // Same stream and sn, another URL: not in our playlist, so hls.js loads it.
    let out = r.request_of(2, STREAM, 12, "http://o/other.ts");
    assert!(delivered(&out).is_empty());
    assert_eq!(handed(&out), vec![RequestId(2)]);
    // Same sn and URL with a byte range.
    let out = r.input(Input::SegmentRequest {
        req: RequestId(3),
        stream: STREAM.into(),
        sn: 12,
        url: "http://o/12.ts".into(),
        range: Some(ByteRange { start: 0, end: 100 }),
    });
    assert!(delivered(&out).is_empty());
    assert_eq!(handed(&out), vec![RequestId(3)]);
    // Same sn of a stream we have no playlist for.
    let out = r.request_of(4, "main/9", 12, "http://o/12.ts");
    assert_eq!(handed(&out), vec![RequestId(4)]);
}

/// Level 1: the same sequence numbers as level 0, other files.
fn level_one(sns: std::ops::Range<u64>) -> Playlist {
    let mut p = playlist(sns);
    p.stream = "main/1".into();
    for s in &mut p.segments {
        s.url = format!("http://o/hi/{}.ts", s.sn);
    }
    p
}

#[test]
fn an_abr_switch_keeps_peers_and_never_mixes_levels() {
    let mut r = Rig::new(Config::default());
    let swarm = r.e.info_hash();
    let conn = r.connect(*b"-SC0100-remoteremote");
    r.request(1, 12);
    r.loaded(1, &body(12));
    let out = r.input(Input::Playlist(level_one(10..16)));
    assert_eq!(r.e.info_hash(), swarm, "one swarm for every level");
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { .. })));
    assert_eq!(r.e.stats().peers.len(), 1);
    // Level 1's sn 12 is another resource than level 0's.
    let out = r.request_of(2, "main/1", 12, "http://o/hi/12.ts");
    assert!(delivered(&out).is_empty());
    assert_eq!(handed(&out), vec![RequestId(2)]);
    r.loaded(2, b"level one");
    // Back on level 0, hls.js gets level 0's bytes again, and each level's
    // bytes are what peers get for each.
    let out = r.request(3, 12);
    assert_eq!(delivered(&out)[0].1, body(12));
    let out = r.request_of(4, "main/1", 12, "http://o/hi/12.ts");
    assert_eq!(delivered(&out)[0].1, b"level one");
    let (stream, fingerprint) = wire(12);
    let hi = identity::stream_id("main/1");
    let hi_fp = identity::fingerprint("http://o/hi/12.ts", None, false);
    for (req, stream, fingerprint, want) in [
        (7, stream, fingerprint, body(12)),
        (8, hi, hi_fp, b"level one".to_vec()),
    ] {
        let out = r.peer_says(
            conn,
            Message::Request {
                req,
                stream,
                segment: 12,
                fingerprint,
            },
        );
        let got: Vec<u8> = sent(&out, conn)
            .into_iter()
            .flat_map(|m| match m {
                Message::Data { bytes, .. } => bytes,
                _ => vec![],
            })
            .collect();
        assert_eq!(got, want);
    }
}

#[test]
fn a_peer_holding_another_level_is_not_asked_for_ours() {
    let mut r = Rig::new(Config::default());
    r.advance(3_000); // past the wait for the first peers
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    let conn = r.connect(*b"-SC0100-remoteremote");
    let mut out = r.peer_says(
        conn,
        Message::Have {
            stream: identity::stream_id("main/1"),
            added: vec![14],
            removed: vec![],
        },
    );
    out.extend(r.request(1, 14));
    assert!(!sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Request { .. })));
    assert_eq!(handed(&out), vec![RequestId(1)]);
}

#[test]
fn a_viewer_that_just_joined_waits_for_its_first_peers_not_past_its_http_window() {
    // No prefetching for the swarm, so only requests fetch.
    let mut r = Rig::new(Config {
        http_downloads: 0,
        ..Config::default()
    });
    r.input(Input::Playlist(playlist_of(false, 10..40)));
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    // Segment 14 plays in 6 s; segment 12 within the HTTP window.
    assert!(
        handed(&r.request(1, 14)).is_empty(),
        "peers are on their way"
    );
    assert_eq!(handed(&r.request(2, 12)), vec![RequestId(2)]);
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.peer_says(conn, have(vec![14]));
    assert!(sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Request { segment: 14, .. })));
    // Nobody brings segment 16: HTTP once the first peers had their time.
    assert!(handed(&r.request(3, 16)).is_empty());
    assert!(!handed(&r.advance(2_900)).contains(&RequestId(3)));
    assert!(handed(&r.advance(100)).contains(&RequestId(3)));
}

/// A viewer that joined at 0 with `startup_peer_wait_ms` of 1.5 s, its
/// position at segment 12 and nothing playing yet; the tracker's announce
/// reply counts `in_swarm` peers, us included.
fn starting_viewer(in_swarm: u32) -> Rig {
    let mut r = Rig::new(Config {
        startup_peer_wait_ms: 1_500,
        ..not_a_seeder()
    });
    let swarm = r.e.info_hash().unwrap();
    r.input(Input::TrackerMessage {
        tracker: TrackerId(0),
        message: ServerMessage::Announce(AnnounceResponse {
            action: Default::default(),
            info_hash: Id20(swarm),
            interval: 120,
            complete: 0,
            incomplete: in_swarm,
        }),
    });
    r.input(Input::Playback {
        position_ms: 24_000,
        playing: false,
    });
    r
}

#[test]
fn a_joiner_told_to_wait_takes_its_first_segment_from_a_peer() {
    let mut r = starting_viewer(40);
    // Due now, yet held: nothing plays, and peers are on their way.
    assert!(handed(&r.request(1, 12)).is_empty());
    assert!(handed(&r.advance(500)).is_empty());
    let conn = r.connect(remote(1));
    let out = r.peer_says(conn, have(vec![12, 13]));
    let asked = asked_of(&out, conn);
    assert!(
        asked.iter().any(|&(_, sn)| sn == 12),
        "asked the peer: {asked:?}"
    );
    let (req, _) = asked.into_iter().find(|&(_, sn)| sn == 12).unwrap();
    assert!(
        handed(&r.advance(300)).is_empty(),
        "no deadline passes before playback"
    );
    let got = delivered(&r.peer_sends(conn, req, &body(12)));
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0, got[0].2), (RequestId(1), Source::P2p(conn)));
    assert_eq!(got[0].1, body(12));
    assert_eq!(r.e.stats().http_down, 0);
}

#[test]
fn a_joiner_waits_for_peers_no_longer_than_its_budget() {
    let mut r = starting_viewer(40);
    assert!(handed(&r.request(1, 12)).is_empty());
    assert!(handed(&r.advance(1_400)).is_empty());
    assert_eq!(
        handed(&r.advance(100)),
        vec![RequestId(1)],
        "then hls.js loads it"
    );
}

#[test]
fn a_joiner_the_tracker_finds_alone_starts_over_http_at_once() {
    let mut r = starting_viewer(1);
    assert_eq!(handed(&r.request(1, 12)), vec![RequestId(1)]);
}

#[test]
fn once_playing_a_joiner_holds_nothing_inside_its_http_window() {
    let mut r = starting_viewer(40);
    r.input(Input::Playback {
        position_ms: 24_000,
        playing: true,
    });
    assert_eq!(handed(&r.request(1, 12)), vec![RequestId(1)]);
}

#[test]
fn a_request_with_another_fingerprint_is_absent() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let (stream, _) = wire(12);
    let out = r.peer_says(
        conn,
        Message::Request {
            req: 5,
            stream,
            segment: 12,
            fingerprint: 1,
        },
    );
    assert_eq!(sent(&out, conn), vec![Message::Absent { req: 5 }]);
}

#[test]
fn a_sequence_reset_forgets_what_was_stored_under_the_old_numbers() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    // The packager restarted; sn 12 is now another file.
    let mut restarted = playlist(0..13);
    restarted.segments[12].url = "http://o/restart/12.ts".into();
    let out = r.input(Input::Playlist(restarted));
    assert!(sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Have { removed, .. } if removed.contains(&12))));
    // The new sn 12 is fetched afresh: prefetched for the swarm, or by hls.js.
    let prefetched = out
        .iter()
        .any(|o| matches!(o, Output::HttpFetch { url, .. } if url == "http://o/restart/12.ts"));
    let out = r.request_of(2, STREAM, 12, "http://o/restart/12.ts");
    assert!(delivered(&out).is_empty());
    assert!(prefetched || handed(&out) == vec![RequestId(2)], "{out:?}");
}

#[test]
fn redelivered_data_reports_the_speed_it_was_fetched_at() {
    let mut r = Rig::new(Config::default());
    r.now = 1_000;
    r.request(1, 12);
    r.now = 1_400;
    r.loaded(1, &body(12));
    // Asked again 5 s later: the same 400 ms transfer, ending now, not an
    // instant load that would inflate hls.js's bandwidth estimate.
    r.now = 6_400;
    let out = r.request(2, 12);
    let again = Timing {
        start_ms: 6_000,
        first_byte_ms: 6_000,
        end_ms: 6_400,
    };
    assert_eq!(timings(&out), vec![again]);
}

#[test]
fn segments_are_uploaded_in_chunks_and_absent_ones_refused() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.peer_says(conn, ask(5, 12));
    let mut got = Vec::new();
    for m in sent(&out, conn) {
        if let Message::Data { req: 5, bytes, .. } = m {
            got.extend(bytes);
        }
    }
    assert_eq!(got, body(12));
    assert_eq!(r.e.stats().up, 40_000);
    let out = r.peer_says(conn, ask(6, 99));
    assert_eq!(sent(&out, conn), vec![Message::Absent { req: 6 }]);
}

#[test]
fn upload_off_refuses_every_request() {
    let mut r = Rig::new(Config {
        upload: false,
        ..Config::default()
    });
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.peer_says(conn, ask(5, 12));
    assert_eq!(sent(&out, conn), vec![Message::Absent { req: 5 }]);
}

/// A config under which this node never seeds segments for the swarm
/// itself, whatever the rendezvous election says: a test's prefetch then
/// comes only from its own steps.
fn not_a_seeder() -> Config {
    Config {
        seed_window_ms: 0,
        ..Config::default()
    }
}

/// A P2P download of segment 14 for request 1, position far enough back
/// that it is not urgent; the peer sends `partial` bytes then goes silent.
fn silent_peer(partial: usize) -> (Rig, ConnId, Vec<Output>) {
    let mut r = Rig::new(Config::default());
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    let conn = r.connect(*b"-SC0100-remoteremote");
    // Segment 14 is 6 s ahead: fetched from the peer as soon as it has it.
    let mut out = r.peer_says(conn, have(vec![14]));
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

/// hls.js asked for segment 14 at `position_ms`, and a peer is sending it.
fn receiving_14(position_ms: Millis, playing: bool) -> (Rig, ConnId) {
    let mut r = Rig::new(not_a_seeder());
    r.input(Input::Playback {
        position_ms,
        playing,
    });
    let conn = r.connect(remote(1));
    let mut out = r.peer_says(conn, have(vec![14]));
    out.extend(r.request(1, 14));
    assert!(asked_of(&out, conn).iter().any(|&(_, sn)| sn == 14));
    (r, conn)
}

#[test]
fn a_peer_that_leaves_mid_transfer_with_time_to_spare_is_replaced_by_another_holder() {
    let (mut r, first) = receiving_14(22_000, false);
    let second = r.connect(remote(2));
    r.peer_says(second, have(vec![14]));
    // Segment 14 plays in 6 s: its channel closing is no reason for HTTP.
    let out = r.input(Input::ChannelClosed { conn: first });
    assert!(handed(&out).is_empty(), "{out:?}");
    assert!(asked_of(&out, second).iter().any(|&(_, sn)| sn == 14));
    assert_eq!(r.e.stats().p2p_fallbacks, 1);
}

#[test]
fn a_peer_that_leaves_mid_transfer_inside_the_http_window_sends_it_to_hls() {
    let (mut r, first) = receiving_14(25_000, true);
    r.advance(1_100);
    let out = r.input(Input::ChannelClosed { conn: first });
    assert_eq!(handed(&out), vec![RequestId(1)]);
}

#[test]
fn a_silent_peer_is_abandoned_and_hls_loads_the_whole_segment() {
    let (mut r, conn, out) = silent_peer(16_000);
    assert!(sent(&out, conn).contains(&Message::Cancel { req: 1 }));
    assert_eq!(handed(&out), vec![RequestId(1)]);
    assert!(
        fetches(&out).is_empty(),
        "no Range resume on a peer's bytes"
    );
    r.loaded(1, &body(14));
    assert_eq!(r.e.stats().p2p_fallbacks, 1);
    let out = r.request(2, 14);
    assert_eq!(delivered(&out)[0].1, body(14));
}

/// Playing 3 s before segment 14: a peer has it, so it is asked for it, then
/// goes silent; by then segment 14 is due within the HTTP window, so it is
/// prefetched over HTTP. Returns the rig, the peer and that prefetch.
fn prefetching_14() -> (Rig, ConnId, FetchId) {
    let mut r = Rig::new(not_a_seeder());
    r.input(Input::Playback {
        position_ms: 25_000,
        playing: true,
    });
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = r.peer_says(conn, have(vec![14]));
    assert!(sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Request { segment: 14, .. })));
    let out = r.advance(1_600);
    let fetch = prefetch_of(&out, 14).unwrap_or_else(|| panic!("{out:?}"));
    (r, conn, fetch)
}

#[test]
fn a_failed_prefetch_hands_the_waiting_request_to_hls() {
    let (mut r, _, fetch) = prefetching_14();
    let out = r.request(1, 14);
    assert!(handed(&out).is_empty(), "waits for the prefetch");
    let out = r.input(Input::HttpFailed { fetch });
    assert_eq!(handed(&out), vec![RequestId(1)]);
}

#[test]
fn a_prefetch_answers_the_request_that_waits_for_it() {
    let (mut r, _, fetch) = prefetching_14();
    r.request(1, 14);
    let first_byte = r.now + 50;
    r.now += 100;
    let out = r.input(Input::HttpLoaded {
        fetch,
        data: body(14),
        first_byte,
    });
    assert_eq!(
        delivered(&out),
        vec![(RequestId(1), body(14), Source::Http)]
    );
}

#[test]
fn rejected_p2p_data_drops_the_peer_and_hls_loads_it() {
    let (mut r, conn, _) = p2p_segment_with_a_watcher(Config::default());
    let out = r.input(Input::SegmentRejected { req: RequestId(1) });
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Event(Event::PeerClosed { .. }))));
    assert_eq!(handed(&out), vec![RequestId(1)]);
    r.loaded(1, &body(14));
    let out = r.request(2, 14);
    assert_eq!(
        delivered(&out),
        vec![(RequestId(2), body(14), Source::Http)]
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
    let mut out = r.peer_says(from, have(vec![14]));
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
    let asked = |r: &mut Rig, req| {
        let out = r.peer_says(other, ask(req, 14));
        sent(&out, other)
    };
    assert_eq!(asked(&mut r, 7), vec![Message::Absent { req: 7 }]);
    let out = r.input(Input::SegmentAccepted {
        req: RequestId(1),
        checked: true,
    });
    assert_eq!(sent(&out, other), vec![have(vec![14])]);
    assert!(matches!(
        asked(&mut r, 8)[..],
        [Message::Data { req: 8, .. }]
    ));
}

#[test]
fn unchecked_p2p_data_is_passed_on_once_hls_js_buffered_it() {
    let cfg = Config {
        validate_p2p: true,
        ..Config::default()
    };
    let (mut r, _, other) = p2p_segment_with_a_watcher(cfg);
    let out = r.input(Input::SegmentAccepted {
        req: RequestId(1),
        checked: false,
    });
    assert_eq!(sent(&out, other), vec![], "nothing vouched for it yet");
    let out = r.input(Input::SegmentBuffered { req: RequestId(1) });
    assert_eq!(sent(&out, other), vec![have(vec![14])]);
    let out = r.input(Input::SegmentBuffered { req: RequestId(1) });
    assert_eq!(sent(&out, other), vec![], "announced once");
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
fn another_manifest_is_another_swarm() {
    let mut r = Rig::new(Config::default());
    let before = r.e.info_hash().unwrap();
    let conn = r.connect(*b"-SC0100-remoteremote");
    let mut p = playlist(10..16);
    p.manifest_url = format!("{URL}?ch=9");
    let out = r.input(Input::Playlist(p));
    assert_ne!(r.e.info_hash().unwrap(), before);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
    assert!(r.e.stats().peers.is_empty());
}

#[test]
fn with_a_swarm_id_tokens_in_urls_do_not_split_the_swarm() {
    let cfg = |_| Config {
        swarm_id: Some("event-42".into()),
        ..Config::default()
    };
    let viewer = |token: &str| {
        let mut r = Rig::new(cfg(()));
        let mut p = playlist(10..16);
        p.manifest_url = format!("{URL}?token={token}");
        for s in &mut p.segments {
            s.url = format!("http://o/{token}/{}.ts?token={token}", s.sn);
        }
        r.input(Input::Playlist(p));
        r
    };
    let (a, b) = (viewer("aaa"), viewer("bbb"));
    assert_eq!(a.e.info_hash(), b.e.info_hash());
    let fp = |r: &Rig| {
        r.e.content
            .as_ref()
            .and_then(|c| {
                c.segment(stream::SegmentKey {
                    stream: identity::stream_id(STREAM),
                    sn: 12,
                })
            })
            .map(|s| s.fingerprint)
    };
    assert_eq!(fp(&a), fp(&b));
}

#[test]
fn close_hands_pending_requests_to_hls_and_leaves_nothing_running() {
    let (mut r, conn, fetch) = prefetching_14();
    r.request(1, 14);
    r.e.close(r.now);
    let out = r.drain();
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::HttpAbort { fetch: f } if *f == fetch)));
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn)));
    assert_eq!(handed(&out), vec![RequestId(1)]);
    assert_eq!(r.e.poll_timeout(), None);
}

/// Paused at 26 s, receiving from its one peer segment 14 (due in 2 s,
/// unrequested) and, when `request_15`, segment 15 for hls.js's request 1.
fn receiving_near_the_deadline(request_15: bool) -> (Rig, ConnId) {
    let mut r = Rig::new(not_a_seeder());
    r.input(Input::Playback {
        position_ms: 26_000,
        playing: false,
    });
    let conn = r.connect(remote(1));
    let mut out = r.peer_says(conn, have(vec![14, 15]));
    let mut want = vec![14];
    if request_15 {
        out.extend(r.request(1, 15));
        want.push(15);
    }
    let asked = asked_of(&out, conn);
    assert!(want.iter().all(|sn| asked.iter().any(|&(_, a)| a == *sn)));
    (r, conn)
}

#[test]
fn close_starts_no_fetch_for_a_transfer_it_cuts() {
    let (mut r, conn) = receiving_near_the_deadline(false);
    r.e.close(r.now);
    let out = r.drain();
    assert!(fetches(&out).is_empty(), "{out:?}");
    assert!(out.contains_close(conn));
}

#[test]
fn another_manifest_hands_waiting_requests_to_hls_and_fetches_nothing() {
    let (mut r, conn) = receiving_near_the_deadline(true);
    let out = r.input(Input::Playlist(Playlist {
        manifest_url: "http://o/other.m3u8".into(),
        ..playlist(10..16)
    }));
    assert!(fetches(&out).is_empty(), "{out:?}");
    assert_eq!(handed(&out), vec![RequestId(1)]);
    assert!(out.contains_close(conn));
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
fn a_channel_whose_peer_never_shakes_hands_is_closed() {
    // A VOD with nothing to load: only the handshake deadline wakes the engine.
    let mut r = Rig::new(Config::default());
    r.input(Input::Playlist(playlist_of(false, 10..16)));
    let conn = r.open(remote(1));
    assert_eq!(r.e.poll_timeout(), Some(r.now + 5_000));
    let closes = |out: &[Output]| {
        out.iter()
            .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn))
    };
    assert!(!closes(&r.advance(4_950)), "closed too early");
    assert!(closes(&r.advance(50)), "closed at 5 s");
    // A peer that did shake hands is kept.
    let ok = r.connect(remote(2));
    assert!(!r
        .advance(10_000)
        .iter()
        .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == ok)));
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

/// The connection of the first offer `out` asks the shell to create.
fn created_offer(out: &[Output]) -> Option<ConnId> {
    out.iter().find_map(|o| match o {
        Output::CreateOffer { conn } => Some(*conn),
        _ => None,
    })
}

/// The announces (with offers, or carrying an answer) among `out`.
fn tracker_sends(out: &[Output]) -> Vec<&AnnounceRequest<SessionDescription>> {
    out.iter()
        .filter_map(|o| match o {
            Output::TrackerSend { message, .. } => match message.as_ref() {
                ClientMessage::Announce(a) => Some(a),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Two viewers announce at once and the tracker gives each the other's
/// offer, so each answers before it hears the answer to its own. Whatever
/// order the answers arrive in, both must keep the same one connection:
/// were each to drop a different path, both would be left alone until the
/// next announce, tens of seconds later.
#[test]
fn offers_that_cross_in_the_tracker_leave_one_connection() {
    let cfg = Config {
        offers_per_announce: 1,
        ..Config::default()
    };
    for first_answered in [0, 1] {
        let mut rigs = [Rig::seeded(cfg.clone(), 1), Rig::seeded(cfg.clone(), 2)];
        let ids = [rigs[0].e.peer_id(), rigs[1].e.peer_id()];
        let swarm = rigs[0].e.info_hash().unwrap();
        // Each offers once; offer_id -> connection, on the offering side.
        let mut offers = Vec::new();
        for r in &mut rigs {
            let out = r.input(Input::TrackerConnected {
                tracker: TrackerId(0),
            });
            let conn = created_offer(&out).expect("an offer for the announce");
            let out = r.input(Input::OfferCreated {
                conn,
                sdp: "o".into(),
            });
            let out = [out, r.advance(50)].concat();
            let announce = tracker_sends(&out)[0].offers[0].offer_id;
            offers.push((announce, conn));
        }
        // Each answers the other's offer: (answering conn, the answer's announce).
        let mut answers = Vec::new();
        for (i, r) in rigs.iter_mut().enumerate() {
            let from = 1 - i;
            let conn = r.offered(ids[from], offers[from].0);
            r.input(Input::AnswerCreated {
                conn,
                sdp: "a".into(),
            });
            answers.push(conn);
        }
        // The answers arrive, in either order. A path lives if its offerer
        // applied the answer and neither side closed it.
        // Per side: (closed its offer, closed its answer).
        let mut closed = [(false, false); 2];
        let mut applied = [false; 2];
        for i in [first_answered, 1 - first_answered] {
            let out = rigs[i].input(Input::TrackerMessage {
                tracker: TrackerId(0),
                message: ServerMessage::Answer(RelayedAnswer {
                    action: Default::default(),
                    info_hash: Id20(swarm),
                    peer_id: Id20(ids[1 - i]),
                    offer_id: offers[i].0,
                    answer: SessionDescription {
                        kind: "answer".into(),
                        sdp: "a".into(),
                    },
                }),
            });
            applied[i] = out
                .iter()
                .any(|o| matches!(o, Output::ApplyAnswer { conn, .. } if *conn == offers[i].1));
            closed[i] = (
                out.contains_close(offers[i].1),
                out.contains_close(answers[i]),
            );
        }
        // Path i: offered by rig i (conn offers[i].1), answered by the other
        // (conn answers[1 - i]).
        let live: Vec<usize> = (0..2)
            .filter(|&i| applied[i] && !closed[i].0 && !closed[1 - i].1)
            .collect();
        assert_eq!(
            live.len(),
            1,
            "answers from {first_answered} first: paths left {live:?}"
        );
        // Its channel opens and the two shake hands: they are peers.
        let i = live[0];
        let ends = [(i, offers[i].1), (1 - i, answers[1 - i])];
        // In order: a message before the handshake closes the channel.
        let mut wire: VecDeque<(usize, Output)> = VecDeque::new();
        for &(side, conn) in &ends {
            wire.extend(
                rigs[side]
                    .input(Input::ChannelOpen { conn })
                    .into_iter()
                    .map(|o| (side, o)),
            );
        }
        while let Some((side, o)) = wire.pop_front() {
            if let Output::SendData { data, .. } = o {
                let (to, conn) = ends[1 - ends.iter().position(|e| e.0 == side).unwrap()];
                let out = rigs[to].input(Input::ChannelMessage { conn, data });
                wire.extend(out.into_iter().map(|o| (to, o)));
            }
        }
        for (side, r) in rigs.iter().enumerate() {
            let peers: Vec<PeerId> = r.e.stats().peers.iter().map(|p| p.peer_id).collect();
            assert_eq!(
                peers,
                vec![ids[1 - side]],
                "side {side}, answers from {first_answered} first"
            );
        }
    }
}

/// Announces among `out` (answers to offers apart).
fn announces(out: &[Output]) -> usize {
    tracker_sends(out)
        .iter()
        .filter(|a| a.answer.is_none())
        .count()
}

/// A viewer (one offer per announce) whose tracker is connected and got its
/// first announce.
fn announced_viewer() -> Rig {
    let mut r = Rig::new(Config {
        offers_per_announce: 1,
        ..Config::default()
    });
    let mut out = r.input(Input::TrackerConnected {
        tracker: TrackerId(0),
    });
    out.extend(r.input(Input::OfferCreated {
        conn: created_offer(&out).expect("an offer"),
        sdp: "o".into(),
    }));
    out.extend(r.advance(100));
    assert_eq!(announces(&out), 1, "the first announce");
    r
}

/// A path that breaks right after the handshake (the other end crashed, or
/// closed it as a duplicate) leaves a viewer alone: it announces again
/// within seconds, not after the tracker's 30 s interval.
#[test]
fn a_viewer_that_loses_its_last_peer_announces_again_soon() {
    let mut r = announced_viewer();
    let conn = r.connect(*b"-SC0100-remoteremote");
    assert_eq!(
        announces(&r.advance(10_000)),
        0,
        "a viewer with a peer waits for the interval"
    );
    r.input(Input::ChannelClosed { conn });
    let out = r.advance(7_000);
    assert_eq!(
        announces(&out),
        1,
        "announced again within 7 s of losing its only peer"
    );
}

#[test]
fn a_viewer_whose_only_channel_never_shook_hands_announces_again_soon() {
    let mut r = announced_viewer();
    r.open(*b"-SC0100-remoteremote");
    let out = r.advance(10_000);
    assert!(
        announces(&out) >= 1,
        "announced again after closing the silent channel at 5 s"
    );
}

#[test]
fn a_have_longer_than_any_honest_one_closes_the_channel() {
    let mut r = Rig::new(Config::default());
    let conn = r.connect(*b"-SC0100-remoteremote");
    let ids = swarmcast_protocol::peer::MAX_HAVE_IDS as u64 + 1;
    let out = r.peer_says(conn, have((0..ids).collect()));
    assert!(out.contains_close(conn));
    assert!(r.e.stats().peers.is_empty());
}

trait Closes {
    fn contains_close(&self, conn: ConnId) -> bool;
}

impl Closes for Vec<Output> {
    fn contains_close(&self, conn: ConnId) -> bool {
        self.iter()
            .any(|o| matches!(o, Output::CloseConnection { conn: c } if *c == conn))
    }
}

/// Uploads to `conn` that got their first chunk.
fn uploads_started(out: &[Output], conn: ConnId) -> usize {
    sent(out, conn)
        .iter()
        .filter(|m| matches!(m, Message::Data { offset: 0, .. }))
        .count()
}

#[test]
fn a_request_flood_gets_a_bounded_queue_then_absent() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    // The channel never drains: 6 segments fill it, 8 more wait, the rest are refused.
    let mut out = Vec::new();
    for req in 0..100 {
        out.extend(r.peer_says(conn, ask(req, 12)));
    }
    let absent = sent(&out, conn)
        .iter()
        .filter(|m| matches!(m, Message::Absent { .. }))
        .count();
    let started = uploads_started(&out, conn);
    // The last started upload may still sit in the queue, partly sent.
    let queued = 100 - started - absent;
    assert!(
        started <= 7 && (7..=8).contains(&queued),
        "{started} {queued}"
    );
}

#[test]
fn a_peer_gets_no_more_media_time_than_its_upload_budget() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let mut served = 0;
    // 40 s of requests for the same 2 s segment, 10 a second, channel drained each time.
    for req in 0..400 {
        let mut out = r.peer_says(conn, ask(req, 12));
        out.extend(r.input(Input::ChannelBufferedLow { conn }));
        out.extend(r.advance(100));
        served += uploads_started(&out, conn);
    }
    // A first burst of 60 s of media, then 4× real time.
    let budget = (60_000 + 40_000 * 4) / 2_000;
    assert!(served <= budget + 1, "{served} > {budget}");
    assert!(served >= budget - 2, "an honest rate is served: {served}");
    assert!(r.e.stats().up <= (budget as u64 + 1) * 40_000);
}

#[test]
fn uploads_of_segments_below_the_low_water_mark_go_on_past_the_high_water_mark() {
    // 40 kB segments never fill a channel past its 64 kB low-water mark, so
    // the browser never fires `bufferedamountlow` by itself: each pause
    // must ask the shell to report the drain (this shell finds it low).
    let cfg = Config::default();
    let (high_water, low_water) = (cfg.channel_high_water, cfg.channel_low_water);
    let mut r = Rig::new(cfg);
    for sn in 10..16 {
        r.request(sn as u32, sn);
        r.loaded(sn as u32, &body(sn));
    }
    let conn = r.connect(*b"-SC0100-remoteremote");
    assert!(body(10).len() < low_water);
    let asks = (10..16).chain(10..16).enumerate();
    for (req, sn) in asks {
        let mut out = r.peer_says(conn, ask(req as u32, sn));
        assert_eq!(
            uploads_started(&out, conn),
            1,
            "segment {sn}, request {req}"
        );
        let waits = |out: &[Output]| {
            out.iter()
                .any(|o| matches!(o, Output::NotifyWhenDrained { conn: c } if *c == conn))
        };
        while waits(&out) {
            out = r.input(Input::ChannelBufferedLow { conn });
        }
    }
    let up = r.e.stats().up;
    assert_eq!(up, 12 * body(10).len() as u64);
    assert!(up > high_water as u64);
}

/// Under a 100 kB memory cap, with segments `stored` kept first: request 9
/// for segment 14 goes to a peer, which answers its first chunk declaring
/// `total`. Returns the rig, the peer and the outputs of that chunk.
fn first_chunk_under_a_small_cap(stored: &[u64], total: u64) -> (Rig, ConnId, Vec<Output>) {
    let mut r = Rig::new(Config {
        memory_cap: 100_000,
        ..Config::default()
    });
    for &sn in stored {
        r.request(sn as u32, sn);
        r.loaded(sn as u32, &body(sn));
    }
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    let conn = r.connect(*b"-SC0100-remoteremote");
    let mut out = r.peer_says(conn, have(vec![14]));
    out.extend(r.request(9, 14));
    let Some(Message::Request { req, .. }) = sent(&out, conn).pop() else {
        panic!("expected a P2P request: {out:?}")
    };
    let data = Message::Data {
        req,
        offset: 0,
        total,
        bytes: body(14)[..1_000].to_vec(),
    };
    let out = r.peer_says(conn, data);
    (r, conn, out)
}

#[test]
fn a_declared_total_beyond_the_memory_cap_is_not_buffered() {
    let (r, conn, out) = first_chunk_under_a_small_cap(&[], 1 << 40);
    assert_eq!(handed(&out), vec![RequestId(9)], "hls.js loads it");
    assert!(!out.contains_close(conn), "a large segment is no offence");
    assert_eq!(r.e.stats().p2p_down, 0);
}

#[test]
fn a_transfer_under_way_evicts_stored_segments_to_fit_the_cap() {
    // 80 kB stored + 40 kB declared > 100 kB: the oldest goes, peers hear it.
    let (mut r, conn, out) = first_chunk_under_a_small_cap(&[10, 11], 40_000);
    let (stream, _) = wire(10);
    assert!(sent(&out, conn).contains(&Message::Have {
        stream,
        added: vec![],
        removed: vec![10]
    }));
    let out = r.request(4, 10);
    assert_eq!(handed(&out), vec![RequestId(4)], "evicted");
}

#[test]
fn fetching_claims_are_relayed_to_the_other_peers_up_to_the_hop_limit() {
    let mut r = Rig::new(Config::default());
    r.input(Input::Playlist(playlist(10..17)));
    let fetcher = r.connect(*b"-SC0100-fetcherfetch");
    let other = r.connect(*b"-SC0100-otherotherot");
    let (stream, _) = wire(16);
    let claim = |segment, hops| Message::Fetching {
        stream,
        segment,
        hops,
    };
    let out = r.peer_says(fetcher, claim(16, 0));
    assert_eq!(sent(&out, other), vec![claim(16, 1)]);
    assert!(sent(&out, fetcher).is_empty(), "not back to the fetcher");
    let out = r.peer_says(other, claim(16, 1));
    assert!(out.is_empty(), "a claim already known is news to no one");
    let out = r.peer_says(fetcher, claim(12, MAX_CLAIM_HOPS - 1));
    assert_eq!(sent(&out, other), vec![claim(12, MAX_CLAIM_HOPS)]);
    let out = r.peer_says(fetcher, claim(11, MAX_CLAIM_HOPS));
    assert!(sent(&out, other).is_empty(), "it went far enough");
    // The fetcher's playlist may show a live segment before ours does.
    let next = 16 + CLAIM_AHEAD_SEGMENTS;
    let out = r.peer_says(fetcher, claim(next, 0));
    assert_eq!(
        sent(&out, other),
        vec![claim(next, 1)],
        "just past our newest"
    );
    let out = r.peer_says(fetcher, claim(next + 1, 0));
    assert!(sent(&out, other).is_empty(), "too far past our newest");
    let out = r.peer_says(fetcher, claim(99, 0));
    assert!(
        sent(&out, other).is_empty(),
        "not a segment of our playlists"
    );
}

#[test]
fn fetching_claims_are_bounded() {
    let mut r = Rig::new(Config::default());
    let conn = r.connect(*b"-SC0100-remoteremote");
    let (stream, _) = wire(0);
    for segment in 0..1_000 {
        r.peer_says(
            conn,
            Message::Fetching {
                stream,
                segment,
                hops: 0,
            },
        );
    }
    assert_eq!(r.e.claims.len(), claims::MAX_CLAIMS);
    let newest = SegmentKey { stream, sn: 999 };
    assert!(
        r.e.claims.worth_waiting(newest, r.e.now, None),
        "the newest stays"
    );
}

/// Remote peers with distinct ids.
fn remote(n: u8) -> PeerId {
    let mut id = *b"-SC0100-remote000000";
    id[19] = n;
    id
}

#[test]
fn uploads_go_to_two_askers_at_once_and_others_are_refused_until_one_drains() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conns: Vec<ConnId> = (0..3).map(|n| r.connect(remote(n))).collect();
    for (i, &conn) in conns.iter().enumerate() {
        let out = r.peer_says(conn, ask(i as u32, 12));
        let refused = sent(&out, conn).contains(&Message::Absent { req: i as u32 });
        assert_eq!(refused, i == 2, "asker {i}");
    }
    // An asker already served may queue more: it holds its slot.
    let out = r.peer_says(conns[0], ask(7, 12));
    assert_eq!(uploads_started(&out, conns[0]), 1);
    // Once a served channel drains, the slot is free again.
    r.input(Input::ChannelBufferedLow { conn: conns[1] });
    let out = r.peer_says(conns[2], ask(8, 12));
    assert_eq!(uploads_started(&out, conns[2]), 1);
}

/// Live, playing 6 s before segment 14, which two peers hold; the first one
/// asked refuses (its upload slots are full).
fn refused_by_the_first_holder() -> (Rig, [ConnId; 2], Vec<Output>) {
    let mut r = Rig::new(not_a_seeder());
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: true,
    });
    let conns = [r.connect(remote(1)), r.connect(remote(2))];
    let mut out = r.peer_says(conns[0], have(vec![14]));
    out.extend(r.request(1, 14));
    let Some(Message::Request { req, .. }) = sent(&out, conns[0]).pop() else {
        panic!("expected a P2P request: {out:?}")
    };
    let out = r.peer_says(conns[0], Message::Absent { req });
    (r, conns, out)
}

#[test]
fn a_refusing_holder_is_waited_for_until_the_http_window() {
    let (mut r, conns, out) = refused_by_the_first_holder();
    assert!(
        handed(&out).is_empty(),
        "not HTTP while 6 s remain: {out:?}"
    );
    // It is asked again after a short back-off and, refusing every time,
    // loses the segment to HTTP when it is due.
    let (mut asked, mut handed_at) = (0, None);
    for _ in 0..100 {
        let mut out = r.advance(50);
        for m in sent(&out.clone(), conns[0]) {
            if let Message::Request { req, .. } = m {
                asked += 1;
                out.extend(r.peer_says(conns[0], Message::Absent { req }));
            }
        }
        if !handed(&out).is_empty() {
            handed_at = Some(r.now);
            break;
        }
    }
    let at = handed_at.expect("handed to hls.js before its deadline");
    assert!(asked >= 4, "asked again after each back-off: {asked}");
    let deadline = 28_000 - 22_000;
    assert!(at < deadline && at + 2_100 >= deadline, "handed at {at} ms");
}

#[test]
fn a_refused_request_goes_to_another_holder() {
    let (mut r, conns, _) = refused_by_the_first_holder();
    let out = r.peer_says(conns[1], have(vec![14]));
    assert!(sent(&out, conns[1])
        .iter()
        .any(|m| matches!(m, Message::Request { segment: 14, .. })));
}

/// A viewer playing from `position_ms` that asked its one peer for
/// segment 14 (at 28 s), hls.js waiting for it: the rig, the peer, the request.
fn asked_a_peer_for_14(position_ms: Millis) -> (Rig, ConnId, u32) {
    let mut r = Rig::new(not_a_seeder());
    r.input(Input::Playback {
        position_ms,
        playing: true,
    });
    let conn = r.connect(remote(1));
    let mut out = r.peer_says(conn, have(vec![14]));
    out.extend(r.request(1, 14));
    let Some(Message::Request { req, .. }) = sent(&out, conn).pop() else {
        panic!("expected a P2P request: {out:?}")
    };
    (r, conn, req)
}

#[test]
fn a_peer_too_slow_for_the_deadline_is_left_for_a_faster_holder() {
    let (mut r, slow, req) = asked_a_peer_for_14(24_000);
    // 1 kB every 100 ms: 40 kB would take 4 s, past the 2 s urgent window.
    let mut cancelled = false;
    for i in 0..10u64 {
        let chunk = body(14)[i as usize * 1_000..(i as usize + 1) * 1_000].to_vec();
        r.peer_says(
            slow,
            Message::Data {
                req,
                offset: i * 1_000,
                total: 40_000,
                bytes: chunk,
            },
        );
        let out = r.advance(100);
        if sent(&out, slow).contains(&Message::Cancel { req }) {
            cancelled = true;
            assert!(handed(&out).is_empty(), "time is left for another peer");
            break;
        }
    }
    assert!(cancelled, "the slow transfer was left");
    assert_eq!(
        r.e.stats().p2p_down,
        0,
        "its bytes never reached the player"
    );
    let fast = r.connect(remote(2));
    let out = r.peer_says(fast, have(vec![14]));
    assert!(sent(&out, fast)
        .iter()
        .any(|m| matches!(m, Message::Request { segment: 14, .. })));
}

#[test]
fn a_peer_that_finishes_well_before_the_deadline_is_kept_once_no_other_can_be_asked() {
    // 1.6 s before segment 14 plays: just enough to ask a peer.
    let (mut r, conn, req) = asked_a_peer_for_14(26_400);
    // 4 kB every 100 ms: done 1 s after its first byte, 0.6 s before the
    // deadline, though inside the last half of the urgent window.
    let mut out = Vec::new();
    for i in 0..10u64 {
        let at = i as usize * 4_000;
        out.extend(r.peer_says(
            conn,
            Message::Data {
                req,
                offset: at as u64,
                total: 40_000,
                bytes: body(14)[at..at + 4_000].to_vec(),
            },
        ));
        out.extend(r.advance(100));
    }
    assert!(!sent(&out, conn).contains(&Message::Cancel { req }), "kept");
    assert!(handed(&out).is_empty(), "HTTP was not needed: {out:?}");
    assert_eq!(r.e.stats().p2p_down, 40_000, "delivered from the peer");
}

#[test]
fn a_viewer_beside_a_seeder_leaves_new_segments_to_it_until_the_http_window() {
    // Seeding on (the default window): alone, this viewer would prefetch.
    let mut r = Rig::new(Config::default());
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: true,
    });
    let mut seeder = *b"-SS0100-seederseeder";
    seeder[..8].copy_from_slice(identity::SEEDER_PREFIX);
    let conn = r.connect(seeder);
    r.peer_says(conn, have(vec![10]));
    let mut out = r.input(Input::Playlist(playlist(10..17)));
    out.extend(r.request(1, 14));
    // The seeder ranks first for every segment; it says it is fetching 14.
    let fetching = Message::Fetching {
        stream: identity::stream_id(STREAM),
        segment: 14,
        hops: 0,
    };
    out.extend(r.peer_says(conn, fetching));
    out.extend(r.advance(3_500));
    assert!(
        prefetch_of(&out, 14).is_none(),
        "no prefetch for the swarm: {out:?}"
    );
    assert!(handed(&out).is_empty(), "waits while 2.5 s remain");
    let out = r.advance(1_000);
    assert_eq!(
        handed(&out),
        vec![RequestId(1)],
        "HTTP stays the safety net"
    );
}

#[test]
fn a_viewer_seeds_new_segments_only_once_it_plays_and_its_first_peers_had_time_to_come() {
    let mut r = Rig::new(Config::default());
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    // Its one peer plays another level, so it ranks first for ours.
    let conn = r.connect(remote(1));
    r.peer_says(
        conn,
        Message::Have {
            stream: identity::stream_id("main/1"),
            added: vec![16],
            removed: vec![],
        },
    );
    let mut out = r.input(Input::Playlist(playlist(10..17)));
    out.extend(r.advance(1_000));
    assert!(
        fetches(&out).is_empty(),
        "still starting: the swarm brings them, or hls.js loads them: {out:?}"
    );
    let mut out = r.input(Input::Playback {
        position_ms: 22_000,
        playing: true,
    });
    assert!(
        fetches(&out).is_empty(),
        "its first peers may still come with their haves and claims: {out:?}"
    );
    out.extend(r.advance(2_000));
    assert!(!fetches(&out).is_empty(), "playing, settled: {out:?}");
}

/// A page that checks peers' segments, playing from segment 10 with
/// segments 11 to 29 ahead, none seeded by this node.
fn checking_viewer() -> Rig {
    let mut r = Rig::new(Config {
        validate_p2p: true,
        ..not_a_seeder()
    });
    r.input(Input::Playlist(playlist(10..30)));
    r.input(Input::Playback {
        position_ms: 20_000,
        playing: false,
    });
    r
}

impl Rig {
    /// A remote peer connects from `address` (as the shell reports it right
    /// after the channel opens), shakes hands and announces segments 11 to 29.
    /// Returns the connection and the outputs from the address on.
    fn connect_from(&mut self, remote: PeerId, address: u32) -> (ConnId, Vec<Output>) {
        let conn = self.open(remote);
        let mut out = self.input(Input::PeerAddress { conn, address });
        let swarm = self.e.info_hash().unwrap();
        let hello = Message::Handshake {
            version: VERSION,
            peer_id: remote,
            swarm,
        };
        out.extend(self.peer_says(conn, hello));
        out.extend(self.peer_says(conn, have((11..30).collect())));
        (conn, out)
    }

    /// `conn` answers request `req` for segment `sn` with `bytes`, hls.js
    /// asks for `sn` as request `hls_req`, and the page's check says `ok`.
    /// Returns the outputs after the verdict.
    fn serve_and_check(
        &mut self,
        conn: ConnId,
        (req, sn): (u32, u64),
        hls_req: u32,
        ok: bool,
    ) -> Vec<Output> {
        let bytes = if ok { body(sn) } else { vec![0; 40_000] };
        self.peer_sends(conn, req, &bytes);
        let out = self.request(hls_req, sn);
        assert_eq!(delivered(&out)[0].2, Source::P2p(conn), "{out:?}");
        let req = RequestId(hls_req);
        let verdict = if ok {
            Input::SegmentAccepted { req, checked: true }
        } else {
            Input::SegmentRejected { req }
        };
        self.input(verdict)
    }
}

impl Rig {
    /// `conn` answers request `req` with `bytes`, in 16 kB chunks.
    /// Only the first 16,000 of `bytes` arrive.
    fn peer_sends_start(&mut self, conn: ConnId, req: u32, bytes: &[u8]) {
        let data = Message::Data {
            req,
            offset: 0,
            total: bytes.len() as u64,
            bytes: bytes[..16_000].to_vec(),
        };
        self.peer_says(conn, data);
    }

    /// `bytes` arrive in 16,000-byte chunks; returns the outputs.
    fn peer_sends(&mut self, conn: ConnId, req: u32, bytes: &[u8]) -> Vec<Output> {
        let mut out = Vec::new();
        for (i, chunk) in bytes.chunks(16_000).enumerate() {
            let data = Message::Data {
                req,
                offset: i as u64 * 16_000,
                total: bytes.len() as u64,
                bytes: chunk.to_vec(),
            };
            out.extend(self.peer_says(conn, data));
        }
        out
    }
}

/// The segment requests (`req`, `sn`) sent to `conn`.
fn asked_of(out: &[Output], conn: ConnId) -> Vec<(u32, u64)> {
    sent(out, conn)
        .into_iter()
        .filter_map(|m| match m {
            Message::Request { req, segment, .. } => Some((req, segment)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_new_peer_is_asked_for_one_segment_until_one_passed_the_check() {
    let mut r = checking_viewer();
    let (conn, mut out) = r.connect_from(*b"-SC0100-remoteremote", 9);
    out.extend(r.advance(1_000));
    let asked = asked_of(&out, conn);
    assert_eq!(asked.len(), 1, "one request while on trial: {asked:?}");
    // Its segment arrives; until hls.js asks and the check passes, nothing more.
    let (req, sn) = asked[0];
    r.peer_sends(conn, req, &body(sn));
    let out = r.advance(1_000);
    assert!(
        asked_of(&out, conn).is_empty(),
        "its segment awaits the check"
    );
    let mut out = r.request(1, sn);
    out.extend(r.input(Input::SegmentAccepted {
        req: RequestId(1),
        checked: true,
    }));
    out.extend(r.advance(200));
    assert_eq!(asked_of(&out, conn).len(), 2, "trusted: two at once");
}

#[test]
fn segments_a_caught_liar_sent_ahead_are_thrown_away() {
    let mut r = checking_viewer();
    let (conn, mut out) = r.connect_from(*b"-SC0100-remoteremote", 9);
    out.extend(r.advance(1_000));
    let (req, sn) = asked_of(&out, conn)[0];
    r.peer_sends(conn, req, &body(sn));
    // Nothing could check it: handed to hls.js, it ends the trial.
    let mut out = r.request(1, sn);
    out.extend(r.input(Input::SegmentAccepted {
        req: RequestId(1),
        checked: false,
    }));
    out.extend(r.advance(200));
    let ahead = asked_of(&out, conn);
    assert!(!ahead.is_empty(), "trusted, it is asked for more");
    let (last, whole) = ahead.split_last().unwrap();
    for &(req, sn) in whole {
        r.peer_sends(conn, req, &body(sn));
    }
    // The last one is still arriving when the lie comes out.
    r.peer_sends_start(conn, last.0, &body(last.1));
    // hls.js could not parse the first one: the peer was lying.
    r.input(Input::SegmentRejected { req: RequestId(1) });
    let s = r.e.stats();
    let sent = (1 + whole.len() as u64) * body(sn).len() as u64 + 16_000;
    assert_eq!(
        (s.p2p_down, s.p2p_rejected, s.segments_p2p),
        (0, sent, 0),
        "none of its bytes count as P2P"
    );
    let (_, next) = ahead[0];
    let out = r.request(2, next);
    assert!(delivered(&out).is_empty(), "the liar's bytes are gone");
    // With no peer left, it waits for one as a viewer that just joined does.
    let out = r.advance(3_000);
    assert_eq!(handed(&out), vec![RequestId(2)], "then hls.js fetches it");
}

#[test]
fn a_liar_costs_one_segment_and_a_fresh_id_from_its_address_does_not_reset_that() {
    let mut r = checking_viewer();
    let liar = |n: u8| {
        let mut id = *b"-XX0001-liarliarliar";
        id[19] = n;
        id
    };
    let address = 9;
    // A first lie: one segment taken, then the peer is dropped and its address struck.
    let (conn, mut out) = r.connect_from(liar(1), address);
    out.extend(r.advance(1_000));
    let asked = asked_of(&out, conn);
    assert_eq!(asked.len(), 1);
    let out = r.serve_and_check(conn, asked[0], 1, false);
    assert!(out.contains_close(conn));
    assert_eq!(r.e.stats().p2p_rejected, 40_000, "one segment's bytes");
    // A fresh id from that address is on probation: one segment at a time,
    // and its lie is a second strike.
    let (conn, mut out) = r.connect_from(liar(2), address);
    assert!(
        !out.contains_close(conn),
        "one strike does not shut an address out"
    );
    out.extend(r.advance(1_000));
    let asked = asked_of(&out, conn);
    assert_eq!(asked.len(), 1);
    r.serve_and_check(conn, asked[0], 2, false);
    assert_eq!(r.e.stats().p2p_rejected, 80_000);
    // Now the address backs off: new connections from it get nothing...
    let (conn, mut out) = r.connect_from(liar(3), address);
    out.extend(r.advance(1_000));
    assert!(out.contains_close(conn) && asked_of(&out, conn).is_empty());
    // ... while another address is not concerned ...
    let (other, _) = r.connect_from(*b"-SC0100-otherotherot", address + 1);
    assert!(r.e.peers.contains_key(&other));
    r.e.handle_input(r.now, Input::ChannelClosed { conn: other });
    // ... and once the back-off is over, an honest neighbour behind the same
    // address is served, on probation: one segment at a time until it passed
    // `PROBATION_SEGMENTS`.
    r.advance(penalties::BACKOFF_MS);
    r.input(Input::Playback {
        position_ms: 20_000,
        playing: false,
    });
    let (conn, mut out) = r.connect_from(*b"-SC0100-neighbourNAT", address);
    assert!(!out.contains_close(conn));
    out.extend(r.advance(200));
    for n in 0..peers::PROBATION_SEGMENTS {
        let asked = asked_of(&out, conn);
        assert_eq!(asked.len(), 1, "probation, segment {n}: {asked:?}");
        out = r.serve_and_check(conn, asked[0], 10 + n, true);
        out.extend(r.advance(200));
    }
    assert_eq!(asked_of(&out, conn).len(), 2, "trusted after probation");
}

/// Feeds `Input::Configure` with the current settings changed by `change`.
fn reconfigured(r: &mut Rig, change: impl FnOnce(&mut Config)) -> Vec<Output> {
    let mut cfg = r.e.cfg.clone();
    change(&mut cfg);
    r.input(Input::Configure(Box::new(cfg)))
}

#[test]
fn download_off_hands_transfers_from_peers_to_http_and_on_resumes_them() {
    let mut r = Rig::new(Config::default());
    r.input(Input::Playback {
        position_ms: 22_000,
        playing: false,
    });
    let conn = r.connect(*b"-SC0100-remoteremote");
    let mut out = r.peer_says(conn, have(vec![13, 14, 15]));
    out.extend(r.request(1, 14));
    assert!(sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Request { segment: 14, .. })));

    let out = reconfigured(&mut r, |c| c.download = false);
    let cancels = sent(&out, conn)
        .into_iter()
        .filter(|m| matches!(m, Message::Cancel { .. }))
        .count();
    assert!(cancels >= 1, "the transfers from the peer stop: {out:?}");
    assert_eq!(handed(&out), vec![RequestId(1)]);
    let out = r.request(2, 15);
    assert_eq!(handed(&out), vec![RequestId(2)]);
    let asked = sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Request { .. }));
    assert!(!asked, "the peer is not asked: {out:?}");
    assert!(r.e.stats().peers.len() == 1, "the peer stays, for upload");

    let mut out = reconfigured(&mut r, |c| c.download = true);
    out.extend(r.request(3, 13));
    assert!(handed(&out).is_empty(), "{out:?}");
    assert!(sent(&out, conn)
        .iter()
        .any(|m| matches!(m, Message::Request { segment: 13, .. })));
}

#[test]
fn p2p_upload_and_trackers_keep_their_start_values() {
    let mut r = Rig::new(Config::default());
    r.request(1, 12);
    r.loaded(1, &body(12));
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = reconfigured(&mut r, |c| {
        c.p2p = false;
        c.upload = false;
        c.trackers = vec!["wss://u".into()];
    });
    assert!(!out.contains_close(conn), "{out:?}");
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::TrackerClose { .. } | Output::TrackerConnect { .. }
    )));
    let out = r.peer_says(conn, ask(5, 12));
    assert_eq!(uploads_started(&out, conn), 1, "still serves: {out:?}");
}

#[test]
fn a_smaller_memory_cap_evicts_at_once_and_tells_peers() {
    let mut r = Rig::new(Config::default());
    for (req, sn) in [(1, 12), (2, 13)] {
        r.request(req, sn);
        r.loaded(req, &body(sn));
    }
    let conn = r.connect(*b"-SC0100-remoteremote");
    let out = reconfigured(&mut r, |c| c.memory_cap = 50_000);
    let evicted = Message::Have {
        stream: identity::stream_id(STREAM),
        added: vec![],
        removed: vec![12],
    };
    assert_eq!(sent(&out, conn), vec![evicted]);
    assert_eq!(delivered(&r.request(3, 13)).len(), 1, "the newest stays");
}
