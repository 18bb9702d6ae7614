//! Connected peers: what each holds (from have-deltas), how fast it sends,
//! how far we trust its bytes, and our upload queue to it, paced by the data
//! channel's buffered amount so a slow peer never makes the browser buffer
//! unbounded data.

use std::{collections::VecDeque, rc::Rc};

use swarmcast_protocol::peer::{Message, MAX_CHUNK};

use super::{
    stream::SegmentKey,
    vecmap::{VecMap, VecSet},
    ConnId, Millis, Output, PeerId,
};

/// Bounds on what one peer can make us remember: streams it holds segments
/// of, advertised segments per stream, and queued upload requests (our own
/// downloads ask a peer for at most 2 at once).
const MAX_STREAMS: usize = 16;
const MAX_HAS: usize = 2_048;
const MAX_UPLOADS: usize = 8;
/// Upload budget, in media time so that it scales with the stream's bitrate:
/// a peer may take segments lasting up to `UPLOAD_RATE` times the wall time
/// elapsed, after a first burst of `UPLOAD_BURST_MS` (a prefetch window).
/// Requests beyond it are answered `Absent`.
const UPLOAD_RATE: u64 = 4;
const UPLOAD_BURST_MS: u64 = 60_000;

/// Trust: where the page checks peers' segments (digests, or a hook), a new
/// peer is on trial until this many segments it sent passed the check:
/// until then it is asked for one segment at a time, and for the next only
/// once the last one passed, so a liar costs at most one segment's bytes. A
/// peer from an address with strikes is on probation: it must pass more.
const TRIAL_SEGMENTS: u32 = 1;
pub const PROBATION_SEGMENTS: u32 = 4;

/// Throughput assumed for a peer we have not measured yet (bytes per ms).
const INITIAL_SPEED: f64 = 500.0;

/// A peer whose channel opened must shake hands within this long, or the
/// channel is closed. A handshake that never came would otherwise hold the
/// connection open for good, and the other side, which may count us as
/// connected, would never look for us again.
const HANDSHAKE_TIMEOUT_MS: Millis = 5_000;
/// After a refusal (`Absent`: its upload slots are full, or it no longer
/// holds the segment) we ask the peer nothing for this long.
const REFUSED_BACKOFF_MS: Millis = 250;

struct Upload {
    req: u32,
    data: Rc<Vec<u8>>,
    offset: usize,
}

pub struct Peer {
    pub conn: ConnId,
    /// Known once the peer's handshake arrived.
    pub peer_id: Option<PeerId>,
    /// When its channel opened.
    opened_at: Millis,
    /// We made the offer for this connection (decides duplicate ties).
    pub offered: bool,
    /// Advertised segments: stream id -> sequence numbers.
    has: VecMap<u64, VecSet<u64>>,
    /// EWMA of measured download throughput, bytes per ms.
    pub speed: f64,
    /// `speed` is measured, not the initial guess.
    measured: bool,
    /// Our downloads running from this peer.
    pub downloads: usize,
    /// It refused a request: not asked again before this.
    refused_until: Millis,
    pub down: u64,
    pub up: u64,
    /// Served in order; at most `MAX_UPLOADS`, so a Vec is enough.
    uploads: Vec<Upload>,
    /// Media time the peer may still take (see [`UPLOAD_RATE`]), as of `credit_at`.
    credit_ms: u64,
    credit_at: Millis,
    /// Our estimate of the channel's `bufferedAmount`.
    buffered: usize,
    /// A finished upload's last bytes still sit in the channel's buffer.
    draining: bool,
    /// Segments it must still send that pass the page's check before it is
    /// trusted (0: trusted, or nothing checks, when trust cannot be earned).
    on_trial: u32,
    /// The last segment it completed for us, until the page passes it.
    unchecked: Option<SegmentKey>,
    /// Hash of the remote address, once the shell reported it.
    pub address: Option<u32>,
}

impl Peer {
    /// `checked`: the page checks peers' segments, so the peer starts on trial.
    pub fn new(conn: ConnId, offered: bool, now: Millis, checked: bool) -> Peer {
        Peer {
            conn,
            peer_id: None,
            opened_at: now,
            offered,
            has: VecMap::default(),
            speed: INITIAL_SPEED,
            measured: false,
            downloads: 0,
            refused_until: 0,
            down: 0,
            up: 0,
            uploads: Vec::new(),
            credit_ms: UPLOAD_BURST_MS,
            credit_at: now,
            buffered: 0,
            draining: false,
            on_trial: if checked { TRIAL_SEGMENTS } else { 0 },
            unchecked: None,
            address: None,
        }
    }

    /// Whether we may ask it for one more segment: a trusted peer while it
    /// runs fewer than `limit` of our transfers; one on trial only when it
    /// runs none and its last segment no longer `awaits` the page's check.
    pub fn may_ask(&self, limit: usize, awaits: impl Fn(SegmentKey) -> bool) -> bool {
        if self.on_trial == 0 {
            return self.downloads < limit;
        }
        self.downloads == 0 && !self.unchecked.is_some_and(awaits)
    }

    /// It completed `key` for us; the page checks it when hls.js asks.
    pub fn completed(&mut self, key: SegmentKey) {
        self.unchecked = Some(key);
    }

    /// The page passed its segment `key` on to hls.js.
    pub fn passed(&mut self, key: SegmentKey) {
        if self.unchecked == Some(key) {
            self.unchecked = None;
            self.on_trial = self.on_trial.saturating_sub(1);
        }
    }

    /// It connects from an address with strikes (reported right after its
    /// channel opened, before it could pass anything).
    pub fn on_probation(&mut self) {
        if self.on_trial > 0 {
            self.on_trial = PROBATION_SEGMENTS;
        }
    }

    pub fn ready(&self) -> bool {
        self.peer_id.is_some()
    }

    /// By when its handshake must arrive (`None`: it did).
    pub fn handshake_deadline(&self) -> Option<Millis> {
        (!self.ready()).then_some(self.opened_at + HANDSHAKE_TIMEOUT_MS)
    }

    /// Whether we may send it a request now.
    pub fn askable(&self, now: Millis) -> bool {
        self.ready() && now >= self.refused_until
    }

    /// It answered a request `Absent`.
    pub fn refused(&mut self, now: Millis) {
        self.refused_until = now + REFUSED_BACKOFF_MS;
    }

    pub fn send(&mut self, msg: &Message, out: &mut VecDeque<Output>) {
        let data = msg.encode();
        self.buffered += data.len();
        out.push_back(Output::SendData {
            conn: self.conn,
            data,
        });
    }

    /// Folds one finished transfer into the speed estimate.
    pub fn record_speed(&mut self, bytes: usize, elapsed_ms: u64) {
        let sample = bytes as f64 / elapsed_ms.max(1) as f64;
        // The first measurement replaces the guess outright: a slow peer
        // must not keep the optimistic initial speed for several transfers.
        self.speed = if self.measured {
            0.7 * self.speed + 0.3 * sample
        } else {
            sample
        };
        self.measured = true;
    }

    /// Queues a whole segment lasting `media_ms` for upload; sent by
    /// [`Peer::pump`]. Returns `false` (refused) when the peer already has
    /// too much queued or is over its upload budget.
    pub fn queue_upload(
        &mut self,
        req: u32,
        data: Rc<Vec<u8>>,
        media_ms: u64,
        now: Millis,
    ) -> bool {
        let earned = now.saturating_sub(self.credit_at) * UPLOAD_RATE;
        self.credit_ms = (self.credit_ms + earned).min(UPLOAD_BURST_MS);
        self.credit_at = now;
        if self.uploads.len() >= MAX_UPLOADS || self.credit_ms < media_ms {
            return false;
        }
        self.credit_ms -= media_ms;
        self.uploads.push(Upload {
            req,
            data,
            offset: 0,
        });
        true
    }

    /// Whether we are sending it a segment (it holds one of our upload
    /// slots) until the channel drains to its low-water mark.
    pub fn uploading(&self) -> bool {
        !self.uploads.is_empty() || self.draining
    }

    pub fn has(&self, key: SegmentKey) -> bool {
        self.has
            .get(&key.stream)
            .is_some_and(|sns| sns.contains(&key.sn))
    }

    /// Whether the peer announced any segment of `stream`: it plays it.
    pub fn plays(&self, stream: u64) -> bool {
        self.has.contains_key(&stream)
    }

    /// Applies a have-delta of one stream (lists sorted, as decoded),
    /// forgetting the lowest numbers beyond [`MAX_HAS`]; a stream beyond
    /// [`MAX_STREAMS`] is ignored.
    pub fn apply_have(&mut self, stream: u64, added: &[u64], removed: &[u64]) {
        if !self.has.contains_key(&stream) {
            if self.has.len() >= MAX_STREAMS || added.is_empty() {
                return;
            }
            self.has.insert(stream, VecSet::default());
        }
        let Some(sns) = self.has.get_mut(&stream) else {
            return;
        };
        sns.apply_sorted(added, removed, MAX_HAS);
        if sns.is_empty() {
            self.has.remove(&stream);
        }
    }

    pub fn cancel_upload(&mut self, req: u32) {
        self.uploads.retain(|u| u.req != req);
    }

    /// The browser reported `bufferedamountlow`.
    pub fn drained(&mut self, low_water: usize) {
        self.buffered = self.buffered.min(low_water);
        self.draining = false;
    }

    /// Sends queued chunks until the channel's buffer reaches `high_water`.
    /// Returns the segment bytes sent. `corrupt` is the test-only switch.
    pub fn pump(&mut self, high_water: usize, corrupt: bool, out: &mut VecDeque<Output>) -> u64 {
        let mut sent = 0u64;
        while self.buffered < high_water {
            let Some(up) = self.uploads.first_mut() else {
                break;
            };
            let end = (up.offset + MAX_CHUNK).min(up.data.len());
            let mut bytes = up.data[up.offset.min(end)..end].to_vec();
            if corrupt {
                for b in &mut bytes {
                    *b ^= 0x5a;
                }
            }
            let msg = Message::Data {
                req: up.req,
                offset: up.offset as u64,
                total: up.data.len() as u64,
                bytes,
            };
            sent += (end - up.offset.min(end)) as u64;
            up.offset = end;
            if up.offset >= up.data.len() {
                self.uploads.remove(0);
                self.draining = true;
            }
            self.send(&msg, out);
        }
        if sent > 0 && (self.draining || self.buffered >= high_water) {
            out.push_back(Output::NotifyWhenDrained { conn: self.conn });
        }
        self.up += sent;
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_bytes(out: &VecDeque<Output>) -> usize {
        out.iter()
            .map(|o| match o {
                Output::SendData { data, .. } => data.len(),
                _ => 0,
            })
            .sum()
    }

    #[test]
    fn upload_stops_at_high_water_and_resumes_when_drained() {
        let mut p = Peer::new(ConnId(1), true, 0, false);
        let data: Rc<Vec<u8>> = vec![7u8; 100_000].into();
        assert!(p.queue_upload(9, data, 2_000, 0));
        let mut out = VecDeque::new();
        let first = p.pump(40_000, false, &mut out);
        assert!(first < 100_000 && sent_bytes(&out) >= 40_000);
        let waits = matches!(
            out.pop_back(),
            Some(Output::NotifyWhenDrained { conn: ConnId(1) })
        );
        assert!(waits, "the shell is asked to report the drain");
        assert!(out
            .iter()
            .all(|o| matches!(o, Output::SendData { data, .. } if data.len() <= 16 * 1024)));
        assert_eq!(p.pump(40_000, false, &mut out), 0, "must wait for drain");
        p.drained(0);
        let second = p.pump(1 << 20, false, &mut out);
        assert_eq!(first + second, 100_000);
    }

    #[test]
    fn have_table_and_upload_queue_are_bounded() {
        let mut p = Peer::new(ConnId(1), true, 0, false);
        let key = |stream, sn| SegmentKey { stream, sn };
        let ids: Vec<u64> = (0..10_000).collect();
        p.apply_have(5, &ids, &[]);
        assert_eq!(p.has.get(&5).map(|s| s.len()), Some(MAX_HAS));
        assert!(p.has(key(5, 9_999)) && !p.has(key(5, 0)));
        assert!(!p.has(key(6, 9_999)), "haves are per stream");
        p.apply_have(5, &[], &[9_999]);
        assert!(!p.has(key(5, 9_999)));
        for stream in 0..100 {
            p.apply_have(stream, &[1], &[]);
        }
        assert_eq!(p.has.len(), MAX_STREAMS);
        let data: Rc<Vec<u8>> = vec![0u8; 10].into();
        let accepted = (0..100)
            .filter(|&r| p.queue_upload(r, data.clone(), 1, 0))
            .count();
        assert_eq!(accepted, MAX_UPLOADS);
    }

    #[test]
    fn uploads_stay_within_the_media_time_budget() {
        let mut p = Peer::new(ConnId(1), true, 0, false);
        let data: Rc<Vec<u8>> = vec![0u8; 10].into();
        let mut taken_ms = 0;
        let mut req = 0;
        // A peer asking for 2 s segments as fast as it can, for 100 s.
        for now in (0..100_000).step_by(100) {
            req += 1;
            if p.queue_upload(req, data.clone(), 2_000, now) {
                taken_ms += 2_000;
            }
            p.uploads.clear();
        }
        assert!(taken_ms <= UPLOAD_BURST_MS + 100_000 * UPLOAD_RATE);
        assert!(
            taken_ms >= 100_000 * UPLOAD_RATE,
            "an honest pace is served"
        );
    }

    #[test]
    fn a_peer_on_trial_is_asked_for_one_segment_until_one_passed() {
        let key = |sn| SegmentKey { stream: 1, sn };
        let held = |_| true;
        let mut p = Peer::new(ConnId(1), true, 0, true);
        assert!(p.may_ask(2, held));
        p.downloads = 1;
        assert!(!p.may_ask(2, held), "one transfer at a time");
        p.downloads = 0;
        p.completed(key(5));
        assert!(!p.may_ask(2, held), "its segment awaits the check");
        assert!(p.may_ask(2, |_| false), "unless hls.js is past it");
        p.passed(key(4));
        assert!(!p.may_ask(2, held), "only the segment it sent counts");
        p.passed(key(5));
        p.downloads = 1;
        assert!(p.may_ask(2, held), "trusted: the normal limit");
        p.downloads = 2;
        assert!(!p.may_ask(2, held));
    }

    #[test]
    fn on_probation_a_peer_passes_several_segments_one_at_a_time() {
        let mut p = Peer::new(ConnId(1), true, 0, true);
        p.on_probation();
        for sn in 0..PROBATION_SEGMENTS as u64 {
            p.downloads = 1;
            assert!(!p.may_ask(2, |_| true), "segment {sn}");
            p.downloads = 0;
            p.completed(SegmentKey { stream: 1, sn });
            assert!(!p.may_ask(2, |_| true));
            p.passed(SegmentKey { stream: 1, sn });
        }
        p.downloads = 1;
        assert!(p.may_ask(2, |_| true));
    }

    #[test]
    fn where_nothing_checks_a_peer_is_trusted_from_the_start() {
        let mut p = Peer::new(ConnId(1), true, 0, false);
        p.on_probation();
        p.downloads = 1;
        assert!(p.may_ask(2, |_| true));
    }

    #[test]
    fn chunks_reassemble_in_order() {
        let mut p = Peer::new(ConnId(1), true, 0, false);
        let data: Rc<Vec<u8>> = (0..50_000u32).map(|i| i as u8).collect::<Vec<_>>().into();
        assert!(p.queue_upload(3, data.clone(), 2_000, 0));
        let mut out = VecDeque::new();
        p.pump(usize::MAX, false, &mut out);
        let mut got = Vec::new();
        for o in out {
            let Output::SendData { data: d, .. } = o else {
                assert!(matches!(o, Output::NotifyWhenDrained { .. }), "{o:?}");
                continue;
            };
            let Ok(Message::Data {
                offset,
                total,
                bytes,
                ..
            }) = Message::decode(&d)
            else {
                panic!()
            };
            assert_eq!(total, 50_000);
            assert_eq!(offset as usize, got.len());
            got.extend(bytes);
        }
        assert_eq!(&got[..], &data[..]);
    }
}
