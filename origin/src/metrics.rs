//! Prometheus metrics of the origin: requests by kind and status code,
//! response body bytes by kind (so an offload test can read how many segment
//! bytes HTTP still served), file cache hits and misses, and the work of
//! publishing digests (bytes hashed; playlists answered as kept or rebuilt).

use std::sync::OnceLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabel {
    result: &'static str,
}

/// What the origin answers with. Their counters are taken from the families
/// once and kept, so a request takes neither a family's lock nor a hash.
const KINDS: [&str; 4] = ["playlist", "segment", "other", "endpoint"];
const STATUSES: [u16; 10] = [200, 204, 206, 304, 400, 403, 404, 405, 416, 500];

/// Filled on first use, so unused series stay out of the exposition.
#[derive(Default)]
struct Kept {
    requests: [[OnceLock<Counter>; STATUSES.len()]; KINDS.len()],
    bytes: [OnceLock<Counter>; KINDS.len()],
}

/// The file cache's lookup counters, handed to whoever does the lookups.
#[derive(Debug, Clone)]
pub struct CacheCounters {
    pub hit: Counter,
    pub miss: Counter,
}

/// The digest publisher's counters.
#[derive(Debug, Clone)]
pub struct DigestCounters {
    pub hashed_bytes: Counter,
    pub kept: Counter,
    pub rebuilt: Counter,
}

pub struct Metrics {
    registry: Registry,
    digests: DigestCounters,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<KindLabel, Counter>,
    kept: Kept,
    cache: CacheCounters,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("swarmcast_origin");
        let requests = Family::<RequestLabels, Counter>::default();
        let bytes = Family::<KindLabel, Counter>::default();
        registry.register(
            "requests",
            "HTTP requests by kind and status code",
            requests.clone(),
        );
        registry.register(
            "response_bytes",
            "Response body bytes sent, by kind",
            bytes.clone(),
        );
        let lookups = Family::<ResultLabel, Counter>::default();
        registry.register(
            "file_cache_lookups",
            "File cache lookups of existing files (hit: answered from memory)",
            lookups.clone(),
        );
        // One statement each: the returned guard holds the family's lock.
        let hit = lookups
            .get_or_create(&ResultLabel { result: "hit" })
            .clone();
        let miss = lookups
            .get_or_create(&ResultLabel { result: "miss" })
            .clone();
        let cache = CacheCounters { hit, miss };

        let hashed_bytes = Counter::default();
        registry.register(
            "digest_hashed_bytes",
            "Bytes read to compute segment digests",
            hashed_bytes.clone(),
        );
        let playlists = Family::<ResultLabel, Counter>::default();
        registry.register(
            "digest_playlists",
            "Playlists with digests served (kept: as built before; rebuilt: something changed)",
            playlists.clone(),
        );
        let kept = playlists
            .get_or_create(&ResultLabel { result: "kept" })
            .clone();
        let rebuilt = playlists
            .get_or_create(&ResultLabel { result: "rebuilt" })
            .clone();
        let digests = DigestCounters {
            hashed_bytes,
            kept,
            rebuilt,
        };
        Self {
            registry,
            digests,
            requests,
            bytes,
            kept: Kept::default(),
            cache,
        }
    }
}

impl Metrics {
    /// Counts one response. `kind` is `playlist`, `segment`, `other` or `endpoint`.
    pub fn record(&self, kind: &'static str, status: u16, body_bytes: u64) {
        let k = KINDS.iter().position(|&known| known == kind);
        let s = STATUSES.iter().position(|&known| known == status);
        let request_slot = k.zip(s).map(|(k, s)| &self.kept.requests[k][s]);
        inc_by(request_slot, 1, || {
            self.requests
                .get_or_create(&RequestLabels { kind, status })
                .clone()
        });
        inc_by(k.map(|k| &self.kept.bytes[k]), body_bytes, || {
            self.bytes.get_or_create(&KindLabel { kind }).clone()
        });
    }

    pub fn cache_counters(&self) -> CacheCounters {
        self.cache.clone()
    }

    pub fn digest_counters(&self) -> DigestCounters {
        self.digests.clone()
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

/// Adds to the counter kept in `slot`, or to a looked-up one if there is no slot.
fn inc_by(slot: Option<&OnceLock<Counter>>, by: u64, lookup: impl FnOnce() -> Counter) {
    match slot {
        Some(slot) => slot.get_or_init(lookup).inc_by(by),
        None => lookup().inc_by(by),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_requests_and_bytes_by_kind() {
        let m = Metrics::default();
        m.record("segment", 200, 1000);
        m.record("segment", 206, 24);
        m.record("playlist", 304, 0);
        m.record("other", 418, 5);
        m.record("other", 404, 5);
        m.cache_counters().hit.inc();
        let text = m.render();
        for line in [
            r#"swarmcast_origin_requests_total{kind="segment",status="206"} 1"#,
            r#"swarmcast_origin_response_bytes_total{kind="segment"} 1024"#,
            r#"swarmcast_origin_requests_total{kind="playlist",status="304"} 1"#,
            r#"swarmcast_origin_file_cache_lookups_total{result="hit"} 1"#,
            // Statuses with and without a kept counter, into the same families.
            r#"swarmcast_origin_requests_total{kind="other",status="418"} 1"#,
            r#"swarmcast_origin_response_bytes_total{kind="other"} 10"#,
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
        assert!(
            !text.contains(r#"status="500""#),
            "only used series: {text}"
        );
    }
}
