//! Time for the engine: a monotonic clock in milliseconds and the single
//! setTimeout that wakes the engine at its next deadline.

use wasm_bindgen::prelude::*;

use super::{callback::callback, Browser, Sink};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &JsValue, ms: f64) -> f64;
    /// setTimeout passing `arg` to `f`.
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout_with(f: &JsValue, ms: f64, arg: &JsValue);
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: f64);
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// Milliseconds since the page started; never goes backwards.
pub fn now_ms() -> u64 {
    performance_now() as u64
}

/// One pending wake-up at a time: arming again replaces the previous one.
pub(super) struct Timer {
    /// The JS function that wakes the engine (see `callback`).
    fire: JsValue,
    handle: Option<f64>,
    deadline: Option<u64>,
}

impl Timer {
    pub fn new(sink: Sink) -> Self {
        Self {
            fire: callback(move |_| sink(Browser::Timer)),
            handle: None,
            deadline: None,
        }
    }

    /// Wakes the engine at `deadline` (ms, same clock as `now_ms`), or never.
    pub fn arm(&mut self, deadline: Option<u64>, now: u64) {
        if deadline == self.deadline && self.handle.is_some() {
            return;
        }
        self.disarm();
        if let Some(at) = deadline {
            let delay = at.saturating_sub(now) as f64;
            self.handle = Some(set_timeout(&self.fire, delay));
            self.deadline = deadline;
        }
    }

    /// Called when the timeout has fired, so the next `arm` sets a new one.
    pub fn fired(&mut self) {
        self.handle = None;
        self.deadline = None;
    }

    pub fn disarm(&mut self) {
        if let Some(h) = self.handle.take() {
            clear_timeout(h);
        }
        self.deadline = None;
    }
}
