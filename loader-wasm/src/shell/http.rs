//! HTTP requests for segments: fetch with an AbortController and an optional
//! Range header, streaming the body back chunk by chunk so the engine sees the
//! first byte and the progress of every download.

use std::{cell::Cell, rc::Rc};

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{AbortController, Headers, ReadableStreamDefaultReader, RequestInit, Response};

use super::{slots::Slots, Browser, Sink};

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
        let response = global_fetch(url, &init);
        let sink = self.sink.clone();
        spawn_local(async move {
            let report = |e| {
                if !cancelled.get() {
                    sink(e)
                }
            };
            // Ok(None): the whole body arrived; Ok(Some(status)): an HTTP error.
            let body = async {
                let res: Response = JsFuture::from(response).await?.unchecked_into();
                if !res.ok() {
                    return Ok(Some(res.status()));
                }
                let total = res
                    .headers()
                    .get("content-length")
                    .ok()
                    .flatten()
                    .and_then(|v| v.parse().ok());
                report(Browser::HttpStarted(id, res.status(), total));
                let Some(stream) = res.body() else {
                    return Ok(None);
                };
                let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
                loop {
                    let step = JsFuture::from(reader.read()).await?;
                    if Reflect::get(&step, &"done".into())?.is_truthy() {
                        return Ok(None);
                    }
                    let chunk: Uint8Array = Reflect::get(&step, &"value".into())?.unchecked_into();
                    report(Browser::HttpChunk(id, chunk.to_vec()));
                    if cancelled.get() {
                        return Ok(None);
                    }
                }
            };
            match body.await {
                Ok(None) => report(Browser::HttpDone(id)),
                Ok(Some(status)) => report(Browser::HttpFailed(id, Some(status))),
                Err::<_, JsValue>(_) => report(Browser::HttpFailed(id, None)),
            }
        });
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
