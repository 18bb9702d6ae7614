//! What to fetch, when, and from where. Each segment's deadline comes from
//! the playback position. Urgent requested segments go to HTTP; segments
//! ahead that a connected peer holds go to that peer (one peer per segment,
//! speed-weighted choice). On live streams one peer per new segment — the
//! first by rendezvous rank to see it — fetches it over HTTP and tells the
//! others, who then take it from peers.

use super::{identity, ConnId, Engine, Millis};

/// A peer serves at most this many of our downloads at once.
const PER_PEER_DOWNLOADS: usize = 2;
/// How long a peer's "I am fetching it" claim holds us back.
const FETCHING_CLAIM_MS: Millis = 4_000;

impl Engine {
    pub(super) fn time_to_deadline(&self, id: u64) -> Option<i64> {
        self.swarm.as_ref()?.time_to_deadline(id, self.now)
    }

    /// Our rendezvous rank for `id` among ourselves and ready peers (0 = seeder).
    fn seed_rank(&self, id: u64) -> u64 {
        let mine = identity::rendezvous(&self.peer_id, id);
        self.peers
            .values()
            .filter_map(|p| p.peer_id)
            .filter(|p| identity::rendezvous(p, id) < mine)
            .count() as u64
    }

    /// Speed-weighted random choice among ready peers holding `id`.
    fn pick_peer(&mut self, id: u64) -> Option<ConnId> {
        let holders: Vec<(ConnId, f64)> = self
            .peers
            .values()
            .filter(|p| p.ready() && p.has.contains(&id) && p.downloads < PER_PEER_DOWNLOADS)
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

    /// Should we, as a live viewer, fetch new segment `id` over HTTP for the swarm?
    fn should_seed(&self, id: u64, ttd: Option<i64>) -> bool {
        let Some(swarm) = &self.swarm else {
            return false;
        };
        let fresh = swarm.newest().is_some_and(|n| id.saturating_add(2) >= n);
        let in_window = ttd.is_none_or(|t| t >= 0 && t <= self.cfg.seed_window_ms as i64);
        if !in_window || (ttd.is_none() && !fresh) {
            return false;
        }
        let claimed = self
            .peer_fetching
            .get(&id)
            .is_some_and(|&t| self.now < t + FETCHING_CLAIM_MS);
        let held = self.peers.values().any(|p| p.has.contains(&id));
        if claimed || held {
            return false;
        }
        let rank = self.seed_rank(id);
        if !swarm.live {
            return rank == 0;
        }
        let seen = swarm.seen_at(id).unwrap_or(self.now);
        self.now >= seen + rank * self.cfg.seed_stagger_ms
    }

    /// Starts whatever transfers are due now.
    pub(super) fn schedule(&mut self) {
        let Some(swarm) = &self.swarm else { return };
        let mut ids: Vec<u64> = swarm.ids().collect();
        if swarm.live && self.cfg.p2p {
            // Peers may list segments our playlist does not show yet. `ids`
            // is sorted; keep it so without pulling a sort into the wasm.
            let newest = swarm.newest().unwrap_or(0);
            for p in self.peers.values() {
                for id in p
                    .has
                    .range(newest.saturating_add(1)..=newest.saturating_add(3))
                {
                    if let Err(at) = ids.binary_search(id) {
                        ids.insert(at, *id);
                    }
                }
            }
        }
        let any_peer = self.peers.values().any(|p| p.ready());
        for id in ids {
            if self.store.contains(id) || self.downloads.contains_key(&id) {
                continue;
            }
            let requested = self.requests.values().any(|r| r.id == id);
            let ttd = match self.time_to_deadline(id) {
                None if requested => Some(0),
                t => t,
            };
            let ahead = ttd.is_some_and(|t| t >= 0 && t <= self.cfg.p2p_window_ms as i64);
            let p2p_ok = self.cfg.p2p && !self.force_http.contains(&id);
            let can_seed = p2p_ok && any_peer && self.should_seed(id, ttd);
            if !requested && !ahead && !can_seed {
                continue;
            }
            let p2p_busy = self
                .downloads
                .values()
                .filter(|d| d.peer().is_some())
                .count();
            if p2p_ok
                && p2p_busy < self.cfg.p2p_downloads
                && ttd.is_none_or(|t| t > self.cfg.peer_timeout_ms as i64)
            {
                if let Some(conn) = self.pick_peer(id) {
                    self.start_p2p(id, conn);
                    continue;
                }
            }
            let urgent = requested
                && (!p2p_ok
                    || !any_peer
                    || ttd.is_none_or(|t| t <= self.cfg.http_window_ms as i64));
            let http_busy = self
                .downloads
                .values()
                .filter(|d| d.fetch().is_some())
                .count();
            // Urgent requests always go; prefetching for the swarm respects the limit.
            if urgent || (can_seed && http_busy < self.cfg.http_downloads) {
                self.start_http(id, Vec::new(), None);
            }
        }
    }

    /// Abandons silent or too-slow peers and stalled HTTP fetches.
    pub(super) fn check_stalls(&mut self) {
        let mut to_http = Vec::new();
        let mut dead_http = Vec::new();
        for (&id, d) in self.downloads.iter() {
            let silent = self.now.saturating_sub(d.last_progress);
            match d.peer() {
                Some(_) => {
                    let ttd = self.time_to_deadline(id);
                    let too_slow = match (ttd, d.total) {
                        (Some(t), Some(total)) if t < self.cfg.http_window_ms as i64 / 2 => {
                            let elapsed = (self.now - d.started).max(1) as f64;
                            let rate = d.buf.len() as f64 / elapsed;
                            let left = (total as usize - d.buf.len()) as f64;
                            left > rate * t.max(0) as f64
                        }
                        _ => false,
                    };
                    if silent >= self.cfg.peer_timeout_ms || too_slow {
                        to_http.push(id);
                    }
                }
                None if silent >= self.cfg.http_timeout_ms => dead_http.push(id),
                None => {}
            }
        }
        for id in to_http {
            self.fallback_to_http(id);
        }
        for id in dead_http {
            if let Some(fetch) = self.downloads.remove(&id).and_then(|d| d.fetch()) {
                self.out.push_back(super::Output::HttpAbort { fetch });
            }
            self.fail_requests(id, super::FailReason::Http(None));
        }
    }
}
