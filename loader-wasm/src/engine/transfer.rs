//! Segment transfers the engine runs itself: HTTP prefetches (through the
//! page's hls.js loader) and P2P requests accumulating bytes; a failed or
//! stalled P2P transfer handed to HTTP (whole: bytes from a peer are never
//! mixed with the origin's); and completion into the store with delivery.
//! A P2P transfer's buffer is sized by the total its first chunk declares,
//! and counts against the store's memory cap from then on.

use std::rc::Rc;

use swarmcast_protocol::peer::Message;

use super::{
    requests::Target, store::Took, stream::SegmentKey, ConnId, Engine, Event, FetchId, Millis,
    Output, Source,
};

/// A P2P transfer's rate is judged after this long from its first byte.
const RATE_SAMPLE_MS: Millis = 250;

pub enum Via {
    Http { fetch: FetchId },
    P2p { conn: ConnId, req: u32 },
}

pub struct Download {
    pub fingerprint: u64,
    pub via: Via,
    pub buf: Vec<u8>,
    pub total: Option<u64>,
    pub started: Millis,
    pub first_byte: Option<Millis>,
    pub last_progress: Millis,
}

impl Download {
    fn new(fingerprint: u64, via: Via, now: Millis) -> Download {
        Download {
            fingerprint,
            via,
            buf: Vec::new(),
            total: None,
            started: now,
            first_byte: None,
            last_progress: now,
        }
    }

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

    /// Whether, at the rate seen so far, the rest arrives within `ms`
    /// (never, before the first byte).
    pub fn finishes_within(&self, ms: i64, now: Millis) -> bool {
        let Some(total) = self.total else {
            return false;
        };
        let since = self.first_byte.unwrap_or(self.started);
        let rate = self.buf.len() as f64 / now.saturating_sub(since).max(1) as f64;
        (total as usize).saturating_sub(self.buf.len()) as f64 <= rate * ms.max(0) as f64
    }

    /// Whether bytes have flowed long enough to judge the rate by.
    pub fn rate_known(&self, now: Millis) -> bool {
        self.first_byte.is_some_and(|t| now >= t + RATE_SAMPLE_MS)
    }
}

impl Engine {
    /// Prefetches segment `key` over HTTP (no hls.js request waits for it yet).
    pub(super) fn start_http(&mut self, key: SegmentKey) {
        let Some(seg) = self.content.as_ref().and_then(|c| c.segment(key)) else {
            return;
        };
        let (url, range, fingerprint) = (seg.info.url.clone(), seg.info.range, seg.fingerprint);
        let fetch = FetchId(self.next_fetch);
        self.next_fetch = self.next_fetch.wrapping_add(1);
        self.downloads.insert(
            key,
            Download::new(fingerprint, Via::Http { fetch }, self.now),
        );
        self.out.push_back(Output::HttpFetch { fetch, url, range });
        self.announce_fetching(key);
    }

    /// Live coordination: peers waiting on this segment need not fetch it.
    pub(super) fn announce_fetching(&mut self, key: SegmentKey) {
        self.relay_fetching(key, 0, None);
    }

    /// Sends a claim, `hops` from its fetcher, to every ready peer but
    /// `from` (the peer it came from).
    pub(super) fn relay_fetching(&mut self, key: SegmentKey, hops: u8, from: Option<ConnId>) {
        let msg = Message::Fetching {
            stream: key.stream,
            segment: key.sn,
            hops,
        };
        for p in self
            .peers
            .values_mut()
            .filter(|p| p.ready() && Some(p.conn) != from)
        {
            p.send(&msg, &mut self.out);
        }
    }

    pub(super) fn start_p2p(&mut self, key: SegmentKey, conn: ConnId) {
        let Some(fingerprint) = self.content.as_ref().and_then(|c| c.fingerprint(key)) else {
            return;
        };
        let Some(peer) = self.peers.get_mut(&conn) else {
            return;
        };
        let req = self.next_p2p_req;
        self.next_p2p_req = self.next_p2p_req.wrapping_add(1);
        peer.downloads += 1;
        peer.send(
            &Message::Request {
                req,
                stream: key.stream,
                segment: key.sn,
                fingerprint,
            },
            &mut self.out,
        );
        self.downloads.insert(
            key,
            Download::new(fingerprint, Via::P2p { conn, req }, self.now),
        );
    }

    /// Stops whatever transfer runs for `key`, telling its peer or the shell.
    pub(super) fn abort_download(&mut self, key: SegmentKey) {
        let Some(d) = self.downloads.remove(&key) else {
            return;
        };
        match d.via {
            Via::Http { fetch } => self.out.push_back(Output::HttpAbort { fetch }),
            Via::P2p { conn, req } => {
                if let Some(p) = self.peers.get_mut(&conn) {
                    p.downloads = p.downloads.saturating_sub(1);
                    p.send(&Message::Cancel { req }, &mut self.out);
                }
            }
        }
    }

    /// Stops a P2P transfer. A waiting hls.js request goes to hls.js's
    /// loader; a segment needed soon is prefetched over HTTP; otherwise the
    /// scheduler may pick another peer later.
    pub(super) fn fallback_to_http(&mut self, key: SegmentKey) {
        if self.downloads.get(&key).is_none_or(|d| d.peer().is_none()) {
            return;
        }
        self.abort_download(key);
        if self.requested(key) {
            self.stats.p2p_fallbacks += 1;
            self.hand_to_http(key);
        } else if self.time_to_deadline(key) <= Some(self.cfg.http_window_ms as i64) {
            self.stats.p2p_fallbacks += 1;
            self.start_http(key);
        }
    }

    /// The peer sending `key` left; it did nothing wrong. Outside the urgent
    /// window another holder may still bring it (the scheduler picks again,
    /// HTTP if none); inside it, HTTP as for any failed transfer.
    pub(super) fn sender_left(&mut self, key: SegmentKey) {
        let window = self.cfg.http_window_ms as i64;
        if self.time_to_deadline(key).is_none_or(|t| t <= window) {
            self.fallback_to_http(key);
            return;
        }
        if self.requested(key) {
            self.stats.p2p_fallbacks += 1;
        }
        self.abort_download(key);
    }

    /// Leaves a peer too slow to deliver `key` before the urgent window;
    /// its measured speed makes the scheduler prefer other holders.
    pub(super) fn leave_slow_peer(&mut self, key: SegmentKey) {
        let Some(d) = self.downloads.get(&key) else {
            return;
        };
        let (got, elapsed, conn) = (d.buf.len(), self.now - d.started, d.peer());
        self.abort_download(key);
        if let Some(p) = conn.and_then(|c| self.peers.get_mut(&c)) {
            p.record_speed(got, elapsed);
            p.refused(self.now);
        }
    }

    /// The segment whose HTTP transfer is `fetch`.
    fn fetching(&self, fetch: FetchId) -> Option<SegmentKey> {
        self.downloads
            .iter()
            .find(|(_, d)| d.fetch() == Some(fetch))
            .map(|(key, _)| *key)
    }

    /// The segment we asked `conn` for as `req`.
    fn requested_from(&self, conn: ConnId, req: u32) -> Option<SegmentKey> {
        self.downloads
            .iter()
            .find(|(_, d)| matches!(d.via, Via::P2p { conn: c, req: r } if c == conn && r == req))
            .map(|(key, _)| *key)
    }

    pub(super) fn on_http_loaded(&mut self, fetch: FetchId, data: Vec<u8>, first_byte: Millis) {
        let Some(key) = self.fetching(fetch) else {
            return;
        };
        let Some(d) = self.downloads.remove(&key) else {
            return;
        };
        self.count_http(data.len());
        let took = Took {
            first_byte_ms: first_byte.clamp(d.started, self.now) - d.started,
            total_ms: self.now - d.started,
        };
        let target = Target {
            key,
            fingerprint: d.fingerprint,
        };
        self.keep(target, Rc::new(data), Source::Http, took);
    }

    /// Counts one segment of `len` bytes that came over HTTP.
    pub(super) fn count_http(&mut self, len: usize) {
        let bytes = len as u64;
        self.stats.http_down += bytes;
        self.stats.segments_http += 1;
        self.out.push_back(Output::Event(Event::BytesDown {
            source: Source::Http,
            bytes,
        }));
    }

    pub(super) fn on_http_failed(&mut self, fetch: FetchId) {
        let Some(key) = self.fetching(fetch) else {
            return;
        };
        self.downloads.remove(&key);
        // hls.js's loader retries by its own rules.
        self.hand_to_http(key);
    }

    pub(super) fn on_peer_data(
        &mut self,
        conn: ConnId,
        req: u32,
        offset: u64,
        total: u64,
        bytes: Vec<u8>,
    ) {
        let Some(key) = self.requested_from(conn, req) else {
            return;
        };
        let room = self.cfg.memory_cap.saturating_sub(self.in_flight_bytes()) as u64;
        let Some(d) = self.downloads.get_mut(&key) else {
            return;
        };
        let end = offset.checked_add(bytes.len() as u64);
        let total_changed = d.total.is_some_and(|t| t != total);
        if offset != d.buf.len() as u64 || total_changed || end.is_none_or(|e| e > total) {
            self.drop_peer(conn, true);
            return;
        }
        let first = d.total.is_none();
        if first {
            // A total that cannot fit beside the other transfers is not
            // buffered: the segment comes over HTTP instead.
            if total > room {
                self.fallback_to_http(key);
                return;
            }
            d.total = Some(total);
            d.buf = Vec::with_capacity(total as usize);
        }
        d.first_byte.get_or_insert(self.now);
        d.last_progress = self.now;
        d.buf.extend_from_slice(&bytes);
        let done = d.buf.len() as u64 == total;
        let n = bytes.len() as u64;
        if let Some(p) = self.peers.get_mut(&conn) {
            p.down += n;
        }
        self.out.push_back(Output::Event(Event::BytesDown {
            source: Source::P2p(conn),
            bytes: n,
        }));
        if first {
            self.make_room();
        }
        if done {
            self.complete_p2p(key);
        }
    }

    /// The peer refused a request. Its have stays (a holder whose upload
    /// slots are full refuses too); the scheduler picks another holder, waits
    /// for one, or goes to HTTP, as for any segment.
    pub(super) fn on_peer_absent(&mut self, conn: ConnId, req: u32) {
        let Some(key) = self.requested_from(conn, req) else {
            return;
        };
        self.downloads.remove(&key);
        if let Some(p) = self.peers.get_mut(&conn) {
            p.downloads = p.downloads.saturating_sub(1);
            p.refused(self.now);
        }
    }

    /// A P2P transfer finished: store, announce, deliver.
    fn complete_p2p(&mut self, key: SegmentKey) {
        let Some(d) = self.downloads.remove(&key) else {
            return;
        };
        let Via::P2p { conn, .. } = d.via else {
            return;
        };
        // Counted whole: a transfer left midway (slow or lost peer) never
        // reaches the player, so its bytes are no part of the P2P share.
        self.stats.p2p_down += d.buf.len() as u64;
        self.stats.segments_p2p += 1;
        if let Some(p) = self.peers.get_mut(&conn) {
            p.downloads = p.downloads.saturating_sub(1);
            p.record_speed(d.buf.len(), self.now - d.started);
            p.completed(key);
        }
        self.claims.record_hop(self.now - d.started);
        let took = Took {
            first_byte_ms: d.first_byte.unwrap_or(self.now) - d.started,
            total_ms: self.now - d.started,
        };
        let target = Target {
            key,
            fingerprint: d.fingerprint,
        };
        self.keep(target, Rc::new(d.buf), Source::P2p(conn), took);
    }

    /// Bytes reserved by P2P transfers under way (their declared totals).
    fn in_flight_bytes(&self) -> usize {
        self.downloads.values().filter_map(|d| d.total).sum::<u64>() as usize
    }

    /// Evicts stored segments until they fit the memory cap beside the
    /// transfers under way, and tells peers.
    pub(super) fn make_room(&mut self) {
        let evicted = self.store.reserve(self.in_flight_bytes());
        self.broadcast_have(&[], &evicted);
    }

    /// Stores a complete segment, tells peers (P2P data awaiting the page's
    /// validation is held back) and answers the requests it matches.
    pub(super) fn keep(&mut self, target: Target, data: Rc<Vec<u8>>, source: Source, took: Took) {
        self.make_room();
        let shared = !(self.cfg.validate_p2p && matches!(source, Source::P2p(_)));
        let evicted = self
            .store
            .insert(target.key, target.fingerprint, data, source, shared, took);
        let added: &[SegmentKey] = if shared { &[target.key] } else { &[] };
        self.broadcast_have(added, &evicted);
        self.deliver_stored(target.key);
    }
}
