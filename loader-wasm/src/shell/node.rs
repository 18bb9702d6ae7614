//! The wasm-bindgen surface called by the JS glue (`js/swarmcast.js`): one
//! `Node` per hls.js instance. Each call becomes an engine input; answers and
//! events come back through the glue's handler (see `events`).
//! Strings, bytes and number lists arrive as JS values (`JsString`,
//! `Uint8Array`, `Array`) and are copied here: `String`, `Vec<u8>` and
//! `Vec<f64>` arguments would make wasm-bindgen's glue copy them at each call
//! site (0.47 KB gzip in all).

use std::rc::Rc;

use js_sys::{Array, JsString, Math, Uint8Array};
use wasm_bindgen::prelude::*;

use super::{
    config::engine_config,
    driver::{Driver, Step},
    events::EventSink,
    js::{self, strings},
    timer::now_ms,
};
use crate::engine::{
    ByteRange, Engine, FetchId, Input, Playlist, RequestId, SegmentInfo, StreamKind,
};

#[wasm_bindgen]
pub struct Node {
    driver: Rc<Driver>,
}

/// hls.js's convention: `rangeEnd == 0` means the whole resource.
fn byte_range(start: f64, end: f64) -> Option<ByteRange> {
    (end > start).then_some(ByteRange {
        start: start as u64,
        end: end as u64,
    })
}

#[wasm_bindgen]
impl Node {
    /// Starts an engine with the page's `attach` options, as the glue
    /// flattened them (see `config::engine_config`); `rtc_config` is the
    /// RTCConfiguration for every peer connection.
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: Array,
        trackers: Array,
        swarm_id: Option<JsString>,
        rtc_config: JsValue,
        events: EventSink,
    ) -> Node {
        let config = engine_config(&settings, &trackers, swarm_id.map(String::from));
        let low_water = config.channel_low_water as u32;
        // 53 random bits; the engine derives its peer id and choices from them.
        let seed = (Math::random() * 9_007_199_254_740_992.0) as u64;
        let engine = Engine::new(config, seed, now_ms());
        let driver = Driver::new(engine, rtc_config, low_water, events);
        // Let the engine act on its configuration (e.g. connect to trackers).
        driver.feed(Step::Engine(Input::Tick));
        Node { driver }
    }

    /// A media playlist was loaded or refreshed. `stream` names it (see
    /// `Playlist::stream`); `kind` is 0 main, 1 audio, 2 subtitles. `urls`
    /// holds the segment URLs; `nums` five numbers per segment: sn, start
    /// (ms), duration (ms), rangeStart, rangeEnd.
    pub fn playlist(
        &self,
        manifest_url: JsString,
        stream: JsString,
        kind: u8,
        live: bool,
        urls: Array,
        nums: Array,
    ) {
        let mut segments = Vec::new();
        for (url, i) in strings(&urls).zip(0u32..) {
            // The segment's k-th number, read in place (`get_unchecked` is
            // plain JS indexing, as in `Array::iter`: 0 past the end).
            let n = |k| nums.get_unchecked(5 * i + k).as_f64().unwrap_or(0.0);
            segments.push(SegmentInfo {
                sn: n(0) as u64,
                url,
                range: byte_range(n(3), n(4)),
                start_ms: n(1) as u64,
                duration_ms: n(2) as u64,
            });
        }
        let kind = match kind {
            1 => StreamKind::Audio,
            2 => StreamKind::Subtitle,
            _ => StreamKind::Main,
        };
        let playlist = Playlist {
            manifest_url: manifest_url.into(),
            stream: stream.into(),
            kind,
            live,
            segments,
        };
        self.driver.feed(Step::Engine(Input::Playlist(playlist)));
    }

    /// Playback position (ms of media time) and whether it is advancing.
    pub fn playback(&self, position_ms: f64, playing: bool) {
        let position_ms = position_ms.max(0.0) as u64;
        self.driver.feed(Step::Engine(Input::Playback {
            position_ms,
            playing,
        }));
    }

    /// hls.js wants a media segment of `stream` (named as in `playlist`);
    /// answered by a "data" or "to HTTP" event.
    pub fn load(
        &self,
        req: u32,
        url: JsString,
        range_start: f64,
        range_end: f64,
        sn: f64,
        stream: JsString,
    ) {
        let range = byte_range(range_start, range_end);
        let input = Input::SegmentRequest {
            req: RequestId(req),
            stream: stream.into(),
            sn: sn as u64,
            url: url.into(),
            range,
        };
        self.driver.feed(Step::Engine(input));
    }

    /// hls.js's loader finished request `req` after a "to HTTP" event.
    pub fn loaded(&self, req: u32, data: Uint8Array) {
        self.driver.feed(Step::Engine(Input::RequestLoaded {
            req: RequestId(req),
            data: data.to_vec(),
        }));
    }

    /// The prefetch `fetch` succeeded; its first byte came at `first_byte` (ms).
    pub fn http_loaded(&self, fetch: u32, data: Uint8Array, first_byte: f64) {
        self.driver.feed(Step::Engine(Input::HttpLoaded {
            fetch: FetchId(fetch),
            data: data.to_vec(),
            first_byte: first_byte.max(0.0) as u64,
        }));
    }

    /// The prefetch `fetch` failed.
    pub fn http_failed(&self, fetch: u32) {
        self.driver.feed(Step::Engine(Input::HttpFailed {
            fetch: FetchId(fetch),
        }));
    }

    /// hls.js gave up on request `req`.
    pub fn abort(&self, req: u32) {
        self.driver.feed(Step::Engine(Input::AbortRequest {
            req: RequestId(req),
        }));
    }

    /// validateSegment refused the P2P data of request `req`.
    pub fn reject(&self, req: u32) {
        self.driver.feed(Step::Engine(Input::SegmentRejected {
            req: RequestId(req),
        }));
    }

    /// The P2P data of request `req` went to hls.js; `checked`: a digest or
    /// validateSegment vouched for it.
    pub fn accept(&self, req: u32, checked: bool) {
        self.driver.feed(Step::Engine(Input::SegmentAccepted {
            req: RequestId(req),
            checked,
        }));
    }

    /// hls.js buffered the P2P data of request `req`, accepted unchecked.
    pub fn buffered(&self, req: u32) {
        self.driver.feed(Step::Engine(Input::SegmentBuffered {
            req: RequestId(req),
        }));
    }

    /// New settings while playing, flattened like the constructor's (the
    /// glue passes every option, changed or not).
    pub fn configure(&self, settings: Array) {
        let config = engine_config(&settings, &Array::new(), None);
        self.driver
            .feed(Step::Engine(Input::Configure(Box::new(config))));
    }

    /// The public stats snapshot, flattened (see `js::stats`).
    pub fn stats(&self) -> js_sys::Array {
        js::stats(&self.driver.engine().stats())
    }

    /// Closes every connection; the node is inert afterwards.
    pub fn destroy(&self) {
        self.driver.stop();
    }
}
