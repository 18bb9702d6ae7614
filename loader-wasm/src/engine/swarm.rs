//! The active swarm: one rendition's playlist, segment identity within it,
//! and each segment's playback deadline from the reported position.

use super::{vecmap::VecMap, Millis, Playlist, SegmentInfo};

/// A segment of our playlist.
struct Known {
    info: SegmentInfo,
    /// When it first appeared in our playlist (live seeding staggers from it).
    seen: Millis,
}

pub struct Swarm {
    pub key: String,
    pub info_hash: [u8; 20],
    pub live: bool,
    /// VOD ids are indexes: `sn - first_sn`. Live ids are sequence numbers.
    first_sn: u64,
    segments: VecMap<u64, Known>,
    /// Last reported (media position, at time, playing).
    position: Option<(Millis, Millis, bool)>,
}

impl Swarm {
    pub fn new(key: String, info_hash: [u8; 20], p: Playlist, now: Millis) -> Swarm {
        let mut s = Swarm {
            key,
            info_hash,
            live: p.live,
            first_sn: p.segments.first().map_or(0, |s| s.sn),
            segments: VecMap::default(),
            position: None,
        };
        s.update(p, now);
        s
    }

    pub fn update(&mut self, p: Playlist, now: Millis) {
        self.live = p.live;
        if self.live {
            // A sliding window: forget what slid out long ago.
            if let Some(first) = p.segments.first() {
                let keep_from = first.sn.saturating_sub(64);
                self.segments.remove_below(&keep_from);
            }
        }
        for seg in p.segments {
            let id = self.id_of(seg.sn);
            match self.segments.get_mut(&id) {
                Some(known) => known.info = seg,
                None => self.segments.insert(
                    id,
                    Known {
                        info: seg,
                        seen: now,
                    },
                ),
            }
        }
    }

    pub fn set_position(&mut self, position: Millis, playing: bool, now: Millis) {
        self.position = Some((position, now, playing));
    }

    pub fn id_of(&self, sn: u64) -> u64 {
        if self.live {
            sn
        } else {
            sn.saturating_sub(self.first_sn)
        }
    }

    pub fn segment(&self, id: u64) -> Option<&SegmentInfo> {
        self.segments.get(&id).map(|k| &k.info)
    }

    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.segments.keys().copied()
    }

    pub fn newest(&self) -> Option<u64> {
        self.segments.keys().next_back().copied()
    }

    pub fn seen_at(&self, id: u64) -> Option<Millis> {
        self.segments.get(&id).map(|k| k.seen)
    }

    /// Milliseconds until playback reaches segment `id` (negative: passed).
    /// Segments past the end of our playlist (learned from peers) are
    /// extrapolated from the last one. `None` without a position.
    pub fn time_to_deadline(&self, id: u64, now: Millis) -> Option<i64> {
        let (pos, at, playing) = self.position?;
        let current = if playing {
            pos + (now - at.min(now))
        } else {
            pos
        };
        let start = match self.segment(id) {
            Some(s) => s.start_ms,
            None => {
                let (&last_id, last) = self.segments.iter().next_back()?;
                let ahead = id.checked_sub(last_id)?;
                last.info.start_ms + ahead * last.info.duration_ms
            }
        };
        Some(start as i64 - current as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::playlist_of as playlist;

    #[test]
    fn deadlines_follow_playback_and_extrapolate_past_the_playlist() {
        let mut s = Swarm::new("k".into(), [0; 20], playlist(true, 10..16), 0);
        assert_eq!(s.time_to_deadline(12, 0), None);
        s.set_position(21_000, true, 1_000);
        assert_eq!(s.time_to_deadline(12, 1_000), Some(3_000));
        assert_eq!(s.time_to_deadline(12, 2_500), Some(1_500));
        assert_eq!(s.time_to_deadline(17, 1_000), Some(13_000));
        s.set_position(21_000, false, 1_000);
        assert_eq!(s.time_to_deadline(12, 9_000), Some(3_000));
    }

    #[test]
    fn vod_ids_are_indexes_and_live_ids_are_sequence_numbers() {
        let v = Swarm::new("k".into(), [0; 20], playlist(false, 5..9), 0);
        assert_eq!(v.id_of(7), 2);
        let l = Swarm::new("k".into(), [0; 20], playlist(true, 5..9), 0);
        assert_eq!(l.id_of(7), 7);
        assert_eq!(l.newest(), Some(8));
    }
}
