//! `swarmcast-peer`: the swarmcast engine outside the browser. Reads the
//! settings, hosts `--count` peers of one role on one tokio runtime, serves
//! the operator endpoints, and leaves the swarm gracefully on SIGTERM/SIGINT.

mod config;
mod http;
mod io;
mod metrics;
mod node;
mod player;
mod playlist;
mod rtc;
mod tracker;

use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use swarmcast_loader::engine::{self, Engine};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{mpsc, watch};
use tracing::info;
use tracing_subscriber::EnvFilter;

use config::{bytes_per_second, Config, Role};
use io::{IoSender, RateLimit};
use metrics::Metrics;
use node::{Node, Shared};
use player::{Player, Viewing};
use rtc::RtcSetup;

/// webrtc-rs narrates every connection at info (and warns about ICE checks
/// started before the remote candidates arrive): kept to errors by default.
const DEFAULT_LOG: &str = "info,rtc=error,rtc_ice=error,rtc_sctp=error,rtc_dtls=error,webrtc=error";

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG)),
        )
        .init();
    let (role, config) = Config::load()?;
    rustls::crypto::ring::default_provider()
        .install_default()
        .map_err(|_| anyhow::anyhow!("a TLS crypto provider was already installed"))?;
    // Engines are single-threaded (not Send): every hosted engine runs on
    // this thread, while their WebRTC, WebSocket and HTTP tasks spread over
    // the runtime's workers.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, run(role, config))
}

/// The engine settings of a hosted peer of `role`.
fn engine_config(role: Role, config: &Config) -> engine::Config {
    let defaults = engine::Config::default();
    let (http_downloads, p2p_downloads) = match role {
        // The seeder takes everything from the origin at once (its requests
        // are all urgent: it reports no playback) and never from peers.
        Role::Seeder => (0, 0),
        Role::Viewer => (config.max_http_downloads, defaults.p2p_downloads),
    };
    engine::Config {
        trackers: config.tracker.clone(),
        max_peers: config.max_peers,
        http_downloads,
        p2p_downloads,
        startup_peer_wait_ms: config.startup_peer_wait.as_millis() as u64,
        seeder: role == Role::Seeder,
        swarm_id: config.swarm_id.clone(),
        ..defaults
    }
}

async fn run(role: Role, config: Config) -> anyhow::Result<()> {
    let (stop_tx, stop) = watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = config.listen {
        let bound = metrics::serve(addr, metrics.clone(), stop.clone())?;
        info!("serving /metrics and /health on http://{bound}");
    }
    let engine_config = engine_config(role, &config);
    let http = http::client()?;
    let mdns = rtc::multicast_dns_usable();
    if !mdns {
        info!("no multicast here: browsers' mDNS candidates are left to peer-reflexive ICE");
    }
    let viewing = Viewing {
        max_buffer_ms: config.max_buffer.as_millis() as u64,
        live_sync_segments: config.live_sync_segments,
    };
    let stream = config.stream_url().clone();
    info!(?role, count = config.count, %stream, "starting");

    let mut nodes = tokio::task::JoinSet::new();
    let joins = {
        let stop = stop.clone();
        let config = config.clone();
        let metrics = metrics.clone();
        async move {
            for i in 0..config.count {
                if i > 0 {
                    tokio::time::sleep(config.join_interval).await;
                }
                if *stop.borrow() {
                    break;
                }
                // Caps are per hosted peer, as they would be per viewer's link.
                let download = RateLimit::new(bytes_per_second(config.download_mbps));
                let rtc = RtcSetup {
                    ice_servers: config.ice_server.clone(),
                    bind: config.udp_bind,
                    mdns,
                    low_water: engine_config.channel_low_water,
                    upload: RateLimit::new(bytes_per_second(config.upload_mbps)),
                    download: download.clone(),
                };
                let shared = Shared {
                    http: http.clone(),
                    metrics: metrics.clone(),
                    rtc,
                    download,
                };
                let seed = RandomState::new().hash_one(i);
                let engine = Engine::new(engine_config.clone(), seed, 0);
                let player = Player::new(role, stream.clone(), viewing, config.swarm_id.is_some());
                let (tx, rx) = mpsc::unbounded_channel();
                let node = Node::new(engine, player, shared, IoSender(tx));
                nodes.spawn_local(node.run(rx, stop.clone()));
            }
            nodes
        }
    };

    let mut terminate = signal(SignalKind::terminate())?;
    let mut joining = std::pin::pin!(joins);
    let mut nodes = tokio::select! {
        nodes = &mut joining => Some(nodes),
        _ = terminate.recv() => None,
        _ = tokio::signal::ctrl_c() => None,
    };
    if nodes.is_some() {
        info!("all {} peers started", config.count);
        tokio::select! {
            _ = terminate.recv() => info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
        }
    }
    let _ = stop_tx.send(true);
    if nodes.is_none() {
        nodes = Some(joining.await);
    }
    if let Some(mut nodes) = nodes {
        while nodes.join_next().await.is_some() {}
    }
    info!("stopped");
    Ok(())
}
