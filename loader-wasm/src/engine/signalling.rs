//! WebTorrent signalling, sans-IO: one WebSocket per tracker URL, announce
//! cadence (honouring `interval`), a pool of non-trickle offers announced to
//! the tracker, answers to relayed offers, matching relayed answers by
//! offer_id, expiry of unanswered offers, and reconnect with backoff.
//!
//! It owns connections only until their data channel opens; then they are
//! handed to the engine's peer table.

use super::vecmap::VecMap;
use std::collections::VecDeque;

use swarmcast_protocol::{
    ids::Id20,
    tracker::{AnnounceEvent, AnnounceRequest, AnswerRequest, ClientMessage, Offer, ServerMessage},
};

use super::{
    identity::Rng, Config, ConnId, Event, Millis, Output, PeerId, SessionDescription,
    StatsSnapshot, TrackerId, TrackerReply,
};

/// How long an announce waits for its offers' ICE gathering.
const OFFER_WAIT_MS: Millis = 2_000;
/// After joining a swarm, requests wait this long at most for the first
/// peers (tracker, offers, ICE, data channel) and their haves: a viewer
/// joining cold would otherwise fetch its whole forward buffer over HTTP
/// before its first peer is ready (on a VOD, 30 s of segments).
const FIRST_PEERS_MS: Millis = 3_000;
/// An announce that went out short of offers (ICE gathering was slow, e.g.
/// on a busy machine) while we had no peer, or after which we lost our last
/// peer, is repeated this soon rather than after the tracker's interval, so a
/// viewer is never left alone for minutes.
const SHORT_ANNOUNCE_RETRY_MS: Millis = 5_000;

enum Link {
    Down { retry_at: Millis },
    Connecting,
    Up,
}

struct Tracker {
    url: String,
    link: Link,
    backoff: Millis,
    interval: Millis,
    next_announce: Millis,
    last_announce: Millis,
    /// `event: started` goes once per swarm per socket.
    started: bool,
    /// The last announce carried fewer offers than wanted, and we had no peer.
    short: bool,
    /// An announce is waiting for offers since this time.
    gathering_since: Option<Millis>,
}

enum Role {
    /// Our offer: SDP once gathered; `offer_id` once announced.
    Offer {
        sdp: Option<String>,
        offer_id: Option<[u8; 20]>,
    },
    /// Answering a relayed offer from `remote`.
    Answer { offer_id: [u8; 20] },
}

struct Pending {
    tracker: TrackerId,
    role: Role,
    remote: Option<PeerId>,
    expires: Millis,
}

/// A connection whose channel opened: handed to the peer table.
pub struct Opened {
    /// We made the offer (else we answered one).
    pub offered: bool,
}

pub struct Signalling {
    trackers: Vec<Tracker>,
    pending: VecMap<ConnId, Pending>,
    swarm: Option<[u8; 20]>,
    /// When we joined the swarm.
    joined: Millis,
    /// Whether a tracker's announce reply counted anyone beside us since we
    /// joined (`None`: no reply yet).
    others: Option<bool>,
    next_conn: u32,
}

fn description(kind: &str, sdp: String) -> SessionDescription {
    SessionDescription {
        kind: kind.into(),
        sdp,
    }
}

impl Tracker {
    /// Time from one announce to the next.
    fn cadence(&self) -> Millis {
        if self.short {
            SHORT_ANNOUNCE_RETRY_MS.min(self.interval)
        } else {
            self.interval
        }
    }
}

impl Signalling {
    pub fn new(cfg: &Config) -> Signalling {
        let mut trackers = Vec::new();
        for url in &cfg.trackers {
            trackers.push(Tracker {
                url: url.clone(),
                link: Link::Down { retry_at: 0 },
                backoff: cfg.reconnect_min_ms,
                interval: cfg.announce_interval_ms,
                next_announce: 0,
                last_announce: 0,
                started: false,
                short: false,
                gathering_since: None,
            });
        }
        Signalling {
            trackers,
            pending: VecMap::default(),
            swarm: None,
            joined: 0,
            others: None,
            next_conn: 1,
        }
    }

    /// Joins (or switches to) a swarm: announce on every open socket now.
    pub fn set_swarm(&mut self, info_hash: [u8; 20], now: Millis, out: &mut VecDeque<Output>) {
        self.swarm = Some(info_hash);
        self.joined = now;
        self.others = None;
        for conn in std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(c, _)| c)
        {
            out.push_back(Output::CloseConnection { conn });
        }
        for t in &mut self.trackers {
            t.started = false;
            t.next_announce = now;
            t.gathering_since = None;
        }
    }

    /// Whether we joined the swarm so recently that our first peers may
    /// still be on their way (a request implies a playlist, so a swarm).
    pub fn finding_first_peers(&self, now: Millis) -> bool {
        !self.trackers.is_empty() && now < self.joined + FIRST_PEERS_MS
    }

    /// Whether we joined less than `budget` ago into a swarm that, as far
    /// as the trackers said, others play: peers should come soon.
    pub fn peers_expected_within(&self, budget: Millis, now: Millis) -> bool {
        !self.trackers.is_empty() && now < self.joined + budget && self.others != Some(false)
    }

    pub fn alloc_conn(&mut self) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn = self.next_conn.wrapping_add(1).max(1);
        id
    }

    /// Whether one more connection may be set up beside our `peers`
    /// connected ones. Our offers that no one answered yet do not count:
    /// most never will be (the tracker relays them to whoever it picks), and
    /// counting them until they expire left a viewer that had announced to
    /// a few trackers refusing every offer for 50 s.
    fn room(&self, peers: usize, cfg: &Config) -> bool {
        let setting_up = self.pending.values().filter(|p| p.remote.is_some()).count();
        peers + setting_up < cfg.max_peers
    }

    /// Is a connection to `peer` already being set up?
    pub fn connecting_to(&self, peer: &PeerId) -> bool {
        self.pending
            .values()
            .any(|p| p.remote.as_ref() == Some(peer))
    }

    pub fn connected(&mut self, tracker: TrackerId, cfg: &Config, now: Millis) {
        if let Some(t) = self.trackers.get_mut(tracker.0 as usize) {
            t.link = Link::Up;
            t.backoff = cfg.reconnect_min_ms;
            t.started = false;
            t.next_announce = now;
        }
    }

    /// Our last peer left: announce again soon rather than after the
    /// tracker's interval, as after an announce short of offers. A path that
    /// broke as it opened would otherwise leave both ends alone for minutes.
    pub fn lost_last_peer(&mut self) {
        for t in &mut self.trackers {
            t.next_announce = t
                .next_announce
                .min(t.last_announce + SHORT_ANNOUNCE_RETRY_MS);
        }
    }

    pub fn closed(&mut self, tracker: TrackerId, cfg: &Config, now: Millis) {
        if let Some(t) = self.trackers.get_mut(tracker.0 as usize) {
            t.link = Link::Down {
                retry_at: now + t.backoff,
            };
            t.backoff = (t.backoff * 2).min(cfg.reconnect_max_ms);
            t.gathering_since = None;
        }
    }

    /// One tracker message. `known` says whether a peer id is already
    /// connected; `peers` is the number of connected peers.
    #[allow(clippy::too_many_arguments)]
    pub fn message(
        &mut self,
        tracker: TrackerId,
        msg: TrackerReply,
        me: &PeerId,
        known: &dyn Fn(&PeerId) -> bool,
        peers: usize,
        now: Millis,
        cfg: &Config,
        out: &mut VecDeque<Output>,
    ) {
        let Some(swarm) = self.swarm else { return };
        let ours = |h: &Id20| h.0 == swarm;
        match msg {
            ServerMessage::Error(e) if e.info_hash.as_ref().is_none_or(ours) => {
                out.push_back(Output::Event(Event::TrackerError {
                    tracker,
                    reason: e.failure_reason,
                }));
            }
            ServerMessage::Announce(a) if ours(&a.info_hash) => {
                // The counts include us.
                let others = a.complete.saturating_add(a.incomplete) > 1;
                self.others = Some(self.others == Some(true) || others);
                if let Some(t) = self.trackers.get_mut(tracker.0 as usize) {
                    t.interval = Millis::from(a.interval.clamp(5, 3_600)) * 1_000;
                    t.next_announce = t.last_announce + t.cadence();
                }
            }
            ServerMessage::Offer(o) if ours(&o.info_hash) && &o.peer_id.0 != me => {
                let remote = o.peer_id.0;
                if !self.room(peers, cfg) || known(&remote) || self.connecting_to(&remote) {
                    return;
                }
                let conn = self.alloc_conn();
                self.pending.insert(
                    conn,
                    Pending {
                        tracker,
                        role: Role::Answer {
                            offer_id: o.offer_id.0,
                        },
                        remote: Some(remote),
                        expires: now + cfg.offer_timeout_ms,
                    },
                );
                out.push_back(Output::CreateAnswer {
                    conn,
                    offer_sdp: o.offer.sdp,
                });
            }
            ServerMessage::Answer(a) if ours(&a.info_hash) && &a.peer_id.0 != me => {
                let remote = a.peer_id.0;
                let found = self.pending.iter().find_map(|(c, p)| match p.role {
                    Role::Offer {
                        offer_id: Some(id), ..
                    } if id == a.offer_id.0 && p.remote.is_none() => Some(*c),
                    _ => None,
                });
                let Some(conn) = found else { return };
                // Offers that crossed in the tracker: we are answering the
                // remote's offer as it answers ours. Both sides keep the path
                // offered by the lower peer id; each dropping its own offer
                // would leave both alone until the next announce.
                let crossed = self.pending.iter().find_map(|(c, p)| {
                    (matches!(p.role, Role::Answer { .. }) && p.remote == Some(remote))
                        .then_some(*c)
                });
                let ours_wins = crossed.is_some() && me < &remote;
                // A crossed path is swapped for this one: no room needed.
                let full = crossed.is_none() && !self.room(peers, cfg);
                if full || known(&remote) || (self.connecting_to(&remote) && !ours_wins) {
                    // Full, or a second path to a peer we already have: drop the offer.
                    self.pending.remove(&conn);
                    out.push_back(Output::CloseConnection { conn });
                    return;
                }
                if let Some(crossed) = crossed {
                    self.pending.remove(&crossed);
                    out.push_back(Output::CloseConnection { conn: crossed });
                }
                if let Some(p) = self.pending.get_mut(&conn) {
                    p.remote = Some(remote);
                    p.expires = now + cfg.offer_timeout_ms;
                }
                out.push_back(Output::ApplyAnswer {
                    conn,
                    answer_sdp: a.answer.sdp,
                });
            }
            _ => {}
        }
    }

    pub fn offer_created(&mut self, conn: ConnId, sdp: String) {
        if let Some(Pending {
            role: Role::Offer { sdp: s, .. },
            ..
        }) = self.pending.get_mut(&conn)
        {
            *s = Some(sdp);
        }
    }

    /// Our answer is ready: relay it to the offerer through its tracker.
    pub fn answer_created(
        &mut self,
        conn: ConnId,
        answer: String,
        me: &PeerId,
        out: &mut VecDeque<Output>,
    ) {
        let (Some(p), Some(swarm)) = (self.pending.get(&conn), self.swarm) else {
            return;
        };
        let (Role::Answer { offer_id }, Some(remote)) = (&p.role, p.remote) else {
            return;
        };
        let msg = ClientMessage::Announce(AnnounceRequest {
            info_hash: Id20(swarm),
            peer_id: Id20(*me),
            answer: Some(AnswerRequest {
                answer: description("answer", answer),
                to_peer_id: Id20(remote),
                offer_id: Id20(*offer_id),
            }),
            ..AnnounceRequest::default()
        });
        out.push_back(Output::TrackerSend {
            tracker: p.tracker,
            message: Box::new(msg),
        });
    }

    /// The connection failed or closed before its channel opened.
    pub fn failed(&mut self, conn: ConnId) -> bool {
        self.pending.remove(&conn).is_some()
    }

    /// The channel opened: the connection leaves signalling.
    pub fn opened(&mut self, conn: ConnId) -> Option<Opened> {
        self.pending.remove(&conn).map(|p| Opened {
            offered: matches!(p.role, Role::Offer { .. }),
        })
    }

    /// Reconnects, announces and expires offers that are due. `peers` is the
    /// number of connected peers.
    #[allow(clippy::too_many_arguments)]
    pub fn tick(
        &mut self,
        now: Millis,
        peers: usize,
        me: &PeerId,
        stats: &StatsSnapshot,
        cfg: &Config,
        rng: &mut Rng,
        out: &mut VecDeque<Output>,
    ) {
        for conn in self.pending.keys_where(|p| p.expires <= now) {
            self.pending.remove(&conn);
            out.push_back(Output::CloseConnection { conn });
        }
        let Some(swarm) = self.swarm else { return };
        for i in 0..self.trackers.len() {
            let tracker = TrackerId(i as u32);
            match self.trackers[i].link {
                Link::Down { retry_at } if retry_at <= now => {
                    self.trackers[i].link = Link::Connecting;
                    out.push_back(Output::TrackerConnect {
                        tracker,
                        url: self.trackers[i].url.clone(),
                    });
                    continue;
                }
                Link::Up => {}
                _ => continue,
            }
            if self.trackers[i].next_announce > now {
                continue;
            }
            // Offers: unsent ones of this tracker, topped up to the budget.
            let unsent = |p: &Pending| {
                p.tracker == tracker && matches!(p.role, Role::Offer { offer_id: None, .. })
            };
            let room = cfg.max_peers.saturating_sub(
                peers + self.pending.len() - self.pending.values().filter(|p| unsent(p)).count(),
            );
            let want = cfg.offers_per_announce.min(room);
            let have = self.pending.values().filter(|p| unsent(p)).count();
            if self.trackers[i].gathering_since.is_none() {
                self.trackers[i].gathering_since = Some(now);
                for _ in have..want {
                    let conn = self.alloc_conn();
                    self.pending.insert(
                        conn,
                        Pending {
                            tracker,
                            role: Role::Offer {
                                sdp: None,
                                offer_id: None,
                            },
                            remote: None,
                            expires: now + cfg.offer_timeout_ms,
                        },
                    );
                    out.push_back(Output::CreateOffer { conn });
                }
            }
            let gathering = self
                .pending
                .values()
                .any(|p| unsent(p) && matches!(p.role, Role::Offer { sdp: None, .. }));
            let since = self.trackers[i].gathering_since.unwrap_or(now);
            if gathering && now < since + OFFER_WAIT_MS {
                continue;
            }
            let mut offers = Vec::new();
            for p in self.pending.values_mut() {
                if p.tracker != tracker {
                    continue;
                }
                if let Role::Offer {
                    sdp: Some(text),
                    offer_id: id @ None,
                } = &mut p.role
                {
                    let oid = rng.id20();
                    *id = Some(oid);
                    p.expires = now + cfg.offer_timeout_ms;
                    offers.push(Offer {
                        offer: description("offer", text.clone()),
                        offer_id: Id20(oid),
                    });
                }
            }
            let t = &mut self.trackers[i];
            // Only a viewer left with no peer at all retries soon: offers cost
            // CPU, and a viewer with peers has the swarm already.
            t.short = peers == 0 && offers.len() < want;
            let msg = ClientMessage::Announce(AnnounceRequest {
                info_hash: Id20(swarm),
                peer_id: Id20(*me),
                event: (!t.started).then_some(AnnounceEvent::Started),
                numwant: Some(offers.len() as f64),
                // WebTorrent's byte counts (all segment bytes), and the
                // `p2p_downloaded` extension for the tracker's offload statistics.
                uploaded: Some(stats.up as f64),
                downloaded: Some((stats.http_down + stats.p2p_down) as f64),
                p2p_downloaded: Some(stats.p2p_down as f64),
                // A live stream never completes: JS `Infinity` is JSON `null`.
                left: Some(None),
                offers,
                answer: None,
            });
            t.started = true;
            t.gathering_since = None;
            t.last_announce = now;
            t.next_announce = now + t.cadence();
            out.push_back(Output::TrackerSend {
                tracker,
                message: Box::new(msg),
            });
        }
    }

    /// Leaves the swarm: `event: stopped` on open sockets, then closes every
    /// socket and every connection still being set up.
    pub fn stop(&mut self, me: &PeerId, out: &mut VecDeque<Output>) {
        for conn in std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(c, _)| c)
        {
            out.push_back(Output::CloseConnection { conn });
        }
        let swarm = self.swarm.take();
        for (i, t) in self.trackers.iter_mut().enumerate() {
            let tracker = TrackerId(i as u32);
            if let (Link::Up, Some(swarm)) = (&t.link, swarm) {
                let msg = ClientMessage::Announce(AnnounceRequest {
                    info_hash: Id20(swarm),
                    peer_id: Id20(*me),
                    event: Some(AnnounceEvent::Stopped),
                    ..AnnounceRequest::default()
                });
                out.push_back(Output::TrackerSend {
                    tracker,
                    message: Box::new(msg),
                });
            }
            if !matches!(t.link, Link::Down { .. }) {
                out.push_back(Output::TrackerClose { tracker });
            }
            t.link = Link::Down { retry_at: 0 };
        }
    }

    pub fn timeout(&self) -> Option<Millis> {
        let trackers = self.trackers.iter().filter_map(|t| match t.link {
            Link::Down { retry_at } => Some(retry_at),
            Link::Connecting => None,
            Link::Up => Some(match t.gathering_since {
                Some(s) => s + OFFER_WAIT_MS,
                None => t.next_announce,
            }),
        });
        let offers = self.pending.values().map(|p| p.expires);
        self.swarm.and(trackers.chain(offers).min())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarmcast_protocol::tracker::{AnnounceResponse, RelayedAnswer, RelayedOffer};

    const SWARM: [u8; 20] = [7; 20];
    const ME: PeerId = *b"-SC0100-aaaaaaaaaaaa";
    const THEM: PeerId = *b"-SC0100-bbbbbbbbbbbb";

    fn cfg() -> Config {
        Config {
            trackers: vec!["wss://a".into(), "wss://b".into()],
            offers_per_announce: 2,
            ..Config::default()
        }
    }

    struct Rig {
        s: Signalling,
        cfg: Config,
        rng: Rng,
        out: VecDeque<Output>,
    }

    impl Rig {
        fn new() -> Rig {
            let cfg = cfg();
            let mut s = Signalling::new(&cfg);
            let mut out = VecDeque::new();
            s.set_swarm(SWARM, 0, &mut out);
            Rig {
                s,
                cfg,
                rng: Rng::new(3),
                out,
            }
        }

        fn tick(&mut self, now: Millis, peers: usize) -> Vec<Output> {
            self.s.tick(
                now,
                peers,
                &ME,
                &StatsSnapshot::default(),
                &self.cfg,
                &mut self.rng,
                &mut self.out,
            );
            self.out.drain(..).collect()
        }

        fn message(&mut self, now: Millis, msg: &TrackerReply) -> Vec<Output> {
            self.s.message(
                TrackerId(0),
                msg.clone(),
                &ME,
                &|_| false,
                0,
                now,
                &self.cfg,
                &mut self.out,
            );
            self.out.drain(..).collect()
        }

        /// Connects tracker 0, gathers its offers and returns the announce.
        fn announce(&mut self, now: Millis) -> AnnounceRequest<SessionDescription> {
            self.s.connected(TrackerId(0), &self.cfg, now);
            for o in self.tick(now, 0) {
                if let Output::CreateOffer { conn } = o {
                    self.s.offer_created(conn, format!("offer-{}", conn.0));
                }
            }
            let sent = self.tick(now + 10, 0);
            sent.iter()
                .filter_map(sent_announce)
                .find(|(tracker, _)| *tracker == TrackerId(0))
                .map(|(_, a)| a.clone())
                .expect("an announce")
        }
    }

    /// The tracker and announce of a `TrackerSend`, if `o` is one.
    fn sent_announce(o: &Output) -> Option<(TrackerId, &AnnounceRequest<SessionDescription>)> {
        match o {
            Output::TrackerSend { tracker, message } => match &**message {
                ClientMessage::Announce(a) => Some((*tracker, a)),
                ClientMessage::Scrape(_) => None,
            },
            _ => None,
        }
    }

    fn answer(offer_id: Id20, from: PeerId) -> TrackerReply {
        ServerMessage::Answer(RelayedAnswer {
            action: Default::default(),
            info_hash: Id20(SWARM),
            peer_id: Id20(from),
            offer_id,
            answer: description("answer", "remote-answer".into()),
        })
    }

    #[test]
    fn connects_every_tracker_and_announces_with_gathered_offers() {
        let mut r = Rig::new();
        let first = r.tick(0, 0);
        let urls: Vec<_> = first
            .iter()
            .filter_map(|o| match o {
                Output::TrackerConnect { url, .. } => Some(url.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(urls, ["wss://a", "wss://b"]);
        let a = r.announce(100);
        assert_eq!(a.event, Some(AnnounceEvent::Started));
        assert_eq!(a.offers.len(), 2);
        assert_eq!(a.info_hash, Id20(SWARM));
        assert_eq!(a.offers[0].offer.sdp, "offer-1");
    }

    #[test]
    fn honours_interval_and_announces_periodically_without_started() {
        let mut r = Rig::new();
        r.tick(0, 0);
        r.announce(100);
        r.message(
            200,
            &ServerMessage::Announce(AnnounceResponse {
                action: Default::default(),
                info_hash: Id20(SWARM),
                interval: 10,
                complete: 0,
                incomplete: 3,
            }),
        );
        let mut sends = Vec::new();
        for t in (200..40_000).step_by(100) {
            for o in r.tick(t, 0) {
                if let Output::CreateOffer { conn } = o {
                    r.s.offer_created(conn, "o".into());
                } else if let Some((_, a)) = sent_announce(&o) {
                    sends.push((t, a.event));
                }
            }
        }
        assert!(sends.len() >= 2, "{sends:?}");
        assert!(sends.iter().all(|(_, event)| event.is_none()));
        let gap = sends[sends.len() - 1].0 - sends[sends.len() - 2].0;
        assert!((10_000..10_300).contains(&gap), "gap {gap}");
    }

    #[test]
    fn an_announce_short_of_offers_is_repeated_soon() {
        let mut r = Rig::new();
        r.s.connected(TrackerId(0), &r.cfg, 0);
        r.tick(0, 0); // offers created, but ICE gathering never finishes in time
        let mut sends = Vec::new();
        for t in (100..30_000).step_by(100) {
            sends.extend(
                r.tick(t, 0)
                    .iter()
                    .filter_map(sent_announce)
                    .map(|(_, a)| (t, a.offers.len())),
            );
        }
        assert!(sends.len() >= 2, "{sends:?}");
        assert_eq!(sends[0].1, 0, "the first announce went out without offers");
        let gap = sends[1].0 - sends[0].0;
        assert!(
            gap <= SHORT_ANNOUNCE_RETRY_MS + OFFER_WAIT_MS + 100,
            "gap {gap}"
        );
    }

    #[test]
    fn relayed_answer_is_matched_to_its_offer() {
        let mut r = Rig::new();
        r.tick(0, 0);
        let a = r.announce(100);
        let target = a.offers[1].offer_id;
        let out = r.message(300, &answer(target, THEM));
        let [Output::ApplyAnswer { conn, answer_sdp }] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(answer_sdp, "remote-answer");
        assert!(r.s.connecting_to(&THEM));
        assert!(r.s.opened(*conn).is_some_and(|o| o.offered));
        // A replayed answer for the same offer finds nothing.
        assert!(r.message(400, &answer(target, THEM)).is_empty());
    }

    #[test]
    fn relayed_offer_is_answered_through_the_same_tracker() {
        let mut r = Rig::new();
        let out = r.message(
            0,
            &ServerMessage::Offer(RelayedOffer {
                action: Default::default(),
                info_hash: Id20(SWARM),
                peer_id: Id20(THEM),
                offer_id: Id20([9; 20]),
                offer: description("offer", "their-offer".into()),
            }),
        );
        let [Output::CreateAnswer { conn, offer_sdp }] = &out[..] else {
            panic!("{out:?}")
        };
        assert_eq!(offer_sdp, "their-offer");
        r.s.answer_created(*conn, "my-answer".into(), &ME, &mut r.out);
        let sent = r.out.pop_front().expect("an answer");
        let Some((tracker, a)) = sent_announce(&sent) else {
            panic!("{sent:?}")
        };
        assert_eq!(tracker, TrackerId(0));
        let ans = a.answer.as_ref().unwrap();
        assert_eq!(ans.to_peer_id, Id20(THEM));
        assert_eq!(ans.offer_id, Id20([9; 20]));
        assert_eq!(ans.answer.sdp, "my-answer");
    }

    #[test]
    fn offers_from_ourselves_or_other_swarms_are_ignored() {
        let mut r = Rig::new();
        for (hash, from) in [(SWARM, ME), ([1; 20], THEM)] {
            let out = r.message(
                0,
                &ServerMessage::Offer(RelayedOffer {
                    action: Default::default(),
                    info_hash: Id20(hash),
                    peer_id: Id20(from),
                    offer_id: Id20([9; 20]),
                    offer: description("offer", "x".into()),
                }),
            );
            assert!(out.is_empty());
        }
    }

    #[test]
    fn unanswered_offers_expire() {
        let mut r = Rig::new();
        r.tick(0, 0);
        r.announce(100);
        assert_eq!(r.s.pending.len(), 2);
        let out = r.tick(100 + r.cfg.offer_timeout_ms + 20, 0);
        let closed = out
            .iter()
            .filter(|o| matches!(o, Output::CloseConnection { .. }))
            .count();
        assert!(closed >= 2);
    }

    #[test]
    fn reconnects_with_doubling_backoff() {
        let mut r = Rig::new();
        let connects = |out: &[Output]| {
            out.iter()
                .filter(|o| matches!(o, Output::TrackerConnect { tracker, .. } if *tracker == TrackerId(0)))
                .count()
        };
        assert_eq!(connects(&r.tick(0, 0)), 1);
        let mut at = Vec::new();
        let mut now = 0;
        r.s.closed(TrackerId(0), &r.cfg, now);
        while at.len() < 3 {
            now += 100;
            if connects(&r.tick(now, 0)) == 1 {
                at.push(now);
                r.s.closed(TrackerId(0), &r.cfg, now);
            }
        }
        assert_eq!(at, [1_000, 3_000, 7_000]);
    }

    #[test]
    fn stop_announces_stopped_and_closes_everything() {
        let mut r = Rig::new();
        r.tick(0, 0);
        r.announce(100);
        r.s.stop(&ME, &mut r.out);
        let out: Vec<_> = r.out.drain(..).collect();
        let stopped = out.iter().any(|o| {
            sent_announce(o).is_some_and(|(_, a)| a.event == Some(AnnounceEvent::Stopped))
        });
        assert!(stopped, "{out:?}");
        let closes = |f: fn(&Output) -> bool| out.iter().filter(|o| f(o)).count();
        assert_eq!(closes(|o| matches!(o, Output::TrackerClose { .. })), 2);
        assert_eq!(closes(|o| matches!(o, Output::CloseConnection { .. })), 2);
        assert_eq!(r.s.timeout(), None, "nothing left to do");
    }

    fn offer_from(from: PeerId) -> TrackerReply {
        ServerMessage::Offer(RelayedOffer {
            action: Default::default(),
            info_hash: Id20(SWARM),
            peer_id: Id20(from),
            offer_id: Id20([9; 20]),
            offer: description("offer", "their-offer".into()),
        })
    }

    #[test]
    fn offers_are_answered_while_our_own_wait_unanswered_and_the_cap_holds() {
        let mut r = Rig::new();
        r.cfg.max_peers = 2;
        r.tick(0, 0);
        let ours = r.announce(100).offers;
        assert_eq!(ours.len(), 2, "as many offers as the cap allows");
        let answering =
            |out: &[Output]| out.iter().any(|o| matches!(o, Output::CreateAnswer { .. }));
        assert!(answering(&r.message(200, &offer_from(THEM))));
        assert!(answering(
            &r.message(300, &offer_from(*b"-SC0100-cccccccccccc"))
        ));
        // Two connections on their way: the cap is reached.
        assert!(!answering(
            &r.message(400, &offer_from(*b"-SC0100-dddddddddddd"))
        ));
        let late = r.message(500, &answer(ours[0].offer_id, *b"-SC0100-eeeeeeeeeeee"));
        assert!(
            matches!(late[..], [Output::CloseConnection { .. }]),
            "an answer beyond the cap closes our offer: {late:?}"
        );
    }

    #[test]
    fn no_offers_beyond_the_peer_cap() {
        let mut r = Rig::new();
        r.cfg.max_peers = 3;
        r.tick(0, 0);
        r.s.connected(TrackerId(0), &r.cfg, 0);
        let out = r.tick(10, 3);
        assert!(!out.iter().any(|o| matches!(o, Output::CreateOffer { .. })));
        assert!(out.iter().any(|o| matches!(o, Output::TrackerSend { .. })));
    }
}
