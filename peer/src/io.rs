//! What the I/O tasks of one node report back to its loop, and the shared
//! pieces they use: the node's clock and byte-rate caps.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use swarmcast_loader::engine::{Millis, TrackerReply};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::player::PlaylistId;

/// Which request an HTTP load answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpJob {
    /// The engine's prefetch for the swarm (`Output::HttpFetch`).
    Prefetch(u32),
    /// The player's own load of a fragment (`Output::LoadOverHttp`).
    Request(u32),
}

/// One finished piece of I/O, named by the engine's (or player's) ids.
#[derive(Debug)]
pub enum IoEvent {
    TrackerOpen(u32),
    TrackerMessage(u32, TrackerReply),
    TrackerClosed(u32),
    OfferSdp(u32, String),
    AnswerSdp(u32, String),
    ChannelOpen(u32),
    /// A hash of an open connection's remote address (see `rtc::remote_address`).
    PeerAddress(u32, u32),
    ChannelMessage(u32, Vec<u8>),
    ChannelDrained(u32),
    /// The connection closed or failed, at whatever stage.
    PeerClosed(u32),
    /// A body and when its first byte came, or `None` on any failure.
    Http(HttpJob, Option<(Vec<u8>, Millis)>),
    /// A manifest or media playlist load.
    Playlist(PlaylistId, Result<Vec<u8>, String>),
}

/// The sending half of a node's event queue; a send after the node stopped is dropped.
#[derive(Clone)]
pub struct IoSender(pub mpsc::UnboundedSender<IoEvent>);

impl IoSender {
    pub fn send(&self, event: IoEvent) {
        let _ = self.0.send(event);
    }
}

/// Waits for closing tasks to end; one still running after a second is cut off.
pub async fn finish(tasks: Vec<tokio::task::JoinHandle<()>>) {
    let deadline = Instant::now() + Duration::from_secs(1);
    for task in tasks {
        let abort = task.abort_handle();
        if tokio::time::timeout_at(deadline, task).await.is_err() {
            abort.abort();
        }
    }
}

/// Milliseconds since the node started: the engine's clock.
#[derive(Clone, Copy)]
pub struct Clock(Instant);

impl Clock {
    pub fn start() -> Self {
        Clock(Instant::now())
    }

    pub fn now(&self) -> Millis {
        self.0.elapsed().as_millis() as Millis
    }

    pub fn instant(&self, at: Millis) -> Instant {
        self.0 + Duration::from_millis(at)
    }
}

/// A byte-rate cap shared by every transfer of one direction of one node:
/// each transfer reserves its bytes' slot in time and waits for it.
#[derive(Clone, Default)]
pub struct RateLimit(Option<Arc<Bucket>>);

struct Bucket {
    bytes_per_second: f64,
    next_free: Mutex<Instant>,
}

impl RateLimit {
    pub fn new(bytes_per_second: Option<f64>) -> Self {
        RateLimit(bytes_per_second.map(|rate| {
            Arc::new(Bucket {
                bytes_per_second: rate,
                next_free: Mutex::new(Instant::now()),
            })
        }))
    }

    /// Waits until `bytes` more fit under the cap.
    pub async fn take(&self, bytes: usize) {
        let Some(b) = &self.0 else { return };
        let at = {
            let mut next = b.next_free.lock().expect("rate limit lock");
            let at = (*next).max(Instant::now());
            *next = at + Duration::from_secs_f64(bytes as f64 / b.bytes_per_second);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_cap_spaces_transfers_by_their_size() {
        let limit = RateLimit::new(Some(1000.0));
        let start = Instant::now();
        limit.take(500).await;
        limit.take(500).await;
        limit.take(1).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let free = RateLimit::new(None);
        free.take(1 << 30).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }
}
