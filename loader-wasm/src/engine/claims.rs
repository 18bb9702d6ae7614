//! Live coordination: peers' claims that they are fetching a segment over
//! HTTP, heard directly or relayed across the swarm with a hop count, and
//! whether a claim is worth waiting for. A claim from a neighbour or one
//! relay away always is; one farther away only if its data, forwarded link
//! by link, arrives before we would give up and fetch anyway, judged by how
//! long our own transfers from peers take: on fast links one fetch serves a
//! whole swarm, on slow ones each neighbourhood needs its own.

use super::{stream::SegmentKey, vecmap::VecMap, Millis};

/// Claims remembered at once.
pub const MAX_CLAIMS: usize = 256;
/// How long a claim holds us back.
const CLAIM_MS: Millis = 4_000;
/// Claims travel at most this many hops beyond the fetcher's neighbours
/// (with ~8 peers each, far enough to cover swarms of thousands); a peer
/// passes on only the first claim of a segment it hears, so a claim costs
/// each link one message.
pub const MAX_CLAIM_HOPS: u8 = 6;
/// Claims this close are waited for whatever the time left.
const NEAR_HOPS: u8 = 1;
/// Weight of the newest transfer in the hop time, in tenths.
const HOP_SMOOTHING: u64 = 3;
/// A far claim's data takes its `hops + 1` links times this, in percent:
/// half again covers the fetcher's own HTTP fetch and the queue at the
/// first holders' upload slots, where everyone waiting asks at once.
/// Bench `swarm_scale` (no conditions), amplification at N = 100 / 300 with
/// this estimate against the former `(hops + 2) × 2` links: 2 Mbit/s
/// uplinks 8.42 / 27.85 against 8.74 / 28.01, 8 Mbit/s 1.58 / 3.02 against
/// 1.58 / 3.19; and natively (`native.mjs --n 100 --startup-wait 1.5`),
/// where the former estimate let 2-hop claims go unheeded, 1.10 and 1.13
/// against 1.67 and 1.50.
const HOP_MARGIN_PERCENT: u64 = 150;

#[derive(Clone, Copy)]
struct Claim {
    heard: Millis,
    /// Relays between the fetcher and us (0: a neighbour fetches it).
    hops: u8,
}

impl Claim {
    /// Whether it still holds us back.
    fn holds(&self, now: Millis) -> bool {
        now < self.heard + CLAIM_MS
    }
}

#[derive(Default)]
pub struct Claims {
    table: VecMap<SegmentKey, Claim>,
    /// Smoothed duration of our finished transfers from peers, request to
    /// last byte: how long a segment takes to cross one hop.
    hop_ms: Option<Millis>,
}

impl Claims {
    fn fresh(&self, key: SegmentKey, now: Millis) -> Option<Claim> {
        self.table.get(&key).copied().filter(|c| c.holds(now))
    }

    /// Remembers a claim (stale ones go first when the table is full), or
    /// that its fetcher is closer than a known claim's; returns whether it
    /// is news to pass on: no fresh claim of `key` was known. (Passing on
    /// closer ones too would multiply the messages each segment costs.)
    pub fn note(&mut self, key: SegmentKey, hops: u8, now: Millis) -> bool {
        let known = self.table.get_mut(&key);
        if let Some(known) = known.filter(|c| c.holds(now)) {
            known.hops = known.hops.min(hops);
            return false;
        }
        if !self.table.contains_key(&key) && self.table.len() >= MAX_CLAIMS {
            let oldest = self
                .table
                .iter()
                .min_by_key(|(_, c)| c.heard)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.table.remove(&k);
            }
        }
        self.table.insert(key, Claim { heard: now, hops });
        true
    }

    /// A peer holds `key` now: its claim has done its job.
    pub fn forget(&mut self, key: SegmentKey) {
        self.table.remove(&key);
    }

    /// Folds one finished transfer from a peer into the hop time.
    pub fn record_hop(&mut self, ms: Millis) {
        let smoothed = |h| ((10 - HOP_SMOOTHING) * h + HOP_SMOOTHING * ms) / 10;
        self.hop_ms = Some(self.hop_ms.map_or(ms, smoothed));
    }

    pub fn clear(&mut self) {
        self.table.clear();
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether a claim of `key` should hold us back, given `slack`: how long
    /// until we would fetch it over HTTP anyway (`None`: no deadline yet).
    /// After the fetcher's HTTP fetch the data crosses `hops + 1` links
    /// (see [`HOP_MARGIN_PERCENT`]).
    pub fn worth_waiting(&self, key: SegmentKey, now: Millis, slack: Option<i64>) -> bool {
        let Some(claim) = self.fresh(key, now) else {
            return false;
        };
        match (slack, self.hop_ms) {
            _ if claim.hops <= NEAR_HOPS => true,
            (None, _) => true,
            (Some(_), None) => false,
            (Some(slack), Some(hop)) => {
                let links = u64::from(claim.hops) + 1;
                let arrives = claim.heard + links * hop * HOP_MARGIN_PERCENT / 100;
                arrives as i64 - now as i64 <= slack
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: SegmentKey = SegmentKey { stream: 0, sn: 7 };

    #[test]
    fn only_the_first_claim_is_news_and_the_closest_fetcher_counts() {
        let mut c = Claims::default();
        assert!(c.note(KEY, 3, 0));
        assert!(!c.note(KEY, 4, 10));
        assert!(!c.note(KEY, 1, 20));
        c.record_hop(1_000);
        assert!(c.worth_waiting(KEY, 20, Some(0)), "one relay away: near");
        assert!(c.note(KEY, 5, CLAIM_MS), "the old claim went stale");
    }

    #[test]
    fn a_far_claim_holds_back_only_while_its_data_can_arrive_in_time() {
        let mut c = Claims::default();
        let other = SegmentKey { sn: 8, ..KEY };
        c.note(other, 1, 0);
        assert!(c.worth_waiting(other, 0, Some(0)), "near: always");
        c.note(KEY, 3, 0);
        assert!(c.worth_waiting(KEY, 0, None), "no deadline: wait");
        assert!(!c.worth_waiting(KEY, 0, Some(10_000)), "hop time unknown");
        c.record_hop(200);
        // Arrives after 4 links of 200 ms, and half again.
        assert!(c.worth_waiting(KEY, 0, Some(1_200)));
        assert!(!c.worth_waiting(KEY, 0, Some(1_199)));
        assert!(c.worth_waiting(KEY, 1_000, Some(200)));
        c.record_hop(1_200);
        assert!(!c.worth_waiting(KEY, 0, Some(2_000)), "hops got slower");
        assert!(!c.worth_waiting(KEY, CLAIM_MS, Some(60_000)), "stale");
    }
}
