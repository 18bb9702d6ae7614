//! One client connection: the opening HTTP request, then the WebSocket loop
//! that reads requests, applies them to the swarms and writes replies plus
//! whatever other peers queued for this connection (offers, answers).
//!
//! Policy on bad input: text that is not JSON, binary frames, oversized
//! frames or messages, and silence past the idle timeout close the
//! connection; JSON that is not a valid request gets a failure reason, and
//! a run of them with no valid request in between closes the connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use swarmcast_protocol::ids::{InfoHash, PeerId};
use swarmcast_protocol::tracker::{
    AnnounceEvent, AnnounceRequest, ClientMessage, ErrorResponse, ScrapeAction, ScrapeRequest,
    ScrapeResponse,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout, Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::debug;

use crate::http::{self, Request};
use crate::outbox::{self, Inbox, Outbox};
use crate::relay::{self, RelayHead};
use crate::server::Shared;
use crate::stats::Kind;
use crate::swarm::Sender;

/// Queued messages written per flush, so a busy peer's queue drains in
/// batches without starving its own requests.
const WRITE_BATCH: usize = 32;

/// Invalid requests in a row after which a connection is closed: a client
/// that only sends garbage would otherwise cost a failure reply per frame.
const MAX_INVALID_IN_A_ROW: u32 = 32;

/// Serves one accepted (and, with TLS, decrypted) stream to its end.
///
/// Short-lived steps (HTTP, writes, closing) run as boxed futures, so the
/// long-lived task stays small while the connection idles.
pub async fn serve<S>(shared: Arc<Shared>, mut stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let idle = shared.config.idle_timeout;
    let request = match Box::pin(timeout(idle, http::read_request(&mut stream))).await {
        Ok(Ok(request)) => request,
        Ok(Err(err)) => return debug!(%err, "bad request head"),
        Err(_) => return debug!("no request before the idle timeout"),
    };
    let swarms = || shared.swarms.totals();
    let offload = || {
        shared
            .swarms
            .offload(usize::from(shared.config.stats_top_swarms))
    };
    let written = match request {
        Request::Upgrade { accept, leftover } => {
            if Box::pin(timeout(idle, http::accept_upgrade(&mut stream, &accept)))
                .await
                .is_err()
            {
                return;
            }
            let ws = WebSocketStream::from_partially_read(
                stream,
                leftover,
                Role::Server,
                Some(shared.ws_config),
            )
            .await;
            return Connection::new(shared).run(ws).await;
        }
        Request::Health => {
            Box::pin(http::respond(&mut stream, "200 OK", "text/plain", "ok\n")).await
        }
        Request::Stats => {
            let body = shared.stats.to_json(swarms(), &offload());
            Box::pin(http::respond(
                &mut stream,
                "200 OK",
                "application/json",
                &body,
            ))
            .await
        }
        Request::Metrics => {
            let body = shared.stats.to_prometheus(swarms(), &offload());
            Box::pin(http::respond(
                &mut stream,
                "200 OK",
                "text/plain; version=0.0.4",
                &body,
            ))
            .await
        }
        Request::NotFound => {
            Box::pin(http::respond(
                &mut stream,
                "404 Not Found",
                "text/plain",
                "not found\n",
            ))
            .await
        }
    };
    if let Err(err) = written {
        debug!(%err, "http response not written");
    }
}

/// What to do after handling one request.
enum Next {
    Continue,
    Reply(String),
    Close(CloseCode, &'static str),
}

struct Connection {
    shared: Arc<Shared>,
    id: u64,
    outbox: Outbox,
    inbox: Inbox,
    /// The peer id this connection announced in each swarm, to leave them on close.
    memberships: HashMap<InfoHash, PeerId>,
    /// Invalid requests since the last valid one.
    invalid_in_a_row: u32,
}

impl Connection {
    fn new(shared: Arc<Shared>) -> Self {
        let (outbox, inbox) = outbox::channel(shared.config.send_queue);
        Self {
            id: shared.next_connection_id(),
            shared,
            outbox,
            inbox,
            memberships: HashMap::new(),
            invalid_in_a_row: 0,
        }
    }

    async fn run<S: AsyncRead + AsyncWrite + Unpin>(mut self, mut ws: WebSocketStream<S>) {
        let idle = self.shared.config.idle_timeout;
        let mut last_heard = Instant::now();
        let mut tick = tokio::time::interval_at(last_heard + idle / 2, idle / 2);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let shutdown = self.shared.shutdown.clone();
        let close = loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => Next::Close(CloseCode::Away, "shutting down"),
                first = self.inbox.recv() => match Box::pin(self.write_queued(&mut ws, first)).await {
                    Ok(()) => Next::Continue,
                    Err(()) => break None,
                },
                frame = ws.next() => match frame {
                    Some(Ok(message)) => {
                        last_heard = Instant::now();
                        self.on_message(message)
                    }
                    Some(Err(err)) => {
                        debug!(%err, conn = self.id, "closing on read error");
                        break None;
                    }
                    None => break None,
                },
                _ = tick.tick() => {
                    let silent = last_heard.elapsed();
                    if silent >= idle {
                        Next::Close(CloseCode::Policy, "idle timeout")
                    } else if silent >= idle / 2 {
                        Box::pin(ws_write(&mut ws, Message::Ping(Default::default()), idle)).await
                    } else {
                        Next::Continue
                    }
                }
            };
            match next {
                Next::Continue => {}
                Next::Reply(text) => {
                    if let Next::Close(..) =
                        Box::pin(ws_write(&mut ws, Message::Text(text.into()), idle)).await
                    {
                        break None;
                    }
                }
                Next::Close(code, reason) => break Some((code, reason)),
            }
        };
        self.leave_all();
        if let Some((code, reason)) = close {
            debug!(conn = self.id, reason, "closing");
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            let _ = Box::pin(timeout(Duration::from_secs(1), ws.close(Some(frame)))).await;
        }
    }

    /// Writes a queued message plus any others already waiting, then flushes.
    async fn write_queued<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        ws: &mut WebSocketStream<S>,
        first: Utf8Bytes,
    ) -> Result<(), ()> {
        let inbox = &mut self.inbox;
        let write = async {
            ws.feed(Message::Text(first)).await?;
            for _ in 1..WRITE_BATCH {
                let Some(more) = inbox.try_recv() else { break };
                ws.feed(Message::Text(more)).await?;
            }
            ws.flush().await
        };
        // A client that stops reading is dropped rather than waited on forever.
        match timeout(self.shared.config.idle_timeout, write).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    fn on_message(&mut self, message: Message) -> Next {
        match message {
            Message::Text(text) => self.on_text(text.as_str()),
            Message::Binary(_) => {
                Next::Close(CloseCode::Unsupported, "binary frames are not supported")
            }
            Message::Close(_) => Next::Close(CloseCode::Normal, "bye"),
            // tungstenite answers pings itself; any frame counts as activity.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Next::Continue,
        }
    }

    fn on_text(&mut self, text: &str) -> Next {
        let request = ClientMessage::from_json(text);
        self.invalid_in_a_row = match request {
            Ok(_) => 0,
            Err(_) => self.invalid_in_a_row + 1,
        };
        match request {
            Ok(ClientMessage::Announce(request)) => self.announce(request),
            Ok(ClientMessage::Scrape(request)) => self.scrape(request),
            Err(err) if err.is_syntax() => Next::Close(CloseCode::Invalid, "not JSON"),
            Err(_) if self.invalid_in_a_row > MAX_INVALID_IN_A_ROW => {
                Next::Close(CloseCode::Policy, "too many invalid requests")
            }
            Err(err) => self.failure(err.to_string(), None, None),
        }
    }

    fn failure(&self, reason: String, action: Option<&str>, info_hash: Option<InfoHash>) -> Next {
        self.shared.stats.count(Kind::Error, 1);
        let response = ErrorResponse {
            failure_reason: reason,
            action: action.map(str::to_string),
            info_hash,
        };
        Next::Reply(serde_json::to_string(&response).expect("serialisable"))
    }

    fn announce(&mut self, mut request: AnnounceRequest) -> Next {
        let config = &self.shared.config;
        let stats = &self.shared.stats;
        stats.count(Kind::Announce, 1);
        let info_hash = request.info_hash;
        let stopped = request.event == Some(AnnounceEvent::Stopped);

        if stopped {
            self.memberships.remove(&info_hash);
        } else {
            let full = self.memberships.len() >= config.max_swarms_per_connection;
            match self.memberships.get(&info_hash) {
                Some(old) if *old != request.peer_id => {
                    // One peer per swarm and connection: a new id replaces the old.
                    self.shared.swarms.remove(&info_hash, old, Some(self.id));
                }
                Some(_) => {}
                None if full => {
                    let reason = "too many swarms on one connection".to_string();
                    return self.failure(reason, Some("announce"), Some(info_hash));
                }
                None => {}
            }
            self.memberships.insert(info_hash, request.peer_id);
        }

        let numwant = request.numwant.map_or(usize::MAX, |n| n.max(0.0) as usize);
        let max_relayed = config.max_offers.min(numwant.min(config.max_numwant));
        // Escapes the ids shared by every relayed message once per announce.
        let head = RelayHead::new(&info_hash, &request.peer_id);
        let offers = if stopped {
            Vec::new()
        } else {
            head.offers(&request.offers[..max_relayed.min(request.offers.len())])
        };
        let answer = request.answer.take();
        let answer_only = answer.is_some();
        let answer = answer.map(|a| (a.to_peer_id, head.answer(&a.offer_id, &a.answer)));

        let from = Sender {
            conn: self.id,
            outbox: &self.outbox,
        };
        let result = self.shared.swarms.announce(&request, from, offers, answer);
        stats.count(Kind::Offer, result.offers_relayed);
        stats.count(Kind::Dropped, result.dropped);
        stats.report(result.reported);
        match result.answer_delivered {
            Some(true) => stats.count(Kind::Answer, 1),
            Some(false) => {
                let reason = "answer to a peer not in this swarm".to_string();
                return self.failure(reason, Some("announce"), None);
            }
            None => {}
        }
        // Like bittorrent-tracker, an answer gets no announce reply.
        if answer_only {
            return Next::Continue;
        }
        let interval = u32::try_from(config.announce_interval.as_secs()).unwrap_or(u32::MAX);
        Next::Reply(relay::announce_reply(
            &info_hash,
            interval,
            result.complete,
            result.incomplete,
        ))
    }

    fn scrape(&self, request: ScrapeRequest) -> Next {
        self.shared.stats.count(Kind::Scrape, 1);
        let mut files = if request.info_hashes.is_empty() {
            if !self.shared.config.allow_full_scrape {
                return self.failure("full scrape is disabled".into(), Some("scrape"), None);
            }
            self.shared.swarms.scrape_all()
        } else {
            self.shared.swarms.scrape(&request.info_hashes)
        };
        // One entry per swarm, in a stable order, however the request listed them.
        files.sort_unstable_by_key(|(hash, _)| *hash);
        files.dedup_by_key(|(hash, _)| *hash);
        let response = ScrapeResponse {
            action: ScrapeAction::Scrape,
            files,
        };
        Next::Reply(serde_json::to_string(&response).expect("serialisable"))
    }

    /// Takes this connection's peers out of their swarms (unless a newer
    /// connection has taken over their peer id).
    fn leave_all(&mut self) {
        for (info_hash, peer_id) in self.memberships.drain() {
            self.shared
                .swarms
                .remove(&info_hash, &peer_id, Some(self.id));
        }
    }
}

/// Sends one frame, closing the connection if the client does not take it in time.
async fn ws_write<S: AsyncRead + AsyncWrite + Unpin>(
    ws: &mut WebSocketStream<S>,
    message: Message,
    limit: Duration,
) -> Next {
    match timeout(limit, ws.send(message)).await {
        Ok(Ok(())) => Next::Continue,
        _ => Next::Close(CloseCode::Policy, "write failed"),
    }
}
