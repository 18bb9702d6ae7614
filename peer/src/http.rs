//! HTTP loads with reqwest: segments (with byte ranges) and playlists, each
//! reported to the node as one event. Bodies are read chunk by chunk so the
//! download cap applies as they arrive.

use std::time::Duration;

use reqwest::{header, Client};
use swarmcast_loader::engine::{ByteRange, Millis};

use crate::io::{Clock, HttpJob, IoEvent, IoSender, RateLimit};
use crate::player::PlaylistId;

/// A load that takes longer than this fails (hls.js's fragment maxLoadTimeMs
/// is 120 s; the engine abandons slow prefetches itself well before).
const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// The one client of a process: its connection pool serves every node.
pub fn client() -> reqwest::Result<Client> {
    Client::builder()
        .user_agent(concat!("swarmcast-peer/", env!("CARGO_PKG_VERSION")))
        .timeout(LOAD_TIMEOUT)
        .build()
}

/// Loads `url` (and `range`) and reports it as `job`.
pub fn load_segment(
    client: Client,
    url: String,
    range: Option<ByteRange>,
    job: HttpJob,
    limit: RateLimit,
    clock: Clock,
    events: IoSender,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let result = get(&client, &url, range, &limit, &clock).await;
        if let Err(e) = &result {
            tracing::debug!(%url, error = %e, "segment load failed");
        }
        events.send(IoEvent::Http(job, result.ok()));
    })
}

/// Loads a playlist and reports its body.
pub fn load_playlist(client: Client, id: PlaylistId, url: String, events: IoSender) {
    tokio::spawn(async move {
        let result = async {
            let response = client.get(&url).send().await?.error_for_status()?;
            Ok::<_, reqwest::Error>(response.bytes().await?.to_vec())
        }
        .await;
        events.send(IoEvent::Playlist(id, result.map_err(|e| e.to_string())));
    });
}

async fn get(
    client: &Client,
    url: &str,
    range: Option<ByteRange>,
    limit: &RateLimit,
    clock: &Clock,
) -> reqwest::Result<(Vec<u8>, Millis)> {
    let mut request = client.get(url);
    if let Some(r) = range {
        request = request.header(header::RANGE, format!("bytes={}-{}", r.start, r.end - 1));
    }
    let mut response = request.send().await?.error_for_status()?;
    let first_byte = clock.now();
    let mut body = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    while let Some(chunk) = response.chunk().await? {
        limit.take(chunk.len()).await;
        body.extend_from_slice(&chunk);
    }
    Ok((body, first_byte))
}
