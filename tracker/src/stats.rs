//! Counters and rates for operators: rendered as `/stats.json` and as
//! Prometheus text on `/metrics`, with the viewers' offload statistics
//! (per swarm for the busiest few, so label cardinality stays bounded).
//!
//! Counters are relaxed atomics bumped on the hot path; a sampler turns them
//! into per-second rates every few seconds so readers never compute them.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

use crate::offload::{Offload, Report, SwarmOffload};
use crate::swarm::Totals;

/// Kinds of messages counted, in rendering order.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// Announce requests received (including answers).
    Announce,
    /// Offers relayed to another peer.
    Offer,
    /// Answers relayed to the offerer.
    Answer,
    /// Scrape requests received.
    Scrape,
    /// Failure reasons sent.
    Error,
    /// Messages dropped because the recipient's queue was full.
    Dropped,
}

const KINDS: [(Kind, &str); 6] = [
    (Kind::Announce, "announce"),
    (Kind::Offer, "offer"),
    (Kind::Answer, "answer"),
    (Kind::Scrape, "scrape"),
    (Kind::Error, "error"),
    (Kind::Dropped, "dropped"),
];

/// One per-swarm offload series on `/metrics`.
struct OffloadMetric {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: fn(&SwarmOffload) -> f64,
}

const OFFLOAD_METRICS: [OffloadMetric; 4] = [
    OffloadMetric {
        name: "viewers",
        kind: "gauge",
        help: "Viewers announced in the swarm.",
        value: |s| s.viewers as f64,
    },
    OffloadMetric {
        name: "http_bytes_total",
        kind: "counter",
        help: "Segment bytes viewers reported loading over HTTP.",
        value: |s| s.bytes.http as f64,
    },
    OffloadMetric {
        name: "p2p_bytes_total",
        kind: "counter",
        help: "Segment bytes viewers reported loading from peers.",
        value: |s| s.bytes.p2p as f64,
    },
    OffloadMetric {
        name: "p2p_ratio",
        kind: "gauge",
        help: "Share of the reported bytes that came from peers.",
        value: |s| s.bytes.p2p_ratio(),
    },
];

#[derive(Default)]
pub struct Stats {
    messages: [AtomicU64; 6],
    /// Connections currently open (after the limits admitted them).
    pub connections: AtomicU64,
    /// Connections refused by the connection limits.
    pub refused: AtomicU64,
    /// HTTP and P2P bytes reported by viewers since the tracker started.
    http_bytes: AtomicU64,
    p2p_bytes: AtomicU64,
    rates: Mutex<Rates>,
}

#[derive(Default)]
struct Rates {
    last: Option<(Instant, [u64; 6])>,
    per_second: [f64; 6],
}

impl Stats {
    pub fn count(&self, kind: Kind, n: usize) {
        self.messages[kind as usize].fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Adds bytes viewers reported (see `offload`).
    pub fn report(&self, bytes: Report) {
        if bytes != Report::default() {
            self.http_bytes.fetch_add(bytes.http, Ordering::Relaxed);
            self.p2p_bytes.fetch_add(bytes.p2p, Ordering::Relaxed);
        }
    }

    /// Every swarm's line plus the cumulative byte sums (which outlive
    /// swarms that emptied and were dropped).
    fn all_swarms(&self, offload: &Offload) -> SwarmOffload {
        SwarmOffload {
            viewers: offload.total.viewers,
            bytes: Report {
                http: self.http_bytes.load(Ordering::Relaxed),
                p2p: self.p2p_bytes.load(Ordering::Relaxed),
            },
        }
    }

    fn totals(&self) -> [u64; 6] {
        std::array::from_fn(|i| self.messages[i].load(Ordering::Relaxed))
    }

    /// Updates the per-second rates from the counters' change since the last call.
    pub fn sample(&self) {
        let now = Instant::now();
        let totals = self.totals();
        let mut rates = self.rates.lock();
        if let Some((then, before)) = rates.last {
            let secs = now.duration_since(then).as_secs_f64().max(1e-3);
            rates.per_second = std::array::from_fn(|i| (totals[i] - before[i]) as f64 / secs);
        }
        rates.last = Some((now, totals));
    }

    pub fn to_json(&self, swarms: Totals, offload: &Offload) -> String {
        let totals = self.totals();
        let rates = self.rates.lock().per_second;
        let by_kind = |values: &dyn Fn(usize) -> serde_json::Value| {
            KINDS
                .iter()
                .enumerate()
                .map(|(i, (_, name))| ((*name).to_string(), values(i)))
                .collect::<serde_json::Map<_, _>>()
        };
        let line = |s: &SwarmOffload| {
            serde_json::json!({
                "viewers": s.viewers,
                "http_bytes": s.bytes.http,
                "p2p_bytes": s.bytes.p2p,
                "p2p_ratio": s.bytes.p2p_ratio(),
            })
        };
        let mut all = line(&self.all_swarms(offload));
        all["top_swarms"] = offload
            .top
            .iter()
            .map(|(hash, s)| {
                let mut l = line(s);
                l["info_hash"] = format!("{hash:?}").into();
                l
            })
            .collect();
        serde_json::json!({
            "swarms": swarms.swarms,
            "peers": swarms.peers,
            "seeders": swarms.seeders,
            "leechers": swarms.leechers,
            "connections": self.connections.load(Ordering::Relaxed),
            "connections_refused": self.refused.load(Ordering::Relaxed),
            "messages_total": by_kind(&|i| totals[i].into()),
            "messages_per_second": by_kind(&|i| ((rates[i] * 10.0).round() / 10.0).into()),
            "offload": all,
        })
        .to_string()
    }

    pub fn to_prometheus(&self, swarms: Totals, offload: &Offload) -> String {
        let mut out = String::new();
        let gauges = [
            ("swarms", "Swarms tracked.", swarms.swarms as u64),
            ("peers", "Peers in all swarms.", swarms.peers as u64),
            (
                "seeders",
                "Peers that have the whole stream.",
                swarms.seeders,
            ),
            ("leechers", "Peers still downloading.", swarms.leechers),
            (
                "connections",
                "Open WebSocket connections.",
                self.connections.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in gauges {
            let _ = writeln!(out, "# HELP swarmcast_tracker_{name} {help}\n# TYPE swarmcast_tracker_{name} gauge\nswarmcast_tracker_{name} {value}");
        }
        let _ = writeln!(out, "# HELP swarmcast_tracker_connections_refused_total Connections refused by limits.\n# TYPE swarmcast_tracker_connections_refused_total counter\nswarmcast_tracker_connections_refused_total {}", self.refused.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP swarmcast_tracker_messages_total Messages by kind.\n# TYPE swarmcast_tracker_messages_total counter");
        for (i, (_, name)) in KINDS.iter().enumerate() {
            let _ = writeln!(
                out,
                "swarmcast_tracker_messages_total{{kind=\"{name}\"}} {}",
                self.totals()[i]
            );
        }
        self.offload_prometheus(offload, &mut out);
        out
    }

    /// `swarmcast_tracker_swarm_*{swarm="<info_hash hex>"|"total"}`.
    fn offload_prometheus(&self, offload: &Offload, out: &mut String) {
        let all = self.all_swarms(offload);
        let lines: Vec<(String, &SwarmOffload)> = std::iter::once(("total".to_string(), &all))
            .chain(offload.top.iter().map(|(h, s)| (format!("{h:?}"), s)))
            .collect();
        for m in &OFFLOAD_METRICS {
            let (name, kind, help) = (m.name, m.kind, m.help);
            let _ = writeln!(out, "# HELP swarmcast_tracker_swarm_{name} {help} Per swarm for the busiest swarms, and swarm=\"total\" for all.\n# TYPE swarmcast_tracker_swarm_{name} {kind}");
            for (swarm, s) in &lines {
                let _ = writeln!(
                    out,
                    "swarmcast_tracker_swarm_{name}{{swarm=\"{swarm}\"}} {}",
                    (m.value)(s)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_rates() {
        let stats = Stats::default();
        stats.sample();
        stats.count(Kind::Offer, 3);
        stats.sample();
        let json: serde_json::Value =
            serde_json::from_str(&stats.to_json(Totals::default(), &Offload::default())).unwrap();
        assert_eq!(json["messages_total"]["offer"], 3);
        assert!(json["messages_per_second"]["offer"].as_f64().unwrap() > 0.0);
        let text = stats.to_prometheus(
            Totals {
                peers: 2,
                ..Default::default()
            },
            &Offload::default(),
        );
        assert!(text.contains("swarmcast_tracker_peers 2\n"));
        assert!(text.contains("swarmcast_tracker_messages_total{kind=\"offer\"} 3\n"));
    }
}
