//! Tracker WebSockets over tokio-tungstenite. The engine decides when to
//! open, what to send and when to reconnect; a socket here only carries JSON
//! frames (the protocol crate's codec) both ways and reports open and close.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use swarmcast_loader::engine::{TrackerReply, TrackerRequest};
use swarmcast_protocol::tracker::{
    AnnounceRequest, AnswerRequest, ClientMessage, Offer, RelayedAnswer, RelayedOffer, Sdp,
    ServerMessage,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::io::{finish, IoEvent, IoSender};

/// A tracker that does not complete the WebSocket handshake in this time is
/// reported closed (the engine then retries with backoff).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

struct Socket {
    outbox: mpsc::UnboundedSender<String>,
    task: JoinHandle<()>,
}

/// The open tracker sockets of one node, by the engine's tracker id.
#[derive(Default)]
pub struct Trackers {
    sockets: HashMap<u32, Socket>,
    /// Sockets still sending what was queued before their close.
    closing: Vec<JoinHandle<()>>,
}

impl Trackers {
    /// Opens socket `id`; its events come back through `events`.
    pub fn open(&mut self, id: u32, url: String, events: IoSender) {
        self.close(id);
        let (outbox, mut queued) = mpsc::unbounded_channel::<String>();
        let task = tokio::spawn(async move {
            let connect = tokio_tungstenite::connect_async(url.as_str());
            let ws = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => {
                    tracing::debug!(%url, error = %e, "tracker connect failed");
                    events.send(IoEvent::TrackerClosed(id));
                    return;
                }
                Err(e) => {
                    tracing::debug!(%url, error = %e, "tracker connect failed");
                    events.send(IoEvent::TrackerClosed(id));
                    return;
                }
            };
            events.send(IoEvent::TrackerOpen(id));
            let (mut tx, mut rx) = ws.split();
            loop {
                tokio::select! {
                    text = queued.recv() => {
                        // Closed by the node: what it queued is sent, then a close frame.
                        let Some(text) = text else {
                            let _ = tx.send(Message::Close(None)).await;
                            break;
                        };
                        if tx.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                    frame = rx.next() => match frame {
                        Some(Ok(Message::Text(text))) => match decode(&text) {
                            Ok(Some(reply)) => events.send(IoEvent::TrackerMessage(id, reply)),
                            Ok(None) => {}
                            Err(e) => tracing::warn!(%url, error = %e, "undecodable tracker message ignored"),
                        },
                        Some(Ok(_)) => {}
                        Some(Err(_)) | None => break,
                    },
                }
            }
            events.send(IoEvent::TrackerClosed(id));
        });
        self.sockets.insert(id, Socket { outbox, task });
    }

    pub fn send(&mut self, id: u32, message: &TrackerRequest) {
        if let Some(s) = self.sockets.get(&id) {
            let _ = s.outbox.send(encode(message));
        }
    }

    /// Closes socket `id` once the messages queued on it are sent (as a
    /// browser's `WebSocket.close()` does); its later events are stale.
    pub fn close(&mut self, id: u32) {
        if let Some(s) = self.sockets.remove(&id) {
            self.closing.retain(|t| !t.is_finished());
            self.closing.push(s.task);
        }
    }

    /// Closes every socket and waits (briefly) for their last messages to go out.
    pub async fn close_all(&mut self) {
        let ids: Vec<u32> = self.sockets.keys().copied().collect();
        for id in ids {
            self.close(id);
        }
        finish(std::mem::take(&mut self.closing)).await;
    }
}

/// The engine's request as a text frame (SDP re-encoded as raw JSON).
fn encode(message: &TrackerRequest) -> String {
    let raw = match message {
        ClientMessage::Scrape(s) => ClientMessage::Scrape(s.clone()),
        ClientMessage::Announce(a) => ClientMessage::Announce(AnnounceRequest {
            info_hash: a.info_hash,
            peer_id: a.peer_id,
            event: a.event,
            numwant: a.numwant,
            uploaded: a.uploaded,
            downloaded: a.downloaded,
            p2p_downloaded: a.p2p_downloaded,
            left: a.left,
            offers: a
                .offers
                .iter()
                .map(|o| Offer {
                    offer: Sdp::new(&o.offer),
                    offer_id: o.offer_id,
                })
                .collect(),
            answer: a.answer.as_ref().map(|x| AnswerRequest {
                answer: Sdp::new(&x.answer),
                to_peer_id: x.to_peer_id,
                offer_id: x.offer_id,
            }),
        }),
    };
    raw.to_json()
}

/// A reply the engine acts on; `Ok(None)` for ones it has no use for
/// (scrape replies).
fn decode(text: &str) -> Result<Option<TrackerReply>, serde_json::Error> {
    Ok(match ServerMessage::from_json(text)? {
        ServerMessage::Announce(a) => Some(ServerMessage::Announce(a)),
        ServerMessage::Error(e) => Some(ServerMessage::Error(e)),
        ServerMessage::Scrape(_) => None,
        ServerMessage::Offer(o) => Some(ServerMessage::Offer(RelayedOffer {
            action: o.action,
            info_hash: o.info_hash,
            peer_id: o.peer_id,
            offer_id: o.offer_id,
            offer: o.offer.decode()?,
        })),
        ServerMessage::Answer(a) => Some(ServerMessage::Answer(RelayedAnswer {
            action: a.action,
            info_hash: a.info_hash,
            peer_id: a.peer_id,
            offer_id: a.offer_id,
            answer: a.answer.decode()?,
        })),
    })
}

#[cfg(test)]
mod tests {
    use swarmcast_loader::engine::SessionDescription;
    use swarmcast_protocol::ids::Id20;

    use super::*;

    #[test]
    fn announces_with_offers_round_trip_through_the_tracker_codec() {
        let sdp = SessionDescription {
            kind: "offer".into(),
            sdp: "v=0\r\n".into(),
        };
        let request = ClientMessage::Announce(AnnounceRequest {
            info_hash: Id20([1; 20]),
            peer_id: Id20([2; 20]),
            numwant: Some(5.0),
            offers: vec![Offer {
                offer: sdp.clone(),
                offer_id: Id20([3; 20]),
            }],
            ..Default::default()
        });
        let parsed = ClientMessage::from_json(&encode(&request)).unwrap();
        let ClientMessage::Announce(a) = parsed else {
            panic!("not an announce");
        };
        assert_eq!(a.offers[0].offer.decode().unwrap(), sdp);
    }

    #[test]
    fn relayed_offers_decode_and_garbage_is_an_error() {
        let text = r#"{"action":"announce","info_hash":"aaaaaaaaaaaaaaaaaaaa","peer_id":"bbbbbbbbbbbbbbbbbbbb","offer_id":"cccccccccccccccccccc","offer":{"type":"offer","sdp":"v=0"}}"#;
        let Some(ServerMessage::Offer(o)) = decode(text).unwrap() else {
            panic!("not an offer");
        };
        assert_eq!(o.offer.sdp, "v=0");
        assert!(decode("{").is_err());
    }
}
