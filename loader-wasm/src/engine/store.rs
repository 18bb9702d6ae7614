//! The segment store: complete segments of every stream kept in memory under
//! one byte cap, shared with the P2P transfers under way (`reserve`), least
//! recently used evicted first. Peers are served from
//! here, and hls.js requests for segments already fetched are answered here,
//! but only under the fingerprint (URL and range) the bytes were fetched for.

use std::rc::Rc;

use super::{stream::SegmentKey, vecmap::VecMap, Millis, Source};

/// How long the transfer that fetched a segment took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Took {
    pub first_byte_ms: Millis,
    pub total_ms: Millis,
}

pub struct Stored {
    pub data: Rc<Vec<u8>>,
    /// The URL identity and range the bytes were fetched for.
    pub fingerprint: u64,
    /// Where it came from: a P2P source is blamed if validation rejects it.
    pub from: Source,
    /// Offered to peers. P2P data awaiting the page's validation is not, so
    /// a corrupt segment is never passed on.
    pub shared: bool,
    pub took: Took,
    last_use: u64,
}

pub struct Store {
    cap: usize,
    used: usize,
    /// Bytes of the cap held by transfers under way.
    reserved: usize,
    clock: u64,
    map: VecMap<SegmentKey, Stored>,
}

impl Store {
    pub fn new(cap: usize) -> Store {
        Store {
            cap,
            used: 0,
            reserved: 0,
            clock: 0,
            map: VecMap::default(),
        }
    }

    /// Inserts and returns the keys evicted to stay under the cap (never `id`).
    pub fn insert(
        &mut self,
        id: SegmentKey,
        fingerprint: u64,
        data: Rc<Vec<u8>>,
        from: Source,
        shared: bool,
        took: Took,
    ) -> Vec<SegmentKey> {
        self.remove(id);
        self.clock += 1;
        self.used += data.len();
        self.map.insert(
            id,
            Stored {
                data,
                fingerprint,
                from,
                shared,
                took,
                last_use: self.clock,
            },
        );
        self.evict(Some(id))
    }

    /// A new cap; the next [`Store::reserve`] evicts down to it.
    pub fn set_cap(&mut self, cap: usize) {
        self.cap = cap;
    }

    /// Holds `bytes` of the cap for transfers under way; returns the keys
    /// evicted to make room.
    pub fn reserve(&mut self, bytes: usize) -> Vec<SegmentKey> {
        self.reserved = bytes;
        self.evict(None)
    }

    /// Evicts the least recently used segments other than `keep` until the
    /// store and the reservation fit the cap.
    fn evict(&mut self, keep: Option<SegmentKey>) -> Vec<SegmentKey> {
        let mut evicted = Vec::new();
        while self.used + self.reserved > self.cap {
            let oldest = self
                .map
                .iter()
                .filter(|(k, _)| Some(**k) != keep)
                .min_by_key(|(_, s)| s.last_use)
                .map(|(k, _)| *k);
            let Some(old) = oldest else { break };
            self.remove(old);
            evicted.push(old);
        }
        evicted
    }

    /// Looks up the bytes of `id` fetched for `fingerprint`, and marks them
    /// as recently used.
    pub fn get(&mut self, id: SegmentKey, fingerprint: u64) -> Option<&Stored> {
        self.clock += 1;
        let clock = self.clock;
        self.map
            .get_mut(&id)
            .filter(|s| s.fingerprint == fingerprint)
            .map(|s| {
                s.last_use = clock;
                &*s
            })
    }

    pub fn contains(&self, id: SegmentKey, fingerprint: u64) -> bool {
        self.map
            .get(&id)
            .is_some_and(|s| s.fingerprint == fingerprint)
    }

    pub fn remove(&mut self, id: SegmentKey) -> bool {
        match self.map.remove(&id) {
            Some(s) => {
                self.used -= s.data.len();
                true
            }
            None => false,
        }
    }

    /// Removes and returns every segment that came `from` there.
    pub fn remove_from(&mut self, from: Source) -> Vec<(SegmentKey, Stored)> {
        let keys = self.map.keys_where(|s| s.from == from);
        let removed: Vec<_> = keys
            .into_iter()
            .filter_map(|key| self.map.remove(&key).map(|s| (key, s)))
            .collect();
        self.used -= removed.iter().map(|(_, s)| s.data.len()).sum::<usize>();
        removed
    }

    /// The segments peers may have, ordered by stream then sequence number.
    pub fn shared_ids(&self) -> Vec<SegmentKey> {
        self.map.keys_where(|s| s.shared)
    }

    /// Offers a validated segment to peers; true if it was held back until now.
    pub fn share(&mut self, id: SegmentKey) -> bool {
        self.map
            .get_mut(&id)
            .is_some_and(|s| !std::mem::replace(&mut s.shared, true))
    }

    pub fn clear(&mut self) {
        self.map.clear();
        self.used = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(n: usize) -> Rc<Vec<u8>> {
        vec![0u8; n].into()
    }

    fn k(sn: u64) -> SegmentKey {
        SegmentKey { stream: 1, sn }
    }

    #[test]
    fn evicts_least_recently_used_under_cap() {
        let mut s = Store::new(300);
        assert!(s
            .insert(k(1), 1, seg(100), Source::Http, true, Took::default())
            .is_empty());
        assert!(s
            .insert(k(2), 2, seg(100), Source::Http, true, Took::default())
            .is_empty());
        assert!(s
            .insert(k(3), 3, seg(100), Source::Http, true, Took::default())
            .is_empty());
        assert!(
            s.get(k(3), 9).is_none(),
            "another fingerprint is another resource"
        );
        assert!(s.get(k(1), 1).is_some()); // 2 is now the oldest
        assert_eq!(
            s.insert(k(4), 4, seg(100), Source::Http, true, Took::default()),
            vec![k(2)]
        );
        assert_eq!(s.shared_ids(), vec![k(1), k(3), k(4)]);
    }

    #[test]
    fn unvalidated_segments_are_held_back_until_shared() {
        let mut s = Store::new(1000);
        s.insert(k(1), 1, seg(10), Source::Http, true, Took::default());
        s.insert(
            k(2),
            2,
            seg(10),
            Source::P2p(super::super::ConnId(7)),
            false,
            Took::default(),
        );
        assert_eq!(s.shared_ids(), vec![k(1)]);
        assert!(s.share(k(2)), "first share reports the change");
        assert!(!s.share(k(2)), "sharing twice is a no-op");
        assert_eq!(s.shared_ids(), vec![k(1), k(2)]);
    }

    #[test]
    fn transfers_under_way_take_their_share_of_the_cap() {
        let mut s = Store::new(300);
        s.insert(k(1), 1, seg(100), Source::Http, true, Took::default());
        s.insert(k(2), 2, seg(100), Source::Http, true, Took::default());
        assert_eq!(s.reserve(150), vec![k(1)]);
        assert_eq!(
            s.insert(k(3), 3, seg(100), Source::Http, true, Took::default()),
            vec![k(2)]
        );
        assert!(s.reserve(0).is_empty());
    }

    #[test]
    fn a_segment_larger_than_the_cap_is_still_kept_alone() {
        let mut s = Store::new(50);
        s.insert(k(1), 1, seg(10), Source::Http, true, Took::default());
        assert_eq!(
            s.insert(k(2), 2, seg(100), Source::Http, true, Took::default()),
            vec![k(1)]
        );
        assert!(s.contains(k(2), 2));
    }
}
