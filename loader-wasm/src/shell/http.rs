//! HTTP requests for segments: fetch with an AbortController and an optional
//! Range header, streaming the body back chunk by chunk so the engine sees the
//! first byte and the progress of every download.

use std::{cell::Cell, rc::Rc};

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, Headers, ReadableStreamDefaultReader, RequestInit, Response};

use super::{
    callback::{callback, then_or},
    slots::Slots,
    Browser, Sink,
};

#[wasm_bindgen]
extern "C" {
    // The global fetch, so the shell works in windows and workers alike.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &RequestInit) -> Promise;
}

struct Request {
    abort: Option<AbortController>,
    /// Set when the engine no longer wants this request's events.
    cancelled: Rc<Cell<bool>>,
}

impl Request {
    fn cancel(self) {
        self.cancelled.set(true);
        if let Some(a) = self.abort {
            a.abort();
        }
    }
}

/// Where one request's events go: nowhere once the engine cancelled it.
#[derive(Clone)]
struct Reporter {
    sink: Sink,
    cancelled: Rc<Cell<bool>>,
}

impl Reporter {
    fn report(&self, event: Browser) {
        if !self.cancelled.get() {
            (self.sink)(event)
        }
    }
}

/// Reads the next chunk of a response body; each chunk's callback asks for
/// the one after, until the body ends or the request is cancelled.
fn read_next(id: u32, reader: ReadableStreamDefaultReader, to: &Reporter, failed: &JsValue) {
    let step = reader.read();
    let (to, failed_next) = (to.clone(), failed.clone());
    let on_step = callback(move |step| match Reflect::get(&step, &"done".into()) {
        Ok(done) if done.is_truthy() => to.report(Browser::HttpDone(id)),
        Ok(_) => {
            let chunk = Reflect::get(&step, &"value".into()).unwrap_or_default();
            to.report(Browser::HttpChunk(
                id,
                chunk.unchecked_into::<Uint8Array>().to_vec(),
            ));
            if !to.cancelled.get() {
                read_next(id, reader.clone(), &to, &failed_next);
            }
        }
        Err(_) => to.report(Browser::HttpFailed(id, None)),
    });
    then_or(&step, &on_step, failed);
}

pub(super) struct Http {
    requests: Slots<Request>,
    sink: Sink,
}

impl Http {
    pub fn new(sink: Sink) -> Self {
        Self {
            requests: Slots::default(),
            sink,
        }
    }

    /// GETs `url`, or bytes `start..end` (end exclusive) of it.
    /// Reports `HttpStarted` and `HttpChunk`s, then `HttpDone` or `HttpFailed`.
    pub fn get(&mut self, id: u32, url: &str, range: Option<(u64, u64)>) {
        self.abort(id);
        let init = RequestInit::new();
        let abort = AbortController::new().ok();
        if let Some(a) = &abort {
            init.set_signal(Some(&a.signal()));
        }
        if let Some((start, end)) = range {
            if let Ok(h) = Headers::new() {
                let _ = h.set("Range", &range_header(start, end));
                init.set_headers(&h);
            }
        }
        let cancelled = Rc::new(Cell::new(false));
        self.requests.insert(
            id,
            Request {
                abort,
                cancelled: cancelled.clone(),
            },
        );
        let to = Reporter {
            sink: self.sink.clone(),
            cancelled,
        };
        let failed = {
            let to = to.clone();
            callback(move |_| to.report(Browser::HttpFailed(id, None)))
        };
        let on_response = {
            let failed = failed.clone();
            callback(move |res| {
                let res: Response = res.unchecked_into();
                if !res.ok() {
                    return to.report(Browser::HttpFailed(id, Some(res.status())));
                }
                let total = res
                    .headers()
                    .get("content-length")
                    .ok()
                    .flatten()
                    .and_then(|v| v.parse().ok());
                to.report(Browser::HttpStarted(id, res.status(), total));
                match res.body() {
                    Some(stream) => {
                        read_next(id, stream.get_reader().unchecked_into(), &to, &failed)
                    }
                    None => to.report(Browser::HttpDone(id)),
                }
            })
        };
        then_or(&global_fetch(url, &init), &on_response, &failed);
    }

    /// Stops request `id`; it reports nothing more.
    pub fn abort(&mut self, id: u32) {
        if let Some(r) = self.requests.remove(id) {
            r.cancel();
        }
    }

    /// Forgets a request that has finished on its own.
    pub fn finished(&mut self, id: u32) {
        self.requests.remove(id);
    }

    pub fn abort_all(&mut self) {
        for (_, r) in self.requests.take_all() {
            r.cancel();
        }
    }
}

/// `bytes=a-b` with b inclusive, built without `format!` to keep the
/// formatting machinery out of the wasm.
fn range_header(start: u64, end: u64) -> String {
    fn push(out: &mut String, mut n: u64) {
        let at = out.len();
        loop {
            out.insert(at, char::from(b'0' + (n % 10) as u8));
            n /= 10;
            if n == 0 {
                break;
            }
        }
    }
    let mut out = String::from("bytes=");
    push(&mut out, start);
    out.push('-');
    push(&mut out, end.saturating_sub(1));
    out
}
