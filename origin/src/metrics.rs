//! Prometheus metrics of the origin: requests by kind and status code, and
//! response body bytes by kind, so an offload test can read how many segment
//! bytes HTTP still served.

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

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    bytes: Family<KindLabel, Counter>,
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
        Self {
            registry,
            requests,
            bytes,
        }
    }
}

impl Metrics {
    /// Counts one response. `kind` is `playlist`, `segment`, `other` or `endpoint`.
    pub fn record(&self, kind: &'static str, status: u16, body_bytes: u64) {
        self.requests
            .get_or_create(&RequestLabels { kind, status })
            .inc();
        self.bytes
            .get_or_create(&KindLabel { kind })
            .inc_by(body_bytes);
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
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
        let text = m.render();
        assert!(
            text.contains(r#"swarmcast_origin_requests_total{kind="segment",status="206"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"swarmcast_origin_response_bytes_total{kind="segment"} 1024"#),
            "{text}"
        );
        assert!(
            text.contains(r#"swarmcast_origin_requests_total{kind="playlist",status="304"} 1"#),
            "{text}"
        );
    }
}
