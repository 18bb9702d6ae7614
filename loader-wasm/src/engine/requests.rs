//! hls.js's fragment requests: each resolves to the exact segment it names
//! (stream, sequence number, URL and range) or to nothing. Resolved requests
//! are answered from the store; everything else, and everything that must
//! come over HTTP, is handed to hls.js's own loader, whose bytes are then
//! kept and shared.

use std::rc::Rc;

use super::{
    identity, store::Took, stream::SegmentKey, ByteRange, Engine, Millis, Output, RequestId,
    Source, Timing,
};

/// Delivered requests remembered for `SegmentRejected`.
const DELIVERED_MEMORY: usize = 64;

/// The segment a request resolved to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub key: SegmentKey,
    pub fingerprint: u64,
}

/// An hls.js request not yet answered.
pub struct Request {
    /// `None`: it names no segment of our playlists, so hls.js loads it.
    target: Option<Target>,
    start: Millis,
    /// Given to hls.js's loader; its bytes come back as `RequestLoaded`.
    pub handed: bool,
}

impl Request {
    /// hls.js waits for segment `key` with it (it is not handed over).
    fn waits_for(&self, key: SegmentKey) -> bool {
        !self.handed && self.target.is_some_and(|t| t.key == key)
    }
}

/// A delivered request, kept so a validation failure can blame its source.
pub struct Delivered {
    req: RequestId,
    target: Target,
    source: Source,
    start: Millis,
}

impl Engine {
    pub(super) fn on_request(
        &mut self,
        req: RequestId,
        stream: &str,
        sn: u64,
        url: &str,
        range: Option<ByteRange>,
    ) {
        let stream = identity::stream_id(stream);
        let target = self.content.as_mut().and_then(|c| {
            c.touch(stream, self.now);
            let fingerprint = c.stream(stream)?.resolve(sn, url, range)?;
            Some(Target {
                key: SegmentKey { stream, sn },
                fingerprint,
            })
        });
        self.requests.insert(
            req,
            Request {
                target,
                start: self.now,
                handed: false,
            },
        );
        match target {
            None => self.hand_request(req),
            Some(t) if self.store.contains(t.key, t.fingerprint) => self.deliver_stored(t.key),
            Some(_) => {}
        }
    }

    /// The segment `key` is wanted by hls.js (a request not yet handed over).
    pub(super) fn requested(&self, key: SegmentKey) -> bool {
        self.requests.values().any(|r| r.waits_for(key))
    }

    /// The segments of requests not yet handed over.
    pub(super) fn waiting_keys(&self) -> Vec<SegmentKey> {
        let mut keys = Vec::new();
        for r in self.requests.values().filter(|r| !r.handed) {
            keys.extend(r.target.map(|t| t.key));
        }
        keys
    }

    /// hls.js's loader is fetching `key` for one of its requests.
    pub(super) fn loading_over_http(&self, key: SegmentKey) -> bool {
        self.requests
            .values()
            .any(|r| r.handed && r.target.is_some_and(|t| t.key == key))
    }

    /// Hands every waiting request for `key` to hls.js's own loader.
    pub(super) fn hand_to_http(&mut self, key: SegmentKey) {
        for req in self.requests.keys_where(|r| r.waits_for(key)) {
            self.hand_request(req);
        }
    }

    fn hand_request(&mut self, req: RequestId) {
        if let Some(r) = self.requests.get_mut(&req) {
            r.handed = true;
            self.out.push_back(Output::LoadOverHttp { req });
        }
    }

    /// hls.js's loader got the origin's bytes for a handed request: keep and
    /// share them if the request named a segment of ours.
    pub(super) fn on_request_loaded(&mut self, req: RequestId, data: Vec<u8>) {
        let Some(r) = self.requests.remove(&req) else {
            return;
        };
        self.count_http(data.len());
        let Some(t) = r.target else { return };
        if self.store.contains(t.key, t.fingerprint) {
            return;
        }
        self.abort_download(t.key);
        let took = Took {
            first_byte_ms: 0,
            total_ms: self.now - r.start,
        };
        self.keep(t, Rc::new(data), Source::Http, took);
    }

    pub(super) fn on_rejected(&mut self, req: RequestId) {
        let Some(pos) = self.delivered.iter().position(|d| d.req == req) else {
            return;
        };
        let d = self.delivered.remove(pos);
        if let Source::P2p(conn) = d.source {
            self.stats.p2p_fallbacks += 1;
            self.punish(conn);
        }
        if self.store.remove(d.target.key) {
            self.broadcast_have(&[], &[d.target.key]);
        }
        self.requests.insert(
            req,
            Request {
                target: Some(d.target),
                start: d.start,
                handed: false,
            },
        );
        self.hand_request(req);
    }

    /// The page passed a P2P delivery on to hls.js: its peer earns trust,
    /// and the segment is offered to peers once a check vouched for it.
    pub(super) fn on_accepted(&mut self, req: RequestId, checked: bool) {
        let Some(d) = self.delivered.iter().find(|d| d.req == req) else {
            return;
        };
        if let Source::P2p(conn) = d.source {
            if let Some(p) = self.peers.get_mut(&conn) {
                p.passed(d.target.key);
            }
        }
        if checked {
            self.share_delivered(req);
        }
    }

    /// Offers the segment a delivered request got to peers, if it is still
    /// stored and was held back until now.
    pub(super) fn share_delivered(&mut self, req: RequestId) {
        let Some(d) = self.delivered.iter().find(|d| d.req == req) else {
            return;
        };
        let key = d.target.key;
        if self.store.share(key) {
            self.broadcast_have(&[key], &[]);
        }
    }

    /// Answers every waiting request for `key` that the stored bytes match.
    pub(super) fn deliver_stored(&mut self, key: SegmentKey) {
        let late = self.time_to_deadline(key).is_some_and(|t| t < 0);
        let now = self.now;
        for req in self.requests.keys_where(|r| r.waits_for(key)) {
            let Some(&Request {
                target: Some(target),
                start,
                ..
            }) = self.requests.get(&req)
            else {
                continue;
            };
            let Some(stored) = self.store.get(key, target.fingerprint) else {
                continue;
            };
            let (data, source, took) = (stored.data.clone(), stored.from, stored.took);
            let timing = Timing {
                start_ms: now.saturating_sub(took.total_ms),
                first_byte_ms: now.saturating_sub(took.total_ms - took.first_byte_ms),
                end_ms: now,
            };
            self.requests.remove(&req);
            if late {
                self.stats.late_deliveries += 1;
            }
            self.out.push_back(Output::Deliver {
                req,
                data: data.to_vec(),
                source,
                timing,
            });
            if self.delivered.len() >= DELIVERED_MEMORY {
                self.delivered.remove(0);
            }
            self.delivered.push(Delivered {
                req,
                target,
                source,
                start,
            });
        }
    }
}
