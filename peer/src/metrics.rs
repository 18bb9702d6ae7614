//! Prometheus metrics summed over every peer a process hosts, and the
//! operator endpoints: `/metrics` (text exposition) and `/health`.

use std::net::SocketAddr;
use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;
use swarmcast_loader::engine::StatsSnapshot;
use tokio::sync::watch;
use warp::Filter;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: &'static str,
}

pub struct Metrics {
    registry: Registry,
    bytes: Family<SourceLabel, Counter>,
    segments: Family<SourceLabel, Counter>,
    pub upload_bytes: Counter,
    pub late_deliveries: Counter,
    pub p2p_fallbacks: Counter,
    pub stalls: Counter,
    pub stall_seconds: Counter<f64, AtomicU64>,
    pub peers: Gauge,
    pub running: Gauge,
    pub playing: Gauge,
    pub live_latency: Histogram,
    pub startup: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("swarmcast_peer");
        let bytes = Family::<SourceLabel, Counter>::default();
        let segments = Family::<SourceLabel, Counter>::default();
        let m = Metrics {
            bytes: bytes.clone(),
            segments: segments.clone(),
            upload_bytes: Counter::default(),
            late_deliveries: Counter::default(),
            p2p_fallbacks: Counter::default(),
            stalls: Counter::default(),
            stall_seconds: Counter::default(),
            peers: Gauge::default(),
            running: Gauge::default(),
            playing: Gauge::default(),
            live_latency: Histogram::new([2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 60.0]),
            startup: Histogram::new([0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]),
            registry: Registry::default(),
        };
        registry.register(
            "download_bytes",
            "Segment bytes downloaded, by source (http or p2p)",
            bytes,
        );
        registry.register(
            "segments",
            "Segments downloaded, by source (http or p2p)",
            segments,
        );
        registry.register(
            "upload_bytes",
            "Segment bytes uploaded to peers",
            m.upload_bytes.clone(),
        );
        registry.register(
            "late_deliveries",
            "Fragments delivered after their playback deadline (deadline misses)",
            m.late_deliveries.clone(),
        );
        registry.register(
            "p2p_fallbacks",
            "Segments refetched because a peer failed",
            m.p2p_fallbacks.clone(),
        );
        registry.register(
            "stalls",
            "Viewers: times playback ran out of buffer",
            m.stalls.clone(),
        );
        registry.register(
            "stall_seconds",
            "Viewers: time spent stalled",
            m.stall_seconds.clone(),
        );
        registry.register("connected_peers", "Connected peers", m.peers.clone());
        registry.register("hosted", "Hosted peers running", m.running.clone());
        registry.register(
            "playing",
            "Viewers whose playback is advancing",
            m.playing.clone(),
        );
        registry.register(
            "live_latency_seconds",
            "Viewers: playback position behind the live edge, sampled each second",
            m.live_latency.clone(),
        );
        registry.register(
            "startup_seconds",
            "Viewers: time from joining to the first fragment (playback start)",
            m.startup.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Adds what one hosted peer's engine counted since `before`.
    pub fn add_engine_delta(&self, before: &StatsSnapshot, now: &StatsSnapshot) {
        let source = |s| SourceLabel { source: s };
        let add = |c: &Counter, a: u64, b: u64| {
            c.inc_by(b.saturating_sub(a));
        };
        add(
            &self.bytes.get_or_create(&source("http")),
            before.http_down,
            now.http_down,
        );
        add(
            &self.bytes.get_or_create(&source("p2p")),
            before.p2p_down,
            now.p2p_down,
        );
        add(
            &self.segments.get_or_create(&source("http")),
            before.segments_http,
            now.segments_http,
        );
        add(
            &self.segments.get_or_create(&source("p2p")),
            before.segments_p2p,
            now.segments_p2p,
        );
        add(&self.upload_bytes, before.up, now.up);
        add(
            &self.late_deliveries,
            before.late_deliveries,
            now.late_deliveries,
        );
        add(&self.p2p_fallbacks, before.p2p_fallbacks, now.p2p_fallbacks);
        self.peers
            .inc_by(now.peers.len() as i64 - before.peers.len() as i64);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Serves `/metrics` and `/health` on `addr` until `stop` turns true.
/// Returns the bound address (port 0 picks one).
pub fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let metrics_route = warp::path!("metrics").map(move || {
        warp::reply::with_header(
            metrics.render(),
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    });
    let health = warp::path!("health").map(|| "ok\n");
    let routes = warp::get().and(metrics_route.or(health));
    tokio::spawn(
        warp::serve(routes)
            .incoming(listener)
            .graceful(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .run(),
    );
    Ok(bound)
}
