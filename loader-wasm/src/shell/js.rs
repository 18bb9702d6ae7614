//! Values crossing to and from the JS glue: peer ids, the stats snapshot,
//! string lists.
//! Field names here are the documented ones in `js/swarmcast.d.ts`.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsValue;

use crate::engine::{PeerId, StatsSnapshot};

/// A peer id for the glue: its 20 bytes, which the glue shows as 40 hex
/// digits (`peerHex` in `js/swarmcast.js`).
pub fn peer_id(id: &PeerId) -> JsValue {
    Uint8Array::from(&id[..]).into()
}

/// `Swarmcast.stats()` as a flat list the glue turns into the documented
/// object: httpBytes, p2pBytes, rejectedBytes, uploadBytes, segments.http,
/// segments.p2p, lateDeliveries, p2pFallbacks, then id, downloadedBytes and
/// uploadedBytes of each peer.
pub fn stats(s: &StatsSnapshot) -> Array {
    let list = Array::new();
    let push_num = |n: u64| list.push(&(n as f64).into());
    for n in [
        s.http_down,
        s.p2p_down,
        s.p2p_rejected,
        s.up,
        s.segments_http,
        s.segments_p2p,
        s.late_deliveries,
        s.p2p_fallbacks,
    ] {
        push_num(n);
    }
    for p in &s.peers {
        list.push(&peer_id(&p.peer_id));
        push_num(p.down);
        push_num(p.up);
    }
    list
}

/// The strings of a JS array, one per element ("" for a non-string), so
/// positions stay aligned. Cheaper in the wasm than joining them in JS and
/// splitting them here.
pub fn strings(list: &Array) -> impl Iterator<Item = String> + '_ {
    list.iter().map(|v| v.as_string().unwrap_or_default())
}
