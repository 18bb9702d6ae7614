//! Every configurable limit holds, and a well-behaved client is still served.

use std::time::Duration;

use futures_util::SinkExt;
use swarmcast_protocol::tracker::{AnnounceEvent, ServerMessage};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

const STARTED: Option<AnnounceEvent> = Some(AnnounceEvent::Started);

/// A WebSocket handshake attempt that the server may refuse.
async fn try_connect(addr: std::net::SocketAddr) -> bool {
    let url = format!("ws://{addr}/");
    matches!(
        tokio::time::timeout(PROMPT, tokio_tungstenite::connect_async(url)).await,
        Ok(Ok(_))
    )
}

#[tokio::test]
async fn connections_per_ip_are_capped() {
    let mut config = config();
    config.max_connections_per_ip = 3;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let a = Client::connect(addr).await;
    let _b = Client::connect(addr).await;
    let _c = Client::connect(addr).await;
    assert!(!try_connect(addr).await, "fourth connection refused");
    assert_eq!(stats_after_drop(addr, a).await["connections_refused"], 1);
    tracker.shutdown().await;
}

/// Frees one slot, then checks a well-behaved client gets in and is served.
async fn stats_after_drop(addr: std::net::SocketAddr, client: Client) -> serde_json::Value {
    drop(client);
    tokio::time::sleep(QUIET).await;
    // assert_served needs two connections; the stats request needs one more,
    // so drop a second slot by closing after serving.
    let mut served = Client::connect(addr).await;
    served.announce(announce(250, 250, STARTED, 0)).await;
    drop(served);
    tokio::time::sleep(QUIET).await;
    stats(addr).await
}

#[tokio::test]
async fn connections_in_total_are_capped() {
    let mut config = config();
    config.max_connections = 2;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let a = Client::connect(addr).await;
    let _b = Client::connect(addr).await;
    assert!(!try_connect(addr).await, "third connection refused");
    assert_eq!(stats_after_drop(addr, a).await["connections_refused"], 1);
    tracker.shutdown().await;
}

#[tokio::test]
async fn oversized_messages_close_only_that_connection() {
    let mut config = config();
    config.max_message_size = 2_000;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let mut big = Client::connect(addr).await;
    let mut request = announce(1, 1, STARTED, 1);
    request.offers[0].offer = sdp("offer", &"a".repeat(3_000));
    big.send_announce(request).await;
    assert!(big.is_closed().await);
    assert_served(addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn oversized_frames_close_only_that_connection() {
    let mut config = config();
    config.max_frame_size = 1_000;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let mut fits = Client::connect(addr).await;
    fits.announce(announce(1, 1, STARTED, 0)).await;
    let mut big = Client::connect(addr).await;
    let mut request = announce(1, 2, STARTED, 1);
    request.offers[0].offer = sdp("offer", &"a".repeat(1_500));
    big.send_announce(request).await;
    assert!(big.is_closed().await);
    assert!(fits.is_quiet().await, "the oversized offer was not relayed");
    assert_served(addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn idle_connections_are_pinged_then_closed() {
    let mut config = config();
    config.idle_timeout = Duration::from_millis(300);
    let tracker = start(config).await;
    let addr = tracker.local_addr;

    // A WebSocket client that never sends is pinged, then closed. It must not
    // read until the deadline has passed: tungstenite answers pings while
    // reading, and a pong is activity.
    let mut silent = Client::connect(addr).await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let frame = tokio::time::timeout(PROMPT, futures_util::StreamExt::next(&mut silent.ws)).await;
    assert!(
        matches!(frame, Ok(Some(Ok(Message::Ping(_))))),
        "pinged at half the timeout"
    );
    assert!(silent.is_closed().await);

    // A client that answers pings (tungstenite does so while reading) stays.
    let mut live = Client::connect(addr).await;
    live.announce(announce(1, 1, STARTED, 0)).await;
    for _ in 0..4 {
        live.ws
            .send(Message::Pong(Default::default()))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    live.announce(announce(1, 1, None, 0)).await;

    // A TCP connection that never sends its HTTP request is closed too.
    let mut mute = TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(PROMPT, mute.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed by the server"
    );
    assert_served(addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn announce_interval_is_what_clients_are_told() {
    let mut config = config();
    config.announce_interval = Duration::from_secs(42);
    let tracker = start(config).await;
    let mut client = Client::connect(tracker.local_addr).await;
    assert_eq!(
        client.announce(announce(1, 1, STARTED, 0)).await.interval,
        42
    );
    tracker.shutdown().await;
}

#[tokio::test]
async fn swarms_per_connection_are_capped() {
    let mut config = config();
    config.max_swarms_per_connection = 2;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    let mut client = Client::connect(addr).await;
    client.announce(announce(1, 1, STARTED, 0)).await;
    client.announce(announce(2, 1, STARTED, 0)).await;
    client.send_announce(announce(3, 1, STARTED, 0)).await;
    assert!(client.failure().await.contains("too many swarms"));
    // Leaving one makes room again.
    client
        .announce(announce(1, 1, Some(AnnounceEvent::Stopped), 0))
        .await;
    client.announce(announce(3, 1, STARTED, 0)).await;
    assert_served(addr).await;
    tracker.shutdown().await;
}

#[tokio::test]
async fn floods_of_offers_are_dropped_at_a_slow_reader_not_buffered() {
    let mut config = config();
    config.send_queue = 4;
    let tracker = start(config).await;
    let addr = tracker.local_addr;
    // The victim joins and then stops reading.
    let mut victim = Client::connect(addr).await;
    victim.announce(announce(1, 1, STARTED, 0)).await;
    let mut flooder = Client::connect(addr).await;
    let big = "x".repeat(16 * 1024);
    for _ in 0..400 {
        let mut request = announce(1, 2, None, 1);
        request.offers[0].offer = sdp("offer", &big);
        flooder.send_announce(request).await;
    }
    // The flooder's own replies still arrive.
    let mut replies = 0;
    while replies < 400 {
        if let ServerMessage::Announce(_) = flooder.recv().await {
            replies += 1;
        }
    }
    let dropped = stats(addr).await["messages_total"]["dropped"]
        .as_u64()
        .unwrap();
    assert!(dropped > 0, "the victim's queue overflowed and dropped");
    assert_served(addr).await;
    tracker.shutdown().await;
}
