//! Accepting connections and the tasks that outlive any one of them: expiry
//! sweeps, rate sampling and graceful shutdown.
//!
//! [`Shared`] is the one context every connection task holds.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::connection;
use crate::limits::ConnectionLimits;
use crate::stats::Stats;
use crate::swarm::Swarms;

/// How often the per-second rates in the stats are recomputed.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);
/// How long shutdown waits for connections to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// State shared by the accept loop and every connection.
pub struct Shared {
    pub config: Config,
    pub swarms: Swarms,
    pub stats: Arc<Stats>,
    pub limits: Arc<ConnectionLimits>,
    pub tls: Option<TlsAcceptor>,
    pub shutdown: CancellationToken,
    pub ws_config: WebSocketConfig,
    next_connection: AtomicU64,
}

impl Shared {
    pub fn next_connection_id(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }
}

/// A started tracker.
pub struct Running {
    pub local_addr: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

/// Binds the listener and starts serving on the current tokio runtime.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        _ => None,
    };
    let listener = TcpListener::bind(config.listen).await?;
    let local_addr = listener.local_addr()?;
    let stats = Arc::new(Stats::default());
    // A small read buffer keeps idle connections cheap (messages are small);
    // the write buffer lets a batch of queued messages go out in one write.
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(config.max_message_size.saturating_mul(4).max(64 * 1024))
        .max_message_size(Some(config.max_message_size))
        .max_frame_size(Some(config.max_frame_size));
    let shared = Arc::new(Shared {
        swarms: Swarms::new(config.peer_timeout, config.swarm_timeout),
        limits: ConnectionLimits::new(
            config.max_connections,
            config.max_connections_per_ip,
            Arc::clone(&stats),
        ),
        stats,
        tls,
        shutdown: CancellationToken::new(),
        ws_config,
        next_connection: AtomicU64::new(0),
        config,
    });
    let tasks = vec![
        tokio::spawn(accept_loop(Arc::clone(&shared), listener)),
        tokio::spawn(cleanup_loop(Arc::clone(&shared))),
        tokio::spawn(sample_loop(Arc::clone(&shared))),
    ];
    info!(%local_addr, tls = shared.tls.is_some(), "tracker listening");
    Ok(Running {
        local_addr,
        shared,
        tasks,
    })
}

impl Running {
    /// Stops accepting, asks every connection to close, and waits (briefly)
    /// until they have.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        let drained = timeout(SHUTDOWN_GRACE, async {
            while self.shared.stats.connections.load(Ordering::Relaxed) > 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        });
        if drained.await.is_err() {
            warn!("connections still open after the shutdown grace period");
        }
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Usually out of file descriptors: back off instead of spinning.
                warn!(%err, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(permit) = shared.limits.admit(peer.ip()) else {
            debug!(%peer, "connection refused by limits");
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _permit = permit;
            serve_tcp(shared, tcp).await;
        });
    }
}

/// Every future here is boxed at its own size: a task's memory is its largest
/// state, and idle plain connections should not pay for TLS handshake state.
async fn serve_tcp(shared: Arc<Shared>, tcp: TcpStream) {
    let _ = tcp.set_nodelay(true);
    match shared.tls.clone() {
        None => Box::pin(connection::serve(shared, tcp)).await,
        Some(acceptor) => {
            match Box::pin(timeout(shared.config.idle_timeout, acceptor.accept(tcp))).await {
                Ok(Ok(tls)) => Box::pin(connection::serve(shared, tls)).await,
                Ok(Err(err)) => debug!(%err, "TLS handshake failed"),
                Err(_) => debug!("TLS handshake timed out"),
            }
        }
    }
}

async fn cleanup_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(shared.config.cleanup_interval);
    loop {
        tick.tick().await;
        let removed = shared.swarms.cleanup();
        if removed > 0 {
            debug!(removed, "expired peers removed");
        }
    }
}

async fn sample_loop(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    loop {
        tick.tick().await;
        shared.stats.sample();
    }
}
