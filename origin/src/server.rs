//! Puts the origin together: mounts (with the live test card at /live),
//! the warp service, the worker threads that serve it, and an orderly
//! shutdown.

use std::future::Future;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use swarmcast_testcard::LiveTestcard;
use warp::Filter;

use crate::cache::FileCache;
use crate::cli::{Cli, LIVE_PREFIX};
use crate::cors::Cors;
use crate::files::Files;
use crate::handler::{handle, App};
use crate::metrics::Metrics;
use crate::mounts::{Mount, Mounts};
use crate::publish::Publisher;
use crate::workers::Workers;

/// How long open connections may finish their responses after a stop signal.
const DRAIN: Duration = Duration::from_secs(3);

/// Runs the origin until `stop` resolves.
pub async fn run(cli: Cli, stop: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    let cors = Cors::from_origins(&cli.cors_origins).map_err(anyhow::Error::msg)?;
    cli.check().map_err(anyhow::Error::msg)?;

    let mut mounts = cli.mounts.clone();
    if let Some(root) = &cli.root {
        mounts.push(Mount::new(&cli.root_prefix.to_string(), root).map_err(anyhow::Error::msg)?);
    }
    for m in &mut mounts {
        m.set_digests(cli.digests.contains(m.prefix()));
    }
    let testcard = if cli.testcard {
        let live = LiveTestcard::start(cli.stream.clone(), None).await?;
        let mut mount = Mount::new(LIVE_PREFIX, live.dir()).expect("valid prefix");
        mount.set_digests(cli.testcard_digests || cli.digests.contains(mount.prefix()));
        mounts.push(mount);
        Some(live)
    } else {
        None
    };
    for m in &mounts {
        tracing::info!(prefix = %m.prefix(), dir = %m.dir().display(), digests = m.digests(), "serving");
    }

    let metrics = Metrics::default();
    let cache = FileCache::new(cli.cache_mb.saturating_mul(1 << 20));
    let mounts = Arc::new(Mounts::new(mounts));
    let app = Arc::new(App {
        publisher: Publisher::new(mounts.clone(), metrics.digest_counters()),
        mounts,
        cors,
        files: Files::new(cache, metrics.cache_counters()),
        metrics,
    });
    let routes = warp::method()
        .and(warp::path::full())
        .and(warp::header::headers_cloned())
        .and(warp::addr::remote())
        .then(move |method, path: warp::path::FullPath, headers, remote| {
            let app = app.clone();
            async move { handle(&app, method, path.as_str(), headers, remote).await }
        });

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (workers, addr) = match Workers::start(cli.listen, cores, routes) {
        Ok(started) => started,
        Err(e) => {
            if let Some(live) = testcard {
                live.stop().await;
            }
            return Err(e);
        }
    };
    let mut startup = format!("swarmcast-origin listening on http://{addr}\n");
    if testcard.is_some() {
        let master = swarmcast_testcard::MASTER_PLAYLIST;
        startup += &format!("live test card: http://{addr}{LIVE_PREFIX}/{master}\n");
    }
    // Not `println!`: it panics when stdout is closed (e.g. a script that read
    // the first line and went away), and a closed stdout must not stop a server.
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(startup.as_bytes())
        .and_then(|()| stdout.flush());
    tracing::info!("listening on http://{addr}");

    stop.await;
    if tokio::time::timeout(DRAIN, workers.drain()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    if let Some(live) = testcard {
        live.stop().await;
    }
    tracing::info!("stopped");
    Ok(())
}
