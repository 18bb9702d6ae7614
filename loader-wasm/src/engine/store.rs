//! The segment store: complete segments of the current swarm kept in memory
//! under a byte cap, least recently used evicted first. Peers are served from
//! here, and hls.js requests for segments already fetched are answered here.

use std::rc::Rc;

use super::{vecmap::VecMap, Millis, Source};

/// How long the transfer that fetched a segment took.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Took {
    pub first_byte_ms: Millis,
    pub total_ms: Millis,
}

pub struct Stored {
    pub data: Rc<[u8]>,
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
    clock: u64,
    map: VecMap<u64, Stored>,
}

impl Store {
    pub fn new(cap: usize) -> Store {
        Store {
            cap,
            used: 0,
            clock: 0,
            map: VecMap::default(),
        }
    }

    /// Inserts and returns the ids evicted to stay under the cap (never `id`).
    pub fn insert(
        &mut self,
        id: u64,
        data: Rc<[u8]>,
        from: Source,
        shared: bool,
        took: Took,
    ) -> Vec<u64> {
        self.remove(id);
        self.clock += 1;
        self.used += data.len();
        self.map.insert(
            id,
            Stored {
                data,
                from,
                shared,
                took,
                last_use: self.clock,
            },
        );
        let mut evicted = Vec::new();
        while self.used > self.cap && self.map.len() > 1 {
            let oldest = self
                .map
                .iter()
                .filter(|(k, _)| **k != id)
                .min_by_key(|(_, s)| s.last_use)
                .map(|(k, _)| *k);
            let Some(old) = oldest else { break };
            self.remove(old);
            evicted.push(old);
        }
        evicted
    }

    /// Looks up and marks as recently used.
    pub fn get(&mut self, id: u64) -> Option<&Stored> {
        self.clock += 1;
        let clock = self.clock;
        self.map.get_mut(&id).map(|s| {
            s.last_use = clock;
            &*s
        })
    }

    pub fn contains(&self, id: u64) -> bool {
        self.map.contains_key(&id)
    }

    pub fn remove(&mut self, id: u64) -> bool {
        match self.map.remove(&id) {
            Some(s) => {
                self.used -= s.data.len();
                true
            }
            None => false,
        }
    }

    /// The segments peers may have.
    pub fn shared_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.map.iter().filter(|(_, s)| s.shared).map(|(k, _)| *k)
    }

    /// Offers a validated segment to peers; true if it was held back until now.
    pub fn share(&mut self, id: u64) -> bool {
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

    fn seg(n: usize) -> Rc<[u8]> {
        vec![0u8; n].into()
    }

    #[test]
    fn evicts_least_recently_used_under_cap() {
        let mut s = Store::new(300);
        assert!(s
            .insert(1, seg(100), Source::Http, true, Took::default())
            .is_empty());
        assert!(s
            .insert(2, seg(100), Source::Http, true, Took::default())
            .is_empty());
        assert!(s
            .insert(3, seg(100), Source::Http, true, Took::default())
            .is_empty());
        assert!(s.get(1).is_some()); // 2 is now the oldest
        assert_eq!(
            s.insert(4, seg(100), Source::Http, true, Took::default()),
            vec![2]
        );
        assert_eq!(s.shared_ids().collect::<Vec<_>>(), vec![1, 3, 4]);
    }

    #[test]
    fn unvalidated_segments_are_held_back_until_shared() {
        let mut s = Store::new(1000);
        s.insert(1, seg(10), Source::Http, true, Took::default());
        s.insert(
            2,
            seg(10),
            Source::P2p(super::super::ConnId(7)),
            false,
            Took::default(),
        );
        assert_eq!(s.shared_ids().collect::<Vec<_>>(), vec![1]);
        assert!(s.share(2), "first share reports the change");
        assert!(!s.share(2), "sharing twice is a no-op");
        assert_eq!(s.shared_ids().collect::<Vec<_>>(), vec![1, 2]);
    }

    #[test]
    fn a_segment_larger_than_the_cap_is_still_kept_alone() {
        let mut s = Store::new(50);
        s.insert(1, seg(10), Source::Http, true, Took::default());
        assert_eq!(
            s.insert(2, seg(100), Source::Http, true, Took::default()),
            vec![1]
        );
        assert!(s.contains(2));
    }
}
