//! WebSocket connections to trackers. The engine decides when to open, what to
//! send and when to reconnect; this module only owns the sockets, encodes and
//! decodes the JSON frames, and turns socket events into engine inputs.

use js_sys::JSON;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, WebSocket};

use super::{callback::callback, slots::Slots, tracker_json, Browser, Sink};
use crate::engine::TrackerRequest;

struct Socket {
    ws: WebSocket,
}

impl Socket {
    fn shut(self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        self.ws.set_onerror(None);
        let _ = self.ws.close();
    }
}

pub(super) struct Trackers {
    sockets: Slots<Socket>,
    sink: Sink,
}

impl Trackers {
    pub fn new(sink: Sink) -> Self {
        Self {
            sockets: Slots::default(),
            sink,
        }
    }

    /// Opens socket `id` to `url`; a URL the browser refuses reports a close at once.
    pub fn open(&mut self, id: u32, url: &str) {
        self.close(id);
        let ws = match WebSocket::new(url) {
            Ok(ws) => ws,
            Err(e) => {
                (self.sink)(Browser::Tracker(id, e, false));
                (self.sink)(Browser::TrackerClosed(id));
                return;
            }
        };
        let sink = self.sink.clone();
        let on_open = callback(move |_| sink(Browser::TrackerOpen(id)));
        let sink = self.sink.clone();
        let on_message = callback(move |e| {
            let Some(text) = e.unchecked_into::<MessageEvent>().data().as_string() else {
                return;
            };
            let Ok(v) = JSON::parse(&text) else {
                return sink(Browser::Tracker(id, tracker_json::BAD.into(), false));
            };
            if let Some(warning) = tracker_json::warning(&v) {
                sink(Browser::Tracker(id, warning, true));
            }
            match tracker_json::decode(&v) {
                Ok(Some(reply)) => sink(Browser::TrackerMessage(id, reply)),
                Ok(None) => {}
                Err(why) => sink(Browser::Tracker(id, why.into(), false)),
            }
        });
        let sink = self.sink.clone();
        // An error is always followed by a close event, so close alone is
        // reported. Sockets we close lose their handlers first: this close
        // is the server's or the network's doing (or the tracker is unreachable).
        let on_close = callback(move |_| {
            sink(Browser::Tracker(id, "connection closed".into(), false));
            sink(Browser::TrackerClosed(id));
        });
        ws.set_onopen(Some(on_open.unchecked_ref()));
        ws.set_onmessage(Some(on_message.unchecked_ref()));
        ws.set_onclose(Some(on_close.unchecked_ref()));
        self.sockets.insert(id, Socket { ws });
    }

    pub fn send(&mut self, id: u32, message: &TrackerRequest) {
        if let Some(s) = self.sockets.get(id) {
            if s.ws.send_with_str(&tracker_json::encode(message)).is_err() {
                self.close(id);
                (self.sink)(Browser::TrackerClosed(id));
            }
        }
    }

    pub fn close(&mut self, id: u32) {
        if let Some(s) = self.sockets.remove(id) {
            s.shut();
        }
    }

    pub fn close_all(&mut self) {
        for (_, s) in self.sockets.take_all() {
            s.shut();
        }
    }
}
