//! The one channel from the shell to the JS glue's event handler: a kind and
//! a few flat values, from which the glue (`js/swarmcast.js`, `#event`)
//! builds the documented event details. Building objects in JS rather than
//! through `Reflect` calls keeps that code out of the wasm.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The glue's handler `(kind, requestId, a, b, c, value, text)`.
    pub type EventSink;

    #[wasm_bindgen(method, catch, js_name = call)]
    #[allow(clippy::too_many_arguments)]
    fn call(
        this: &EventSink,
        this_arg: &JsValue,
        kind: u32,
        req: u32,
        a: f64,
        b: f64,
        c: f64,
        value: &JsValue,
        text: &JsValue,
    ) -> Result<JsValue, JsValue>;
}

/// Event kinds, numbered as the glue's handler expects. What `a, b, c`,
/// `value` and `text` carry for each is said on its variant.
#[derive(Clone, Copy)]
pub enum Kind {
    /// Segment for request `req`: a, b, c = transfer start, first byte and
    /// end (ms); value = the bytes; text = the source peer's id, or null.
    Data = 0,
    /// Load request `req` with hls.js's own loader and report its bytes
    /// (`Node::loaded`).
    ToHttp = 1,
    /// text = the peer's id.
    PeerConnect = 2,
    /// text = the peer's id.
    PeerClose = 3,
    /// a = bytes; b = 0 HTTP, 1 from a peer, 2 uploaded; text = peer id or null.
    Bytes = 4,
    /// A tracker failed (b = 0) or warned (b = 1): a = its index; value =
    /// the JS error, or the message (its `failure reason` or `warning
    /// message`, why its message was refused, or "connection closed").
    Tracker = 5,
    /// Prefetch `req` (a fetch id) with the page's hls.js loader: text = URL;
    /// a, b = rangeStart, rangeEnd (0, 0: whole). Report `Node::http_loaded`
    /// or `Node::http_failed`.
    HttpFetch = 6,
    /// Abort the prefetch `req`; nothing more is expected about it.
    HttpAbort = 7,
}

impl EventSink {
    pub fn send(&self, kind: Kind, req: u32, [a, b, c]: [f64; 3], value: &JsValue, text: &JsValue) {
        // A throwing page handler must not unwind into the engine loop.
        let _ = self.call(&JsValue::NULL, kind as u32, req, a, b, c, value, text);
    }
}
