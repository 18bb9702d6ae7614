//! Engine values as the plain JS objects of the public API (event details,
//! the stats snapshot). Field names here are the documented ones in
//! `js/swarmcast.d.ts`.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::engine::{PeerId, StatsSnapshot};

/// A JS object from key/value pairs.
pub fn object(fields: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in fields {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o.into()
}

/// A peer id as the page sees it: 40 lowercase hex digits.
pub fn peer_id(id: &PeerId) -> JsValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let s: String = id
        .iter()
        .flat_map(|b| {
            [
                HEX[(b >> 4) as usize] as char,
                HEX[(b & 15) as usize] as char,
            ]
        })
        .collect();
    s.into()
}

fn num(n: u64) -> JsValue {
    (n as f64).into()
}

/// `Swarmcast.stats()`.
pub fn stats(s: &StatsSnapshot) -> JsValue {
    let peers: Array = s
        .peers
        .iter()
        .map(|p| {
            object(&[
                ("id", peer_id(&p.peer_id)),
                ("downloadedBytes", num(p.down)),
                ("uploadedBytes", num(p.up)),
            ])
        })
        .collect();
    object(&[
        ("httpBytes", num(s.http_down)),
        ("p2pBytes", num(s.p2p_down)),
        ("rejectedBytes", num(s.p2p_rejected)),
        ("uploadBytes", num(s.up)),
        ("peers", peers.into()),
        (
            "segments",
            object(&[("http", num(s.segments_http)), ("p2p", num(s.segments_p2p))]),
        ),
        ("lateDeliveries", num(s.late_deliveries)),
        ("p2pFallbacks", num(s.p2p_fallbacks)),
    ])
}
