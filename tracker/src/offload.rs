//! Offload statistics: the HTTP and P2P bytes viewers report in their
//! announces (`downloaded` = all segment bytes, the `p2p_downloaded`
//! extension = those from peers), summed per swarm.
//!
//! Reports are untrusted: a count must be a number in `0..=MAX_COUNT` with
//! `p2p_downloaded ≤ downloaded`, else the report is ignored. Only growth
//! since the peer's previous report in the swarm is added, so replays,
//! decreases and repeated `started` announces after a reconnect add nothing;
//! sums saturate instead of overflowing.

use swarmcast_protocol::ids::InfoHash;
use swarmcast_protocol::tracker::AnnounceRequest;

/// Largest count accepted: 2^53, beyond which JS numbers lose integers.
const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// One viewer's cumulative bytes, as it reported them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub http: u64,
    pub p2p: u64,
}

impl Report {
    /// The report an announce carries, if it carries a valid one.
    pub fn from_announce(req: &AnnounceRequest) -> Option<Self> {
        let count = |n: Option<f64>| {
            n.filter(|n| (0.0..=MAX_COUNT).contains(n))
                .map(|n| n as u64)
        };
        let (total, p2p) = (count(req.downloaded)?, count(req.p2p_downloaded)?);
        Some(Self {
            http: total.checked_sub(p2p)?,
            p2p,
        })
    }

    /// Growth from `last` to `self`; `None` if either count went down.
    fn since(self, last: Self) -> Option<Self> {
        Some(Self {
            http: self.http.checked_sub(last.http)?,
            p2p: self.p2p.checked_sub(last.p2p)?,
        })
    }

    pub fn add(&mut self, other: Self) {
        self.http = self.http.saturating_add(other.http);
        self.p2p = self.p2p.saturating_add(other.p2p);
    }

    /// Share of the bytes that came from peers (0 when there are none).
    pub fn p2p_ratio(&self) -> f64 {
        let total = self.http as f64 + self.p2p as f64;
        if total == 0.0 {
            0.0
        } else {
            self.p2p as f64 / total
        }
    }
}

/// What the tracker remembers of one peer's reports.
#[derive(Debug, Default)]
pub struct Reported(Option<Report>);

impl Reported {
    /// Takes a new report; returns the bytes to add to the swarm's sums. The
    /// first report of a peer only sets its baseline: bytes from before it
    /// joined this swarm (or before a reconnect) are not counted again.
    pub fn update(&mut self, report: Report) -> Report {
        let Some(last) = self.0 else {
            self.0 = Some(report);
            return Report::default();
        };
        match report.since(last) {
            Some(growth) => {
                self.0 = Some(report);
                growth
            }
            None => Report::default(),
        }
    }
}

/// One swarm's line in the statistics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SwarmOffload {
    pub viewers: usize,
    pub bytes: Report,
}

impl SwarmOffload {
    pub fn add(&mut self, other: &Self) {
        self.viewers += other.viewers;
        self.bytes.add(other.bytes);
    }
}

/// The busiest swarms and the sum over all of them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Offload {
    pub total: SwarmOffload,
    /// Swarms and their lines, most bytes first.
    pub top: Vec<(InfoHash, SwarmOffload)>,
}

impl Offload {
    /// Keeps the `n` swarms with the most bytes (then viewers).
    pub fn keep_top(&mut self, n: usize) {
        let weight = |s: &SwarmOffload| (s.bytes.http.saturating_add(s.bytes.p2p), s.viewers);
        self.top
            .sort_unstable_by(|a, b| weight(&b.1).cmp(&weight(&a.1)).then(a.0.cmp(&b.0)));
        self.top.truncate(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use swarmcast_protocol::ids::Id20;

    fn announce(downloaded: f64, p2p: f64) -> AnnounceRequest {
        AnnounceRequest {
            downloaded: Some(downloaded),
            p2p_downloaded: Some(p2p),
            ..Default::default()
        }
    }

    #[test]
    fn reports_must_be_bounded_and_consistent() {
        assert_eq!(
            Report::from_announce(&announce(10.0, 4.0)),
            Some(Report { http: 6, p2p: 4 })
        );
        assert_eq!(Report::from_announce(&announce(4.0, 10.0)), None);
        assert_eq!(Report::from_announce(&announce(1e300, 1.0)), None);
        assert_eq!(Report::from_announce(&AnnounceRequest::default()), None);
        let max = Report::from_announce(&announce(MAX_COUNT, MAX_COUNT)).unwrap();
        assert_eq!(max.p2p, 1 << 53);
    }

    #[test]
    fn only_growth_counts_and_sums_saturate() {
        let mut peer = Reported::default();
        let r = |http, p2p| Report { http, p2p };
        assert_eq!(
            peer.update(r(100, 50)),
            r(0, 0),
            "the first report is the baseline"
        );
        assert_eq!(peer.update(r(150, 80)), r(50, 30));
        assert_eq!(peer.update(r(150, 80)), r(0, 0), "a replay adds nothing");
        assert_eq!(peer.update(r(10, 90)), r(0, 0), "a decrease is ignored");
        assert_eq!(peer.update(r(160, 90)), r(10, 10));
        let mut sum = r(u64::MAX - 1, 0);
        sum.add(r(5, 5));
        assert_eq!(sum, r(u64::MAX, 5));
        assert_eq!(r(1, 3).p2p_ratio(), 0.75);
        assert_eq!(r(0, 0).p2p_ratio(), 0.0);
    }

    #[test]
    fn keeps_the_busiest_swarms() {
        let line = |bytes, viewers| SwarmOffload {
            viewers,
            bytes: Report {
                http: bytes,
                p2p: 0,
            },
        };
        let mut o = Offload {
            total: SwarmOffload::default(),
            top: vec![
                (Id20([1; 20]), line(5, 1)),
                (Id20([2; 20]), line(9, 1)),
                (Id20([3; 20]), line(5, 3)),
            ],
        };
        o.keep_top(2);
        let names: Vec<_> = o.top.iter().map(|(h, _)| h.0[0]).collect();
        assert_eq!(names, [2, 3]);
    }
}
