//! What to fetch, when, and from where, over the streams being played (the
//! current level, audio and subtitle renditions). Each segment's deadline
//! comes from the playback position. Urgent requested segments go to
//! hls.js's loader; segments ahead that a connected peer holds go to that
//! peer (one peer per segment, speed-weighted choice). On live streams one
//! peer per new segment — the first by rendezvous rank to see it — fetches it
//! over HTTP and tells the others, who then take it from peers.

use super::{identity, peers::Peer, stream::SegmentKey, ConnId, Engine};

/// A peer serves at most this many of our downloads at once.
const PER_PEER_DOWNLOADS: usize = 2;
/// Live: a segment this close to the newest one is still "fresh" enough to
/// seed without a playback position.
const FRESH_SEGMENTS: u64 = 2;

impl Engine {
    /// Milliseconds until playback reaches segment `key` (negative: passed).
    pub(super) fn time_to_deadline(&self, key: SegmentKey) -> Option<i64> {
        let seg = self.content.as_ref()?.segment(key)?;
        self.playback.time_to(seg.info.start_ms, self.now)
    }

    /// Our rendezvous rank for `key` among ourselves and the ready peers
    /// that play its stream (0 = seeder): viewers of other levels never
    /// fetch it, so waiting for them would be waiting for nothing.
    fn seed_rank(&self, key: SegmentKey) -> u64 {
        let mine = identity::rendezvous(&self.peer_id, key.hash());
        self.peers
            .values()
            .filter(|p| p.plays(key.stream))
            .filter_map(|p| p.peer_id)
            .filter(|p| identity::rendezvous(p, key.hash()) < mine)
            .count() as u64
    }

    /// Whether a peer's claim that it is fetching `key` holds us back: its
    /// data can reach us before we would fetch it ourselves at the HTTP
    /// window (`ttd`: time to its deadline).
    pub(super) fn claimed(&self, key: SegmentKey, ttd: Option<i64>) -> bool {
        let slack = ttd.map(|t| t - self.cfg.http_window_ms as i64);
        self.claims.worth_waiting(key, self.now, slack)
    }

    /// Whether a segment due in `ttd` is still worth asking a peer for:
    /// one that went silent would be noticed with time left for HTTP.
    fn time_for_a_peer(&self, ttd: Option<i64>) -> bool {
        ttd.is_none_or(|t| t > self.cfg.peer_timeout_ms as i64)
    }

    /// Whether `p` may be asked for one more segment (see [`Peer::may_ask`]):
    /// a segment it sent awaits the page's check until playback reaches it
    /// (if evicted unchecked, or skipped, it is never checked).
    fn may_ask(&self, p: &Peer) -> bool {
        p.may_ask(PER_PEER_DOWNLOADS, |key| {
            self.time_to_deadline(key).is_some_and(|t| t >= 0)
        })
    }

    /// Speed-weighted random choice among ready peers holding `key`.
    fn pick_peer(&mut self, key: SegmentKey) -> Option<ConnId> {
        let holders: Vec<(ConnId, f64)> = self
            .peers
            .values()
            .filter(|p| p.askable(self.now) && p.has(key) && self.may_ask(p))
            .map(|p| (p.conn, p.speed.max(1.0)))
            .collect();
        let sum: f64 = holders.iter().map(|h| h.1).sum();
        let mut x = self.rng.unit() * sum;
        for (conn, w) in &holders {
            if x < *w {
                return Some(*conn);
            }
            x -= w;
        }
        holders.last().map(|h| h.0)
    }

    /// Should we fetch segment `key` over HTTP for the swarm? Only while
    /// playback advances, and once our first peers have had time to come: a
    /// joiner knows too few peers to rank itself (its first peer alone makes
    /// it first one time in two) and missed the claims sent before it came,
    /// so joiners would each fetch the newest segments the swarm was about
    /// to share; and a paused or stalled viewer needs its bandwidth for itself.
    fn should_seed(&self, key: SegmentKey, ttd: Option<i64>) -> bool {
        if !self.playback.playing() || self.signalling.finding_first_peers(self.now) {
            return false;
        }
        let Some(stream) = self.content.as_ref().and_then(|c| c.stream(key.stream)) else {
            return false;
        };
        let fresh = stream
            .newest()
            .is_some_and(|n| key.sn.saturating_add(FRESH_SEGMENTS) >= n);
        let in_window = ttd.is_none_or(|t| t >= 0 && t <= self.cfg.seed_window_ms as i64);
        if !in_window || (ttd.is_none() && !fresh) {
            return false;
        }
        let held = self.peers.values().any(|p| p.has(key));
        if self.claimed(key, ttd) || held {
            return false;
        }
        let rank = self.seed_rank(key);
        if !stream.live {
            return rank == 0;
        }
        let seen = stream.segment(key.sn).map_or(self.now, |s| s.seen);
        self.now >= seen + rank * self.cfg.seed_stagger_ms
    }

    /// Whether a requested segment no peer can send us now is worth waiting
    /// for: we just joined the swarm and our first peers are on their way,
    /// or, on a live stream, a peer holds it (and refused us while its
    /// upload slots are full), a peer said it is fetching it, or it is new
    /// and a peer ranked before us may still seed it. Otherwise hls.js would
    /// wait for nothing and its forward buffer would shrink.
    fn peer_may_bring(&self, key: SegmentKey) -> bool {
        let Some(stream) = self.content.as_ref().and_then(|c| c.stream(key.stream)) else {
            return false;
        };
        if self.signalling.finding_first_peers(self.now) {
            return true;
        }
        if !stream.live {
            return false;
        }
        let held = self.peers.values().any(|p| p.has(key));
        let rank = self.seed_rank(key);
        let seen = stream.segment(key.sn).map_or(self.now, |s| s.seen);
        let ttd = self.time_to_deadline(key);
        held || self.claimed(key, ttd)
            || (rank > 0 && self.now < seen + rank * self.cfg.seed_stagger_ms)
    }

    /// Whether hls.js's startup requests wait for peers (see
    /// [`Config::startup_peer_wait_ms`](super::Config)): nothing plays yet,
    /// so no deadline can pass, and peers are expected.
    fn holding_startup_for_peers(&self) -> bool {
        !self.playback.playing()
            && self
                .signalling
                .peers_expected_within(self.cfg.startup_peer_wait_ms, self.now)
    }

    /// Starts whatever transfers are due now, over the streams being played.
    pub(super) fn schedule(&mut self) {
        let Some(content) = &self.content else { return };
        // Requests first: one may be for a stream hls.js just switched away from.
        // A request of a played stream comes up again below; that second visit
        // finds its transfer started or decides the same (deduplicating cost
        // more wasm than the few repeated checks).
        let mut keys = self.waiting_keys();
        let position = self.playback.position(self.now);
        let span = self.cfg.p2p_window_ms.max(self.cfg.seed_window_ms);
        for s in content.playing() {
            keys.extend(
                s.due(position, span)
                    .map(|sn| SegmentKey { stream: s.id, sn }),
            );
        }
        let any_peer = self.peers.values().any(|p| p.ready());
        let startup = self.holding_startup_for_peers();
        for key in keys {
            let Some(fingerprint) = self.content.as_ref().and_then(|c| c.fingerprint(key)) else {
                continue;
            };
            if self.store.contains(key, fingerprint)
                || self.downloads.contains_key(&key)
                || self.loading_over_http(key)
            {
                continue;
            }
            let requested = self.requested(key);
            let ttd = match self.time_to_deadline(key) {
                None if requested => Some(0),
                t => t,
            };
            let ahead = ttd.is_some_and(|t| t >= 0 && t <= self.cfg.p2p_window_ms as i64);
            let p2p_ok = self.cfg.p2p && self.cfg.download;
            // Only a viewer that plays seeds (see `should_seed`): this also
            // leaves a held startup request to what its first peers hold.
            let can_seed = self.cfg.p2p && any_peer && self.should_seed(key, ttd);
            if !requested && !ahead && !can_seed {
                continue;
            }
            let p2p_busy = self
                .downloads
                .values()
                .filter(|d| d.peer().is_some())
                .count();
            if p2p_ok && p2p_busy < self.cfg.p2p_downloads && (startup || self.time_for_a_peer(ttd))
            {
                if let Some(conn) = self.pick_peer(key) {
                    self.start_p2p(key, conn);
                    continue;
                }
            }
            let alone = !any_peer && !self.signalling.finding_first_peers(self.now);
            let urgent = requested
                && (!p2p_ok
                    || !startup
                        && (alone
                            || ttd.is_none_or(|t| t <= self.cfg.http_window_ms as i64)
                            || !self.peer_may_bring(key)));
            let http_busy = self
                .downloads
                .values()
                .filter(|d| d.fetch().is_some())
                .count();
            if urgent {
                // hls.js loads it as it would without us; peers hear it is coming.
                self.announce_fetching(key);
                self.hand_to_http(key);
            } else if can_seed && http_busy < self.cfg.http_downloads {
                self.start_http(key);
            }
        }
    }

    /// Abandons silent or too-slow peers and stalled HTTP fetches. While
    /// another peer may still be asked, one that would finish inside the
    /// urgent window is left early, for a faster holder (or HTTP, should
    /// none come in time). After that, leaving it means HTTP: it is kept
    /// while it would finish a quarter window before the deadline, and
    /// always left for HTTP if it would finish after the deadline with half
    /// the window left. With download off, every transfer from a peer goes
    /// to HTTP. While startup waits for peers, only silence counts.
    pub(super) fn check_stalls(&mut self) {
        let (mut to_http, mut reroute, mut dead_http) = (Vec::new(), Vec::new(), Vec::new());
        let startup = self.holding_startup_for_peers();
        for (&key, d) in self.downloads.iter() {
            let silent = self.now.saturating_sub(d.last_progress);
            match d.peer() {
                Some(_) => {
                    let ttd = self.time_to_deadline(key);
                    let late =
                        |margin: i64| ttd.is_some_and(|t| !d.finishes_within(t - margin, self.now));
                    let window = self.cfg.http_window_ms as i64;
                    let near = ttd.is_some_and(|t| t < window / 2);
                    // `schedule` would ask no other peer: leaving means HTTP.
                    let last_peer = !self.time_for_a_peer(ttd);
                    let judged = !startup && d.rate_known(self.now);
                    if !self.cfg.download
                        || silent >= self.cfg.peer_timeout_ms
                        || (!startup && near && late(0))
                        || (judged && last_peer && late(window / 4))
                    {
                        to_http.push(key);
                    } else if judged && !last_peer && late(window / 2) {
                        reroute.push(key);
                    }
                }
                None if silent >= self.cfg.http_timeout_ms => dead_http.push(key),
                None => {}
            }
        }
        for key in to_http {
            self.fallback_to_http(key);
        }
        for key in reroute {
            self.leave_slow_peer(key);
        }
        for key in dead_http {
            self.abort_download(key);
            self.hand_to_http(key);
        }
    }
}
