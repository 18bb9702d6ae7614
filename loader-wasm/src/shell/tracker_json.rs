//! Tracker messages to and from JSON text with the browser's own `JSON`, so
//! the wasm carries no JSON parser or number formatting. Field names and
//! shapes are the WebTorrent ones defined in `swarmcast_protocol::tracker`.

use js_sys::{Array, Object, Reflect, JSON};
use swarmcast_protocol::{
    ids::Id20,
    tracker::{
        AnnounceEvent, AnnounceResponse, ClientMessage, ErrorResponse, RelayedAnswer, RelayedOffer,
        ServerMessage,
    },
};
use wasm_bindgen::JsValue;

use crate::engine::{SessionDescription, TrackerReply, TrackerRequest};

/// The text frame for a request.
pub fn encode(msg: &TrackerRequest) -> String {
    let o = match msg {
        ClientMessage::Scrape(s) => object(&[
            ("action", "scrape".into()),
            (
                "info_hash",
                s.info_hashes.iter().map(id).collect::<Array>().into(),
            ),
        ]),
        ClientMessage::Announce(a) => {
            let o = object(&[
                ("action", "announce".into()),
                ("info_hash", id(&a.info_hash)),
                ("peer_id", id(&a.peer_id)),
            ]);
            let event = a.event.map(|e| match e {
                AnnounceEvent::Started => "started",
                AnnounceEvent::Completed => "completed",
                AnnounceEvent::Stopped => "stopped",
                AnnounceEvent::Update => "update",
            });
            set_some(&o, "event", event.map(JsValue::from));
            set_some(&o, "numwant", a.numwant.map(JsValue::from));
            set_some(&o, "uploaded", a.uploaded.map(JsValue::from));
            set_some(&o, "downloaded", a.downloaded.map(JsValue::from));
            set_some(&o, "p2p_downloaded", a.p2p_downloaded.map(JsValue::from));
            // `Some(None)` is JS Infinity, which JSON spells `null`.
            set_some(
                &o,
                "left",
                a.left.map(|l| l.map_or(JsValue::NULL, JsValue::from)),
            );
            if !a.offers.is_empty() {
                let offers: Array = a
                    .offers
                    .iter()
                    .map(|x| {
                        object(&[
                            ("offer", description(&x.offer)),
                            ("offer_id", id(&x.offer_id)),
                        ])
                    })
                    .collect();
                set_some(&o, "offers", Some(offers.into()));
            }
            if let Some(ans) = &a.answer {
                set_some(&o, "answer", Some(description(&ans.answer)));
                set_some(&o, "to_peer_id", Some(id(&ans.to_peer_id)));
                set_some(&o, "offer_id", Some(id(&ans.offer_id)));
            }
            o
        }
    };
    JSON::stringify(&o)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

/// Why a tracker's message was refused.
pub const BAD: &str = "undecodable tracker message";

/// The tracker's `warning message`, which may come with any reply.
pub fn warning(v: &JsValue) -> Option<JsValue> {
    Reflect::get(v, &"warning message".into())
        .ok()
        .filter(JsValue::is_string)
}

/// A reply (the parsed JSON of a text frame) the loader acts on; `Ok(None)`
/// for well-formed ones it has no use for (scrape replies, announce replies
/// without an interval).
pub fn decode(v: &JsValue) -> Result<Option<TrackerReply>, &'static str> {
    if !v.is_object() {
        return Err(BAD);
    }
    let field = |k: &str| {
        Reflect::get(v, &k.into())
            .ok()
            .filter(|x| !x.is_undefined())
    };
    let text_of = |k: &str| field(k).and_then(|x| x.as_string());
    let id_of = |k: &str| text_of(k).and_then(|x| Id20::from_latin1(&x).ok());
    if let Some(reason) = field("failure reason") {
        return Ok(Some(ServerMessage::Error(ErrorResponse {
            failure_reason: reason.as_string().ok_or(BAD)?,
            action: text_of("action"),
            info_hash: id_of("info_hash"),
        })));
    }
    if text_of("action").as_deref() == Some("scrape") {
        return Ok(None);
    }
    let info_hash = id_of("info_hash").ok_or(BAD)?;
    let sdp_of = |k: &str| field(k).map(|x| session(&x).ok_or(BAD)).transpose();
    if let Some(offer) = sdp_of("offer")? {
        return Ok(Some(ServerMessage::Offer(RelayedOffer {
            action: Default::default(),
            info_hash,
            peer_id: id_of("peer_id").ok_or(BAD)?,
            offer_id: id_of("offer_id").ok_or(BAD)?,
            offer,
        })));
    }
    if let Some(answer) = sdp_of("answer")? {
        return Ok(Some(ServerMessage::Answer(RelayedAnswer {
            action: Default::default(),
            info_hash,
            peer_id: id_of("peer_id").ok_or(BAD)?,
            offer_id: id_of("offer_id").ok_or(BAD)?,
            answer,
        })));
    }
    let interval = field("interval").and_then(|x| x.as_f64());
    Ok(interval.map(|interval| {
        ServerMessage::Announce(AnnounceResponse {
            action: Default::default(),
            info_hash,
            interval: interval as u32,
            // The engine does not use the swarm's counts: not read, to save wasm.
            complete: 0,
            incomplete: 0,
        })
    }))
}

/// An id as WebTorrent strings carry it: one char per byte.
fn id(id: &Id20) -> JsValue {
    id.to_latin1().into()
}

fn description(d: &SessionDescription) -> JsValue {
    object(&[
        ("type", d.kind.as_str().into()),
        ("sdp", d.sdp.as_str().into()),
    ])
}

fn session(v: &JsValue) -> Option<SessionDescription> {
    let text = |k: &str| Reflect::get(v, &k.into()).ok()?.as_string();
    Some(SessionDescription {
        kind: text("type")?,
        sdp: text("sdp")?,
    })
}

fn set_some(o: &JsValue, key: &str, value: Option<JsValue>) {
    if let Some(v) = value {
        let _ = Reflect::set(o, &key.into(), &v);
    }
}

/// A JS object from key/value pairs.
fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}
