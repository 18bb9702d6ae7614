//! Serves the routes on one single-threaded runtime per core, all accepting
//! on the same listening socket. A connection stays on the thread that
//! accepted it, which costs less per request than one shared work-stealing
//! runtime (the model of nginx's worker processes). One socket, rather than
//! one SO_REUSEPORT socket each, so that a port picked by the kernel can
//! never be shared with another server.

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;

use anyhow::{Context, Result};
use tokio::sync::watch;
use warp::{Filter, Reply};

pub struct Workers {
    threads: Vec<JoinHandle<()>>,
    drain: watch::Sender<bool>,
}

impl Workers {
    /// Listens on `addr` and serves `routes` from `count` threads. Returns
    /// the bound address (with the port the kernel picked, if `addr` had none).
    pub fn start<F>(addr: SocketAddr, count: usize, routes: F) -> Result<(Self, SocketAddr)>
    where
        F: Filter + Clone + Send + Sync + 'static,
        F::Extract: Reply,
    {
        let listener =
            TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let listeners = (0..count.max(1))
            .map(|_| listener.try_clone())
            .collect::<std::io::Result<Vec<_>>>()?;
        let (drain, drained) = watch::channel(false);
        let threads = listeners
            .into_iter()
            .enumerate()
            .map(|(i, listener)| {
                let (routes, mut drained) = (routes.clone(), drained.clone());
                std::thread::Builder::new()
                    .name(format!("origin-worker-{i}"))
                    .spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("building a worker runtime");
                        runtime.block_on(async move {
                            let listener = tokio::net::TcpListener::from_std(listener)
                                .expect("registering the listener");
                            warp::serve(routes)
                                .incoming(listener)
                                .graceful(async move {
                                    let _ = drained.wait_for(|stop| *stop).await;
                                })
                                .run()
                                .await;
                        });
                    })
                    .context("starting a worker thread")
            })
            .collect::<Result<_>>()?;
        Ok((Self { threads, drain }, addr))
    }

    /// Stops accepting and lets open connections finish; resolves once every
    /// worker is done.
    pub async fn drain(self) {
        let _ = self.drain.send(true);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}
