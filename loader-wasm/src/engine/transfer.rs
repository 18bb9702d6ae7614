//! Segment transfers in flight: HTTP fetches and P2P requests accumulating
//! bytes, handing a failed or stalled P2P transfer to HTTP (resuming with a
//! Range request), and completion into the store with delivery to hls.js.

use std::rc::Rc;

use swarmcast_protocol::peer::Message;

use super::{
    store::Took, ByteRange, ConnId, Delivered, Engine, Event, FailReason, FetchId, Millis, Output,
    Source, Timing, DELIVERED_MEMORY,
};

/// Larger P2P segments are refused: a peer may not make us buffer without bound.
const MAX_SEGMENT: u64 = 256 << 20;

pub enum Via {
    Http { fetch: FetchId },
    P2p { conn: ConnId, req: u32 },
}

pub struct Download {
    pub via: Via,
    pub buf: Vec<u8>,
    pub total: Option<u64>,
    pub started: Millis,
    pub first_byte: Option<Millis>,
    pub last_progress: Millis,
}

impl Download {
    pub fn fetch(&self) -> Option<FetchId> {
        match self.via {
            Via::Http { fetch } => Some(fetch),
            Via::P2p { .. } => None,
        }
    }

    pub fn peer(&self) -> Option<ConnId> {
        match self.via {
            Via::P2p { conn, .. } => Some(conn),
            Via::Http { .. } => None,
        }
    }
}

impl Engine {
    /// Fetches segment `id` over HTTP, resuming after `buf` when possible.
    pub(super) fn start_http(&mut self, id: u64, mut buf: Vec<u8>, total: Option<u64>) {
        let Some(seg) = self.swarm.as_ref().and_then(|s| s.segment(id)) else {
            return;
        };
        let have = buf.len() as u64;
        let range = match (seg.range, total) {
            _ if have == 0 => seg.range,
            (Some(r), _) => Some(ByteRange {
                start: r.start + have,
                end: r.end,
            }),
            (None, Some(t)) if t > have => Some(ByteRange {
                start: have,
                end: t,
            }),
            _ => {
                buf.clear();
                None
            }
        };
        let url = seg.url.clone();
        let fetch = FetchId(self.next_fetch);
        self.next_fetch = self.next_fetch.wrapping_add(1);
        self.downloads.insert(
            id,
            Download {
                via: Via::Http { fetch },
                buf,
                total,
                started: self.now,
                first_byte: None,
                last_progress: self.now,
            },
        );
        self.out.push_back(Output::HttpFetch { fetch, url, range });
        // Live coordination: peers waiting on this segment need not fetch it.
        let msg = Message::Fetching { segment: id };
        for p in self.peers.values_mut().filter(|p| p.ready()) {
            p.send(&msg, &mut self.out);
        }
    }

    pub(super) fn start_p2p(&mut self, id: u64, conn: ConnId) {
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        let req = self.next_p2p_req;
        self.next_p2p_req = self.next_p2p_req.wrapping_add(1);
        peer.downloads += 1;
        peer.send(
            &Message::Request {
                req,
                segment: id,
                offset: 0,
            },
            &mut self.out,
        );
        self.downloads.insert(
            id,
            Download {
                via: Via::P2p { conn, req },
                buf: Vec::new(),
                total: None,
                started: self.now,
                first_byte: None,
                last_progress: self.now,
            },
        );
    }

    /// Stops a P2P transfer and hands it to HTTP if it is needed soon;
    /// otherwise the scheduler may pick another peer later.
    pub(super) fn fallback_to_http(&mut self, id: u64) {
        let Some(d) = self.downloads.remove(&id) else {
            return;
        };
        let Via::P2p { conn, req } = d.via else {
            self.downloads.insert(id, d);
            return;
        };
        if let Some(p) = self.peers.get_mut(&conn) {
            p.downloads = p.downloads.saturating_sub(1);
            p.send(&Message::Cancel { req }, &mut self.out);
        }
        let needed = self.requests.values().any(|r| r.id == id)
            || self.time_to_deadline(id) <= Some(self.cfg.http_window_ms as i64);
        if needed {
            self.stats.p2p_fallbacks += 1;
            self.start_http(id, d.buf, d.total);
        }
    }

    /// The segment whose HTTP transfer is `fetch`.
    fn fetching(&self, fetch: FetchId) -> Option<u64> {
        self.downloads
            .iter()
            .find(|(_, d)| d.fetch() == Some(fetch))
            .map(|(id, _)| *id)
    }

    /// The segment we asked `conn` for as `req`.
    fn requested_from(&self, conn: ConnId, req: u32) -> Option<u64> {
        self.downloads
            .iter()
            .find(|(_, d)| matches!(d.via, Via::P2p { conn: c, req: r } if c == conn && r == req))
            .map(|(id, _)| *id)
    }

    pub(super) fn on_http_started(&mut self, fetch: FetchId, status: u16, total: Option<u64>) {
        let Some(d) = self
            .fetching(fetch)
            .and_then(|id| self.downloads.get_mut(&id))
        else {
            return;
        };
        if status == 200 {
            // Full body: any Range we sent was ignored.
            d.buf.clear();
            d.total = total;
        } else if let Some(t) = total {
            d.total = Some(d.buf.len() as u64 + t);
        }
    }

    pub(super) fn on_http_chunk(&mut self, fetch: FetchId, data: Vec<u8>) {
        let Some(d) = self
            .fetching(fetch)
            .and_then(|id| self.downloads.get_mut(&id))
        else {
            return;
        };
        d.first_byte.get_or_insert(self.now);
        d.last_progress = self.now;
        d.buf.extend_from_slice(&data);
        self.stats.http_down += data.len() as u64;
        self.out.push_back(Output::Event(Event::BytesDown {
            source: Source::Http,
            bytes: data.len() as u64,
        }));
    }

    pub(super) fn on_http_done(&mut self, fetch: FetchId) {
        if let Some(id) = self.fetching(fetch) {
            self.complete(id);
        }
    }

    pub(super) fn on_http_failed(&mut self, fetch: FetchId, status: Option<u16>) {
        let Some(id) = self.fetching(fetch) else {
            return;
        };
        self.downloads.remove(&id);
        self.fail_requests(id, FailReason::Http(status));
    }

    pub(super) fn fail_requests(&mut self, id: u64, reason: FailReason) {
        let reqs: Vec<_> = self
            .requests
            .iter()
            .filter(|(_, r)| r.id == id)
            .map(|(k, _)| *k)
            .collect();
        for req in reqs {
            self.requests.remove(&req);
            self.out.push_back(Output::FailRequest { req, reason });
        }
    }

    pub(super) fn on_peer_data(
        &mut self,
        conn: ConnId,
        req: u32,
        offset: u64,
        total: u64,
        bytes: Vec<u8>,
    ) {
        let Some(id) = self.requested_from(conn, req) else {
            return;
        };
        let Some(d) = self.downloads.get_mut(&id) else {
            return;
        };
        let end = offset.checked_add(bytes.len() as u64);
        if offset != d.buf.len() as u64 || total > MAX_SEGMENT || end.is_none_or(|e| e > total) {
            self.drop_peer(conn, true);
            return;
        }
        d.first_byte.get_or_insert(self.now);
        d.last_progress = self.now;
        d.total = Some(total);
        d.buf.extend_from_slice(&bytes);
        let done = d.buf.len() as u64 == total;
        let n = bytes.len() as u64;
        self.stats.p2p_down += n;
        if let Some(p) = self.peers.get_mut(&conn) {
            p.down += n;
        }
        self.out.push_back(Output::Event(Event::BytesDown {
            source: Source::P2p(conn),
            bytes: n,
        }));
        if done {
            self.complete(id);
        }
    }

    pub(super) fn on_peer_absent(&mut self, conn: ConnId, req: u32) {
        let Some(id) = self.requested_from(conn, req) else {
            return;
        };
        if let Some(p) = self.peers.get_mut(&conn) {
            p.has.remove(&id);
        }
        self.fallback_to_http(id);
    }

    /// A transfer finished: store, announce, deliver.
    fn complete(&mut self, id: u64) {
        let Some(d) = self.downloads.remove(&id) else {
            return;
        };
        if d.total.is_some_and(|t| t != d.buf.len() as u64) {
            // Short body: treat as a failed fetch.
            self.fail_requests(id, FailReason::Http(None));
            return;
        }
        let source = match d.via {
            Via::Http { .. } => {
                self.stats.segments_http += 1;
                Source::Http
            }
            Via::P2p { conn, .. } => {
                self.stats.segments_p2p += 1;
                if let Some(p) = self.peers.get_mut(&conn) {
                    p.downloads = p.downloads.saturating_sub(1);
                    p.record_speed(d.buf.len(), self.now - d.started);
                }
                Source::P2p(conn)
            }
        };
        let data: Rc<[u8]> = d.buf.into();
        let shared = !(self.cfg.validate_p2p && matches!(source, Source::P2p(_)));
        let took = Took {
            first_byte_ms: d.first_byte.unwrap_or(self.now) - d.started,
            total_ms: self.now - d.started,
        };
        let evicted = self.store.insert(id, data, source, shared, took);
        self.force_http.remove(&id);
        let added: &[u64] = if shared { &[id] } else { &[] };
        self.broadcast_have(added, &evicted);
        self.deliver_stored(id);
    }

    /// Answers every pending request for `id` from the store.
    pub(super) fn deliver_stored(&mut self, id: u64) {
        let reqs: Vec<_> = self
            .requests
            .iter()
            .filter(|(_, r)| r.id == id)
            .map(|(k, r)| (*k, r.start))
            .collect();
        if reqs.is_empty() {
            return;
        }
        let late = self.time_to_deadline(id).is_some_and(|t| t < 0);
        let Some(stored) = self.store.get(id) else {
            return;
        };
        let (data, source, took) = (stored.data.clone(), stored.from, stored.took);
        let timing = Timing {
            start_ms: self.now.saturating_sub(took.total_ms),
            first_byte_ms: self.now.saturating_sub(took.total_ms - took.first_byte_ms),
            end_ms: self.now,
        };
        for (req, start) in reqs {
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
                id,
                source,
                start,
            });
        }
    }
}
