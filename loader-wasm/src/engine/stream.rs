//! The streams of the content hls.js plays: each video level, alternate
//! audio and subtitle rendition is a [`Stream`] with its own segments, their
//! identities and deadlines. [`Content`] owns them all, and knows which
//! stream of each kind is being played (those are prefetched and seeded).

use super::{identity, vecmap::VecMap, ByteRange, Millis, Playlist, SegmentInfo, StreamKind};

/// Streams remembered per content; beyond it the least recently used
/// stream that is not being played is forgotten.
const MAX_STREAMS: usize = 32;
/// Live: segments kept after they slid out of the playlist, so requests for
/// them (seeks into the DVR window, slow players) still resolve.
const LIVE_HISTORY: u64 = 64;
/// Most segments of one stream the scheduler looks at per input, so the
/// work per message does not grow with the playlist.
pub const MAX_DUE: usize = 64;
/// Without a playback position, the newest segments the scheduler looks at
/// (live seeding needs nothing older).
const DUE_WITHOUT_POSITION: usize = 3;

/// A segment on the wire and in the store: its stream and media sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SegmentKey {
    pub stream: u64,
    pub sn: u64,
}

impl SegmentKey {
    /// One number per segment, for rendezvous ranking.
    pub fn hash(&self) -> u64 {
        self.stream ^ self.sn.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// A segment of a stream's playlist.
pub struct Segment {
    pub info: SegmentInfo,
    /// Its URL identity and range (`identity::fingerprint`): bytes stored or
    /// requested under another fingerprint are another resource.
    pub fingerprint: u64,
    /// When it first appeared in our playlist (live seeding staggers from
    /// it); 0 for those of the stream's first playlist.
    pub seen: Millis,
}

pub struct Stream {
    pub id: u64,
    pub kind: StreamKind,
    pub live: bool,
    segments: VecMap<u64, Segment>,
    /// Last time hls.js loaded its playlist or asked for one of its segments.
    used: Millis,
}

impl Stream {
    fn new(id: u64, kind: StreamKind, now: Millis) -> Stream {
        Stream {
            id,
            kind,
            live: true,
            segments: VecMap::default(),
            used: now,
        }
    }

    /// Applies a (re)loaded playlist. Returns the sequence numbers whose
    /// resource changed (a media sequence reset, or a number reused for
    /// another URL or range): whatever is stored under them is stale.
    fn update(&mut self, p: Playlist, by_file_name: bool, now: Millis) -> Vec<u64> {
        let mut stale = Vec::new();
        // Segments listed in a stream's first playlist are not new at the
        // live edge: nobody is staggering to seed them.
        let seen = if self.segments.is_empty() { 0 } else { now };
        let first = p.segments.first().map(|s| s.sn);
        let restarted = p.live && first.is_some_and(|f| self.restarted(f));
        if restarted {
            stale.extend(self.segments.keys().copied());
            self.segments.clear();
        }
        self.live = p.live;
        if let (true, Some(first)) = (self.live, first) {
            self.segments
                .remove_below(&first.saturating_sub(LIVE_HISTORY));
        }
        for info in p.segments {
            let fingerprint = identity::fingerprint(&info.url, info.range, by_file_name);
            match self.segments.get_mut(&info.sn) {
                Some(known) if known.fingerprint == fingerprint => known.info = info,
                known => {
                    if known.is_some() {
                        stale.push(info.sn);
                    }
                    self.segments.insert(
                        info.sn,
                        Segment {
                            info,
                            fingerprint,
                            seen,
                        },
                    );
                }
            }
        }
        stale
    }

    /// Whether a live playlist starting at `first` went back before
    /// everything we know: the packager restarted its numbering.
    fn restarted(&self, first: u64) -> bool {
        self.segments
            .keys()
            .next()
            .is_some_and(|&oldest| first < oldest)
    }

    pub fn segment(&self, sn: u64) -> Option<&Segment> {
        self.segments.get(&sn)
    }

    #[cfg(test)]
    pub fn sns(&self) -> impl Iterator<Item = u64> + '_ {
        self.segments.keys().copied()
    }

    /// The segments the scheduler may act on: those starting within `span`
    /// ms after playback `position`, or the newest few before playback
    /// starts. At most [`MAX_DUE`], found by binary search.
    pub fn due(&self, position: Option<Millis>, span: Millis) -> impl Iterator<Item = u64> + '_ {
        let all = self.segments.entries();
        let (first, end) = match position {
            Some(p) => (
                all.partition_point(|(_, s)| s.info.start_ms < p),
                all.partition_point(|(_, s)| s.info.start_ms <= p.saturating_add(span)),
            ),
            None => (all.len().saturating_sub(DUE_WITHOUT_POSITION), all.len()),
        };
        all[first..end.clamp(first, first + MAX_DUE)]
            .iter()
            .map(|(sn, _)| *sn)
    }

    pub fn newest(&self) -> Option<u64> {
        self.segments.keys().next_back().copied()
    }

    /// Whether our playlist lists segment `sn`, or, live, will soon: it is at
    /// most `ahead` past the newest (other viewers' playlists may show it first).
    pub fn lists_or_soon(&self, sn: u64, ahead: u64) -> bool {
        self.segments.contains_key(&sn)
            || self.live && self.newest().is_some_and(|n| sn > n && sn <= n + ahead)
    }

    /// The fingerprint of segment `sn` if our playlist lists exactly this
    /// URL and range for it; `None` for anything else.
    pub fn resolve(&self, sn: u64, url: &str, range: Option<ByteRange>) -> Option<u64> {
        self.segments
            .get(&sn)
            .filter(|s| s.info.url == url && s.info.range == range)
            .map(|s| s.fingerprint)
    }
}

/// Where playback is: the last reported media position, when, and whether
/// it was advancing. Every stream's deadlines come from it.
#[derive(Default)]
pub struct Playback(Option<(Millis, Millis, bool)>);

impl Playback {
    pub fn set(&mut self, position: Millis, playing: bool, now: Millis) {
        self.0 = Some((position, now, playing));
    }

    /// The media position now; `None` before the first report.
    pub fn position(&self, now: Millis) -> Option<Millis> {
        let (pos, at, playing) = self.0?;
        Some(if playing {
            pos + (now - at.min(now))
        } else {
            pos
        })
    }

    /// Whether playback was advancing at the last report.
    pub fn playing(&self) -> bool {
        self.0.is_some_and(|(_, _, playing)| playing)
    }

    /// Milliseconds until playback reaches `start_ms` of media time
    /// (negative: passed); `None` before the first report.
    pub fn time_to(&self, start_ms: Millis, now: Millis) -> Option<i64> {
        Some(start_ms as i64 - self.position(now)? as i64)
    }
}

/// The content hls.js plays (one manifest): its tracker swarm and streams.
pub struct Content {
    pub key: String,
    pub info_hash: [u8; 20],
    /// Segments are fingerprinted by file name (a swarm id is set).
    by_file_name: bool,
    streams: VecMap<u64, Stream>,
    /// The stream of each kind being played, indexed by `kind_index`.
    playing: [Option<u64>; 3],
}

fn kind_index(kind: StreamKind) -> usize {
    match kind {
        StreamKind::Main => 0,
        StreamKind::Audio => 1,
        StreamKind::Subtitle => 2,
    }
}

impl Content {
    pub fn new(key: String, by_file_name: bool) -> Content {
        Content {
            info_hash: identity::info_hash(&key),
            key,
            by_file_name,
            streams: VecMap::default(),
            playing: [None; 3],
        }
    }

    /// Applies a playlist to its stream (creating it), which becomes the one
    /// played of its kind. Returns the stream id and its stale sequence numbers.
    pub fn update(&mut self, p: Playlist, now: Millis) -> (u64, Vec<u64>) {
        let id = identity::stream_id(&p.stream);
        if !self.streams.contains_key(&id) {
            self.make_room();
            self.streams.insert(id, Stream::new(id, p.kind, now));
        }
        let by_file_name = self.by_file_name;
        let stale = match self.streams.get_mut(&id) {
            Some(s) => s.update(p, by_file_name, now),
            None => Vec::new(),
        };
        self.touch(id, now);
        (id, stale)
    }

    /// Forgets the least recently used stream not being played, if full.
    fn make_room(&mut self) {
        if self.streams.len() < MAX_STREAMS {
            return;
        }
        let victim = self
            .streams
            .values()
            .filter(|s| !self.playing.contains(&Some(s.id)))
            .min_by_key(|s| s.used)
            .map(|s| s.id);
        if let Some(id) = victim {
            self.streams.remove(&id);
        }
    }

    /// hls.js is playing stream `id` (it loaded its playlist or a segment).
    pub fn touch(&mut self, id: u64, now: Millis) {
        if let Some(s) = self.streams.get_mut(&id) {
            s.used = now;
            self.playing[kind_index(s.kind)] = Some(id);
        }
    }

    pub fn stream(&self, id: u64) -> Option<&Stream> {
        self.streams.get(&id)
    }

    pub fn segment(&self, key: SegmentKey) -> Option<&Segment> {
        self.streams.get(&key.stream)?.segment(key.sn)
    }

    /// The fingerprint our playlist gives segment `key`.
    pub fn fingerprint(&self, key: SegmentKey) -> Option<u64> {
        self.segment(key).map(|s| s.fingerprint)
    }

    /// The streams being played: those whose segments are fetched ahead.
    pub fn playing(&self) -> impl Iterator<Item = &Stream> + '_ {
        self.playing
            .iter()
            .flatten()
            .filter_map(|id| self.streams.get(id))
    }

    /// Whether any stream being played is live.
    pub fn live(&self) -> bool {
        self.playing().any(|s| s.live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::playlist_of as playlist;

    #[test]
    fn deadlines_follow_playback() {
        let mut p = Playback::default();
        assert_eq!(p.time_to(24_000, 0), None);
        p.set(21_000, true, 1_000);
        assert_eq!(p.time_to(24_000, 1_000), Some(3_000));
        assert_eq!(p.time_to(24_000, 2_500), Some(1_500));
        p.set(21_000, false, 1_000);
        assert_eq!(p.time_to(24_000, 9_000), Some(3_000));
    }

    #[test]
    fn the_segments_due_are_bounded_whatever_the_playlist_length() {
        let mut c = Content::new("m".into(), false);
        // A 55-hour VOD of 2 s segments.
        let (id, _) = c.update(playlist(false, 0..100_000), 0);
        let s = c.stream(id).unwrap();
        let due: Vec<u64> = s.due(Some(1_000_001), 30_000).collect();
        assert_eq!(due, (501..=515).collect::<Vec<_>>());
        assert_eq!(s.due(Some(0), Millis::MAX).count(), MAX_DUE);
        let tail: Vec<u64> = s.due(None, 30_000).collect();
        assert_eq!(tail, [99_997, 99_998, 99_999]);
        assert_eq!(s.due(Some(300_000_000), 30_000).count(), 0);
    }

    #[test]
    fn requests_resolve_only_to_the_exact_url_and_range() {
        let mut c = Content::new("m".into(), false);
        let (id, _) = c.update(playlist(false, 5..9), 0);
        let s = c.stream(id).unwrap();
        assert!(s.resolve(7, "http://o/7.ts", None).is_some());
        assert_eq!(s.resolve(7, "http://o/6.ts", None), None);
        let range = Some(ByteRange { start: 0, end: 9 });
        assert_eq!(s.resolve(7, "http://o/7.ts", range), None);
        assert_eq!(s.resolve(9, "http://o/9.ts", None), None);
    }

    #[test]
    fn each_level_is_its_own_stream_and_the_latest_is_played() {
        let mut c = Content::new("m".into(), false);
        let mut low = playlist(false, 0..4);
        low.stream = "low".into();
        let (low_id, _) = c.update(low, 0);
        let (high_id, _) = c.update(playlist(false, 0..4), 1);
        assert_ne!(low_id, high_id);
        assert_eq!(c.playing().map(|s| s.id).collect::<Vec<_>>(), [high_id]);
        c.touch(low_id, 2);
        assert_eq!(c.playing().map(|s| s.id).collect::<Vec<_>>(), [low_id]);
        assert!(c
            .segment(SegmentKey {
                stream: high_id,
                sn: 3
            })
            .is_some());
    }

    #[test]
    fn a_live_playlist_that_gains_endlist_keeps_its_segments() {
        let mut c = Content::new("m".into(), false);
        let (id, _) = c.update(playlist(true, 100..106), 0);
        let (_, stale) = c.update(playlist(false, 100..108), 2_000);
        assert!(stale.is_empty());
        let s = c.stream(id).unwrap();
        assert!(!s.live && !c.live());
        assert_eq!(s.sns().collect::<Vec<_>>(), (100..108).collect::<Vec<_>>());
    }

    #[test]
    fn a_reused_number_or_a_sequence_reset_makes_stored_segments_stale() {
        let mut c = Content::new("m".into(), false);
        let (_, stale) = c.update(playlist(true, 100..106), 0);
        assert!(stale.is_empty());
        let (_, stale) = c.update(playlist(true, 101..107), 2_000);
        assert!(stale.is_empty(), "a sliding window is not a change");
        // The packager restarted at 0.
        let (id, stale) = c.update(playlist(true, 0..6), 4_000);
        assert_eq!(stale, (100..107).collect::<Vec<_>>());
        assert_eq!(c.stream(id).unwrap().newest(), Some(5));
        // Same number, another file.
        let mut moved = playlist(true, 0..6);
        moved.segments[5].url = "http://o/other.ts".into();
        let (_, stale) = c.update(moved, 6_000);
        assert_eq!(stale, vec![5]);
    }
}
