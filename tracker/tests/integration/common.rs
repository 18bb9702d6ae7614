//! Test harness: real trackers on 127.0.0.1 with short timeouts, and a small
//! WebSocket client speaking the WebTorrent tracker protocol.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use swarmcast_protocol::ids::Id20;
use swarmcast_protocol::tracker::{
    AnnounceEvent, AnnounceRequest, AnnounceResponse, ClientMessage, Offer, ScrapeRequest,
    ScrapeStats, Sdp, ServerMessage, SessionDescription,
};
use swarmcast_tracker::config::Config;
use swarmcast_tracker::server::{self, Running};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something that should happen promptly.
pub const PROMPT: Duration = Duration::from_secs(3);
/// How long a test waits to be sure that something does not happen.
pub const QUIET: Duration = Duration::from_millis(150);

pub fn id(n: u8) -> Id20 {
    Id20([n; 20])
}

/// Defaults with an OS-chosen port; tests shorten what they exercise.
pub fn config() -> Config {
    let mut config = Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config
}

pub async fn start(config: Config) -> Running {
    server::start(config).await.expect("tracker starts")
}

pub fn sdp(kind: &str, text: &str) -> Sdp {
    Sdp::new(&SessionDescription {
        kind: kind.into(),
        sdp: text.into(),
    })
}

/// An announce of `peer` in swarm `swarm` carrying `offers` offers whose ids
/// are `100 + i`.
pub fn announce(swarm: u8, peer: u8, event: Option<AnnounceEvent>, offers: u8) -> AnnounceRequest {
    AnnounceRequest {
        info_hash: id(swarm),
        peer_id: id(peer),
        event,
        numwant: Some(f64::from(offers)),
        uploaded: Some(0.0),
        downloaded: Some(0.0),
        p2p_downloaded: None,
        left: Some(Some(100.0)),
        offers: (0..offers)
            .map(|i| Offer {
                offer: sdp("offer", &format!("v=0 from {peer} #{i}")),
                offer_id: id(100 + i),
            })
            .collect(),
        answer: None,
    }
}

pub struct Client<S = MaybeTlsStream<TcpStream>> {
    pub ws: WebSocketStream<S>,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let (ws, _) = timeout(
            PROMPT,
            tokio_tungstenite::connect_async(format!("ws://{addr}/announce")),
        )
        .await
        .expect("connect in time")
        .expect("handshake succeeds");
        Self { ws }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::Text(text.into().into()))
            .await
            .expect("send");
    }

    pub async fn send(&mut self, message: &ClientMessage) {
        self.send_text(message.to_json()).await;
    }

    pub async fn send_announce(&mut self, request: AnnounceRequest) {
        self.send(&ClientMessage::Announce(request)).await;
    }

    /// The next text message, skipping control frames.
    pub async fn recv(&mut self) -> ServerMessage {
        loop {
            let frame = timeout(PROMPT, self.ws.next())
                .await
                .expect("message in time");
            match frame.expect("connection open").expect("read ok") {
                Message::Text(text) => {
                    return ServerMessage::from_json(text.as_str()).expect("valid server message")
                }
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Announces and waits for the reply, panicking on anything else.
    pub async fn announce(&mut self, request: AnnounceRequest) -> AnnounceResponse {
        self.send_announce(request).await;
        match self.recv().await {
            ServerMessage::Announce(response) => response,
            other => panic!("expected an announce reply, got {other:?}"),
        }
    }

    pub async fn scrape(&mut self, swarms: &[u8]) -> Vec<ScrapeStats> {
        let info_hashes = swarms.iter().map(|&s| id(s)).collect();
        self.send(&ClientMessage::Scrape(ScrapeRequest { info_hashes }))
            .await;
        match self.recv().await {
            ServerMessage::Scrape(response) => {
                let stats_of = |s: u8| {
                    let (_, stats) = response.files.iter().find(|(h, _)| *h == id(s)).unwrap();
                    *stats
                };
                swarms.iter().map(|&s| stats_of(s)).collect()
            }
            other => panic!("expected a scrape reply, got {other:?}"),
        }
    }

    pub async fn failure(&mut self) -> String {
        match self.recv().await {
            ServerMessage::Error(error) => error.failure_reason,
            other => panic!("expected a failure reason, got {other:?}"),
        }
    }

    /// True if no text message arrives within [`QUIET`].
    pub async fn is_quiet(&mut self) -> bool {
        loop {
            match timeout(QUIET, self.ws.next()).await {
                Err(_) => return true,
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
                Ok(_) => return false,
            }
        }
    }

    /// Reads one frame: false for a text message, true for the close (close
    /// frame, EOF or reset). Panics if neither comes promptly.
    pub async fn is_closed_after_text(&mut self) -> bool {
        loop {
            match timeout(PROMPT, self.ws.next()).await {
                Err(_) => panic!("neither a message nor a close"),
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(Message::Text(_)))) => return false,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// True once the server closes the connection (close frame, EOF or reset).
    pub async fn is_closed(&mut self) -> bool {
        loop {
            match timeout(PROMPT, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => {}
            }
        }
    }
}

/// Scrape counts (complete, incomplete) of one swarm, from a fresh client.
pub async fn counts(addr: SocketAddr, swarm: u8) -> (u32, u32) {
    let stats = Client::connect(addr).await.scrape(&[swarm]).await[0];
    (stats.complete, stats.incomplete)
}

/// A well-behaved client is still served: it connects, announces into a
/// fresh swarm, gets its reply, and an offer relay between two peers works.
pub async fn assert_served(addr: SocketAddr) {
    let mut a = Client::connect(addr).await;
    let mut b = Client::connect(addr).await;
    let first = a
        .announce(announce(250, 250, Some(AnnounceEvent::Started), 0))
        .await;
    assert_eq!(first.info_hash, id(250));
    let second = b
        .announce(announce(250, 251, Some(AnnounceEvent::Started), 1))
        .await;
    assert_eq!((second.complete, second.incomplete), (0, 2));
    match a.recv().await {
        ServerMessage::Offer(offer) => assert_eq!(offer.peer_id, id(251)),
        other => panic!("expected the offer, got {other:?}"),
    }
    b.announce(announce(250, 251, Some(AnnounceEvent::Stopped), 0))
        .await;
    a.announce(announce(250, 250, Some(AnnounceEvent::Stopped), 0))
        .await;
}

/// Reads one HTTP response over a plain connection.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    timeout(PROMPT, tcp.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// The body of `/stats.json`.
pub async fn stats(addr: SocketAddr) -> serde_json::Value {
    let response = http_get(addr, "/stats.json").await;
    let body = response.split("\r\n\r\n").nth(1).expect("body");
    serde_json::from_str(body).expect("JSON body")
}
