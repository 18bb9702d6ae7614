//! Swarm state: which peer is in which swarm, seeder/leecher counts, and who
//! receives each relayed offer and answer.
//!
//! Swarms are spread over independently locked shards keyed by info_hash, so
//! connection tasks on different threads rarely wait on each other and never
//! hold a lock while doing I/O: delivery is a non-blocking push into the
//! recipient's bounded queue, and a full queue drops the message.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use parking_lot::Mutex;
use swarmcast_protocol::ids::{InfoHash, PeerId};
use swarmcast_protocol::tracker::{AnnounceEvent, AnnounceRequest, ScrapeStats};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::offload::{Offload, Report, Reported, SwarmOffload};
use crate::outbox::Outbox;

const SHARDS: usize = 256;

/// The connection an announce arrived on.
pub struct Sender<'a> {
    pub conn: u64,
    pub outbox: &'a Outbox,
}

/// What an announce produced, for the reply and the statistics.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Announced {
    pub complete: u32,
    pub incomplete: u32,
    pub offers_relayed: usize,
    pub dropped: usize,
    /// `Some(true)` if an answer was queued, `Some(false)` if its peer is unknown.
    pub answer_delivered: Option<bool>,
    /// Bytes the announce's report added to the swarm's offload sums.
    pub reported: Report,
}

/// Totals for the operator endpoints.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub swarms: usize,
    pub peers: usize,
    pub seeders: u64,
    pub leechers: u64,
}

struct Peer {
    conn: u64,
    outbox: Outbox,
    complete: bool,
    /// Milliseconds since [`Swarms::start`] after which the peer expires.
    expires: u64,
    reported: Reported,
}

#[derive(Default)]
struct Swarm {
    peers: IndexMap<PeerId, Peer>,
    complete: u32,
    incomplete: u32,
    downloaded: u32,
    /// HTTP and P2P bytes its viewers reported while in it.
    bytes: Report,
    /// When the swarm last became empty (ms since start).
    empty_since: u64,
}

impl Swarm {
    fn stats(&self) -> ScrapeStats {
        ScrapeStats {
            complete: self.complete,
            incomplete: self.incomplete,
            downloaded: self.downloaded,
        }
    }

    fn remove_at(&mut self, index: usize, now: u64) {
        let (_, peer) = self.peers.swap_remove_index(index).expect("index in range");
        if peer.complete {
            self.complete -= 1;
        } else {
            self.incomplete -= 1;
        }
        if self.peers.is_empty() {
            self.empty_since = now;
        }
    }

    /// Adds the growth of peer `index`'s byte report, if the announce has a valid one.
    fn report(&mut self, index: usize, req: &AnnounceRequest) -> Report {
        let Some(report) = Report::from_announce(req) else {
            return Report::default();
        };
        let growth = self.peers[index].reported.update(report);
        self.bytes.add(growth);
        growth
    }

    /// Adds or refreshes a peer, counting it as bittorrent-tracker does.
    fn upsert(&mut self, req: &AnnounceRequest, from: &Sender<'_>, expires: u64) -> usize {
        let left_zero = req.is_complete();
        match self.peers.get_full_mut(&req.peer_id) {
            Some((index, _, peer)) => {
                // A re-announce from a new connection takes over the entry.
                if peer.conn != from.conn {
                    peer.conn = from.conn;
                    peer.outbox = from.outbox.clone();
                }
                peer.expires = expires;
                let completes = match req.event {
                    Some(AnnounceEvent::Completed) => true,
                    _ => left_zero,
                };
                if completes && !peer.complete {
                    peer.complete = true;
                    self.complete += 1;
                    self.incomplete -= 1;
                    self.downloaded = self.downloaded.saturating_add(1);
                }
                index
            }
            None => {
                if left_zero {
                    self.complete += 1;
                } else {
                    self.incomplete += 1;
                }
                let peer = Peer {
                    conn: from.conn,
                    outbox: from.outbox.clone(),
                    complete: left_zero,
                    expires,
                    reported: Reported::default(),
                };
                self.peers.insert_full(req.peer_id, peer).0
            }
        }
    }
}

/// All swarms, sharded by info_hash.
pub struct Swarms {
    shards: Box<[Mutex<HashMap<InfoHash, Swarm>>]>,
    start: Instant,
    peer_timeout: Duration,
    swarm_timeout: Duration,
}

impl Swarms {
    pub fn new(peer_timeout: Duration, swarm_timeout: Duration) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            start: Instant::now(),
            peer_timeout,
            swarm_timeout,
        }
    }

    fn shard(&self, info_hash: &InfoHash) -> &Mutex<HashMap<InfoHash, Swarm>> {
        // Info hashes are SHA-1 output, so any two bytes spread evenly.
        let key = usize::from(u16::from_le_bytes([info_hash.0[0], info_hash.0[1]]));
        &self.shards[key % SHARDS]
    }

    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Applies one announce: updates the swarm, hands each prepared offer to
    /// a distinct random other peer, and relays the answer to its offerer.
    pub fn announce(
        &self,
        req: &AnnounceRequest,
        from: Sender<'_>,
        offers: Vec<Utf8Bytes>,
        answer: Option<(PeerId, Utf8Bytes)>,
    ) -> Announced {
        let now = self.now();
        let mut shard = self.shard(&req.info_hash).lock();
        let swarm = shard.entry(req.info_hash).or_default();
        let mut out = Announced::default();

        if req.event == Some(AnnounceEvent::Stopped) {
            if let Some(index) = swarm.peers.get_index_of(&req.peer_id) {
                out.reported = swarm.report(index, req);
                swarm.remove_at(index, now);
            }
        } else {
            let expires = now.saturating_add(millis(self.peer_timeout));
            let me = swarm.upsert(req, &from, expires);
            out.reported = swarm.report(me, req);
            out.offers_relayed = relay_offers(swarm, me, offers, &mut out.dropped);
            if let Some((to, answer)) = answer {
                let target = swarm.peers.get(&to);
                out.answer_delivered = Some(target.is_some());
                if let Some(target) = target {
                    if target.outbox.try_send(answer).is_err() {
                        out.dropped += 1;
                    }
                }
            }
        }
        out.complete = swarm.complete;
        out.incomplete = swarm.incomplete;
        out
    }

    /// Removes a peer from a swarm; with `conn`, only if that connection
    /// still owns the entry (a reconnected peer id keeps its new one).
    pub fn remove(&self, info_hash: &InfoHash, peer_id: &PeerId, conn: Option<u64>) {
        let now = self.now();
        let mut shard = self.shard(info_hash).lock();
        if let Some(swarm) = shard.get_mut(info_hash) {
            if let Some((index, _, peer)) = swarm.peers.get_full(peer_id) {
                if conn.is_none_or(|c| c == peer.conn) {
                    swarm.remove_at(index, now);
                }
            }
        }
    }

    /// Counts for the given swarms; unknown ones count zero.
    pub fn scrape(&self, info_hashes: &[InfoHash]) -> Vec<(InfoHash, ScrapeStats)> {
        info_hashes
            .iter()
            .map(|h| {
                let shard = self.shard(h).lock();
                (*h, shard.get(h).map(Swarm::stats).unwrap_or_default())
            })
            .collect()
    }

    /// Counts for every swarm.
    pub fn scrape_all(&self) -> Vec<(InfoHash, ScrapeStats)> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(shard.lock().iter().map(|(h, s)| (*h, s.stats())));
        }
        all
    }

    /// Drops peers past their timeout and swarms empty for longer than the
    /// swarm timeout. Returns how many peers were removed.
    pub fn cleanup(&self) -> usize {
        let now = self.now();
        let keep_empty = millis(self.swarm_timeout);
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = shard.lock();
            shard.retain(|_, swarm| {
                let mut index = 0;
                while index < swarm.peers.len() {
                    if swarm.peers[index].expires <= now {
                        swarm.remove_at(index, now);
                        removed += 1;
                    } else {
                        index += 1;
                    }
                }
                !swarm.peers.is_empty() || now.saturating_sub(swarm.empty_since) < keep_empty
            });
        }
        removed
    }

    pub fn totals(&self) -> Totals {
        let mut totals = Totals::default();
        for shard in self.shards.iter() {
            let shard = shard.lock();
            totals.swarms += shard.len();
            for swarm in shard.values() {
                totals.peers += swarm.peers.len();
                totals.seeders += u64::from(swarm.complete);
                totals.leechers += u64::from(swarm.incomplete);
            }
        }
        totals
    }

    /// Viewers and reported bytes of the `top` busiest swarms and of all.
    pub fn offload(&self, top: usize) -> Offload {
        let mut offload = Offload::default();
        for shard in self.shards.iter() {
            for (hash, swarm) in shard.lock().iter() {
                let line = SwarmOffload {
                    viewers: swarm.peers.len(),
                    bytes: swarm.bytes,
                };
                offload.total.add(&line);
                offload.top.push((*hash, line));
            }
            // Trimmed as it goes, so memory stays bounded by `top` per shard.
            if offload.top.len() > top.saturating_mul(2).max(64) {
                offload.keep_top(top);
            }
        }
        offload.keep_top(top);
        offload
    }
}

/// Sends offer *i* to the *i*-th of a random sample of the other peers.
fn relay_offers(swarm: &Swarm, me: usize, offers: Vec<Utf8Bytes>, dropped: &mut usize) -> usize {
    let others = swarm.peers.len() - 1;
    let count = offers.len().min(others);
    if count == 0 {
        return 0;
    }
    let picks = rand::seq::index::sample(&mut rand::rng(), others, count);
    for (offer, pick) in offers.into_iter().zip(picks) {
        // Sample among the others, then skip over the sender's own slot.
        let index = if pick >= me { pick + 1 } else { pick };
        if swarm.peers[index].outbox.try_send(offer).is_err() {
            *dropped += 1;
        }
    }
    count
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::channel;
    use swarmcast_protocol::ids::Id20;

    fn req(peer: u8, event: Option<AnnounceEvent>, left: Option<Option<f64>>) -> AnnounceRequest {
        AnnounceRequest {
            info_hash: Id20([1; 20]),
            peer_id: Id20([peer; 20]),
            event,
            left,
            ..Default::default()
        }
    }

    fn counts(a: &Announced) -> (u32, u32) {
        (a.complete, a.incomplete)
    }

    #[test]
    fn counts_follow_left_and_completed_like_bittorrent_tracker() {
        let swarms = Swarms::new(Duration::from_secs(60), Duration::ZERO);
        let (tx, _rx) = channel(8);
        let from = || Sender {
            conn: 1,
            outbox: &tx,
        };
        let started = Some(AnnounceEvent::Started);
        let a = swarms.announce(&req(1, started, Some(Some(5.0))), from(), vec![], None);
        assert_eq!(counts(&a), (0, 1));
        // A missing `left` is not complete; `null` counts as 0.
        let b = swarms.announce(&req(2, started, None), from(), vec![], None);
        assert_eq!(counts(&b), (0, 2));
        let c = swarms.announce(&req(3, started, Some(None)), from(), vec![], None);
        assert_eq!(counts(&c), (1, 2));
        // `completed` makes a leecher a seeder whatever `left` says.
        let d = swarms.announce(
            &req(1, Some(AnnounceEvent::Completed), None),
            from(),
            vec![],
            None,
        );
        assert_eq!(counts(&d), (2, 1));
        // A periodic announce with left 0 completes too; repeats change nothing.
        let e = swarms.announce(&req(2, None, Some(Some(0.0))), from(), vec![], None);
        let f = swarms.announce(&req(2, None, Some(Some(0.0))), from(), vec![], None);
        assert_eq!((counts(&e), counts(&f)), ((3, 0), (3, 0)));
        let g = swarms.announce(
            &req(3, Some(AnnounceEvent::Stopped), None),
            from(),
            vec![],
            None,
        );
        assert_eq!(counts(&g), (2, 0));
        assert_eq!(swarms.scrape(&[Id20([1; 20])])[0].1.downloaded, 2);
    }

    #[test]
    fn offers_go_to_distinct_others_and_answers_to_the_offerer() {
        let swarms = Swarms::new(Duration::from_secs(60), Duration::ZERO);
        let mut queues = Vec::new();
        for peer in 0..5u8 {
            let (tx, rx) = channel(8);
            swarms.announce(
                &req(peer, None, None),
                Sender {
                    conn: peer.into(),
                    outbox: &tx,
                },
                vec![],
                None,
            );
            queues.push((tx, rx));
        }
        let offers = (0..10)
            .map(|i| Utf8Bytes::from(format!("offer {i}")))
            .collect();
        let sent = swarms.announce(
            &req(0, None, None),
            Sender {
                conn: 0,
                outbox: &queues[0].0,
            },
            offers,
            None,
        );
        assert_eq!(sent.offers_relayed, 4, "bounded by the other peers");
        assert!(queues[0].1.try_recv().is_none(), "never back to the sender");
        for (_, rx) in &mut queues[1..] {
            assert!(rx.try_recv().is_some());
            assert!(rx.try_recv().is_none(), "one offer per peer");
        }
        let answer = Some((Id20([0; 20]), "a".into()));
        let done = swarms.announce(
            &req(3, None, None),
            Sender {
                conn: 3,
                outbox: &queues[3].0,
            },
            vec![],
            answer,
        );
        assert_eq!(done.answer_delivered, Some(true));
        assert_eq!(queues[0].1.try_recv().unwrap().as_str(), "a");
    }

    #[test]
    fn expiry_and_owner_checked_removal() {
        let swarms = Swarms::new(Duration::ZERO, Duration::ZERO);
        let (tx, _rx) = channel(8);
        swarms.announce(
            &req(1, None, None),
            Sender {
                conn: 7,
                outbox: &tx,
            },
            vec![],
            None,
        );
        swarms.remove(&Id20([1; 20]), &Id20([1; 20]), Some(8));
        assert_eq!(
            swarms.totals().peers,
            1,
            "another connection cannot remove it"
        );
        assert_eq!(swarms.cleanup(), 1);
        assert_eq!(
            swarms.totals(),
            Totals::default(),
            "empty swarm dropped too"
        );
    }
}
