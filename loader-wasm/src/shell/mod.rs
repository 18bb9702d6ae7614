//! Browser shell: executes the engine's actions with WebSocket, WebRTC and
//! timers, and feeds every browser event back to it; HTTP goes through the
//! JS glue, which uses the page's hls.js loader. It makes no decisions of its
//! own. `node` is the wasm-bindgen surface that the JS glue calls.

mod callback;
mod config;
mod driver;
mod events;
mod js;
mod node;
mod rtc;
mod slots;
mod timer;
mod tracker;
mod tracker_json;

use std::rc::Rc;

use wasm_bindgen::JsValue;
use web_sys::RtcDataChannel;

use crate::engine::TrackerReply;

/// What the browser reports back to the driver. Ids are the engine's.
pub(crate) enum Browser {
    Timer,
    TrackerOpen(u32),
    TrackerMessage(u32, TrackerReply),
    TrackerClosed(u32),
    OfferSdp(u32, String),
    AnswerSdp(u32, String),
    /// The answering side's data channel arrived.
    Channel(u32, RtcDataChannel),
    PeerOpen(u32),
    /// The hash of an open connection's remote address.
    PeerAddress(u32, u32),
    PeerMessage(u32, Vec<u8>),
    PeerDrained(u32),
    PeerClosed(u32),
    /// Tracker socket `id` failed (the JS error, or why its message was
    /// refused), or, when the flag is set, sent a `warning message`.
    Tracker(u32, JsValue, bool),
}

/// Where browser callbacks deliver their events. It only queues: callbacks can
/// fire while the driver is busy, and the driver drains the queue in order.
pub(crate) type Sink = Rc<dyn Fn(Browser)>;
