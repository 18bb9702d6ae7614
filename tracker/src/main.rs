//! `swarmcast-tracker`: reads the settings, starts the server on a runtime
//! with the configured number of worker threads, and stops it gracefully on
//! SIGTERM or SIGINT.

use swarmcast_tracker::config::Config;
use swarmcast_tracker::server;
use tokio::signal::unix::{signal, SignalKind};
use tracing::info;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let Some(config) = Config::load()? else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(config.worker_threads())
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let running = server::start(config).await?;
        let mut terminate = signal(SignalKind::terminate())?;
        tokio::select! {
            _ = terminate.recv() => info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
        }
        running.shutdown().await;
        info!("stopped");
        Ok(())
    })
}
